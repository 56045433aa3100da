"""Specs that move cells without weights: ZeroPad1d/2d, Upsample and PixelShuffle (channels kept or regrouped).

ZeroPad adds (or, with negative sizes, crops) rows and columns at the borders: the window formula shifts
by the left padding. Upsample and PixelShuffle place output cells a fraction of an input cell apart,
so no single window describes their units; their exact regions come from connectivity.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from cnnviz.conv.args import as_int
from cnnviz.errors import ConvConfigError
from cnnviz.network.layers.base import Fix, Layer, Shape, _describe, _set
from cnnviz.network.receptive_field import AxisField, ReceptiveField, back_project

__all__ = ["ZeroPad1d", "ZeroPad2d", "Upsample", "PixelShuffle"]


class _ZeroPad(Layer):
    """Zero padding per side; negative values crop (as F.pad does)."""

    positional: ClassVar[int] = 1
    spatial: ClassVar[int] = 1

    def pairs(self) -> tuple[tuple[int, int], ...]:
        """(before, after) per spatial axis, first axis first (F.pad lists the last axis first)."""
        raw = self.padding
        if isinstance(raw, tuple):
            values = tuple(as_int(v, "padding") for v in raw)
            if len(values) % 2 or not values or len(values) > 2 * self.spatial:
                raise ConvConfigError(
                    f"{self.kind} takes one padding or {2 * self.spatial} values (left, right"
                    f"{', top, bottom' if self.spatial == 2 else ''}) (got {raw!r})",
                    "padding",
                )
        else:
            values = (as_int(raw, "padding"),) * (2 * self.spatial)
        last_first = [(values[i], values[i + 1]) for i in range(0, len(values), 2)]
        last_first += [(0, 0)] * (self.spatial - len(last_first))
        return tuple(reversed(last_first))

    def output_shape(self, shape: Shape) -> Shape:
        if len(shape) != self.spatial + 1:
            want = "(C, L)" if self.spatial == 1 else "(C, H, W)"
            raise ConvConfigError(f"{self.kind} pads {want} maps but gets {_describe(shape)}", "input")
        out = [n + a + b for n, (a, b) in zip(shape[1:], self.pairs(), strict=True)]
        if min(out) < 1:
            raise ConvConfigError(
                f"{self.kind} with padding {self.padding!r} crops {shape[1:]} to {tuple(out)}: "
                "keep at least one cell per axis",
                "padding",
            )
        return (shape[0], *out)

    def receptive_field(self, field: ReceptiveField, in_shape: Shape, out_shape: Shape) -> ReceptiveField:
        if field.kind != "local":
            return field
        axes = tuple(
            AxisField(a.size, a.jump, a.start - before * a.jump)
            for a, (before, _) in zip(field.axes, self.pairs(), strict=True)
        )
        return ReceptiveField("local", axes, field.note)

    def back_project(self, mask: np.ndarray, in_shape: Shape, out_shape: Shape) -> np.ndarray:
        matrices = []
        for n_in, n_out, (before, _) in zip(in_shape[1:], out_shape[1:], self.pairs(), strict=True):
            o = np.arange(n_out)[:, None]
            matrices.append(o - before == np.arange(n_in)[None, :])
        return back_project(mask, matrices)

    def fix_candidates(self, shape: Shape, error: ConvConfigError) -> list[Fix]:
        return [_set(self, padding=0)]


@dataclass(frozen=True)
class ZeroPad1d(_ZeroPad):
    """nn.ZeroPad1d: (C, L) -> (C, L + left + right); padding is one int or (left, right)."""

    padding: int | tuple[int, int]

    spatial: ClassVar[int] = 1


@dataclass(frozen=True)
class ZeroPad2d(_ZeroPad):
    """nn.ZeroPad2d: (C, H, W) -> (C, H + top + bottom, W + left + right); padding is one int or
    (left, right, top, bottom)."""

    padding: int | tuple[int, int, int, int]

    spatial: ClassVar[int] = 2


_MODES = {"nearest": None, "nearest-exact": None, "linear": 1, "bilinear": 2}


@dataclass(frozen=True)
class Upsample(Layer):
    """nn.Upsample: resize maps by `scale_factor` or to `size` ('nearest', 'linear' 1D, 'bilinear' 2D)."""

    size: int | tuple[int, ...] | None = None
    scale_factor: float | tuple[float, ...] | None = None
    mode: str = "nearest"
    align_corners: bool | None = None
    recompute_scale_factor: bool | None = None

    def check(self) -> None:
        if self.mode not in _MODES:
            raise ConvConfigError(
                f"mode must be one of {', '.join(map(repr, _MODES))} here (got {self.mode!r})", "mode"
            )
        if (self.size is None) == (self.scale_factor is None):
            raise ConvConfigError("Upsample takes either size or scale_factor, exactly one of them", "size")
        if self.align_corners is not None and self.mode.startswith("nearest"):
            raise ConvConfigError(
                "align_corners can only be set with the interpolating modes (linear, bilinear)",
                "align_corners",
            )

    def _per_axis(self, value: object, ndim: int, name: str) -> tuple:
        values = value if isinstance(value, tuple) else (value,) * ndim
        if len(values) != ndim:
            raise ConvConfigError(f"{name} needs one value or {ndim} (got {value!r})", name)
        return values

    def scales(self, spatial: Shape) -> tuple[float, ...]:
        """Input cells per output cell along each axis, as PyTorch's index computation uses them."""
        out = self.sizes(spatial)
        if self.scale_factor is not None and not self.recompute_scale_factor:
            return tuple(
                1 / float(f) for f in self._per_axis(self.scale_factor, len(spatial), "scale_factor")
            )
        return tuple(n / m for n, m in zip(spatial, out, strict=True))

    def sizes(self, spatial: Shape) -> tuple[int, ...]:
        if self.size is not None:
            out = tuple(as_int(v, "size") for v in self._per_axis(self.size, len(spatial), "size"))
        else:
            factors = self._per_axis(self.scale_factor, len(spatial), "scale_factor")
            if any(isinstance(f, bool) or not isinstance(f, (int, float)) or not f > 0 for f in factors):
                raise ConvConfigError(
                    f"scale_factor must be positive (got {self.scale_factor!r})", "scale_factor"
                )
            out = tuple(math.floor(n * float(f)) for n, f in zip(spatial, factors, strict=True))
        if min(out) < 1 or max(out) > 10**7:
            raise ConvConfigError(f"Upsample makes maps of {out}: each axis must be 1 to 10,000,000", "size")
        return out

    def output_shape(self, shape: Shape) -> Shape:
        self.check()
        want = _MODES[self.mode]
        if len(shape) < 2 or (want is not None and len(shape) != want + 1):
            need = {1: "(C, L)", 2: "(C, H, W)"}.get(want or 0, "maps (C, L) or (C, H, W)")
            raise ConvConfigError(
                f"Upsample mode={self.mode!r} takes {need} but gets {_describe(shape)}", "input"
            )
        return (shape[0], *self.sizes(shape[1:]))

    def receptive_field(self, field: ReceptiveField, in_shape: Shape, out_shape: Shape) -> ReceptiveField:
        if field.kind != "local" or in_shape == out_shape:
            return field
        return ReceptiveField(
            "unsupported",
            None,
            "Upsample places output cells a fraction of an input cell apart (fractional stride): no single "
            "window size; receptive_region gives each unit's exact region",
        )

    def connectivity(self, n_in: int, n_out: int, scale: float) -> np.ndarray:
        """(n_out, n_in) bool: the input cells each output cell takes a nonzero part of."""
        dst = np.arange(n_out, dtype=np.float64)
        if self.mode == "nearest":
            taps = [np.minimum(np.floor(dst * scale), n_in - 1)]
        elif self.mode == "nearest-exact":
            taps = [np.minimum(np.floor((dst + 0.5) * scale), n_in - 1)]
        else:
            if self.align_corners:
                src = dst * ((n_in - 1) / (n_out - 1) if n_out > 1 else 0.0)
            else:
                src = np.maximum((dst + 0.5) * scale - 0.5, 0.0)
            low = np.minimum(np.floor(src), n_in - 1)
            high = np.minimum(low + 1, n_in - 1)
            taps = [low, np.where(src - low > 0, high, low)]  # a zero weight reads nothing
        matrix = np.zeros((n_out, n_in), dtype=bool)
        for tap in taps:
            matrix[np.arange(n_out), tap.astype(np.int64)] = True
        return matrix

    def back_project(self, mask: np.ndarray, in_shape: Shape, out_shape: Shape) -> np.ndarray:
        scales = self.scales(in_shape[1:])
        matrices = [
            self.connectivity(n, m, s) for n, m, s in zip(in_shape[1:], out_shape[1:], scales, strict=True)
        ]
        return back_project(mask, matrices)


@dataclass(frozen=True)
class PixelShuffle(Layer):
    """nn.PixelShuffle: (C r², H, W) -> (C, H r, W r), each group of r² channels tiling an r x r block."""

    upscale_factor: int

    positional: ClassVar[int] = 1

    def check(self) -> None:
        if as_int(self.upscale_factor, "upscale_factor") < 1:
            raise ConvConfigError(
                f"upscale_factor must be at least 1 (got {self.upscale_factor})", "upscale_factor"
            )

    def output_shape(self, shape: Shape) -> Shape:
        self.check()
        r = self.upscale_factor
        if len(shape) != 3:
            raise ConvConfigError(f"PixelShuffle takes (C, H, W) maps but gets {_describe(shape)}", "input")
        if shape[0] % (r * r):
            raise ConvConfigError(
                f"PixelShuffle({r}) needs channels divisible by {r}² = {r * r} but its input has {shape[0]}: "
                f"make the layer before give {r * r * max(shape[0] // (r * r), 1)} channels",
                "upscale_factor",
            )
        return (shape[0] // (r * r), shape[1] * r, shape[2] * r)

    def receptive_field(self, field: ReceptiveField, in_shape: Shape, out_shape: Shape) -> ReceptiveField:
        if field.kind != "local" or self.upscale_factor == 1:
            return field
        return ReceptiveField(
            "unsupported",
            None,
            f"PixelShuffle places output cells 1/{self.upscale_factor} of an input cell apart: no single "
            "window size; receptive_region gives each unit's exact region",
        )

    def back_project(self, mask: np.ndarray, in_shape: Shape, out_shape: Shape) -> np.ndarray:
        r = self.upscale_factor
        c_out, h, w = out_shape
        full = np.broadcast_to(mask, (mask.shape[0] if mask.shape[0] > 1 else c_out, h, w))
        if full.shape[0] != c_out:
            full = np.broadcast_to(full.any(axis=0, keepdims=True), (c_out, h, w))
        # out[c, i*r + a, j*r + b] = in[c*r*r + a*r + b, i, j]
        blocks = full.reshape(c_out, h // r, r, w // r, r).transpose(0, 2, 4, 1, 3)
        return np.ascontiguousarray(blocks).reshape(in_shape)

    def fix_candidates(self, shape: Shape, error: ConvConfigError) -> list[Fix]:
        return [_set(self, upscale_factor=1)]
