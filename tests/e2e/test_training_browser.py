"""The live-training page in Chromium: a run grows its curve, pauses, steps once, resumes, survives a visit to
another page, and every view opens; a downloaded run loads back.

Uses the shared server and browser of `tests/e2e/conftest.py` (`app_url`, `browser`, `screenshots_dir`).
The page's fragment redraws twice a second while a run is live, so these steps wait on what the page shows
(the status line, the loss curve's points), not on the script state.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Locator, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from tests.e2e.actions import RUN_TIMEOUT_MS, set_number, settle

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

P = "lt"
TALL = {"width": 1440, "height": 2400}
# Longer than the 30 s after which an unwatched run used to stop: the run must outlive the visit.
AWAY_SECONDS = 32
VIEW_MS = 45_000  # a view's first figure, on a machine other people are also using


@pytest.fixture()
def tab(browser: Browser, app_url: str) -> Iterator[Page]:
    """A fresh context on the live-training page, JavaScript errors collected in `page.js_errors`."""
    context = browser.new_context(viewport=TALL)
    page = context.new_page()
    page.set_default_timeout(RUN_TIMEOUT_MS)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.js_errors = errors  # type: ignore[attr-defined]
    page.goto(f"{app_url}/Live_training")
    # The first visit imports torch and builds the data: wait for the page's own title, then the run.
    expect(page.locator('[data-testid="stMain"] h1').first).to_have_text(
        "Live training", timeout=RUN_TIMEOUT_MS
    )
    settle(page)
    try:
        yield page
    finally:
        context.close()


def status(page: Page) -> str:
    """The status line; while the fragment redraws, the old copy may linger: read the newest (last)."""
    return page.locator(f".st-key-{P}_status").last.inner_text()


def step_now(page: Page) -> int:
    """The step number in the status line ("... step 123 of 72000 ...")."""
    match = re.search(r"step (\d+)", status(page))
    assert match, status(page)
    return int(match.group(1))


_POINTS = """() => {
    const plot = document.querySelector('.st-key-lt_loss .js-plotly-plot');
    return plot && plot.data ? plot.data[0].x.length : 0;
}"""


def points(page: Page) -> int:
    """Points on the drawn loss curve (read from the Plotly figure in the page)."""
    return int(page.evaluate(_POINTS))


def wait_points_above(page: Page, n: int, timeout_s: float = 60.0) -> int:
    """Wait until the loss curve has more than `n` points; return how many it has."""
    # The count that met the condition is the one returned: read again later, the chart may be between
    # two drawings (no curve for a moment).
    try:
        handle = page.wait_for_function(
            f"n => {{ const k = ({_POINTS})(); return k > n ? k : 0; }}",
            arg=n,
            timeout=timeout_s * 1_000,
            polling=250,
        )
    except PlaywrightTimeoutError:
        raise AssertionError(f"the curve stayed at {points(page)} points; status: {status(page)}") from None
    return int(handle.json_value())


def click(page: Page, name: str) -> None:
    # .first: a button with a help tooltip renders a second (hidden) copy of itself
    button = page.locator(f".st-key-{P}_{name} button").first
    expect(button).to_be_enabled()
    button.click()


def expect_status(page: Page, text: str | re.Pattern[str], timeout_ms: int = 30_000) -> str:
    """Wait until the status line says `text`; return that line."""
    lines = page.locator(f".st-key-{P}_status").filter(has_text=text)
    expect(lines.last).to_be_visible(timeout=timeout_ms)
    return lines.last.inner_text()


def clean(page: Page) -> None:
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)
    assert page.js_errors == []  # type: ignore[attr-defined]


def sidebar_link(page: Page, name: str):
    return page.locator('[data-testid="stSidebar"]').get_by_role("link", name=name, exact=True)


def shown_plot(page: Page, name: str) -> Locator:
    """The visible Plotly plot of chart `lt_<name>` (a live redraw can briefly leave a hidden copy beside it)."""
    return page.locator(f".st-key-{P}_{name} .js-plotly-plot").filter(visible=True).first


def test_run_pause_step_resume_and_leave_and_come_back(tab: Page, screenshots_dir: Path) -> None:
    page = tab
    set_number(page, f"{P}_batch", 4)  # 360 steps an epoch: a run that lasts the whole test
    set_number(page, f"{P}_epochs", 200)
    click(page, "start")
    expect_status(page, "Running")
    # The first run of a server imports scikit-learn and builds the data: slow on a busy machine.
    first = wait_points_above(page, 2, timeout_s=300)
    grown = wait_points_above(page, first)
    assert grown > first  # the curve grows while the run trains
    page.screenshot(path=str(screenshots_dir / "training-running.png"))
    clean(page)

    click(page, "pause")
    expect_status(page, "Paused")
    # The rerun of a button press keeps the charts it drew last (it paints the status at once); the next
    # refresh brings the curves up to the points the status line counts.
    page.wait_for_function(
        f"""() => {{ const lines = document.querySelectorAll('.st-key-{P}_status');
            const counted = lines[lines.length - 1].innerText.match(/(\\d+) points on the curves/);
            return counted && parseInt(counted[1]) === ({_POINTS})(); }}""",
        timeout=30_000,
        polling=250,
    )
    paused_step, paused_points = step_now(page), points(page)
    # No condition to wait for: the check is that nothing moves through a paused run's refresh (every 2 s).
    page.wait_for_timeout(2_500)
    assert step_now(page) == paused_step and points(page) == paused_points  # nothing moves while paused
    expect(page.locator(f".st-key-{P}_resume button").first).to_be_enabled()
    page.screenshot(path=str(screenshots_dir / "training-paused.png"))

    click(page, "step")
    expect_status(page, f"step {paused_step + 1} ")
    page.wait_for_timeout(2_500)  # no condition either: a paused refresh (every 2 s) must show no second step
    assert step_now(page) == paused_step + 1  # exactly one minibatch step, as the button's help says
    assert "Paused" in status(page)

    click(page, "resume")
    expect_status(page, "Running")
    wait_points_above(page, points(page))
    assert step_now(page) > paused_step + 1
    clean(page)

    left_at = step_now(page)
    sidebar_link(page, "Pooling").click()
    expect(page.locator('[data-testid="stMain"] h1').first).to_have_text("Pooling")
    # Time passing is the point: on another page nothing polls the run, for longer than the old cut-off.
    page.wait_for_timeout(AWAY_SECONDS * 1_000)
    sidebar_link(page, "Live training").click()
    expect(page.locator('[data-testid="stMain"] h1').first).to_have_text("Live training")
    expect(page.locator(f".st-key-{P}_status").last).to_be_visible()
    back = status(page)
    # Still training, or (on a busy machine) ended at the two-minute cap: never stopped for being unwatched.
    assert "Running" in back or "time limit" in back, back
    assert step_now(page) > left_at  # it kept training while we were away
    expect(page.locator(f".st-key-{P}_batch input")).to_have_value("4")  # the settings came back too
    page.screenshot(path=str(screenshots_dir / "training-back.png"))

    # Every view opens on the live run.
    views = page.locator(f".st-key-{P}_view")
    views.get_by_text("Feature maps", exact=True).click()
    expect(shown_plot(page, "maps_0")).to_be_visible(timeout=VIEW_MS)
    expect(shown_plot(page, "maps_2")).to_be_visible(timeout=VIEW_MS)
    set_number(page, f"{P}_sample", 5)  # chosen inside the live fragment: it still reaches the URL
    expect(page).to_have_url(re.compile(rf"{P}_sample=5"), timeout=VIEW_MS)
    expect(page.get_by_text("test sample 5:")).to_be_visible(timeout=VIEW_MS)
    page.screenshot(path=str(screenshots_dir / "training-feature-maps.png"))
    views.get_by_text("Worst samples", exact=True).click()
    expect(shown_plot(page, "worst")).to_be_visible(timeout=VIEW_MS)
    page.screenshot(path=str(screenshots_dir / "training-worst.png"))
    views.get_by_text("Try it", exact=True).click()
    expect(shown_plot(page, "probs")).to_be_visible(timeout=VIEW_MS)
    expect(page.locator(f".st-key-{P}_probs")).to_contain_text("Prediction", timeout=VIEW_MS)
    page.screenshot(path=str(screenshots_dir / "training-try.png"))
    clean(page)

    stop = page.locator(f".st-key-{P}_stop button").first
    if stop.is_enabled():  # the run may have reached its time limit by now
        click(page, "stop")
    ended = expect_status(page, re.compile("Stopped|Finished"), timeout_ms=VIEW_MS)
    stopped_step = int(re.search(r"step (\d+)", ended).group(1))  # an ended run's step no longer moves
    views.get_by_text("Compare runs", exact=True).click()
    table = page.locator('[data-testid="stMain"] [data-testid="stDataFrame"]')
    expect(shown_plot(page, "compare")).to_be_visible(timeout=VIEW_MS)
    expect(table).to_be_visible(timeout=VIEW_MS)
    page.screenshot(path=str(screenshots_dir / "training-compare.png"))

    # Download the run, load it back: it waits paused at the step it was saved at.
    with page.expect_download() as download:
        page.locator(f".st-key-{P}_download button").first.click()
    saved = screenshots_dir / "training-run.pt"
    download.value.save_as(saved)
    assert saved.stat().st_size > 1000
    views.get_by_text("Load a run", exact=True).click()
    page.locator(f".st-key-{P}_run_file input[type=file]").set_input_files(str(saved))
    click(page, "load")
    expect_status(page, "Paused", timeout_ms=VIEW_MS)
    expect_status(page, f"step {stopped_step} ")
    page.screenshot(path=str(screenshots_dir / "training-loaded.png"))
    click(page, "stop")
    expect_status(page, "Stopped")
    clean(page)


# Records, in the page's own clock, when Pause was clicked and the first frame after that in which the
# status line says "Paused" (a mutation observer sees the text; the next animation frame is its paint).
_WATCH_PAUSE = """() => {
    const times = {clicked: null, shown: null};
    window.cnnvizPause = times;
    document.addEventListener('click', (event) => {
        // timeStamp: when the browser took the click in, so a renderer busy elsewhere counts too
        if (times.clicked === null && event.target.closest('.st-key-lt_pause')) times.clicked = event.timeStamp;
    }, {capture: true});
    const paused = () => [...document.querySelectorAll('.st-key-lt_status')]
        .some((line) => line.textContent.includes('Paused'));
    const observer = new MutationObserver(() => {
        if (times.clicked === null || !paused()) return;
        observer.disconnect();
        requestAnimationFrame(() => { times.shown = performance.now(); });
    });
    observer.observe(document.body, {subtree: true, childList: true, characterData: true});
}"""


def test_pause_shows_within_two_seconds_and_stops_the_steps_while_both_cores_are_busy(tab: Page) -> None:
    """Two busy processes hold both cores while the run trains in its worker: Pause is answered at once
    (the page's server never waits for training) and no step is taken after it."""
    page = tab
    set_number(page, f"{P}_batch", 4)
    set_number(page, f"{P}_epochs", 200)
    busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(2)]
    try:
        click(page, "start")
        expect_status(page, "Running", timeout_ms=120_000)
        wait_points_above(page, 1, timeout_s=120)
        pause = page.locator(f".st-key-{P}_pause button").first
        expect(pause).to_be_enabled()
        page.evaluate(_WATCH_PAUSE)
        started = time.monotonic()
        # A person's click goes straight in; Playwright's own checks before a click (the button holding
        # still over animation frames) wait seconds on a starved renderer, which no person waits for.
        pause.click(force=True)
        # Timed in the page, from the click event to the frame that shows "Paused": an `expect` polls
        # at widening intervals (up to 1 s apart) and would add its own wait to the figure.
        latency = (
            page.wait_for_function(
                "() => window.cnnvizPause.shown !== null && window.cnnvizPause.shown - window.cnnvizPause.clicked",
                timeout=10_000,
                polling=50,
            ).json_value()
            / 1000
        )
        waited = time.monotonic() - started
        paused_line = expect_status(page, "Paused")
        print(
            f"\nPause shown {latency:.2f} s after the click ({waited:.2f} s to the test), both cores busy "
            f"({paused_line.strip()})"
        )
        assert latency < 2.0, latency
        paused_step = step_now(page)
        page.wait_for_timeout(
            2_500
        )  # no condition to wait for: a paused run's refresh (2 s) shows no new step
        assert step_now(page) == paused_step  # no further step
        assert "Paused" in status(page)
        clean(page)
    finally:
        for process in busy:
            process.kill()
            process.wait()
    click(page, "stop")
    expect_status(page, "Stopped")


def test_a_bad_saved_run_is_refused_and_try_it_asks_for_a_run(tab: Page, tmp_path: Path) -> None:
    page = tab
    views = page.locator(f".st-key-{P}_view")
    views.get_by_text("Load a run", exact=True).click()
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"this is not a saved run" * 10)
    page.locator(f".st-key-{P}_run_file input[type=file]").set_input_files(str(junk))
    click(page, "load")
    error = page.locator('[data-testid="stAlertContentError"]')
    expect(error.first).to_contain_text("not a saved cnnviz training run", timeout=VIEW_MS)
    clean(page)
    views.get_by_text("Try it", exact=True).click()
    expect(page.get_by_text("Start a run (or load a saved one) first")).to_be_visible(timeout=VIEW_MS)
    clean(page)


def test_a_link_opens_its_settings_ready_to_start_and_a_tampered_one_notes_it(
    browser: Browser, app_url: str, screenshots_dir: Path
) -> None:
    context = browser.new_context(viewport=TALL)
    page = context.new_page()
    page.set_default_timeout(RUN_TIMEOUT_MS)
    try:
        page.goto(f"{app_url}/Live_training?{P}_dataset=mnist1d&{P}_model=mlp&{P}_seed=7&{P}_view=worst")
        expect(page.locator('[data-testid="stMain"] h1').first).to_have_text("Live training")
        settle(page)
        sidebar = page.locator('[data-testid="stSidebar"]')
        expect(sidebar.locator(f".st-key-{P}_dataset input")).to_have_value("MNIST-1D")
        expect(sidebar.locator(f".st-key-{P}_lr input")).to_have_value("0.001")  # the MLP's recipe
        expect(sidebar.locator(f".st-key-{P}_seed input")).to_have_value("7")
        expect(page).to_have_url(re.compile(rf"{P}_view=worst"))  # the view travelled and stays in the link
        expect(page.get_by_text("No run yet")).to_be_visible()  # ready to start, not started
        expect(page.locator(f".st-key-{P}_start button").first).to_be_enabled()
        page.screenshot(path=str(screenshots_dir / "training-link.png"))

        page.goto(f"{app_url}/Live_training?{P}_lr=-5&{P}_model=resnet")
        settle(page)
        notes = page.locator('[data-testid="stAlertContentWarning"]')
        expect(notes.filter(has_text="'Learning rate'")).to_have_count(1)
        expect(notes.filter(has_text="'Model'")).to_have_count(1)
        expect(sidebar.locator(f".st-key-{P}_lr input")).to_have_value("0.01")  # the default recipe's
        expect(page.locator('[data-testid="stException"]')).to_have_count(0)
        page.screenshot(path=str(screenshots_dir / "training-tampered-link.png"))
    finally:
        context.close()
