"""Finished runs side by side: what each was (model, data, settings) and how it ended (accuracy, time).

A `RunRecord` is plain data (no model, no tensors), so a page can keep a handful per browser session and
overlay their learning curves: MLP against conv net, shuffled pixels against not, two learning rates.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cnnviz.training.datasets import DATASETS
from cnnviz.training.models import get_model_spec
from cnnviz.training.trainer import Metrics, TrainConfig

__all__ = ["RunRecord", "comparison_rows", "record_run"]


@dataclass(frozen=True)
class RunRecord:
    """One ended run: its serial number, config, parameter count, curves, and how it ended."""

    serial: int
    config: TrainConfig
    params: int
    metrics: tuple[Metrics, ...]
    steps: int
    status: str  # "finished", "stopped" or "failed"
    seconds: float  # wall time from start to end, pauses included

    @property
    def label(self) -> str:
        """A short name for legends: '#3 ConvNet, digits, adam lr 0.01' (+ ', shuffled')."""
        c = self.config
        title = get_model_spec(c.dataset, c.model).title
        shuffled = ", shuffled" if c.permute_pixels else ""
        return f"#{self.serial} {title}, {c.dataset}{shuffled}, {c.optimizer} lr {c.lr:g}"

    @property
    def final(self) -> Metrics | None:
        """The last point of the curves, if any."""
        return self.metrics[-1] if self.metrics else None


def record_run(
    serial: int, config: TrainConfig, metrics: tuple[Metrics, ...], steps: int, status: str, seconds: float
) -> RunRecord:
    """A RunRecord with the model's parameter count filled in."""
    params = get_model_spec(config.dataset, config.model).params
    return RunRecord(serial, config, params, tuple(metrics), steps, status, float(seconds))


def comparison_rows(records: list[RunRecord]) -> list[dict[str, Any]]:
    """One table row per run: settings, parameters, final and best test accuracy (%), epochs, time (s)."""
    rows = []
    for r in records:
        c, last = r.config, r.final
        rows.append(
            {
                "run": f"#{r.serial}",
                "data": DATASETS[c.dataset].title,
                "model": get_model_spec(c.dataset, c.model).title,
                "shuffled": c.permute_pixels,
                "optimizer": c.optimizer,
                "lr": c.lr,
                "batch": c.batch_size,
                "parameters": r.params,
                "epochs": round(last.epoch, 2) if last else 0.0,
                "train acc %": round(100 * last.train_acc, 1) if last else None,
                "test acc %": round(100 * last.test_acc, 1) if last else None,
                "best test acc %": round(100 * max(m.test_acc for m in r.metrics), 1) if last else None,
                "time s": round(r.seconds, 1),
                "ended": r.status,
            }
        )
    return rows
