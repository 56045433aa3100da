"""The convolution explorer's link in Chromium: set controls, type into the kernel grid and click cells, read
the address bar, open it in a new browser context, and find the same values and the same picked cells.

Uses the shared server and browser of `tests/e2e/conftest.py` (`app_url`, `browser`, `screenshots_dir`).
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.actions import (
    RUN_TIMEOUT_MS,
    apply_grid,
    choose,
    edit_cell,
    grid_cell,
    plot_point,
    rerun_after,
    set_number,
    settle,
    typed_grid,
)

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

VIEWPORT = {"width": 1440, "height": 1400}  # tall: the main pane scrolls
TITLE = "Convolution explorer"
BOXES = ("cx_in_h", "cx_in_w", "cx_seed", "cx_k_h", "cx_k_w", "cx_s_h", "cx_s_w", "cx_bias")
PICKED = ("cx_row", "cx_col", "cx_in_row", "cx_in_col")
FIGURE = ".st-key-cx_cell_figure .js-plotly-plot"


def fresh(browser: Browser, address: str) -> Page:
    """A new browser context (no shared session or cookies) on `address`, its script run to the end."""
    context = browser.new_context(viewport=VIEWPORT, device_scale_factor=1)
    page = context.new_page()
    page.set_default_timeout(RUN_TIMEOUT_MS)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.js_errors = errors  # type: ignore[attr-defined]
    page.goto(address)
    expect(page.locator('[data-testid="stMain"] h1').first).to_have_text(TITLE, timeout=120_000)
    settle(page)
    return page


def no_traceback(page: Page) -> None:
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)
    # Plotly rejects an interrupted animation's promise with no reason ("undefined"); anything else is real.
    assert [e for e in page.js_errors if e != "undefined"] == []  # type: ignore[attr-defined]


def query(page: Page) -> dict[str, str]:
    return {key: values[-1] for key, values in parse_qs(urlsplit(page.url).query).items()}


def box_value(page: Page, key: str) -> str:
    return page.locator(f".st-key-{key} input").first.input_value()


def selected(page: Page, key: str) -> str:
    """The option a select box shows (its combo box's text)."""
    return page.locator(f".st-key-{key} input[role=combobox]").input_value()


def figure_marks(page: Page) -> list[list[float]]:
    """The x and y of every outline: the window, the picked output cell and the marked input cell."""
    return page.evaluate(
        """s => document.querySelector(s).data
            .filter(t => t.mode === 'lines')
            .map(t => Array.from(t.x).concat(Array.from(t.y)))""",
        FIGURE,
    )


def state(page: Page) -> dict[str, object]:
    """What the page shows for every control, the picked cells and the computed output cell."""
    main = page.locator('[data-testid="stMain"]')
    return {
        **{key: box_value(page, key) for key in BOXES + PICKED},
        "cx_k_kind": selected(page, "cx_k_kind"),
        "cx_pad_mode": selected(page, "cx_pad_mode"),
        "equation": main.locator('[data-testid="stCode"]').first.inner_text(),
        "value": main.locator('[data-testid="stMetricValue"]').first.inner_text(),
        "feeds": main.get_by_text("feeds").first.inner_text(),
        "shift": page.locator(".st-key-cx_equivariance .annotation-text").first.text_content(),
        "marks": figure_marks(page),
    }


def test_explorer_link_reopens_the_same_controls_grid_and_clicked_cells(
    app_url: str, browser: Browser, screenshots_dir: Path
) -> None:
    expect.set_options(timeout=30_000)  # a shared, busy machine can take a while to redraw this page
    try:
        page = fresh(browser, f"{app_url}/Convolution_explorer")
        set_number(page, "cx_in_h", 6)
        set_number(page, "cx_seed", 4)
        set_number(page, "cx_s_w", 2)
        set_number(page, "cx_bias", 1)
        choose(page, "cx_pad_mode", "replicate")
        choose(page, "cx_k_kind", "typed")
        kernel = typed_grid(page, "cx_typed_k", 3, 3)
        expect(kernel).to_be_visible()
        edit_cell(page, grid_cell(kernel, 3, 3, 0, 0), "5")
        apply_grid(page, "cx_typed_k")
        thumb = page.locator(".st-key-cx_eq_dx input[type=range]")
        rerun_after(page, lambda: thumb.press("ArrowRight"))

        # Click output cell (2, 1) and input cell (4, 5): the boxes and the link follow the clicks.
        x, y = plot_point(page, "cx_cell_figure", "3", 2, 1)
        rerun_after(page, lambda: page.mouse.click(x, y))
        x, y = plot_point(page, "cx_cell_figure", "", 4, 5)
        rerun_after(page, lambda: page.mouse.click(x, y))
        expect(page.locator(".st-key-cx_row input")).to_have_value("2")
        expect(page.locator(".st-key-cx_in_col input")).to_have_value("5")
        expect(page.get_by_text("output[2, 1] = sum of products + bias")).to_be_visible()
        expect(page.get_by_text("Input cell (4, 5) feeds")).to_be_visible()
        no_traceback(page)

        link = query(page)
        assert {k: link.get(k) for k in ("cx_in_h", "cx_seed", "cx_s_w", "cx_k_kind", "cx_eq_dx")} == {
            "cx_in_h": "6",
            "cx_seed": "4",
            "cx_s_w": "2",
            "cx_k_kind": "typed",
            "cx_eq_dx": "1",
        }
        assert link["cx_typed_k"] == "5,0,0;0,1,0;0,0,0"
        assert {k: link.get(k) for k in PICKED} == {
            "cx_row": "2",
            "cx_col": "1",
            "cx_in_row": "4",
            "cx_in_col": "5",
        }
        before = state(page)
        assert "×5 " in before["equation"] or before["equation"].endswith("×5")
        assert before["cx_in_h"] == "6" and before["cx_k_kind"] == "typed"
        page.screenshot(path=str(screenshots_dir / "url-explorer-set.png"), full_page=True)
        address = page.url
        page.context.close()

        again = fresh(browser, address)
        expect(again.get_by_text("output[2, 1] = sum of products + bias")).to_be_visible()
        expect(again.get_by_text("is not valid; using")).to_have_count(0)
        after = state(again)
        assert after == before
        assert query(again) == link
        no_traceback(again)
        again.screenshot(path=str(screenshots_dir / "url-explorer-reopened.png"), full_page=True)
        again.locator(".st-key-cx_cell_figure").screenshot(
            path=str(screenshots_dir / "url-explorer-reopened-cell.png")
        )
        again.context.close()
    finally:
        expect.set_options(timeout=5_000)


def test_explorer_tampered_link_shows_notes_and_defaults(
    app_url: str, browser: Browser, screenshots_dir: Path
) -> None:
    bad = "cx_in_h=abc&cx_row=99&cx_k_kind=typed&cx_typed_k=1,2;3&cx_pad_mode=%3Cb%3Ex%3C/b%3E"
    page = fresh(browser, f"{app_url}/Convolution_explorer?{bad}")
    notes = page.get_by_text("is not valid; using")
    expect(notes).to_have_count(4)
    expect(page.get_by_text("The link's value for 'Typed kernel values'")).to_be_visible()
    assert box_value(page, "cx_in_h") == "7" and box_value(page, "cx_row") == "0"
    assert selected(page, "cx_pad_mode") == "zeros"
    # The kernel grid is back to the identity it starts as (a link gives the editor a new key suffix).
    expect(typed_grid(page, "cx_typed_k", 3, 3)).to_be_visible()
    expect(page.locator('[data-testid="stMain"] [data-testid="stCode"]').first).to_contain_text("×1")
    expect(page.get_by_text("output[0, 0] = sum of products + bias")).to_be_visible()
    assert query(page) == {"cx_k_kind": "typed"}  # the rejected values leave the link
    no_traceback(page)
    page.screenshot(path=str(screenshots_dir / "url-explorer-tampered.png"))
    page.context.close()
