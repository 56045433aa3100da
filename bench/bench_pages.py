"""Server time of every page's control change and first load, next to a bare one-widget app in the same run.

Two servers start under the repository's .streamlit/config.toml: `streamlit run app.py` and a bare app (a
title and one number box). For every page (Home and each file in pages/) the benchmark changes one
representative control (`CONTROLS` below: a change that makes the page do its real work) N times, cycling
its values, over the app's own websocket protocol (the `Session` of bench/load_test.py: each full run's
reply is checked to be the page asked for, by its hash and title). Each page change is followed by a change
of the bare app's number box, so both feel the same machine at the same moment; each comes after --think
seconds of quiet, as between a person's clicks (back to back, Streamlit's sockets add a ~40 ms TCP stall
to most runs: see NODELAY_SITECUSTOMIZE and --tcp-nodelay). A change is timed from sending the BackMsg to
the run's `script_finished`; a control drawn inside a fragment reruns only that fragment, as in a browser.
"Above floor" is the page's median minus the bare app's median: the page's own work. First load is a new
session: GET the page's URL, open the websocket, first run to `script_finished` (median of --loads, after
every page was loaded once; that cold first load is shown too, in page order, so the first page also pays
the app's imports). CPU is the server process's CPU time per change (from /proc), which a busy machine
inflates less than wall time.

    python bench/bench_pages.py                     # every page, 20 changes each
    python bench/bench_pages.py --pages Home,Pooling -n 5 --json
    python bench/bench_pages.py --tcp-nodelay        # diagnostic: both servers without Nagle's algorithm
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `python bench/bench_pages.py` from anywhere

from bench.load_test import (  # noqa: E402
    ROOT,
    Session,
    cpu_seconds,
    free_port,
    header_title,
    open_session,
    page_titles,
    percentile,
    start_server,
    stop_server,
)

GOAL_MS = 50.0  # a control change may take this much server time above the bare app's
# Quiet before each change. Back-to-back changes (no pause) meet Nagle's algorithm on Streamlit's sockets
# (see NODELAY_SITECUSTOMIZE) on almost every run; a person pauses between clicks, and after a pause longer
# than the client's delayed-ACK timer (40 ms on Linux) a run starts on a quiet connection.
THINK_S = 0.2
HOME = "Home"  # the table's name for app.py (its URL name is "")


@dataclass(frozen=True)
class Control:
    """The widget a benchmark changes on a page: its key, the BackMsg value field, the values it cycles."""

    key: str
    kind: str  # "int_value", "bool_value", "string_value" (an option's label) or "trigger_value"
    values: tuple[object, ...]
    why: str


# Per page (URL name): the control whose change makes the page do its real work. Values leave out the
# page's default where they can, so the first round asks for results the page has not drawn yet.
CONTROLS: dict[str, Control] = {
    HOME: Control(
        "present", "bool_value", (True, False),
        "Presentation mode, the only control on Home: it restyles the page and its links",
    ),
    "Convolution_explorer": Control(
        "cx_in_h", "int_value", (8, 6, 9, 5),
        "input height: a new input, so the animation, the one-cell sum and the matrix are all recomputed",
    ),
    "Convolution_1D": Control(
        "c1_stride", "int_value", (2, 3, 4),
        "stride: a new output length, so the signals, the animation and the matrix are redrawn",
    ),
    "Convolution_quiz": Control(
        "qz_new", "trigger_value", (True,),
        "New question: draws a new random convolution and its figure (the number boxes sit in a form)",
    ),
    "Image_kernels": Control(
        "ik_kernel", "string_value", ("sharpen", "laplacian", "sobel y", "emboss"),
        "kernel: the photo is filtered again and the result, histogram and pixel panels redrawn",
    ),
    "Pooling": Control(
        "pl_kernel", "int_value", (3, 4, 5),
        "kernel size (stride follows it by default): the pooled map and its animation are recomputed",
    ),
    "Network_builder": Control(
        "nb_preset", "string_value", ("WideConvNet", "DeepConvNet", "CIFAR-10 MLP"),
        "preset network: every layer's shape, the receptive fields, the growth and parameter charts",
    ),
    "Live_training": Control(
        "lt_dataset", "string_value", ("MNIST-1D", "Shapes", "8x8 digits"),
        "data set: loads its recipe and redraws the settings (training itself runs off the page)",
    ),
    "Channels_and_groups": Control(
        "ch_cin", "int_value", (2, 3, 6),
        "C_in: a new input stack, so the wiring, the weights and every output channel are recomputed",
    ),
    "Transposed_convolution": Control(
        "tc_s", "int_value", (3, 1),
        "stride: a new output size, so the scatter animation, the gaps view and the matrix are redrawn",
    ),
}  # fmt: skip

BARE_SCRIPT = """import streamlit as st

st.title("Bare")
st.number_input("A number", value=0, step=1, key="n")
"""
BARE_TITLE = "Bare"

# Streamlit 1.67 serves through uvicorn on a socket it binds itself, with `proto` 0, so asyncio leaves
# Nagle's algorithm on for every connection (uvicorn#3149): after a run's first small messages the rest
# wait for the client's delayed ACK, ~40 ms on Linux, in a browser as here. With --tcp-nodelay both servers
# start with this sitecustomize, which turns Nagle off on every accepted TCP socket, to show what the
# pages cost without that stall. A diagnostic: the app as deployed runs without it.
NODELAY_SITECUSTOMIZE = """import socket

_accept = socket.socket.accept


def _accept_without_nagle(self):
    conn, address = _accept(self)
    if conn.family in (socket.AF_INET, socket.AF_INET6) and conn.type == socket.SOCK_STREAM:
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return conn, address


socket.socket.accept = _accept_without_nagle
"""
BARE_CONTROL = Control("n", "int_value", (1, 2, 3, 4), "the bare app's only widget")


def nodelay_env(folder: Path) -> dict[str, str]:
    """The environment of a server whose TCP connections run without Nagle (NODELAY_SITECUSTOMIZE)."""
    (folder / "sitecustomize.py").write_text(NODELAY_SITECUSTOMIZE, encoding="utf-8")
    paths = [str(folder), *filter(None, [os.environ.get("PYTHONPATH")])]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}


@dataclass
class Row:
    """One page's figures (milliseconds); `note` says what could not be measured, and why."""

    page: str
    title: str
    control: str
    changes: int = 0
    fragment_run: bool = False  # the control lives in a fragment: only that fragment reran
    change_p50_ms: float = 0.0
    change_p90_ms: float = 0.0
    new_value_p50_ms: float = 0.0  # changes to a value this run had not asked the page for before
    bare_p50_ms: float = 0.0
    bare_p90_ms: float = 0.0
    above_floor_ms: float = 0.0
    cpu_ms_per_change: float = 0.0
    bare_cpu_ms_per_change: float = 0.0
    first_load_ms: float = 0.0
    bare_first_load_ms: float = 0.0
    cold_load_ms: float = 0.0
    exceptions: int = 0
    passed: bool | None = None  # None: not measured
    note: str = ""
    samples_ms: list[float] = field(default_factory=list)
    bare_samples_ms: list[float] = field(default_factory=list)


@dataclass
class Report:
    """Every page's row, and the conditions of the run."""

    changes_per_page: int
    loads_per_page: int
    think_s: float
    tcp_nodelay: bool
    goal_above_floor_ms: float
    cpu_count: int
    load_average_start: list[float]
    load_average_end: list[float]
    seconds: float
    rows: list[Row]

    def text(self) -> str:
        """The report as a table."""
        head = (
            f"Control change: server round trip over the websocket, median of {self.changes_per_page} "
            f"(p90), next to a bare one-widget app in the same run; goal: under {self.goal_above_floor_ms:g} "
            f"ms above the bare floor; {self.think_s:g} s of quiet before each change.\n"
            f"First load: new session to script_finished, median of {self.loads_per_page}; cold: the "
            "server's first visit of that page (in this order).\n"
            f"Load average {fmt_load(self.load_average_start)} at the start, {fmt_load(self.load_average_end)} "
            f"at the end, {self.cpu_count} cores; {self.seconds:.0f} s.\n"
            + (
                "Diagnostic run: both servers with TCP_NODELAY (no ~40 ms Nagle / delayed-ACK stall)."
                if self.tcp_nodelay
                else "As deployed: Nagle is on for Streamlit's sockets, so first loads (and changes made "
                "back to back) include a ~40 ms TCP stall (see --tcp-nodelay)."
            )
        )
        columns = (
            f"{'page':23} {'control':11} {'change':>6} {'p90':>6} {'new':>6} {'bare':>5} {'above':>6} "
            f"{'cpu':>5} {'b.cpu':>5} {'load':>6} {'bare':>5} {'cold':>6}  result"
        )
        lines = [head, "", columns, "-" * len(columns)]
        for r in self.rows:
            if r.passed is None:
                lines.append(f"{r.page:23} {r.control:11} not measured: {r.note}")
                continue
            verdict = "pass" if r.passed else "FAIL"
            extra = [*(["fragment run"] if r.fragment_run else []), *([r.note] if r.note else [])]
            lines.append(
                f"{r.page:23} {r.control:11} {r.change_p50_ms:6.0f} {r.change_p90_ms:6.0f} "
                f"{r.new_value_p50_ms:6.0f} {r.bare_p50_ms:5.0f} {r.above_floor_ms:+6.0f} "
                f"{r.cpu_ms_per_change:5.0f} {r.bare_cpu_ms_per_change:5.0f} {r.first_load_ms:6.0f} "
                f"{r.bare_first_load_ms:5.0f} {r.cold_load_ms:6.0f}  {verdict}"
                + (f" ({'; '.join(extra)})" if extra else "")
            )
        lines += [
            "",
            "ms throughout. change/p90: the page's control change; new: median of the changes to values not "
            "asked for before in this run; bare: the bare app's change, measured between the page's; above: "
            "change - bare (medians); cpu / b.cpu: server CPU per change, page / bare; load / bare: first "
            "load of a new session; cold: first load on a fresh server.",
        ]
        return "\n".join(lines)


def fmt_load(load: list[float]) -> str:
    return "/".join(f"{x:.1f}" for x in load)


def app_pages() -> dict[str, str]:
    """Every page of the app in sidebar order: table name -> title (Home first)."""
    return {HOME: header_title(ROOT / "app.py") or "", **page_titles()}


def url_name(page: str) -> str:
    """The page's name in `rerun_script.page_name` ("" for Home)."""
    return "" if page == HOME else page


async def timed_open(base: str, page: str, title: str) -> tuple[Session, float]:
    """A new session on `page`: seconds from the page's GET to the first run's `script_finished`."""
    start = time.perf_counter()
    session, _ = await open_session(base, page, title)
    return session, time.perf_counter() - start


def problem(session: Session, control: Control) -> str:
    """Why `control` cannot be changed on this session's page, or "" when it can."""
    if control.key not in session.widget_ids:
        keys = ", ".join(sorted(k for k in session.widget_ids if k != "None"))
        return f"no widget with key {control.key!r} (the page has: {keys})"
    options = session.options.get(control.key)
    if control.kind == "string_value" and options is not None:
        missing = [v for v in control.values if v not in options]
        if missing:
            return f"{control.key} has no option {missing} (it has: {options})"
    return ""


async def change(session: Session, control: Control, value: object) -> float:
    """Set `control` to `value` as a browser would (its fragment only, if it lives in one); seconds."""
    fragment = session.widget_fragments.get(control.key, "")
    return await session.run([(control.key, control.kind, value)], fragment_id=fragment, auto_rerun=False)


@dataclass(frozen=True)
class Server:
    """A running app: its URL and its process (for CPU time)."""

    base: str
    pid: int


@dataclass(frozen=True)
class Plan:
    """How much to measure: changes and first loads per page, and the pause before each change."""

    changes: int
    loads: int
    think: float


async def measure(app: Server, bare_app: Server, page: str, title: str, plan: Plan, cold_ms: float) -> Row:
    """One page's row: first loads and control changes, each next to the bare app's."""
    control = CONTROLS.get(page)
    row = Row(page=page, title=title, control=control.key if control else "-", cold_load_ms=cold_ms)
    if control is None:
        row.note = f"no control chosen for this page in CONTROLS ({Path(__file__).name})"
        return row
    sessions: list[Session] = []
    try:
        page_loads, bare_loads = [], []
        for _ in range(plan.loads):
            session, took = await timed_open(app.base, url_name(page), title)
            sessions.append(session)
            page_loads.append(took * 1000)
            bare, took = await timed_open(bare_app.base, "", BARE_TITLE)
            sessions.append(bare)
            bare_loads.append(took * 1000)
        row.first_load_ms, row.bare_first_load_ms = percentile(page_loads, 50), percentile(bare_loads, 50)
        row.note = problem(session, control)
        if row.note:
            return row
        row.fragment_run = bool(session.widget_fragments.get(control.key))
        seen: set[object] = set()
        new_values: list[float] = []
        page_cpu = bare_cpu = 0.0
        for i in range(plan.changes):
            value = control.values[i % len(control.values)]
            await asyncio.sleep(plan.think)
            before = cpu_seconds(app.pid)
            took = await change(session, control, value) * 1000
            page_cpu += cpu_seconds(app.pid) - before
            row.samples_ms.append(took)
            if control.kind == "trigger_value" or value not in seen:
                new_values.append(took)
            seen.add(value)
            await asyncio.sleep(plan.think)
            before = cpu_seconds(bare_app.pid)
            took = await change(bare, BARE_CONTROL, BARE_CONTROL.values[i % len(BARE_CONTROL.values)])
            bare_cpu += cpu_seconds(bare_app.pid) - before
            row.bare_samples_ms.append(took * 1000)
        row.changes = n = plan.changes
        row.change_p50_ms, row.change_p90_ms = percentile(row.samples_ms, 50), percentile(row.samples_ms, 90)
        row.new_value_p50_ms = percentile(new_values, 50)
        row.bare_p50_ms = percentile(row.bare_samples_ms, 50)
        row.bare_p90_ms = percentile(row.bare_samples_ms, 90)
        row.above_floor_ms = row.change_p50_ms - row.bare_p50_ms
        row.cpu_ms_per_change, row.bare_cpu_ms_per_change = page_cpu * 1000 / n, bare_cpu * 1000 / n
    except Exception as exc:  # a page that fails is a result, not a crash of the benchmark
        row.note = f"{type(exc).__name__}: {exc}"[:300]
        row.passed = False
        return row
    finally:
        row.exceptions = sum(s.exceptions for s in sessions if s.page == url_name(page))
        for s in sessions:
            await s.ws.close()
    row.passed = row.above_floor_ms < GOAL_MS and row.exceptions == 0
    if row.exceptions:
        row.note = f"{row.exceptions} exception(s) on the page"
    return row


async def bench(app: Server, bare_app: Server, pages: dict[str, str], plan: Plan) -> list[Row]:
    """Cold loads of every page (and the bare app), then each page's row."""
    cold: dict[str, float] = {}
    for page, title in {"": BARE_TITLE, **pages}.items():
        target = bare_app.base if page == "" else app.base
        try:
            session, took = await timed_open(target, url_name(page), title)
            await session.ws.close()
            cold[page] = took * 1000
        except Exception:  # measured again (and reported) in its row
            cold[page] = 0.0
    return [await measure(app, bare_app, page, title, plan, cold[page]) for page, title in pages.items()]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--changes", type=int, default=20, help="control changes per page (default 20)")
    parser.add_argument("--loads", type=int, default=3, help="first loads per page (default 3)")
    parser.add_argument(
        "--think", type=float, default=THINK_S,
        help=f"seconds of quiet before each change, as between a person's clicks (default {THINK_S:g})",
    )  # fmt: skip
    parser.add_argument("--pages", help=f"comma-separated page names (default all: {HOME} and pages/)")
    parser.add_argument(
        "--tcp-nodelay", action="store_true",
        help="diagnostic: run both servers with Nagle's algorithm off (see NODELAY_SITECUSTOMIZE)",
    )  # fmt: skip
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args(argv)
    if args.changes < 1 or args.loads < 1 or args.think < 0:
        parser.error("--changes and --loads must be at least 1, --think at least 0")
    return args


def main(argv: list[str] | None = None) -> Report:
    """Start both servers, measure, stop them, print the table (or JSON); the report."""
    args = parse_args(argv)
    pages = app_pages()
    if args.pages:
        unknown = [p for p in args.pages.split(",") if p not in pages]
        if unknown:
            raise SystemExit(f"unknown pages {unknown}; choose from {list(pages)}")
        pages = {p: pages[p] for p in args.pages.split(",")}
    with tempfile.TemporaryDirectory(prefix="cnnviz-bench-pages-") as tmp:
        folder = Path(tmp)
        (folder / "bare.py").write_text(BARE_SCRIPT, encoding="utf-8")
        (folder / ".streamlit").mkdir()
        shutil.copy(ROOT / ".streamlit" / "config.toml", folder / ".streamlit" / "config.toml")
        env = nodelay_env(folder) if args.tcp_nodelay else None
        port, bare_port = free_port(), free_port()
        app = start_server(port, folder / "app.log", env=env)
        try:
            bare = start_server(bare_port, folder / "bare.log", script=folder / "bare.py", env=env)
            try:
                load_start, start = list(os.getloadavg()), time.monotonic()
                servers = (
                    Server(f"http://127.0.0.1:{port}", app.pid),
                    Server(f"http://127.0.0.1:{bare_port}", bare.pid),
                )
                rows = asyncio.run(bench(*servers, pages, Plan(args.changes, args.loads, args.think)))
            finally:
                stop_server(bare)
        finally:
            stop_server(app)
    report = Report(
        changes_per_page=args.changes, loads_per_page=args.loads, think_s=args.think, tcp_nodelay=args.tcp_nodelay,
        goal_above_floor_ms=GOAL_MS,
        cpu_count=os.cpu_count() or 1, load_average_start=load_start, load_average_end=list(os.getloadavg()),
        seconds=time.monotonic() - start, rows=rows,
    )  # fmt: skip
    print(json.dumps(asdict(report), indent=2) if args.json else report.text(), flush=True)
    return report


if __name__ == "__main__":
    main()
