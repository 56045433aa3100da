"""The tests' polling wait returns what the condition found, and fails with a message at its deadline."""

from __future__ import annotations

import time

import pytest

from tests.waits import wait_until


def test_wait_until_returns_the_first_true_value_of_the_condition() -> None:
    answers = iter([0, None, "", "ready", "later"])
    assert wait_until(lambda: next(answers), timeout=5, every=0.001) == "ready"


def test_wait_until_fails_at_its_deadline_naming_what_it_waited_for() -> None:
    started = time.monotonic()
    with pytest.raises(AssertionError, match=r"the light turned green: not within 0.2 s \(last: False\)"):
        wait_until(lambda: False, timeout=0.2, every=0.01, what="the light turned green")
    assert 0.2 <= time.monotonic() - started < 2.0
