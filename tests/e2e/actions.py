"""Actions shared by the browser tests: wait for a run to finish, and for the rerun an action causes."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from playwright.sync_api import Browser, Locator, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from cnnviz.ui.layout import SHARE_KEY

RUN_TIMEOUT_MS = 90_000


def settle(page: Page) -> None:
    """Wait until the script has run to the end and nothing is left loading."""
    app = page.locator('[data-testid="stApp"]')
    expect(app).to_have_attribute("data-test-connection-state", "CONNECTED", timeout=RUN_TIMEOUT_MS)
    expect(app).to_have_attribute("data-test-script-state", "notRunning", timeout=RUN_TIMEOUT_MS)
    expect(page.locator('[data-testid="stSkeleton"]')).to_have_count(0, timeout=RUN_TIMEOUT_MS)


# Counts the runs that finish (script state turning "notRunning"), so an action can wait for *its* rerun:
# right after a click the state still reads "notRunning" from the run before.
_COUNT_RUNS = """() => {
    if (window.__finishedRuns === undefined) {
        window.__finishedRuns = 0;
        const app = document.querySelector('[data-testid="stApp"]');
        new MutationObserver(() => {
            if (app.getAttribute('data-test-script-state') === 'notRunning') window.__finishedRuns += 1;
        }).observe(app, {attributes: true, attributeFilter: ['data-test-script-state']});
    }
    return window.__finishedRuns;
}"""


# On a busy machine the browser can receive a run's start and end in one batch; React then never shows
# "running" and the counter above stays put although the run happened. After this long with no counted run
# and the app idle, the run is taken as done; the caller's own expectations check what it drew.
_MISSED_RUN_MS = 15_000


def rerun_after(page: Page, action: Callable[[], object]) -> None:
    """Do `action` (a click, a key), then wait until the rerun it causes has finished."""
    before = page.evaluate(_COUNT_RUNS)
    action()
    try:
        page.wait_for_function("n => window.__finishedRuns > n", arg=before, timeout=_MISSED_RUN_MS)
    except PlaywrightTimeoutError:
        state = page.locator('[data-testid="stApp"]').get_attribute("data-test-script-state")
        if state != "notRunning":
            page.wait_for_function("n => window.__finishedRuns > n", arg=before, timeout=RUN_TIMEOUT_MS)
    settle(page)


def choose(page: Page, key: str, option: str) -> None:
    """Pick `option` in the select box with widget key `key`, and wait for the rerun it causes."""
    combo, listbox = page.locator(f".st-key-{key} input"), page.get_by_role("listbox")
    # A click right after typing into a number box may only blur that box: open the list, retrying.
    for _ in range(3):
        combo.click()
        try:
            expect(listbox).to_be_visible(timeout=3_000)
            break
        except AssertionError:
            continue
    expect(listbox).to_be_visible()
    # The list draws only the options in view: type the option's name so it is among them.
    page.keyboard.type(option)
    rerun_after(page, listbox.get_by_role("option", name=option, exact=True).click)


def open_page(browser: Browser, app_url: str, url_path: str, title: str) -> Iterator[Page]:
    """A fresh browser context on one page, collecting JavaScript errors in `page.js_errors`."""
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(RUN_TIMEOUT_MS)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.js_errors = errors  # type: ignore[attr-defined]
    page.goto(f"{app_url}/{url_path}")
    expect(page.locator('[data-testid="stMain"] h1').first).to_have_text(title, timeout=RUN_TIMEOUT_MS)
    settle(page)
    try:
        yield page
    finally:
        context.close()


def set_number(page: Page, key: str, value: int) -> None:
    """Type `value` into the number box with widget key `key` and wait for the rerun."""
    field = page.locator(f".st-key-{key} input")
    field.fill(str(value))
    rerun_after(page, lambda: field.press("Enter"))


def typed_grid(page: Page, key: str, rows: int, cols: int) -> Locator:
    """The data editor of the typed grid `key` (`cnnviz.ui.grids.typed_grid`) at its current shape."""
    return page.locator(f"[class*='st-key-{key}_editor_{rows}x{cols}_']")


def grid_cell(grid: Locator, rows: int, cols: int, row: int, col: int) -> tuple[float, float]:
    """Centre of a data-editor cell on screen (scrolled into view): the header row and the index column
    are as large as a cell. Take it right before using it: a run that moves the page moves the cell."""
    grid.scroll_into_view_if_needed()
    box = grid.locator('[data-testid="stDataFrameResizable"]').bounding_box()
    assert box is not None
    return (
        box["x"] + (col + 1.5) * box["width"] / (cols + 1),
        box["y"] + (row + 1.5) * box["height"] / (rows + 1),
    )


# Streamlit's data editor hands an edit to its form 150 ms after the cell closes (a debounce in its
# frontend); a submit before then sends the grid as it was. Nothing in the page shows the hand-over, so
# this is the one wait on time rather than on a condition: a person's pause before reaching "Apply".
_EDIT_HANDOVER_MS = 400


def edit_cell(page: Page, at: tuple[float, float], keys: str) -> None:
    """Type `keys` into a data-editor cell (keys='' empties it). Inside a form this runs nothing."""
    editor = page.locator(".gdg-input")
    # A double click opens the cell's editor, a text box over the canvas; one that lands while the grid
    # is being redrawn after a run is lost, so try again.
    for _ in range(3):
        page.mouse.dblclick(*at)
        try:
            expect(editor).to_be_visible(timeout=5_000)
            break
        except AssertionError:
            continue
    expect(editor).to_be_visible()
    if not keys:  # an emptied editor keeps the old text: close it, and clear the cell it leaves selected
        editor.press("Escape")
        expect(editor).to_have_count(0)
        page.keyboard.press("Delete")
        page.wait_for_timeout(_EDIT_HANDOVER_MS)
        return
    editor.fill(keys)
    expect(editor).to_have_value(keys)
    editor.press("Enter")
    expect(editor).to_have_count(0)
    page.wait_for_timeout(_EDIT_HANDOVER_MS)


def share_link(page: Page) -> Locator:
    """Open the sidebar's "Share this view" popover: the code block that shows this view's link."""
    body = page.locator('[data-testid="stPopoverBody"]')
    if not body.is_visible():
        page.locator(f".st-key-{SHARE_KEY} button").click()
    return body.locator('[data-testid="stCode"]')


def apply_grid(page: Page, key: str) -> None:
    """Press the typed grid's "Apply" button and wait for the rerun it causes."""
    rerun_after(page, page.locator(f".st-key-{key}_apply button").click)


def plot_point(page: Page, key: str, axes: str, row: int, col: int) -> tuple[float, float]:
    """Where cell (row, col) of subplot `axes` ('' for the first) of the Plotly figure keyed `key` is on
    the screen (scrolled into view), from the plot's own axes."""
    selector = f".st-key-{key} .js-plotly-plot"
    page.locator(selector).scroll_into_view_if_needed()
    x, y = page.evaluate(
        """([selector, n, row, col]) => {
            const gd = document.querySelector(selector);
            const xa = gd._fullLayout['xaxis' + n], ya = gd._fullLayout['yaxis' + n];
            const box = gd.getBoundingClientRect();
            return [box.left + xa._offset + xa.l2p(col), box.top + ya._offset + ya.l2p(row)];
        }""",
        [selector, axes, row, col],
    )
    return x, y
