"""The Streamlit settings suit a public classroom: XSRF on, small uploads, no tracebacks, no telemetry."""

from __future__ import annotations

import tomllib

from streamlit import config as st_config
from streamlit.testing.v1 import AppTest

from cnnviz.images.loading import MAX_FILE_BYTES
from tests.conftest import REPO_ROOT

CONFIG = REPO_ROOT / ".streamlit" / "config.toml"


def settings() -> dict[str, object]:
    """The file's options as "section.name" -> value."""
    data = tomllib.loads(CONFIG.read_text(encoding="utf-8"))
    flat: dict[str, object] = {}

    def walk(prefix: str, table: dict) -> None:
        for name, value in table.items():
            if isinstance(value, dict):
                walk(f"{prefix}{name}.", value)
            else:
                flat[f"{prefix}{name}"] = value

    walk("", data)
    return flat


def test_every_option_is_one_streamlit_knows() -> None:
    known = set(st_config._config_options_template)
    assert [name for name in settings() if name not in known] == []


def test_classroom_security_settings() -> None:
    s = settings()
    assert s["server.enableXsrfProtection"] is True
    assert s["client.showErrorDetails"] == "none"
    assert s["client.toolbarMode"] == "viewer"
    assert s["browser.gatherUsageStats"] is False
    assert s["server.fileWatcherType"] == "none"
    assert s["server.headless"] is True
    assert "server.cookieSecret" not in s  # a secret never lives in the repository


def test_upload_cap_matches_the_picture_loader() -> None:
    cap_mb = settings()["server.maxUploadSize"]
    assert isinstance(cap_mb, int) and 1 <= cap_mb <= 50
    assert cap_mb * 1024 * 1024 == MAX_FILE_BYTES


def test_a_crash_shows_no_traceback_or_message() -> None:
    def page() -> None:
        raise RuntimeError("internal detail: /srv/secret/path")

    at = AppTest.from_function(page, default_timeout=30).run()
    assert len(at.exception) == 1
    shown = at.exception[0]
    assert "secret" not in shown.value and not any("secret" in line for line in shown.stack_trace)
