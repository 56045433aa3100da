"""The class deployment without the app: nginx's rendered configuration in front of small stand-in
backends (sticky cookie, fail-over, limits), and serve_class.py's supervisor restarting processes."""

from __future__ import annotations

import gzip
import http.client
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from deploy.serve_class import (
    BACKOFF,
    HUNG_AFTER,
    RESTARTS_PER_MINUTE,
    Child,
    Limits,
    Supervisor,
    healthy,
    render_nginx_conf,
)
from tests.e2e.conftest import free_port
from tests.waits import wait_until

SECRET_ID = "0123456789abcdef0123456789abcdef"  # a well-formed client id
# A stand-in for a frontend bundle: 64 KB of script-like text.
SCRIPT = b"".join(b"function f%d(a, b) { return a + b * %d; }\n" % (i, i) for i in range(1600))


def nginx_binary() -> str:
    """Debian's nginx; fail, never skip, when it is missing."""
    found = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(found).is_file():
        pytest.fail("nginx not found: install it with `apt-get install -y nginx`", pytrace=False)
    return found


class Backend:
    """A stand-in app process on a fixed loopback port: answers with its port; /slow waits a second.

    A websocket upgrade (/_stcore/stream with `Upgrade: websocket`) is accepted and held open until the
    client hangs up; /hold is answered only once `release` is set. `held` counts both while they last.
    `slow_started` is set once a /slow request has arrived (is being answered).
    """

    def __init__(self, port: int) -> None:
        self.port = port
        self.server: ThreadingHTTPServer | None = None
        self.slow_started = threading.Event()
        self.release = threading.Event()
        self.held = 0
        self.changed = threading.Condition()

    def _hold(self, delta: int) -> None:
        with self.changed:
            self.held += delta
            self.changed.notify_all()

    def wait_held(self, count: int, timeout: float = 10) -> None:
        """Block until exactly `count` connections are held here."""
        with self.changed:
            assert self.changed.wait_for(lambda: self.held == count, timeout), (self.held, count)

    def start(self) -> None:
        port, backend, slow_started = self.port, self, self.slow_started

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _stream(self) -> None:
                self.send_response(101)
                self.send_header("Upgrade", "websocket")
                self.send_header("Connection", "Upgrade")
                self.end_headers()
                self.wfile.flush()
                backend._hold(1)
                try:
                    while self.rfile.read(1):  # until nginx closes: the client hung up
                        pass
                finally:
                    backend._hold(-1)
                    self.close_connection = True

            def _answer(self) -> None:
                if self.path.startswith("/_stcore/stream") and self.headers.get("Upgrade") == "websocket":
                    self._stream()
                    return
                size = int(self.headers.get("Content-Length") or 0)
                while size > 0:
                    size -= len(self.rfile.read(min(size, 1 << 16)))
                if self.path.startswith("/slow"):
                    slow_started.set()
                    time.sleep(1.0)  # the long request itself, a websocket's life in short: time is the point
                if self.path.startswith("/hold"):
                    backend._hold(1)
                    try:
                        backend.release.wait(timeout=30)
                    finally:
                        backend._hold(-1)
                body = f"{port}".encode()
                script = self.path.startswith("/static/js/")  # a bundle: text that compresses well
                if script:
                    body = SCRIPT
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                if script:
                    self.send_header("Content-Type", "application/javascript")
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_PUT = do_DELETE = _answer  # noqa: N815 (the names http.server calls)

            def log_message(self, *args: object) -> None:
                pass

        class Server(ThreadingHTTPServer):
            allow_reuse_address = True
            daemon_threads = True
            request_queue_size = 256  # nginx opens many backend connections at once in the limit tests

        self.release.clear()
        self.server = Server(("127.0.0.1", self.port), Handler)
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()

    def stop(self) -> None:
        """Like a dead process: the port refuses connections."""
        self.release.set()
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


class Front:
    """nginx with the deployment's configuration, and a way to ask it things."""

    def __init__(self, port: int, backends: list[Backend]) -> None:
        self.port, self.backends = port, backends

    def get(self, path: str = "/", cookies: dict[str, str] | None = None, method: str = "GET",
            body: bytes | None = None, source: str = "127.0.0.1") -> tuple[int, str, dict[str, str]]:  # fmt: skip
        """Status, the backend port that answered (its body), and the cookies the answer sets.

        `source` is the client's address: another loopback address is another client to nginx."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10, source_address=(source, 0))
        try:
            headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())} if cookies else {}
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            text = response.read().decode(errors="replace")
            set_cookies = {}
            for header in response.headers.get_all("Set-Cookie") or []:
                name, _, rest = header.partition("=")
                set_cookies[name] = rest.split(";", 1)[0]
            return response.status, text, set_cookies
        finally:
            conn.close()

    def addr(self, i: int) -> str:
        return f"127.0.0.1:{self.backends[i].port}"


@contextmanager
def running_front(tmp_path: Path, limits: Limits) -> Iterator[Front]:
    """nginx on a free port, configured with `limits`, in front of three stand-in backends; always stopped."""
    backends = [Backend(free_port()) for _ in range(3)]
    for backend in backends:
        backend.start()
    port = free_port()
    temp = tmp_path / "temp"
    temp.mkdir()
    conf = tmp_path / "nginx.conf"
    conf.write_text(render_nginx_conf("127.0.0.1", port, [b.port for b in backends], tmp_path, temp, limits))
    proc = subprocess.Popen(
        [nginx_binary(), "-p", str(tmp_path), "-c", str(conf), "-e", str(tmp_path / "error.log"),
         "-g", "daemon off;"], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip

    def listening() -> bool:
        try:
            http.client.HTTPConnection("127.0.0.1", port, timeout=1).connect()
            return True
        except OSError:
            assert proc.poll() is None, (tmp_path / "error.log").read_text()
            return False

    try:
        wait_until(listening, what="nginx listening")
        yield Front(port, backends)
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(timeout=10)
        for backend in backends:
            backend.stop()


@pytest.fixture()
def front(tmp_path: Path) -> Iterator[Front]:
    """nginx with the deployment's default limits in front of three stand-in backends."""
    with running_front(tmp_path, Limits()) as started:
        yield started


def test_rendered_configuration_passes_nginx_own_check(tmp_path: Path) -> None:
    conf = tmp_path / "nginx.conf"
    conf.write_text(render_nginx_conf("127.0.0.1", 8080, [8601, 8602, 8603], tmp_path, tmp_path))
    check = subprocess.run([nginx_binary(), "-t", "-p", str(tmp_path), "-c", str(conf), "-e", str(tmp_path / "e")],
                           capture_output=True, text=True)  # fmt: skip
    assert check.returncode == 0, check.stderr
    text = conf.read_text()
    # Each backend's standby is the next one in the ring.
    assert (
        "upstream cnnviz_b0 { server 127.0.0.1:8601 max_fails=0; server 127.0.0.1:8602 max_fails=0 backup; }"
        in text
    )
    assert (
        "upstream cnnviz_b2 { server 127.0.0.1:8603 max_fails=0; server 127.0.0.1:8601 max_fails=0 backup; }"
        in text
    )


def test_scripts_go_out_compressed_to_a_browser_that_takes_gzip(front: Front) -> None:
    """Streamlit serves its bundles uncompressed; nginx compresses them (and says it varies by encoding)."""
    conn = http.client.HTTPConnection("127.0.0.1", front.port, timeout=10)
    try:
        for encoding in ("gzip, deflate, br", None):
            conn.request(
                "GET", "/static/js/index.js", headers={"Accept-Encoding": encoding} if encoding else {}
            )
            response = conn.getresponse()
            body = response.read()
            assert response.status == 200
            if encoding:
                assert response.headers["Content-Encoding"] == "gzip"
                assert "Accept-Encoding" in response.headers["Vary"]
                assert gzip.decompress(body) == SCRIPT and len(body) < len(SCRIPT) / 4
            else:
                assert "Content-Encoding" not in response.headers and body == SCRIPT
    finally:
        conn.close()


def test_new_visitors_go_round_and_keep_their_backend(front: Front) -> None:
    seen = []
    for _ in range(3):
        status, port, cookies = front.get()
        assert status == 200 and cookies["cnnviz_backend"] == f"127.0.0.1:{port}"
        assert len(cookies["cnnviz_client"]) == 32
        seen.append(port)
    assert sorted(seen) == sorted(str(b.port) for b in front.backends)
    for i in range(3):  # a cookie naming a live backend reaches it, and is left alone
        status, port, cookies = front.get(
            cookies={"cnnviz_backend": front.addr(i), "cnnviz_client": SECRET_ID}
        )
        assert (status, port, cookies) == (200, str(front.backends[i].port), {})


def test_a_dead_backends_students_move_to_its_standby_for_good(front: Front) -> None:
    front.backends[0].stop()
    mine = {"cnnviz_backend": front.addr(0), "cnnviz_client": SECRET_ID}
    answers = [front.get(cookies=mine) for _ in range(5)]
    # Every request of the browser lands on the same live backend, and the answer moves the cookie there.
    assert {(status, port) for status, port, _ in answers} == {(200, str(front.backends[1].port))}
    assert all(cookies == {"cnnviz_backend": front.addr(1)} for _, _, cookies in answers)
    # Back on its feet, the backend gets its cookie holders again (nobody is moved while it is alive).
    front.backends[0].start()
    assert front.get(cookies=mine)[:2] == (200, str(front.backends[0].port))


def test_a_backend_and_its_standby_down_falls_back_to_any_live_one(front: Front) -> None:
    front.backends[0].stop()
    front.backends[1].stop()
    for path in ("/", "/_stcore/stream"):
        status, port, cookies = front.get(
            path, cookies={"cnnviz_backend": front.addr(0), "cnnviz_client": SECRET_ID}
        )
        assert (status, port, cookies) == (
            200,
            str(front.backends[2].port),
            {"cnnviz_backend": front.addr(2)},
        )


def test_a_long_request_to_a_restarted_backend_does_not_push_others_to_the_standby(front: Front) -> None:
    # With passive health checks (max_fails=1) a restarted backend stays "on probation" while its first
    # request lasts (a websocket: for its whole life), and its students' uploads went to the dead standby.
    front.backends[0].stop()
    mine = {"cnnviz_backend": front.addr(0), "cnnviz_client": SECRET_ID}
    assert front.get(cookies=mine)[1] == str(front.backends[1].port)
    front.backends[0].start()
    slow = threading.Thread(target=front.get, args=("/slow", mine))
    slow.start()
    try:
        assert front.backends[0].slow_started.wait(10), "the slow request did not reach the restarted backend"
        assert front.get(cookies=mine)[:2] == (200, str(front.backends[0].port))
        assert front.get("/_stcore/upload_file/s/f", mine, "PUT", b"x")[:2] == (
            200,
            str(front.backends[0].port),
        )
    finally:
        slow.join(timeout=10)


def test_a_forged_backend_cookie_is_treated_as_a_new_visitor_and_replaced(front: Front) -> None:
    status, port, cookies = front.get(cookies={"cnnviz_backend": "10.0.0.1:80", "cnnviz_client": SECRET_ID})
    assert status == 200 and cookies == {"cnnviz_backend": f"127.0.0.1:{port}"}


def hammer(front: Front, count: int, cookies: dict[str, str] | None) -> Counter[int]:
    """`count` requests one after another on one keep-alive connection; the statuses."""
    statuses: Counter[int] = Counter()
    conn = http.client.HTTPConnection("127.0.0.1", front.port, timeout=10)
    headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())} if cookies else {}
    try:
        for _ in range(count):
            conn.request("GET", "/static/x.js", headers=headers)
            response = conn.getresponse()
            response.read()
            statuses[response.status] += 1
    finally:
        conn.close()
    return statuses


def test_one_client_flooding_is_limited_and_another_is_not(front: Front) -> None:
    limits = Limits()
    flooder = {"cnnviz_client": SECRET_ID}
    started = time.monotonic()
    got = hammer(front, limits.client_burst + 300, flooder)
    took = time.monotonic() - started
    assert got[429] >= 100 and got[200] <= limits.client_burst + 1 + limits.client_rate * took, (got, took)
    # Another student (another id, same address) is served at once.
    assert hammer(front, 20, {"cnnviz_client": "f" * 32}) == Counter({200: 20})
    # A script that keeps no cookies shares one budget per address for first requests.
    anonymous = hammer(front, limits.nginx_values()["anonymous_burst"] + 300, None)
    assert anonymous[429] >= 100, anonymous


def test_uploads_are_limited_per_client_and_bodies_elsewhere_are_small(front: Front) -> None:
    limits = Limits()
    mine = {"cnnviz_backend": front.addr(0), "cnnviz_client": SECRET_ID}
    body = b"x" * (2 << 20)  # 2 MB: fine for an upload
    statuses = [
        front.get(f"/_stcore/upload_file/s/{i}", mine, "PUT", body)[0]
        for i in range(limits.client_upload_burst + 3)
    ]
    assert statuses == [200] * (limits.client_upload_burst + 1) + [429] * 2, statuses
    # Removing a file is not an upload; another client still uploads.
    assert front.get("/_stcore/upload_file/s/0", mine, "DELETE")[0] == 200
    other = {"cnnviz_backend": front.addr(0), "cnnviz_client": "e" * 32}
    assert front.get("/_stcore/upload_file/s/x", other, "PUT", body)[0] == 200
    # Nothing but an upload carries a body of that size.
    assert front.get("/", other, "PUT", body)[0] == 413


def open_request(front: Front, path: str, cookies: dict[str, str] | None, held: ExitStack,
                 source: str = "127.0.0.1", upgrade: bool = False) -> socket.socket:  # fmt: skip
    """Send a GET (a websocket upgrade when `upgrade`) on a new connection from `source`; closed by `held`."""
    sock = socket.create_connection(("127.0.0.1", front.port), timeout=10, source_address=(source, 0))
    held.callback(sock.close)
    lines = [f"GET {path} HTTP/1.1", f"Host: 127.0.0.1:{front.port}"]
    if cookies:
        lines.append("Cookie: " + "; ".join(f"{k}={v}" for k, v in cookies.items()))
    if upgrade:
        lines += ["Upgrade: websocket", "Connection: Upgrade", "Sec-WebSocket-Version: 13",
                  "Sec-WebSocket-Key: Y25udml6LWxpbWl0LXRlc3Q="]  # fmt: skip
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
    return sock


def status_of(sock: socket.socket) -> int:
    """The status of the answer on `sock` (read up to the end of its head)."""
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(4096)
        assert chunk, f"connection closed after {head!r}"
        head += chunk
    return int(head.split(b" ", 2)[1])


def stream(front: Front, cookies: dict[str, str] | None, held: ExitStack, source: str = "127.0.0.1") -> int:
    """Open a websocket to /_stcore/stream, kept open until `held` closes; the status nginx answers."""
    return status_of(open_request(front, "/_stcore/stream", cookies, held, source, upgrade=True))


def wait_for_status(front: Front, cookies: dict[str, str], status: int, timeout: float = 5) -> None:
    """Ask / until nginx answers `status` (its counts drop as it closes connections, not instantly)."""
    deadline = time.monotonic() + timeout
    while (got := front.get(cookies=cookies)[0]) != status:
        assert time.monotonic() < deadline, got
        time.sleep(0.02)


def test_one_client_holding_too_many_websockets_or_requests_is_refused_and_another_is_not(
    front: Front,
) -> None:
    limits = Limits()
    backend = front.backends[0]
    mine = {"cnnviz_backend": front.addr(0), "cnnviz_client": SECRET_ID}
    other = {"cnnviz_backend": front.addr(0), "cnnviz_client": "f" * 32}
    with ExitStack() as held:
        mine_held = ExitStack()
        held.enter_context(mine_held)
        # Websockets (tabs): up to client_streams at once, then refused; another student's still opens.
        assert [stream(front, mine, mine_held) for _ in range(limits.client_streams)] == [
            101
        ] * limits.client_streams
        backend.wait_held(limits.client_streams)
        assert stream(front, mine, mine_held) == 429
        assert stream(front, other, held) == 101
        backend.wait_held(limits.client_streams + 1)
        # Requests in progress (websockets included): up to client_conn at once.
        waiting = [
            open_request(front, "/hold", mine, mine_held)
            for _ in range(limits.client_conn - limits.client_streams)
        ]
        backend.wait_held(limits.client_conn + 1)
        assert front.get(cookies=mine)[0] == 429
        assert stream(front, mine, mine_held) == 429
        assert front.get(cookies=other)[:2] == (200, str(backend.port))
        # The limit is on connections at once: once they end, the same client is served again.
        backend.release.set()
        assert [status_of(sock) for sock in waiting] == [200] * len(waiting)
        mine_held.close()
        backend.wait_held(1)  # only the other student's websocket is left
        wait_for_status(front, mine, 200)
        assert stream(front, mine, held) == 101


def test_one_address_holding_too_many_connections_is_refused_and_another_address_is_not(
    tmp_path: Path,
) -> None:
    # One student per address: the address cap is 8 connections, and each forged id holds one of them.
    limits = Limits(students_per_address=1, client_conn=4, client_streams=2)
    cap = limits.nginx_values()["address_conn"]
    assert cap == 8
    with running_front(tmp_path, limits) as front, ExitStack() as held:
        backend = front.backends[0]

        def fresh(i: int) -> dict[str, str]:  # a script forging a new client id each time
            return {"cnnviz_backend": front.addr(0), "cnnviz_client": f"{i:032x}"}

        assert [stream(front, fresh(i), held) for i in range(cap)] == [101] * cap
        backend.wait_held(cap)
        assert stream(front, fresh(cap), held) == 429
        assert front.get(cookies=fresh(cap + 1))[0] == 429
        assert front.get()[0] == 429  # no id at all
        # A client at another address is served: a page request and a websocket.
        assert front.get(source="127.0.0.2")[0] == 200
        assert stream(front, fresh(cap + 2), held, source="127.0.0.2") == 101
        backend.wait_held(cap + 1)


# --- The supervisor: restarts with backoff and a cap, hung processes, all on a clock the test drives.


def sleeper(name: str, seconds: float = 60) -> Child:
    """A child process that lives `seconds`; `ready` is set by the test."""
    return Child(
        name, [sys.executable, "-c", f"import time; time.sleep({seconds})"], "http://x", lambda _u: True
    )


def kill_and_notice(supervisor: Supervisor, child: Child, now: float) -> float:
    """Kill the child, let the supervisor notice at `now`; the delay it chose before the restart."""
    child.proc.kill()
    child.proc.wait()
    supervisor.tick(now)
    assert child.state == "down"
    return child.next_start - now


def test_a_process_that_dies_while_serving_comes_back_after_a_second_at_most_5_times_a_minute(
    tmp_path: Path,
) -> None:
    said: list[str] = []
    supervisor = Supervisor(tmp_path, said.append)
    child = supervisor.add(sleeper("app0"))
    try:
        supervisor.spawn(child, 0.0)
        supervisor.tick(0.0)
        assert child.state == "up"
        delays, now = [], 0.0
        for _ in range(RESTARTS_PER_MINUTE + 1):
            now += 2.0  # it serves a little, then dies
            delays.append(kill_and_notice(supervisor, child, now))
            now = child.next_start
            supervisor.tick(now)  # starts it again
            supervisor.tick(now)  # and sees it healthy
            assert child.state == "up"
        assert delays[:RESTARTS_PER_MINUTE] == [BACKOFF[0]] * RESTARTS_PER_MINUTE
        # The sixth restart within a minute waits until the first one is a minute old.
        first_restart = 2.0 + BACKOFF[0]
        assert delays[-1] == pytest.approx(first_restart + 60 - (now - delays[-1]))
        assert delays[-1] > 20
        capped = [line for line in said if "restarted 5 times in the last minute" in line]
        assert len(capped) == 1 and capped[0].endswith(f"restarting in {delays[-1]:.0f} s"), said
        assert sum("is up again" in line for line in said) == RESTARTS_PER_MINUTE + 1
    finally:
        supervisor.stop()
    assert child.proc.poll() is not None


def test_a_process_that_cannot_start_backs_off(tmp_path: Path) -> None:
    supervisor = Supervisor(tmp_path, lambda _line: None)
    child = supervisor.add(sleeper("app0", seconds=0))  # exits at once, never healthy
    child.ready = lambda _url: False
    try:
        delays, now = [], 0.0
        supervisor.spawn(child, now)
        for _ in range(len(BACKOFF) + 1):
            child.proc.wait()
            supervisor.tick(now)
            delays.append(child.next_start - now)
            now = child.next_start
            supervisor.tick(now)  # starts it again
        assert delays[: len(BACKOFF)] == list(BACKOFF) and delays[-1] >= BACKOFF[-1]
    finally:
        supervisor.stop()


def test_a_process_that_stops_answering_is_killed_and_restarted(tmp_path: Path) -> None:
    said: list[str] = []
    supervisor = Supervisor(tmp_path, said.append)
    answers = {"ok": True}
    child = supervisor.add(sleeper("app0"))
    child.ready = lambda _url: answers["ok"]
    try:
        supervisor.spawn(child, 0.0)
        supervisor.tick(0.0)
        first = child.proc
        answers["ok"] = False
        supervisor.tick(HUNG_AFTER / 2)  # not answering, but not for long: left alone
        assert child.state == "up" and first.poll() is None
        supervisor.tick(HUNG_AFTER + 10)
        assert child.state == "down" and first.poll() is not None  # killed
        assert "has not answered its health check" in said[-1]
        answers["ok"] = True
        supervisor.tick(child.next_start)
        supervisor.tick(child.next_start)
        assert child.state == "up" and child.proc is not first and child.proc.poll() is None
    finally:
        supervisor.stop()


def test_a_health_answer_cut_off_mid_body_is_not_healthy_and_does_not_raise() -> None:
    """A process killed as it answers its health check leaves a short body (http.client.IncompleteRead)."""

    class CutOff(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", "4")
            self.end_headers()
            self.wfile.write(b"ok")  # two of the four bytes promised, then the connection closes
            self.close_connection = True

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), CutOff)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        assert healthy(f"http://127.0.0.1:{server.server_address[1]}") is False
    finally:
        server.shutdown()
        server.server_close()


def test_a_readiness_check_that_raises_counts_as_not_ready(tmp_path: Path) -> None:
    supervisor = Supervisor(tmp_path, say=lambda text: None)
    child = supervisor.add(sleeper("app0"))

    def cut_off(url: str) -> bool:
        raise http.client.IncompleteRead(b"", 2)

    child.ready = cut_off
    try:
        supervisor.spawn(child, 0.0)
        supervisor.tick(0.0)  # the check raised: the supervisor carries on, the child is not up yet
        assert child.state == "starting" and child.proc.poll() is None
        child.ready = lambda _url: True
        supervisor.tick(1.0)
        assert child.state == "up"
    finally:
        supervisor.stop()
