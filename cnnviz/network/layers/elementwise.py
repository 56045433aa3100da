"""Specs that keep the shape: batch norm, activations, dropout, Identity, Softmax and LogSoftmax."""

from __future__ import annotations

import math
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import ClassVar

import numpy as np

from cnnviz.conv.args import as_int
from cnnviz.errors import ConvConfigError
from cnnviz.network.layers.base import Fix, Layer, Shape, _channel_mismatch, _describe, _other_dims, _set
from cnnviz.network.receptive_field import ReceptiveField

__all__ = [
    "BatchNorm1d",
    "BatchNorm2d",
    "ReLU",
    "Tanh",
    "Sigmoid",
    "LeakyReLU",
    "GELU",
    "Dropout",
    "Dropout1d",
    "Dropout2d",
    "Identity",
    "ELU",
    "SiLU",
    "ReLU6",
    "Hardswish",
    "Softplus",
    "PReLU",
    "Softmax",
    "LogSoftmax",
]


class _BatchNorm(Layer):
    """Batch normalisation: y = gamma * (x - mean)/sqrt(var + eps) + beta per channel; shape kept."""

    positional: ClassVar[int] = 1
    accepts: ClassVar[tuple[int, ...]] = ()

    def check(self) -> None:
        if as_int(self.num_features, "num_features") < 1:
            raise ConvConfigError(
                f"num_features must be at least 1 (got {self.num_features})", "num_features"
            )

    def output_shape(self, shape: Shape) -> Shape:
        if len(shape) not in self.accepts:
            want = "(C,) or (C, L)" if self.kind == "BatchNorm1d" else "(C, H, W)"
            twin = "BatchNorm2d" if len(shape) == 3 else "BatchNorm1d"
            raise ConvConfigError(
                f"{self.kind} works on {want} input but gets {_describe(shape)}: use {twin}", "input"
            )
        self.check()
        if shape[0] != self.num_features:
            raise _channel_mismatch(
                self,
                "num_features",
                self.num_features,
                shape,
                f"running_mean should contain {shape[0]} elements not {self.num_features}",
            )
        return shape

    def params(self) -> int:
        """gamma (when affine) and beta (when affine and bias), one per channel."""
        c = as_int(self.num_features, "num_features")
        return c * self.affine + c * (self.affine and self.bias)

    def macs(self, in_shape: Shape, out_shape: Shape, batch: int) -> int:
        """One multiply-add per element (scale and shift folded)."""
        return batch * math.prod(out_shape)

    def fix_candidates(self, shape: Shape, error: ConvConfigError) -> list[Fix]:
        if error.argument == "input":
            return _other_dims(self, shape)
        if error.argument == "num_features":
            return [_set(self, num_features=shape[0])]
        return super().fix_candidates(shape, error)


@dataclass(frozen=True)
class BatchNorm1d(_BatchNorm):
    """nn.BatchNorm1d: (C,) or (C, L), shape kept."""

    num_features: int
    eps: float = 1e-05
    momentum: float | None = 0.1
    affine: bool = True
    track_running_stats: bool = True
    bias: bool = dataclass_field(default=True, kw_only=True)

    accepts: ClassVar[tuple[int, ...]] = (1, 2)


@dataclass(frozen=True)
class BatchNorm2d(_BatchNorm):
    """nn.BatchNorm2d: (C, H, W), shape kept."""

    num_features: int
    eps: float = 1e-05
    momentum: float | None = 0.1
    affine: bool = True
    track_running_stats: bool = True
    bias: bool = dataclass_field(default=True, kw_only=True)

    accepts: ClassVar[tuple[int, ...]] = (3,)


@dataclass(frozen=True)
class ReLU(Layer):
    """nn.ReLU: max(0, x), any shape."""

    inplace: bool = False


@dataclass(frozen=True)
class Tanh(Layer):
    """nn.Tanh, any shape."""


@dataclass(frozen=True)
class Sigmoid(Layer):
    """nn.Sigmoid, any shape."""


@dataclass(frozen=True)
class LeakyReLU(Layer):
    """nn.LeakyReLU: x if x > 0 else negative_slope * x, any shape."""

    negative_slope: float = 0.01
    inplace: bool = False


@dataclass(frozen=True)
class GELU(Layer):
    """nn.GELU, any shape; approximate is 'none' or 'tanh'."""

    approximate: str = "none"

    def check(self) -> None:
        if self.approximate not in ("none", "tanh"):
            raise ConvConfigError(
                f"approximate must be 'none' or 'tanh' (got {self.approximate!r})", "approximate"
            )


@dataclass(frozen=True)
class Dropout(Layer):
    """nn.Dropout: zeroes each element with probability p while training, any shape."""

    p: float = 0.5
    inplace: bool = False

    def check(self) -> None:
        if isinstance(self.p, bool) or not isinstance(self.p, (int, float)) or not 0 <= self.p <= 1:
            raise ConvConfigError(f"dropout probability p must be between 0 and 1 (got {self.p!r})", "p")


@dataclass(frozen=True)
class Dropout1d(Layer):
    """nn.Dropout1d: zeroes whole channels of (C, L) maps while training; shape kept."""

    p: float = 0.5
    inplace: bool = False

    def check(self) -> None:
        Dropout(self.p).check()


@dataclass(frozen=True)
class Dropout2d(Layer):
    """nn.Dropout2d: zeroes whole channels of (C, H, W) maps while training; shape kept."""

    p: float = 0.5
    inplace: bool = False

    def check(self) -> None:
        Dropout(self.p).check()


@dataclass(frozen=True)
class Identity(Layer):
    """nn.Identity: passes its input on unchanged (a placeholder, e.g. a shortcut that does nothing)."""


@dataclass(frozen=True)
class ELU(Layer):
    """nn.ELU: x if x > 0 else alpha * (exp(x) - 1), any shape."""

    alpha: float = 1.0
    inplace: bool = False


@dataclass(frozen=True)
class SiLU(Layer):
    """nn.SiLU (swish): x * sigmoid(x), any shape."""

    inplace: bool = False


@dataclass(frozen=True)
class ReLU6(Layer):
    """nn.ReLU6: min(max(0, x), 6), any shape (MobileNet)."""

    inplace: bool = False


@dataclass(frozen=True)
class Hardswish(Layer):
    """nn.Hardswish: x * ReLU6(x + 3) / 6, any shape (MobileNetV3)."""

    inplace: bool = False


@dataclass(frozen=True)
class Softplus(Layer):
    """nn.Softplus: log(1 + exp(beta * x)) / beta, linear above `threshold`; any shape."""

    beta: float = 1.0
    threshold: float = 20.0


@dataclass(frozen=True)
class PReLU(Layer):
    """nn.PReLU: ReLU with a learned negative slope, one for all channels or one per channel."""

    num_parameters: int = 1
    init: float = 0.25

    def check(self) -> None:
        if as_int(self.num_parameters, "num_parameters") < 1:
            raise ConvConfigError(
                f"num_parameters must be at least 1 (got {self.num_parameters})", "num_parameters"
            )

    def output_shape(self, shape: Shape) -> Shape:
        self.check()
        if self.num_parameters not in (1, shape[0]):
            raise ConvConfigError(
                f"PReLU has num_parameters={self.num_parameters} slopes but its input has {shape[0]} "
                f"channels ({_describe(shape)}): use 1 (one slope for all) or {shape[0]}",
                "num_parameters",
            )
        return shape

    def params(self) -> int:
        return as_int(self.num_parameters, "num_parameters")

    def fix_candidates(self, shape: Shape, error: ConvConfigError) -> list[Fix]:
        return [_set(self, num_parameters=shape[0]), _set(self, num_parameters=1)]


def _softmax_axis(dim: int | None, shape: Shape) -> int:
    """The per-sample axis a softmax runs over (-1: the batch axis, as PyTorch's implicit choice can be)."""
    ndim = len(shape) + 1
    if dim is None:  # PyTorch's legacy implicit dim (it warns): 0 for 0, 1 or 3 axes, else 1
        return -1 if ndim in (0, 1, 3) else 0
    d = as_int(dim, "dim")
    if not -ndim <= d < ndim:
        raise ConvConfigError(
            f"dim={d} is out of range for input (N, {', '.join(map(str, shape))}): use {-ndim}..{ndim - 1}, "
            "usually dim=1 (the classes or channels)",
            "dim",
        )
    return d % ndim - 1


class _SoftmaxBase(Layer):
    """Softmax and LogSoftmax: normalise along one axis; shape kept, values along that axis mixed."""

    def output_shape(self, shape: Shape) -> Shape:
        _softmax_axis(self.dim, shape)
        return shape

    def receptive_field(self, field: ReceptiveField, in_shape: Shape, out_shape: Shape) -> ReceptiveField:
        axis = _softmax_axis(self.dim, in_shape)
        if field.kind != "local" or axis <= 0:
            return field  # over channels (or the batch): each position still reads its own window
        return ReceptiveField(
            "unsupported", None, f"{self.kind} over a spatial axis mixes every position along it"
        )

    def back_project(self, mask: np.ndarray, in_shape: Shape, out_shape: Shape) -> np.ndarray:
        axis = _softmax_axis(self.dim, in_shape)
        if axis < 0:
            return mask
        if in_shape[axis] == 1:  # over one value: the output is constant (1, or 0 for LogSoftmax)
            return np.zeros_like(mask)
        if axis == 0 and len(in_shape) > 1:
            return mask.any(axis=0, keepdims=True)
        return np.broadcast_to(mask.any(axis=axis, keepdims=True), mask.shape).copy()

    def fix_candidates(self, shape: Shape, error: ConvConfigError) -> list[Fix]:
        return [_set(self, dim=1)]


@dataclass(frozen=True)
class Softmax(_SoftmaxBase):
    """nn.Softmax: exp(x) / sum(exp(x)) along `dim` (counted with the batch axis: dim=1 is the classes)."""

    dim: int | None = None


@dataclass(frozen=True)
class LogSoftmax(_SoftmaxBase):
    """nn.LogSoftmax: log of Softmax along `dim`, as the negative log-likelihood loss expects."""

    dim: int | None = None
