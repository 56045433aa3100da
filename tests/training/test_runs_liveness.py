"""Runs live as long as their owner's session: page switches (no polls) keep them, a closed session ends them.

The session is faked with a flag: `cnnviz.training.runs` only ever calls the liveness check it is given.
"""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
import torch

from cnnviz.training.runs import RunScheduler, RunStatus, TrainingRun
from cnnviz.training.trainer import TrainConfig, TrainingError, recommended_config
from tests.waits import wait_until

WORKER_PREFIX = "cnnviz-train-"


def workers_alive() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith(WORKER_PREFIX) and t.is_alive()]


def long_config(**changes) -> TrainConfig:
    """A digits run far longer than any test waits for."""
    return recommended_config("digits", "convnet", epochs=5000, **changes)


class FakeSession:
    """A browser session that is open until `close()`; counts how often it was asked."""

    def __init__(self) -> None:
        self.open = True
        self.calls = 0

    def __call__(self) -> bool:
        self.calls += 1
        return self.open

    def close(self) -> None:
        self.open = False


@pytest.fixture(autouse=True)
def one_torch_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def cleanup():
    """Stops every run and scheduler after the test, then checks that no worker thread is left."""
    things: list[object] = []
    yield things
    for thing in things:
        if isinstance(thing, RunScheduler):
            thing.shutdown()
        else:
            thing.stop(wait=True)
    wait_until(lambda: not workers_alive(), what=f"worker threads ended (left: {workers_alive()})")


def test_an_unpolled_run_keeps_training_while_its_session_lives(cleanup):
    session = FakeSession()
    # abandon_after would end an unpolled run after 0.3 s; with a liveness check it does not apply.
    run = TrainingRun(long_config(), abandon_after=0.3, alive=session, alive_every=0.05)
    cleanup.append(run)
    run.start()
    first = run.wait_for(lambda s: s.step > 0, timeout=60).step  # the first worker of a process starts cold
    assert first > 0
    asked = session.calls
    # The student is on another page: nothing polls the run (status, calls and seconds_since_poll don't).
    wait_until(lambda: run.seconds_since_poll() > 4 * 0.3 and session.calls >= asked + 3, what="unwatched")
    assert run.status is RunStatus.RUNNING  # far past abandon_after, and the worker kept asking
    assert run.state().step > first


def test_a_run_stops_frees_its_model_and_its_thread_when_the_session_ends(cleanup):
    session = FakeSession()
    run = TrainingRun(long_config(), alive=session, alive_every=0.05)
    cleanup.append(run)
    run.start()
    run.wait_for(lambda s: s.step > 0)
    session.close()
    assert run.join(timeout=10)
    state = run.state()
    assert state.status is RunStatus.STOPPED and state.message == "stopped: its browser session ended"
    assert run.thread not in threading.enumerate()
    with pytest.raises(TrainingError, match="model is gone"):
        run.predict(np.zeros((1, 8, 8), dtype=np.float32))  # no one can look: its state was not kept


def test_a_paused_run_of_an_ended_session_stops_too(cleanup):
    session = FakeSession()
    run = TrainingRun(long_config(), alive=session, alive_every=0.05)
    cleanup.append(run)
    run.start()
    run.wait_for(lambda s: s.step > 0)
    assert run.pause()
    asked = session.calls
    wait_until(lambda: session.calls >= asked + 5, what="liveness checks while paused")
    assert run.status is RunStatus.PAUSED  # paused with its session open: it asks, and waits
    session.close()
    assert run.join(timeout=10) and run.status is RunStatus.STOPPED


def test_a_failing_liveness_check_counts_as_a_closed_session(cleanup):
    def broken() -> bool:
        raise RuntimeError("registry gone")

    run = TrainingRun(long_config(), alive=broken, alive_every=0.05)
    cleanup.append(run)
    run.start()
    assert run.join(timeout=10) and "session ended" in run.state().message


def test_the_wall_time_cap_still_ends_a_run_of_a_live_session(cleanup):
    run = TrainingRun(long_config(), alive=FakeSession(), max_seconds=0.5)
    cleanup.append(run)
    run.start()
    state = run.wait_for(lambda s: s.status.done, timeout=20)
    assert state.status is RunStatus.FINISHED and "time limit of 0.5 s" in state.message
    assert run.join(5)


def test_a_run_started_paused_waits_with_a_snapshot_then_steps_once(cleanup):
    run = TrainingRun(long_config(), alive=FakeSession(), start_paused=True)
    cleanup.append(run)
    run.start()
    state = run.wait_for(lambda s: s.snapshot is not None)
    assert state.status is RunStatus.PAUSED and state.step == 0 and state.snapshot.step == 0
    # Nothing to wait for: the point is that no step comes during this while (the worker reports every 0.1 s).
    time.sleep(0.3)
    assert run.state().step == 0
    assert run.step() and run.state().step == 1
    assert run.resume() and run.wait_for(lambda s: s.step > 5).step > 5


def test_scheduler_keeps_unpolled_runs_of_open_sessions_and_drops_closed_ones(cleanup):
    scheduler = RunScheduler(max_active=1, abandon_after=0.3, forget_after=0.3)
    cleanup.append(scheduler)
    alice, bob = FakeSession(), FakeSession()
    running = scheduler.submit("alice", long_config(), alive=alice)
    queued = scheduler.submit("bob", long_config(), alive=bob)
    assert queued.state().queue_position == 1
    # Neither polls, both are on other pages: wait until both went unpolled past abandon_after and the
    # scheduler's watcher has looked at the queued one since.
    asked = bob.calls
    wait_until(
        lambda: (
            min(running.seconds_since_poll(), queued.seconds_since_poll()) > 2 * scheduler.abandon_after
            and bob.calls >= asked + 2
        ),
        what="both unwatched",
    )
    assert scheduler.counts() == (1, 1)
    assert running.status is RunStatus.RUNNING and queued.status is RunStatus.QUEUED

    bob.close()  # bob closed his tab while waiting: his run never starts
    assert scheduler.counts() == (1, 0)
    assert queued.status is RunStatus.STOPPED and queued.thread is None
    assert scheduler.get("bob") is None  # ended and its session gone: forgotten

    running.stop()
    wait_until(
        lambda: running.seconds_since_poll() > scheduler.forget_after, what="unpolled past forget_after"
    )
    assert scheduler.get("alice") is running  # ended and unpolled, but alice is still here to look at it
    alice.close()
    assert scheduler.get("alice") is None


def test_scheduler_submits_a_paused_run(cleanup):
    scheduler = RunScheduler(max_active=1)
    cleanup.append(scheduler)
    run = scheduler.submit("carol", long_config(), alive=FakeSession(), paused=True)
    state = run.wait_for(lambda s: s.snapshot is not None)
    assert state.status is RunStatus.PAUSED and state.step == 0 and state.message == "paused"


class Registry:
    """Stands in for Streamlit's table of connected sessions."""

    def __init__(self, *connected: str) -> None:
        self.connected = set(connected)

    def is_connected(self, session_id: str) -> bool:
        return session_id in self.connected


class SessionLiveness:
    """A session's liveness as the page's heartbeat gives it: connected while `registry` lists the session,
    alive until `grace` seconds after it last did (the scheduler only calls these two)."""

    def __init__(self, name: str, is_connected, grace: float = 20.0) -> None:
        self.name, self.is_connected, self.grace = name, is_connected, grace
        self.lost_at: float | None = None
        self.calls = 0

    def connected(self) -> bool:
        return bool(self.is_connected(self.name))

    def __call__(self) -> bool:
        self.calls += 1
        if self.connected():
            self.lost_at = None
            return True
        self.lost_at = self.lost_at if self.lost_at is not None else time.monotonic()
        return time.monotonic() - self.lost_at < self.grace


def test_a_queued_run_whose_session_went_is_never_started_and_dropped_by_itself(cleanup):
    """Bob closes his tab while his run waits: when the slot frees, the run after his starts, his waits
    out the reconnect grace and is then dropped, with no page asking; it never trains."""
    registry = Registry("alice", "bob", "carol")
    scheduler = RunScheduler(max_active=1, abandon_after=None, watch_every=0.1)
    cleanup.append(scheduler)
    sessions = {name: SessionLiveness(name, registry.is_connected, grace=1.0) for name in registry.connected}
    alice = scheduler.submit("alice", long_config(), alive=sessions["alice"])
    bob = scheduler.submit("bob", long_config(), alive=sessions["bob"])
    carol = scheduler.submit("carol", long_config(), alive=sessions["carol"])
    alice.wait_for(lambda s: s.step > 0)
    registry.connected.discard("bob")  # the tab closed; the grace starts now, not when a slot frees
    wait_until(lambda: sessions["bob"].lost_at is not None, what="the watcher saw bob go")
    alice.stop()
    wait_until(lambda: carol.status is RunStatus.RUNNING, timeout=20.0)  # bob's place is skipped
    assert bob.status is RunStatus.QUEUED and bob.thread is None
    wait_until(lambda: bob.status is RunStatus.STOPPED, timeout=5.0)
    assert bob.thread is None and bob.state().step == 0  # never started
    assert "while it waited" in bob.state().message


def test_a_queued_run_whose_session_reconnects_keeps_its_place(cleanup):
    registry = Registry("alice", "bob")
    scheduler = RunScheduler(max_active=1, abandon_after=None, watch_every=0.1)
    cleanup.append(scheduler)
    alice = scheduler.submit("alice", long_config(), alive=SessionLiveness("alice", registry.is_connected))
    bobs = SessionLiveness("bob", registry.is_connected, 5.0)
    bob = scheduler.submit("bob", long_config(), alive=bobs)
    alice.wait_for(lambda s: s.step > 0)
    registry.connected.discard("bob")  # a flaky network
    alice.stop()
    asked = bobs.calls
    # The slot is free: every look at the queue (these counts, the watcher) finds bob away and leaves his
    # run waiting in its place.
    wait_until(lambda: scheduler.counts() == (0, 1) and bobs.calls >= asked + 3, what="bob looked at")
    assert bob.status is RunStatus.QUEUED and bob.state().queue_position == 1  # waits, not started
    registry.connected.add("bob")  # back within the grace
    wait_until(lambda: bob.status is RunStatus.RUNNING, timeout=20.0)
