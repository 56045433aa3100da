"""The one polling wait the tests use outside a browser: wait on a condition with a deadline, never a fixed sleep."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_until(condition: Callable[[], T], timeout: float = 10.0, every: float = 0.05, what: str = "") -> T:
    """Call `condition()` every `every` seconds until it returns something true, and return that.

    After `timeout` seconds fail with an AssertionError naming `what` (or the condition) and its last value.
    `condition` may also do something each round (touch a run, check that a process is still up).
    """
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            name = what or getattr(condition, "__name__", "the condition")
            raise AssertionError(f"{name}: not within {timeout:g} s (last: {value!r})")
        time.sleep(every)
