"""Each grid figure is drawn once by the browser, not twice.

Streamlit's chart theme turns on plotly.js's automargin: a figure whose margins are narrower than its tick
labels or its scrubber is drawn, its margins widened and drawn again. `cnnviz.ui.chart` starts the margins
as wide as plotly.js will find they need, so the margins plotly.js ends with are the ones it was given.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page

from tests.e2e.actions import open_page, set_number, settle

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

# Per chart: the margins it asked for, the margins plotly.js drew it with, and how its tick labels overflow.
MARGINS_JS = """(keys) => keys.map((key) => {
    const gd = document.querySelector(`.st-key-${key} .js-plotly-plot`);
    const L = gd._fullLayout;
    return {key, asked: [L.margin.l, L.margin.b], drawn: [L._size.l, L._size.b],
            overflow: [...new Set(Object.keys(L).filter((k) => /^[xy]axis\\d*$/.test(k))
                                  .map((k) => L[k].ticklabeloverflow))]};
})"""

PAGES = {
    "Convolution_explorer": (
        "Convolution explorer",
        ["cx_animation", "cx_cell_figure", "cx_feeds", "cx_equivariance"],
    ),
    "Convolution_1D": ("Convolution in 1D", ["c1_animation"]),
    "Pooling": ("Pooling", ["pl_pool", "pl_anim", "pl_up_source"]),
    "Transposed_convolution": ("Transposed convolution", ["tc_scatter"]),
}


@pytest.fixture
def explorer(browser: Browser, app_url: str) -> Iterator[Page]:
    yield from open_page(browser, app_url, "Convolution_explorer", PAGES["Convolution_explorer"][0])


def _check(page: Page, keys: list[str]) -> None:
    for chart in page.evaluate(MARGINS_JS, keys):
        assert chart["drawn"] == chart["asked"], chart  # automargin found nothing to widen: one drawing
        assert chart["overflow"] == ["allow"], chart  # no label measured against the page's edge


def test_the_explorer_figures_are_drawn_once_before_and_after_a_change(explorer: Page) -> None:
    keys = PAGES["Convolution_explorer"][1]
    _check(explorer, keys)
    set_number(explorer, "cx_in_h", 12)  # two-digit row numbers: a wider left margin
    settle(explorer)
    _check(explorer, keys)
    assert not explorer.js_errors  # type: ignore[attr-defined]


@pytest.mark.parametrize("url_path", [p for p in PAGES if p != "Convolution_explorer"])
def test_the_main_figures_of_the_other_grid_pages_are_drawn_once(
    browser: Browser, app_url: str, url_path: str
) -> None:
    title, keys = PAGES[url_path]
    for page in open_page(browser, app_url, url_path, title):
        _check(page, keys)
