"""Load test: many concurrent sessions on the app's own websocket protocol, with one training run active.

Each session is a client the way a browser tab is one: it fetches its page's URL (keeping the cookies a
proxy sets), opens `/_stcore/stream`, asks for its page by name (BackMsg `rerun_script` with `page_name`,
as a browser opening `/Pooling` does), learns the page's script hash from the reply's `navigation`
message, then changes one control of that page again and again (a widget state in a new `rerun_script`
that names the page by that hash), each time timing the wait for the run's `script_finished`. Every full
run's reply is checked: it must be the page asked for (its hash) and show that page's title (the `h1`
its `page_header` call draws); anything else is an error, so the test cannot measure the wrong page.
One more session presses Start on the live-training page, keeps its live view polling like a browser
does, and starts again when the run ends. The server's memory and CPU time are read from /proc before
the sessions connect and after they ran.

    python bench/load_test.py                        # starts its own server: 30 sessions for 60 s
    python bench/load_test.py --url http://127.0.0.1:8501 --sessions 30 --duration 60 --json
    python bench/load_test.py --url http://127.0.0.1:8080 --server-ports 8601,8602   # through nginx
"""

from __future__ import annotations

import argparse
import ast
import asyncio
import contextlib
import itertools
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from websockets.asyncio.client import ClientConnection, connect

_STEPS = re.compile(r"step (\d+) of (\d+)")  # a training run's status line

ROOT = Path(__file__).resolve().parents[1]
RECV_TIMEOUT = 60.0  # a single run that takes longer counts as an error
TRAINING_START_TIMEOUT = 180.0  # seconds for the training run's first step (then the students come)
FRAGMENT_TIMEOUT = 20.0  # a live view's rerun with no answer this long is taken as a fragment gone
BACKEND_COOKIE = "cnnviz_backend"  # the deployment's sticky cookie (deploy/nginx.conf.template)

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


class WrongPageError(RuntimeError):
    """The server answered with another page than the one asked for."""


def header_title(path: Path) -> str | None:
    """The title a script's first `page_header("...")` call shows, or None when it makes no such call."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if (
            isinstance(node, ast.Call)
            and getattr(node.func, "id", getattr(node.func, "attr", None)) == "page_header"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            return node.args[0].value
    return None


def page_titles(pages_dir: Path = ROOT / "pages") -> dict[str, str]:
    """Each page's URL name ("5_Pooling.py" -> "Pooling") and the title its `page_header(...)` call shows."""
    titles = {}
    for path in sorted(pages_dir.glob("*.py")):
        title = header_title(path)
        if title is not None:
            titles[re.sub(r"^\d+[_ -]*", "", path.stem)] = title
    return titles


@dataclass
class Report:
    """What one load test measured."""

    sessions: int
    duration_s: float
    pages: list[str]
    training_active: bool
    training_runs_started: int
    training_progress: float
    interactions: int
    errors: int
    wrong_page_replies: int
    page_exceptions: int
    latency_p50_ms: float
    latency_p95_ms: float
    latency_p99_ms: float
    latency_max_ms: float
    first_load_p50_ms: float
    first_load_p95_ms: float
    server_pids: list[int]
    server_rss_before_mb: float
    server_rss_after_mb: float
    rss_per_session_mb: float
    training_cpu_percent: float
    server_cpu_percent: float
    server_cpu_ms_per_interaction: float
    client_cpu_percent: float
    page_p50_ms: dict[str, float] = field(default_factory=dict)
    page_p95_ms: dict[str, float] = field(default_factory=dict)
    interactions_by_page: dict[str, int] = field(default_factory=dict)
    titles_by_page: dict[str, list[str]] = field(default_factory=dict)
    sessions_by_backend: dict[str, int] = field(default_factory=dict)
    error_samples: list[str] = field(default_factory=list)

    def text(self) -> str:
        """The report as a few readable lines."""
        backends = ", ".join(f"{b}: {n}" for b, n in sorted(self.sessions_by_backend.items()))
        return "\n".join([
            f"sessions: {self.sessions} over {self.duration_s:.0f} s on {', '.join(self.pages)}",
            f"training run active: {self.training_active} ({self.training_runs_started} runs started, "
            f"last run {100 * self.training_progress:.0f}% done)",
            f"interactions: {self.interactions}, errors: {self.errors} ({self.wrong_page_replies} wrong pages), "
            f"exceptions on pages: {self.page_exceptions}",
            f"interaction latency: p50 {self.latency_p50_ms:.0f} ms, p95 {self.latency_p95_ms:.0f} ms, "
            f"p99 {self.latency_p99_ms:.0f} ms, max {self.latency_max_ms:.0f} ms",
            f"first page load: p50 {self.first_load_p50_ms:.0f} ms, p95 {self.first_load_p95_ms:.0f} ms",
            f"server memory: {self.server_rss_before_mb:.0f} MB before, {self.server_rss_after_mb:.0f} MB after, "
            f"{self.rss_per_session_mb:.1f} MB per session",
            f"server CPU: {self.server_cpu_percent:.0f}% of one core, "
            f"{self.server_cpu_ms_per_interaction:.0f} ms per interaction (page loads and training included; "
            f"the training run alone took {self.training_cpu_percent:.0f}% before the sessions came)",
            f"this load test's own CPU: {self.client_cpu_percent:.0f}% of one core",
            "p50 / p95 by page: " + ", ".join(
                f"{p} {v:.0f} / {self.page_p95_ms.get(p, 0):.0f} ms ({self.interactions_by_page.get(p, 0)})"
                for p, v in self.page_p50_ms.items()
            ),
            "titles seen: " + ", ".join(f"{p} {t}" for p, t in self.titles_by_page.items()),
            *([f"sessions by backend: {backends}"] if backends else []),
            *[f"error: {e}" for e in self.error_samples],
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


def page_cookies(base: str, page: str) -> dict[str, str]:
    """GET the page's URL as a browser does first; the cookies the answer sets (a proxy's sticky cookie)."""
    with urllib.request.urlopen(f"{base}/{page}", timeout=30) as response:
        jar = SimpleCookie()
        for header in response.headers.get_all("Set-Cookie") or []:
            jar.load(header)
        return {name: morsel.value for name, morsel in jar.items()}


class Session:
    """One client of the app's websocket, as a browser tab would be."""

    def __init__(self, ws: ClientConnection, page: str, title: str) -> None:
        self.ws, self.page, self.title = ws, page, title
        self.widget_ids: dict[str, str] = {}  # user key -> widget id
        self.widget_fragments: dict[str, str] = {}  # user key -> the fragment that drew it ("" for none)
        self.options: dict[str, list[str]] = {}  # user key -> a select box's or radio's option labels
        self.page_script_hash = ""  # unknown until the first reply names it, as in a browser opening a URL
        self.exceptions = 0
        self.titles: set[str] = set()  # every h1 a full run of this session showed
        self.app_pages: dict[str, str] = {}  # URL name ("" for home) -> script hash, from the server
        self.progress = 0.0  # the run's progress (0-1) as its status line last said, for the training page
        self.auto_rerun: tuple[float, str] | None = None  # (interval s, fragment id) a live view asked for

    async def run(
        self,
        states: list[tuple[str, str, object]] = (),
        fragment_id: str = "",
        timeout: float = RECV_TIMEOUT,
        auto_rerun: bool = True,
    ) -> float:
        """Ask for a run with these widget states (key, kind, value); seconds until it finished.

        With `fragment_id` only that fragment reruns: a live view's timer (`auto_rerun`), or a widget drawn
        inside the fragment (`auto_rerun=False`, as a browser sends it). A full run must answer with this
        session's page (its script hash) and title, else `WrongPageError`.
        """
        msg = BackMsg()
        rerun = msg.rerun_script
        rerun.page_name = self.page
        rerun.page_script_hash = self.page_script_hash
        if fragment_id:
            rerun.fragment_id = fragment_id
            rerun.is_auto_rerun = auto_rerun
        for key, kind, value in states:
            state = rerun.widget_states.widgets.add()
            state.id = self.widget_ids[key]
            setattr(state, kind, value)
        start = time.perf_counter()
        await self.ws.send(msg.SerializeToString())
        ran_hash, pages, headings = "", {}, []
        while True:
            raw = await asyncio.wait_for(self.ws.recv(), timeout)
            forward = ForwardMsg()
            forward.ParseFromString(raw)
            kind = forward.WhichOneof("type")
            if kind == "new_session" and not fragment_id:
                self.auto_rerun = None  # a full run announces its live views again, as a browser expects
            elif kind == "navigation":  # the page the server resolved, and every page's hash
                ran_hash = forward.navigation.page_script_hash
                pages = {p.url_pathname: p.page_script_hash for p in forward.navigation.app_pages}
            elif kind == "delta" and forward.delta.WhichOneof("type") == "new_element":
                heading = self._note_element(forward.delta.new_element, forward.delta.fragment_id)
                if heading is not None:
                    headings.append(heading)
            elif kind == "auto_rerun":
                self.auto_rerun = (forward.auto_rerun.interval, forward.auto_rerun.fragment_id)
            elif kind == "script_finished":
                status = forward.script_finished
                if status == ForwardMsg.FINISHED_SUCCESSFULLY:
                    took = time.perf_counter() - start
                    self._check_page(ran_hash, pages, headings)
                    return took
                if status == ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY:
                    return time.perf_counter() - start
                if status == ForwardMsg.FINISHED_WITH_COMPILE_ERROR:
                    raise RuntimeError(f"{self.page}: script did not compile")

    def _check_page(self, ran_hash: str, pages: dict[str, str], headings: list[str]) -> None:
        """Raise `WrongPageError` unless the run was this session's page and drew its title; keep its hash."""
        self.titles.update(headings)
        self.app_pages = pages or self.app_pages
        one_script_app = not pages and not ran_hash and self.page == ""  # it sends no page list: one page
        wanted = "" if one_script_app else pages.get(self.page)
        if wanted is None:
            raise WrongPageError(f"{self.page}: the server lists no such page (it has {sorted(pages)})")
        if ran_hash != wanted:
            ran = next((name or "home" for name, h in pages.items() if h == ran_hash), ran_hash or "nothing")
            raise WrongPageError(f"{self.page}: asked for this page, the server ran {ran}")
        if self.title not in headings:
            raise WrongPageError(
                f"{self.page}: expected the title {self.title!r}, the reply showed {headings}"
            )
        self.page_script_hash = ran_hash

    def _note_element(self, element: object, fragment_id: str = "") -> str | None:
        """Remember widget ids (and fragments) by key and the run's progress; count exceptions; return an h1."""
        which = element.WhichOneof("type")
        if which == "exception":
            self.exceptions += 1
            return None
        if which == "heading" and element.heading.tag == "h1":
            return element.heading.body
        if which == "markdown" and (steps := _STEPS.search(element.markdown.body)):
            # The status line's "step 12 of 9000", finer than the progress bar's whole percents (a long
            # run's first steps show 0 % there).
            self.progress = int(steps[1]) / max(1, int(steps[2]))
        widget_id = getattr(getattr(element, which), "id", "")
        if isinstance(widget_id, str) and widget_id.startswith("$$ID-"):
            key = widget_id.split("-", 2)[2]
            self.widget_ids[key] = widget_id
            self.widget_fragments[key] = fragment_id
            if which in ("selectbox", "radio"):
                self.options[key] = list(getattr(element, which).options)
        return None


@dataclass
class Tally:
    """Measurements shared by all sessions."""

    latencies: list[float] = field(default_factory=list)
    by_page: dict[str, list[float]] = field(default_factory=dict)
    first_loads: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    wrong_pages: int = 0
    exceptions: int = 0
    loaded: int = 0
    training_runs: int = 0
    training_progress: float = 0.0
    titles: dict[str, set[str]] = field(default_factory=dict)
    backends: Counter[str] = field(default_factory=Counter)

    def failed(self, what: str, exc: Exception) -> None:
        """Record a failed session (a result, not a crash of the load test)."""
        self.wrong_pages += isinstance(exc, WrongPageError)
        self.errors.append(f"{what}: {type(exc).__name__}: {exc}"[:300])

    def closed(self, session: Session) -> None:
        """Add what a finished session saw."""
        self.exceptions += session.exceptions
        self.titles.setdefault(session.page, set()).update(session.titles)


async def open_session(base: str, page: str, title: str, tally: Tally | None = None) -> tuple[Session, float]:
    """Fetch the page's URL, connect with its cookies, and load `page`; the session and its first load's s."""
    cookies = await asyncio.to_thread(page_cookies, base, page)
    if tally is not None and BACKEND_COOKIE in cookies:
        tally.backends[cookies[BACKEND_COOKIE]] += 1
    headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())} if cookies else None
    ws_url = base.replace("http", "ws", 1) + "/_stcore/stream"
    ws = await connect(ws_url, subprotocols=["streamlit"], origin=base, max_size=None, open_timeout=30,
                       additional_headers=headers)  # fmt: skip
    session = Session(ws, page, title)
    try:
        return session, await session.run()
    except BaseException:
        await ws.close()
        raise


async def student(base: str, page: str, title: str, deadline: float, think: float, tally: Tally,
                  seed: int) -> None:  # fmt: skip
    """Load a page, then change its control every `think` seconds (on average) until the deadline."""
    rng = random.Random(seed)
    key, values = PAGE_ACTIONS[page]
    session = None
    try:
        session, first = await open_session(base, page, title, tally)
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
    except Exception as exc:
        tally.failed(page, exc)
    finally:
        if session is not None:
            tally.closed(session)
            await session.ws.close()


async def trainer(base: str, title: str, stop: asyncio.Event, tally: Tally, started: asyncio.Event) -> None:
    """Keep one training run going on the live-training page, polling its live view like a browser, until
    `stop` is set. `started` is set once the run has taken a step (a server's first run loads torch and
    the data first: seconds on a busy machine), or when the trainer gives up."""
    session = None
    try:
        session, _ = await open_session(base, TRAINING_PAGE, title)
        states = [("lt_epochs", "int_value", 200), ("lt_start", "trigger_value", True)]
        await session.run(states)
        tally.training_runs += 1
        restarted = time.monotonic()
        while not stop.is_set():
            interval, fragment = session.auto_rerun or (1.0, "")
            await asyncio.sleep(max(0.25, interval))
            if fragment:
                try:
                    await session.run(fragment_id=fragment, timeout=FRAGMENT_TIMEOUT)
                except TimeoutError:
                    # The server ignores a rerun of a fragment that a full run has just removed (the
                    # live view of a finished run); a full run redraws the page and says what is live.
                    await session.run()
            tally.training_progress = session.progress
            if session.progress > 0:
                started.set()
            if (
                time.monotonic() - restarted > 20 and started.is_set()
            ):  # a run may end (epochs done): start another
                await session.run([("lt_start", "trigger_value", True)])
                tally.training_runs += 1
                restarted = time.monotonic()
    except Exception as exc:
        tally.failed("training", exc)
    finally:
        started.set()
        if session is not None:
            tally.closed(session)
            await session.ws.close()


def total(measure: Callable[[int], float], pids: list[int]) -> float:
    """A /proc measure (rss_mb, cpu_seconds) summed over the server processes."""
    return sum(measure(pid) for pid in pids)


async def load_test(base: str, pids: list[int], sessions: int, duration: float, think: float, train: bool,
                    pages: list[str]) -> Report:  # fmt: skip
    """Warm every page up, then run `sessions` students (and a trainer) for `duration` seconds."""
    titles = page_titles()
    missing = [p for p in [*pages, *([TRAINING_PAGE] if train else [])] if p not in titles]
    if missing:
        raise RuntimeError(f"no page_header title found for {missing} in {ROOT / 'pages'}")
    tally = Tally()
    for page in pages:  # imports and caches warm: the baseline is the app, not its first load
        session, _ = await open_session(base, page, titles[page])
        await session.ws.close()
    # The training run starts first, so its memory (torch, data) is in the baseline, not in the students'.
    started, stop = asyncio.Event(), asyncio.Event()
    training = None
    if train:
        training = asyncio.create_task(trainer(base, titles.get(TRAINING_PAGE, ""), stop, tally, started))
        with contextlib.suppress(TimeoutError):  # a run that never steps shows as 0 % in the report
            await asyncio.wait_for(started.wait(), timeout=TRAINING_START_TIMEOUT)
    tasks: list[asyncio.Task] = []
    # What the training run alone costs, so the students' share can be told apart from it.
    cpu_idle, wall_idle = total(cpu_seconds, pids), time.monotonic()
    await asyncio.sleep(3.0)
    training_share = (total(cpu_seconds, pids) - cpu_idle) / (time.monotonic() - wall_idle)
    rss_before = total(rss_mb, pids)
    cpu_before, wall_before, client_before = total(cpu_seconds, pids), time.monotonic(), time.process_time()
    deadline = time.monotonic() + duration
    for i in range(sessions):
        page = pages[i % len(pages)]
        tasks.append(asyncio.create_task(student(base, page, titles[page], deadline, think, tally, seed=i)))
        await asyncio.sleep(min(0.1, duration / max(1, sessions) / 4))  # a class does not click at once
    # Memory while every session is still connected, shortly before the end.
    await asyncio.sleep(max(0.0, deadline - time.monotonic() - min(2.0, duration / 4)))
    rss_after = total(rss_mb, pids)
    await asyncio.wait_for(asyncio.gather(*tasks), timeout=duration + RECV_TIMEOUT + 30)
    stop.set()
    if training is not None:
        await asyncio.wait_for(training, timeout=RECV_TIMEOUT + 30)
    cpu_used, wall = total(cpu_seconds, pids) - cpu_before, max(1e-9, time.monotonic() - wall_before)
    client_share = (time.process_time() - client_before) / wall * 100
    ms = [x * 1000 for x in tally.latencies]
    loads = [x * 1000 for x in tally.first_loads]
    count = max(1, len(ms))
    return Report(
        sessions=sessions, duration_s=duration, pages=pages, training_active=train and tally.training_runs > 0,
        training_runs_started=tally.training_runs, training_progress=tally.training_progress,
        interactions=len(ms), errors=len(tally.errors), wrong_page_replies=tally.wrong_pages,
        page_exceptions=tally.exceptions,
        latency_p50_ms=percentile(ms, 50), latency_p95_ms=percentile(ms, 95), latency_p99_ms=percentile(ms, 99),
        latency_max_ms=max(ms, default=0.0),
        first_load_p50_ms=percentile(loads, 50), first_load_p95_ms=percentile(loads, 95),
        server_pids=pids, server_rss_before_mb=rss_before, server_rss_after_mb=rss_after,
        rss_per_session_mb=(rss_after - rss_before) / max(1, tally.loaded),
        training_cpu_percent=training_share * 100 if train else 0.0,
        server_cpu_percent=cpu_used / wall * 100, server_cpu_ms_per_interaction=cpu_used * 1000 / count,
        client_cpu_percent=client_share, error_samples=tally.errors[:5],
        page_p50_ms={p: percentile([x * 1000 for x in v], 50) for p, v in tally.by_page.items()},
        page_p95_ms={p: percentile([x * 1000 for x in v], 95) for p, v in tally.by_page.items()},
        interactions_by_page={p: len(v) for p, v in tally.by_page.items()},
        titles_by_page={p: sorted(t) for p, t in tally.titles.items()},
        sessions_by_backend=dict(tally.backends),
    )  # fmt: skip


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(
    port: int, log: Path, script: str | Path = "app.py", env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """`streamlit run app.py` (or another script) on a loopback port, healthy or an exception.

    It runs in the repository, so the repository's .streamlit/config.toml applies to any script."""
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(script), "--server.address", "127.0.0.1",
             "--server.port", str(port), "--server.headless", "true", "--server.fileWatcherType", "none",
             "--browser.gatherUsageStats", "false"],
            cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
            env=env,
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
    parser.add_argument("--url", help="an app already running, or the nginx deployment (default: start one)")
    parser.add_argument(
        "--server-ports",
        default="",
        help="with --url: the app processes' ports to measure "
        "(comma-separated; default the URL's port; give the backends' ports behind nginx)",
    )
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
    if args.server_ports and not args.url:
        parser.error("--server-ports needs --url")
    if args.server_ports and not re.fullmatch(r"\d+(,\d+)*", args.server_ports):
        parser.error("--server-ports takes comma-separated port numbers, e.g. 8601,8602")
    return args


def main(argv: list[str] | None = None) -> Report:
    args = parse_args(argv)
    proc = None
    if args.url:
        base = args.url.rstrip("/")
        ports = (
            [int(p) for p in args.server_ports.split(",")]
            if args.server_ports
            else [int(base.rsplit(":", 1)[1])]
        )
    else:
        ports = [free_port()]
        base = f"http://127.0.0.1:{ports[0]}"
        proc = start_server(ports[0], Path(os.environ.get("TMPDIR", "/tmp")) / f"cnnviz-load-{ports[0]}.log")
    try:
        pids = [proc.pid] if proc is not None else [server_pid(p) for p in ports]
        report = asyncio.run(load_test(base, pids, args.sessions, args.duration, args.think,
                                       not args.no_training, args.pages.split(",")))  # fmt: skip
    finally:
        if proc is not None:
            stop_server(proc)
    print(json.dumps(asdict(report), indent=2) if args.json else report.text(), flush=True)
    return report


if __name__ == "__main__":
    main()
