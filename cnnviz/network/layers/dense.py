"""Flatten and Linear: where maps become features, and where most stacks break."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import ClassVar

import numpy as np

from cnnviz.conv.args import as_int
from cnnviz.conv.counts import linear_macs, linear_params
from cnnviz.errors import ConvConfigError
from cnnviz.network.layers.base import Fix, Layer, Shape, _describe, _set
from cnnviz.network.receptive_field import ReceptiveField

__all__ = ["Flatten", "Linear"]


@dataclass(frozen=True)
class Flatten(Layer):
    """nn.Flatten: merges axes start_dim..end_dim (counted with the batch axis 0) into one."""

    start_dim: int = 1
    end_dim: int = -1

    def merged(self, shape: Shape) -> tuple[int, int]:
        """The per-sample axes (first, last) that merge."""
        dims = len(shape) + 1
        start, end = as_int(self.start_dim, "start_dim"), as_int(self.end_dim, "end_dim")
        for name, value in (("start_dim", start), ("end_dim", end)):
            if not -dims <= value < dims:
                raise ConvConfigError(
                    f"{name}={value} is out of range for input (N, {', '.join(map(str, shape))}): "
                    "use a value "
                    f"in {-dims}..{dims - 1}, usually start_dim=1, end_dim=-1",
                    name,
                )
        start, end = start % dims, end % dims
        if start == 0:
            raise ConvConfigError(
                "start_dim=0 would merge the batch axis into the features: use start_dim=1", "start_dim"
            )
        if start > end:
            raise ConvConfigError(
                f"start_dim ({self.start_dim}) comes after end_dim ({self.end_dim}): PyTorch refuses this",
                "start_dim",
            )
        return start - 1, end - 1

    def output_shape(self, shape: Shape) -> Shape:
        a, b = self.merged(shape)
        return (*shape[:a], math.prod(shape[a : b + 1]), *shape[b + 1 :])

    def receptive_field(self, field: ReceptiveField, in_shape: Shape, out_shape: Shape) -> ReceptiveField:
        if in_shape == out_shape:
            return field
        if field.kind in ("global", "unsupported"):
            return field
        return ReceptiveField(
            "flat",
            None,
            "Flatten: each feature is one cell of the map before it, but features have no position any "
            "more, and a Linear after them sees the whole input",
        )

    def back_project(self, mask: np.ndarray, in_shape: Shape, out_shape: Shape) -> np.ndarray:
        return np.broadcast_to(mask, out_shape).reshape(in_shape)

    def fix_candidates(self, shape: Shape, error: ConvConfigError) -> list[Fix]:
        return [Fix("start_dim", 1, (Flatten(),), "use Flatten() (start_dim=1, end_dim=-1)")]


@dataclass(frozen=True)
class Linear(Layer):
    """nn.Linear: y = x W^T + b on the last axis; (..., in_features) -> (..., out_features)."""

    in_features: int
    out_features: int
    bias: bool = True

    positional: ClassVar[int] = 2

    def check(self) -> None:
        linear_params(self.in_features, self.out_features, self.bias)

    def output_shape(self, shape: Shape) -> Shape:
        self.check()
        last = shape[-1]
        if len(shape) > 1 and last != self.in_features:
            total = math.prod(shape)
            then = "as in_features expects" if total == self.in_features else f"and set in_features={total}"
            raise ConvConfigError(
                f"Linear multiplies the last axis of its input, and its input ({_describe(shape)}) has "
                f"{last} there, not in_features={self.in_features}. Add Flatten() before it so it gets all "
                f"{' x '.join(map(str, shape))} = {total} features, {then}. "
                f"(PyTorch says: mat1 and mat2 shapes cannot be multiplied "
                f"(N*{math.prod(shape[:-1])}x{last} and {self.in_features}x{self.out_features}))",
                "in_features",
            )
        if last != self.in_features:
            raise ConvConfigError(
                f"Linear expects in_features={self.in_features} but its input has {last} features: "
                f"set in_features={last}. (PyTorch says: mat1 and mat2 shapes cannot be multiplied "
                f"(Nx{last} and {self.in_features}x{self.out_features}))",
                "in_features",
            )
        return (*shape[:-1], self.out_features)

    def params(self) -> int:
        return linear_params(self.in_features, self.out_features, self.bias)

    def macs(self, in_shape: Shape, out_shape: Shape, batch: int) -> int:
        return linear_macs(self.in_features, self.out_features, batch * math.prod(in_shape[:-1]))

    def receptive_field(self, field: ReceptiveField, in_shape: Shape, out_shape: Shape) -> ReceptiveField:
        if len(in_shape) == 1 or field.kind == "global":
            return ReceptiveField(
                "global", None, "Linear mixes every feature it gets: each output sees the whole input"
            )
        return ReceptiveField(
            "unsupported",
            None,
            "Linear on the last axis of a map: each output spans that whole axis but keeps the others; "
            "receptive_region gives the exact region",
        )

    def back_project(self, mask: np.ndarray, in_shape: Shape, out_shape: Shape) -> np.ndarray:
        reads = mask.any(axis=-1, keepdims=True)  # an output reads every input along the last axis
        return np.broadcast_to(reads, (*mask.shape[:-1], in_shape[-1])).copy()

    def fix_candidates(self, shape: Shape, error: ConvConfigError) -> list[Fix]:
        if error.argument != "in_features":
            return super().fix_candidates(shape, error)
        if len(shape) == 1:
            return [_set(self, in_features=shape[0])]
        total = math.prod(shape)
        text = "add Flatten() before Linear" + (
            "" if total == self.in_features else f" and set in_features={total}"
        )
        return [Fix("in_features", total, (Flatten(), replace(self, in_features=total)), text)]


@dataclass(frozen=True)
class Unflatten(Layer):
    """nn.Unflatten: axis `dim` (counted with the batch axis 0) becomes `unflattened_size`, e.g. (400,) ->
    (16, 5, 5); one size may be -1 (the rest of the axis)."""

    dim: int
    unflattened_size: tuple[int, ...]

    positional: ClassVar[int] = 2

    def axis(self, shape: Shape) -> int:
        ndim = len(shape) + 1
        d = as_int(self.dim, "dim")
        if not -ndim <= d < ndim or d % ndim == 0:
            raise ConvConfigError(
                f"dim={d} must name one of the input's own axes 1..{ndim - 1} (the batch axis 0 stays)", "dim"
            )
        return d % ndim - 1

    def sizes(self, length: int) -> tuple[int, ...]:
        raw = self.unflattened_size
        sizes = tuple(as_int(v, "unflattened_size") for v in (raw if isinstance(raw, tuple) else (raw,)))
        known = math.prod(s for s in sizes if s != -1)
        if sizes.count(-1) > 1 or any(s < 1 and s != -1 for s in sizes) or not sizes:
            raise ConvConfigError(
                f"unflattened_size must be sizes of at least 1, with at most one -1 (got {raw!r})",
                "unflattened_size",
            )
        if -1 in sizes:
            if known == 0 or length % known:
                raise ConvConfigError(
                    f"unflattened_size {raw!r} cannot split an axis of {length}", "unflattened_size"
                )
            sizes = tuple(length // known if s == -1 else s for s in sizes)
        if math.prod(sizes) != length:
            raise ConvConfigError(
                f"unflattened_size {sizes} holds {math.prod(sizes):,} values but the axis it splits has "
                f"{length:,}: pick sizes whose product is {length:,}",
                "unflattened_size",
            )
        return sizes

    def output_shape(self, shape: Shape) -> Shape:
        a = self.axis(shape)
        return (*shape[:a], *self.sizes(shape[a]), *shape[a + 1 :])

    def receptive_field(self, field: ReceptiveField, in_shape: Shape, out_shape: Shape) -> ReceptiveField:
        if field.kind in ("global", "unsupported"):
            return field
        return ReceptiveField(
            "unsupported", None, "Unflatten gives features positions again, but no window in the input"
        )

    def back_project(self, mask: np.ndarray, in_shape: Shape, out_shape: Shape) -> np.ndarray:
        full = np.broadcast_to(mask, out_shape) if mask.shape != out_shape else mask
        return full.reshape(in_shape)
