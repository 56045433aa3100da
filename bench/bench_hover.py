"""Hover to highlight in headless Chromium: pointing at a cell vs clicking it (a server round trip).

The explorer's hover grid answers the pointer in the browser. For each of `--hovers` real mouse moves onto
a cell (Playwright drives Chromium's input), a probe installed before the app's scripts takes the
`pointerover` event's `timeStamp` and the time after the next frame is painted (requestAnimationFrame,
then a message: the task after the paint), and checks that the cell is drawn highlighted by then. The
reference, measured in the same run on the same page, is the way the page answered before: a click on a
cell, which reruns the script on the server, until the products section shows the clicked cell.

    python bench/bench_hover.py                  # starts its own server
    python bench/bench_hover.py --url http://127.0.0.1:8501 --hovers 200 --clicks 5
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `python bench/bench_hover.py` from anywhere

from bench.bench_pages import nodelay_env  # noqa: E402
from bench.load_test import free_port, start_server, stop_server  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
GOAL_MS = 50.0
# A 16x16 input, 3x3 kernel: 256 input and 196 output cells, 3,528 links' cells in the page.
PATH = "Convolution_explorer?cx_in_h=16&cx_in_w=16"
GRID = ".st-key-cx_hover_box"

PROBE_JS = """(() => {
  const S = {hovers: [], missed: 0};
  window.__hoverBench = S;
  document.addEventListener('pointerover', (event) => {
    const cell = event.target.closest && event.target.closest('.hg-cell');
    if (!cell) return;
    const at = event.timeStamp;
    requestAnimationFrame(() => {
      const channel = new MessageChannel();
      channel.port1.onmessage = () => {
        if (cell.classList.contains('hg-src')) S.hovers.push(performance.now() - at); else S.missed += 1;
      };
      channel.port2.postMessage(0);
    });
  }, true);
  document.addEventListener('click', (event) => { S.clickAt = event.timeStamp; }, true);
})();"""


@dataclass
class Report:
    hovers: list[float]
    missed: int
    clicks: list[float]
    sent_while_hovering: int

    def line(self) -> str:
        hover, click = statistics.median(self.hovers), statistics.median(self.clicks)
        p95 = sorted(self.hovers)[max(0, round(0.95 * len(self.hovers)) - 1)]
        return (
            f"hover → highlight painted: median {hover:.1f} ms, p95 {p95:.1f} ms, max {max(self.hovers):.1f} ms "
            f"over {len(self.hovers)} hovers ({self.missed} not highlighted by the next frame); "
            f"websocket messages sent while hovering: {self.sent_while_hovering}\n"
            f"click → rerun → products shown: median {click:.0f} ms over {len(self.clicks)} clicks\n"
            f"ratio hover / click: {hover / click:.3f} (goal: hover under {GOAL_MS:.0f} ms: "
            f"{'met' if hover < GOAL_MS else 'NOT met'})"
        )


def _centre(page, selector: str) -> tuple[float, float]:  # noqa: ANN001
    box = page.locator(selector).bounding_box()
    assert box is not None, selector
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def measure(url: str, hovers: int, clicks: int, chromium: str, browser: Any = None) -> Report:
    """Time the hovers and clicks in `browser` (a Playwright browser), or in a Chromium started for it."""
    if browser is not None:
        return _measure(browser, url, hovers, clicks)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            return _measure(launched, url, hovers, clicks)
        finally:
            launched.close()


def _measure(browser: Any, url: str, hovers: int, clicks: int) -> Report:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        page = context.new_page()
        page.add_init_script(PROBE_JS)
        sent: list[int] = []
        page.on("websocket", lambda ws: ws.on("framesent", lambda _: sent.append(1)))
        page.goto(f"{url}/{PATH}")
        page.wait_for_selector(f"{GRID} .hg-cell", timeout=120_000)
        page.wait_for_function(
            "() => document.querySelector('[data-testid=stApp]')"
            ".getAttribute('data-test-script-state') === 'notRunning'",
            timeout=120_000,
        )
        page.locator(GRID).scroll_into_view_if_needed()
        cells = page.locator(f"{GRID} .hg-cell").evaluate_all(
            "cs => cs.filter(c => c.dataset.p !== 'kernel').map(c => [c.dataset.p, c.dataset.r, c.dataset.c])"
        )
        before = len(sent)
        for i in range(hovers):
            p_, r, c = cells[(i * 37) % len(cells)]  # a stride through the cells: every move lands elsewhere
            x, y = _centre(page, f'{GRID} .hg-cell[data-p="{p_}"][data-r="{r}"][data-c="{c}"]')
            page.mouse.move(x, y)
        page.wait_for_function(
            f"() => window.__hoverBench.hovers.length + window.__hoverBench.missed >= {hovers}"
        )
        sent_while_hovering = len(sent) - before
        state = page.evaluate("() => window.__hoverBench")
        click_ms = []
        for i in range(clicks):
            row, col = (i * 5) % 14, (i * 3 + 1) % 14
            cell = f'{GRID} .hg-cell[data-p="output"][data-r="{row}"][data-c="{col}"]'
            page.locator(cell).click()
            done = page.wait_for_function(
                """([row, col]) => {
                  const app = document.querySelector('[data-testid=stApp]');
                  const r = document.querySelector('.st-key-cx_row input');
                  const c = document.querySelector('.st-key-cx_col input');
                  const ok = r && c && r.value === String(row) && c.value === String(col)
                    && app.getAttribute('data-test-script-state') === 'notRunning'
                    && document.querySelector('.hg-src') !== null;
                  return ok ? performance.now() - window.__hoverBench.clickAt : false;
                }""",
                arg=[row, col],
                polling="raf",
                timeout=120_000,
            )
            click_ms.append(float(done.json_value()))
            page.locator(GRID).scroll_into_view_if_needed()
    finally:
        context.close()
    return Report(state["hovers"], state["missed"], click_ms, sent_while_hovering)


def main(argv: list[str] | None = None, browser: Any = None) -> Report:
    """Run the benchmark; `browser` is a Playwright browser to use instead of launching Chromium."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="a running app (default: start one)")
    parser.add_argument("--hovers", type=int, default=150)
    parser.add_argument("--clicks", type=int, default=5)
    parser.add_argument("--chromium", default=CHROMIUM)
    args = parser.parse_args(argv)
    if args.url:
        report = measure(args.url.rstrip("/"), args.hovers, args.clicks, args.chromium, browser)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            port = free_port()
            proc = start_server(port, Path(tmp) / "server.log", env=nodelay_env(Path(tmp)))
            try:
                report = measure(f"http://127.0.0.1:{port}", args.hovers, args.clicks, args.chromium)
            finally:
                stop_server(proc)
    print(report.line())
    return report


if __name__ == "__main__":
    main()
