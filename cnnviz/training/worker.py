"""The training workers: a pool of processes, one per core, each training one run at a time over a pipe.

The server that draws the pages never trains. `cnnviz.training.runs.TrainingRun` takes a `Worker` from the
process-wide `WorkerPool`, sends it a `Job`, then controls, and reads what it reports; when the run ends the
worker goes back to the pool for the next run. Workers are forked from a fork server that has imported
torch and generated every data set once (`cnnviz.training.warm`), so they start with the data already in
memory (shared copy-on-write); each uses one torch thread and runs at a lower CPU priority than the pages,
so a busy server still answers clicks at once. PyTorch and `fork` of a process that has trained do not mix
(its thread pool does not survive the fork); the fork server never runs a torch operation, and the server
process never forks. A worker that dies takes only its own run with it; the pool starts another.

Between two minibatch steps a worker reads every control that has arrived (a `poll` system call, under a
microsecond): Pause, Step and a new learning rate take effect before the next step. It reports progress
(step, new points of the curves) every `report_seconds` and a snapshot of what the network looks like
(`Trainer.snapshot`: first-layer filters, feature maps, confusion matrix, worst samples) every
`snapshot_seconds`, at most `MAX_FILTERS` filters, so a report stays a few kilobytes.

The protocol: tuples over a `multiprocessing` connection, `seq` numbering a request so its answer can be
awaited.

    server -> worker   ("job", Job) starts a run; then, until it ends:
                       ("pause", seq) ("resume", seq) ("step", seq) ("lr", seq, lr) ("sample", seq, index)
                       ("call", seq, name, argument)   name: "predict", "sample_view" or "save"
                       ("stop", seq, message, keep)    keep: send the final state back
                       ("exit",) ends an idle worker
    worker -> server   ("ready", total_steps, step, epoch, lr, n_test)
                       ("progress", step, epoch, new_metrics, lr)  ("snapshot", Snapshot)
                       ("done", seq)  ("reply", seq, value, error)
                       ("ended", status, message, saved)   the run's last message; saved: save_run bytes or None
"""

from __future__ import annotations

import gc
import math
import multiprocessing
import os
import select
import sys
import threading
import time
import types
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

from cnnviz.errors import ConvConfigError
from cnnviz.training.trainer import TrainConfig, Trainer, TrainingError, load_run, save_run

__all__ = [
    "MAX_FILTERS",
    "WORKER_NICE",
    "Job",
    "Worker",
    "WorkerPool",
    "worker_pool",
    "worker_slots",
]

WORKER_NICE = 5  # CPU priority below the pages' (0): a click is served before the next training step
MAX_FILTERS = 16  # first-layer filters a snapshot carries: what the filters figure draws
RUNS_PER_WORKER = 200  # a worker is replaced after this many runs, so no slow leak can build up
_PRELOAD = ["cnnviz.training.warm"]
_context: multiprocessing.context.BaseContext | None = None
_context_lock = threading.Lock()


@dataclass(frozen=True)
class Job:
    """What a worker trains: a config (or a saved run to continue), its limits and how often it reports."""

    config: TrainConfig
    saved: bytes | None = None  # a run from save_run to continue instead of a fresh model
    max_epochs: int | None = None  # None: the config's epochs
    max_seconds: float = 120.0  # wall time from the moment the model is ready; pauses count
    start_paused: bool = False
    sample_index: int = 0  # the test sample whose feature maps the snapshots show
    report_seconds: float = 0.1
    snapshot_seconds: float = 1.0


def worker_slots() -> int:
    """How many runs can train at once on this machine: one per core this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def _get_context() -> multiprocessing.context.BaseContext:
    """The fork-server context, preloading torch and the data sets (set once, before the server starts)."""
    global _context
    with _context_lock:
        if _context is None:
            ctx = multiprocessing.get_context("forkserver")
            ctx.set_forkserver_preload(_PRELOAD)
            _context = ctx
        return _context


@contextmanager
def _no_main_script() -> Iterator[None]:
    """Start processes with a blank `__main__`: a new process re-runs the parent's main script first, and
    while a page runs (in a test harness, say) that script is the page itself, which must not run again.
    The worker needs nothing from it: its entry point lives in this module."""
    main = sys.modules.get("__main__")
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        if main is not None:
            sys.modules["__main__"] = main


class Worker:
    """One worker process and the server's end of its pipe."""

    def __init__(self) -> None:
        ctx = _get_context()
        self.conn, worker_end = ctx.Pipe(duplex=True)
        self.process: BaseProcess = ctx.Process(
            target=_main, args=(worker_end, WORKER_NICE), name="cnnviz-worker", daemon=True
        )
        try:
            with _no_main_script():
                self.process.start()
        finally:
            worker_end.close()  # the worker holds its own copy; ours would keep the pipe open after it dies
        self.runs = 0

    @property
    def alive(self) -> bool:
        """Whether the process is still running."""
        return self.process.is_alive()

    def close(self, timeout: float = 2.0) -> None:
        """Ask the process to exit, then make sure it has."""
        try:
            self.conn.send(("exit",))
        except (OSError, ValueError):
            pass
        self.process.join(timeout)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(timeout)
        self.conn.close()


class WorkerPool:
    """Idle worker processes, at most `size` kept; `acquire` hands one out (starting one if none is idle).

    The scheduler lets at most `size` runs train at once, so in a server no more than `size` workers
    exist; a run started by hand beyond that gets an extra worker, retired when it comes back.
    """

    def __init__(self, size: int | None = None) -> None:
        self.size = worker_slots() if size is None else max(1, size)
        self._idle: list[Worker] = []
        self._lock = threading.Lock()

    def acquire(self) -> Worker:
        """An idle, live worker, or a new one (the first ones wait for the fork server to warm up)."""
        with self._lock:
            while self._idle:
                worker = self._idle.pop()
                if worker.alive:
                    return worker
                worker.close()
        return Worker()

    def release(self, worker: Worker, healthy: bool = True) -> None:
        """Take a worker back after a run; a dead, unhealthy or worn one is closed instead."""
        worker.runs += 1
        keep = healthy and worker.alive and worker.runs < RUNS_PER_WORKER
        with self._lock:
            if keep and len(self._idle) < self.size:
                self._idle.append(worker)
                return
        worker.close()

    def warm_up(self) -> threading.Thread:
        """Start `size` idle workers in the background (the fork server loads torch and the data once)."""

        def start() -> None:
            try:
                workers = [self.acquire() for _ in range(self.size)]
            except Exception:  # the first run will try again and report what fails
                return
            for worker in workers:
                self.release(worker)
                worker.runs -= 1  # warming up is not a run

        thread = threading.Thread(target=start, name="cnnviz-warm-up", daemon=True)
        thread.start()
        return thread

    def close(self) -> None:
        """End every idle worker."""
        with self._lock:
            idle, self._idle = self._idle, []
        for worker in idle:
            worker.close()


_pool: WorkerPool | None = None
_pool_lock = threading.Lock()


def worker_pool() -> WorkerPool:
    """The process-wide pool, one worker per core."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = WorkerPool()
        return _pool


# ---------------------------------------------------------------------------------------------------
# Inside the worker process
# ---------------------------------------------------------------------------------------------------


class _ServerGoneError(Exception):
    """The server's end of the pipe closed: nobody is left to report to."""


def _main(conn: Connection, nice: int) -> None:
    """A worker process: one torch thread, a lower priority, then one job after another until told to exit."""
    import torch

    torch.set_num_threads(1)
    try:
        os.nice(nice)
    except OSError:  # pragma: no cover - not allowed here: train at the same priority
        pass
    try:
        while True:
            try:
                message = conn.recv()
            except (EOFError, OSError):
                return  # the server is gone
            if message[0] == "exit":
                return
            if message[0] == "job":
                try:
                    _Worker(conn, message[1]).run()
                except _ServerGoneError:
                    return
                gc.collect()
            # anything else is a control that arrived after its run ended: nothing to do
    finally:
        conn.close()


class _Worker:
    """The training loop of one run, reading controls between steps and reporting to the server."""

    def __init__(self, conn: Connection, job: Job) -> None:
        self.conn = conn
        self.job = job
        self.poller = select.poll()
        self.poller.register(conn.fileno(), select.POLLIN)
        self.trainer: Trainer | None = None
        self.paused = job.start_paused
        self.sample = job.sample_index
        self.pending_steps = 0
        self.step_acks: list[int] = []  # Step requests answered once their step is taken
        self.stop: tuple[str, bool] | None = None  # (message, keep)
        self.sent = 0  # metrics the server has
        self.last_report = 0.0
        self.last_snapshot = -math.inf
        self.snapshot_key: tuple[int, int] | None = None  # (step, sample) of the last snapshot sent

    # -- talking to the server -----------------------------------------------------------------------

    def send(self, *message: Any) -> None:
        try:
            self.conn.send(message)
        except (BrokenPipeError, ConnectionResetError, EOFError, OSError) as exc:
            raise _ServerGoneError from exc

    def read_controls(self, wait: float = 0.0) -> None:
        """Handle every control that has arrived; with `wait`, block up to that long for the first one."""
        timeout_ms = int(wait * 1000)
        while self.poller.poll(timeout_ms):
            try:
                message = self.conn.recv()
            except (EOFError, OSError) as exc:
                raise _ServerGoneError from exc
            self.control(message)
            timeout_ms = 0

    def control(self, message: tuple) -> None:
        if len(message) < 2:  # not a control of this run
            return
        kind, seq, *args = message
        t = self.trainer
        assert t is not None
        if kind == "pause":
            self.paused = True
            self.report()  # the exact step it stopped at arrives before the answer
            self.send("done", seq)
        elif kind == "resume":
            self.paused = False
            self.send("done", seq)
        elif kind == "step":
            self.paused = True
            self.pending_steps += 1
            self.step_acks.append(seq)
        elif kind == "lr":
            t.set_lr(args[0])
            self.send("done", seq)
        elif kind == "sample":
            n_test = len(t.dataset.y_test)
            if 0 <= args[0] < n_test:
                self.sample = int(args[0])
                self.last_snapshot = -math.inf  # show the new sample soon, even while training
            self.send("done", seq)
        elif kind == "call":
            self.call(seq, *args)
        elif kind == "stop":
            self.stop = (str(args[0]), bool(args[1]))

    def call(self, seq: int, name: str, argument: Any) -> None:
        t = self.trainer
        assert t is not None
        try:
            if name == "predict":
                value: Any = t.predict(argument)
            elif name == "sample_view":
                value = t.sample_view(int(argument))
            elif name == "save":
                value = save_run(t)
            else:
                raise TrainingError(f"unknown request {name!r}")
        except ConvConfigError as exc:  # a message for people, naming the argument
            self.send("reply", seq, None, (type(exc).__name__, str(exc), exc.argument))
            return
        except Exception as exc:  # the run goes on; the page says the request failed
            self.send(
                "reply", seq, None, (type(exc).__name__, f"the request failed: {type(exc).__name__}", None)
            )
            return
        self.send("reply", seq, value, None)

    def report(self, now: float | None = None) -> None:
        t = self.trainer
        assert t is not None
        new = tuple(t.history[self.sent :])
        self.sent = len(t.history)
        self.send("progress", t.step_count, t.epoch, new, t.base_lr)
        self.last_report = time.monotonic() if now is None else now

    def snapshot(self, now: float | None = None) -> None:
        t = self.trainer
        assert t is not None
        self.send("snapshot", t.snapshot(self.sample, max_filters=MAX_FILTERS))
        self.snapshot_key = (t.step_count, self.sample)
        self.last_snapshot = time.monotonic() if now is None else now

    # -- training --------------------------------------------------------------------------------------

    def run(self) -> None:
        ending = ("failed", "training ended unexpectedly")
        try:
            job = self.job
            self.trainer = load_run(job.saved) if job.saved is not None else Trainer(job.config)
            self.sent = len(self.trainer.history)
            ending = self.loop()
        except _ServerGoneError:
            raise
        except TrainingError as exc:  # the loss diverged, a bad saved run: the message is for people
            ending = ("failed", str(exc))
        except Exception as exc:  # any other failure ends the run with a message
            ending = ("failed", f"training failed: {type(exc).__name__}: {str(exc)[:300]}")
        self.finish(*ending)

    def loop(self) -> tuple[str, str]:
        """Train until a limit or a stop; returns (status, message)."""
        t = self.trainer
        assert t is not None
        job = self.job
        max_epochs = job.max_epochs if job.max_epochs is not None else t.config.epochs
        limit = min(max_epochs * t.steps_per_epoch, t.total_steps)
        started = time.monotonic()
        self.send("ready", limit, t.step_count, t.epoch, t.base_lr, len(t.dataset.y_test))
        report_every, snapshot_every = job.report_seconds, job.snapshot_seconds
        while True:
            idle = self.paused and not self.pending_steps and self.snapshot_key == (t.step_count, self.sample)
            self.read_controls(wait=0.25 if idle else 0.0)
            if self.stop is not None:
                return "stopped", self.stop[0]
            if t.step_count >= limit:
                epochs = t.step_count / t.steps_per_epoch
                return "finished", f"finished {epochs:g} epoch{'' if epochs == 1 else 's'}"
            now = time.monotonic()
            if now - started >= job.max_seconds:
                return "finished", f"stopped at the time limit of {job.max_seconds:g} s"
            if self.pending_steps:
                t.step()
                self.pending_steps -= 1
                self.report()
                self.snapshot()  # a paused run's pictures match its numbers
                self.send("done", self.step_acks.pop(0))
            elif not self.paused:
                record = t.step().record
                now = time.monotonic()
                if record is not None or now - self.last_report >= report_every:
                    self.report(now)
                if now - self.last_snapshot >= snapshot_every:
                    self.snapshot(now)
            elif self.snapshot_key != (t.step_count, self.sample):
                self.snapshot()

    def finish(self, status: str, message: str) -> None:
        """The last reports: progress, a snapshot of the end state, the state itself (unless not wanted)."""
        keep = self.stop[1] if self.stop is not None else True
        saved = None
        t = self.trainer
        if t is not None:
            self.report()
            if keep:
                try:
                    if self.snapshot_key != (t.step_count, self.sample):
                        self.snapshot()
                    saved = save_run(t)
                except _ServerGoneError:
                    raise
                except Exception as exc:  # the run still ends, with what it has
                    message = f"{message} (its final state could not be kept: {type(exc).__name__})"
        for seq in self.step_acks:
            self.send("done", seq)
        self.send("ended", status, message, saved)
