"""A worker process started while a page runs does not run the page again (it re-imports no script)."""

from __future__ import annotations

import time

from streamlit.testing.v1 import AppTest

STARTED: list = []


def page_that_starts_a_worker() -> None:
    from cnnviz.training.worker import Worker
    from tests.training.test_worker import STARTED

    STARTED.append(Worker())


def test_a_worker_started_from_a_page_run_stays_up() -> None:
    at = AppTest.from_function(page_that_starts_a_worker, default_timeout=120).run()
    assert not at.exception
    (worker,) = STARTED
    try:
        # No condition to wait for: the check is that the child stays up for 3 s (one that re-ran the
        # page's script died within a second), so this looks at it every 0.1 s until then.
        deadline = time.monotonic() + 3.0
        while time.monotonic() < deadline:
            assert worker.process.exitcode is None, worker.process.exitcode
            time.sleep(0.1)
        assert worker.alive
    finally:
        worker.close()
        STARTED.clear()
