"""Every page in headless Chromium: first load, bytes over the network, and click to painted figure.

For every page (Home and each file in pages/) a fresh browser context (empty cache) opens the page's URL;
first load is the time from navigation start until the app is connected, its script has finished, the page's
title is shown and the main content has painted its last change (the frame after its last DOM mutation, once
nothing has moved for QUIET_MS). The same URL opened again in that context is the repeat visit (HTTP cache
warm). After the changes, a second fresh context opens the URL again: the next visitor ("next": empty HTTP
cache, but the page has already run in this server process, as for every student after the first in a class;
the verdict goes by the first load). Bytes are counted through the Chrome DevTools Protocol: HTTP as
received on the wire (`Network.loadingFinished`), websocket as payload (`Network.webSocketFrameReceived`).
Then the page's representative control (bench/bench_pages.py's CONTROLS) is changed a few times as a person
would (type and Enter, a click, an option picked from a list): click-to-paint runs from that input event's
`timeStamp` to the frame after the main figure's last mutation (a MutationObserver and requestAnimationFrame
in the page, all on `performance.now()`); the main figure is the container keyed `cnnviz-main-figure`, else
the page's first chart, else its first image. "settled" is the same for anything in the main area. A figure
whose drawing did not change is reported, not timed.

    python bench/bench_browser.py                        # starts its own server, every page
    python bench/bench_browser.py --pages Home,Pooling --changes 2 --json
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `python bench/bench_browser.py` from anywhere

from bench.bench_pages import CONTROLS, HOME, Control, app_pages, fmt_load, nodelay_env, url_name  # noqa: E402
from bench.load_test import free_port, start_server, stop_server  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
VIEWPORT = {"width": 1440, "height": 900}
GOAL_CLICK_MS = 300.0
GOAL_LOAD_MS = 3000.0
QUIET_MS = 500.0  # no mutation this long in what is watched: its drawing is done
TIMEOUT_MS = 90_000  # one load or change that takes longer is reported as failed
MISSED_RUN_MS = 15_000  # a run whose start and end the browser showed in one batch (see tests/e2e/actions.py)

# Installed in every document before the app's own scripts. It counts finished runs, stamps the first
# input event after `arm()`, and keeps the time after the frame that follows the last mutation of the main
# area and of the main figure. Streamlit's own bookkeeping (the fading of stale elements, the script
# state) is not drawing and is left out.
PROBE_JS = """(() => {
  const S = {runs: 0, armed: false, inputAt: null, lastMain: 0, paintMain: 0, lastFigure: 0, paintFigure: 0,
             figure: ''};
  window.__bench = S;
  const FIGURES = [
    ['cnnviz-main-figure', '[data-testid=stMain] .st-key-cnnviz-main-figure'],
    ['first chart', '[data-testid=stMain] [data-testid=stPlotlyChart]'],
    ['first image', '[data-testid=stMain] [data-testid=stImage]'],
  ];
  S.figureRoot = () => {
    for (const [name, selector] of FIGURES) {
      const found = document.querySelector(selector);
      if (found) { S.figure = name; return found; }
    }
    S.figure = '';
    return null;
  };
  const afterPaint = (done) => requestAnimationFrame(() => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => done(performance.now());
    channel.port2.postMessage(0);
  });
  const bookkeeping = (m) => m.type === 'attributes' && (
    m.attributeName === 'data-stale' || m.attributeName.startsWith('data-test-') ||
    (m.target.getAttribute && m.target.getAttribute('data-testid') === 'stElementContainer'));
  const touches = (root, m) => root && (root.contains(m.target) ||
    [...m.addedNodes, ...m.removedNodes].some((n) => n === root || (n.contains && n.contains(root))));
  const observer = new MutationObserver((mutations) => {
    const main = document.querySelector('[data-testid=stMain]');
    const figure = S.figureRoot();
    let inMain = false, inFigure = false;
    for (const m of mutations) {
      if (bookkeeping(m)) continue;
      inMain = inMain || touches(main, m);
      inFigure = inFigure || touches(figure, m);
    }
    if (!inMain && !inFigure) return;
    const now = performance.now();
    S.lastMain = now;  // the figure is part of the main area
    if (inFigure) S.lastFigure = now;
    afterPaint((t) => {
      S.paintMain = Math.max(S.paintMain, t);
      if (inFigure) S.paintFigure = Math.max(S.paintFigure, t);
    });
  });
  const start = () => {
    observer.observe(document.documentElement, {subtree: true, childList: true, attributes: true,
                                                characterData: true});
    const app = () => document.querySelector('[data-testid=stApp]');
    new MutationObserver(() => {
      if (app() && app().getAttribute('data-test-script-state') === 'notRunning') S.runs += 1;
    }).observe(document.documentElement, {subtree: true, attributes: true,
                                          attributeFilter: ['data-test-script-state']});
  };
  for (const type of ['pointerdown', 'keydown']) {
    document.addEventListener(type, (e) => {
      if (S.armed) { S.inputAt = e.timeStamp; S.armed = false; }
    }, {capture: true});
  }
  S.arm = () => { S.armed = true; S.inputAt = null; };
  S.signature = () => {  // what the figure shows, to tell a redraw with new content from none
    const root = S.figureRoot();
    if (!root) return '';
    const html = root.innerHTML;
    let hash = 0;
    for (let i = 0; i < html.length; i += 1) hash = (hash * 31 + html.charCodeAt(i)) | 0;
    return html.length + ':' + hash;
  };
  if (document.documentElement) start(); else document.addEventListener('DOMContentLoaded', start);
})();"""

# The app has drawn the page asked for and nothing in its main area has moved for `quiet` ms.
SETTLED_JS = """([title, quiet, runsBefore, startedAt, missedRunMs]) => {
  const S = window.__bench, app = document.querySelector('[data-testid=stApp]');
  if (!S || !app || app.getAttribute('data-test-connection-state') !== 'CONNECTED') return false;
  if (app.getAttribute('data-test-script-state') !== 'notRunning') return false;
  if (S.runs <= runsBefore && performance.now() - startedAt < missedRunMs) return false;
  const h1 = document.querySelector('[data-testid=stMain] h1');
  if (!h1 || h1.textContent.trim() !== title) return false;
  if (document.querySelector('[data-testid=stSkeleton]')) return false;
  return performance.now() - Math.max(S.lastMain, S.lastFigure) > quiet;
}"""


@dataclass
class Row:
    """One page in the browser (milliseconds, bytes); `note` says what could not be measured, and why."""

    page: str
    title: str
    control: str
    load_average_1min: float = 0.0
    first_load_ms: float = 0.0
    http_bytes: int = 0
    http_requests: int = 0
    ws_bytes: int = 0
    repeat_load_ms: float = 0.0
    repeat_http_bytes: int = 0
    repeat_ws_bytes: int = 0
    next_visitor_ms: float = 0.0  # a new context (cold HTTP cache) once the page has run in the server
    figure: str = ""  # which element was watched as the main figure
    click_to_paint_ms: float = 0.0  # median over the changes that redrew the figure
    click_to_settled_ms: float = 0.0  # median: until nothing in the main area moved
    change_ws_bytes: int = 0  # median websocket payload one change brought
    changes: list[dict[str, Any]] = field(default_factory=list)
    exceptions: int = 0
    js_errors: list[str] = field(default_factory=list)
    passed: bool | None = None
    note: str = ""


@dataclass
class Report:
    """Every page's row, and the conditions of the run."""

    changes_per_page: int
    tcp_nodelay: bool
    goal_click_to_paint_ms: float
    goal_first_load_ms: float
    cpu_count: int
    load_average_start: list[float]
    load_average_end: list[float]
    seconds: float
    rows: list[Row]

    def text(self) -> str:
        """The report as a table."""
        head = (
            f"Headless Chromium, {VIEWPORT['width']}x{VIEWPORT['height']}; goals: click-to-paint under "
            f"{self.goal_click_to_paint_ms:g} ms, first load under {self.goal_first_load_ms / 1000:g} s.\n"
            f"Load average {fmt_load(self.load_average_start)} at the start, {fmt_load(self.load_average_end)} "
            f"at the end, {self.cpu_count} cores; {self.seconds:.0f} s"
            + (" (both servers without Nagle: --tcp-nodelay)." if self.tcp_nodelay else ".")
        )
        columns = (
            f"{'page':23} {'load':>6} {'next':>6} {'MB http':>7} {'MB ws':>6} {'reload':>6} {'MB':>5} "
            f"{'click':>6} {'settled':>7} {'kB ws':>6} {'load1':>5}  result"
        )
        lines = [head, "", columns, "-" * len(columns)]
        for r in self.rows:
            if r.passed is None and not r.first_load_ms:
                lines.append(f"{r.page:23} not measured: {r.note}")
                continue
            verdict = {True: "pass", False: "FAIL", None: "n/a"}[r.passed]
            click = f"{r.click_to_paint_ms:6.0f}" if r.click_to_paint_ms else f"{'-':>6}"
            settled = f"{r.click_to_settled_ms:7.0f}" if r.click_to_settled_ms else f"{'-':>7}"
            lines.append(
                f"{r.page:23} {r.first_load_ms:6.0f} {r.next_visitor_ms:6.0f} {r.http_bytes / 1e6:7.2f} "
                f"{r.ws_bytes / 1e6:6.2f} "
                f"{r.repeat_load_ms:6.0f} {(r.repeat_http_bytes + r.repeat_ws_bytes) / 1e6:5.2f} "
                f"{click} {settled} {r.change_ws_bytes / 1e3:6.0f} {r.load_average_1min:5.1f}  {verdict}"
                + (f" ({r.note})" if r.note else "")
            )
        lines += [
            "",
            "load: first load, cold cache (ms); next: the next visitor's first load (a new browser, the page "
            "already run once in the server); MB http / MB ws: bytes it received; reload / MB: the same URL "
            "again, cache warm; click: input event to the main figure painted (median of the changes); "
            "settled: to the main area painted; kB ws: websocket payload one change brought; load1: the "
            "machine's 1-minute load average when the page was measured.",
        ]
        return "\n".join(lines)


class Traffic:
    """Bytes a page received, counted from DevTools events on one CDP session."""

    def __init__(self, cdp: Any) -> None:
        self.http = self.ws = self.requests = 0
        cdp.send("Network.enable")
        cdp.on("Network.loadingFinished", self._finished)
        cdp.on("Network.webSocketFrameReceived", self._frame)

    def _finished(self, event: dict[str, Any]) -> None:
        self.http += int(event.get("encodedDataLength", 0))
        self.requests += 1

    def _frame(self, event: dict[str, Any]) -> None:
        frame = event["response"]
        data = frame.get("payloadData", "")
        # Binary frames (opcode 2, all of Streamlit's) come base64-encoded; text frames as text.
        self.ws += len(base64.b64decode(data)) if frame.get("opcode") == 2 else len(data.encode())

    def snapshot(self) -> tuple[int, int, int]:
        return self.http, self.ws, self.requests


def probe(page: Any, name: str) -> Any:
    """A value of the in-page probe (`window.__bench`)."""
    return page.evaluate(f"() => window.__bench.{name}")


def wait_settled(page: Any, title: str, runs_before: int, started_at: float) -> None:
    """Wait until the page asked for has run and its main area has been still for QUIET_MS."""
    page.wait_for_function(
        SETTLED_JS, arg=[title, QUIET_MS, runs_before, started_at, MISSED_RUN_MS], timeout=TIMEOUT_MS,
        polling=100,
    )  # fmt: skip


def load(page: Any, traffic: Traffic, url: str, title: str) -> tuple[float, int, int, int]:
    """Open `url`: ms from navigation start to the main area painted, and HTTP, websocket bytes, requests."""
    before = traffic.snapshot()
    page.goto(url, wait_until="commit", timeout=TIMEOUT_MS)
    wait_settled(page, title, 0, 0.0)
    painted = probe(page, "paintMain")
    after = traffic.snapshot()
    return painted, after[0] - before[0], after[1] - before[1], after[2] - before[2]


def act(page: Any, control: Control, value: object) -> None:
    """Change `control` to `value` the way a person does; the probe stamps the deciding input event."""
    widget = page.locator(f".st-key-{control.key}")
    arm = "() => window.__bench.arm()"
    if control.kind == "int_value":
        box = widget.locator("input")
        box.fill(str(value))
        page.evaluate(arm)
        box.press("Enter")
    elif control.kind == "bool_value":
        page.evaluate(arm)
        widget.locator("label").first.click()
    elif control.kind == "trigger_value":
        page.evaluate(arm)
        widget.locator("button").first.click()
    elif widget.locator("[data-testid=stSelectbox]").count():
        widget.locator("input").click()
        option = page.get_by_role("listbox").get_by_role("option", name=str(value), exact=True)
        option.wait_for(state="visible", timeout=10_000)
        page.evaluate(arm)
        option.click()
    else:  # a radio: its options are labels
        page.evaluate(arm)
        widget.get_by_text(str(value), exact=True).click()


def change(page: Any, traffic: Traffic, control: Control, value: object, title: str) -> dict[str, Any]:
    """One control change: ms from the input event to the figure and to the main area painted."""
    signature, runs = page.evaluate("() => window.__bench.signature()"), probe(page, "runs")
    _, ws_before, _ = traffic.snapshot()
    act(page, control, value)
    started = page.evaluate("() => performance.now()")
    wait_settled(page, title, runs, started)
    state = page.evaluate(
        "() => ({inputAt: window.__bench.inputAt, paintFigure: window.__bench.paintFigure, "
        "paintMain: window.__bench.paintMain, figure: window.__bench.figure, "
        "signature: window.__bench.signature()})"
    )
    input_at = state["inputAt"]
    if input_at is None:
        raise RuntimeError(f"{control.key}: no input event reached the page")
    redrawn = state["signature"] != signature and state["paintFigure"] > input_at
    return {
        "value": value,
        "figure": state["figure"],
        "figure_redrawn": redrawn,
        "click_to_paint_ms": round(state["paintFigure"] - input_at, 1) if redrawn else None,
        "click_to_settled_ms": round(state["paintMain"] - input_at, 1),
        "ws_bytes": traffic.snapshot()[1] - ws_before,
    }


def next_visitor(browser: Any, url: str, title: str) -> float:
    """ms from navigation start to the main area painted, in a new context (empty HTTP cache)."""
    context = browser.new_context(viewport=VIEWPORT)
    try:
        context.add_init_script(PROBE_JS)
        page = context.new_page()
        return load(page, Traffic(context.new_cdp_session(page)), url, title)[0]
    finally:
        context.close()


def measure(browser: Any, base: str, page_name: str, title: str, changes: int) -> Row:
    """One page's row: a cold load, a repeat visit, and `changes` control changes, in a fresh context."""
    control = CONTROLS.get(page_name)
    row = Row(page=page_name, title=title, control=control.key if control else "-",
              load_average_1min=os.getloadavg()[0])  # fmt: skip
    context = browser.new_context(viewport=VIEWPORT)
    try:
        context.add_init_script(PROBE_JS)
        page = context.new_page()
        page.on("pageerror", lambda exc: row.js_errors.append(str(exc)[:200]))
        traffic = Traffic(context.new_cdp_session(page))
        url = f"{base}/{url_name(page_name)}"
        row.first_load_ms, row.http_bytes, row.ws_bytes, row.http_requests = load(page, traffic, url, title)
        row.repeat_load_ms, row.repeat_http_bytes, row.repeat_ws_bytes, _ = load(page, traffic, url, title)
        row.exceptions = page.locator("[data-testid=stException]").count()
        if control is None:
            row.note = "no control chosen for this page in CONTROLS (bench/bench_pages.py)"
        elif page.locator(f".st-key-{control.key}").count() == 0:
            row.note = f"no widget with key {control.key!r} on the page"
        else:
            for i in range(changes):
                row.changes.append(
                    change(page, traffic, control, control.values[i % len(control.values)], title)
                )
            row.exceptions = page.locator("[data-testid=stException]").count()
        row.next_visitor_ms = next_visitor(browser, url, title)
    except Exception as exc:  # a page that fails is a result, not a crash of the benchmark
        row.note = f"{type(exc).__name__}: {str(exc).splitlines()[0]}"[:300]
        row.passed = False
        return row
    finally:
        context.close()
    painted = [c["click_to_paint_ms"] for c in row.changes if c["figure_redrawn"]]
    if row.changes:
        row.figure = row.changes[0]["figure"]
        row.click_to_paint_ms = statistics.median(painted) if painted else 0.0
        row.click_to_settled_ms = statistics.median(c["click_to_settled_ms"] for c in row.changes)
        row.change_ws_bytes = int(statistics.median(c["ws_bytes"] for c in row.changes))
        if not row.figure:
            row.note = "no figure on the page: the change is judged by the main area"
        elif len(painted) < len(row.changes):
            row.note = (
                f"{len(row.changes) - len(painted)} of {len(row.changes)} changes left the main figure "
                f"({row.figure}) as it was"
            )
    if row.exceptions:
        row.note = "; ".join(filter(None, [row.note, f"{row.exceptions} exception(s) on the page"]))
    if row.js_errors:
        row.note = "; ".join(filter(None, [row.note, f"JavaScript error: {row.js_errors[0]}"]))
    problems = bool(row.exceptions or row.js_errors)
    if row.changes:
        timed = row.click_to_paint_ms if painted else row.click_to_settled_ms
        row.passed = row.first_load_ms < GOAL_LOAD_MS and timed < GOAL_CLICK_MS and not problems
    elif problems or row.first_load_ms >= GOAL_LOAD_MS:
        row.passed = False
    # else: no change could be made (the note says why), so no verdict
    return row


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="an app already running (default: start one)")
    parser.add_argument("--changes", type=int, default=3, help="control changes per page (default 3)")
    parser.add_argument("--pages", help=f"comma-separated page names (default all: {HOME} and pages/)")
    parser.add_argument("--chromium", default=CHROMIUM, help=f"the browser (default {CHROMIUM})")
    parser.add_argument(
        "--tcp-nodelay", action="store_true", help="diagnostic: the server without Nagle (see bench_pages)"
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args(argv)
    if args.changes < 1:
        parser.error("--changes must be at least 1")
    if args.url and args.tcp_nodelay:
        parser.error("--tcp-nodelay applies to a server this benchmark starts, not to --url")
    return args


def main(argv: list[str] | None = None) -> Report:
    """Start the server (unless --url), measure every page in Chromium, print the table (or JSON)."""
    from playwright.sync_api import sync_playwright

    args = parse_args(argv)
    pages = app_pages()
    if args.pages:
        unknown = [p for p in args.pages.split(",") if p not in pages]
        if unknown:
            raise SystemExit(f"unknown pages {unknown}; choose from {list(pages)}")
        pages = {p: pages[p] for p in args.pages.split(",")}
    with tempfile.TemporaryDirectory(prefix="cnnviz-bench-browser-") as tmp:
        proc = None
        if args.url:
            base = args.url.rstrip("/")
        else:
            port = free_port()
            base = f"http://127.0.0.1:{port}"
            env = nodelay_env(Path(tmp)) if args.tcp_nodelay else None
            proc = start_server(port, Path(tmp) / "app.log", env=env)
        try:
            load_start, start = list(os.getloadavg()), time.monotonic()
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=args.chromium, args=CHROMIUM_ARGS, headless=True)
                try:
                    rows = [
                        measure(browser, base, page, title, args.changes) for page, title in pages.items()
                    ]
                finally:
                    browser.close()
        finally:
            if proc is not None:
                stop_server(proc)
    report = Report(
        changes_per_page=args.changes, tcp_nodelay=args.tcp_nodelay, goal_click_to_paint_ms=GOAL_CLICK_MS,
        goal_first_load_ms=GOAL_LOAD_MS, cpu_count=os.cpu_count() or 1, load_average_start=load_start,
        load_average_end=list(os.getloadavg()), seconds=time.monotonic() - start, rows=rows,
    )  # fmt: skip
    print(json.dumps(asdict(report), indent=2) if args.json else report.text(), flush=True)
    return report


if __name__ == "__main__":
    main()
