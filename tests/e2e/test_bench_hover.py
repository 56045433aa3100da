"""bench_hover moves the real mouse over the explorer's hover grid and times each highlight's paint."""

from __future__ import annotations

import pytest

from bench.bench_hover import main
from tests.e2e.conftest import chromium_path

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.xdist_group("browser")]


def test_a_short_run_times_every_hover_and_a_click(
    app_url: str, browser: object, capsys: pytest.CaptureFixture[str]
) -> None:
    report = main(
        ["--url", app_url, "--hovers", "24", "--clicks", "2", "--chromium", chromium_path()], browser
    )
    assert len(report.hovers) + report.missed == 24
    assert len(report.hovers) >= 20  # each hover found its cell highlighted by the frame after it
    assert all(0 < ms < 5_000 for ms in report.hovers)
    assert report.sent_while_hovering == 0
    assert len(report.clicks) == 2 and all(ms > 0 for ms in report.clicks)
    out = capsys.readouterr().out
    assert "hover → highlight painted: median" in out and "ratio hover / click" in out
