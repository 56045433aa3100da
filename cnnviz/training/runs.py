"""Live training for a web page: a Trainer in a worker thread, and a scheduler that shares the CPU.

A page never trains inside its own script run. It asks the process-wide `RunScheduler` for a run
(`submit(session_key, config)`), then polls `run.state()` from a timed fragment and draws what it reads.
The worker thread only writes plain Python objects under a lock; it never calls Streamlit (no Streamlit
API is safe from another thread). A run ends by itself at its epoch or wall-time limit, when stopped, or
when its owner is gone. Who the owner is and whether it is still there is the caller's business: pass
`alive`, a cheap thread-safe callable that says whether the owner (a browser session) still exists, and the
run lives exactly as long as it returns True (a page switch does not end it; a closed tab does). Without
one, a run no one has polled for `abandon_after` seconds counts as abandoned.

Threads and cores: the worker calls `torch.set_num_threads(1)`. PyTorch keeps that number process-wide
for threads that start using torch afterwards (page reruns, other runs): they use one core each too, while
a thread that used torch before keeps its count. On a shared 2-core server that is what we want: runs and
page reruns each get a core instead of fighting over both. All runs share one interpreter, so small models
(whose steps are mostly Python) train about as fast in total with two runs as with one.
"""

from __future__ import annotations

import collections
import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar

import numpy as np
import torch

from cnnviz.training.trainer import Metrics, Snapshot, TrainConfig, Trainer, TrainingError, check_lr, save_run

__all__ = [
    "RunScheduler",
    "RunState",
    "RunStatus",
    "TrainingRun",
    "shared_scheduler",
]

Liveness = Callable[[], bool]  # True while the run's owner (a browser session) still exists

T = TypeVar("T")


class RunStatus(StrEnum):
    """Where a run is in its life: queued -> running <-> paused -> finished / stopped / failed."""

    QUEUED = "queued"  # waiting for a free slot (or not started yet)
    RUNNING = "running"
    PAUSED = "paused"
    FINISHED = "finished"  # reached its epochs or a limit
    STOPPED = "stopped"  # stopped by a person, replaced by a new run, or abandoned
    FAILED = "failed"  # the worker raised; `message` says what

    @property
    def done(self) -> bool:
        """True for the three end states: the worker thread has exited or never started."""
        return self in (RunStatus.FINISHED, RunStatus.STOPPED, RunStatus.FAILED)


@dataclass(frozen=True)
class RunState:
    """A consistent copy of a run's state for a page to draw; reading it counts as a poll."""

    status: RunStatus
    message: str
    config: TrainConfig
    metrics: tuple[Metrics, ...]
    snapshot: Snapshot | None
    step: int
    epoch: float
    total_steps: int | None  # steps this run will take at most (None until its data is ready)
    lr: float  # base learning rate (the schedule scales it)
    queue_position: int | None  # 1 = starts next; None when not queued
    elapsed: float  # wall seconds since the run started, pauses included


_run_ids = itertools.count(1)
_OWNER_GONE = "stopped: its browser session ended"


class TrainingRun:
    """One Trainer advanced by a worker thread in short slices; controls take effect between slices.

    Limits: `max_epochs` (None: the config's epochs); `max_seconds` of wall time from the moment the data
    and model are ready (pauses count; a slow first load of the data on a busy server does not); and the
    owner: while `alive()` returns True (checked every `alive_every` seconds), or without `alive`, until
    `abandon_after` seconds pass without a `state()`/`touch()` call (None: never).
    With `start_paused` the worker prepares the model and a snapshot, then waits for `resume` or `step`.
    """

    def __init__(
        self,
        config: TrainConfig,
        *,
        trainer: Trainer | None = None,
        max_epochs: int | None = None,
        max_seconds: float = 120.0,
        abandon_after: float | None = None,
        slice_seconds: float = 0.05,
        snapshot_seconds: float = 1.0,
        sample_index: int = 0,
        torch_threads: int = 1,
        on_exit: Callable[[TrainingRun], None] | None = None,
        name: str | None = None,
        alive: Liveness | None = None,
        alive_every: float = 1.0,
        start_paused: bool = False,
    ) -> None:
        if trainer is not None and trainer.config != config:
            raise TrainingError("the trainer was made for another configuration", argument="config")
        if max_epochs is not None and max_epochs < 1:
            raise TrainingError(f"max_epochs must be at least 1 (got {max_epochs})", argument="max_epochs")
        if not max_seconds > 0:
            raise TrainingError(f"max_seconds must be positive (got {max_seconds})", argument="max_seconds")
        self.config = config
        self.serial = next(_run_ids)  # unique in this process: tells a session's successive runs apart
        self.name = name or f"run-{self.serial}"
        self.max_epochs = config.epochs if max_epochs is None else min(max_epochs, config.epochs)
        self.max_seconds = float(max_seconds)
        self.abandon_after = None if alive is not None else abandon_after
        self._alive = alive
        self._alive_every = float(alive_every)
        self._next_alive_check = 0.0
        self._start_paused = start_paused
        self._slice_seconds = slice_seconds
        self._snapshot_seconds = snapshot_seconds
        self._torch_threads = torch_threads
        self._on_exit = on_exit

        self._cond = threading.Condition()  # guards everything below except the trainer itself
        self._trainer_lock = threading.Lock()  # held by whoever touches the trainer
        self._trainer = trainer
        self._thread: threading.Thread | None = None
        self._status = RunStatus.QUEUED
        self._message = "waiting to start"
        self._metrics: list[Metrics] = list(trainer.history) if trainer else []
        self._snapshot: Snapshot | None = None
        self._step = trainer.step_count if trainer else 0
        self._epoch = trainer.epoch if trainer else 0.0
        self._total_steps: int | None = None
        self._lr = trainer.base_lr if trainer else config.lr
        self._pending_lr: float | None = None
        self._pending_steps = 0
        self._busy = False  # the worker is inside a slice or a step
        self._stop_message: str | None = None
        self._sample_index = sample_index
        self._queue_position: int | None = None
        self._started_at: float | None = None
        self._ended_at: float | None = None
        self._last_poll = time.monotonic()
        self._exit_reported = False

    # -- reading -------------------------------------------------------------------------------------

    @property
    def status(self) -> RunStatus:
        """The current status (not a poll)."""
        with self._cond:
            return self._status

    @property
    def model_ready(self) -> bool:
        """Whether the run's model exists yet (built once a slot is free and the data is loaded).

        Reads the reference without the trainer lock, which the worker holds for a whole training slice.
        """
        return self._trainer is not None

    @property
    def thread(self) -> threading.Thread | None:
        """The worker thread, once started."""
        return self._thread

    def state(self) -> RunState:
        """A copy of everything a page shows; also marks the run as watched (see `abandon_after`)."""
        with self._cond:
            self._last_poll = time.monotonic()
            return self._state_locked()

    def _state_locked(self) -> RunState:
        if self._started_at is None:
            elapsed = 0.0
        else:
            elapsed = (self._ended_at or time.monotonic()) - self._started_at
        return RunState(
            status=self._status,
            message=self._message,
            config=self.config,
            metrics=tuple(self._metrics),
            snapshot=self._snapshot,
            step=self._step,
            epoch=self._epoch,
            total_steps=self._total_steps,
            lr=self._lr,
            queue_position=self._queue_position,
            elapsed=elapsed,
        )

    def touch(self) -> None:
        """Mark the run as watched without reading it."""
        with self._cond:
            self._last_poll = time.monotonic()

    def owner_alive(self) -> bool:
        """True while the owner exists: `alive()` (an error counts as gone), or polled lately enough."""
        if self._alive is not None:
            try:
                return bool(self._alive())
            except Exception:  # the registry behind the check is gone (server shutting down)
                return False
        return self.abandon_after is None or self.seconds_since_poll() <= self.abandon_after

    def seconds_since_poll(self) -> float:
        """Seconds since the last `state()` or `touch()`."""
        with self._cond:
            return time.monotonic() - self._last_poll

    def wait_for(self, predicate: Callable[[RunState], bool], timeout: float = 10.0) -> RunState:
        """Block until predicate(state) holds or the run is done or `timeout` passes; returns the state."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                self._last_poll = time.monotonic()  # someone waiting on the run is watching it
                state = self._state_locked()
                remaining = deadline - time.monotonic()
                if predicate(state) or state.status.done or remaining <= 0:
                    return state
                self._cond.wait(min(remaining, 0.25))

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the worker thread to exit; True if it has (or never started)."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
            return not thread.is_alive()
        return True

    # -- controls --------------------------------------------------------------------------------------

    def start(self) -> None:
        """Start the worker thread (a scheduler calls this when a slot is free)."""
        with self._cond:
            if self._thread is not None or self._status.done:
                return
            self._status = RunStatus.PAUSED if self._start_paused else RunStatus.RUNNING
            self._message = "preparing the data and the model"
            self._queue_position = None
            self._started_at = time.monotonic()
            self._last_poll = self._started_at
            self._thread = threading.Thread(target=self._work, name=f"cnnviz-train-{self.name}", daemon=True)
            self._thread.start()

    def pause(self, wait: bool = True, timeout: float = 5.0) -> bool:
        """Pause after the current slice (with `wait`: return once the worker has parked). True if paused."""
        with self._cond:
            if self._status is not RunStatus.RUNNING:
                return False
            self._status, self._message = RunStatus.PAUSED, "paused"
            self._cond.notify_all()
            if wait:
                self._cond.wait_for(lambda: not self._busy or self._status.done, timeout)
            return True

    def resume(self) -> bool:
        """Carry on training after a pause. True if it was paused."""
        with self._cond:
            if self._status is not RunStatus.PAUSED:
                return False
            self._status, self._message = RunStatus.RUNNING, "training"
            self._cond.notify_all()
            return True

    def step(self, wait: bool = True, timeout: float = 5.0) -> bool:
        """Pause (if running) and take exactly one more minibatch step. False if the run is not live."""
        if self.status is RunStatus.RUNNING:
            self.pause(wait=True, timeout=timeout)
        with self._cond:
            if self._status is not RunStatus.PAUSED:
                return False
            self._pending_steps += 1
            self._cond.notify_all()
            if wait:
                self._cond.wait_for(
                    lambda: (self._pending_steps == 0 and not self._busy) or self._status.done, timeout
                )
            return True

    def set_lr(self, lr: float) -> None:
        """Change the base learning rate; the worker applies it before its next step."""
        lr = check_lr(lr)
        with self._cond:
            self._pending_lr = self._lr = lr
            self._cond.notify_all()

    def set_sample(self, index: int) -> None:
        """Which test sample the snapshot's feature maps show; refreshed at the next snapshot."""
        n_test = len(self._trainer.dataset.y_test) if self._trainer is not None else None
        if index < 0 or (n_test is not None and index >= n_test):
            raise TrainingError(f"sample index out of range (got {index})", argument="sample_index")
        with self._cond:
            self._sample_index = int(index)
            self._cond.notify_all()

    def stop(self, wait: bool = True, timeout: float = 5.0, message: str = "stopped") -> bool:
        """Stop for good (with `wait`: return once the worker thread has exited). True if it is gone."""
        report = False
        with self._cond:
            if self._status.done:
                pass
            elif self._thread is None:  # never started: nothing to wind down
                self._status, self._message = RunStatus.STOPPED, message
                self._queue_position = None
                report = True
            else:
                self._stop_message = message
                self._cond.notify_all()
        if report:
            self._report_exit()
        return self.join(timeout) if wait else not (self._thread and self._thread.is_alive())

    # -- the trainer, for pages (waits for the current slice, about `slice_seconds`) ------------------

    def with_trainer(self, fn: Callable[[Trainer], T]) -> T:
        """fn(trainer) while the worker is held off; for reads such as predict or feature maps."""
        with self._trainer_lock:
            if self._trainer is None:
                raise TrainingError("this run has not started yet: its model does not exist yet")
            return fn(self._trainer)

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Class probabilities (K,) for one input in display layout (see `Trainer.predict`)."""
        return self.with_trainer(lambda t: t.predict(x))

    def save(self) -> bytes:
        """The run as bytes for `cnnviz.training.trainer.load_run` (see `save_run`)."""
        return self.with_trainer(save_run)

    # -- the worker ------------------------------------------------------------------------------------

    def _work(self) -> None:
        ending: tuple[RunStatus, str] = (RunStatus.FAILED, "training ended unexpectedly")
        trainer: Trainer | None = None
        try:
            torch.set_num_threads(self._torch_threads)
            trainer = self._trainer if self._trainer is not None else Trainer(self.config)
            limit_steps = min(self.max_epochs * trainer.steps_per_epoch, trainer.total_steps)
            with self._trainer_lock:
                self._trainer = trainer
            with self._cond:
                self._total_steps = limit_steps
                self._started_at = time.monotonic()  # the time limit counts training, not preparation
                if self._status is RunStatus.RUNNING:
                    self._message = "training"
                elif self._status is RunStatus.PAUSED and self._message.startswith("preparing"):
                    self._message = "paused"
            snap_key: tuple[int, int] | None = None
            last_snap = 0.0
            while True:
                with self._cond:
                    action = self._next_action(trainer, limit_steps, snap_key)
                    if isinstance(action, tuple):
                        ending = action
                        break
                    lr, self._pending_lr = self._pending_lr, None
                    sample_index = self._sample_index
                    self._busy = True
                try:
                    with self._trainer_lock:
                        if lr is not None:
                            trainer.set_lr(lr)
                        if action == "step":
                            trainer.step()
                        elif action == "slice":
                            trainer.train_for(self._slice_seconds, max_steps=limit_steps - trainer.step_count)
                        now = time.monotonic()
                        key = (trainer.step_count, sample_index)
                        fresh = action != "slice" or now - last_snap >= self._snapshot_seconds
                        snapshot = trainer.snapshot(sample_index) if fresh and key != snap_key else None
                        metrics = trainer.history[len(self._metrics) :]
                        step, epoch = trainer.step_count, trainer.epoch
                finally:
                    with self._cond:
                        self._busy = False
                        self._cond.notify_all()
                with self._cond:
                    self._metrics.extend(metrics)
                    self._step, self._epoch = step, epoch
                    if snapshot is not None:
                        self._snapshot, snap_key, last_snap = snapshot, key, now
                    self._cond.notify_all()
            self._final_snapshot(trainer, snap_key)
        except TrainingError as exc:  # e.g. the loss diverged: the message is written for people
            ending = (RunStatus.FAILED, str(exc))
        except Exception as exc:  # any other failure ends the run with a message, not a dead thread
            ending = (RunStatus.FAILED, f"training failed: {type(exc).__name__}: {str(exc)[:300]}")
        finally:
            with self._cond:
                if trainer is not None:  # what a failed slice recorded before it failed
                    self._metrics.extend(trainer.history[len(self._metrics) :])
                    self._step, self._epoch = trainer.step_count, trainer.epoch
                self._status, self._message = ending
                self._queue_position = None
                self._pending_steps = 0
                self._ended_at = time.monotonic()
                self._busy = False
                self._cond.notify_all()
            if ending[1] == _OWNER_GONE:  # no one can look at it again: free the model and its data
                with self._trainer_lock:
                    self._trainer = None
            self._report_exit()

    def _next_action(
        self, trainer: Trainer, limit_steps: int, snap_key: tuple[int, int] | None
    ) -> str | tuple[RunStatus, str]:
        """With the lock held: wait while paused, then say what to do next ("step", "slice", "snapshot"),
        or how the run ends (status, message)."""
        while True:
            now = time.monotonic()
            if self._stop_message is not None:
                return RunStatus.STOPPED, self._stop_message
            if self.abandon_after is not None and now - self._last_poll > self.abandon_after:
                return RunStatus.STOPPED, f"stopped: no one watched this run for {self.abandon_after:g} s"
            if self._alive is not None and now >= self._next_alive_check:
                self._next_alive_check = now + self._alive_every
                if not self.owner_alive():
                    return RunStatus.STOPPED, _OWNER_GONE
            if trainer.step_count >= limit_steps:
                epochs = trainer.step_count / trainer.steps_per_epoch
                return RunStatus.FINISHED, f"finished {epochs:g} epoch{'' if epochs == 1 else 's'}"
            if self._started_at is not None and now - self._started_at >= self.max_seconds:
                return RunStatus.FINISHED, f"stopped at the time limit of {self.max_seconds:g} s"
            if self._pending_steps > 0:
                self._pending_steps -= 1
                return "step"
            if self._status is not RunStatus.PAUSED:
                return "slice"
            if snap_key != (trainer.step_count, self._sample_index):
                return "snapshot"  # paused: make the pictures match the numbers
            self._cond.wait(0.25)

    def _final_snapshot(self, trainer: Trainer, snap_key: tuple[int, int] | None) -> None:
        with self._cond:
            sample_index = self._sample_index
        if snap_key == (trainer.step_count, sample_index):
            return
        with self._trainer_lock:
            snapshot = trainer.snapshot(sample_index)
        with self._cond:
            self._snapshot = snapshot
            self._cond.notify_all()

    def _report_exit(self) -> None:
        with self._cond:
            if self._exit_reported:
                return
            self._exit_reported = True
        if self._on_exit is not None:
            self._on_exit(self)

    def _set_queue_position(self, position: int | None) -> None:
        with self._cond:
            self._queue_position = position
            if position is not None and self._status is RunStatus.QUEUED:
                self._message = f"waiting for a free slot: number {position} in the queue"

    def __repr__(self) -> str:
        return f"TrainingRun({self.name!r}, {self.config.dataset}/{self.config.model}, {self.status.value})"


class RunScheduler:
    """At most `max_active` runs train at once; the rest wait in a FIFO queue. One run per session key.

    Thread-safe; meant to be one object per server process (see `shared_scheduler`). A session's new run
    replaces its old one. A run submitted with `alive` lives while that check says its session exists;
    one without is stopped after `abandon_after` seconds unpolled, queued ones included. Ended runs are
    forgotten when their session is gone (or, without `alive`, `forget_after` seconds after their last poll).
    """

    def __init__(
        self,
        max_active: int = 2,
        *,
        max_queue: int = 32,
        abandon_after: float | None = 30.0,
        forget_after: float = 600.0,
        max_seconds: float = 120.0,
        max_epochs: int | None = 200,
        slice_seconds: float = 0.05,
        snapshot_seconds: float = 1.0,
    ) -> None:
        if max_active < 1:
            raise TrainingError(f"max_active must be at least 1 (got {max_active})", argument="max_active")
        self.max_active = max_active
        self.max_queue = max_queue
        self.abandon_after = abandon_after
        self.forget_after = forget_after
        self._run_options: dict[str, Any] = {
            "max_seconds": max_seconds,
            "max_epochs": max_epochs,
            "abandon_after": abandon_after,
            "slice_seconds": slice_seconds,
            "snapshot_seconds": snapshot_seconds,
        }
        # Reentrant: a queued run stopped under this lock reports its exit to this scheduler at once.
        self._lock = threading.RLock()
        self._runs: dict[str, TrainingRun] = {}
        self._active: list[TrainingRun] = []
        self._queue: collections.deque[TrainingRun] = collections.deque()

    def submit(
        self,
        key: str,
        config: TrainConfig,
        trainer: Trainer | None = None,
        *,
        alive: Liveness | None = None,
        paused: bool = False,
    ) -> TrainingRun:
        """A new run for session `key` (its previous run is stopped), started now or queued.

        `alive`: the session's liveness check (see TrainingRun); `paused`: wait for resume/step once started.
        """
        with self._lock:
            self._prune()
            previous = self._runs.get(key)
        if previous is not None:
            previous.stop(wait=True, message="stopped: replaced by a new run")
        with self._lock:
            current = self._runs.get(key)  # another submit for the same key may have raced us
            if current is not None and not current.status.done:
                current.stop(wait=False, message="stopped: replaced by a new run")
            waiting = sum(1 for r in self._queue if r.status is RunStatus.QUEUED)
            if len(self._active) >= self.max_active and waiting >= self.max_queue:
                raise TrainingError(
                    f"the server is busy: {waiting} runs are already waiting; try again in a minute",
                    argument="config",
                )
            run = TrainingRun(
                config,
                trainer=trainer,
                on_exit=self._on_exit,
                name=key,
                alive=alive,
                start_paused=paused,
                **self._run_options,
            )
            self._runs[key] = run
            self._queue.append(run)
            self._promote()
            return run

    def get(self, key: str) -> TrainingRun | None:
        """Session `key`'s latest run (running, queued or ended), if any."""
        with self._lock:
            self._prune()
            return self._runs.get(key)

    def poll(self, key: str) -> RunState | None:
        """Session `key`'s run state (a poll: keeps the run alive), or None."""
        run = self.get(key)
        return run.state() if run is not None else None

    def stop(self, key: str, wait: bool = True) -> None:
        """Stop session `key`'s run, if any."""
        run = self.get(key)
        if run is not None:
            run.stop(wait=wait)

    def counts(self) -> tuple[int, int]:
        """(runs training or paused, runs waiting)."""
        with self._lock:
            self._prune()
            active = sum(1 for r in self._active if not r.status.done)
            return active, sum(1 for r in self._queue if r.status is RunStatus.QUEUED)

    def shutdown(self, timeout: float = 5.0) -> None:
        """Stop every run and wait for the threads (for tests and server shutdown)."""
        with self._lock:
            runs = list(self._runs.values()) + list(self._active) + list(self._queue)
        for run in runs:
            run.stop(wait=False, message="stopped: the server is shutting down")
        for run in runs:
            run.join(timeout)

    # -- internals (lock held) ---------------------------------------------------------------------------

    def _on_exit(self, run: TrainingRun) -> None:
        with self._lock:
            if run in self._active:
                self._active.remove(run)
            if run in self._queue:
                self._queue.remove(run)
            self._promote()

    def _promote(self) -> None:
        self._active = [r for r in self._active if not r.status.done]
        while len(self._active) < self.max_active and self._queue:
            run = self._queue.popleft()
            if run.status is not RunStatus.QUEUED:
                continue
            if not run.owner_alive():
                run.stop(wait=False, message="stopped: no one watched it while it waited")
                continue
            self._active.append(run)
            run.start()
        for position, run in enumerate(self._queue, start=1):
            run._set_queue_position(position)

    def _prune(self) -> None:
        """Stop abandoned queued runs and forget ended runs no one has looked at for a while."""
        for run in list(self._queue):
            if run.status is RunStatus.QUEUED and not run.owner_alive():
                run.stop(wait=False, message="stopped: no one watched it while it waited")
        for key, run in list(self._runs.items()):
            if not run.status.done:
                continue
            if run._alive is not None:
                gone = not run.owner_alive()
            else:
                gone = run.seconds_since_poll() > self.forget_after
            if gone:
                del self._runs[key]
        self._promote()


_SHARED: RunScheduler | None = None
_SHARED_LOCK = threading.Lock()


def shared_scheduler(max_active: int = 2, **options: Any) -> RunScheduler:
    """The process-wide scheduler every page and session shares; the first call's settings win."""
    global _SHARED
    with _SHARED_LOCK:
        if _SHARED is None:
            _SHARED = RunScheduler(max_active, **options)
        return _SHARED
