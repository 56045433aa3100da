"""The presentation sidebar on a 1920x1080 projector: at most 18 % of the screen wide, its text readable
(at least 18 px), and nothing in it cut off: every page name, label, number box's value and chosen
select-box value fits its box, and every option reads whole in its opened list.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.actions import RUN_TIMEOUT_MS, settle
from tests.e2e.test_picture_first_browser import PAGES

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.xdist_group("browser")]

PROJECTOR = {"width": 1920, "height": 1080}
MAX_SHARE = 0.18
MIN_PX = 18
SIDEBAR = '[data-testid="stSidebar"]'

# Text in the sidebar that does not fit its box, or is smaller than minPx: page names and labels whose
# text overflows a clipping box, number boxes whose value is wider than the box. Closed expanders are
# not drawn and are left out.
CUT_OR_SMALL_JS = """([minPx]) => {
    const bar = document.querySelector('[data-testid=stSidebar]');
    const right = bar.querySelector('[data-testid=stSidebarUserContent]').getBoundingClientRect().right;
    const found = [];
    for (const el of bar.querySelectorAll('p, span, label, input, textarea, a')) {
        const box = el.getBoundingClientRect();
        if (!box.width || el.closest('details:not([open])') || el.closest('[data-testid=stIconMaterial]')) continue;
        const style = getComputedStyle(el);
        const own = el.tagName === 'INPUT' ? el.value : Array.from(el.childNodes)
            .filter(n => n.nodeType === Node.TEXT_NODE).map(n => n.textContent).join('').trim();
        if (!own) continue;
        if (parseFloat(style.fontSize) < minPx) found.push(`small ${style.fontSize}: ${own}`);
        if (box.right > right + 1) found.push(`past the sidebar's edge: ${own}`);
        const clips = el.tagName === 'INPUT' || style.overflow !== 'visible' || style.textOverflow === 'ellipsis';
        if (clips && el.scrollWidth > el.clientWidth + 1) found.push(`cut: ${own}`);
    }
    return found;
}"""

# The options of the open select box list that it cuts, draws off the screen or smaller than minPx.
CUT_OPTIONS_JS = """([minPx]) => Array.from(document.querySelectorAll('[role=listbox] [role=option]')).filter(o => {
    const parts = Array.from(o.querySelectorAll('*')).concat([o]);
    const cut = parts.some(e => e.scrollWidth > e.clientWidth + 1);
    const small = parts.some(e => e.textContent.trim() && parseFloat(getComputedStyle(e).fontSize) < minPx);
    return cut || small || o.getBoundingClientRect().right > window.innerWidth;
}).map(o => `${getComputedStyle(o).fontSize}: ${o.textContent}`)"""


def option_labels(page: Page, index: int) -> list[str]:
    """The option texts of the sidebar's `index`-th select box (opened, read, closed)."""
    box = page.locator(f"{SIDEBAR} [data-testid=stSelectbox] input").nth(index)
    listbox = page.get_by_role("listbox")
    for _ in range(3):  # a click while the list of the box before is still closing may not open it
        box.click()
        try:
            expect(listbox).to_be_visible(timeout=3_000)
            break
        except AssertionError:
            continue
    expect(listbox).to_be_visible()
    labels = [text.strip() for text in listbox.get_by_role("option").all_inner_texts()]
    cut = page.evaluate(CUT_OPTIONS_JS, [MIN_PX])
    page.keyboard.press("Escape")
    expect(listbox).to_have_count(0)
    assert labels and cut == []
    return labels


@pytest.mark.parametrize("url_path", PAGES)
def test_the_presentation_sidebar_is_narrow_and_cuts_nothing_off(
    browser: Browser, app_url: str, screenshots_dir: Path, url_path: str
) -> None:
    context = browser.new_context(viewport=PROJECTOR, device_scale_factor=1)
    page = context.new_page()
    page.set_default_timeout(RUN_TIMEOUT_MS)
    try:
        page.goto(f"{app_url}/{url_path}?present=1")
        expect(page.locator('[data-testid="stMain"] h1').first).to_be_visible(timeout=RUN_TIMEOUT_MS)
        settle(page)
        sidebar = page.locator(SIDEBAR)
        sidebar.screenshot(path=str(screenshots_dir / f"present-sidebar-{url_path}.png"))
        box = sidebar.bounding_box()
        assert box is not None and box["width"] <= MAX_SHARE * PROJECTOR["width"], box
        assert page.evaluate(CUT_OR_SMALL_JS, [MIN_PX]) == []
        for i in range(sidebar.locator("[data-testid=stSelectbox] input").count()):
            option_labels(page, i)
        expect(page.locator('[data-testid="stException"]')).to_have_count(0)
    finally:
        context.close()
