"""Serve cnnviz to a class: N app processes on loopback ports, nginx in front with sticky sessions.

    python deploy/serve_class.py --backends 2 --port 8080

Keeps serving when an app process dies: nginx sends its students to a live one while this script
restarts it (with backoff, at most a few times a minute). Stops everything it started on Ctrl-C or
SIGTERM, or when nginx dies and cannot be restarted. See deploy/README.md.
"""

from __future__ import annotations

import argparse
import http.client
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from string import Template

REPO = Path(__file__).resolve().parents[1]
TEMPLATE = Path(__file__).with_name("nginx.conf.template")
UPLOAD_CAP_MB = 25  # .streamlit/config.toml's server.maxUploadSize
START_TIMEOUT = 120.0  # an app that is not healthy this long after it started is killed and retried
BACKOFF = (1.0, 2.0, 4.0, 8.0, 16.0, 30.0)  # seconds before a restart, by deaths in a row without being up
RESTARTS_PER_MINUTE = 5  # more than this and a process waits for the minute to pass
CHECK_EVERY = 5.0  # seconds between health checks of a running app
HUNG_AFTER = 60.0  # a running app whose health check has failed this long is killed and restarted
NGINX_ATTEMPTS = 3  # nginx restarts in a row that may fail before the script gives up


@dataclass(frozen=True)
class Limits:
    """What nginx allows one client (a browser, by its id cookie) and one address (a school's NAT).

    deploy/README.md explains each number; the per-address ones grow with `students_per_address`.
    """

    students_per_address: int = 200
    client_rate: int = 30  # requests a second, after a burst of client_burst
    client_burst: int = 400
    client_conn: int = 40  # requests in progress at once, websockets included
    client_streams: int = 8  # websockets (tabs, each a Streamlit session) at once
    client_upload_rate: int = 4  # files a minute, after a burst of client_upload_burst
    client_upload_burst: int = 6

    def nginx_values(self) -> dict[str, int]:
        """Every number the template needs, the per-address ones scaled to the class behind one address."""
        n = self.students_per_address
        address_conn = max(self.client_conn, 8 * n)
        # Each connection a client holds is two for nginx (browser side, backend side); and room to spare.
        worker_connections = max(4096, 2 * address_conn + 1024)
        return {
            **{k: v for k, v in asdict(self).items() if k != "students_per_address"},
            # First requests (no id cookie yet): a whole class may arrive within seconds.
            "anonymous_rate": max(5, n // 5),
            "anonymous_burst": max(20, 2 * n),
            # Everything from one address: the whole class loading cold at once (about 150 requests each)
            # and then busy; connections: a websocket and a browser's 6 parallel requests each, and more.
            "address_rate": max(self.client_rate, 5 * n),
            "address_burst": max(self.client_burst, 160 * n),
            "address_conn": address_conn,
            "address_upload_rate": max(self.client_upload_rate, n),
            "address_upload_burst": max(self.client_upload_burst, n),
            "worker_connections": worker_connections,
            "worker_rlimit_nofile": 2 * worker_connections,
        }


def port_is_free(address: str, port: int) -> bool:
    """Whether nothing listens on address:port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        return sock.connect_ex((address, port)) != 0


def render_nginx_conf(
    address: str, port: int, backends: list[int], run_dir: Path, temp_dir: Path, limits: Limits = Limits()
) -> str:
    """nginx.conf for these backend ports: sticky cookie with fail-over, websocket upgrade, limits."""
    addrs = [f"127.0.0.1:{p}" for p in backends]
    # No passive health state (max_fails=0): every request tries its backend first and moves on only when
    # that one refuses (dead) or answers 503 (starting). With max_fails=1 a restarted backend whose first
    # request is a websocket stays "on probation" while that websocket lives, and its students' other
    # requests would be sent to its standby.
    server = "max_fails=0"
    cookie_map = "\n".join(f'        "{a}" cnnviz_b{i};' for i, a in enumerate(addrs))
    pool = "\n".join(f"        server {a} {server};" for a in addrs)
    pinned = []
    for i, a in enumerate(addrs):
        # The next backend in the ring stands by; with one backend there is none.
        standby = f" server {addrs[(i + 1) % len(addrs)]} {server} backup;" if len(addrs) > 1 else ""
        pinned.append(f"    upstream cnnviz_b{i} {{ server {a} {server};{standby} }}")
    return Template(TEMPLATE.read_text(encoding="utf-8")).substitute(
        run_dir=run_dir,
        temp_dir=temp_dir,
        address=address,
        port=port,
        max_body_mb=UPLOAD_CAP_MB + 1,
        cookie_map=cookie_map,
        pool_servers=pool,
        pinned_upstreams="\n".join(pinned),
        **limits.nginx_values(),
    )


def healthy(url: str) -> bool:
    """Whether Streamlit's health endpoint at `url` answers "ok"."""
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
            return response.status == 200 and response.read().strip() == b"ok"
    except (urllib.error.URLError, http.client.HTTPException, OSError):
        return False  # down, refusing, slow, or cut off mid-answer (a process killed as it replied)


def _answers(child: Child) -> bool:
    """The child's readiness check; a check that raises counts as "not ready", never stops the supervisor."""
    try:
        return bool(child.ready(child.url))
    except Exception:
        return False


def listening(url: str) -> bool:
    """Whether something accepts connections at `url` (http://host:port)."""
    host, port = url.rsplit("/", 1)[-1].rsplit(":", 1)
    return not port_is_free(host, int(port))


@dataclass
class Child:
    """One supervised process: how to start it, how to tell it is up, and its restart history."""

    name: str
    cmd: list[str]
    url: str
    ready: Callable[[str], bool]  # up when ready(url)
    env: dict[str, str] | None = None
    proc: subprocess.Popen[bytes] | None = None
    state: str = "down"  # down (waiting to start), starting, up
    started_at: float = 0.0
    last_healthy: float = 0.0
    next_check: float = 0.0
    next_start: float = 0.0
    failures: int = 0  # deaths in a row without having been up (healthy) in between
    restarts: deque[float] = field(default_factory=deque)  # when each restart happened

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None


class Supervisor:
    """Starts the class's processes, restarts those that die or hang, and stops them all at the end."""

    def __init__(self, run_dir: Path, say: Callable[[str], None]) -> None:
        self.run_dir, self.say = run_dir, say
        self.children: dict[str, Child] = {}
        self._checks = ThreadPoolExecutor(max_workers=8, thread_name_prefix="health")

    def add(self, child: Child) -> Child:
        self.children[child.name] = child
        return child

    def spawn(self, child: Child, now: float) -> None:
        """Start `child` in its own process group, appending to run_dir/<name>.log."""
        with (self.run_dir / f"{child.name}.log").open("ab") as log:
            child.proc = subprocess.Popen(
                child.cmd, cwd=REPO, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                env=child.env, start_new_session=True,
            )  # fmt: skip
        child.state, child.started_at = "starting", now

    def wait_up(self, child: Child, stopping: Callable[[], bool]) -> None:
        """Block until `child` is up; raise if it exits or takes too long (used at start-up)."""
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline and not stopping():
            if child.proc is None or child.proc.poll() is not None:
                raise RuntimeError(f"{child.name} exited; see {self.run_dir / (child.name + '.log')}")
            if child.ready(child.url):
                child.state = "up"
                child.last_healthy = time.monotonic()
                return
            time.sleep(0.25)
        if not stopping():
            raise RuntimeError(f"{child.name} did not become healthy in {START_TIMEOUT:.0f} s")

    def _reap(self, child: Child) -> None:
        """SIGKILL whatever is left of the child's process group (nginx workers outlive their master)."""
        if child.proc is None:
            return
        try:
            os.killpg(child.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            child.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass

    def _schedule_restart(self, child: Child, now: float, why: str) -> None:
        self._reap(child)
        # One that was serving comes back after 1 s; one that cannot even start backs off.
        child.failures += 1
        delay = BACKOFF[min(child.failures, len(BACKOFF)) - 1]
        while child.restarts and now - child.restarts[0] > 60:
            child.restarts.popleft()
        if len(child.restarts) >= RESTARTS_PER_MINUTE:
            delay = max(delay, child.restarts[0] + 60 - now)
            why += f"; restarted {len(child.restarts)} times in the last minute"
        child.state, child.next_start = "down", now + delay
        self.say(f"{child.name} {why}; restarting in {delay:.0f} s")

    def tick(self, now: float) -> None:
        """One round: notice deaths, start what is due, check health. Never blocks for long."""
        due = []
        for child in self.children.values():
            if child.state != "down" and child.proc is not None and child.proc.poll() is not None:
                self._schedule_restart(
                    child, now, f"(pid {child.proc.pid}) exited with {child.proc.returncode}"
                )
            elif child.state == "down" and now >= child.next_start:
                child.restarts.append(now)
                self.spawn(child, now)
                self.say(f"{child.name} restarting (pid {child.pid})")
            elif child.state == "starting" or (child.state == "up" and now >= child.next_check):
                due.append(child)
        answers = list(self._checks.map(_answers, due))
        for child, ok in zip(due, answers, strict=True):
            if child.proc is None or child.proc.poll() is not None:
                continue  # it died during the check: the next round restarts it
            child.next_check = now + CHECK_EVERY
            if ok:
                if child.state == "starting":
                    again = " again" if child.restarts else ""
                    self.say(f"{child.name} is up{again} (pid {child.pid}, {now - child.started_at:.1f} s)")
                child.state, child.last_healthy, child.failures = "up", now, 0
            elif child.state == "starting" and now - child.started_at > START_TIMEOUT:
                self._schedule_restart(child, now, f"did not become healthy in {START_TIMEOUT:.0f} s")
            elif child.state == "up" and now - child.last_healthy > HUNG_AFTER:
                self._schedule_restart(
                    child, now, f"has not answered its health check for {HUNG_AFTER:.0f} s"
                )

    def stop(self) -> None:
        """SIGTERM every process group, then SIGKILL what lingers."""
        self._checks.shutdown(wait=False, cancel_futures=True)
        procs = [c.proc for c in self.children.values() if c.proc is not None]
        for proc in procs:
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + 15
        for proc in procs:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
            try:
                os.killpg(proc.pid, signal.SIGKILL)  # also any process the group left behind
            except ProcessLookupError:
                pass
            proc.wait(timeout=5)


def nginx_binary() -> str:
    """The nginx executable (on PATH or in /usr/sbin)."""
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").is_file() else None)
    if not found:
        raise SystemExit("nginx is not installed: apt-get install -y nginx")
    return found


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", type=int, default=2, help="app processes (default 2)")
    parser.add_argument("--address", default="127.0.0.1", help="address nginx listens on (default loopback)")
    parser.add_argument("--port", type=int, default=8080, help="port nginx listens on (default 8080)")
    parser.add_argument("--first-backend-port", type=int, default=8601, help="backends use this and the next")
    parser.add_argument("--students-per-address", type=int, default=Limits.students_per_address,
                        help="most students behind one address (a school's NAT); sizes the per-address "
                        f"limits (default {Limits.students_per_address})")  # fmt: skip
    parser.add_argument("--run-dir", type=Path, default=None, help="config and logs (default: a temp folder)")
    return parser.parse_args(argv)


def app_command(port: int) -> list[str]:
    """`streamlit run app.py` on a loopback port."""
    return [
        sys.executable, "-m", "streamlit", "run", "app.py",
        "--server.address", "127.0.0.1", "--server.port", str(port),
        "--server.headless", "true", "--server.fileWatcherType", "none",
        "--browser.gatherUsageStats", "false",
    ]  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not 1 <= args.backends <= 16:
        raise SystemExit("--backends must be between 1 and 16")
    if not 1 <= args.students_per_address <= 5000:
        raise SystemExit("--students-per-address must be between 1 and 5000")
    ports = list(range(args.first_backend_port, args.first_backend_port + args.backends))
    busy = [p for p in [args.port, *ports] if not port_is_free("127.0.0.1", p)]
    if busy:
        raise SystemExit(f"ports already in use: {busy}")
    nginx = nginx_binary()
    run_dir = args.run_dir or Path(tempfile.mkdtemp(prefix="cnnviz-class-"))
    run_dir.mkdir(parents=True, exist_ok=True)
    # nginx's workers run as another user when started as root: give them a folder they can reach.
    temp_dir = Path(tempfile.mkdtemp(prefix="cnnviz-nginx-"))
    temp_dir.chmod(0o755)
    conf = run_dir / "nginx.conf"
    limits = Limits(students_per_address=args.students_per_address)
    conf.write_text(
        render_nginx_conf(args.address, args.port, ports, run_dir.resolve(), temp_dir, limits),
        encoding="utf-8",
    )

    def say(line: str) -> None:
        print(f"cnnviz: {line}", flush=True)

    served = Supervisor(run_dir, say)
    stopping = False

    def on_signal(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    # Every process must sign cookies (XSRF) with the same secret, or a session moved by the proxy breaks.
    env = {**os.environ, "STREAMLIT_SERVER_COOKIE_SECRET": secrets.token_hex(32)}
    apps = [served.add(Child(f"app{i}", app_command(p), f"http://127.0.0.1:{p}", healthy, env))
            for i, p in enumerate(ports)]  # fmt: skip
    front = served.add(Child("nginx", [nginx, "-p", str(run_dir), "-c", str(conf), "-e", str(run_dir / "error.log"),
                                       "-g", "daemon off;"], f"http://127.0.0.1:{args.port}", listening))  # fmt: skip
    try:
        now = time.monotonic()
        for app in apps:
            served.spawn(app, now)
        for app in apps:
            served.wait_up(app, lambda: stopping)
        served.spawn(front, time.monotonic())
        served.wait_up(front, lambda: stopping)
        if not stopping:
            say(f"serving on http://{args.address}:{args.port} with {args.backends} app processes "
                f"(ports {', '.join(map(str, ports))}, pids {', '.join(str(a.pid) for a in apps)}); "
                f"logs in {run_dir}")  # fmt: skip
        while not stopping:
            served.tick(time.monotonic())
            if front.state == "down" and (
                front.failures > NGINX_ATTEMPTS or len(front.restarts) >= RESTARTS_PER_MINUTE
            ):
                say(f"nginx cannot be restarted; stopping (see {run_dir / 'error.log'})")
                return 1
            time.sleep(0.25)
        return 0
    except RuntimeError as exc:
        print(f"cnnviz: {exc}", file=sys.stderr, flush=True)
        return 1
    finally:
        served.stop()
        shutil.rmtree(temp_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
