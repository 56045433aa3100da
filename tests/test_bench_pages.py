"""bench_pages measures the page it names, next to the bare app, and reports a renamed control plainly."""

from __future__ import annotations

import json

import pytest

from bench import bench_pages
from bench.bench_pages import BARE_CONTROL, CONTROLS, HOME, Control, app_pages, main, problem
from bench.load_test import Session


def test_every_page_has_a_control_and_every_control_a_page() -> None:
    pages = app_pages()
    assert list(pages)[0] == HOME and pages[HOME] == "cnnviz"
    assert set(CONTROLS) == set(pages)
    for control in CONTROLS.values():
        assert control.kind in {"int_value", "bool_value", "string_value", "trigger_value"}
        assert control.values and control.why


def test_a_missing_key_or_option_is_named_with_what_the_page_has() -> None:
    session = Session(ws=None, page="Pooling", title="Pooling")
    session.widget_ids = {"pl_kernel": "$$ID-1-pl_kernel", "pl_kind": "$$ID-2-pl_kind"}
    session.options = {"pl_kind": ["max", "avg"]}
    assert problem(session, Control("pl_kernel", "int_value", (3,), "")) == ""
    assert problem(session, Control("pl_size", "int_value", (3,), "")) == (
        "no widget with key 'pl_size' (the page has: pl_kernel, pl_kind)"
    )
    assert "has no option ['median']" in problem(session, Control("pl_kind", "string_value", ("median",), ""))


@pytest.mark.slow
def test_a_short_run_measures_the_named_pages_next_to_the_bare_app(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    renamed = Control("tc_stride_renamed", "int_value", (1, 3), "a key the page no longer has")
    monkeypatch.setitem(bench_pages.CONTROLS, "Transposed_convolution", renamed)
    report = main(["--pages", "Home,Pooling,Transposed_convolution", "-n", "2", "--loads", "1", "--json"])
    titles = app_pages()
    assert [r.page for r in report.rows] == ["Home", "Pooling", "Transposed_convolution"]
    assert [r.title for r in report.rows] == [titles[r.page] for r in report.rows]
    for row in report.rows[:2]:
        # Every run's reply was checked to be this page (hash and title): a wrong page would be a note.
        assert row.note == "" and row.exceptions == 0 and isinstance(row.passed, bool)
        assert row.control == CONTROLS[row.page].key and row.changes == 2
        assert len(row.samples_ms) == len(row.bare_samples_ms) == 2
        assert 0 < row.change_p50_ms <= row.change_p90_ms < 60_000
        assert 0 < row.bare_p50_ms <= row.bare_p90_ms < 60_000
        assert row.above_floor_ms == pytest.approx(row.change_p50_ms - row.bare_p50_ms)
        assert row.passed == (row.above_floor_ms < bench_pages.GOAL_MS)
        assert row.first_load_ms > 0 and row.bare_first_load_ms > 0 and row.cold_load_ms > 0
        assert row.cpu_ms_per_change > 0 and row.bare_cpu_ms_per_change >= 0
    missing = report.rows[2]
    assert missing.passed is None and missing.changes == 0 and missing.first_load_ms > 0
    assert "no widget with key 'tc_stride_renamed'" in missing.note and "tc_s" in missing.note
    assert BARE_CONTROL.key == "n" and report.load_average_start and report.cpu_count >= 1
    printed = json.loads(capsys.readouterr().out)
    assert [r["page"] for r in printed["rows"]] == ["Home", "Pooling", "Transposed_convolution"]
    assert "not measured: no widget with key" in report.text()
