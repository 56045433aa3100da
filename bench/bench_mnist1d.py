"""MNIST-1D to the paper: the app's recipe for Greydanus's CNN against his 94 %, and the lectures' experiment.

Each run trains through `cnnviz.training.runs.TrainingRun`, exactly as the live page does (a worker
process, one torch thread), from `recommended_config` with its seed: the same numbers on every run. It
prints each run's test accuracy, its training time (the trainer's own clock: steps and test passes) and its
wall time (from the model being ready to the end of the run, reports and snapshots included),
then the lecture experiment on the same data: the MLP against the conv nets, with and without one fixed
pixel shuffle (lecture 000's thought experiment, on lecture 001's data).

Goal: the paper CNN at >= 94 % test accuracy in under 20 s of training on a 2-core machine.

Run from the repository root or anywhere: python bench/bench_mnist1d.py [--seeds N]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cnnviz.training.models import get_model_spec  # noqa: E402
from cnnviz.training.runs import TrainingRun  # noqa: E402
from cnnviz.training.trainer import Metrics, TrainConfig, recommended_config  # noqa: E402
from cnnviz.training.worker import worker_pool  # noqa: E402

PAPER_CNN_ACCURACY = 0.94  # Greydanus, "Scaling down deep learning", 2020: CNN on MNIST-1D


def train(config: TrainConfig) -> tuple[Metrics, float]:
    """The last point of the curves of a run of `config` through the live path, and the run's wall time."""
    run = TrainingRun(config, max_seconds=600.0)
    run.start()
    state = run.wait_for(lambda s: s.status.done, timeout=900.0)
    run.join()
    assert state.status.value == "finished", state.message
    return state.metrics[-1], state.elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3, help="seeds of the paper recipe to train (0, 1, ...)")
    args = parser.parse_args()
    worker_pool().warm_up().join()

    recipe = recommended_config("mnist1d", "cnn")
    print(
        f"Paper CNN recipe: {recipe.optimizer} lr {recipe.lr:g} momentum {recipe.momentum:g}, batch "
        f"{recipe.batch_size}, {recipe.epochs} epochs, {recipe.schedule} schedule, "
        f"{get_model_spec('mnist1d', 'cnn').params:,} parameters"
    )
    print(
        f"{'seed':>4} {'test acc':>9} {'train acc':>9} {'training s':>10} {'wall s':>7}   goal: >= 94 % in < 20 s"
    )
    for seed in range(args.seeds):
        last, wall = train(recommended_config("mnist1d", "cnn", seed=seed))
        ok = last.test_acc >= PAPER_CNN_ACCURACY and wall < 20
        print(
            f"{seed:>4} {100 * last.test_acc:>8.1f}% {100 * last.train_acc:>8.1f}% {last.seconds:>10.1f} "
            f"{wall:>7.1f}   {'ok' if ok else 'MISSED'}"
        )

    print("\nThe lecture experiment on the same data (seed 0): one fixed pixel shuffle for every signal")
    print(f"{'model':12} {'params':>7} {'plain':>7} {'shuffled':>9} {'change':>7}")
    for model in ("mlp", "convnet", "cnn"):
        plain = train(recommended_config("mnist1d", model))[0].test_acc
        shuffled = train(recommended_config("mnist1d", model, permute_pixels=True))[0].test_acc
        spec = get_model_spec("mnist1d", model)
        print(
            f"{spec.title:12} {spec.params:>7,} {100 * plain:>6.1f}% {100 * shuffled:>8.1f}% "
            f"{100 * (shuffled - plain):>+6.1f}"
        )


if __name__ == "__main__":
    main()
