"""Load test: many concurrent sessions on the app's own websocket protocol, with one training run active.

Each session is a client the way a browser tab is one: it opens `/_stcore/stream`, asks for a page
(BackMsg `rerun_script`), then changes one control of that page again and again (a widget state in a new
`rerun_script`), each time timing the wait for the run's `script_finished`. One more session presses
Start on the live-training page, keeps its live view polling like a browser does, and starts again when
the run ends. The server's memory is read from /proc before the sessions connect and after they ran.

    python bench/load_test.py                        # starts its own server: 30 sessions for 60 s
    python bench/load_test.py --url http://127.0.0.1:8501 --sessions 30 --duration 60 --json
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from websockets.asyncio.client import ClientConnection, connect

ROOT = Path(__file__).resolve().parents[1]
RECV_TIMEOUT = 60.0  # a single run that takes longer counts as an error

# Per page: the integer control a session keeps changing, and the values it cycles through.
PAGE_ACTIONS: dict[str, tuple[str, tuple[int, ...]]] = {
    "Convolution_explorer": ("cx_in_h", (6, 8, 7, 9)),
    "Pooling": ("pl_height", (5, 7, 6, 8)),
    "Convolution_1D": ("c1_stride", (2, 3, 1)),
    "Image_kernels": ("ik_stride", (2, 3, 1)),
    "Channels_and_groups": ("ch_cin", (2, 3, 4)),
    "Transposed_convolution": ("tc_s", (1, 3, 2)),
    "Network_builder": ("nb_batch", (2, 4, 8, 1)),
}
TRAINING_PAGE = "Live_training"


@dataclass
class Report:
    """What one load test measured."""

    sessions: int
    duration_s: float
    pages: list[str]
    training_active: bool
    training_runs_started: int
    interactions: int
    errors: int
    page_exceptions: int
    latency_p50_ms: float
    latency_p95_ms: float
    latency_p99_ms: float
    latency_max_ms: float
    first_load_p50_ms: float
    first_load_p95_ms: float
    server_rss_before_mb: float
    server_rss_after_mb: float
    rss_per_session_mb: float
    server_cpu_percent: float
    server_cpu_ms_per_interaction: float
    client_cpu_percent: float
    page_p50_ms: dict[str, float] = field(default_factory=dict)
    error_samples: list[str] = field(default_factory=list)

    def text(self) -> str:
        """The report as a few readable lines."""
        return "\n".join([
            f"sessions: {self.sessions} over {self.duration_s:.0f} s on {', '.join(self.pages)}",
            f"training run active: {self.training_active} ({self.training_runs_started} runs started)",
            f"interactions: {self.interactions}, errors: {self.errors}, exceptions on pages: {self.page_exceptions}",
            f"interaction latency: p50 {self.latency_p50_ms:.0f} ms, p95 {self.latency_p95_ms:.0f} ms, "
            f"p99 {self.latency_p99_ms:.0f} ms, max {self.latency_max_ms:.0f} ms",
            f"first page load: p50 {self.first_load_p50_ms:.0f} ms, p95 {self.first_load_p95_ms:.0f} ms",
            f"server memory: {self.server_rss_before_mb:.0f} MB before, {self.server_rss_after_mb:.0f} MB after, "
            f"{self.rss_per_session_mb:.1f} MB per session",
            f"server CPU: {self.server_cpu_percent:.0f}% of one core, "
            f"{self.server_cpu_ms_per_interaction:.0f} ms per interaction (page loads and training included); "
            f"this load test's own CPU: {self.client_cpu_percent:.0f}% of one core",
            "p50 by page: " + ", ".join(f"{p} {v:.0f} ms" for p, v in self.page_p50_ms.items()),
        ])  # fmt: skip


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100) by linear interpolation; 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def rss_mb(pid: int) -> float:
    """Resident memory of a process in MB (Linux /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def server_pid(port: int) -> int:
    """The process listening on a loopback TCP port (Linux /proc)."""
    hex_port = f"{port:04X}"
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            parts = line.split()
            if parts[1].endswith(f":{hex_port}") and parts[3] == "0A":  # LISTEN
                inodes.add(parts[9])
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            for fd in (proc / "fd").iterdir():
                target = os.readlink(fd)
                if target.startswith("socket:[") and target[8:-1] in inodes:
                    return int(proc.name)
        except OSError:
            continue
    raise RuntimeError(f"no process listens on port {port}")


class Session:
    """One client of the app's websocket, as a browser tab would be."""

    def __init__(self, ws: ClientConnection, page: str) -> None:
        self.ws, self.page = ws, page
        self.widget_ids: dict[str, str] = {}  # user key -> widget id
        self.page_script_hash = ""
        self.exceptions = 0
        self.auto_rerun: tuple[float, str] | None = None  # (interval s, fragment id) a live view asked for

    async def run(self, states: list[tuple[str, str, object]] = (), fragment_id: str = "") -> float:
        """Ask for a run with these widget states (key, kind, value); seconds until it finished."""
        msg = BackMsg()
        rerun = msg.rerun_script
        rerun.page_name = self.page
        rerun.page_script_hash = self.page_script_hash
        if fragment_id:
            rerun.fragment_id = fragment_id
            rerun.is_auto_rerun = True
        for key, kind, value in states:
            state = rerun.widget_states.widgets.add()
            state.id = self.widget_ids[key]
            setattr(state, kind, value)
        start = time.perf_counter()
        await self.ws.send(msg.SerializeToString())
        while True:
            raw = await asyncio.wait_for(self.ws.recv(), RECV_TIMEOUT)
            forward = ForwardMsg()
            forward.ParseFromString(raw)
            kind = forward.WhichOneof("type")
            if kind == "new_session":
                self.page_script_hash = forward.new_session.page_script_hash
            elif kind == "delta" and forward.delta.WhichOneof("type") == "new_element":
                self._note_element(forward.delta.new_element)
            elif kind == "auto_rerun":
                self.auto_rerun = (forward.auto_rerun.interval, forward.auto_rerun.fragment_id)
            elif kind == "script_finished":
                status = forward.script_finished
                if status in (ForwardMsg.FINISHED_SUCCESSFULLY, ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY):
                    return time.perf_counter() - start
                if status == ForwardMsg.FINISHED_WITH_COMPILE_ERROR:
                    raise RuntimeError(f"{self.page}: script did not compile")

    def _note_element(self, element: object) -> None:
        """Remember widget ids by key; count exceptions shown on the page."""
        which = element.WhichOneof("type")
        if which == "exception":
            self.exceptions += 1
            return
        widget_id = getattr(getattr(element, which), "id", "")
        if isinstance(widget_id, str) and widget_id.startswith("$$ID-"):
            self.widget_ids[widget_id.split("-", 2)[2]] = widget_id


@dataclass
class Tally:
    """Measurements shared by all sessions."""

    latencies: list[float] = field(default_factory=list)
    by_page: dict[str, list[float]] = field(default_factory=dict)
    first_loads: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    exceptions: int = 0
    loaded: int = 0
    training_runs: int = 0


async def open_session(base: str, page: str) -> tuple[Session, float]:
    """Connect and load `page`; the session and the seconds the first load took."""
    ws_url = base.replace("http", "ws", 1) + "/_stcore/stream"
    ws = await connect(ws_url, subprotocols=["streamlit"], origin=base, max_size=None, open_timeout=30)
    session = Session(ws, page)
    return session, await session.run()


async def student(base: str, page: str, deadline: float, think: float, tally: Tally, seed: int) -> None:
    """Load a page, then change its control every `think` seconds (on average) until the deadline."""
    rng = random.Random(seed)
    key, values = PAGE_ACTIONS[page]
    session = None
    try:
        session, first = await open_session(base, page)
        tally.first_loads.append(first)
        tally.loaded += 1
        if key not in session.widget_ids:
            raise RuntimeError(f"{page}: no widget with key {key}")
        for value in itertools.cycle(values):
            await asyncio.sleep(think * rng.uniform(0.5, 1.5))
            if time.monotonic() >= deadline:
                break
            took = await session.run([(key, "int_value", value)])
            tally.latencies.append(took)
            tally.by_page.setdefault(page, []).append(took)
    except Exception as exc:  # a failed session is a result, not a crash of the load test
        tally.errors.append(f"{page}: {type(exc).__name__}: {exc}"[:300])
    finally:
        if session is not None:
            tally.exceptions += session.exceptions
            await session.ws.close()


async def trainer(base: str, deadline: float, tally: Tally, started: asyncio.Event) -> None:
    """Keep one training run going on the live-training page, polling its live view like a browser."""
    session = None
    try:
        session, _ = await open_session(base, TRAINING_PAGE)
        states = [("lt_epochs", "int_value", 200), ("lt_start", "trigger_value", True)]
        await session.run(states)
        tally.training_runs += 1
        started.set()
        restarted = time.monotonic()
        while time.monotonic() < deadline:
            interval, fragment = session.auto_rerun or (1.0, "")
            await asyncio.sleep(max(0.25, interval))
            if fragment:
                await session.run(fragment_id=fragment)
            if time.monotonic() - restarted > 20:  # a run may end (epochs done): start another
                await session.run([("lt_start", "trigger_value", True)])
                tally.training_runs += 1
                restarted = time.monotonic()
    except Exception as exc:
        tally.errors.append(f"training: {type(exc).__name__}: {exc}"[:300])
    finally:
        started.set()
        if session is not None:
            tally.exceptions += session.exceptions
            await session.ws.close()


async def load_test(base: str, pid: int, sessions: int, duration: float, think: float, train: bool,
                    pages: list[str]) -> Report:  # fmt: skip
    """Warm every page up, then run `sessions` students (and a trainer) for `duration` seconds."""
    tally = Tally()
    for page in pages:  # imports and caches warm: the baseline is the app, not its first load
        session, _ = await open_session(base, page)
        await session.ws.close()
    # The training run starts first, so its memory (torch, data) is in the baseline, not in the students'.
    started = asyncio.Event()
    deadline = time.monotonic() + duration + 5
    tasks = [asyncio.create_task(trainer(base, deadline, tally, started))] if train else []
    if train:
        await asyncio.wait_for(started.wait(), timeout=RECV_TIMEOUT)
    await asyncio.sleep(1.0)
    rss_before = rss_mb(pid)
    cpu_before, wall_before, client_before = cpu_seconds(pid), time.monotonic(), time.process_time()
    deadline = time.monotonic() + duration
    for i in range(sessions):
        page = pages[i % len(pages)]
        tasks.append(asyncio.create_task(student(base, page, deadline, think, tally, seed=i)))
        await asyncio.sleep(min(0.1, duration / max(1, sessions) / 4))  # a class does not click at once
    # Memory while every session is still connected, shortly before the end.
    await asyncio.sleep(max(0.0, deadline - time.monotonic() - min(2.0, duration / 4)))
    rss_after = rss_mb(pid)
    await asyncio.wait_for(asyncio.gather(*tasks), timeout=duration + RECV_TIMEOUT + 30)
    cpu_used, wall = cpu_seconds(pid) - cpu_before, max(1e-9, time.monotonic() - wall_before)
    cpu_share = cpu_used / wall * 100
    client_share = (time.process_time() - client_before) / wall * 100
    ms = [x * 1000 for x in tally.latencies]
    loads = [x * 1000 for x in tally.first_loads]
    return Report(
        sessions=sessions, duration_s=duration, pages=pages, training_active=train and tally.training_runs > 0,
        training_runs_started=tally.training_runs, interactions=len(ms), errors=len(tally.errors),
        page_exceptions=tally.exceptions,
        latency_p50_ms=percentile(ms, 50), latency_p95_ms=percentile(ms, 95), latency_p99_ms=percentile(ms, 99),
        latency_max_ms=max(ms, default=0.0),
        first_load_p50_ms=percentile(loads, 50), first_load_p95_ms=percentile(loads, 95),
        server_rss_before_mb=rss_before, server_rss_after_mb=rss_after,
        rss_per_session_mb=(rss_after - rss_before) / max(1, tally.loaded),
        server_cpu_percent=cpu_share, server_cpu_ms_per_interaction=cpu_used * 1000 / max(1, len(ms)),
        client_cpu_percent=client_share, error_samples=tally.errors[:5],
        page_p50_ms={p: percentile([x * 1000 for x in v], 50) for p, v in tally.by_page.items()},
    )  # fmt: skip


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(port: int, log: Path) -> subprocess.Popen[bytes]:
    """`streamlit run app.py` on a loopback port, healthy or an exception."""
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.address", "127.0.0.1",
             "--server.port", str(port), "--server.headless", "true", "--server.fileWatcherType", "none",
             "--browser.gatherUsageStats", "false"],
            cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited; see {log}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as response:
                if response.read().strip() == b"ok":
                    return proc
        except OSError:
            time.sleep(0.25)
    stop_server(proc)
    raise RuntimeError("the server did not become healthy in 120 s")


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the server's process group, SIGKILL if it lingers."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="an app already running (default: start one on a free port)")
    parser.add_argument("--sessions", type=int, default=30, help="concurrent sessions (1-200, default 30)")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load (1-900, default 60)")
    parser.add_argument("--think", type=float, default=2.0, help="mean seconds between a session's clicks")
    parser.add_argument("--no-training", action="store_true", help="no training run during the test")
    parser.add_argument("--pages", default=",".join(PAGE_ACTIONS), help="comma-separated page URL names")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args(argv)
    if not 1 <= args.sessions <= 200 or not 1 <= args.duration <= 900 or args.think <= 0:
        parser.error("sessions must be 1-200, duration 1-900 s, think > 0")
    unknown = [p for p in args.pages.split(",") if p not in PAGE_ACTIONS]
    if unknown:
        parser.error(f"unknown pages {unknown}; choose from {list(PAGE_ACTIONS)}")
    return args


def main(argv: list[str] | None = None) -> Report:
    args = parse_args(argv)
    proc = None
    if args.url:
        base = args.url.rstrip("/")
        port = int(base.rsplit(":", 1)[1])
    else:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        proc = start_server(port, Path(os.environ.get("TMPDIR", "/tmp")) / f"cnnviz-load-{port}.log")
    try:
        pid = proc.pid if proc is not None else server_pid(port)
        report = asyncio.run(load_test(base, pid, args.sessions, args.duration, args.think,
                                       not args.no_training, args.pages.split(",")))  # fmt: skip
    finally:
        if proc is not None:
            stop_server(proc)
    print(json.dumps(asdict(report), indent=2) if args.json else report.text(), flush=True)
    return report


if __name__ == "__main__":
    main()
