"""Lecture examples typed into the pages in Chromium, as a student replays a slide: lecture 003's
cross-correlation in the explorer's grids, lecture 001's MNIST-1D net and lecture 003's 55 layers pasted
into the network builder, and lecture 001's question 1 answered with its two paddings in the quiz."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.actions import (
    apply_grid,
    choose,
    edit_cell,
    grid_cell,
    open_page,
    rerun_after,
    set_number,
    typed_grid,
)

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

EXCEPTION = '[data-testid="stException"]'
ERROR = '[data-testid="stAlertContentError"]'
SUCCESS = '[data-testid="stAlertContentSuccess"]'


@pytest.fixture()
def slow_redraws() -> Iterator[None]:
    # A shared, busy machine can take more than Playwright's default 5 s to redraw a page.
    expect.set_options(timeout=30_000)
    try:
        yield
    finally:
        expect.set_options(timeout=5_000)


opened = contextmanager(open_page)  # one page in a fresh context, closed even when a check fails


def no_errors(page: Page) -> None:
    """The must-not-happen check: no traceback, no red box, no JavaScript error (Plotly's cancelled
    animation rejects with "undefined", which is its documented way of stopping)."""
    expect(page.locator(EXCEPTION)).to_have_count(0)
    expect(page.locator(ERROR)).to_have_count(0)
    assert [e for e in page.js_errors if e != "undefined"] == []  # type: ignore[attr-defined]


def type_grid(page: Page, key: str, values: list[list[int]]) -> None:
    """Type every cell of the typed grid `key`, then press Apply."""
    rows, cols = len(values), len(values[0])
    grid = typed_grid(page, key, rows, cols)
    expect(grid).to_be_visible()
    for r, row in enumerate(values):
        for c, value in enumerate(row):
            edit_cell(page, grid_cell(grid, rows, cols, r, c), str(value))
    apply_grid(page, key)


def test_003_cross_correlation_typed_on_a_projector(
    browser: Browser, app_url: str, slow_redraws: None
) -> None:
    """In presentation mode the grids are text boxes in projector type, one row a line: lecture 003's
    example typed as rows of numbers gives 19, and the products table is HTML in the same large type."""
    link = "cx_in_h=3&cx_in_w=3&cx_k_h=2&cx_k_w=2&cx_in_kind=typed&cx_k_kind=typed&present=1"
    with opened(browser, app_url, f"Convolution_explorer?{link}", "Convolution explorer") as page:
        for key, rows in (("cx_typed_in", "0 1 2\n3 4 5\n6 7 8"), ("cx_typed_k", "0 1\n2 3")):
            box = page.locator(f".st-key-{key}_gridtext textarea")
            expect(box).to_be_visible()
            assert float(box.evaluate("b => parseFloat(getComputedStyle(b).fontSize)")) >= 18
            assert "monospace" in box.evaluate("b => getComputedStyle(b).fontFamily")
            box.fill(rows)
            apply_grid(page, key)
        equation = page.locator('[data-testid="stMain"] [data-testid="stCode"]').first
        expect(equation).to_have_text("0×0 + 1×1 + 3×2 + 4×3 = 19")
        products = page.locator('[data-testid="stMain"] [data-testid="stTable"]').first
        expect(products.locator("tbody tr")).to_have_count(4)
        expect(products).to_contain_text("12")  # 4×3
        expect(page.locator('[data-testid="stMain"] [data-testid="stDataFrame"]')).to_have_count(0)
        no_errors(page)


def test_003_cross_correlation_typed_into_the_explorer(
    browser: Browser, app_url: str, slow_redraws: None
) -> None:
    """[[0,1,2],[3,4,5],[6,7,8]] * [[0,1],[2,3]]: output (0, 0) is 0×0 + 1×1 + 3×2 + 4×3 = 19, (1, 1) is 43."""
    with opened(browser, app_url, "Convolution_explorer", "Convolution explorer") as page:
        for key, value in (("cx_in_h", 3), ("cx_in_w", 3), ("cx_k_h", 2), ("cx_k_w", 2)):
            set_number(page, key, value)
        choose(page, "cx_in_kind", "typed")
        choose(page, "cx_k_kind", "typed")
        type_grid(page, "cx_typed_in", [[0, 1, 2], [3, 4, 5], [6, 7, 8]])
        type_grid(page, "cx_typed_k", [[0, 1], [2, 3]])
        equation = page.locator('[data-testid="stMain"] [data-testid="stCode"]').first
        expect(equation).to_have_text("0×0 + 1×1 + 3×2 + 4×3 = 19")
        set_number(page, "cx_row", 1)
        set_number(page, "cx_col", 1)
        expect(equation).to_have_text("4×0 + 5×1 + 7×2 + 8×3 = 43")
        no_errors(page)


def paste(page: Page, shape: str, code: str) -> None:
    """Type the input shape, paste `code` into the import box and press Import."""
    field = page.locator(".st-key-nb_input input")
    field.fill(shape)
    rerun_after(page, lambda: field.press("Enter"))
    box = page.locator(".st-key-nb_import_text textarea")
    if not box.is_visible():
        page.get_by_text("Import PyTorch code or JSON").click()
    box.fill(code)
    rerun_after(page, page.locator(".st-key-nb_import button").filter(visible=True).click)
    expect(page.locator(SUCCESS).first).to_contain_text("Imported")


def test_lecture_networks_pasted_into_the_builder(browser: Browser, app_url: str, slow_redraws: None) -> None:
    """Lecture 001's MNIST-1D net, typed layer by layer: 2,050 parameters and a (1, 10) output; lecture 003's
    224 x 224 input needs 55 valid 5x5 layers, not the slide's 44, to reach 4 x 4."""
    mnist_1d = "\n".join(
        [*["nn.Conv1d(1, 15, kernel_size=3, stride=2)", "nn.ReLU()"],
         *["nn.Conv1d(15, 15, kernel_size=3, stride=2)", "nn.ReLU()"] * 2,
         "nn.Flatten()", "nn.Linear(60, 10)"]
    )  # fmt: skip
    with opened(browser, app_url, "Network_builder", "Network builder") as page:
        headline = page.locator(".st-key-nb_headline")
        paste(page, "1, 40", mnist_1d)
        expect(headline).to_contain_text("2,050")
        expect(headline).to_contain_text("(1, 10)")
        paste(page, "1, 224, 224", "\n".join(["nn.Conv2d(1, 1, kernel_size=5)"] * 44))
        expect(headline).to_contain_text("(1, 1, 48, 48)")
        paste(page, "1, 224, 224", "\n".join(["nn.Conv2d(1, 1, kernel_size=5)"] * 55))
        expect(headline).to_contain_text("(1, 1, 4, 4)")
        no_errors(page)


def answer(page: Page, *values: int) -> None:
    """Type a quiz answer into lecture 001's question 1 boxes (the fifth: padding after) and press Check."""
    for short, value in zip(("k", "s", "d", "p", "pa"), values, strict=False):
        field = page.locator(f".st-key-qz_{short}_l001-q1 input")
        field.fill(str(value))
        field.press("Tab")
    rerun_after(page, page.get_by_role("button", name="Check").click)


def test_001_question_1_answered_with_padding_2_before_and_3_after(
    browser: Browser, app_url: str, slow_redraws: None
) -> None:
    """The same padding on both sides is not quite; 2 before and 3 after is right, and the link keeps it."""
    with opened(browser, app_url, "Convolution_quiz", "Name that convolution") as page:
        choose(page, "qz_source", "Lecture 001: question 1")
        expect(page.locator(".st-key-qz_matrix .gtitle")).to_contain_text("Lecture 001: question 1")

        answer(page, 6, 1, 1, 2)
        expect(page.locator(ERROR)).to_have_text("Not quite.")
        expect(page.get_by_text("Your settings give 7 outputs; the matrix has 8 rows.")).to_be_visible()
        answer(page, 6, 1, 1, 2, 3)
        expect(page.locator(SUCCESS)).to_contain_text("exactly this matrix")
        expect(page.get_by_text("padding: 2 before and 3 after is right.")).to_be_visible()
        assert "qz_checked=6%2C1%2C1%2C2%2C3" in page.url, page.url
        no_errors(page)
