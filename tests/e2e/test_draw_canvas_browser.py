"""The drawing pad of the live-training page's "Try it" view in Chromium: a stroke drawn with the mouse
becomes the text grid and a new prediction, Clear empties both, a text edit redraws the pad; the pad fills its
column on a laptop and grows on a projector.

Uses the shared server and browser of `tests/e2e/conftest.py`. A two-epoch run on the 8x8 digits (under a
second of training) gives the model.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from tests.e2e.actions import RUN_TIMEOUT_MS, rerun_after, settle

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

P = "lt"
BLANK = "\n".join(["........"] * 8)
PREDICTION = re.compile(r"Prediction: \S+ \([\d.]+ %\)")
# The grey level (0-255) the pad paints at a point given as fractions of its width and height.
_GREY_AT = """(sheet, [fx, fy]) => {
    const x = Math.floor(fx * sheet.width), y = Math.floor(fy * sheet.height);
    return sheet.getContext('2d').getImageData(x, y, 1, 1).data[0];
}"""


def trained_try_it(page: Page, app_url: str, query: str = "") -> None:
    """Open the page on "Try it" with a short run's settings, start it and wait until it has finished."""
    page.goto(f"{app_url}/Live_training?{P}_epochs=2&{P}_view=try{query}")
    expect(page.locator('[data-testid="stMain"] h1').first).to_have_text(
        "Live training", timeout=RUN_TIMEOUT_MS
    )
    settle(page)
    rerun_after(page, page.locator(f".st-key-{P}_start button").first.click)
    expect(page.locator(f".st-key-{P}_status").last).to_contain_text("Finished", timeout=RUN_TIMEOUT_MS)
    settle(page)
    expect(page.locator(f".st-key-{P}_probs")).to_contain_text("Prediction", timeout=RUN_TIMEOUT_MS)


@pytest.fixture()
def page(browser: Browser, app_url: str) -> Iterator[Page]:
    """A fresh 1400x1000 tab on "Try it" with a trained model; JavaScript errors in `page.js_errors`."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    tab = context.new_page()
    tab.set_default_timeout(RUN_TIMEOUT_MS)
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    tab.js_errors = errors  # type: ignore[attr-defined]
    try:
        trained_try_it(tab, app_url)
        yield tab
    finally:
        context.close()


def sheet(page: Page) -> Locator:
    return page.locator(f".st-key-{P}_pad canvas")


def text_grid(page: Page) -> Locator:
    return page.locator(f".st-key-{P}_grid textarea")


def prediction(page: Page) -> str:
    match = PREDICTION.search(page.locator(f".st-key-{P}_probs").inner_text())
    assert match, page.locator(f".st-key-{P}_probs").inner_text()
    return match.group(0)


def stroke(page: Page, points: list[tuple[float, float]]) -> None:
    """Press the mouse at the first point (fractions of the pad's side), move through the others, let go."""
    box = sheet(page).bounding_box()
    assert box is not None
    at = [(box["x"] + fx * box["width"], box["y"] + fy * box["height"]) for fx, fy in points]
    page.mouse.move(*at[0])
    page.mouse.down()
    for x, y in at[1:]:
        page.mouse.move(x, y, steps=8)
    page.mouse.up()


def clean(page: Page) -> None:
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)
    expect(page.locator('[data-testid="stAlertContentError"]')).to_have_count(0)
    assert page.js_errors == []  # type: ignore[attr-defined]


def test_a_stroke_becomes_the_text_grid_and_the_prediction_and_clear_empties_it(
    page: Page, screenshots_dir: Path
) -> None:
    pad = sheet(page)
    pad.scroll_into_view_if_needed()
    sample = text_grid(page).input_value()
    assert sample != BLANK and len(sample.splitlines()) == 8  # the pad starts from test sample 0
    assert page.evaluate("s => s.width", pad.element_handle()) > 0
    page.screenshot(path=str(screenshots_dir / "draw-canvas-sample.png"))

    rerun_after(page, page.locator(f".st-key-{P}_pad button", has_text="Clear").click)
    expect(text_grid(page)).to_have_value(BLANK)
    blank_prediction = prediction(page)
    assert pad.evaluate(_GREY_AT, [0.44, 0.44]) == 0  # nothing left on the pad either (inside cell 3, 3)

    rerun_after(page, lambda: stroke(page, [(0.5, 0.12), (0.5, 0.88)]))  # a vertical bar down the middle
    expect(text_grid(page)).not_to_have_value(BLANK)
    rows = text_grid(page).input_value().splitlines()
    assert len(rows) == 8 and all(len(row) == 8 for row in rows)
    assert all(row[3] in "6789" or row[4] in "6789" for row in rows[1:7])  # full ink along the stroke
    assert all(row[0] == row[7] == "." for row in rows)  # and none far from it
    expect(page.locator(f".st-key-{P}_probs")).not_to_contain_text(blank_prediction)  # the model saw it
    assert pad.evaluate(_GREY_AT, [0.44, 0.44]) > 150  # the pad shows the stroke it sent
    expect(page).to_have_url(re.compile(rf"{P}_grid="))  # the drawing is in the share link
    page.screenshot(path=str(screenshots_dir / "draw-canvas-stroke.png"))
    clean(page)

    # A text edit redraws the pad; Clear then empties the text although it sends the same blank as before.
    edited = "9.......\n" + "\n".join(["........"] * 7)
    text_grid(page).fill(edited)
    rerun_after(page, lambda: text_grid(page).press("Control+Enter"))
    expect(text_grid(page)).to_have_value(edited)
    page.wait_for_function(f"s => ({_GREY_AT})(s, [0.06, 0.06]) === 255", arg=pad.element_handle())
    assert pad.evaluate(_GREY_AT, [0.44, 0.44]) == 0
    rerun_after(page, page.locator(f".st-key-{P}_pad button", has_text="Clear").click)
    expect(text_grid(page)).to_have_value(BLANK)
    expect(page.locator(f".st-key-{P}_probs")).to_contain_text(blank_prediction)
    clean(page)


def test_the_pad_fills_its_column_on_a_laptop_and_grows_on_a_projector(
    browser: Browser, app_url: str, screenshots_dir: Path
) -> None:
    for name, viewport, query, low, high in [
        ("laptop", {"width": 1400, "height": 1000}, "", 280, 480),
        ("present", {"width": 1920, "height": 1080}, "&present=1", 481, 720),
    ]:
        context = browser.new_context(viewport=viewport)
        tab = context.new_page()
        tab.set_default_timeout(RUN_TIMEOUT_MS)
        try:
            trained_try_it(tab, app_url, query)
            pad = sheet(tab)
            pad.scroll_into_view_if_needed()
            box = pad.bounding_box()
            column = tab.locator(f".st-key-{P}_pad").bounding_box()
            assert box is not None and column is not None
            assert low <= box["width"] <= high, (name, box)
            assert abs(box["width"] - box["height"]) < 1  # square
            assert box["width"] == pytest.approx(min(column["width"], high), abs=1)  # fills its column
            buttons = tab.locator(f".st-key-{P}_pad button")
            expect(buttons).to_have_text(["Pen", "Eraser", "Clear"])
            size = float(buttons.first.evaluate("b => parseFloat(getComputedStyle(b).fontSize)"))
            assert size >= (18 if name == "present" else 13), (name, size)  # readable from the back row
            tab.screenshot(path=str(screenshots_dir / f"draw-canvas-{name}.png"))
            expect(tab.locator('[data-testid="stException"]')).to_have_count(0)
        finally:
            context.close()
