"""How long a training run may live: as long as the browser session that started it.

The core (`cnnviz.training.runs`) takes any `alive()` callable; this module builds one from Streamlit's own registry
of sessions, so a student can visit other pages and come back to a run that kept training, while a closed
tab still ends its run and frees its memory.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from streamlit.runtime import Runtime
from streamlit.runtime.scriptrunner import get_script_run_ctx

__all__ = ["DISCONNECT_GRACE", "SessionLiveness", "session_liveness"]

# A dropped connection (a laptop lid, a flaky network) reconnects to the same session within this many
# seconds; a closed tab never does. Streamlit itself keeps a disconnected session for 120 s
# (server.disconnectedSessionTTL), which is already the whole wall-time cap of a run. The scheduler asks
# about every queued run twice a second, so the grace counts from the moment the tab went, and a queued
# run starts only while its session is connected.
DISCONNECT_GRACE = 20.0


class SessionLiveness:
    """True while session `session_id` is connected, or has been disconnected for under `grace` seconds.

    Called from worker threads: `is_connected` must be thread-safe (a dict lookup in Streamlit's runtime).
    """

    def __init__(
        self,
        session_id: str,
        is_connected: Callable[[str], bool],
        grace: float = DISCONNECT_GRACE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.session_id = session_id
        self._is_connected = is_connected
        self._grace = grace
        self._clock = clock
        self._lock = threading.Lock()
        self._lost_at: float | None = None  # when the session was first seen disconnected

    def connected(self) -> bool:
        """True while the session is connected right now (a queued run starts only then)."""
        return self._is_connected(self.session_id) is True

    def __call__(self) -> bool:
        connected = self.connected()
        now = self._clock()
        with self._lock:
            if connected:
                self._lost_at = None
                return True
            if self._lost_at is None:
                self._lost_at = now
            return now - self._lost_at < self._grace


def session_liveness(grace: float = DISCONNECT_GRACE) -> SessionLiveness | None:
    """This script run's session as a liveness check, or None when the runtime does not track it.

    None (a test harness, a bare `python page.py`) lets the scheduler fall back to its unpolled timeout.
    """
    ctx = get_script_run_ctx(suppress_warning=True)
    if ctx is None or not Runtime.exists():
        return None
    runtime = Runtime.instance()
    if not isinstance(runtime, Runtime):
        return None
    try:
        known = runtime.is_active_session(ctx.session_id) is True
    except Exception:  # a runtime stand-in without a session registry
        return None
    if not known:  # this script is running, so a real runtime lists its session as active
        return None
    return SessionLiveness(ctx.session_id, runtime.is_active_session, grace)
