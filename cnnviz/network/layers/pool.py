"""Pooling specs: MaxPool1d/2d, AvgPool1d/2d, AdaptiveAvgPool1d/2d and AdaptiveMaxPool1d/2d (no parameters,
channels kept)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from cnnviz.conv.args import ConvGeometry, IntOrTuple, as_int, expand, resolve_geometry
from cnnviz.conv.shapes import pool_output_shape
from cnnviz.errors import ConvConfigError
from cnnviz.network.layers.base import (
    Fix,
    Layer,
    Shape,
    _expect_maps,
    _other_dims,
    _passed_on,
    _per_axis,
    _set,
)
from cnnviz.network.receptive_field import (
    ReceptiveField,
    adaptive_connectivity,
    back_project,
    through_window,
    window_connectivity,
)

__all__ = [
    "MaxPool1d",
    "MaxPool2d",
    "AvgPool1d",
    "AvgPool2d",
    "AdaptiveAvgPool1d",
    "AdaptiveAvgPool2d",
    "AdaptiveMaxPool1d",
    "AdaptiveMaxPool2d",
]


class _Pooling(Layer):
    """Shared arithmetic of max and average pooling (no parameters, channels kept)."""

    positional: ClassVar[int] = 1

    @property
    def pool_dilation(self) -> IntOrTuple:
        return getattr(self, "dilation", 1)

    def geometry(self) -> ConvGeometry:
        """Kernel, stride (default: the kernel) and dilation per axis; padding checked separately."""
        return resolve_geometry(self.ndim, self.kernel_size, self.stride, 0, self.pool_dilation)

    def pads(self) -> tuple[int, ...]:
        if isinstance(self.padding, str):
            raise ConvConfigError(
                f"pooling takes numeric padding only (got {self.padding!r}); PyTorch pooling has no "
                "'same' or 'valid'",
                "padding",
            )
        return expand(self.padding, self.ndim, "padding")

    def check(self) -> None:
        self.geometry()
        self.pads()
        if getattr(self, "return_indices", False):
            raise ConvConfigError(
                f"return_indices=True makes {self.kind} return (values, indices), which the next layer "
                "cannot take: keep it False in a stack",
                "return_indices",
            )
        divisor = getattr(self, "divisor_override", None)
        if divisor is not None and as_int(divisor, "divisor_override") < 1:
            raise ConvConfigError(
                f"divisor_override must be at least 1 or None (got {divisor})", "divisor_override"
            )

    def output_shape(self, shape: Shape) -> Shape:
        """(C, *out): as a convolution's formula, padding at most half the kernel."""
        _expect_maps(self, shape)
        self.check()
        out = pool_output_shape(
            shape[1:],
            self.ndim,
            self.kernel_size,
            self.stride,
            self.padding,
            self.pool_dilation,
            self.ceil_mode,
        )
        return (shape[0], *out)

    def receptive_field(self, field: ReceptiveField, in_shape: Shape, out_shape: Shape) -> ReceptiveField:
        if field.kind != "local":
            return _passed_on(field, self)
        g = self.geometry()
        axes = tuple(
            through_window(a, k, s, p, d)
            for a, k, s, p, d in zip(
                field.axes, g.kernel_size, g.stride, self.pads(), g.dilation, strict=True
            )
        )
        return ReceptiveField("local", axes)

    def back_project(self, mask: np.ndarray, in_shape: Shape, out_shape: Shape) -> np.ndarray:
        g = self.geometry()
        matrices = [
            window_connectivity(n, o, k, s, p, d)
            for n, o, k, s, p, d in zip(
                in_shape[1:], out_shape[1:], g.kernel_size, g.stride, self.pads(), g.dilation, strict=True
            )
        ]
        return back_project(mask, matrices)

    def fix_candidates(self, shape: Shape, error: ConvConfigError) -> list[Fix]:
        arg = error.argument
        if arg == "input":
            return _other_dims(self, shape)
        if len(shape) != self.ndim + 1:
            return []
        out: list[Fix] = []
        try:
            g = self.geometry()
            pads = self.pads()
        except ConvConfigError:
            return super().fix_candidates(shape, error)
        if arg == "padding":
            out.append(
                _set(
                    self,
                    padding=_per_axis(
                        min(max(p, 0), k // 2) for p, k in zip(pads, g.kernel_size, strict=True)
                    ),
                )
            )
        if arg == "kernel_size":
            fit = [
                min(k, (n + 2 * p - 1) // d + 1)
                for n, k, p, d in zip(shape[1:], g.kernel_size, pads, g.dilation, strict=True)
            ]
            out.append(
                _set(
                    self,
                    kernel_size=_per_axis(fit),
                    padding=_per_axis(min(p, f // 2) for p, f in zip(pads, fit, strict=True)),
                )
            )
            small = [min(k, n) for n, k in zip(shape[1:], g.kernel_size, strict=True)]
            out.append(_set(self, kernel_size=_per_axis(small), padding=0))
        return out + super().fix_candidates(shape, error)


@dataclass(frozen=True)
class MaxPool1d(_Pooling):
    """nn.MaxPool1d: (C, L) -> (C, L_out)."""

    kernel_size: IntOrTuple
    stride: IntOrTuple | None = None
    padding: IntOrTuple = 0
    dilation: IntOrTuple = 1
    return_indices: bool = False
    ceil_mode: bool = False

    ndim: ClassVar[int] = 1


@dataclass(frozen=True)
class MaxPool2d(_Pooling):
    """nn.MaxPool2d: (C, H, W) -> (C, H_out, W_out)."""

    kernel_size: IntOrTuple
    stride: IntOrTuple | None = None
    padding: IntOrTuple = 0
    dilation: IntOrTuple = 1
    return_indices: bool = False
    ceil_mode: bool = False

    ndim: ClassVar[int] = 2


@dataclass(frozen=True)
class AvgPool1d(_Pooling):
    """nn.AvgPool1d: (C, L) -> (C, L_out)."""

    kernel_size: IntOrTuple
    stride: IntOrTuple | None = None
    padding: IntOrTuple = 0
    ceil_mode: bool = False
    count_include_pad: bool = True

    ndim: ClassVar[int] = 1


@dataclass(frozen=True)
class AvgPool2d(_Pooling):
    """nn.AvgPool2d: (C, H, W) -> (C, H_out, W_out)."""

    kernel_size: IntOrTuple
    stride: IntOrTuple | None = None
    padding: IntOrTuple = 0
    ceil_mode: bool = False
    count_include_pad: bool = True
    divisor_override: int | None = None

    ndim: ClassVar[int] = 2


class _AdaptivePooling(Layer):
    """Adaptive pooling (average or max): output o reads [floor(o*n/m), ceil((o+1)*n/m)) per axis."""

    positional: ClassVar[int] = 1

    def sizes(self, spatial: Shape) -> Shape:
        """Output size per axis; None in output_size keeps that axis."""
        raw = self.output_size
        values = raw if isinstance(raw, tuple) else (raw,) * self.ndim
        if len(values) == 1:
            values = values * self.ndim
        if len(values) != self.ndim:
            raise ConvConfigError(f"output_size needs one value or {self.ndim} (got {raw!r})", "output_size")
        out = []
        for v, n in zip(values, spatial, strict=True):
            size = n if v is None else as_int(v, "output_size")
            if size < 1:
                raise ConvConfigError(f"output_size must be at least 1 or None (got {raw!r})", "output_size")
            out.append(size)
        return tuple(out)

    def check(self) -> None:
        self.sizes((1,) * self.ndim)
        if getattr(self, "return_indices", False):
            raise ConvConfigError(
                f"return_indices=True makes {self.kind} return (values, indices), which the next layer "
                "cannot take: keep it False in a stack",
                "return_indices",
            )

    def output_shape(self, shape: Shape) -> Shape:
        _expect_maps(self, shape)
        self.check()
        return (shape[0], *self.sizes(shape[1:]))

    def receptive_field(self, field: ReceptiveField, in_shape: Shape, out_shape: Shape) -> ReceptiveField:
        if field.kind != "local":
            return _passed_on(field, self)
        pairs = list(zip(in_shape[1:], out_shape[1:], strict=True))
        if any(n % m for n, m in pairs):
            return ReceptiveField(
                "unsupported",
                None,
                f"{self.kind} from {in_shape[1:]} to {out_shape[1:]}: the input is not a multiple of "
                "the output, "
                "so windows differ in size; receptive_region gives each unit's exact region",
            )
        axes = tuple(
            through_window(a, n // m, n // m, 0) for a, (n, m) in zip(field.axes, pairs, strict=True)
        )
        return ReceptiveField("local", axes)

    def back_project(self, mask: np.ndarray, in_shape: Shape, out_shape: Shape) -> np.ndarray:
        return back_project(
            mask, [adaptive_connectivity(n, m) for n, m in zip(in_shape[1:], out_shape[1:], strict=True)]
        )

    def fix_candidates(self, shape: Shape, error: ConvConfigError) -> list[Fix]:
        if error.argument == "input":
            return _other_dims(self, shape)
        if error.argument == "output_size":
            return [_set(self, output_size=1)]
        return super().fix_candidates(shape, error)


@dataclass(frozen=True)
class AdaptiveAvgPool1d(_AdaptivePooling):
    """nn.AdaptiveAvgPool1d: (C, L) -> (C, output_size)."""

    output_size: int | tuple[int | None, ...]

    ndim: ClassVar[int] = 1


@dataclass(frozen=True)
class AdaptiveAvgPool2d(_AdaptivePooling):
    """nn.AdaptiveAvgPool2d: (C, H, W) -> (C, *output_size)."""

    output_size: int | tuple[int | None, ...]

    ndim: ClassVar[int] = 2


@dataclass(frozen=True)
class AdaptiveMaxPool1d(_AdaptivePooling):
    """nn.AdaptiveMaxPool1d: (C, L) -> (C, output_size), the largest value of each window."""

    output_size: int | tuple[int | None, ...]
    return_indices: bool = False

    ndim: ClassVar[int] = 1


@dataclass(frozen=True)
class AdaptiveMaxPool2d(_AdaptivePooling):
    """nn.AdaptiveMaxPool2d: (C, H, W) -> (C, *output_size), the largest value of each window."""

    output_size: int | tuple[int | None, ...]
    return_indices: bool = False

    ndim: ClassVar[int] = 2
