"""The hover grid in Chromium: pointing at cells lights up their links with nothing sent to the server.

The websocket's sent frames are counted from before the page opens: hovering every cell must send none
(no rerun), and the click that follows must send one, which shows the count is live.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.actions import RUN_TIMEOUT_MS, rerun_after, settle

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

# 6x6 input, 3x3 kernel, stride 2, padding 1: output 3x3, each window reaching into the padding.
LINK = "Convolution_explorer?cx_in_h=6&cx_in_w=6&cx_s_h=2&cx_s_w=2&cx_pad_kind=number&cx_p_h=1&cx_p_w=1"
GRID = ".st-key-cx_hover_box"


def _open(
    browser: Browser, app_url: str, path: str, viewport: dict, grid: str = GRID
) -> tuple[Page, list[str]]:
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    page.set_default_timeout(RUN_TIMEOUT_MS)
    sent: list[str] = []
    page.on("websocket", lambda ws: ws.on("framesent", lambda payload: sent.append(str(payload)[:40])))
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.js_errors = errors  # type: ignore[attr-defined]
    page.goto(f"{app_url}/{path}")
    expect(page.locator(f"{grid} .hg-root")).to_be_visible(timeout=RUN_TIMEOUT_MS)
    settle(page)
    return page, sent


@pytest.fixture()
def explorer(browser: Browser, app_url: str) -> Iterator[tuple[Page, list[str]]]:
    page, sent = _open(browser, app_url, LINK, {"width": 1400, "height": 1000})
    try:
        yield page, sent
    finally:
        page.context.close()


@contextmanager
def _grid_page(browser: Browser, app_url: str, path: str, grid: str) -> Iterator[tuple[Page, list[str]]]:
    """A page at 1400x1000 with its hover grid in view; no JavaScript error may happen before it closes."""
    page, sent = _open(browser, app_url, path, {"width": 1400, "height": 1000}, grid)
    try:
        page.locator(grid).scroll_into_view_if_needed()
        yield page, sent
        assert page.js_errors == []  # type: ignore[attr-defined]
    finally:
        page.context.close()


def _cell(page: Page, panel: str, row: int, col: int, grid: str = GRID):  # noqa: ANN202
    return page.locator(f'{grid} .hg-cell[data-p="{panel}"][data-r="{row}"][data-c="{col}"]')


def _point(page: Page, panel: str, row: int, col: int, grid: str = GRID) -> None:
    box = _cell(page, panel, row, col, grid).bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)


def _lit(page: Page, grid: str = GRID) -> set[tuple[str, int, int]]:
    found = page.locator(f"{grid} .hg-cell.hg-on").evaluate_all(
        "cells => cells.map(c => [c.dataset.p, Number(c.dataset.r), Number(c.dataset.c)])"
    )
    return {(p, r, c) for p, r, c in found}


def _lit_inputs(page: Page, grid: str) -> list[tuple[int, int]]:
    """(row, col) of the input panel's lit cells, sorted."""
    return sorted({(r, c) for p, r, c in _lit(page, grid) if p == "input"})


def test_hovering_every_cell_lights_its_links_and_sends_nothing(
    explorer: tuple[Page, list[str]], screenshots_dir: Path
) -> None:
    page, sent = explorer
    grid = page.locator(GRID)
    grid.scroll_into_view_if_needed()
    expect(page.locator(f'{GRID} .hg-cell[data-p="output"]')).to_have_count(9)
    expect(page.locator(f'{GRID} .hg-cell[data-p="input"]')).to_have_count(64)  # 6x6 padded by 1
    line = page.locator(f"{GRID} .hg-line")
    before = len(sent)
    kernel = {("kernel", a, b) for a in range(3) for b in range(3)}
    for r in range(3):
        for c in range(3):
            _point(page, "output", r, c)
            expect(line).to_contain_text(f"output[{r}, {c}] = ")
            # Stride 2 on the input padded by 1: the window of output (r, c) starts at padded cell (2r, 2c).
            window = {("input", 2 * r + a, 2 * c + b) for a in range(3) for b in range(3)}
            assert _lit(page) == window | kernel
            total = line.text_content().rsplit("= ", 1)[1]
            assert total == _cell(page, "output", r, c).text_content()
    # The reverse: padded cell (1, 1), input (0, 0), is read by output (0, 0) only; (2, 2) by four outputs.
    _point(page, "input", 1, 1)
    expect(line).to_contain_text("input[0, 0] = ")
    assert _lit(page) == {("output", 0, 0)}
    _point(page, "input", 2, 2)
    expect(line).to_contain_text("read by 4 outputs")
    assert _lit(page) == {("output", r, c) for r in (0, 1) for c in (0, 1)}
    grid.screenshot(path=str(screenshots_dir / "explorer-hover-grid.png"))
    assert sent[before:] == []  # a dozen hovers, no message to the server: no rerun
    # A click pins the cell: one rerun, and the products section shows it.
    rerun_after(page, lambda: _cell(page, "output", 2, 1).click())
    assert len(sent) > before
    expect(page.locator(".st-key-cx_row input")).to_have_value("2")
    expect(page.locator(".st-key-cx_col input")).to_have_value("1")
    page.mouse.move(5, 5)  # away from the grid: it shows the pinned cell
    expect(line).to_contain_text("output[2, 1] = ")
    assert page.js_errors == []  # type: ignore[attr-defined]


def test_presentation_mode_draws_big_cells_and_type(
    browser: Browser, app_url: str, screenshots_dir: Path
) -> None:
    page, _ = _open(browser, app_url, f"{LINK}&present=1", {"width": 1920, "height": 1080})
    try:
        cell = _cell(page, "output", 1, 1)
        cell.scroll_into_view_if_needed()
        _point(page, "output", 1, 1)
        box = cell.bounding_box()
        assert box is not None and box["width"] >= 64
        digits = cell.evaluate("c => parseFloat(getComputedStyle(c).fontSize)")
        line = page.locator(f"{GRID} .hg-line").evaluate("c => parseFloat(getComputedStyle(c).fontSize)")
        assert digits >= 18 and line >= 18
        page.locator(GRID).screenshot(path=str(screenshots_dir / "explorer-hover-grid-presenting.png"))
    finally:
        page.context.close()


def test_one_d_outputs_light_their_samples_without_a_rerun(browser: Browser, app_url: str) -> None:
    grid = ".st-key-c1_hover_box"
    with _grid_page(browser, app_url, "Convolution_1D", grid) as (page, sent):
        line = page.locator(f"{grid} .hg-line")
        before = len(sent)
        # The lecture signal and a 3-tap average, 'same' padding: output i reads padded samples i..i+2.
        for i in range(5):
            _point(page, "output", 0, i, grid)
            expect(line).to_contain_text(f"output[{i}] = ")
            assert _lit_inputs(page, grid) == [(0, i), (0, i + 1), (0, i + 2)]
        assert sent[before:] == []
        rerun_after(page, lambda: _cell(page, "output", 0, 4, grid).click())
        expect(page.locator(".st-key-c1_pos input")).to_have_value("4")


def test_pooled_cells_light_their_window_and_winner_without_a_rerun(browser: Browser, app_url: str) -> None:
    grid = ".st-key-pl_hover_box"
    with _grid_page(browser, app_url, "Pooling", grid) as (page, sent):
        line = page.locator(f"{grid} .hg-line")
        before = len(sent)
        for r, c in [(0, 0), (1, 1), (2, 1)]:  # 2x2 max pooling, stride 2
            _point(page, "output", r, c, grid)
            expect(line).to_contain_text(f"output[{r}, {c}] = max(")
            assert _lit_inputs(page, grid) == [(2 * r + a, 2 * c + b) for a in (0, 1) for b in (0, 1)]
            winner = page.locator(f"{grid} .hg-cell.hg-win")
            expect(winner).to_have_count(1)
            assert winner.text_content() == _cell(page, "output", r, c, grid).text_content()
        assert sent[before:] == []


def test_transposed_outputs_light_the_stamps_that_add_into_them(browser: Browser, app_url: str) -> None:
    grid = ".st-key-tc_hover_box"
    with _grid_page(browser, app_url, "Transposed_convolution", grid) as (page, sent):
        line = page.locator(f"{grid} .hg-line")
        before = len(sent)
        # 3x3 input, 3x3 kernel, stride 2: output (2, 2) is where four stamps overlap.
        _point(page, "output", 2, 2, grid)
        expect(line).to_contain_text("output[2, 2] = ")
        assert _lit_inputs(page, grid) == [(0, 0), (0, 1), (1, 0), (1, 1)]
        _point(page, "input", 1, 1, grid)
        expect(line).to_contain_text("input[1, 1] = ")
        expect(page.locator(f'{grid} .hg-cell.hg-on[data-p="output"]')).to_have_count(9)
        assert sent[before:] == []


def test_channel_outputs_light_their_window_in_every_channel_they_read(
    browser: Browser, app_url: str
) -> None:
    grid = ".st-key-ch_hover_box"
    # 4 input channels in 2 groups: output channel 1 reads input channels 0 and 1 only.
    with _grid_page(browser, app_url, "Channels_and_groups?ch_groups=2", grid) as (page, sent):
        line = page.locator(f"{grid} .hg-line")
        before = len(sent)
        _point(page, "y1", 1, 1, grid)
        expect(line).to_contain_text("y[1, 1, 1]:")
        expect(line).to_contain_text("input channel 1: ")
        lit = _lit(page, grid)
        assert {p for p, _, _ in lit} == {"x0", "x1"}
        assert {(r, c) for p, r, c in lit if p == "x0"} == {(r, c) for r in (1, 2, 3) for c in (1, 2, 3)}
        assert sent[before:] == []
        rerun_after(page, lambda: _cell(page, "y1", 2, 0, grid).click())
        expect(page.locator(".st-key-ch_oc input")).to_have_value("1")
        expect(page.locator(".st-key-ch_row input")).to_have_value("2")
