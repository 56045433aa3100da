"""The class deployment without the app: nginx's rendered configuration in front of small stand-in
backends (sticky cookie, fail-over, limits), and serve_class.py's supervisor restarting processes."""

from __future__ import annotations

import http.client
import os
import shutil
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
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
    render_nginx_conf,
)
from tests.e2e.conftest import free_port
from tests.waits import wait_until

SECRET_ID = "0123456789abcdef0123456789abcdef"  # a well-formed client id


def nginx_binary() -> str:
    """Debian's nginx; fail, never skip, when it is missing."""
    found = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(found).is_file():
        pytest.fail("nginx not found: install it with `apt-get install -y nginx`", pytrace=False)
    return found


class Backend:
    """A stand-in app process on a fixed loopback port: answers with its port; /slow waits a second.

    `slow_started` is set once a /slow request has arrived (is being answered).
    """

    def __init__(self, port: int) -> None:
        self.port = port
        self.server: ThreadingHTTPServer | None = None
        self.slow_started = threading.Event()

    def start(self) -> None:
        port, slow_started = self.port, self.slow_started

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _answer(self) -> None:
                size = int(self.headers.get("Content-Length") or 0)
                while size > 0:
                    size -= len(self.rfile.read(min(size, 1 << 16)))
                if self.path.startswith("/slow"):
                    slow_started.set()
                    time.sleep(1.0)  # the long request itself, a websocket's life in short: time is the point
                body = f"{port}".encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_PUT = do_DELETE = _answer  # noqa: N815 (the names http.server calls)

            def log_message(self, *args: object) -> None:
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()

    def stop(self) -> None:
        """Like a dead process: the port refuses connections."""
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


class Front:
    """nginx with the deployment's configuration, and a way to ask it things."""

    def __init__(self, port: int, backends: list[Backend]) -> None:
        self.port, self.backends = port, backends

    def get(self, path: str = "/", cookies: dict[str, str] | None = None, method: str = "GET",
            body: bytes | None = None) -> tuple[int, str, dict[str, str]]:  # fmt: skip
        """Status, the backend port that answered (its body), and the cookies the answer sets."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
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


@pytest.fixture()
def front(tmp_path: Path) -> Iterator[Front]:
    """nginx on a free port in front of three stand-in backends; always stopped."""
    backends = [Backend(free_port()) for _ in range(3)]
    for backend in backends:
        backend.start()
    port = free_port()
    temp = tmp_path / "temp"
    temp.mkdir()
    conf = tmp_path / "nginx.conf"
    conf.write_text(render_nginx_conf("127.0.0.1", port, [b.port for b in backends], tmp_path, temp))
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
