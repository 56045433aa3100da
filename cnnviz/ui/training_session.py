"""How long a training run may live: as long as the browser tab that started it.

The core (`cnnviz.training.runs`) takes any `alive()` callable. This module makes one from a heartbeat:
every page (through `page_header`) beats it on each run, and while the session has a run, a small timed
fragment in the sidebar beats it every few seconds, whatever page the student is on. A closed tab stops
its fragments, so its heartbeat stops and, after a short grace, its run ends and frees its memory. Only
Streamlit's public API is used: a fragment's timer runs exactly while the browser tab is connected.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import streamlit as st

__all__ = ["BEAT_EVERY", "DISCONNECT_GRACE", "SessionLiveness", "keep_alive", "session_liveness"]

# A dropped connection (a laptop lid, a flaky network) reconnects within this many seconds; a closed tab
# never does. The scheduler asks about every queued run twice a second, so a queued run whose tab has gone
# is dropped, never started, and a running one is stopped, once the grace has passed.
DISCONNECT_GRACE = 20.0
BEAT_EVERY = 5.0  # seconds between the heartbeats of a connected tab that holds a run
_KEY = "_cnnviz_liveness"


class SessionLiveness:
    """A heartbeat: connected while beats keep coming, alive until `grace` seconds after they stopped.

    Called from the scheduler's thread while the page's thread beats it: every method takes the lock.
    """

    def __init__(
        self,
        grace: float = DISCONNECT_GRACE,
        beat_every: float = BEAT_EVERY,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._grace = grace
        self._beat_every = beat_every
        self._clock = clock
        self._lock = threading.Lock()
        self._last = clock()

    def beat(self) -> None:
        """The tab is there now."""
        with self._lock:
            self._last = self._clock()

    def connected(self) -> bool:
        """Whether the tab is there right now: a beat within two intervals (one may be late under load)."""
        with self._lock:
            return self._clock() - self._last <= 2 * self._beat_every

    def __call__(self) -> bool:
        """Whether the run's owner may still come back: connected, or gone for less than the grace."""
        with self._lock:
            return self._clock() - self._last < 2 * self._beat_every + self._grace


def session_liveness() -> SessionLiveness | None:
    """This session's liveness check (beaten now), or None when no browser is behind the run.

    None (a test harness, a bare `python page.py`: no request headers) lets the scheduler fall back to its
    unpolled timeout.
    """
    if not st.context.headers:
        return None
    liveness = st.session_state.get(_KEY)
    if not isinstance(liveness, SessionLiveness):
        liveness = SessionLiveness()
        st.session_state[_KEY] = liveness
    liveness.beat()
    return liveness


def keep_alive() -> None:
    """Beat this session's heartbeat, and keep beating it from a timed fragment while the tab is open.

    Does nothing for sessions that never started a run (no fragment, no timer).
    """
    liveness = st.session_state.get(_KEY)
    if not isinstance(liveness, SessionLiveness):
        return
    liveness.beat()

    @st.fragment(run_every=BEAT_EVERY)
    def heartbeat() -> None:
        liveness.beat()

    with st.sidebar.container(key="cnnviz-heartbeat"):
        heartbeat()
