"""The transposed-convolution page in Chromium: every control once, the animation playing, no traceback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from playwright.sync_api import Browser, Page, expect

from cnnviz.topics.transposed import transposed_view
from tests.e2e.actions import choose, open_page, rerun_after, set_number

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

ERROR = '[data-testid="stAlertContentError"]'
SUCCESS = '[data-testid="stAlertContentSuccess"]'


@pytest.fixture(scope="module")
def warm(browser: Browser, app_url: str) -> None:
    """Load the page once, so a cold server's first run is not timed by the opener's short wait."""
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(f"{app_url}/Transposed_convolution")
        expect(page.locator('[data-testid="stMain"] h1').first).to_be_visible(timeout=120_000)
    finally:
        context.close()


@pytest.fixture()
def tab(browser: Browser, app_url: str, warm: None) -> Iterator[Page]:
    yield from open_page(browser, app_url, "Transposed_convolution", "Transposed convolution")


def clean(page: Page) -> None:
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)
    # Pausing cancels Plotly's running animate() call, whose promise rejects with no reason ("undefined").
    assert [e for e in page.js_errors if e != "undefined"] == []  # type: ignore[attr-defined]


def type_text(page: Page, key: str, text: str) -> None:
    """Type into the text box with widget key `key` and press Enter, waiting for the rerun."""
    field = page.locator(f".st-key-{key} input")
    field.fill(text)
    rerun_after(page, lambda: field.press("Enter"))


def gaps_title(page: Page, text: str):
    return page.locator(".st-key-tc_gaps").get_by_text(text)


def both_views_agree(page: Page) -> None:
    expect(page.locator(SUCCESS)).to_have_count(2)
    expect(page.locator(SUCCESS).first).to_contain_text("largest difference 0.0e+00")


def test_every_control(tab: Page, screenshots_dir: Path) -> None:
    page = tab
    expect(gaps_title(page, "output 7×7")).to_be_visible()
    both_views_agree(page)

    # The animation: play moves the scrubber past the first input cell; pause stops it.
    scatter = page.locator(".st-key-tc_scatter")
    label = scatter.locator(".slider-group > .slider-label")
    expect(label).to_have_text("input cell (row, col): 0,0")
    speed = page.locator(".st-key-tc_speed input")
    speed.focus()
    rerun_after(page, lambda: speed.press("ArrowRight"))  # medium -> fast
    scatter.locator(".updatemenu-button", has_text="play").click()
    expect(label).to_have_text("input cell (row, col): 2,2", timeout=15_000)  # the last of 3x3
    scatter.locator(".updatemenu-button", has_text="pause").click()
    clean(page)

    set_number(page, "tc_h", 4)
    set_number(page, "tc_w", 2)
    expect(scatter.get_by_text("input 4×2")).to_be_visible()
    expect(gaps_title(page, "output 9×5")).to_be_visible()
    set_number(page, "tc_seed", 4)
    choose(page, "tc_in_kind", "impulse")
    expect(page.locator(".st-key-tc_seed input")).to_be_disabled()
    choose(page, "tc_in_kind", "typed")
    type_text(page, "tc_in_text", "1 2; 3 4; 5 6; 7 8")
    both_views_agree(page)
    type_text(page, "tc_in_text", "1 2 3")
    expect(page.locator(ERROR)).to_contain_text("input: a 4×2 grid needs 4 rows of 2 numbers (got 1×3)")
    type_text(page, "tc_in_text", "1 0; 0 0; 0 0; 0 2")
    expect(page.locator(ERROR)).to_have_count(0)

    set_number(page, "tc_k", 2)
    choose(page, "tc_k_kind", "typed")
    type_text(page, "tc_k_text", "1 -2; 3 5")
    expect(gaps_title(page, "output 8×4")).to_be_visible()
    expect(page.locator(".st-key-tc_matrix").get_by_text("32 output cells × 8 input cells")).to_be_visible()
    choose(page, "tc_k_kind", "identity")
    both_views_agree(page)
    choose(page, "tc_in_kind", "ramp")

    set_number(page, "tc_s", 3)
    set_number(page, "tc_p", 1)
    set_number(page, "tc_d", 2)
    view = transposed_view(np.zeros((4, 2)), np.eye(2), 3, 1, 0, 2)
    expect(gaps_title(page, f"output {view.output.shape[0]}×{view.output.shape[1]}")).to_be_visible()
    set_number(page, "tc_op", 2)
    expect(gaps_title(page, f"output {view.output.shape[0] + 2}×{view.output.shape[1] + 2}")).to_be_visible()
    both_views_agree(page)
    set_number(page, "tc_op", 3)  # not smaller than the stride 3 or the dilation 2
    expect(page.locator(ERROR)).to_contain_text("output_padding (height) must be smaller than the stride")
    clean(page)
    set_number(page, "tc_op", 0)
    set_number(page, "tc_s", 1)
    set_number(page, "tc_p", 4)  # crops more than the output holds
    expect(page.locator(ERROR)).to_contain_text("crops 8 cells")
    set_number(page, "tc_s", 3)
    set_number(page, "tc_w", 4)
    set_number(page, "tc_p", 3)  # more than d(k-1) = 2: the gaps view crops instead of padding
    expect(page.get_by_text("crop 1 cell(s) from each side instead of padding")).to_be_visible()
    expect(gaps_title(page, "output 6×6")).to_be_visible()
    both_views_agree(page)
    clean(page)
    page.set_viewport_size({"width": 1440, "height": 3600})
    page.screenshot(path=str(screenshots_dir / "transposed-controls.png"), full_page=True)
