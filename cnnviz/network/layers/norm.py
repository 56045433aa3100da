"""Normalisation that mixes more than one cell: LayerNorm, GroupNorm, LocalResponseNorm (shape kept).

BatchNorm (in `elementwise`) scales each cell by its channel's running statistics, so in eval mode a
cell reads only itself. These compute statistics over a sample's own cells, so a cell reads every cell
it is normalised with: the normalised axes (LayerNorm), the channel group at every position (GroupNorm),
or the neighbouring channels at the same position (LocalResponseNorm, AlexNet's).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import ClassVar

import numpy as np

from cnnviz.conv.args import as_int
from cnnviz.errors import ConvConfigError
from cnnviz.network.layers.base import Fix, Layer, Shape, _describe, _set
from cnnviz.network.receptive_field import ReceptiveField

__all__ = ["LayerNorm", "GroupNorm", "LocalResponseNorm"]


def _whole_field(layer: Layer, field: ReceptiveField, what: str) -> ReceptiveField:
    if field.kind == "unsupported":
        return field
    return ReceptiveField("global", None, f"{layer.kind} normalises over {what}: each output reads all of it")


@dataclass(frozen=True)
class LayerNorm(Layer):
    """nn.LayerNorm: normalise over the last axes (`normalized_shape`), then scale and shift per cell."""

    normalized_shape: int | tuple[int, ...]
    eps: float = 1e-05
    elementwise_affine: bool = True
    bias: bool = True

    positional: ClassVar[int] = 1

    def dims(self) -> tuple[int, ...]:
        """normalized_shape as a tuple of sizes, each at least 1."""
        raw = self.normalized_shape
        dims = tuple(as_int(v, "normalized_shape") for v in (raw if isinstance(raw, tuple) else (raw,)))
        if not dims or min(dims) < 1:
            raise ConvConfigError(
                f"normalized_shape must be one or more sizes of at least 1 (got {raw!r})", "normalized_shape"
            )
        return dims

    def check(self) -> None:
        self.dims()

    def output_shape(self, shape: Shape) -> Shape:
        dims = self.dims()
        if len(dims) > len(shape) or tuple(shape[len(shape) - len(dims) :]) != dims:
            want = tuple(shape[-len(dims) :]) if len(dims) <= len(shape) else tuple(shape)
            raise ConvConfigError(
                f"LayerNorm normalises the last {len(dims)} axes, of sizes {dims}, but its input ends in "
                f"{want} ({_describe(shape)}): set normalized_shape={want if len(want) > 1 else want[0]}. "
                f"(PyTorch says: Given normalized_shape={list(dims)}, expected input with shape "
                f"[*, {', '.join(map(str, dims))}])",
                "normalized_shape",
            )
        return shape

    def params(self) -> int:
        n = math.prod(self.dims())
        return n * self.elementwise_affine + n * (self.elementwise_affine and self.bias)

    def receptive_field(self, field: ReceptiveField, in_shape: Shape, out_shape: Shape) -> ReceptiveField:
        spatial = len(in_shape) - 1
        covered = min(len(self.dims()), len(in_shape))
        if len(in_shape) == 1 or covered >= spatial:
            return _whole_field(self, field, f"the last {covered} axes")
        return ReceptiveField(
            "unsupported", None, f"LayerNorm over the last {covered} axes mixes every position along them"
        )

    def back_project(self, mask: np.ndarray, in_shape: Shape, out_shape: Shape) -> np.ndarray:
        covered = len(self.dims())
        axes = tuple(range(mask.ndim - covered, mask.ndim))
        if covered >= len(in_shape) and len(in_shape) > 1:
            return np.broadcast_to(mask.any(), (1, *in_shape[1:])).copy()
        return np.broadcast_to(mask.any(axis=axes, keepdims=True), mask.shape).copy()

    def fix_candidates(self, shape: Shape, error: ConvConfigError) -> list[Fix]:
        n = min(len(self.dims()), len(shape))
        tail = tuple(shape[len(shape) - n :])
        return [_set(self, normalized_shape=tail if len(tail) > 1 else tail[0])]


@dataclass(frozen=True)
class GroupNorm(Layer):
    """nn.GroupNorm: split the channels into groups, normalise each group over all its cells."""

    num_groups: int
    num_channels: int
    eps: float = 1e-05
    affine: bool = True
    bias: bool = dataclass_field(default=True, kw_only=True)

    positional: ClassVar[int] = 2

    def check(self) -> None:
        groups, channels = as_int(self.num_groups, "num_groups"), as_int(self.num_channels, "num_channels")
        if groups < 1 or channels < 1:
            raise ConvConfigError(
                f"num_groups and num_channels must be at least 1 (got {groups}, {channels})", "num_groups"
            )
        if channels % groups:
            raise ConvConfigError(
                f"num_channels={channels} does not split into num_groups={groups} equal groups: pick a "
                f"divisor of {channels}",
                "num_groups",
            )

    def output_shape(self, shape: Shape) -> Shape:
        self.check()
        if len(shape) < 2:
            raise ConvConfigError(
                f"GroupNorm works on maps (C, ...) but gets {_describe(shape)}: put it before Flatten",
                "input",
            )
        if shape[0] != self.num_channels:
            raise ConvConfigError(
                f"GroupNorm expects num_channels={self.num_channels} but its input has {shape[0]} "
                f"channels: set num_channels={shape[0]}",
                "num_channels",
            )
        return shape

    def params(self) -> int:
        c = as_int(self.num_channels, "num_channels")
        return c * self.affine + c * (self.affine and self.bias)

    def receptive_field(self, field: ReceptiveField, in_shape: Shape, out_shape: Shape) -> ReceptiveField:
        return _whole_field(self, field, "every position of its channel group")

    def back_project(self, mask: np.ndarray, in_shape: Shape, out_shape: Shape) -> np.ndarray:
        channels, groups = in_shape[0], self.num_groups
        if mask.shape[0] == 1:
            return np.broadcast_to(mask.any(), (1, *in_shape[1:])).copy()
        per_group = mask.reshape(groups, -1).any(axis=1)  # (groups,)
        return np.broadcast_to(
            np.repeat(per_group, channels // groups).reshape(channels, *([1] * (len(in_shape) - 1))), in_shape
        ).copy()

    def fix_candidates(self, shape: Shape, error: ConvConfigError) -> list[Fix]:
        if len(shape) < 2:
            return []
        c = shape[0]
        groups = max(g for g in range(1, min(self.num_groups, c) + 1) if c % g == 0) if c >= 1 else 1
        return [_set(self, num_channels=c, num_groups=groups), _set(self, num_groups=groups)]


@dataclass(frozen=True)
class LocalResponseNorm(Layer):
    """nn.LocalResponseNorm (AlexNet): divide each cell by the energy of `size` neighbouring channels."""

    size: int
    alpha: float = 0.0001
    beta: float = 0.75
    k: float = 1.0

    positional: ClassVar[int] = 1

    def check(self) -> None:
        if as_int(self.size, "size") < 1:
            raise ConvConfigError(f"size (channels averaged) must be at least 1 (got {self.size})", "size")

    def output_shape(self, shape: Shape) -> Shape:
        self.check()
        if len(shape) < 2:
            raise ConvConfigError(
                f"LocalResponseNorm works across the channels of maps but gets {_describe(shape)}: put it "
                "before Flatten. (PyTorch says: Expected 3D or higher dimensionality input)",
                "input",
            )
        return shape

    def back_project(self, mask: np.ndarray, in_shape: Shape, out_shape: Shape) -> np.ndarray:
        if mask.shape[0] == 1:
            return mask
        # Output channel c reads input channels c - size//2 .. c + (size-1)//2 (PyTorch pads them so).
        before, after = self.size // 2, (self.size - 1) // 2
        out = np.zeros_like(mask)
        for shift in range(-after, before + 1):
            lo, hi = max(0, shift), min(mask.shape[0], mask.shape[0] + shift)
            out[lo - shift : hi - shift] |= mask[lo:hi]
        return out
