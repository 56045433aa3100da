"""The convolution explorer in Chromium: change the kernel, scrub and play the animation, pick a cell."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.actions import open_page, set_number

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


@pytest.fixture()
def tab(browser: Browser, app_url: str) -> Iterator[Page]:
    yield from open_page(browser, app_url, "Convolution_explorer", "Convolution explorer")


def test_controls_animation_and_cell_picking(tab: Page, screenshots_dir: Path) -> None:
    page = tab
    animation = page.locator(".st-key-cx_animation")
    expect(animation.locator(".main-svg").first).to_be_visible()
    expect(page.get_by_text("output 5×5")).to_have_count(2)  # animation and the one-cell figure

    set_number(page, "cx_k_w", 4)
    expect(page.get_by_text("output 5×4").first).to_be_visible()
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)

    # Play: the slider's current-value label leaves its first cell; pause stops it.
    label = animation.locator(".slider-group > .slider-label")
    expect(label).to_have_text("output cell (row, col): 0,0")
    animation.locator(".updatemenu-button", has_text="play").click()
    expect(label).not_to_have_text("output cell (row, col): 0,0", timeout=10_000)
    animation.locator(".updatemenu-button", has_text="pause").click()

    # A kernel wider than the input is a message, not a traceback, and fixing it brings the page back.
    set_number(page, "cx_k_w", 9)
    expect(page.locator('[data-testid="stAlertContentError"]')).to_contain_text("kernel 9")
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)
    set_number(page, "cx_k_w", 3)
    expect(page.locator('[data-testid="stAlertContentError"]')).to_have_count(0)

    # Pick an output cell: its value is the sum of the products in the table.
    set_number(page, "cx_row", 2)
    set_number(page, "cx_col", 3)
    expect(page.locator('[data-testid="stMetricValue"]').first).to_be_visible()
    page.screenshot(path=str(screenshots_dir / "explorer-flow.png"))
    # Pausing interrupts Plotly's running animate() call, whose promise then rejects with no reason
    # ("undefined"); that is Plotly's documented way of cancelling. Anything else is a real error.
    assert [e for e in page.js_errors if e != "undefined"] == []  # type: ignore[attr-defined]
