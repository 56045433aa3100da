"""Live training for a web page: each run trains in a worker process; a scheduler shares out the cores.

A page never trains in its own process. It asks the process-wide `RunScheduler` for a run
(`submit(session_key, config)`), then polls `run.state()` from a timed fragment and draws what it reads.
Each `TrainingRun` is the server's side of one worker process (`cnnviz.training.worker`): a reader thread
receives the worker's reports (progress, snapshots, answers) and keeps a copy under a lock; controls
(Pause, Step, a new learning rate) go down a pipe and the worker obeys them before its next minibatch
step. The page's own threads never wait for a training step: the worker has its own core and runs at a
lower priority, so a click is answered while both cores train. No thread here calls Streamlit.

At most one run per core trains at once (`worker_slots()`); the rest wait in a queue, in order, and the
queue says where each run is. A run ends by itself at its epoch or wall-time limit, when stopped, when its
worker dies (the run says so; the slot frees), or when its owner is gone. Who the owner is and whether it
is still there is the caller's business: pass `alive`, a cheap thread-safe callable that says whether the
owner (a browser session) still exists, and the run lives exactly as long as it returns True (a page
switch does not end it; a closed tab does). If the check also has a `connected()` method, a queued run
starts only while its owner is connected right now: a queued run whose session has gone is dropped, never
started. Without a check, a run no one has polled for `abandon_after` seconds counts as abandoned.

After a run ends, its worker sends back its final state (`save_run` bytes): the page can still download it,
and predictions and feature maps then come from a model rebuilt from it in this process.
"""

from __future__ import annotations

import collections
import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np

from cnnviz.training.trainer import (
    Metrics,
    SampleView,
    Snapshot,
    TrainConfig,
    Trainer,
    TrainingError,
    check_lr,
    load_run,
    save_run,
)
from cnnviz.training.worker import Job, Worker, WorkerPool, worker_pool, worker_slots

__all__ = [
    "Liveness",
    "RunScheduler",
    "RunState",
    "RunStatus",
    "TrainingRun",
    "shared_scheduler",
    "worker_slots",
]

Liveness = Callable[[], bool]  # True while the run's owner (a browser session) still exists


class RunStatus(StrEnum):
    """Where a run is in its life: queued -> running <-> paused -> finished / stopped / failed."""

    QUEUED = "queued"  # waiting for a free slot (or not started yet)
    RUNNING = "running"
    PAUSED = "paused"
    FINISHED = "finished"  # reached its epochs or a limit
    STOPPED = "stopped"  # stopped by a person, replaced by a new run, or abandoned
    FAILED = "failed"  # the worker raised or died; `message` says what

    @property
    def done(self) -> bool:
        """True for the three end states: the worker has exited or never started."""
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
    total_steps: int | None  # steps this run will take at most (None until its model is ready)
    lr: float  # base learning rate (the schedule scales it)
    queue_position: int | None  # 1 = starts next; None when not queued
    elapsed: float  # wall seconds since the run started, pauses included


_run_ids = itertools.count(1)
_OWNER_GONE = "stopped: its browser session ended"
_STOP_GRACE = 10.0  # seconds a worker has to wind down after a stop before it is killed
_CALL_TIMEOUT = 30.0


class TrainingRun:
    """One run, trained by its own worker process; this object is the server's side of it.

    Limits: `max_epochs` (None: the config's epochs); `max_seconds` of wall time from the moment the data
    and model are ready (pauses count); and the owner: while `alive()` returns True (checked every
    `alive_every` seconds), or without `alive`, until `abandon_after` seconds pass without a
    `state()`/`touch()` call (None: never). `trainer`: a loaded run to continue (see `load_run`).
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
        report_seconds: float = 0.1,
        snapshot_seconds: float = 1.0,
        sample_index: int = 0,
        on_exit: Callable[[TrainingRun], None] | None = None,
        name: str | None = None,
        alive: Liveness | None = None,
        alive_every: float = 1.0,
        start_paused: bool = False,
        pool: WorkerPool | None = None,
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
        self.max_epochs = max_epochs
        self.max_seconds = float(max_seconds)
        self.abandon_after = None if alive is not None else abandon_after
        self._alive = alive
        self._alive_every = float(alive_every)
        self._start_paused = start_paused
        self._report_seconds = report_seconds
        self._snapshot_seconds = snapshot_seconds
        self._on_exit = on_exit
        self._pool = pool

        self._cond = threading.Condition()  # guards every field below
        self._send_lock = threading.Lock()  # one message at a time down the pipe
        self._local_lock = threading.Lock()  # guards the in-process model of a queued or ended run
        self._local = trainer  # a loaded run before its worker has it, or the model of an ended run
        self._final: bytes | None = None  # the ended run's state, sent back by its worker
        self._thread: threading.Thread | None = None
        self._worker: Worker | None = None
        self._conn: Any = None
        self._outbox: list[tuple] = []  # controls sent before the worker's pipe exists
        self._ready = False  # the worker's model and data are ready; it obeys controls
        self._seq = 0
        self._done: set[int] = set()
        self._replies: dict[int, tuple[Any, Any]] = {}
        self._stop_sent_at: float | None = None
        self._status = RunStatus.QUEUED
        self._message = "waiting to start"
        self._metrics: list[Metrics] = list(trainer.history) if trainer else []
        self._snapshot: Snapshot | None = None
        self._step = trainer.step_count if trainer else 0
        self._epoch = trainer.epoch if trainer else 0.0
        self._total_steps: int | None = None
        self._lr = trainer.base_lr if trainer else config.lr
        self._n_test: int | None = len(trainer.dataset.y_test) if trainer else None
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
        """Whether the run's model exists: its worker is ready, or it is a loaded or an ended run's model."""
        with self._cond:
            live = self._ready and not self._status.done
            return live or self._local is not None or self._final is not None

    @property
    def thread(self) -> threading.Thread | None:
        """The thread that talks to the worker, once started."""
        return self._thread

    @property
    def process(self) -> Any:
        """The worker process (a `multiprocessing` process) training this run, once it has one."""
        worker = self._worker
        return worker.process if worker is not None else None

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

    def owner_present(self) -> bool:
        """True while the owner is there right now: `alive.connected()` if the check has one, else alive."""
        connected = getattr(self._alive, "connected", None)
        if callable(connected):
            try:
                return bool(connected()) and self.owner_alive()
            except Exception:
                return False
        return self.owner_alive()

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
        """Wait until the worker has exited and its reports are read; True if so (or it never started)."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
            return not thread.is_alive()
        return True

    # -- controls --------------------------------------------------------------------------------------

    def start(self) -> None:
        """Start the worker (a scheduler calls this when a slot is free); returns at once."""
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
        """Pause before the next step (with `wait`: return once the worker has stopped). True if paused."""
        with self._cond:
            if self._status is not RunStatus.RUNNING:
                return False
            self._status, self._message = RunStatus.PAUSED, "paused"
            self._cond.notify_all()
        self._request("pause", wait=timeout if wait else 0.0)
        return True

    def resume(self) -> bool:
        """Carry on training after a pause. True if it was paused."""
        with self._cond:
            if self._status is not RunStatus.PAUSED:
                return False
            self._status, self._message = RunStatus.RUNNING, "training"
            self._cond.notify_all()
        self._request("resume", wait=0.0)
        return True

    def step(self, wait: bool = True, timeout: float = 5.0) -> bool:
        """Pause (if running) and take exactly one more minibatch step. False if the run is not live."""
        with self._cond:
            if self._status not in (RunStatus.RUNNING, RunStatus.PAUSED):
                return False
            self._status, self._message = RunStatus.PAUSED, "paused"
            self._cond.notify_all()
        self._request("step", wait=timeout if wait else 0.0)
        return True

    def set_lr(self, lr: float, wait: float = 2.0) -> None:
        """Change the base learning rate; the worker applies it before its next step."""
        lr = check_lr(lr)
        with self._cond:
            self._lr = lr
            self._cond.notify_all()
        self._request("lr", lr, wait=wait)

    def set_sample(self, index: int) -> None:
        """Which test sample the snapshot's feature maps show; refreshed at the next snapshot."""
        with self._cond:
            n_test = self._n_test
        if index < 0 or (n_test is not None and index >= n_test):
            raise TrainingError(f"sample index out of range (got {index})", argument="sample_index")
        with self._cond:
            self._sample_index = int(index)
        self._request("sample", int(index), wait=0.0)

    def stop(self, wait: bool = True, timeout: float = 5.0, message: str = "stopped") -> bool:
        """Stop for good (with `wait`: return once the worker has exited). True if it is gone."""
        self._stop(message, keep=True)
        return self.join(timeout) if wait else not (self._thread and self._thread.is_alive())

    def _stop(self, message: str, keep: bool) -> None:
        report = False
        with self._cond:
            if self._status.done or self._stop_sent_at is not None:
                return
            if self._thread is None:  # never started: nothing to wind down
                self._status, self._message = RunStatus.STOPPED, message
                self._queue_position = None
                report = True
            else:
                self._stop_sent_at = time.monotonic()
        if report:
            self._report_exit()
        else:
            self._request("stop", message, keep, wait=0.0)

    # -- the model, for pages ------------------------------------------------------------------------

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Class probabilities (K,) for one input in display layout (see `Trainer.predict`)."""
        return self._call("predict", x)

    def sample_view(self, index: int) -> SampleView:
        """Test sample `index` and what every conv layer makes of it, now (see `Trainer.sample_view`)."""
        return self._call("sample_view", int(index))

    def save(self) -> bytes:
        """The run as bytes for `cnnviz.training.trainer.load_run` (see `save_run`)."""
        return self._call("save", None)

    def _call(self, name: str, argument: Any) -> Any:
        with self._cond:
            live = self._ready and not self._status.done
        if live:
            seq = self._request("call", name, argument, wait=0.0)
            with self._cond:
                self._cond.wait_for(lambda: seq in self._replies or self._status.done, timeout=_CALL_TIMEOUT)
                answer = self._replies.pop(seq, None)
                ended = self._status.done
            if answer is not None:
                value, error = answer
                if error is not None:
                    raise TrainingError(error[1], argument=error[2])
                return value
            if not ended:
                raise TrainingError("the training process did not answer in time: try again in a moment")
        trainer = self._model()
        if trainer is None:
            if self.status.done:
                raise TrainingError("this run has ended and its model is gone: start a new run")
            raise TrainingError("this run has not started yet: its model does not exist yet")
        with self._local_lock:
            if name == "predict":
                return trainer.predict(argument)
            if name == "sample_view":
                return trainer.sample_view(argument)
            return save_run(trainer)

    def _model(self) -> Trainer | None:
        """The in-process model: a loaded run's, or one rebuilt from an ended run's final state."""
        with self._cond:
            final = self._final
        with self._local_lock:
            if self._local is None and final is not None:
                self._local = load_run(final)
            return self._local

    # -- talking to the worker -------------------------------------------------------------------------

    def _request(self, kind: str, *args: Any, wait: float) -> int:
        """Send a control; with `wait` > 0 and a ready worker, block until it is done (or the run ends)."""
        with self._cond:
            self._seq += 1
            seq = self._seq
            ready = self._ready
        self._send((kind, seq, *args))
        if wait > 0 and ready:
            with self._cond:
                self._cond.wait_for(lambda: seq in self._done or self._status.done, timeout=wait)
        return seq

    def _send(self, message: tuple) -> None:
        with self._send_lock:
            if self._conn is None:
                self._outbox.append(message)
                return
            try:
                self._conn.send(message)
            except (BrokenPipeError, ConnectionResetError, EOFError, OSError):
                pass  # the worker is gone; the reader thread reports how it ended

    def _work(self) -> None:
        """The reader thread: start the worker, take in its reports, watch the owner, clean up."""
        job = Job(
            config=self.config,
            saved=save_run(self._local) if self._local is not None else None,
            max_epochs=self.max_epochs,
            max_seconds=self.max_seconds,
            start_paused=self._start_paused,
            sample_index=self._sample_index,
            report_seconds=self._report_seconds,
            snapshot_seconds=self._snapshot_seconds,
        )
        pool = self._pool if self._pool is not None else worker_pool()
        try:
            worker = pool.acquire()
            worker.conn.send(("job", job))
        except Exception as exc:  # no process could be started (out of memory, limits)
            self._end(RunStatus.FAILED, f"could not start a training process ({type(exc).__name__}: {exc})")
            return
        conn = worker.conn
        with self._send_lock:
            self._worker, self._conn = worker, conn
            for message in self._outbox:
                try:
                    conn.send(message)
                except OSError:
                    break
            self._outbox.clear()
        ended = False
        next_alive_check = 0.0
        try:
            while not ended:
                try:
                    if conn.poll(0.25):
                        ended = self._handle(conn.recv())
                except (EOFError, OSError):
                    break
                if ended:
                    break
                now = time.monotonic()
                with self._cond:
                    last_poll, stop_sent_at = self._last_poll, self._stop_sent_at
                if stop_sent_at is not None:
                    if now - stop_sent_at > _STOP_GRACE:
                        break  # it does not wind down: ended below
                elif self.abandon_after is not None and now - last_poll > self.abandon_after:
                    self._stop(f"stopped: no one watched this run for {self.abandon_after:g} s", keep=False)
                elif self._alive is not None and now >= next_alive_check:
                    next_alive_check = now + self._alive_every
                    if not self.owner_alive():
                        self._stop(_OWNER_GONE, keep=False)
        finally:
            with self._send_lock:
                self._conn = None  # a late control must not reach the worker's next run
            if ended:
                pool.release(worker)
                self._report_exit()
            else:
                worker.process.join(timeout=1.0)
                code = worker.process.exitcode
                pool.release(worker, healthy=False)
                with self._cond:
                    stopping = self._stop_sent_at is not None
                how = (
                    "exit code ?" if code is None else f"exit code {code}" if code >= 0 else f"signal {-code}"
                )
                self._end(
                    RunStatus.STOPPED if stopping else RunStatus.FAILED,
                    "stopped (its training process had to be ended)"
                    if stopping
                    else f"the training process stopped unexpectedly ({how}); start a new run",
                )

    def _handle(self, message: tuple) -> bool:
        """Take in one report from the worker; True for the last one."""
        kind = message[0]
        with self._cond:
            if kind == "progress":
                _, step, epoch, metrics, _lr = message
                self._metrics.extend(metrics)
                self._step, self._epoch = step, epoch
            elif kind == "snapshot":
                self._snapshot = message[1]
            elif kind == "done":
                self._done.add(message[1])
            elif kind == "reply":
                _, seq, value, error = message
                self._replies[seq] = (value, error)
            elif kind == "ready":
                _, total, step, epoch, _lr, n_test = message
                self._ready = True
                self._total_steps, self._step, self._epoch, self._n_test = total, step, epoch, n_test
                self._started_at = time.monotonic()  # the time limit counts training, not preparation
                if self._status is RunStatus.RUNNING:
                    self._message = "training"
                elif self._status is RunStatus.PAUSED and self._message.startswith("preparing"):
                    self._message = "paused"
            elif kind == "ended":
                _, status, text, saved = message
                self._final = saved
                self._set_ended(RunStatus(status), text)
            self._cond.notify_all()
        if kind == "ready":
            with self._local_lock:
                self._local = None  # the worker has the model now
        return kind == "ended"

    def _set_ended(self, status: RunStatus, message: str) -> None:
        """With the lock held: the run is over."""
        self._status, self._message = status, message
        self._queue_position = None
        self._ready = False
        self._ended_at = time.monotonic()
        self._cond.notify_all()

    def _end(self, status: RunStatus, message: str) -> None:
        with self._cond:
            if not self._status.done:
                self._set_ended(status, message)
        self._report_exit()

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
    """At most `max_active` runs train at once (one per core by default); the rest wait in a FIFO queue.

    One run per session key. Thread-safe; meant to be one object per server process (see
    `shared_scheduler`). A session's new run replaces its old one. A run submitted with `alive` lives while
    that check says its session exists; one without is stopped after `abandon_after` seconds unpolled,
    queued ones included. A watcher thread checks the queue twice a second, so a queued run whose owner has
    gone is dropped then, never started. Ended runs are forgotten when their session is gone (or, without
    `alive`, `forget_after` seconds after their last poll).
    """

    def __init__(
        self,
        max_active: int | None = None,
        *,
        max_queue: int = 64,
        abandon_after: float | None = 30.0,
        forget_after: float = 600.0,
        max_seconds: float = 120.0,
        max_epochs: int | None = 200,
        snapshot_seconds: float = 1.0,
        watch_every: float = 0.5,
    ) -> None:
        max_active = worker_slots() if max_active is None else max_active
        if max_active < 1:
            raise TrainingError(f"max_active must be at least 1 (got {max_active})", argument="max_active")
        self.max_active = max_active
        self.max_queue = max_queue
        self.abandon_after = abandon_after
        self.forget_after = forget_after
        self.watch_every = watch_every
        self._run_options: dict[str, Any] = {
            "max_seconds": max_seconds,
            "max_epochs": max_epochs,
            "abandon_after": abandon_after,
            "snapshot_seconds": snapshot_seconds,
        }
        # Reentrant: a queued run stopped under this lock reports its exit to this scheduler at once.
        self._lock = threading.RLock()
        self._runs: dict[str, TrainingRun] = {}
        self._active: list[TrainingRun] = []
        self._queue: collections.deque[TrainingRun] = collections.deque()
        self._watcher: threading.Thread | None = None
        self._closing = threading.Event()

    @property
    def capacity(self) -> int:
        """How many runs train at once on this server."""
        return self.max_active

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

        `alive`: the session's liveness check (see TrainingRun); `trainer`: a loaded run to continue;
        `paused`: wait for resume/step once started.
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
            self._watch()
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
        """Stop every run and wait for their workers (for tests and server shutdown)."""
        self._closing.set()
        with self._lock:
            runs = list(self._runs.values()) + list(self._active) + list(self._queue)
            watcher = self._watcher
        for run in runs:
            run.stop(wait=False, message="stopped: the server is shutting down")
        for run in runs:
            run.join(timeout)
        if watcher is not None:
            watcher.join(timeout)
        self._closing.clear()

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
        skipped: list[TrainingRun] = []
        while len(self._active) < self.max_active and self._queue:
            run = self._queue.popleft()
            if run.status is not RunStatus.QUEUED:
                continue
            if not run.owner_alive():
                run.stop(wait=False, message="stopped: no one watched it while it waited")
                continue
            if not run.owner_present():  # disconnected for a moment: it keeps its place, but waits
                skipped.append(run)
                continue
            self._active.append(run)
            run.start()
        self._queue.extendleft(reversed(skipped))
        for position, run in enumerate(self._queue, start=1):
            run._set_queue_position(position)

    def _prune(self) -> None:
        """Drop queued runs whose owner is gone, forget ended runs no one will look at, promote."""
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

    def _watch(self) -> None:
        """Start the watcher thread if it is not running: it prunes the queue while anything waits."""
        if self._watcher is not None and self._watcher.is_alive():
            return
        self._watcher = threading.Thread(target=self._watch_loop, name="cnnviz-scheduler", daemon=True)
        self._watcher.start()

    def _watch_loop(self) -> None:
        while not self._closing.wait(self.watch_every):
            with self._lock:
                self._prune()
                if not self._queue and not self._active:
                    self._watcher = None
                    return


_SHARED: RunScheduler | None = None
_SHARED_LOCK = threading.Lock()


def shared_scheduler(max_active: int | None = None, **options: Any) -> RunScheduler:
    """The process-wide scheduler every page and session shares; the first call's settings win.

    Creating it starts the worker processes in the background, so the first run starts warm.
    """
    global _SHARED
    with _SHARED_LOCK:
        if _SHARED is None:
            _SHARED = RunScheduler(max_active, **options)
            worker_pool().warm_up()
        return _SHARED
