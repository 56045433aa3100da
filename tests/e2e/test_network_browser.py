"""The network builder in Chromium: pick a preset, break a layer in the table, fix it with one click.

Uses the shared server and browser of `tests/e2e/conftest.py` (`app_url`, `browser`, `screenshots_dir`).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from tests.e2e.actions import rerun_after, settle

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

RUN_TIMEOUT_MS = 90_000
VIEWPORT = {"width": 1440, "height": 900}
URL_PATH = "Network_builder"
ROW_PX = 36  # the page's table row height (cnnviz.ui.network_editor.ROW_PX)


@pytest.fixture()
def tab(browser: Browser, app_url: str) -> Iterator[Page]:
    """A fresh context on the network builder, with JavaScript errors collected."""
    context = browser.new_context(viewport=VIEWPORT, device_scale_factor=1, locale="en-GB")
    page = context.new_page()
    page.set_default_timeout(RUN_TIMEOUT_MS)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.js_errors = errors  # type: ignore[attr-defined]
    page.goto(f"{app_url}/{URL_PATH}")
    # Before the first run starts the app also reads "notRunning": wait for the page's own title first.
    expect(page.locator('[data-testid="stMain"] h1').first).to_have_text(
        "Network builder", timeout=RUN_TIMEOUT_MS
    )
    settle(page)
    try:
        yield page
    finally:
        context.close()


def no_exception(page: Page) -> None:
    """The must-not-happen check of every step: no traceback block, no JavaScript error."""
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)
    assert page.js_errors == []  # type: ignore[attr-defined]


def errors(page: Page) -> Locator:
    return page.locator('[data-testid="stAlertContentError"]')


def metric(page: Page, label: str) -> Locator:
    """The value of the metric card labelled `label`."""
    card = page.locator('[data-testid="stMetric"]').filter(
        has=page.locator('[data-testid="stMetricLabel"]', has_text=label)
    )
    return card.first.locator('[data-testid="stMetricValue"]')


def pick_preset(page: Page, name: str) -> None:
    page.locator(".st-key-nb_preset").click()
    rerun_after(page, page.get_by_role("option", name=name, exact=True).click)


def edit_cell(page: Page, row: int, column_x: float, text: str) -> None:
    """Type `text` into a cell of the layer table (a canvas grid: click the cell, Enter, type, Enter)."""
    grid = page.locator(
        "[class*='st-key-nb_table_'] [data-testid='stDataFrameResizable']"
    )  # key: nb_table_<n>
    grid.scroll_into_view_if_needed()
    box = grid.bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + column_x * box["width"], box["y"] + ROW_PX * (row + 1.5))
    # The grid opens its cell editor on its next frame: keys sent at once are lost, hence the pauses.
    for press in ("Enter", "ControlOrMeta+a"):
        page.wait_for_timeout(200)
        page.keyboard.press(press)
    page.keyboard.type(text)
    page.wait_for_timeout(200)
    rerun_after(page, lambda: page.keyboard.press("Enter"))


def shoot(page: Page, folder: Path, name: str) -> Path:
    """Screenshot the whole page (Streamlit scrolls inside its own pane, so grow the viewport first)."""
    height = page.evaluate(
        """() => Math.max(...['[data-testid="stMain"]', '[data-testid="stSidebarContent"]']
            .map(s => document.querySelector(s)?.scrollHeight ?? 0))"""
    )
    page.set_viewport_size(
        {"width": VIEWPORT["width"], "height": max(VIEWPORT["height"], min(int(height), 12_000))}
    )
    settle(page)
    path = folder / f"network-builder-{name}.png"
    page.screenshot(path=str(path))
    page.set_viewport_size(VIEWPORT)
    assert path.stat().st_size > 10_000
    return path


def test_preset_break_a_layer_and_fix_it(tab: Page, screenshots_dir: Path) -> None:
    page = tab
    no_exception(page)
    expect(errors(page)).to_have_count(0)
    expect(metric(page, "Parameters")).to_have_text("19,570")

    pick_preset(page, "LeNet-5")
    no_exception(page)
    expect(page.locator(".st-key-nb_input input")).to_have_value("1, 32, 32")
    expect(metric(page, "Parameters")).to_have_text("61,706")
    expect(metric(page, "Output shape")).to_have_text("(1, 10)")
    expect(page.locator('[data-testid="stDataFrame"]').first).to_be_visible()
    shoot(page, screenshots_dir, "1-lenet")

    # Row 8 is Linear(120, 84): ask it for 100 features, which Flatten does not give.
    edit_cell(page, 8, 0.75, "in_features=100, out_features=84")
    no_exception(page)
    expect(errors(page)).to_have_count(1)
    expect(errors(page).first).to_contain_text("Layer 8 (Linear) does not fit")
    expect(errors(page).first).to_contain_text("in_features=120")
    expect(metric(page, "Output shape")).to_have_text("✗ layer 8")
    fix = page.locator(".st-key-nb_fix button")
    expect(fix).to_contain_text("Fix layer 8: set in_features=120")
    shoot(page, screenshots_dir, "2-broken")

    rerun_after(page, fix.click)
    no_exception(page)
    expect(errors(page)).to_have_count(0)
    expect(page.locator('[data-testid="stAlertContentSuccess"]')).to_contain_text("Fixed layer 8")
    expect(metric(page, "Output shape")).to_have_text("(1, 10)")
    expect(metric(page, "Parameters")).to_have_text("61,706")
    shoot(page, screenshots_dir, "3-fixed")


def test_unit_picker_effective_field_and_a_bad_import(tab: Page, screenshots_dir: Path) -> None:
    page = tab
    for key in ("nb_unit_0", "nb_unit_1"):
        box = page.locator(f".st-key-{key} input")
        box.fill("0")
        rerun_after(page, lambda box=box: box.press("Enter"))
    expect(
        page.locator('[data-testid="stMarkdownContainer"]', has_text="Unit (0, 0) of layer 5")
    ).to_be_visible()
    rerun_after(page, page.locator(".st-key-nb_erf label").click)
    no_exception(page)
    expect(page.locator(".st-key-nb_erf_chart")).to_be_visible()
    shoot(page, screenshots_dir, "4-fields")

    page.get_by_text("Import PyTorch code or JSON").click()
    page.locator(".st-key-nb_import_text textarea").fill('{"input_size": [3, 32, 32], "layers": [}')
    rerun_after(page, page.locator(".st-key-nb_import button").click)
    no_exception(page)
    expect(errors(page)).to_have_count(1)
    expect(errors(page).first).to_contain_text("Nothing imported, the stack is unchanged: not valid JSON")
    expect(metric(page, "Parameters")).to_have_text("19,570")
