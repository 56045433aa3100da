"""Train a small network one step or one epoch at a time, and look inside it while it learns.

`Trainer` is the engine behind live training: seeded (same `TrainConfig`, same numbers), cheap to
advance a step at a time, and able to answer "what does it see" at any step (`snapshot`, `predict`). It
holds no lock and starts no thread: `cnnviz.training.worker` runs it in a process of its own for a page.
`save_run` / `load_run` store a run as bytes that `torch.load(..., weights_only=True)` can read.

Train accuracy and loss in `Metrics` are running averages over the minibatches since the previous record
(what a training loop sees for free); test loss and accuracy are a full pass over the test set.
"""

from __future__ import annotations

import io
import math
import time
import warnings
import zipfile
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from cnnviz.errors import ConvConfigError
from cnnviz.training.datasets import DATASETS, Dataset, load_dataset
from cnnviz.training.models import build_model, get_model_spec, model_names

__all__ = [
    "MAX_RUN_BYTES",
    "OPTIMIZERS",
    "SCHEDULES",
    "Evaluation",
    "FeatureMap",
    "Metrics",
    "SampleView",
    "Snapshot",
    "StepResult",
    "TrainConfig",
    "Trainer",
    "TrainingError",
    "WorstSample",
    "check_lr",
    "load_run",
    "recommended_config",
    "save_run",
]

OPTIMIZERS: tuple[str, ...] = ("sgd", "adam")
SCHEDULES: tuple[str, ...] = ("constant", "cosine")
# A saved run is at most the upload limit (.streamlit/config.toml's server.maxUploadSize, in MB); the largest
# model here saves to about 3 MB with Adam's state.
MAX_RUN_BYTES = 25 * 1024 * 1024
# Points on a saved run's curves: a run on the page makes at most about 6,000 (two minutes of steps, a test
# pass every 20). Their pickle (about 115 bytes a point) is read before anything else is, and capped.
MAX_RECORDS = 20_000
_MAX_PICKLE_BYTES = 4 * 1024 * 1024
_RUN_FORMAT = "cnnviz.training.trainer-run"
_RUN_VERSION = 1
_ACTIVATIONS = (nn.ReLU, nn.LeakyReLU, nn.Tanh, nn.Sigmoid, nn.GELU)


class TrainingError(ConvConfigError):
    """A training setting, control or saved run that cannot work; the message says what to change."""


# ---------------------------------------------------------------------------------------------------
# Configuration
# ---------------------------------------------------------------------------------------------------

_FIELD_TYPES: dict[str, type] = {
    "dataset": str,
    "model": str,
    "optimizer": str,
    "lr": float,
    "batch_size": int,
    "weight_decay": float,
    "epochs": int,
    "seed": int,
    "permute_pixels": bool,
    "momentum": float,
    "schedule": str,
    "eval_every": int,
}


@dataclass(frozen=True)
class TrainConfig:
    """Everything that decides a run's numbers; validated on creation (TrainingError names the field)."""

    dataset: str = "digits"
    model: str = "convnet"
    optimizer: str = "adam"  # "sgd" (with `momentum`) or "adam"
    lr: float = 1e-2
    batch_size: int = 32
    weight_decay: float = 0.0  # L2 penalty, added to the gradient by the optimizer
    epochs: int = 40
    seed: int = 0
    permute_pixels: bool = False  # lecture 000: the same fixed pixel shuffle for every image
    momentum: float = 0.9  # sgd only
    schedule: str = "cosine"  # "constant", or "cosine" decay of lr to 0 over `epochs`
    eval_every: int = 0  # also record test metrics every this many steps (0: at epoch ends only)

    def __post_init__(self) -> None:
        for name, kind in _FIELD_TYPES.items():
            value = getattr(self, name)
            if not _type_ok(value, kind):
                raise TrainingError(f"{name} must be a {kind.__name__} (got {_short(value)})", argument=name)
            if kind is float:
                if not _finite(value):
                    raise TrainingError(
                        f"{name} must be a finite number (got {_short(value)})", argument=name
                    )
                object.__setattr__(self, name, float(value))
        if self.dataset not in DATASETS:
            raise TrainingError(
                f"unknown data set {_short(self.dataset)}: choose one of {', '.join(DATASETS)}",
                argument="dataset",
            )
        if self.model not in model_names(self.dataset):
            raise TrainingError(
                f"unknown model {_short(self.model)} for {self.dataset}: choose one of "
                f"{', '.join(model_names(self.dataset))}",
                argument="model",
            )
        _check(
            self.optimizer in OPTIMIZERS,
            "optimizer",
            f"optimizer must be one of {', '.join(OPTIMIZERS)} (got {_short(self.optimizer)})",
        )
        _check(
            self.schedule in SCHEDULES,
            "schedule",
            f"schedule must be one of {', '.join(SCHEDULES)} (got {_short(self.schedule)})",
        )
        check_lr(self.lr)
        _check(
            1 <= self.batch_size <= 4096,
            "batch_size",
            f"batch size must be 1 to 4096 (got {_short(self.batch_size)})",
        )
        _check(
            0 <= self.weight_decay < 1,
            "weight_decay",
            f"weight decay must be in [0, 1) (got {_short(self.weight_decay)})",
        )
        _check(1 <= self.epochs <= 10_000, "epochs", f"epochs must be 1 to 10000 (got {_short(self.epochs)})")
        _check(0 <= self.seed < 2**63, "seed", f"seed must be 0 to 2**63 - 1 (got {_short(self.seed)})")
        _check(
            0 <= self.momentum < 1, "momentum", f"momentum must be in [0, 1) (got {_short(self.momentum)})"
        )
        _check(
            self.eval_every >= 0,
            "eval_every",
            f"eval_every must be 0 or more steps (got {_short(self.eval_every)})",
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain str/int/float/bool values, for saving."""
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainConfig:
        """The inverse of `to_dict`; unknown keys are an error, missing ones take their defaults."""
        if not isinstance(values, dict):
            raise TrainingError(f"a training configuration is a dict (got {type(values).__name__})")
        names = {f.name for f in fields(cls)}
        unknown = [key for key in values if key not in names]
        if unknown:
            shown = ", ".join(
                _short(key, 30) if not isinstance(key, str) else key[:30] for key in unknown[:5]
            )
            raise TrainingError(f"unknown training settings: {shown}{', ...' if len(unknown) > 5 else ''}")
        return cls(**values)


def _type_ok(value: object, kind: type) -> bool:
    """isinstance, except that a bool is no int and an int is a fine float."""
    if kind is bool:
        return isinstance(value, bool)
    if isinstance(value, bool):
        return False
    return isinstance(value, (int, float)) if kind is float else isinstance(value, kind)


def _finite(value: object) -> bool:
    """True for a number that is a finite float (an int too large for a float is not)."""
    try:
        return math.isfinite(value)  # type: ignore[arg-type]
    except (OverflowError, TypeError):
        return False


def _short(value: object, limit: int = 40) -> str:
    """repr(value), cut to `limit` characters: a message never repeats a file's megabytes."""
    text = repr(value) if not isinstance(value, int) or abs(value) < 10**30 else "a huge number"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def check_lr(lr: object) -> float:
    """`lr` as a float if it is a usable learning rate, in (0, 10]; else a TrainingError naming lr."""
    if not _type_ok(lr, float) or not _finite(lr) or not 0 < lr <= 10:
        raise TrainingError(f"learning rate must be in (0, 10] (got {_short(lr)})", argument="lr")
    return float(lr)


def _check(ok: bool, argument: str, message: str) -> None:
    if not ok:
        raise TrainingError(message, argument=argument)


# Settings that reach the lectures' numbers in seconds on a 2-core machine (tests/training/test_trainer.py,
# bench/bench_mnist1d.py). Test accuracy at seed 0, plain / pixel-shuffled: digits conv 97.8 / 96.7 %, MLP
# 97.2 / 96.9 %; MNIST-1D paper CNN 95.1 / 64.1 % (seeds 1, 2: 94.7, 95.9 %), lecture conv 91.3 / 60.8 %,
# MLP 63.7 / 64.1 %; shapes conv 90.0 / 48.6 %, MLP 52.7 / 50.4 %. Without the cosine decay the MNIST-1D
# conv net stalls at 81-87 %.
_RECIPES: dict[tuple[str, str], dict[str, Any]] = {
    ("digits", "mlp"): {"optimizer": "adam", "lr": 3e-3, "batch_size": 64, "epochs": 30},
    ("digits", "convnet"): {"optimizer": "adam", "lr": 1e-2, "batch_size": 32, "epochs": 40},
    ("mnist1d", "mlp"): {"optimizer": "adam", "lr": 1e-3, "batch_size": 32, "epochs": 20},
    ("mnist1d", "convnet"): {"optimizer": "sgd", "lr": 0.05, "momentum": 0.9, "batch_size": 32, "epochs": 30},
    # The paper's 94 % (Greydanus 2020, Adam, batch 100): SGD with momentum and a cosine decay does better.
    # Batch 64 at lr 0.1 for 40 epochs: 95.1-95.2 % on seeds 0-2 in 7-9 s of training on 2 cores, where
    # batch 32 at lr 0.05 for 60 epochs took twice as long for the same accuracy.
    ("mnist1d", "cnn"): {"optimizer": "sgd", "lr": 0.1, "momentum": 0.9, "batch_size": 64, "epochs": 40},
    ("shapes", "mlp"): {"optimizer": "adam", "lr": 1e-3, "batch_size": 64, "epochs": 20},
    ("shapes", "convnet"): {"optimizer": "adam", "lr": 1e-2, "batch_size": 64, "epochs": 20},
}


def recommended_config(dataset: str = "digits", model: str = "convnet", **changes: Any) -> TrainConfig:
    """Settings known to train `model` well on `dataset` (cosine schedule), with `changes` applied on top."""
    get_model_spec(dataset, model)
    return TrainConfig(dataset=dataset, model=model, **{**_RECIPES[(dataset, model)], **changes})


# ---------------------------------------------------------------------------------------------------
# What the trainer reports
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Metrics:
    """One point of the learning curves: train averages since the last point, test over the whole test set."""

    step: int
    epoch: float  # steps / steps per epoch
    train_loss: float
    train_acc: float
    test_loss: float
    test_acc: float
    lr: float  # the learning rate of the last step
    seconds: float  # training time so far (steps and evaluation; pauses excluded)


@dataclass(frozen=True, eq=False)
class StepResult:
    """One minibatch: its mean loss and accuracy, and the Metrics it completed (epoch end), if any.

    The accuracy is counted when asked for: a training loop that does not look at it pays nothing."""

    loss: float
    record: Metrics | None
    logits: torch.Tensor = field(repr=False)  # (batch, K), detached
    labels: torch.Tensor = field(repr=False)  # (batch,)

    @property
    def accuracy(self) -> float:
        """The fraction of the minibatch the model classified right before this step's update."""
        return _correct(self.logits, self.labels) / len(self.labels)


def _correct(logits: torch.Tensor, labels: torch.Tensor) -> int:
    """How many rows of `logits` have their largest value at the row's label."""
    return int((logits.argmax(1) == labels).sum())


@dataclass(frozen=True, eq=False)
class Evaluation:
    """The model on the whole test set: predictions (N,), probabilities (N, K), per-sample losses (N,)."""

    step: int
    loss: float
    accuracy: float
    predictions: np.ndarray
    probabilities: np.ndarray
    losses: np.ndarray


@dataclass(frozen=True, eq=False)
class FeatureMap:
    """A conv layer's output (after its activation) for one sample: values (C, H, W) or (C, L)."""

    index: int  # position in the Sequential
    layer: str
    values: np.ndarray


@dataclass(frozen=True, eq=False)
class SampleView:
    """Test sample `index` as people see it (un-shuffled, (C, H, W) or (C, L)) and its conv feature maps."""

    step: int
    index: int
    sample: np.ndarray
    label: int
    feature_maps: tuple[FeatureMap, ...]


@dataclass(frozen=True, eq=False)
class WorstSample:
    """A test sample the model gets most wrong: x in display layout (un-shuffled), (C, H, W) or (C, L)."""

    index: int
    label: int
    predicted: int
    p_label: float  # the probability the model gives the right class
    p_predicted: float  # the probability of the class it chose: its confidence
    loss: float
    x: np.ndarray


@dataclass(frozen=True, eq=False)
class Snapshot:
    """What the network looks like at one step: for the pictures next to the learning curves.

    filters: the first layer's weights, (C_out, C_in, kH, kW) / (C_out, C_in, k) for a conv net; for an MLP
    each hidden unit's input weights (units, C, H, W) in the original (un-shuffled) pixel layout.
    """

    step: int
    epoch: float
    filters: np.ndarray
    filters_layer: str
    sample_index: int
    sample: np.ndarray  # the test sample as shown to people (un-shuffled), (C, H, W) or (C, L)
    sample_label: int
    feature_maps: tuple[FeatureMap, ...]
    confusion: np.ndarray  # (K, K) counts, rows = true class, columns = predicted
    worst: tuple[WorstSample, ...]
    test_loss: float
    test_acc: float


# ---------------------------------------------------------------------------------------------------
# The trainer
# ---------------------------------------------------------------------------------------------------


def _read_only(a: np.ndarray) -> np.ndarray:
    a.flags.writeable = False
    return a


def _shared_tensor(a: np.ndarray) -> torch.Tensor:
    """A tensor over the cached, read-only array `a`, without a copy: the trainer never writes into its
    data (a shuffle makes a new tensor), and worker processes keep sharing the pages they inherited."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
        return torch.from_numpy(a)


class Trainer:
    """Seeded minibatch training of one model on one data set; advance with `step`, `run_epoch`, `train_for`.

    Not thread-safe: one thread at a time (each run's worker process owns its trainer).
    """

    def __init__(self, config: TrainConfig, dataset: Dataset | None = None) -> None:
        spec = get_model_spec(config.dataset, config.model)
        data = dataset if dataset is not None else load_dataset(config.dataset, config.permute_pixels)
        if data.permuted != config.permute_pixels:
            raise TrainingError(
                f"the data set is {'' if data.permuted else 'not '}pixel-shuffled but permute_pixels is "
                f"{config.permute_pixels}",
                argument="permute_pixels",
            )
        if data.input_shape != spec.input_shape:
            raise TrainingError(
                f"{config.model} for {config.dataset} takes {spec.input_shape}; "
                f"the data has {data.input_shape}",
                argument="dataset",
            )
        self.config = config
        self.dataset = data
        self.model = build_model(config.dataset, config.model, config.seed)
        # The fastest kernels for these small models, by measurement (ms per step, one thread, torch 2.13):
        # oneDNN's, torch's default, for every conv (1-D ones on PyTorch's own kernels instead: MNIST-1D
        # lecture net 0.98 vs 0.93, paper CNN 1.48 vs 1.15), with 2-D conv weights in channels-last layout
        # (digits 1.13 vs 1.22, shapes 3.00 vs 3.13). The layout depends on the model only, so a config
        # still gives the same numbers everywhere.
        if any(isinstance(m, nn.Conv2d) for m in self.model.modules()):
            self.model = self.model.to(memory_format=torch.channels_last)
        self._x = _shared_tensor(data.x_train)
        self._y = _shared_tensor(data.y_train)
        self._x_test = _shared_tensor(data.x_test)
        self._y_test = _shared_tensor(data.y_test)
        self._gen = torch.Generator().manual_seed(config.seed)
        self._params = list(self.model.parameters())
        self.optimizer = self._make_optimizer()
        self.base_lr = float(config.lr)
        self.steps_per_epoch = math.ceil(len(self._y) / config.batch_size)
        self.total_steps = config.epochs * self.steps_per_epoch
        self.step_count = 0
        self.seconds = 0.0
        self.history: list[Metrics] = []
        self._batch = 0  # batches done in the current epoch
        self._order: torch.Tensor | None = None  # this epoch's sample order, (N,)
        self._xs = self._x
        self._ys = self._y
        self._run_loss = 0.0  # sums since the last record
        self._run_correct = 0
        self._run_count = 0
        # The steps since then whose right answers are not counted yet: (logits, labels), counted in one
        # go when a record or a save needs them, instead of three small tensor ops at every step.
        self._uncounted: list[tuple[torch.Tensor, torch.Tensor]] = []
        self._last_lr = self.lr_at(0)
        self._last_eval: Evaluation | None = None

    def _make_optimizer(self) -> torch.optim.Optimizer:
        # fused: one kernel updates every parameter (PyTorch's CPU implementation of the same update),
        # instead of a Python loop of small ops per tensor; 5-30 % faster on these small models.
        c = self.config
        if c.optimizer == "sgd":
            return torch.optim.SGD(
                self._params, lr=c.lr, momentum=c.momentum, weight_decay=c.weight_decay, fused=True
            )
        return torch.optim.Adam(self._params, lr=c.lr, weight_decay=c.weight_decay, fused=True)

    # -- progress ------------------------------------------------------------------------------------

    @property
    def epoch(self) -> float:
        """Epochs done, as a fraction: 2.5 is halfway through the third epoch."""
        return self.step_count / self.steps_per_epoch

    @property
    def finished(self) -> bool:
        """True once all `config.epochs` epochs are done."""
        return self.step_count >= self.total_steps

    def lr_at(self, step: int) -> float:
        """The learning rate used for optimisation step `step` (0-based): base lr times the schedule."""
        if self.config.schedule == "constant":
            return self.base_lr
        progress = min(step, self.total_steps) / self.total_steps
        return self.base_lr * 0.5 * (1.0 + math.cos(math.pi * progress))

    def set_lr(self, lr: float) -> None:
        """Change the base learning rate from the next step on (the schedule still scales it)."""
        self.base_lr = check_lr(lr)

    # -- training ------------------------------------------------------------------------------------

    def step(self) -> StepResult:
        """One minibatch: forward, backward, update. Records Metrics (with a test pass) at each epoch end."""
        if self.finished:
            raise TrainingError(f"this run has finished its {self.config.epochs} epochs", argument="epochs")
        start = time.perf_counter()
        if self._batch == 0:
            self._order = torch.randperm(len(self._y), generator=self._gen)
            self._xs, self._ys = self._x[self._order], self._y[self._order]
        lr = self.lr_at(self.step_count)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        bs = self.config.batch_size
        xb = self._xs[self._batch * bs : (self._batch + 1) * bs]
        yb = self._ys[self._batch * bs : (self._batch + 1) * bs]
        logits = self.model(xb)
        loss = F.cross_entropy(logits, yb)
        loss_value = loss.item()
        if not math.isfinite(loss_value):  # diverged: keep the last good weights and say why
            raise TrainingError(
                f"the loss became {loss_value} at step {self.step_count + 1}: the learning rate "
                f"{lr:.3g} is too high for this model; lower it and train again",
                argument="lr",
            )
        for p in self._params:  # = optimizer.zero_grad(set_to_none=True), minus its profiler hook
            p.grad = None
        loss.backward()
        self.optimizer.step()

        n = len(yb)
        logits = logits.detach()
        self._uncounted.append((logits, yb))
        self._run_loss += loss_value * n
        self._run_count += n
        self._last_lr = lr
        self.step_count += 1
        self._batch += 1
        record = None
        if self._batch == self.steps_per_epoch:
            self._batch = 0
            record = self._record(start)
        elif self.config.eval_every and self.step_count % self.config.eval_every == 0:
            record = self._record(start)
        else:
            self.seconds += time.perf_counter() - start
        return StepResult(loss_value, record, logits, yb)

    def _count_correct(self) -> int:
        """Right answers in the training minibatches since the last record (counting what is pending)."""
        if self._uncounted:
            logits, labels = zip(*self._uncounted, strict=True)
            self._run_correct += _correct(torch.cat(logits), torch.cat(labels))
            self._uncounted.clear()
        return self._run_correct

    def _record(self, start: float) -> Metrics:
        ev = self.evaluate()
        self.seconds += time.perf_counter() - start
        m = Metrics(
            step=self.step_count,
            epoch=self.epoch,
            train_loss=self._run_loss / self._run_count,
            train_acc=self._count_correct() / self._run_count,
            test_loss=ev.loss,
            test_acc=ev.accuracy,
            lr=self._last_lr,
            seconds=self.seconds,
        )
        self._run_loss, self._run_correct, self._run_count = 0.0, 0, 0
        self.history.append(m)
        return m

    def run_epoch(self) -> Metrics:
        """Steps to the end of the current epoch; returns that epoch's Metrics."""
        while True:
            self.step()
            if self._batch == 0:
                return self.history[-1]

    def train_for(self, seconds: float, max_steps: int | None = None) -> int:
        """Steps until `seconds` pass, `max_steps` are done or training finishes; returns the steps done."""
        deadline = time.perf_counter() + seconds
        done = 0
        while not self.finished and (max_steps is None or done < max_steps):
            self.step()
            done += 1
            if time.perf_counter() >= deadline:
                break
        return done

    # -- looking inside ------------------------------------------------------------------------------

    def evaluate(self) -> Evaluation:
        """The model on the whole test set, now (also kept for the next `snapshot`)."""
        if self._last_eval is not None and self._last_eval.step == self.step_count:
            return self._last_eval
        self.model.eval()
        with torch.inference_mode():
            logits = self.model(self._x_test)
            losses = F.cross_entropy(logits, self._y_test, reduction="none")
            probs = torch.softmax(logits, dim=1)
            preds = logits.argmax(1)
        self.model.train()
        ev = Evaluation(
            step=self.step_count,
            loss=float(losses.mean()),
            accuracy=float((preds == self._y_test).float().mean()),
            predictions=_read_only(preds.numpy().astype(np.int64)),
            probabilities=_read_only(probs.numpy().copy()),
            losses=_read_only(losses.numpy().copy()),
        )
        self._last_eval = ev
        return ev

    def first_layer_filters(self, limit: int | None = None) -> tuple[np.ndarray, str]:
        """A copy of the first weighted layer's weights (the first `limit` units, None: all) and its name
        (layout: see `Snapshot.filters`)."""
        for layer in self.model:
            if isinstance(layer, (nn.Conv1d, nn.Conv2d)):
                return layer.weight.detach()[:limit].numpy().copy(), repr(layer)
            if isinstance(layer, nn.Linear):
                w = layer.weight.detach()[:limit].numpy().reshape(-1, *self.dataset.input_shape)
                return np.array(self.dataset.unpermute(w), order="C"), repr(layer)  # a copy, not a view
        raise TrainingError("this model has no Linear or Conv layer to show")

    def feature_maps(self, x: np.ndarray) -> tuple[FeatureMap, ...]:
        """Every conv layer's output (after its activation) for one model-space input x (C, H, W) / (C, L)."""
        maps: list[FeatureMap] = []
        pending: tuple[int, str] | None = None
        layers = list(self.model)
        self.model.eval()
        with torch.inference_mode():
            h = torch.tensor(np.asarray(x, dtype=np.float32))[None]  # a copy: x may be read-only
            for i, layer in enumerate(layers):
                h = layer(h)
                if isinstance(layer, (nn.Conv1d, nn.Conv2d)):
                    pending = (i, repr(layer))
                if pending is not None and not (
                    i + 1 < len(layers) and isinstance(layers[i + 1], _ACTIVATIONS)
                ):
                    name = pending[1] if pending[0] == i else f"{pending[1]} + {layer!r}"
                    maps.append(FeatureMap(pending[0], name, _read_only(h[0].numpy().copy())))
                    pending = None
        self.model.train()
        return tuple(maps)

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Class probabilities for a user's input in display layout: (C, ...) -> (K,), (N, C, ...) -> (N, K).

        The data set's pixel shuffle, if any, is applied first, as for every training image.
        """
        prepared = self.dataset.prepare(x)
        batch = prepared[None] if prepared.ndim == len(self.dataset.input_shape) else prepared
        self.model.eval()
        with torch.inference_mode():
            probs = torch.softmax(self.model(torch.from_numpy(np.array(batch))), dim=1).numpy()
        self.model.train()
        return probs[0] if prepared.ndim == len(self.dataset.input_shape) else probs

    def sample_view(self, index: int) -> SampleView:
        """Test sample `index` and what every conv layer makes of it, now."""
        n_test = len(self.dataset.y_test)
        if not 0 <= index < n_test:
            raise TrainingError(
                f"sample index must be 0 to {n_test - 1} (got {index})", argument="sample_index"
            )
        x_model = self.dataset.x_test[index]
        return SampleView(
            step=self.step_count,
            index=int(index),
            sample=_read_only(np.ascontiguousarray(self.dataset.unpermute(x_model))),
            label=int(self.dataset.y_test[index]),
            feature_maps=self.feature_maps(x_model),
        )

    def snapshot(self, sample_index: int = 0, worst_k: int = 8, max_filters: int | None = None) -> Snapshot:
        """Filters (the first `max_filters`, None: all), feature maps of test sample `sample_index`,
        confusion matrix, `worst_k` worst samples."""
        n_test = len(self.dataset.y_test)
        if not 0 <= sample_index < n_test:
            raise TrainingError(
                f"sample index must be 0 to {n_test - 1} (got {sample_index})", argument="sample_index"
            )
        ev = self.evaluate()
        k = self.dataset.num_classes
        y = self.dataset.y_test
        confusion = np.bincount(y * k + ev.predictions, minlength=k * k).reshape(k, k)
        worst_idx = np.argsort(-ev.losses, kind="stable")[:worst_k]
        worst = tuple(
            WorstSample(
                index=int(i),
                label=int(y[i]),
                predicted=int(ev.predictions[i]),
                p_label=float(ev.probabilities[i, y[i]]),
                p_predicted=float(ev.probabilities[i, ev.predictions[i]]),
                loss=float(ev.losses[i]),
                x=_read_only(np.ascontiguousarray(self.dataset.unpermute(self.dataset.x_test[i]))),
            )
            for i in worst_idx
        )
        filters, filters_layer = self.first_layer_filters(max_filters)
        x_model = self.dataset.x_test[sample_index]
        return Snapshot(
            step=self.step_count,
            epoch=self.epoch,
            filters=_read_only(filters),
            filters_layer=filters_layer,
            sample_index=sample_index,
            sample=_read_only(np.ascontiguousarray(self.dataset.unpermute(x_model))),
            sample_label=int(y[sample_index]),
            feature_maps=self.feature_maps(x_model),
            confusion=_read_only(confusion),
            worst=worst,
            test_loss=ev.loss,
            test_acc=ev.accuracy,
        )

    # -- saving --------------------------------------------------------------------------------------

    def _state(self) -> dict[str, Any]:
        return {
            "format": _RUN_FORMAT,
            "version": _RUN_VERSION,
            "config": self.config.to_dict(),
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "generator": self._gen.get_state(),
            "order": self._order if self._batch else None,
            "progress": {
                "step": self.step_count,
                "batch": self._batch,
                "base_lr": self.base_lr,
                "last_lr": self._last_lr,
                "seconds": self.seconds,
                "run_loss": self._run_loss,
                "run_correct": self._count_correct(),
                "run_count": self._run_count,
            },
            "history": [asdict(m) for m in self.history],
        }

    def _restore_optimizer(self, saved: object, step: int) -> None:
        """Put a saved optimizer state's buffers into this trainer's optimizer (see `_optimizer_buffers`)."""
        buffers = _optimizer_buffers(saved, self.config, self._params, step)
        self.optimizer.state.clear()
        for param, entry in zip(self._params, buffers, strict=True):
            if entry:
                self.optimizer.state[param] = entry

    def _restore(self, state: dict[str, Any]) -> None:
        p = state["progress"]
        step, batch = p["step"], p["batch"]
        if not (_type_ok(step, int) and _type_ok(batch, int) and 0 <= step <= self.total_steps):
            raise TrainingError("the saved progress does not fit its configuration")
        if batch != step % self.steps_per_epoch:
            raise TrainingError("the saved progress does not fit its configuration")
        history = _history_from_list(state["history"], step, self.steps_per_epoch, self.config.eval_every)
        self.model.load_state_dict(state["model"], strict=True)
        self._restore_optimizer(state["optimizer"], step)
        self._gen.set_state(state["generator"])
        if batch:
            order = state["order"]
            if not (
                isinstance(order, torch.Tensor)
                and order.dtype == torch.int64
                and order.shape == self._y.shape
                and torch.equal(torch.sort(order).values, torch.arange(len(self._y)))
            ):
                raise TrainingError("the saved sample order does not fit the data set")
            self._order = order.clone()
            self._xs, self._ys = self._x[self._order], self._y[self._order]
        self.step_count, self._batch = step, batch
        self.set_lr(_number(p["base_lr"], float))
        self._last_lr = _number(p["last_lr"], float)
        for group in self.optimizer.param_groups:  # as the last step left it
            group["lr"] = self._last_lr
        self.seconds = _number(p["seconds"], float)
        self._run_loss = _number(p["run_loss"], float)
        self._run_correct, self._run_count = _number(p["run_correct"], int), _number(p["run_count"], int)
        self.history = history


_OPTIMIZER_STATE = {"adam": {"step", "exp_avg", "exp_avg_sq"}, "sgd": {"momentum_buffer"}}
# What a saved optimizer's one parameter group may hold, by what each value must be. The names are torch's
# for Adam and SGD (some torch versions leave a few out); the values are checked, then ignored: the
# hyper-parameters come from the run's config, never from the file.
_GROUP_NUMBERS = {"lr", "eps", "weight_decay", "momentum", "dampening", "initial_lr"}
_GROUP_FLAGS = {"amsgrad", "maximize", "capturable", "differentiable", "nesterov", "decoupled_weight_decay"}
_GROUP_MAYBE_FLAGS = {"foreach", "fused"}  # None: torch picks
_GROUP_KEYS = {
    "adam": {"params", "lr", "betas", "eps", "weight_decay", "amsgrad", "maximize", "foreach", "capturable",
             "differentiable", "fused", "decoupled_weight_decay", "initial_lr"},
    "sgd": {"params", "lr", "momentum", "dampening", "weight_decay", "nesterov", "maximize", "foreach",
            "differentiable", "fused", "initial_lr"},
}  # fmt: skip


def _check_param_group(group: object, optimizer: str, n_params: int) -> None:
    """The saved optimizer's parameter group: a dict of `_GROUP_KEYS[optimizer]` only, every parameter
    index once in order, and finite non-negative numbers, booleans and betas where torch keeps them."""
    if not isinstance(group, dict) or not all(isinstance(k, str) for k in group):
        raise TrainingError("the saved optimizer state is damaged")
    unknown = sorted(set(group) - _GROUP_KEYS[optimizer])
    other = next(
        (name for name, keys in _GROUP_KEYS.items() if name != optimizer and set(group) <= keys), None
    )
    if unknown and other is not None:
        raise TrainingError(f"the saved optimizer state is {other}'s, not {optimizer}'s")
    if unknown:
        raise TrainingError(
            f"the saved optimizer settings hold {_short(unknown[0], 30)}, which {optimizer} does not have"
        )
    if "params" not in group or "lr" not in group:
        raise TrainingError("the saved optimizer settings are incomplete (no params or lr)")
    params = group["params"]
    if not (
        isinstance(params, list) and all(type(i) is int for i in params) and params == list(range(n_params))
    ):
        raise TrainingError("the saved optimizer state does not fit the model's weights")
    for name, value in group.items():
        if name in _GROUP_NUMBERS:
            ok = _type_ok(value, float) and _finite(value) and value >= 0
        elif name in _GROUP_FLAGS:
            ok = isinstance(value, bool)
        elif name in _GROUP_MAYBE_FLAGS:
            ok = value is None or isinstance(value, bool)
        elif name == "betas":
            ok = (
                isinstance(value, (tuple, list))
                and len(value) == 2
                and all(_type_ok(b, float) and _finite(b) and 0 <= b < 1 for b in value)
            )
        else:  # params, checked above
            continue
        if not ok:
            raise TrainingError(
                f"the saved optimizer setting {name!r} is {_short(value, 30)}, not a value {optimizer} takes"
            )


def _optimizer_buffers(
    saved: object, config: TrainConfig, params: list[torch.Tensor], step: int
) -> list[dict[str, torch.Tensor]]:
    """Each parameter's optimizer buffers from a saved optimizer state, read strictly against the model and
    the run's own progress; anything else is a TrainingError saying what does not fit.

    The state is {"state", "param_groups"} and nothing else; one parameter group (`_check_param_group`);
    state keyed by parameter index, either empty (no step taken yet, or SGD without momentum) or one entry
    per parameter with exactly the keys `config.optimizer` keeps: float32 tensors of the parameter's shape,
    every value finite, and Adam's step count equal to the steps the run has taken."""
    optimizer = config.optimizer
    if not isinstance(saved, dict) or set(saved) != {"state", "param_groups"}:
        raise TrainingError("the saved optimizer state is damaged")
    state, groups = saved["state"], saved["param_groups"]
    if not isinstance(state, dict) or not (isinstance(groups, list) and len(groups) == 1):
        raise TrainingError("the saved optimizer state is damaged")
    _check_param_group(groups[0], optimizer, len(params))
    if not all(type(k) is int and 0 <= k < len(params) for k in state):
        raise TrainingError("the saved optimizer state does not fit the model's weights")
    keeps_state = step > 0 and (optimizer == "adam" or config.momentum != 0)
    filled = sum(1 for entry in state.values() if entry)
    if filled != (len(params) if keeps_state else 0):  # every parameter is updated at every step
        raise TrainingError(
            f"the saved optimizer state holds buffers for {filled} of the model's {len(params)} weights, "
            f"which a run of {step:,} steps does not leave"
        )
    keys = _OPTIMIZER_STATE[optimizer]
    buffers = []
    for i, param in enumerate(params):
        entry = state.get(i, {})
        if not isinstance(entry, dict) or (entry and set(entry) != keys):
            raise TrainingError(f"the saved optimizer state is not {optimizer}'s")
        for name, value in entry.items():
            shape = () if name == "step" else param.shape
            if not (
                isinstance(value, torch.Tensor) and value.dtype == torch.float32 and value.shape == shape
            ):
                raise TrainingError("the saved optimizer state does not fit the model's weights")
            if not bool(torch.isfinite(value).all()):
                raise TrainingError("the saved optimizer state holds a value that is not a finite number")
            if name == "step" and float(value) != step:
                raise TrainingError(
                    f"the saved optimizer has counted {_short(float(value), 20)} steps, but the run has "
                    f"taken {step:,}"
                )
        buffers.append({name: value.clone() for name, value in entry.items()})
    return buffers


def _history_from_list(values: object, step: int, steps_per_epoch: int, eval_every: int) -> list[Metrics]:
    """A saved run's curves, checked against its own progress: at most one point per epoch end and per
    `eval_every` steps it has taken, at increasing steps up to `step`."""
    if not isinstance(values, list):
        raise TrainingError("the saved curves are damaged")
    most = step // steps_per_epoch + (step // eval_every if eval_every else 0)
    if len(values) > min(most, MAX_RECORDS):
        raise TrainingError(
            f"the saved curves hold {len(values):,} points, but a run of {step:,} steps records at most "
            f"{min(most, MAX_RECORDS):,}"
        )
    history = [_metrics_from_dict(m) for m in values]
    steps = [m.step for m in history]
    if any(b <= a for a, b in zip(steps, steps[1:], strict=False)) or (
        steps and not 1 <= steps[0] <= steps[-1] <= step
    ):
        raise TrainingError("the saved curves do not fit the run's steps")
    return history


def _number(value: object, kind: type) -> Any:
    """`value` if it is a real number of `kind` (an int counts as a float), else a TrainingError."""
    if not _type_ok(value, kind) or (kind is float and not _finite(value)):
        what = "a whole number" if kind is int else "a number"
        raise TrainingError(f"expected {what} in the saved run, found {_short(value)}")
    return kind(value)


def _metrics_from_dict(values: object) -> Metrics:
    """A saved Metrics record, checked field by field."""
    names = [f.name for f in fields(Metrics)]
    if not isinstance(values, dict) or sorted(values) != sorted(names):
        raise TrainingError("a saved metrics record is damaged")
    return Metrics(**{n: _number(values[n], int if n == "step" else float) for n in names})


def save_run(trainer: Trainer) -> bytes:
    """The whole run (config, weights, optimizer and sampler state, metrics) as bytes for a download.

    `load_run` continues from it exactly where it left off.
    """
    buffer = io.BytesIO()
    torch.save(trainer._state(), buffer)
    return buffer.getvalue()


def _check_container(data: bytes) -> None:
    """Refuse, before unpickling anything, a file that is not torch.save's zip of stored (uncompressed)
    entries, or whose pickled part is larger than a saved run's records can be."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError, KeyError) as exc:
        raise TrainingError(
            f"this is not a saved cnnviz training run ({type(exc).__name__}); "
            "choose a file made with the Save button",
            argument="file",
        ) from None
    pickles = [e for e in entries if e.filename.endswith("data.pkl")]
    stored = all(e.compress_type == zipfile.ZIP_STORED for e in entries)
    if (
        len(pickles) != 1
        or not stored
        or len(entries) > 1_000
        or sum(e.file_size for e in entries) > len(data)
    ):
        raise TrainingError(
            "this is not a saved cnnviz training run (not the layout the Save button writes); "
            "choose a file made with the Save button",
            argument="file",
        )
    if pickles[0].file_size > _MAX_PICKLE_BYTES:
        raise TrainingError(
            f"this run's records take {pickles[0].file_size / 2**20:.1f} MB; a saved run's take at most "
            f"{_MAX_PICKLE_BYTES // 2**20} MB (about {MAX_RECORDS:,} points on its curves)",
            argument="file",
        )


def load_run(data: bytes, dataset: Dataset | None = None) -> Trainer:
    """A Trainer from `save_run`'s bytes, read with weights_only=True; anything else raises TrainingError.

    Sizes are checked before the work they would cost: the file (MAX_RUN_BYTES), its pickled records, then
    the points on its curves against the steps the run has taken.
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TrainingError(f"a saved run is bytes (got {type(data).__name__})", argument="file")
    data = bytes(data)
    if len(data) > MAX_RUN_BYTES:
        raise TrainingError(
            f"this file is {len(data) / 2**20:.1f} MB; a saved run is at most {MAX_RUN_BYTES // 2**20} MB",
            argument="file",
        )
    _check_container(data)
    try:
        state = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many kinds (pickle, zip, runtime) for a file that isn't one
        raise TrainingError(
            f"this is not a saved cnnviz training run ({type(exc).__name__}); "
            "choose a file made with the Save button",
            argument="file",
        ) from None
    if not isinstance(state, dict) or state.get("format") != _RUN_FORMAT:
        raise TrainingError(
            "this is not a saved cnnviz training run; choose a file made with the Save button",
            argument="file",
        )
    if state.get("version") != _RUN_VERSION:
        raise TrainingError(
            f"this run was saved in format version {_short(state.get('version'))}; "
            f"this version of cnnviz reads {_RUN_VERSION}",
            argument="file",
        )
    try:
        config = TrainConfig.from_dict(state["config"])
        trainer = Trainer(config, dataset=dataset)
        trainer._restore(state)
    except TrainingError as exc:
        raise TrainingError(f"this saved run cannot be loaded: {exc}", argument="file") from None
    except Exception as exc:  # any other failure on the way means a damaged file, never a traceback
        raise TrainingError(
            f"this saved run is damaged or from another model ({type(exc).__name__}: {str(exc)[:200]})",
            argument="file",
        ) from None
    return trainer
