"""The explorer's "One output cell, every product" table shows every product of the default 3x3 kernel, its
last row whole, on a 1400 px laptop; on a 1920x1080 projector in presentation mode it is an HTML table in
projector type (a data grid paints its cells into a canvas at about 14 px).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from tests.e2e.actions import RUN_TIMEOUT_MS, settle

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

MODES = {
    "normal": ({"width": 1400, "height": 1000}, ""),
    "present": ({"width": 1920, "height": 1080}, "?present=1"),
}
TABLE = '[data-testid="stMain"] [data-testid="stDataFrame"]'
HTML_TABLE = '[data-testid="stMain"] [data-testid="stTable"]'
MIN_PRESENT_PX = 18

# The table's grid: the height it needs for all its rows and the height it is given (the data grid scrolls
# in `.dvn-scroller`; a grid cut short has more to scroll than it shows).
ROOM_JS = """(selector) => {
    const scroller = document.querySelector(selector).querySelector('.dvn-scroller');
    return [scroller.scrollHeight, scroller.clientHeight];
}"""


@pytest.mark.parametrize("mode", list(MODES))
def test_every_product_row_is_shown_whole(
    browser: Browser, app_url: str, screenshots_dir: Path, mode: str
) -> None:
    viewport, query = MODES[mode]
    context = browser.new_context(viewport=viewport, device_scale_factor=1)
    page = context.new_page()
    page.set_default_timeout(RUN_TIMEOUT_MS)
    try:
        page.goto(f"{app_url}/Convolution_explorer{query}")
        expect(page.locator('[data-testid="stMain"] h1').first).to_be_visible(timeout=RUN_TIMEOUT_MS)
        settle(page)
        if mode == "present":
            html = page.locator(HTML_TABLE).first
            html.scroll_into_view_if_needed()
            expect(html.locator("tbody tr")).to_have_count(9)  # nine products of the 3x3 kernel
            html.screenshot(path=str(screenshots_dir / f"products-table-{mode}.png"))
            sizes = html.locator("td, th").evaluate_all(
                "cells => cells.map(c => parseFloat(getComputedStyle(c).fontSize))"
            )
            assert min(sizes) >= MIN_PRESENT_PX, sizes
            expect(page.locator(TABLE)).to_have_count(0)
            return
        table = page.locator(TABLE).filter(has=page.locator(".dvn-scroller")).first
        table.scroll_into_view_if_needed()
        expect(table.locator(".dvn-scroller")).to_be_visible()
        table.screenshot(path=str(screenshots_dir / f"products-table-{mode}.png"))
        # The grid's table for screen readers lists every row: nine products of the 3x3 kernel.
        expect(table.locator("table tbody tr")).to_have_count(9)
        needed, shown = page.evaluate(ROOM_JS, TABLE)
        assert needed <= shown, (needed, shown)
    finally:
        context.close()
