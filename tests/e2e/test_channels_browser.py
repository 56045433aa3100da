"""The channels page in Chromium: every control once, each with something visible it must change."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from cnnviz.conv.numbers import number_text
from cnnviz.topics.channels import channel_sums, channels_view, explain_channels
from tests.e2e.actions import apply_grid, edit_cell, grid_cell, open_page, rerun_after, set_number, typed_grid

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

ERROR = '[data-testid="stAlertContentError"]'
INFO = '[data-testid="stAlertContentInfo"]'


@pytest.fixture(scope="module")
def warm(browser: Browser, app_url: str) -> None:
    """Load the page once, so a cold server's first run is not timed by the opener's short wait."""
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(f"{app_url}/Channels_and_groups")
        expect(page.locator('[data-testid="stMain"] h1').first).to_be_visible(timeout=120_000)
    finally:
        context.close()


@pytest.fixture()
def tab(browser: Browser, app_url: str, warm: None) -> Iterator[Page]:
    yield from open_page(browser, app_url, "Channels_and_groups", "Channels and groups")


def tick(page: Page, key: str) -> None:
    """Click the checkbox with widget key `key` and wait for the rerun."""
    rerun_after(page, page.locator(f".st-key-{key} label").first.click)


def clean(page: Page) -> None:
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)
    assert page.js_errors == []  # type: ignore[attr-defined]


def metric(page: Page, label: str):
    box = page.locator('[data-testid="stMetric"]').filter(has_text=label).first
    return box.locator('[data-testid="stMetricValue"]')


def shapes(page: Page):
    """The line of shapes: input -> weight (+ bias) -> output."""
    return page.locator('[data-testid="stMain"] p').filter(has_text="→ weight").first


def test_every_control(tab: Page, screenshots_dir: Path) -> None:
    page = tab
    expect(metric(page, "parameters")).to_have_text("148")
    expect(page.locator(".st-key-ch_output").get_by_text("y[3]")).to_be_visible()

    set_number(page, "ch_h", 6)
    set_number(page, "ch_w", 7)
    expect(shapes(page)).to_contain_text("input (4, 6, 7)")
    expect(shapes(page)).to_contain_text("output (4, 4, 5)")
    set_number(page, "ch_seed", 3)
    expected = channel_sums(channels_view((6, 7), 4, 4, 3, seed=3), 0, (0, 0))
    expect(page.locator('[data-testid="stCode"]').get_by_text(expected.equation())).to_be_visible()

    set_number(page, "ch_cin", 6)
    set_number(page, "ch_cout", 3)
    expect(shapes(page)).to_contain_text("output (3, 4, 5)")
    expect(page.locator(".st-key-ch_input").get_by_text("x[5]")).to_be_visible()

    set_number(page, "ch_groups", 4)  # 6 input channels cannot split into 4 groups
    expect(page.locator(ERROR)).to_contain_text("in_channels (6) must be divisible by groups (4)")
    clean(page)
    set_number(page, "ch_groups", 3)
    expect(page.locator(ERROR)).to_have_count(0)
    expect(page.locator(".st-key-ch_wiring").get_by_text("6 of 18 pairs wired")).to_be_visible()
    expect(metric(page, "parameters")).to_have_text(str(3 * 2 * 9 + 3))
    expect(metric(page, "parameters with groups = 1")).to_have_text(str(3 * 6 * 9 + 3))

    tick(page, "ch_depthwise")  # groups = C_in = 6, but C_out = 3 is not a multiple of 6
    expect(page.locator(ERROR)).to_contain_text("out_channels (3) must be divisible by groups (6)")
    expect(page.locator(INFO)).to_contain_text("multiple of C_in = 6")
    expect(page.locator(".st-key-ch_groups input")).to_be_disabled()
    set_number(page, "ch_cout", 6)
    expect(page.locator(ERROR)).to_have_count(0)
    expect(page.locator(".st-key-ch_wiring").get_by_text("6 of 36 pairs wired")).to_be_visible()
    expect(page.get_by_text("This layer is depthwise")).to_be_visible()
    tick(page, "ch_depthwise")
    expect(page.locator(".st-key-ch_wiring").get_by_text("12 of 36 pairs wired")).to_be_visible()

    set_number(page, "ch_k", 5)
    set_number(page, "ch_s", 2)
    set_number(page, "ch_p", 2)
    expect(shapes(page)).to_contain_text("weight (6, 6/3 = 2, 5, 5) + bias (6,)")
    expect(shapes(page)).to_contain_text("output (6, 3, 4)")
    tick(page, "ch_bias")
    expect(shapes(page)).not_to_contain_text("bias")
    expect(metric(page, "parameters")).to_have_text(str(6 * 2 * 25))

    set_number(page, "ch_oc", 4)
    set_number(page, "ch_row", 2)
    set_number(page, "ch_col", 3)
    view = channels_view((6, 7), 6, 6, 5, 2, 2, 3, False, 3)
    cell = channel_sums(view, 4, (2, 3))
    expect(page.get_by_text(f"y[4, 2, 3] = (in {cell.channels[0]} · slice 0)")).to_be_visible()
    expect(metric(page, "output value")).to_have_text(f"{cell.total:g}")
    expect(page.locator('[data-testid="stCode"]').get_by_text(cell.equation())).to_be_visible()
    clean(page)

    set_number(page, "ch_k", 1)  # the 1x1 mixing view appears
    expect(page.locator(".st-key-ch_mixing").get_by_text("W (6×6)")).to_be_visible()
    set_number(page, "ch_px_row", 1)
    set_number(page, "ch_px_col", 2)
    expect(page.get_by_text("At output pixel (1, 2)")).to_be_visible()
    clean(page)

    set_number(page, "ch_k", 5)
    set_number(page, "ch_h", 1)  # one row padded by 2 + 2 still fits the 5-tall kernel
    expect(page.locator(ERROR)).to_have_count(0)
    set_number(page, "ch_p", 0)  # without the padding it does not
    expect(page.locator(ERROR)).to_contain_text("kernel 5 spans 5 cells")
    clean(page)
    set_number(page, "ch_h", 6)
    expect(page.locator(ERROR)).to_have_count(0)
    page.set_viewport_size({"width": 1440, "height": 4200})
    page.screenshot(path=str(screenshots_dir / "channels-controls.png"), full_page=True)


def test_typing_one_input_value_and_applying_updates_the_output(tab: Page, screenshots_dir: Path) -> None:
    page = tab
    set_number(page, "ch_cin", 1)
    set_number(page, "ch_cout", 1)
    tick(page, "ch_bias")
    rerun_after(page, page.locator(".st-key-ch_values").get_by_text("Type the values", exact=True).click)
    grid = typed_grid(page, "ch_x0", 5, 5)
    expect(grid).to_be_visible()
    seeded = channels_view((5, 5), 1, 1, 3, bias=False)
    before = channel_sums(seeded, 0, (0, 0))
    breakdown = page.locator('[data-testid="stCode"]').filter(has_text="input channel 0:")
    expect(breakdown).to_contain_text(before.lines()[0])
    expect(metric(page, "output value")).to_have_text(number_text(before.total))

    x = seeded.input.copy()
    x[0, 0, 2] = 9  # the window of output (0, 0) meets this cell with weight 1
    after = channel_sums(explain_channels(x, seeded.weight, None), 0, (0, 0))
    assert after.total != before.total
    grid.scroll_into_view_if_needed()
    edit_cell(page, grid_cell(grid, 5, 5, 0, 2), "9")  # the grid is in a form: nothing changes before Apply
    expect(metric(page, "output value")).to_have_text(number_text(before.total))
    apply_grid(page, "ch_x0")
    expect(breakdown).to_contain_text(after.lines()[0])
    expect(breakdown).to_contain_text(after.lines()[-1])
    expect(metric(page, "output value")).to_have_text(number_text(after.total))
    assert "ch_x0=" in page.url  # the typed plane is in the link
    clean(page)
    page.screenshot(path=str(screenshots_dir / "channels-typed.png"), full_page=True)
