"""Specs that keep the shape: BatchNorm1d/2d, ReLU, Tanh, Sigmoid, LeakyReLU, GELU and Dropout."""

from __future__ import annotations

import math
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import ClassVar

from cnnviz.conv.args import as_int
from cnnviz.errors import ConvConfigError
from cnnviz.network.layers.base import Fix, Layer, Shape, _channel_mismatch, _describe, _other_dims, _set

__all__ = ["BatchNorm1d", "BatchNorm2d", "ReLU", "Tanh", "Sigmoid", "LeakyReLU", "GELU", "Dropout"]


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
