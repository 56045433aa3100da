"""The network builder in Chromium: pick a preset, break a layer in the table, fix it with one click.

Uses the shared server and browser of `tests/e2e/conftest.py` (`app_url`, `browser`, `screenshots_dir`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Locator, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from tests.e2e.actions import choose, rerun_after, settle

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
    page.mouse.dblclick(box["x"] + column_x * box["width"], box["y"] + ROW_PX * (row + 1.5))
    # The grid opens its cell editor (a text box over the canvas) on its next frame: type once it is there.
    editor = page.locator(".gdg-input")
    expect(editor).to_be_visible()
    editor.fill(text)
    expect(editor).to_have_value(text)
    rerun_after(page, lambda: editor.press("Enter"))


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


def notice(page: Page) -> Locator:
    """The one-time message a change leaves (e.g. "Moved row 2 down.")."""
    return page.locator('[data-testid="stAlertContentSuccess"]')


def set_number(page: Page, key: str, value: str) -> None:
    """Type `value` into the text or number box `key` and press Enter (one rerun)."""
    box = page.locator(f".st-key-{key} input")
    box.fill(value)
    rerun_after(page, lambda: box.press("Enter"))


def button(page: Page, key: str) -> Locator:
    """The button `key` (a button with help text also has a hidden copy, used to measure it)."""
    return page.locator(f".st-key-{key} button").filter(visible=True)


def click(page: Page, key: str) -> None:
    """Click the button `key` and wait for the rerun it causes."""
    rerun_after(page, button(page, key).click)


EXPORT_JSON = '[data-testid="stTabs"] [data-testid="stCode"] code'  # the second one: the JSON tab


def stack_types(page: Page) -> list[str]:
    """The layer types, in order, as the Export section's JSON tab shows them."""
    code = page.locator(EXPORT_JSON).nth(1)
    return [layer["type"] for layer in json.loads(code.inner_text())["layers"]]


# True once the JSON tab's stack starts with `expected` (and has `count` layers); false while it is redrawn.
_STACK_IS = """([selector, expected, count]) => {
    const code = document.querySelectorAll(selector)[1];
    if (!code) return false;
    let types;
    try { types = JSON.parse(code.innerText).layers.map(layer => layer.type); } catch (e) { return false; }
    return expected.every((t, i) => types[i] === t) && (count === null || types.length === count);
}"""


def expect_types(page: Page, expected: list[str], count: int | None = None) -> None:
    """Wait (up to 10 s) until the exported stack starts with `expected` (and has `count` layers): the code
    block redraws a moment after the run ends."""
    try:
        page.wait_for_function(_STACK_IS, arg=[EXPORT_JSON, expected, count], timeout=10_000)
    except PlaywrightTimeoutError:
        raise AssertionError(f"the stack is {stack_types(page)}, not {expected} ({count} layers)") from None


def test_input_shape_batch_fix_all_and_row_tools(tab: Page, screenshots_dir: Path) -> None:
    page = tab
    assert len(stack_types(page)) == 9

    set_number(page, "nb_batch", "8")
    no_exception(page)
    expect(page.locator('[data-testid="stMetricLabel"]', has_text="MACs (batch of 8)")).to_be_visible()
    expect(metric(page, "Output shape")).to_have_text("(8, 10)")

    # 64×64 input: Flatten gives 15×8×8 = 960 features, Linear(240, 60) at row 7 no longer fits.
    set_number(page, "nb_input", "3, 64, 64")
    no_exception(page)
    expect(errors(page)).to_have_count(1)
    expect(errors(page).first).to_contain_text("Layer 7 (Linear) does not fit")
    expect(metric(page, "Output shape")).to_have_text("✗ layer 7")
    click(page, "nb_fix_all")
    no_exception(page)
    expect(errors(page)).to_have_count(0)
    expect(notice(page)).to_contain_text("Applied every fix the network needed.")
    expect(page.locator(".st-key-nb_input input")).to_have_value("3, 64, 64")
    expect(page.locator(".st-key-nb_batch input")).to_have_value("8")
    expect(metric(page, "Output shape")).to_have_text("(8, 10)")
    expect(metric(page, "Parameters")).to_have_text("62,770")

    # Row 1 is a ReLU: copy it, move the copy down past the conv and back, then delete it.
    set_number(page, "nb_row", "1")
    click(page, "nb_duplicate")
    no_exception(page)
    expect(notice(page)).to_contain_text("Duplicated row 1.")
    expect(page.locator(".st-key-nb_row input")).to_have_value("2")
    expect_types(page, ["Conv2d", "ReLU", "ReLU", "Conv2d"])
    click(page, "nb_down")
    no_exception(page)
    expect(notice(page)).to_contain_text("Moved row 2 down.")
    expect(page.locator(".st-key-nb_row input")).to_have_value("3")
    expect_types(page, ["Conv2d", "ReLU", "Conv2d", "ReLU"])
    click(page, "nb_up")
    no_exception(page)
    expect(notice(page)).to_contain_text("Moved row 3 up.")
    expect(page.locator(".st-key-nb_row input")).to_have_value("2")
    expect_types(page, ["Conv2d", "ReLU", "ReLU", "Conv2d"])
    click(page, "nb_delete")
    no_exception(page)
    expect(notice(page)).to_contain_text("Deleted row 2.")
    expect_types(page, [], count=9)
    expect(metric(page, "Parameters")).to_have_text("62,770")

    # Insert a BatchNorm2d after row 0: it is sized for the 15 channels it gets there (+30 parameters).
    set_number(page, "nb_row", "0")
    expect(button(page, "nb_up")).to_be_disabled()
    # The layer list is long and draws only the options in view: type to narrow it, then pick.
    page.locator(".st-key-nb_new_type input").fill("BatchNorm2d")
    rerun_after(page, page.get_by_role("listbox").get_by_role("option", name="BatchNorm2d", exact=True).click)
    click(page, "nb_insert")
    no_exception(page)
    expect(notice(page)).to_contain_text("Inserted nn.BatchNorm2d(15) at row 1.")
    expect_types(page, ["Conv2d", "BatchNorm2d", "ReLU"])
    expect(metric(page, "Parameters")).to_have_text("62,800")
    expect(errors(page)).to_have_count(0)
    no_exception(page)


TEMPLATE = "Classic CNN template [[Conv→ReLU]×N→Pool]×M→[FC→ReLU]×K→FC"
SIGNAL_JSON = json.dumps(
    {
        "input_size": [1, 40],
        "layers": [
            {"type": "Conv1d", "in_channels": 1, "out_channels": 4, "kernel_size": 5},
            {"type": "ReLU"},
            {"type": "Flatten"},
            {"type": "Linear", "in_features": 144, "out_features": 10},
        ],
    }
)


def test_template_knobs_exports_import_and_the_mlp_section(tab: Page, screenshots_dir: Path) -> None:
    page = tab
    pick_preset(page, TEMPLATE)
    no_exception(page)
    expect(notice(page)).to_contain_text("Loaded the classic template with N=2, M=2, K=1.")
    expect(metric(page, "Parameters")).to_have_text("80,554")
    for key, value, total in (("nb_n", "1", "84,586"), ("nb_m", "1", "462,410"), ("nb_k", "0", "72,906")):
        set_number(page, key, value)
        no_exception(page)
        expect(metric(page, "Parameters")).to_have_text(total)
    expect(notice(page)).to_contain_text("Loaded the classic template with N=1, M=1, K=0.")
    choose(page, "nb_padding", "1")  # same-size convs: the pooled map is 16×16, Linear(8192, 10)
    no_exception(page)
    expect(metric(page, "Parameters")).to_have_text("82,826")
    expect(metric(page, "Output shape")).to_have_text("(1, 10)")

    page.get_by_text("As torchinfo prints it").click()
    expect(page.get_by_text("Total params: 82,826")).to_be_visible()

    # The same task, fully connected: the stack's own card and bigger fully connected ones.
    expect(metric(page, "This stack")).to_have_text("82,826")
    expect(metric(page, "Lecture 000's MLP")).to_be_visible()
    expect(page.locator(".st-key-nb_params_chart")).to_be_visible()

    # Export: both downloads hold what the page shows, and they read back.
    with page.expect_download() as info:
        button(page, "nb_download_code").click()
    assert info.value.suggested_filename == "model.py"
    code = Path(info.value.path()).read_text()
    compile(code, "model.py", "exec")
    assert "nn.Conv2d(3, 32, kernel_size=3, padding=1)" in code
    assert "nn.Linear(8192, 10)" in code
    page.get_by_role("tab", name="JSON").click()
    with page.expect_download() as info:
        button(page, "nb_download_json").click()
    assert info.value.suggested_filename == "network.json"
    exported = json.loads(Path(info.value.path()).read_text())
    assert exported["input_size"] == [3, 32, 32]
    assert [layer["type"] for layer in exported["layers"]] == stack_types(page)
    assert len(exported["layers"]) == 5
    no_exception(page)

    # Import valid JSON: a 1D signal network replaces the stack and its input shape.
    page.get_by_text("Import PyTorch code or JSON").click()
    page.locator(".st-key-nb_import_text textarea").fill(SIGNAL_JSON)
    click(page, "nb_import")
    no_exception(page)
    expect(errors(page)).to_have_count(0)
    expect(notice(page)).to_contain_text("Imported 4 layers, input shape (1, 40).")
    expect(page.locator(".st-key-nb_input input")).to_have_value("1, 40")
    expect(metric(page, "Parameters")).to_have_text("1,474")
    expect(metric(page, "This stack")).to_have_text("1,474")
    expect(metric(page, "Linear classifier")).to_have_text("410")

    # Pick the conv's output, unit 18, and average the effective field over fewer networks.
    choose(page, "nb_unit_layer", "0 · Conv1d → (1, 4, 36)")
    no_exception(page)
    expect(
        page.locator('[data-testid="stMarkdownContainer"]', has_text="Unit (18,) of layer 0")
    ).to_be_visible()
    rerun_after(page, page.locator(".st-key-nb_erf label").click)
    runs = page.locator(".st-key-nb_erf_runs input")
    shown = page.locator(".st-key-nb_erf_runs [data-testid='stSliderThumbValue']")
    expect(shown).to_have_text("4")
    runs.focus()
    rerun_after(page, lambda: runs.press("ArrowLeft"))
    no_exception(page)
    expect(shown).to_have_text("2")
    expect(page.locator(".st-key-nb_erf_chart")).to_be_visible()
    expect(errors(page)).to_have_count(0)
    shoot(page, screenshots_dir, "5-signal")
    no_exception(page)
