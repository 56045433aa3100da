"""Every page opens on its main picture: on the first screen at 1400x1000, and whole on the first screen of a
1920x1080 projector in presentation mode, where no text in the main area is smaller than 18 px.

The main picture is the container keyed `cnnviz-main-figure` (the sliding window, the filtered photo, the
pooled grid, the network...), which each page puts right under its title and one-line why.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from streamlit.source_util import page_icon_and_name, page_sort_key

from tests.conftest import page_files
from tests.e2e.actions import RUN_TIMEOUT_MS, settle

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.xdist_group("browser")]

FIGURE = ".st-key-cnnviz-main-figure"
MIN_PRESENT_PX = 18
# (mode, viewport, query): a laptop in the lecture hall, and the projector in presentation mode.
MODES = {
    "normal": ({"width": 1400, "height": 1000}, ""),
    "present": ({"width": 1920, "height": 1080}, "?present=1"),
}


def pages() -> list[str]:
    """The URL path of every page in pages/, in sidebar order (Home has no main picture)."""
    return [page_icon_and_name(path)[1] for path in sorted(page_files(), key=page_sort_key)]


PAGES = pages()

# Text smaller than MIN_PRESENT_PX in the main area, as the browser draws it: every element with text of
# its own (HTML text and the SVG text of Plotly figures) that takes up room on the page. Left out:
# - elements not drawn: display none, visibility hidden, zero size, or inside such an element (closed
#   expanders and tabs, Plotly's hover labels waiting for a hover);
# - Streamlit's icon glyphs (a Material Symbols ligature such as "download" drawn as one pictogram, not
#   words) and the toolbars that appear over a chart or table on hover;
# - zero-width characters, which draw nothing (KaTeX puts one in a 1 px span to lay out fractions);
# - text that Streamlit's data editor paints into a canvas: it is not in the DOM, its size is set with the
#   editor's theme, not per element.
SMALL_TEXT_JS = """([minPx]) => {
    const main = document.querySelector('[data-testid=stMain]');
    const tags = 'p, span, label, li, td, th, code, h1, h2, h3, h4, h5, h6, svg text, svg tspan';
    const skipped = '[data-testid=stIconMaterial], [data-testid=stElementToolbar], [data-testid=stToolbar], '
        + '.modebar-container, .hoverlayer';
    const offenders = [];
    for (const el of main.querySelectorAll(tags)) {
        const own = Array.from(el.childNodes)
            .filter(n => n.nodeType === Node.TEXT_NODE).map(n => n.textContent).join('')
            .replace(/[\u200b-\u200d\ufeff]/g, '').trim();
        if (!own || el.closest(skipped)) continue;
        const box = el.getBoundingClientRect();
        if (box.width === 0 || box.height === 0) continue;
        const style = getComputedStyle(el);
        if (style.visibility === 'hidden' || style.display === 'none') continue;
        if (el.closest('details:not([open])') && !el.closest('summary')) continue;
        const size = parseFloat(style.fontSize);
        if (size < minPx) offenders.push(`${el.tagName.toLowerCase()} ${size}px: ${own.slice(0, 60)}`);
    }
    return offenders;
}"""

# The widget key of each table shown (its st-key-... class, "" without one); one in a closed expander is
# not shown (the network builder's layer editor waits in one on a projector, under its HTML table).
TABLE_KEYS_JS = """tables => tables.filter(t => !t.closest('details:not([open])')).map(t => {
    const keyed = t.closest('[class*="st-key-"]');
    const name = keyed ? Array.from(keyed.classList).find(c => c.startsWith('st-key-')) : '';
    return name ? name.slice('st-key-'.length) : '(no key)';
})"""

# The main picture has drawn: every Plotly chart in it has its SVG, every image has loaded.
FIGURE_DRAWN_JS = """(selector) => {
    const box = document.querySelector(selector);
    if (!box) return false;
    const charts = box.querySelectorAll('[data-testid=stPlotlyChart]');
    if (Array.from(charts).some(c => !c.querySelector('.main-svg'))) return false;
    return Array.from(box.querySelectorAll('img')).every(img => img.complete && img.naturalWidth > 0);
}"""


@pytest.fixture(params=list(MODES))
def mode(request: pytest.FixtureRequest) -> str:
    return request.param


@contextmanager
def open_at(browser: Browser, url: str, viewport: dict) -> Iterator[Page]:
    """A fresh context at `viewport` on one page, settled, with the main picture drawn."""
    context = browser.new_context(viewport=viewport, device_scale_factor=1, locale="en-GB")
    page = context.new_page()
    page.set_default_timeout(RUN_TIMEOUT_MS)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.js_errors = errors  # type: ignore[attr-defined]
    try:
        page.goto(url)
        # The sidebar's name of a page is not always its heading: wait for a heading, then the run.
        expect(page.locator('[data-testid="stMain"] h1').first).to_be_visible()
        settle(page)
        expect(page.locator(FIGURE)).to_be_visible()
        page.wait_for_function(FIGURE_DRAWN_JS, arg=FIGURE, timeout=RUN_TIMEOUT_MS)
        yield page
    finally:
        context.close()


@pytest.mark.parametrize("url_path", PAGES)
def test_the_main_picture_is_on_the_first_screen(
    browser: Browser, app_url: str, screenshots_dir: Path, url_path: str, mode: str
) -> None:
    viewport, query = MODES[mode]
    with open_at(browser, f"{app_url}/{url_path}{query}", viewport) as page:
        page.screenshot(path=str(screenshots_dir / f"pf_{url_path}_{mode}.png"))
        expect(page.locator(FIGURE)).to_have_count(1)
        box = page.locator(FIGURE).bounding_box()
        assert box is not None
        if mode == "normal":
            assert 0 <= box["y"] < viewport["height"], box
        else:
            assert box["y"] >= 0 and box["y"] + box["height"] <= viewport["height"], box
            assert page.evaluate(SMALL_TEXT_JS, [MIN_PRESENT_PX]) == []
            # No table painted into a canvas (its cells ~14 px, whatever the page's type): HTML tables only.
            canvas_tables = page.locator('[data-testid="stMain"] [data-testid="stDataFrame"]')
            assert canvas_tables.evaluate_all(TABLE_KEYS_JS) == []
        expect(page.locator('[data-testid="stException"]')).to_have_count(0)
        assert page.js_errors == []  # type: ignore[attr-defined]
