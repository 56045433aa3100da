"""The load test runs end to end on a small scale and reports sane figures."""

from __future__ import annotations

import math

import pytest

from bench.load_test import Report, main, percentile

pytestmark = pytest.mark.slow


def test_percentile_interpolates_like_numpy() -> None:
    values = [5.0, 1.0, 3.0, 2.0, 4.0]
    assert percentile(values, 50) == 3.0
    assert percentile(values, 95) == pytest.approx(4.8)
    assert percentile(values, 0) == 1.0 and percentile(values, 100) == 5.0
    assert percentile([], 95) == 0.0


def test_three_sessions_for_a_few_seconds_report_sane_figures(capsys: pytest.CaptureFixture[str]) -> None:
    report: Report = main(["--sessions", "3", "--duration", "6", "--think", "0.5",
                           "--pages", "Pooling,Convolution_1D,Transposed_convolution"])  # fmt: skip
    assert report.errors == 0, report.error_samples
    assert report.page_exceptions == 0
    assert report.training_active and report.training_runs_started >= 1
    assert report.sessions == 3 and report.interactions >= 3
    assert set(report.page_p50_ms) == {"Pooling", "Convolution_1D", "Transposed_convolution"}
    assert 0 < report.latency_p50_ms <= report.latency_p95_ms <= report.latency_p99_ms <= report.latency_max_ms
    assert report.latency_max_ms < 60_000
    assert report.first_load_p50_ms > 0
    assert 50 < report.server_rss_before_mb < 4000 and 50 < report.server_rss_after_mb < 4000
    assert math.isfinite(report.rss_per_session_mb) and abs(report.rss_per_session_mb) < 500
    assert 0 < report.server_cpu_percent < 400 and report.server_cpu_ms_per_interaction > 0
    assert 0 < report.client_cpu_percent < 400
    printed = capsys.readouterr().out
    assert "interaction latency: p50" in printed and "MB per session" in printed
