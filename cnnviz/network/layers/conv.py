"""Convolution specs: Conv1d, Conv2d, ConvTranspose1d, ConvTranspose2d (shapes, counts, fields, fixes)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from cnnviz.conv.args import PADDING_MODES, ConvGeometry, IntOrTuple, Padding, expand, resolve_geometry
from cnnviz.conv.counts import conv_macs, conv_params, conv_transpose_macs, conv_transpose_params
from cnnviz.conv.ops import validate_conv
from cnnviz.conv.shapes import conv_transpose_output_shape
from cnnviz.errors import ConvConfigError
from cnnviz.network.layers.base import (
    Fix,
    Layer,
    Shape,
    _channel_mismatch,
    _expect_maps,
    _largest_groups,
    _other_dims,
    _passed_on,
    _per_axis,
    _set,
)
from cnnviz.network.receptive_field import (
    ReceptiveField,
    back_project,
    through_window,
    transposed_connectivity,
    window_connectivity,
)

__all__ = ["Conv1d", "Conv2d", "ConvTranspose1d", "ConvTranspose2d"]


def _grouped_back(mask: np.ndarray, matrices: list[np.ndarray], groups: int, in_channels: int) -> np.ndarray:
    """Back-projection through a layer that mixes channels within groups (conv, transposed conv).

    A mask with one channel stands for every channel alike; so does the result when groups == 1.
    """
    if groups == 1 or mask.shape[0] == 1:
        return back_project(mask.any(axis=0, keepdims=True), matrices)
    per_group = mask.reshape(groups, -1, *mask.shape[1:]).any(axis=1)
    return np.repeat(back_project(per_group, matrices), in_channels // groups, axis=0)


def _check_torch_padding(padding: object, name: str) -> None:
    """nn.ConvNd takes an int, one int per axis or 'same'/'valid'; no (before, after) pairs."""
    if isinstance(padding, tuple) and any(isinstance(p, tuple) for p in padding):
        raise ConvConfigError(
            f"{name} takes one padding per axis (got {padding!r}); PyTorch has no (before, after) "
            "pairs here: use the larger value, or pad the input first",
            "padding",
        )


@dataclass(frozen=True)
class _ConvNd(Layer):
    in_channels: int
    out_channels: int
    kernel_size: IntOrTuple
    stride: IntOrTuple = 1
    padding: Padding = 0
    dilation: IntOrTuple = 1
    groups: int = 1
    bias: bool = True
    padding_mode: str = "zeros"

    positional: ClassVar[int] = 2

    def kernel(self) -> tuple[int, ...]:
        """kernel_size as one int per axis."""
        return expand(self.kernel_size, self.ndim, "kernel_size")

    def geometry(self) -> ConvGeometry:
        """Resolved kernel, stride, (before, after) padding and dilation per axis."""
        _check_torch_padding(self.padding, self.kind)
        return resolve_geometry(self.ndim, self.kernel_size, self.stride, self.padding, self.dilation)

    def check(self) -> None:
        conv_params(self.in_channels, self.out_channels, self.kernel(), self.groups, self.bias)
        self.geometry()
        if self.padding_mode not in PADDING_MODES:
            raise ConvConfigError(
                f"padding_mode must be one of {', '.join(PADDING_MODES)} (got {self.padding_mode!r})",
                "padding_mode",
            )

    def output_shape(self, shape: Shape) -> Shape:
        """(C_out, *out) with out = floor((n + 2p - d(k-1) - 1)/s) + 1 per axis."""
        _expect_maps(self, shape)
        self.check()
        if shape[0] != self.in_channels:
            k = expand(self.kernel_size, self.ndim, "kernel_size")
            weight = [self.out_channels, self.in_channels // self.groups, *k]
            raise _channel_mismatch(
                self,
                "in_channels",
                self.in_channels,
                shape,
                f"weight of size {weight}, expected input[N, {', '.join(map(str, shape))}] to have "
                f"{self.in_channels} channels, but got {shape[0]} channels instead",
            )
        g = self.geometry()
        weight = (self.out_channels, self.in_channels // self.groups, *g.kernel_size)
        _, out = validate_conv(
            (1, *shape), weight, None, g.stride, g.padding, g.dilation, self.groups, self.padding_mode
        )
        return (self.out_channels, *out)

    def params(self) -> int:
        return conv_params(self.in_channels, self.out_channels, self.kernel(), self.groups, self.bias)

    def macs(self, in_shape: Shape, out_shape: Shape, batch: int) -> int:
        return conv_macs(
            self.in_channels, self.out_channels, self.kernel(), out_shape[1:], self.groups, batch
        )

    def receptive_field(self, field: ReceptiveField, in_shape: Shape, out_shape: Shape) -> ReceptiveField:
        if field.kind != "local":
            return _passed_on(field, self)
        g = self.geometry()
        axes = tuple(
            through_window(a, k, s, p[0], d)
            for a, k, s, p, d in zip(field.axes, g.kernel_size, g.stride, g.padding, g.dilation, strict=True)
        )
        note = field.note
        if self.padding_mode != "zeros" and any(p != (0, 0) for p in g.padding):
            note = (
                f"padding_mode={self.padding_mode!r}: padding cells copy input cells, so units at the "
                "border also read cells the window formula does not show; receptive_region has them"
            )
        return ReceptiveField("local", axes, note)

    def back_project(self, mask: np.ndarray, in_shape: Shape, out_shape: Shape) -> np.ndarray:
        g = self.geometry()
        matrices = [
            window_connectivity(n, o, k, s, p[0], d, self.padding_mode)
            for n, o, k, s, p, d in zip(
                in_shape[1:], out_shape[1:], g.kernel_size, g.stride, g.padding, g.dilation, strict=True
            )
        ]
        return _grouped_back(mask, matrices, self.groups, in_shape[0])

    def fix_candidates(self, shape: Shape, error: ConvConfigError) -> list[Fix]:
        arg = error.argument
        if arg == "input":
            return _other_dims(self, shape)
        if len(shape) != self.ndim + 1:
            return []
        c, spatial = shape[0], shape[1:]
        out: list[Fix] = []
        if arg in ("in_channels", "groups"):
            if arg == "in_channels":
                out.append(_set(self, in_channels=c))
            g = _largest_groups(
                c if arg == "in_channels" else self.in_channels, self.out_channels, self.groups
            )
            out.append(_set(self, **({"in_channels": c} if arg == "in_channels" else {}), groups=g))
        if arg == "padding":
            out += self._padding_candidates(spatial)
        if arg == "kernel_size":
            out += self._fit_candidates(spatial)
        return out + super().fix_candidates(shape, error)

    def _padding_candidates(self, spatial: Shape) -> list[Fix]:
        out: list[Fix] = []
        try:
            k = expand(self.kernel_size, self.ndim, "kernel_size")
            d = expand(self.dilation, self.ndim, "dilation")
        except ConvConfigError:
            return out
        if isinstance(self.padding, str):
            out.append(_set(self, padding=_per_axis(di * (ki - 1) // 2 for ki, di in zip(k, d, strict=True))))
            return out
        try:
            pads = [max(b, a) for b, a in _numeric_pairs(self.padding, self.ndim)]
        except ConvConfigError:
            return out
        if self.padding_mode == "reflect":
            out.append(
                _set(self, padding=_per_axis(min(p, n - 1) for p, n in zip(pads, spatial, strict=True)))
            )
        elif self.padding_mode == "circular":
            out.append(_set(self, padding=_per_axis(min(p, n) for p, n in zip(pads, spatial, strict=True))))
        else:
            out.append(_set(self, padding=_per_axis(max(p, 0) for p in pads)))
        out.append(_set(self, padding_mode="zeros"))
        return out

    def _fit_candidates(self, spatial: Shape) -> list[Fix]:
        """Pad just enough for the kernel to fit, or else shrink the kernel to the padded input."""
        try:
            g = self.geometry()
        except ConvConfigError:
            try:
                k = expand(self.kernel_size, self.ndim, "kernel_size")
            except ConvConfigError:
                return []
            return [_set(self, kernel_size=_per_axis(max(v, 1) for v in k))]
        out = []
        if not isinstance(self.padding, str) or self.padding == "valid":
            need = [
                max(p[0], -(-(span - n) // 2)) for n, span, p in zip(spatial, g.span, g.padding, strict=True)
            ]
            out.append(_set(self, padding=_per_axis(need)))
        fit = [
            min(k, (n + p[0] + p[1] - 1) // d + 1)
            for n, k, p, d in zip(spatial, g.kernel_size, g.padding, g.dilation, strict=True)
        ]
        out.append(_set(self, kernel_size=_per_axis(fit)))
        return out


def _numeric_pairs(padding: object, ndim: int) -> list[tuple[int, int]]:
    if isinstance(padding, tuple) and any(isinstance(p, tuple) for p in padding):
        return [tuple(p) if isinstance(p, tuple) else (p, p) for p in padding]  # type: ignore[misc]
    return [(p, p) for p in expand(padding, ndim, "padding")]  # type: ignore[arg-type]


@dataclass(frozen=True)
class Conv1d(_ConvNd):
    """nn.Conv1d: (C_in, L) -> (C_out, L_out)."""

    ndim: ClassVar[int] = 1


@dataclass(frozen=True)
class Conv2d(_ConvNd):
    """nn.Conv2d: (C_in, H, W) -> (C_out, H_out, W_out)."""

    ndim: ClassVar[int] = 2


@dataclass(frozen=True)
class _ConvTransposeNd(Layer):
    in_channels: int
    out_channels: int
    kernel_size: IntOrTuple
    stride: IntOrTuple = 1
    padding: IntOrTuple = 0
    output_padding: IntOrTuple = 0
    groups: int = 1
    bias: bool = True
    dilation: IntOrTuple = 1
    padding_mode: str = "zeros"

    positional: ClassVar[int] = 2

    def kernel(self) -> tuple[int, ...]:
        """kernel_size as one int per axis."""
        return expand(self.kernel_size, self.ndim, "kernel_size")

    def geometry(self) -> ConvGeometry:
        """Kernel, stride and dilation per axis (padding is handled by the transposed formula)."""
        return resolve_geometry(self.ndim, self.kernel_size, self.stride, 0, self.dilation)

    def check(self) -> None:
        conv_transpose_params(self.in_channels, self.out_channels, self.kernel(), self.groups, self.bias)
        self.geometry()
        if self.padding_mode != "zeros":
            raise ConvConfigError(
                f"{self.kind} supports only padding_mode='zeros' (got {self.padding_mode!r})", "padding_mode"
            )

    def output_shape(self, shape: Shape) -> Shape:
        """(C_out, *out) with out = (n-1)s - 2p + d(k-1) + output_padding + 1 per axis."""
        _expect_maps(self, shape)
        self.check()
        if shape[0] != self.in_channels:
            raise _channel_mismatch(
                self,
                "in_channels",
                self.in_channels,
                shape,
                f"expected input[N, {', '.join(map(str, shape))}] to have {self.in_channels} channels, "
                f"but got {shape[0]} channels instead",
            )
        out = conv_transpose_output_shape(
            shape[1:],
            self.ndim,
            self.kernel_size,
            self.stride,
            self.padding,
            self.output_padding,
            self.dilation,
        )
        return (self.out_channels, *out)

    def params(self) -> int:
        return conv_transpose_params(
            self.in_channels, self.out_channels, self.kernel(), self.groups, self.bias
        )

    def macs(self, in_shape: Shape, out_shape: Shape, batch: int) -> int:
        return conv_transpose_macs(
            self.in_channels, self.out_channels, self.kernel(), in_shape[1:], self.groups, batch
        )

    def receptive_field(self, field: ReceptiveField, in_shape: Shape, out_shape: Shape) -> ReceptiveField:
        if field.kind != "local":
            return _passed_on(field, self)
        g = self.geometry()
        if any(s != 1 for s in g.stride):
            return ReceptiveField(
                "unsupported",
                None,
                f"{self.kind} with stride {_per_axis(g.stride)} places output cells "
                f"1/{_per_axis(g.stride)} of "
                "an input cell apart (fractional stride): neighbouring outputs read different numbers of "
                "inputs, so no single window size; receptive_region gives each unit's exact region",
            )
        pads = expand(self.padding, self.ndim, "padding")
        # Stride 1: output y reads inputs y + p - d(k-1) .. y + p, a conv with padding d(k-1) - p.
        axes = tuple(
            through_window(a, k, 1, d * (k - 1) - p, d)
            for a, k, p, d in zip(field.axes, g.kernel_size, pads, g.dilation, strict=True)
        )
        return ReceptiveField("local", axes)

    def back_project(self, mask: np.ndarray, in_shape: Shape, out_shape: Shape) -> np.ndarray:
        g = self.geometry()
        pads = expand(self.padding, self.ndim, "padding")
        matrices = [
            transposed_connectivity(n, o, k, s, p, d)
            for n, o, k, s, p, d in zip(
                in_shape[1:], out_shape[1:], g.kernel_size, g.stride, pads, g.dilation, strict=True
            )
        ]
        return _grouped_back(mask, matrices, self.groups, in_shape[0])

    def fix_candidates(self, shape: Shape, error: ConvConfigError) -> list[Fix]:
        arg = error.argument
        if arg == "input":
            return _other_dims(self, shape)
        if len(shape) != self.ndim + 1:
            return []
        out: list[Fix] = []
        if arg in ("in_channels", "groups"):
            if arg == "in_channels":
                out.append(_set(self, in_channels=shape[0]))
            g = _largest_groups(
                shape[0] if arg == "in_channels" else self.in_channels, self.out_channels, self.groups
            )
            out.append(_set(self, **({"in_channels": shape[0]} if arg == "in_channels" else {}), groups=g))
        try:
            g = self.geometry()
            ops = expand(self.output_padding, self.ndim, "output_padding")
            pads = (
                expand(self.padding, self.ndim, "padding")
                if not isinstance(self.padding, str)
                else (0,) * self.ndim
            )
        except ConvConfigError:
            return out + super().fix_candidates(shape, error)
        if arg == "output_padding":
            limit = [max(s, d) - 1 for s, d in zip(g.stride, g.dilation, strict=True)]
            out.append(
                _set(
                    self,
                    output_padding=_per_axis(min(max(op, 0), m) for op, m in zip(ops, limit, strict=True)),
                )
            )
        if arg == "padding":
            full = [
                (n - 1) * s + d * (k - 1) + min(max(op, 0), max(s, d) - 1) + 1
                for n, s, d, k, op in zip(shape[1:], g.stride, g.dilation, g.kernel_size, ops, strict=True)
            ]
            out.append(
                _set(
                    self,
                    padding=_per_axis(min(max(p, 0), (f - 1) // 2) for p, f in zip(pads, full, strict=True)),
                )
            )
        return out + super().fix_candidates(shape, error)


@dataclass(frozen=True)
class ConvTranspose1d(_ConvTransposeNd):
    """nn.ConvTranspose1d: (C_in, L) -> (C_out, L_out)."""

    ndim: ClassVar[int] = 1


@dataclass(frozen=True)
class ConvTranspose2d(_ConvTransposeNd):
    """nn.ConvTranspose2d: (C_in, H, W) -> (C_out, H_out, W_out)."""

    ndim: ClassVar[int] = 2
