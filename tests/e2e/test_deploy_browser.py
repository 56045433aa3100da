"""Two app processes behind nginx (deploy/serve_class.py): pages load, reruns and uploads pass through the
websocket and the proxy, each browser stays on its backend, and two browsers land on different backends."""

from __future__ import annotations

import io
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.conftest import REPO_ROOT
from tests.e2e.actions import RUN_TIMEOUT_MS, rerun_after, set_number, settle
from tests.e2e.conftest import free_port, log_tail

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
    """The running class: its nginx URL, backend addresses and logs."""

    def __init__(self, url: str, backends: list[str], run_dir: Path) -> None:
        self.url, self.backends, self.run_dir = url, backends, run_dir

    def access_log(self) -> list[str]:
        return (self.run_dir / "access.log").read_text(errors="replace").splitlines()

    def lines_for(self, backend: str, pattern: str) -> list[str]:
        """Access-log lines served by `backend` whose request matches `pattern`."""
        return [line for line in self.access_log() if f"backend={backend}" in line and re.search(pattern, line)]


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
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while b"serving on" not in log.read_bytes():
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"serve_class.py did not start:\n{log_tail(log)}")
            time.sleep(0.5)
        yield Served(f"http://127.0.0.1:{port}", [f"127.0.0.1:{first}", f"127.0.0.1:{first + 1}"], run_dir)
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


def visit(browser: Browser, url: str) -> tuple[BrowserContext, Page]:
    """A fresh browser (own cookies) on `url`, settled."""
    context = browser.new_context(viewport={"width": 1440, "height": 1600})
    page = context.new_page()
    page.set_default_timeout(RUN_TIMEOUT_MS)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.js_errors = errors  # type: ignore[attr-defined]
    page.goto(url)
    settle(page)
    return context, page


def backend_of(context: BrowserContext) -> str:
    values = [c["value"] for c in context.cookies() if c["name"] == "cnnviz_backend"]
    assert len(values) == 1, context.cookies()
    return values[0]


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
        expect(first.locator('[data-testid="stSidebar"] [data-testid="stCode"]')).to_contain_text(
            f"{served.url}/Pooling"
        )
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
        deadline = time.monotonic() + 10
        while not served.lines_for(backend, pattern) and time.monotonic() < deadline:
            time.sleep(0.25)
        assert served.lines_for(backend, pattern), (backend, what, served.access_log()[-20:])
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
    finally:
        context.close()
