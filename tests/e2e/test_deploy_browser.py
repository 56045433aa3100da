"""Two app processes behind nginx (deploy/serve_class.py): pages load, reruns and uploads pass through the
websocket and the proxy, each browser stays on its backend, and two browsers land on different backends.
A backend killed mid-class: its students move to the live one (cookie and all) and it is restarted. A
flood of requests or uploads from one client is turned away while another client is served."""

from __future__ import annotations

import functools
import io
import os
import re
import secrets
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import Browser, BrowserContext, Page, WebSocket, expect
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

from bench.load_test import server_pid
from deploy.serve_class import Limits
from tests.conftest import REPO_ROOT
from tests.e2e.actions import RUN_TIMEOUT_MS, choose, rerun_after, set_number, settle, share_link
from tests.e2e.conftest import free_port, log_tail
from tests.waits import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

START_TIMEOUT = 150.0
SCRIPT = REPO_ROOT / "deploy" / "serve_class.py"


def free_port_pair() -> int:
    """A port p such that p and p+1 are both free on loopback."""
    for _ in range(50):
        port = free_port()
        if port < 65000 and _free(port + 1):
            return port
    raise AssertionError("no two consecutive free ports")


def _free(port: int) -> bool:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


class Served:
    """The running class: its nginx URL, backend addresses, the script's process and logs."""

    def __init__(self, url: str, backends: list[str], run_dir: Path, proc: subprocess.Popen[bytes]) -> None:
        self.url, self.backends, self.run_dir, self.proc = url, backends, run_dir, proc

    def log(self) -> str:
        """What serve_class.py printed so far."""
        return (self.run_dir / "serve.log").read_text(errors="replace")

    def access_log(self) -> list[str]:
        return (self.run_dir / "access.log").read_text(errors="replace").splitlines()

    def lines_for(self, backend: str, pattern: str) -> list[str]:
        """Access-log lines served by `backend` whose request matches `pattern`."""
        return [
            line for line in self.access_log() if f"backend={backend}" in line and re.search(pattern, line)
        ]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """deploy/serve_class.py with two backends, on free loopback ports; always stopped afterwards."""
    run_dir = tmp_path_factory.mktemp("class")
    port, first = free_port(), free_port_pair()
    log = run_dir / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, str(SCRIPT), "--backends", "2", "--port", str(port),
             "--first-backend-port", str(first), "--run-dir", str(run_dir)],
            cwd=REPO_ROOT, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip

    def serving() -> bool:
        if proc.poll() is not None:
            pytest.fail(f"serve_class.py exited with {proc.returncode}:\n{log_tail(log)}")
        return b"serving on" in log.read_bytes()

    try:
        try:
            wait_until(serving, START_TIMEOUT, 0.5, "serve_class.py serving")
        except AssertionError:
            pytest.fail(f"serve_class.py did not start:\n{log_tail(log)}")
        yield Served(
            f"http://127.0.0.1:{port}", [f"127.0.0.1:{first}", f"127.0.0.1:{first + 1}"], run_dir, proc
        )
        assert proc.poll() is None, f"serve_class.py died during the test:\n{log_tail(log)}"
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGTERM)  # the script stops nginx and both apps itself
            try:
                proc.wait(timeout=40)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
    for p in (port, first, first + 1):  # nothing is left listening
        assert _free(p), f"port {p} still in use after stopping"


def visit(
    browser: Browser, url: str, on_page: Callable[[Page], object] | None = None
) -> tuple[BrowserContext, Page]:
    """A fresh browser (own cookies) on `url`, settled; `on_page` runs before it loads."""
    context = browser.new_context(viewport={"width": 1440, "height": 1600})
    page = context.new_page()
    page.set_default_timeout(RUN_TIMEOUT_MS)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.js_errors = errors  # type: ignore[attr-defined]
    if on_page is not None:
        on_page(page)
    page.goto(url)
    settle(page)
    return context, page


def cookie(context: BrowserContext, name: str) -> str:
    values = [c["value"] for c in context.cookies() if c["name"] == name]
    assert len(values) == 1, context.cookies()
    return values[0]


def backend_of(context: BrowserContext) -> str:
    return cookie(context, "cnnviz_backend")


def clean(page: Page) -> None:
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)
    assert page.js_errors == []  # type: ignore[attr-defined]


def png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 40, 40)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_two_browsers_through_nginx_on_two_backends(
    served: Served, browser: Browser, screenshots_dir: Path
) -> None:
    first_ctx, first = visit(browser, f"{served.url}/Pooling")
    second_ctx, second = visit(browser, f"{served.url}/Image_kernels")
    try:
        one, two = backend_of(first_ctx), backend_of(second_ctx)
        assert {one, two} == set(served.backends)  # round robin for new visitors, then the cookie

        # A rerun over the websocket through nginx: a control changes what the page shows.
        pool = first.locator(".st-key-pl_pool")
        expect(pool.get_by_text("max pooled 3×3")).to_be_visible()
        set_number(first, "pl_height", 8)
        expect(pool.get_by_text("max pooled 4×3")).to_be_visible()
        clean(first)
        # The share link names the proxy's address, not the backend's.
        expect(share_link(first)).to_contain_text(f"{served.url}/Pooling")
        first.screenshot(path=str(screenshots_dir / "deploy_pooling_through_nginx.png"), full_page=True)

        # An upload through nginx reaches the backend that holds the session.
        rerun_after(second, second.locator(".st-key-ik_source").get_by_text("Your picture").click)
        rerun_after(second, lambda: second.locator(".st-key-ik_upload input[type=file]").set_input_files(
            files=[{"name": "red.png", "mimeType": "image/png", "buffer": png_bytes()}]
        ))  # fmt: skip
        expect(second.get_by_text("red.png").first).to_be_visible()
        expect(second.locator('[data-testid="stAlertContentError"]')).to_have_count(0)
        clean(second)
        second.screenshot(path=str(screenshots_dir / "deploy_upload_through_nginx.png"), full_page=True)

    finally:
        first_ctx.close()
        second_ctx.close()

    # Every websocket and upload went to the backend its cookie names, never to the other one
    # (nginx logs a websocket when it closes).
    other = {one: two, two: one}
    for backend, what in ((one, "stream"), (two, "stream"), (two, "upload_file")):
        pattern = rf'/_stcore/{what}.*" (101|20\d) .*cookie="{re.escape(backend)}"'
        logged = functools.partial(served.lines_for, backend, pattern)
        wait_until(logged, 10, 0.25, f"{what} to {backend} in the access log")
        assert not served.lines_for(other[backend], rf'/_stcore/{what}.*cookie="{re.escape(backend)}"')


def test_a_forged_cookie_cannot_pick_an_address(served: Served, browser: Browser) -> None:
    context = browser.new_context()
    try:
        context.add_cookies([{"name": "cnnviz_backend", "value": "10.0.0.1:80", "url": served.url}])
        page = context.new_page()
        page.set_default_timeout(RUN_TIMEOUT_MS)
        page.goto(f"{served.url}/Pooling")
        settle(page)
        expect(page.locator('[data-testid="stMain"] h1').first).to_have_text("Pooling")
        assert not any("10.0.0.1" in line.split("cookie=")[0] for line in served.access_log())
        assert backend_of(context) in served.backends  # the answer replaced the forged value
    finally:
        context.close()


def parent_of(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def filter_with(page: Page, kernel: str) -> None:
    """Pick another kernel; the filtered picture's caption ("<kernel>: <height>×<width>") follows."""
    choose(page, "ik_kernel", kernel)
    caption = page.locator('[data-testid="stImageCaption"]').nth(1)
    expect(caption).to_contain_text(kernel)
    expect(caption).to_contain_text("30×40")  # the uploaded picture's height × width ('same' padding)


def pick_own_picture(page: Page) -> None:
    rerun_after(page, page.locator(".st-key-ik_source").get_by_text("Your picture").click)


def send_picture(page: Page, name: str) -> None:
    """Upload a 40×30 PNG into the picture box (shown once "Your picture" is picked)."""
    rerun_after(page, lambda: page.locator(".st-key-ik_upload input[type=file]").set_input_files(
        files=[{"name": name, "mimeType": "image/png", "buffer": png_bytes()}]
    ))  # fmt: skip
    expect(page.get_by_text(name).first).to_be_visible()
    expect(page.locator('[data-testid="stAlertContentError"]')).to_have_count(0)


def test_a_backend_killed_mid_class_moves_its_students_and_is_restarted(
    served: Served, browser: Browser, screenshots_dir: Path
) -> None:
    contexts: list[BrowserContext] = []
    try:
        # A student on each backend: the one whose backend will die works with pictures, the other pools.
        sessions: list[str] = []
        victim_ctx, victim = visit(
            browser, f"{served.url}/Image_kernels", lambda p: record_session_ids(p, sessions)
        )
        contexts.append(victim_ctx)
        assert sessions, "the victim's page got no session id"
        first_session = sessions[-1]
        pick_own_picture(victim)  # the picture box is open when the backend dies
        doomed = backend_of(victim_ctx)
        for _ in range(3):  # new visitors go round the backends: the next lands on the other one
            other_ctx, other = visit(browser, f"{served.url}/Pooling")
            contexts.append(other_ctx)
            if backend_of(other_ctx) != doomed:
                break
        live = backend_of(other_ctx)
        assert {doomed, live} == set(served.backends)
        client = cookie(victim_ctx, "cnnviz_client")
        port = int(doomed.rsplit(":", 1)[1])
        old_pid = server_pid(port)

        os.kill(old_pid, signal.SIGKILL)
        killed = time.monotonic()

        # The killed backend's student reconnects; the answer moves their cookie to the live backend.
        wait_until(
            lambda: backend_of(victim_ctx) == live, 45, 0.2, "the victim's cookie names the live backend"
        )
        moved = time.monotonic() - killed

        # The other backend's student keeps working: a control change reruns over the websocket.
        set_number(other, "pl_height", 8)
        expect(other.locator(".st-key-pl_pool").get_by_text("max pooled 4×3")).to_be_visible()
        clean(other)
        assert backend_of(other_ctx) == live
        survivor_done = time.monotonic() - killed

        # The victim's page works again on its new session: an upload first, then a control change.
        expect(victim.locator('[data-testid="stMain"] h1').first).to_have_text("Image kernels")
        settle(victim)
        send_picture(victim, "after.png")
        filter_with(victim, "box blur")
        clean(victim)
        assert backend_of(victim_ctx) == live
        assert sessions[-1] != first_session  # a new session (the old one died with its process)
        works_again = time.monotonic() - killed
        victim.screenshot(path=str(screenshots_dir / "deploy_after_failover.png"), full_page=True)

        # serve_class.py restarts the killed backend: a new process of its own answers on the same port.
        wait_until(
            lambda: healthy_pid(port) not in (None, old_pid),
            90,
            0.2,
            f"a new app process healthy on {doomed}",
        )
        restarted = time.monotonic() - killed
        assert parent_of(server_pid(port)) == served.proc.pid
        assert re.search(rf"app\d \(pid {old_pid}\) exited with -9; restarting in", served.log())
        wait_until(lambda: "is up again" in served.log(), 10, 0.2, "the script says it is up again")
        # New visitors are sent to it again.
        landed = {new_visitor_backend(served.url) for _ in range(6)}
        assert doomed in landed, landed
    finally:
        for context in contexts:
            context.close()

    # The access log agrees: after the kill, the victim's upload (to its new session) and its websocket
    # reached the live backend (nginx logs a websocket when it closes).
    fresh = rf'/_stcore/upload_file/{sessions[-1]}/.*" 204 .*cookie="{re.escape(live)}" client="{client}"'
    assert served.lines_for(live, fresh), served.access_log()[-20:]
    wait_until(lambda: served.lines_for(live, rf'"GET /_stcore/stream.*" 101 .*client="{client}"'), 15, 0.2,
               "the victim's websocket on the live backend in the log")  # fmt: skip
    print(f"\nfail-over, seconds after the kill: the victim's cookie moved {moved:.1f}, the other backend's "
          f"student had rerun {survivor_done:.1f}, the victim's page worked again (upload, rerun) "
          f"{works_again:.1f}, the killed backend was back {restarted:.1f}")  # fmt: skip


def test_nginx_killed_is_restarted_by_the_script(served: Served) -> None:
    old = int((served.run_dir / "nginx.pid").read_text())
    assert parent_of(old) == served.proc.pid
    os.kill(old, signal.SIGKILL)  # the master; its workers are left behind, holding the port
    killed = time.monotonic()

    def answers() -> bool:
        try:
            with urllib.request.urlopen(f"{served.url}/_stcore/health", timeout=2) as response:
                return response.read().strip() == b"ok"
        except OSError:
            return False

    wait_until(lambda: "nginx is up again" in served.log(), 30, 0.2, "nginx is up again")
    wait_until(answers, 10, 0.2, "the class is served through nginx again")
    new = int((served.run_dir / "nginx.pid").read_text())
    assert new != old and parent_of(new) == served.proc.pid
    assert f"nginx (pid {old}) exited with -9; restarting in" in served.log()
    print(f"\nnginx killed: serving again after {time.monotonic() - killed:.1f} s")


def healthy_pid(port: int) -> int | None:
    """The pid listening on `port` if it answers Streamlit's health check, else None."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as response:
            if response.read().strip() != b"ok":
                return None
        return server_pid(port)
    except (OSError, RuntimeError):
        return None


def new_visitor_backend(url: str) -> str:
    """The backend nginx picks for a request without cookies (from the cookie it sets)."""
    with urllib.request.urlopen(f"{url}/_stcore/health", timeout=10) as response:
        found = re.findall(r"cnnviz_backend=([^;]+)", " ".join(response.headers.get_all("Set-Cookie") or []))
    assert len(found) == 1
    return found[0]


def record_session_ids(page: Page, into: list[str]) -> None:
    """Collect the Streamlit session id each of the page's websockets is given (new_session message).

    Playwright delivers the frames while the test calls into it (an `expect`, a click), not during a sleep.
    """

    def on_frame(payload: bytes | str) -> None:
        if isinstance(payload, bytes):
            msg = ForwardMsg()
            msg.ParseFromString(payload)
            if msg.WhichOneof("type") == "new_session" and msg.new_session.initialize.session_id:
                into.append(msg.new_session.initialize.session_id)

    def on_websocket(ws: WebSocket) -> None:
        ws.on("framereceived", on_frame)

    page.on("websocket", on_websocket)


def hammer(url: str, cookies: str, count: int, into: Counter[int]) -> None:
    """Send `count` requests one after another on one connection, as a script would; count the statuses."""
    import http.client

    host, port = url.rsplit("/", 1)[-1].split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        for _ in range(count):
            conn.request("GET", "/_stcore/health", headers={"Cookie": cookies} if cookies else {})
            response = conn.getresponse()
            response.read()
            into[response.status] += 1
            if response.getheader("Connection", "").lower() == "close":
                conn.close()
                conn = http.client.HTTPConnection(host, int(port), timeout=10)
    finally:
        conn.close()


def test_a_flood_from_one_client_is_turned_away_while_another_is_served(
    served: Served, browser: Browser
) -> None:
    limits = Limits()
    sessions: list[str] = []
    contexts: list[BrowserContext] = []
    try:
        flood_ctx, _ = visit(
            browser, f"{served.url}/Image_kernels", lambda p: record_session_ids(p, sessions)
        )
        contexts.append(flood_ctx)
        assert sessions, "the flooding client's page got no session id"

        # Uploads: the client's own session takes files up to its burst, then it is turned away.
        big = secrets.token_bytes(1 << 20)
        xsrf = cookie(flood_ctx, "_streamlit_xsrf")
        statuses = []
        for i in range(limits.client_upload_burst + 4):
            response = flood_ctx.request.put(
                f"{served.url}/_stcore/upload_file/{sessions[-1]}/made-up-{i}",
                multipart={"file": {"name": f"big{i}.png", "mimeType": "image/png", "buffer": big}},
                headers={"X-Xsrftoken": xsrf},
            )
            statuses.append(response.status)
        allowed = limits.client_upload_burst + 1
        assert statuses == [204] * allowed + [429] * (len(statuses) - allowed), statuses

        # Requests: a script hammering with the client's cookies, while another student works.
        flooded: Counter[int] = Counter()
        cookies = "; ".join(f"{c['name']}={c['value']}" for c in flood_ctx.cookies())
        count = limits.client_burst + 300
        flood = threading.Thread(target=hammer, args=(served.url, cookies, count, flooded))
        started = time.monotonic()
        flood.start()
        other_ctx, other = visit(browser, f"{served.url}/Image_kernels")
        contexts.append(other_ctx)
        pick_own_picture(other)
        send_picture(other, "mine.png")
        filter_with(other, "box blur")
        clean(other)
        flood.join(timeout=60)
        took = time.monotonic() - started
        assert not flood.is_alive() and sum(flooded.values()) == count
        assert set(flooded) == {200, 429}, flooded
        # At most the burst and what the rate refilled while it ran; the rest was turned away.
        assert flooded[200] <= limits.client_burst + limits.client_rate * took + 1, (flooded, took)
        assert flooded[429] >= 100, flooded

        # A script that keeps no cookies is limited too (by address).
        anonymous: Counter[int] = Counter()
        hammer(served.url, "", limits.nginx_values()["anonymous_burst"] + 300, anonymous)
        assert anonymous[429] >= 100, anonymous

        # The other student was never limited; the flood's rejections are in the log.
        other_client = cookie(other_ctx, "cnnviz_client")
        mine = [line for line in served.access_log() if f'client="{other_client}"' in line]
        assert mine and not [line for line in mine if '" 429 ' in line], mine[-5:]
        theirs = cookie(flood_ctx, "cnnviz_client")
        assert [line for line in served.access_log() if '" 429 ' in line and f'client="{theirs}"' in line]
    finally:
        for context in contexts:
            context.close()
