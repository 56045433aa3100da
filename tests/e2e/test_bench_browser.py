"""bench_browser opens the page it names in Chromium and times the figure's repaint after a real input."""

from __future__ import annotations

import json

import pytest

from bench.bench_browser import GOAL_CLICK_MS, GOAL_LOAD_MS, main
from bench.bench_pages import CONTROLS, app_pages
from tests.e2e.conftest import chromium_path

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.xdist_group("browser")]


def test_a_short_run_loads_each_named_page_and_times_its_figure(
    app_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    report = main(["--url", app_url, "--pages", "Home,Pooling", "--changes", "2", "--chromium", chromium_path(),
                   "--json"])  # fmt: skip
    titles = app_pages()
    home, pooling = report.rows
    assert (home.page, pooling.page) == ("Home", "Pooling")
    # A load counts only once the page's own title is on screen, so these are the pages named.
    assert (home.title, pooling.title) == (titles["Home"], titles["Pooling"])
    for row in report.rows:
        assert row.exceptions == 0 and row.js_errors == [] and isinstance(row.passed, bool)
        assert 0 < row.first_load_ms < 90_000 and 0 < row.repeat_load_ms < 90_000
        assert 0 < row.next_visitor_ms < 90_000  # a new browser's first load, the page already run
        assert row.http_bytes > 100_000 and row.http_requests > 1 and row.ws_bytes > 0
        assert row.repeat_http_bytes < row.http_bytes  # the second visit reads the cache
        assert len(row.changes) == 2 and all(c["ws_bytes"] > 0 for c in row.changes)
        assert all(0 < c["click_to_settled_ms"] < 90_000 for c in row.changes)
    # Home has no figure: its presentation switch is judged by the main area.
    assert home.figure == "" and "no figure on the page" in home.note
    assert home.passed == (home.first_load_ms < GOAL_LOAD_MS and home.click_to_settled_ms < GOAL_CLICK_MS)
    # On Pooling each new kernel size redraws the main figure; the paint comes no later than the page's.
    assert pooling.control == CONTROLS["Pooling"].key and pooling.figure in (
        "cnnviz-main-figure",
        "first chart",
    )
    assert pooling.note == "" and all(c["figure_redrawn"] for c in pooling.changes)
    assert all(0 < c["click_to_paint_ms"] <= c["click_to_settled_ms"] for c in pooling.changes)
    printed = json.loads(capsys.readouterr().out)
    assert [r["page"] for r in printed["rows"]] == ["Home", "Pooling"]
