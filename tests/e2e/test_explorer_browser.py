"""The convolution explorer in Chromium: every control, the animation, clicks on cells, the GIF download."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import Browser, Locator, Page, expect

from tests.e2e.actions import (
    apply_grid,
    choose,
    edit_cell,
    grid_cell,
    open_page,
    plot_point,
    rerun_after,
    set_number,
    typed_grid,
)

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

ERROR = '[data-testid="stAlertContentError"]'
EXCEPTION = '[data-testid="stException"]'


@pytest.fixture(scope="module")
def warm(browser: Browser, app_url: str) -> None:
    """Load the page once, so its first run (imports, a cold server) is not timed by the tests' opener."""
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(f"{app_url}/Convolution_explorer")
        expect(page.locator('[data-testid="stMain"] h1').first).to_be_visible(timeout=120_000)
    finally:
        context.close()


@pytest.fixture()
def tab(browser: Browser, app_url: str, warm: None) -> Iterator[Page]:
    # A shared, busy machine can take more than Playwright's default 5 s to redraw this page.
    expect.set_options(timeout=30_000)
    try:
        yield from open_page(browser, app_url, "Convolution_explorer", "Convolution explorer")
    finally:
        expect.set_options(timeout=5_000)


def _no_errors(page: Page) -> None:
    expect(page.locator(EXCEPTION)).to_have_count(0)
    # Pausing interrupts Plotly's running animate() call, whose promise then rejects with no reason
    # ("undefined"); that is Plotly's documented way of cancelling. Anything else is a real error.
    assert [e for e in page.js_errors if e != "undefined"] == []  # type: ignore[attr-defined]


def _radio(page: Page, key: str, option: str) -> None:
    """Pick `option` in the radio group with widget key `key`, and wait for the rerun."""
    rerun_after(page, page.locator(f".st-key-{key}").get_by_text(option, exact=True).click)


def _slide(page: Page, key: str, presses: int) -> None:
    """Move a slider's thumb by `presses` steps with the keyboard (negative: left), one rerun each."""
    thumb = page.locator(f".st-key-{key} input[type=range]")
    for _ in range(abs(presses)):
        rerun_after(page, lambda: thumb.press("ArrowRight" if presses > 0 else "ArrowLeft"))


def _figure(page: Page, key: str) -> str:
    return f".st-key-{key} .js-plotly-plot"


def _titles(page: Page, key: str) -> Locator:
    return page.locator(f"{_figure(page, key)} .annotation-text")


def test_controls_animation_and_cell_picking(tab: Page, screenshots_dir: Path) -> None:
    page = tab
    animation = page.locator(".st-key-cx_animation")
    expect(animation.locator(".main-svg").first).to_be_visible()
    expect(page.get_by_text("output 5×5")).to_have_count(2)  # animation and the one-cell figure

    set_number(page, "cx_k_w", 4)
    expect(page.get_by_text("output 5×4").first).to_be_visible()
    expect(page.locator(EXCEPTION)).to_have_count(0)

    # Play: the slider's current-value label leaves its first cell; pause stops it.
    label = animation.locator(".slider-group > .slider-label")
    expect(label).to_have_text("output cell (row, col): 0,0")
    animation.locator(".updatemenu-button", has_text="play").click()
    expect(label).not_to_have_text("output cell (row, col): 0,0", timeout=10_000)
    animation.locator(".updatemenu-button", has_text="pause").click()

    # A kernel wider than the input is a message, not a traceback, and fixing it brings the page back.
    set_number(page, "cx_k_w", 9)
    expect(page.locator(ERROR)).to_contain_text("kernel 9")
    expect(page.locator(EXCEPTION)).to_have_count(0)
    set_number(page, "cx_k_w", 3)
    expect(page.locator(ERROR)).to_have_count(0)

    # Pick an output cell: its value is the sum of the products in the table.
    set_number(page, "cx_row", 2)
    set_number(page, "cx_col", 3)
    expect(page.locator('[data-testid="stMetricValue"]').first).to_be_visible()
    page.screenshot(path=str(screenshots_dir / "explorer-flow.png"))
    _no_errors(page)


def test_every_sidebar_control_changes_the_convolution(tab: Page, screenshots_dir: Path) -> None:
    page = tab
    titles = _titles(page, "cx_cell_figure")
    set_number(page, "cx_in_h", 6)
    set_number(page, "cx_in_w", 8)
    expect(titles.first).to_have_text("input 6×8 (grey: padding)")
    choose(page, "cx_in_kind", "checker")
    set_number(page, "cx_seed", 3)
    set_number(page, "cx_k_h", 2)
    set_number(page, "cx_k_w", 2)
    expect(titles.nth(1)).to_have_text("kernel 2×2")
    choose(page, "cx_k_kind", "box blur")
    equation = page.locator('[data-testid="stMain"] [data-testid="stCode"]').first
    set_number(page, "cx_bias", 2)
    expect(equation).to_contain_text("+ 2 =")

    set_number(page, "cx_s_h", 2)
    set_number(page, "cx_s_w", 2)
    expect(titles.nth(2)).to_have_text("output 3×4")
    set_number(page, "cx_d_h", 2)
    set_number(page, "cx_d_w", 2)
    expect(titles.nth(2)).to_have_text("output 2×3")

    _radio(page, "cx_pad_kind", "per side")
    for key, value in (("cx_pt", 1), ("cx_pb", 2), ("cx_pl", 2), ("cx_pr", 1)):
        set_number(page, key, value)
    expect(titles.nth(2)).to_have_text("output 4×5")
    _radio(page, "cx_pad_kind", "number")
    set_number(page, "cx_p_h", 1)
    set_number(page, "cx_p_w", 1)
    expect(titles.nth(2)).to_have_text("output 3×4")
    choose(page, "cx_pad_mode", "reflect")
    expect(page.locator(ERROR)).to_have_count(0)

    # 'same' with a stride is refused in a sentence; stride 1 makes it work.
    _radio(page, "cx_pad_kind", "same")
    expect(page.locator(ERROR)).to_contain_text("stride 1")
    set_number(page, "cx_s_h", 1)
    set_number(page, "cx_s_w", 1)
    expect(page.locator(ERROR)).to_have_count(0)
    expect(titles.nth(2)).to_have_text("output 6×8")
    _radio(page, "cx_pad_kind", "valid")
    expect(titles.nth(2)).to_have_text("output 4×6")

    # Reflect padding as wide as the input is refused too.
    _radio(page, "cx_pad_kind", "number")
    set_number(page, "cx_p_h", 6)
    expect(page.locator(ERROR)).to_contain_text("reflect padding")
    page.screenshot(path=str(screenshots_dir / "explorer-sidebar-error.png"))
    set_number(page, "cx_p_h", 1)
    expect(page.locator(ERROR)).to_have_count(0)
    _no_errors(page)


def test_typed_grids_take_numbers_and_explain_an_empty_cell(tab: Page, screenshots_dir: Path) -> None:
    page = tab
    choose(page, "cx_k_kind", "typed")
    kernel = typed_grid(page, "cx_typed_k", 3, 3)
    expect(kernel).to_be_visible()
    # The typed kernel starts as the identity; a 2 in its top-left corner adds 2x the input's (0, 0)
    # to output (0, 0). Typing alone runs nothing: the grid takes effect with "Apply".
    equation = page.locator('[data-testid="stMain"] [data-testid="stCode"]').first
    expect(equation).not_to_contain_text("×2 ")
    edit_cell(page, grid_cell(kernel, 3, 3, 0, 0), "2")
    expect(equation).not_to_contain_text("×2 ")
    apply_grid(page, "cx_typed_k")
    expect(equation).to_contain_text("×2 ")

    choose(page, "cx_in_kind", "typed")
    grid = typed_grid(page, "cx_typed_in", 7, 7)
    expect(grid).to_be_visible()
    edit_cell(page, grid_cell(grid, 7, 7, 0, 0), "7")
    apply_grid(page, "cx_typed_in")
    expect(equation).to_contain_text("7×2 ")
    # A fraction is read as the number it is, and printed as one.
    edit_cell(page, grid_cell(grid, 7, 7, 0, 0), "1/3")
    apply_grid(page, "cx_typed_in")
    expect(equation).to_contain_text("(1/3)×2 ")
    edit_cell(page, grid_cell(grid, 7, 7, 0, 0), "")
    apply_grid(page, "cx_typed_in")
    expect(page.locator(ERROR)).to_contain_text("Input, row 0, column 0: a cell is empty")
    page.screenshot(path=str(screenshots_dir / "explorer-typed-error.png"))
    expect(equation).to_contain_text("(1/3)×2 ")  # the last applied grid stays in use
    edit_cell(page, grid_cell(grid, 7, 7, 0, 0), "1")
    apply_grid(page, "cx_typed_in")
    expect(page.locator(ERROR)).to_have_count(0)
    expect(equation).to_contain_text("1×2 ")
    _no_errors(page)


def test_speed_and_the_gif_download(tab: Page, screenshots_dir: Path, tmp_path: Path) -> None:
    page = tab
    rerun_after(page, lambda: page.locator(".st-key-cx_speed input[type=range]").press("ArrowRight"))
    expect(page.locator(".st-key-cx_speed")).to_contain_text("fast")
    duration = page.evaluate(
        """s => document.querySelector(s).layout.updatemenus[0].buttons[0].args[1].frame.duration""",
        _figure(page, "cx_animation"),
    )
    assert duration == 120
    frames = page.evaluate(
        "s => document.querySelector(s)._transitionData._frames.length", _figure(page, "cx_animation")
    )

    download = page.locator(".st-key-cx_gif_download button")
    expect(download).to_have_count(0)
    rerun_after(page, page.locator(".st-key-cx_gif_make button").click)
    expect(download).to_contain_text("Download the GIF")
    with page.expect_download() as info:
        download.click()
    path = tmp_path / "convolution.gif"
    info.value.save_as(path)
    with Image.open(io.BytesIO(path.read_bytes())) as gif:
        assert gif.format == "GIF" and gif.n_frames == frames == 25
        assert gif.info["duration"] == 120
        gif.seek(gif.n_frames - 1)
        gif.convert("RGB").save(screenshots_dir / "explorer-gif-last-frame.png")
    _no_errors(page)


def test_clicking_cells_picks_them_and_the_boxes_follow(tab: Page, screenshots_dir: Path) -> None:
    page = tab
    row, col = page.locator(".st-key-cx_row input"), page.locator(".st-key-cx_col input")
    x, y = plot_point(page, "cx_cell_figure", "3", 2, 3)
    rerun_after(page, lambda: page.mouse.click(x, y))
    expect(row).to_have_value("2")
    expect(col).to_have_value("3")
    expect(page.get_by_text("output[2, 3] = sum of products + bias")).to_be_visible()

    in_row, in_col = page.locator(".st-key-cx_in_row input"), page.locator(".st-key-cx_in_col input")
    x, y = plot_point(page, "cx_cell_figure", "", 5, 1)
    rerun_after(page, lambda: page.mouse.click(x, y))
    expect(in_row).to_have_value("5")
    expect(in_col).to_have_value("1")
    expect(page.get_by_text("Input cell (5, 1) feeds")).to_be_visible()

    # Typing into the boxes moves the figure's outline: boxes and clicks are one state.
    set_number(page, "cx_row", 4)
    outline_x = page.evaluate(
        "s => Array.from(document.querySelector(s).data[7].x)", _figure(page, "cx_cell_figure")
    )
    assert outline_x[0] == pytest.approx(2.5)  # the outline of output column 3 starts at 2.5
    outline_y = page.evaluate(
        "s => Array.from(document.querySelector(s).data[7].y)", _figure(page, "cx_cell_figure")
    )
    assert min(outline_y) == pytest.approx(3.5)
    x, y = plot_point(page, "cx_cell_figure", "3", 0, 0)
    rerun_after(page, lambda: page.mouse.click(x, y))
    expect(row).to_have_value("0")
    expect(col).to_have_value("0")
    page.locator(".st-key-cx_cell_figure").screenshot(path=str(screenshots_dir / "explorer-clicked-cell.png"))
    _no_errors(page)


def test_reverse_view_boxes_and_equivariance_controls(tab: Page, screenshots_dir: Path) -> None:
    page = tab
    set_number(page, "cx_in_row", 0)
    set_number(page, "cx_in_col", 6)
    expect(page.get_by_text("Input cell (0, 6) feeds 1 output cell")).to_be_visible()
    set_number(page, "cx_k_h", 1)
    set_number(page, "cx_k_w", 1)
    set_number(page, "cx_s_h", 2)
    set_number(page, "cx_in_row", 1)
    expect(page.get_by_text("the stride (2) is larger than the kernel's span")).to_be_visible()
    set_number(page, "cx_s_h", 1)
    set_number(page, "cx_k_h", 3)
    set_number(page, "cx_k_w", 3)

    titles = _titles(page, "cx_equivariance")
    expect(titles.first).to_have_text("input shifted by (1, 0)")
    _slide(page, "cx_eq_dy", 1)
    _slide(page, "cx_eq_dx", -2)
    expect(titles.first).to_have_text("input shifted by (2, -2)")
    expect(page.get_by_text("output cells differ (marked ×)")).to_be_visible()
    # Circular shift, circular padding that keeps the size: equivariance holds everywhere.
    set_number(page, "cx_p_h", 1)
    set_number(page, "cx_p_w", 1)
    choose(page, "cx_pad_mode", "circular")
    _radio(page, "cx_eq_fill", "circular")
    expect(page.get_by_text("All 49 output cells agree")).to_be_visible()
    page.locator(".st-key-cx_equivariance").screenshot(
        path=str(screenshots_dir / "explorer-equivariance.png")
    )
    # A stride that does not divide the shift breaks it, and the page says why.
    set_number(page, "cx_s_w", 3)
    expect(page.get_by_text("is not a multiple of it")).to_be_visible()
    _no_errors(page)
