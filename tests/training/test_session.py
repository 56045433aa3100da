"""The page's liveness check: true while the Streamlit session is connected, then for a short grace."""

from __future__ import annotations

from cnnviz.ui.training_session import SessionLiveness, session_liveness


class Registry:
    """Stands in for the runtime's table of connected sessions."""

    def __init__(self) -> None:
        self.connected = {"abc"}

    def is_connected(self, session_id: str) -> bool:
        return session_id in self.connected


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_alive_while_connected_and_for_the_grace_after_a_disconnect() -> None:
    registry, clock = Registry(), Clock()
    alive = SessionLiveness("abc", registry.is_connected, grace=20.0, clock=clock)
    assert alive()
    clock.now += 1000  # a long page visit elsewhere: still connected
    assert alive()
    registry.connected.clear()  # the tab closed or the network dropped
    assert alive()
    clock.now += 19.9
    assert alive()
    clock.now += 0.2
    assert not alive()


def test_connected_is_the_session_right_now_while_alive_keeps_the_grace() -> None:
    registry, clock = Registry(), Clock()
    alive = SessionLiveness("abc", registry.is_connected, grace=20.0, clock=clock)
    assert alive.connected() and alive()
    registry.connected.clear()
    clock.now += 5
    assert not alive.connected() and alive()  # a queued run waits; a training one goes on
    registry.connected.add("abc")
    assert alive.connected()


def test_a_reconnect_within_the_grace_resets_it() -> None:
    registry, clock = Registry(), Clock()
    alive = SessionLiveness("abc", registry.is_connected, grace=20.0, clock=clock)
    registry.connected.clear()
    assert alive()
    clock.now += 15
    registry.connected.add("abc")
    assert alive()
    registry.connected.clear()
    assert alive()
    clock.now += 15
    assert alive()  # the grace counts from the latest disconnect, not the first
    clock.now += 6
    assert not alive()


def test_only_a_truthy_true_counts_as_connected() -> None:
    alive = SessionLiveness("abc", lambda _sid: "yes", grace=0.0)  # type: ignore[arg-type,return-value]
    assert not alive()


def test_outside_a_streamlit_server_there_is_no_check() -> None:
    assert session_liveness() is None  # the scheduler then falls back to its unpolled timeout
