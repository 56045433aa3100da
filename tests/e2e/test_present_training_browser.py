"""Live training on a 1920x1080 projector in presentation mode, after a short run: every text in its figures
(filters, confusion matrix, worst samples, feature maps, the "Try it" probabilities) is drawn at least 18 px
high, no two of them overlap, and each first-layer filter is large enough to see from the back row.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.actions import RUN_TIMEOUT_MS, set_number, settle

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.xdist_group("browser")]

P = "lt"
PROJECTOR = {"width": 1920, "height": 1080}
MIN_TEXT_PX = 18
MIN_FILTER_PX = 96  # each filter's shorter side on screen
VIEW_MS = 60_000

# Each SVG text of chart `lt_<name>`, as drawn: its font size times the scale the SVG applies to it (Plotly
# shrinks a bar's label to fit, by a transform), and its box on screen.
TEXTS_JS = """(name) => {
    const plots = Array.from(document.querySelectorAll(`.st-key-${name} .js-plotly-plot`))
        .filter(p => p.getBoundingClientRect().height > 0);
    const out = [];
    for (const text of plots[plots.length - 1].querySelectorAll('svg text')) {
        const box = text.getBoundingClientRect();
        if (!text.textContent.trim() || box.width === 0 || text.closest('.hoverlayer')) continue;
        const m = text.getScreenCTM();
        const px = parseFloat(getComputedStyle(text).fontSize) * Math.sqrt(Math.abs(m.a * m.d - m.b * m.c));
        out.push({text: text.textContent, px, box: [box.left, box.top, box.right, box.bottom]});
    }
    return out;
}"""

# The drawn size of each filter of chart `lt_<name>`: the filters are tiles of one heatmap, whose cells
# say which filter (and which row and column of it) they show; a tile's size is its cells' share of the
# drawn image.
IMAGES_JS = """(name) => {
    const plot = Array.from(document.querySelectorAll(`.st-key-${name} .js-plotly-plot`))
        .filter(p => p.getBoundingClientRect().height > 0).pop();
    const box = plot.querySelector('.hm image').getBoundingClientRect();
    const where = plot.data[0].customdata, rows = where.length, cols = where[0].length;
    const tiles = {};
    for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) {
        const f = where[r][c][0];
        if (f < 0) continue;
        const t = tiles[f] = tiles[f] || {rows: new Set(), cols: new Set()};
        t.rows.add(r); t.cols.add(c);
    }
    return Object.values(tiles).map(t => [t.cols.size * box.width / cols, t.rows.size * box.height / rows]);
}"""


def overlapping(texts: list[dict]) -> list[tuple[str, str]]:
    """Pairs of texts whose boxes cross by more than 2 px each way."""
    pairs = []
    for i, a in enumerate(texts):
        for b in texts[i + 1 :]:
            (l1, t1, r1, b1), (l2, t2, r2, b2) = a["box"], b["box"]
            if min(r1, r2) - max(l1, l2) > 2 and min(b1, b2) - max(t1, t2) > 2:
                pairs.append((a["text"], b["text"]))
    return pairs


def check_texts(page: Page, name: str) -> list[dict]:
    texts = page.evaluate(TEXTS_JS, f"{P}_{name}")
    assert texts, name
    small = [(t["text"], round(t["px"], 1)) for t in texts if t["px"] < MIN_TEXT_PX]
    assert small == [], (name, small)
    assert overlapping(texts) == [], name
    return texts


def shown(page: Page, name: str) -> None:
    plot = page.locator(f".st-key-{P}_{name} .js-plotly-plot").filter(visible=True).first
    expect(plot).to_be_visible(timeout=VIEW_MS)
    plot.scroll_into_view_if_needed()


@pytest.mark.parametrize("dataset", ["digits", "mnist1d"])
def test_training_figures_read_from_the_back_row(
    browser: Browser, app_url: str, screenshots_dir: Path, dataset: str
) -> None:
    context = browser.new_context(viewport=PROJECTOR, device_scale_factor=1)
    page = context.new_page()
    page.set_default_timeout(RUN_TIMEOUT_MS)
    try:
        page.goto(f"{app_url}/Live_training?present=1&{P}_dataset={dataset}&{P}_model=convnet")
        expect(page.locator('[data-testid="stMain"] h1').first).to_have_text(
            "Live training", timeout=RUN_TIMEOUT_MS
        )
        settle(page)
        set_number(page, f"{P}_epochs", 2)
        page.locator(f".st-key-{P}_start button").first.click()
        finished = page.locator(f".st-key-{P}_status").filter(has_text="Finished").last
        expect(finished).to_be_visible(timeout=180_000)

        shown(page, "filters")
        page.screenshot(path=str(screenshots_dir / f"present-training-filters-{dataset}.png"))
        sizes = page.evaluate(IMAGES_JS, f"{P}_filters")
        assert len(sizes) >= 8
        assert min(min(w, h) for w, h in sizes) >= MIN_FILTER_PX, sizes
        check_texts(page, "filters")
        digits = check_texts(page, "confusion")
        assert any(t["text"].isdigit() for t in digits)

        views = page.locator(f".st-key-{P}_view")
        views.get_by_text("Worst samples", exact=True).click()
        shown(page, "worst")
        page.screenshot(path=str(screenshots_dir / f"present-training-worst-{dataset}.png"))
        titles = [t for t in check_texts(page, "worst") if t["text"].startswith("#")]
        assert len(titles) == 8

        views.get_by_text("Feature maps", exact=True).click()
        shown(page, "maps_0")
        check_texts(page, "maps_0")

        views.get_by_text("Try it", exact=True).click()
        shown(page, "probs")
        expect(page.locator(f".st-key-{P}_probs")).to_contain_text("Prediction", timeout=VIEW_MS)
        page.screenshot(path=str(screenshots_dir / f"present-training-try-{dataset}.png"))
        labels = check_texts(page, "probs")
        assert sum(t["text"].endswith("%") for t in labels) == 10  # every class's bar label
        expect(page.locator('[data-testid="stException"]')).to_have_count(0)
    finally:
        context.close()
