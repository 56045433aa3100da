"""The page's liveness check: a heartbeat that a connected tab keeps beating, then a short grace."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from cnnviz.ui.training_session import BEAT_EVERY, SessionLiveness, session_liveness


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_alive_while_beaten_and_for_the_grace_after_the_beats_stop() -> None:
    clock = Clock()
    alive = SessionLiveness(grace=20.0, beat_every=5.0, clock=clock)
    for _ in range(200):  # a long visit to other pages: the sidebar's fragment keeps beating
        clock.now += 5.0
        alive.beat()
        assert alive() and alive.connected()
    # The tab closed: no more beats. Connected no longer, alive for the grace (plus two late beats).
    clock.now += 10.1
    assert not alive.connected() and alive()
    clock.now += 19.8
    assert alive()
    clock.now += 0.2
    assert not alive()


def test_a_beat_within_the_grace_brings_it_back() -> None:
    clock = Clock()
    alive = SessionLiveness(grace=20.0, beat_every=5.0, clock=clock)
    clock.now += 25
    assert alive() and not alive.connected()
    alive.beat()  # the laptop lid opened again
    assert alive.connected()
    clock.now += 29
    assert alive()  # the grace counts from the latest beat
    clock.now += 2
    assert not alive()


def test_outside_a_browser_there_is_no_check() -> None:
    def page() -> None:
        import streamlit as st

        from cnnviz.ui.training_session import session_liveness

        st.write(str(session_liveness()))

    at = AppTest.from_function(page).run()
    assert [m.value for m in at.markdown] == ["None"]  # the scheduler then falls back to its unpolled timeout
    assert session_liveness is not None and BEAT_EVERY > 0


def test_every_page_keeps_a_started_runs_heartbeat_going() -> None:
    def page() -> None:
        import streamlit as st

        from cnnviz.ui import page_header
        from cnnviz.ui.training_session import SessionLiveness

        if "started" not in st.session_state:
            st.session_state["started"] = True
            st.session_state["_cnnviz_liveness"] = SessionLiveness(clock=lambda: 0.0)
        page_header("Another page", "A student elsewhere while the run trains.")

    at = AppTest.from_function(page).run()
    assert not at.exception
    # The heartbeat's fragment sits in the sidebar and reruns on a timer while the tab is open.
    assert any(getattr(b, "key", None) == "cnnviz-heartbeat" for b in at.sidebar)
