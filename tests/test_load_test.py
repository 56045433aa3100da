"""The load test drives the pages it names (each reply is checked to be that page) and reports sane figures."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.load_test import (
    PAGE_ACTIONS,
    TRAINING_PAGE,
    Report,
    WrongPageError,
    free_port,
    main,
    open_session,
    page_titles,
    percentile,
    start_server,
    stop_server,
)

pytestmark = pytest.mark.slow

PAGES = ["Pooling", "Network_builder", "Transposed_convolution", "Image_kernels"]


@pytest.fixture(scope="module")
def app_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One `streamlit run app.py` for the module, always stopped."""
    port = free_port()
    proc = start_server(port, Path(tmp_path_factory.mktemp("load")) / "server.log")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_server(proc)


def test_percentile_interpolates_like_numpy() -> None:
    values = [5.0, 1.0, 3.0, 2.0, 4.0]
    assert percentile(values, 50) == 3.0
    assert percentile(values, 95) == pytest.approx(4.8)
    assert percentile(values, 0) == 1.0 and percentile(values, 100) == 5.0
    assert percentile([], 95) == 0.0


def test_page_titles_come_from_each_pages_header_call() -> None:
    titles = page_titles()
    assert set(PAGE_ACTIONS) | {TRAINING_PAGE} <= set(titles)
    assert titles["Pooling"] == "Pooling" and titles["Network_builder"] == "Network builder"
    assert titles["Convolution_1D"] == "Convolution in 1D"


def test_every_session_drives_its_own_page_and_figures_are_sane(
    app_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    report: Report = main(["--url", app_url, "--sessions", "4", "--duration", "8", "--think", "0.5",
                           "--pages", ",".join(PAGES)])  # fmt: skip
    assert report.errors == 0 and report.wrong_page_replies == 0, report.error_samples
    titles = page_titles()
    # Each page answered every full run with its own title, and nothing else (not the home page's).
    assert report.titles_by_page == {page: [titles[page]] for page in [*PAGES, TRAINING_PAGE]}
    assert set(report.interactions_by_page) == set(PAGES) and min(report.interactions_by_page.values()) >= 2
    assert report.page_exceptions == 0
    assert report.training_active and report.training_runs_started >= 1 and report.training_progress > 0
    assert (
        0 < report.latency_p50_ms <= report.latency_p95_ms <= report.latency_p99_ms <= report.latency_max_ms
    )
    assert report.latency_max_ms < 60_000 and report.first_load_p50_ms > 0
    assert 50 < report.server_rss_before_mb < 4000 and 50 < report.server_rss_after_mb < 4000
    assert math.isfinite(report.rss_per_session_mb) and abs(report.rss_per_session_mb) < 500
    assert 0 < report.server_cpu_percent < 400 and report.server_cpu_ms_per_interaction > 0
    printed = capsys.readouterr().out
    assert "interaction latency: p50" in printed and "MB per session" in printed


def test_a_reply_from_another_page_is_an_error(app_url: str) -> None:
    async def scenario() -> None:
        # The old mistake: rerunning with the main script's hash answers with the home page.
        session, _ = await open_session(app_url, "Pooling", "Pooling")
        try:
            key, values = PAGE_ACTIONS["Pooling"]
            await session.run([(key, "int_value", values[0])])  # its own hash: fine
            session.page_script_hash = session.app_pages[""]
            with pytest.raises(WrongPageError, match="Pooling: asked for this page, the server ran home"):
                await session.run([(key, "int_value", values[1])])
        finally:
            await session.ws.close()
        # The right page but another title than expected: also an error.
        with pytest.raises(WrongPageError, match="expected the title 'Image kernels'"):
            await open_session(app_url, "Pooling", "Image kernels")

    asyncio.run(scenario())
