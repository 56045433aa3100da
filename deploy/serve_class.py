"""Serve cnnviz to a class: N app processes on loopback ports, nginx in front with sticky sessions.

    python deploy/serve_class.py --backends 2 --port 8080

Stops everything it started on Ctrl-C or SIGTERM, and when any of its processes dies. See deploy/README.md.
"""

from __future__ import annotations

import argparse
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
from dataclasses import dataclass, field
from pathlib import Path
from string import Template

REPO = Path(__file__).resolve().parents[1]
TEMPLATE = Path(__file__).with_name("nginx.conf.template")
UPLOAD_CAP_MB = 25  # .streamlit/config.toml's server.maxUploadSize
START_TIMEOUT = 120.0


def port_is_free(address: str, port: int) -> bool:
    """Whether nothing listens on address:port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        return sock.connect_ex((address, port)) != 0


def render_nginx_conf(address: str, port: int, backends: list[int], run_dir: Path, temp_dir: Path) -> str:
    """nginx.conf for these backend ports: sticky cookie, websocket upgrade, uploads on the same backend."""
    addrs = [f"127.0.0.1:{p}" for p in backends]
    cookie_map = "\n".join(f'        "{a}" cnnviz_b{i};' for i, a in enumerate(addrs))
    pool = "\n".join(f"        server {a} max_fails=1 fail_timeout=5s;" for a in addrs)
    pinned = []
    for i, a in enumerate(addrs):
        standby = "".join(f" server {b} backup;" for b in addrs if b != a)
        pinned.append(f"    upstream cnnviz_b{i} {{ server {a} max_fails=1 fail_timeout=5s;{standby} }}")
    return Template(TEMPLATE.read_text(encoding="utf-8")).substitute(
        run_dir=run_dir,
        temp_dir=temp_dir,
        address=address,
        port=port,
        max_body_mb=UPLOAD_CAP_MB + 1,
        cookie_map=cookie_map,
        pool_servers=pool,
        pinned_upstreams="\n".join(pinned),
    )


def healthy(url: str) -> bool:
    """Whether Streamlit's health endpoint at `url` answers "ok"."""
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
            return response.status == 200 and response.read().strip() == b"ok"
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return False


@dataclass
class Class:
    """The processes serving one class, and where their logs go."""

    run_dir: Path
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def start(self, name: str, cmd: list[str], env: dict[str, str] | None = None) -> None:
        """Start one process in its own process group, logging to run_dir/<name>.log."""
        log = (self.run_dir / f"{name}.log").open("wb")
        self.procs[name] = subprocess.Popen(
            cmd, cwd=REPO, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env=env, start_new_session=True,
        )  # fmt: skip
        log.close()

    def dead(self) -> str | None:
        """The name of a process that has exited, if any."""
        return next((name for name, p in self.procs.items() if p.poll() is not None), None)

    def stop(self) -> None:
        """SIGTERM every process group, then SIGKILL what lingers."""
        for proc in self.procs.values():
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + 15
        for proc in self.procs.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.wait(timeout=5)

    def wait_healthy(self, name: str, url: str) -> None:
        """Block until `url` is healthy; raise if the process dies or it takes too long."""
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.procs[name].poll() is not None:
                raise RuntimeError(f"{name} exited; see {self.run_dir / (name + '.log')}")
            if healthy(url):
                return
            time.sleep(0.25)
        raise RuntimeError(f"{name} did not become healthy in {START_TIMEOUT:.0f} s")


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
    parser.add_argument("--run-dir", type=Path, default=None, help="config and logs (default: a temp folder)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not 1 <= args.backends <= 16:
        raise SystemExit("--backends must be between 1 and 16")
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
    conf.write_text(
        render_nginx_conf(args.address, args.port, ports, run_dir.resolve(), temp_dir), encoding="utf-8"
    )

    served = Class(run_dir)
    stopping = False

    def on_signal(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    # Every process must sign cookies (XSRF) with the same secret, or a session moved by the proxy breaks.
    env = {**os.environ, "STREAMLIT_SERVER_COOKIE_SECRET": secrets.token_hex(32)}
    try:
        for i, port in enumerate(ports):
            served.start(f"app{i}", [
                sys.executable, "-m", "streamlit", "run", "app.py",
                "--server.address", "127.0.0.1", "--server.port", str(port),
                "--server.headless", "true", "--server.fileWatcherType", "none",
                "--browser.gatherUsageStats", "false",
            ], env)  # fmt: skip
        for i, port in enumerate(ports):
            served.wait_healthy(f"app{i}", f"http://127.0.0.1:{port}")
        served.start("nginx", [nginx, "-p", str(run_dir), "-c", str(conf), "-e", str(run_dir / "error.log"),
                               "-g", "daemon off;"])  # fmt: skip
        served.wait_healthy("nginx", f"http://127.0.0.1:{args.port}")
        print(f"cnnviz: serving on http://{args.address}:{args.port} with {args.backends} app processes "
              f"(ports {', '.join(map(str, ports))}); logs in {run_dir}", flush=True)  # fmt: skip
        while not stopping:
            gone = served.dead()
            if gone:
                print(f"cnnviz: {gone} exited; stopping (see {run_dir / (gone + '.log')})", flush=True)
                return 1
            time.sleep(0.5)
        return 0
    except RuntimeError as exc:
        print(f"cnnviz: {exc}", file=sys.stderr, flush=True)
        return 1
    finally:
        served.stop()
        shutil.rmtree(temp_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
