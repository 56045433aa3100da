"""How fast does live training run next to a bare PyTorch loop? A printout, not a test.

For each data set's conv net (and the MNIST-1D MLP), the engine trains through `cnnviz.training.runs.TrainingRun`,
exactly as the live page does: a worker thread with one torch thread, slices of 50 ms, a test pass and
metrics at every epoch end, a snapshot (filters, feature maps, confusion matrix, worst samples) every
second. The bare loop trains the same model on the same tensors with the same optimizer and batch size:
shuffle, slice, forward, cross-entropy, backward, step. It runs in its own thread with one torch thread
too, once with a test pass at every epoch end (like for like) and once without (training only).

Throughput is training samples per second of wall time (epochs x training-set size / seconds), best of
a few alternating repeats; the engine's time includes building its model and its final snapshot.
Goal: the engine at least 0.9x the bare loop.

Run from the repository root or anywhere: python bench/bench_training.py
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402, N812

from cnnviz.training.datasets import load_dataset  # noqa: E402
from cnnviz.training.models import build_model  # noqa: E402
from cnnviz.training.runs import TrainingRun  # noqa: E402
from cnnviz.training.trainer import TrainConfig, recommended_config  # noqa: E402

REPEATS = 3
CASES: list[tuple[str, str, int]] = [  # (data set, model, epochs)
    ("mnist1d", "convnet", 8),
    ("digits", "convnet", 20),
    ("shapes", "convnet", 4),
    ("mnist1d", "mlp", 8),
]


def in_worker_thread(fn: Callable[[], float]) -> float:
    """fn() in a fresh thread limited to one torch thread, as the engine's worker is; returns its result."""
    out: list[float] = []

    def target() -> None:
        torch.set_num_threads(1)
        out.append(fn())

    t = threading.Thread(target=target)
    t.start()
    t.join()
    return out[0]


def engine_seconds(config: TrainConfig) -> float:
    """Wall time of a TrainingRun from start to its end, as the live page runs it."""
    run = TrainingRun(config, max_seconds=3600.0)
    run.start()
    state = run.wait_for(lambda s: s.status.done, timeout=3600.0)
    run.join()
    assert state.status.value == "finished", state.message
    return state.elapsed


def bare_seconds(config: TrainConfig, evaluate: bool) -> float:
    """Wall time of a plain PyTorch loop doing the same training (and the same test passes if `evaluate`)."""
    data = load_dataset(config.dataset, config.permute_pixels)
    start = time.perf_counter()
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
    return time.perf_counter() - start


def main() -> None:
    print(f"torch {torch.__version__}, one torch thread per training thread, best of {REPEATS}")
    header = (
        f"{'model':18} {'epochs':>6} {'engine':>10} {'bare+eval':>10} {'bare':>10} {'ratio':>7} {'ratio':>7}"
    )
    print(header)
    print(
        f"{'':18} {'':>6} {'samples/s':>10} {'samples/s':>10} {'samples/s':>10} {'v eval':>7} {'v bare':>7}"
    )
    for dataset, model, epochs in CASES:
        config = recommended_config(dataset, model, epochs=epochs)
        samples = epochs * len(load_dataset(dataset).y_train)  # generates the data before any timing
        best = {"engine": float("inf"), "eval": float("inf"), "bare": float("inf")}
        for _ in range(REPEATS):  # alternate, so a busy neighbour slows every contender alike
            best["engine"] = min(best["engine"], engine_seconds(config))
            best["eval"] = min(best["eval"], in_worker_thread(lambda c=config: bare_seconds(c, True)))
            best["bare"] = min(best["bare"], in_worker_thread(lambda c=config: bare_seconds(c, False)))
        rate = {k: samples / v for k, v in best.items()}
        print(
            f"{dataset + '/' + model:18} {epochs:>6} {rate['engine']:>10,.0f} {rate['eval']:>10,.0f} "
            f"{rate['bare']:>10,.0f} {rate['engine'] / rate['eval']:>6.2f}x "
            f"{rate['engine'] / rate['bare']:>6.2f}x"
        )

    # Two sessions at once on a 2-core machine: both share one Python interpreter (and its GIL).
    config = recommended_config("mnist1d", "convnet", epochs=8)
    samples = 8 * len(load_dataset("mnist1d").y_train)
    one = samples / engine_seconds(config)
    runs = [TrainingRun(config, max_seconds=3600.0) for _ in range(2)]
    for run in runs:
        run.start()
    states = [run.wait_for(lambda s: s.status.done, timeout=3600.0) for run in runs]
    two = sum(samples / s.elapsed for s in states)
    print(
        f"mnist1d/convnet, two runs at once: {two:,.0f} samples/s together ({two / one:.2f}x one run alone)"
    )


if __name__ == "__main__":
    main()
