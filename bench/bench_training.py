"""How fast does live training run next to a bare PyTorch loop? A printout, not a test.

For each data set's conv net (and the MNIST-1D MLP), the engine trains through `cnnviz.training.runs.TrainingRun`,
exactly as the live page does: in a worker process of the pool (one torch thread, the workers' lower CPU
priority), reading its controls between steps, reporting progress ten times a second and a snapshot
(filters, feature maps, confusion matrix, worst samples) every second, a test pass and metrics at every
epoch end. The bare loop trains the same model on the same tensors with the same optimizer and batch size
(shuffle, slice, forward, cross-entropy, zero_grad, backward, step) in a process of its own set up the
same way (forked from the same fork server, one torch thread, the same priority): once with a test pass at
every epoch end (like for like) and once without (training only).

Throughput is training samples per second (epochs x training-set size / seconds), best of a few
alternating repeats, so a busy neighbour slows every contender alike; once per second of wall time, and
once per second of CPU time, which a busy machine disturbs far less (on an idle machine the two agree:
each contender is one thread). The engine's wall time runs from its model being ready to its end, final
snapshot and saved state included; its CPU time is the worker's for the whole run plus this process's
(the server's side: reading the reports). Goal: the engine at least 0.95x the bare loop, on every model.

Run from the repository root or anywhere: python bench/bench_training.py [--repeats N]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402, N812

from cnnviz.training.datasets import load_dataset  # noqa: E402
from cnnviz.training.models import build_model  # noqa: E402
from cnnviz.training.runs import TrainingRun  # noqa: E402
from cnnviz.training.trainer import TrainConfig, recommended_config  # noqa: E402
from cnnviz.training.worker import WORKER_NICE, worker_pool  # noqa: E402

CASES: list[tuple[str, str, int]] = [  # (data set, model, epochs)
    ("mnist1d", "convnet", 8),
    ("digits", "convnet", 20),
    ("shapes", "convnet", 4),
    ("mnist1d", "mlp", 8),
]


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) process `pid` has used so far, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def engine_seconds(config: TrainConfig) -> tuple[float, float]:
    """(wall, CPU) seconds of a TrainingRun as the live page runs it (see the module's docstring)."""
    run = TrainingRun(config, max_seconds=3600.0)
    ours = time.process_time()
    run.start()
    while run.process is None:  # the pool hands the run a worker at once
        time.sleep(0.0005)
    pid = run.process.pid
    theirs = process_cpu(pid)
    state = run.wait_for(lambda s: s.status.done, timeout=3600.0)
    theirs = process_cpu(pid) - theirs
    run.join()
    assert state.status.value == "finished", state.message
    return state.elapsed, theirs + time.process_time() - ours


def bare_loop(config: TrainConfig, evaluate: bool) -> tuple[float, float]:
    """(wall, CPU) seconds of a plain PyTorch loop doing the same training (and test passes if `evaluate`)."""
    data = load_dataset(config.dataset, config.permute_pixels)
    start, cpu = time.perf_counter(), time.process_time()
    model = build_model(config.dataset, config.model, config.seed)
    x, y = torch.tensor(data.x_train), torch.tensor(data.y_train)
    x_test, y_test = torch.tensor(data.x_test), torch.tensor(data.y_test)
    if config.optimizer == "sgd":
        opt: torch.optim.Optimizer = torch.optim.SGD(
            model.parameters(), lr=config.lr, momentum=config.momentum
        )
    else:
        opt = torch.optim.Adam(model.parameters(), lr=config.lr)
    gen = torch.Generator().manual_seed(config.seed)
    bs = config.batch_size
    for _ in range(config.epochs):
        order = torch.randperm(len(y), generator=gen)
        xs, ys = x[order], y[order]
        for i in range(0, len(y), bs):
            loss = F.cross_entropy(model(xs[i : i + bs]), ys[i : i + bs])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        if evaluate:
            with torch.inference_mode():
                logits = model(x_test)
                float(F.cross_entropy(logits, y_test))
                float((logits.argmax(1) == y_test).float().mean())
    return time.perf_counter() - start, time.process_time() - cpu


def _bare_process(conn) -> None:
    """Run bare loops on request, warm like a pool worker that has trained before."""
    torch.set_num_threads(1)
    os.nice(WORKER_NICE)
    while (request := conn.recv()) is not None:
        conn.send(bare_loop(*request))
    conn.close()


class BareProcess:
    """A process set up as a worker is (forked from the same server, one thread, niced) for `bare_loop`."""

    def __init__(self) -> None:
        ctx = multiprocessing.get_context("forkserver")  # the workers' own fork server, preloaded by the pool
        self.conn, theirs = ctx.Pipe()
        self.process = ctx.Process(target=_bare_process, args=(theirs,), daemon=True)
        self.process.start()

    def seconds(self, config: TrainConfig, evaluate: bool) -> tuple[float, float]:
        self.conn.send((config, evaluate))
        return self.conn.recv()

    def close(self) -> None:
        self.conn.send(None)
        self.process.join()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="alternating repeats; the best counts")
    args = parser.parse_args()
    worker_pool().warm_up().join()  # the fork server and the workers start before any timing
    print(f"torch {torch.__version__}, one torch thread per process, best of {args.repeats}")
    print(
        f"{'model':18} {'epochs':>6} {'clock':>5} {'engine':>10} {'bare+eval':>10} {'bare':>10} "
        f"{'ratio':>7} {'ratio':>7}"
    )
    print(
        f"{'':18} {'':>6} {'':>5} {'samples/s':>10} {'samples/s':>10} {'samples/s':>10} "
        f"{'v eval':>7} {'v bare':>7}"
    )
    bare = BareProcess()
    for dataset, model, epochs in CASES:
        config = recommended_config(dataset, model, epochs=epochs)
        samples = epochs * len(load_dataset(dataset).y_train)
        engine_seconds(recommended_config(dataset, model, epochs=1))  # warm, as a worker is after a run
        bare.seconds(recommended_config(dataset, model, epochs=1), True)
        best = {key: [float("inf"), float("inf")] for key in ("engine", "eval", "bare")}
        for _ in range(args.repeats):  # alternate, so a busy neighbour slows every contender alike
            for key, (wall, cpu) in (
                ("engine", engine_seconds(config)),
                ("eval", bare.seconds(config, True)),
                ("bare", bare.seconds(config, False)),
            ):
                best[key] = [min(best[key][0], wall), min(best[key][1], cpu)]
        for clock, i in (("wall", 0), ("CPU", 1)):
            rate = {key: samples / value[i] for key, value in best.items()}
            print(
                f"{dataset + '/' + model:18} {epochs:>6} {clock:>5} {rate['engine']:>10,.0f} "
                f"{rate['eval']:>10,.0f} {rate['bare']:>10,.0f} {rate['engine'] / rate['eval']:>6.2f}x "
                f"{rate['engine'] / rate['bare']:>6.2f}x"
            )
    bare.close()

    # Two sessions at once: each run has a process and a core of its own.
    config = recommended_config("mnist1d", "convnet", epochs=8)
    samples = 8 * len(load_dataset("mnist1d").y_train)
    one = max(samples / engine_seconds(config)[0] for _ in range(2))
    runs = [TrainingRun(config, max_seconds=3600.0) for _ in range(2)]
    for run in runs:
        run.start()
    states = [run.wait_for(lambda s: s.status.done, timeout=3600.0) for run in runs]
    two = sum(samples / s.elapsed for s in states)
    print(
        f"mnist1d/convnet, two runs at once: {two:,.0f} samples/s together ({two / one:.2f}x one run alone; "
        f"{os.cpu_count()} cores)"
    )


if __name__ == "__main__":
    main()
