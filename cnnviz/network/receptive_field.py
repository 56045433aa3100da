"""Receptive fields of stacked sliding windows (Araujo, Norris & Sim, Distill 2019), and exact connectivity.

Per spatial axis, after layers 1..l with kernel k_i, stride s_i, left padding p_i and dilation d_i
(a dilated kernel spans k' = d(k-1)+1 cells):

    r_l = r_{l-1} + (k'_l - 1) * j_{l-1}        receptive field size, r_0 = 1
    j_l = j_{l-1} * s_l                         jump (effective stride), j_0 = 1
    P_l = P_{l-1} + p_l * j_{l-1}               effective padding, P_0 = 0

and unit u of layer l reads input cells [u*j_l - P_l, u*j_l - P_l + r_l - 1] (gaps included).
Those formulas ignore the borders. The exact set of input cells a unit reads comes from the
connectivity matrices below (one boolean (n_out, n_in) matrix per layer and axis), propagated backwards.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from cnnviz.conv.ops import source_index

__all__ = [
    "AxisField",
    "FieldKind",
    "ReceptiveField",
    "input_field",
    "through_window",
    "window_connectivity",
    "transposed_connectivity",
    "adaptive_connectivity",
    "back_project",
]

FieldKind = Literal["local", "flat", "global", "unsupported"]


@dataclass(frozen=True)
class AxisField:
    """Receptive field along one axis: size r, jump j and the first input cell of unit 0 (= -P)."""

    size: int
    jump: int
    start: int

    @property
    def effective_padding(self) -> int:
        """P: how far unit 0's window reaches before input cell 0."""
        return -self.start

    def window(self, unit: int) -> tuple[int, int]:
        """(start, stop) of the input cells unit `unit` spans, stop exclusive, borders ignored."""
        first = unit * self.jump + self.start
        return first, first + self.size

    def centre(self, unit: int) -> float:
        """Input coordinate of the centre of unit `unit`'s window."""
        return unit * self.jump + self.start + (self.size - 1) / 2


def through_window(field: AxisField, kernel: int, stride: int, padding: int, dilation: int = 1) -> AxisField:
    """The field after one more sliding window (conv or pool) with left padding `padding`."""
    span = dilation * (kernel - 1) + 1
    return AxisField(
        size=field.size + (span - 1) * field.jump,
        jump=field.jump * stride,
        start=field.start - padding * field.jump,
    )


@dataclass(frozen=True)
class ReceptiveField:
    """The receptive field of every unit of one layer's output.

    kind 'local': `axes` holds one AxisField per spatial axis of the network input.
    kind 'flat': features without a position (after Flatten); each is one cell of the map before it.
    kind 'global': each unit may depend on the whole input (after Linear); `axes` is None.
    kind 'unsupported': no single (r, j, P) describes the layer (fractional stride, uneven windows);
    `axes` is None and `note` says why. Exact regions still come from connectivity.
    """

    kind: FieldKind
    axes: tuple[AxisField, ...] | None
    note: str = ""

    @property
    def size(self) -> tuple[int, ...] | None:
        """r per axis, or None when the field is not a fixed window."""
        return None if self.axes is None else tuple(a.size for a in self.axes)

    @property
    def jump(self) -> tuple[int, ...] | None:
        """j per axis, or None when the field is not a fixed window."""
        return None if self.axes is None else tuple(a.jump for a in self.axes)

    @property
    def start(self) -> tuple[int, ...] | None:
        """First input cell of unit 0 per axis (-P), or None."""
        return None if self.axes is None else tuple(a.start for a in self.axes)

    def describe(self) -> str:
        """Short text such as '5x5, jump 2' or 'whole input'."""
        if self.axes is None:
            return {"global": "whole input", "flat": "flat (no position)"}.get(self.kind, "n/a")
        size = "x".join(str(a.size) for a in self.axes)
        jumps = {a.jump for a in self.axes}
        jump = str(jumps.pop()) if len(jumps) == 1 else "x".join(str(a.jump) for a in self.axes)
        return f"{size}, jump {jump}"


def input_field(ndim: int) -> ReceptiveField:
    """The field of the input itself: every cell sees itself (r=1, j=1, P=0)."""
    return ReceptiveField("local", tuple(AxisField(1, 1, 0) for _ in range(ndim)))


# --------------------------------------------------------------------------------------------------
# Exact connectivity: which input cells each output cell reads (boolean (n_out, n_in) matrices)
# --------------------------------------------------------------------------------------------------


def window_connectivity(
    n_in: int,
    n_out: int,
    kernel: int,
    stride: int,
    padding: int,
    dilation: int = 1,
    padding_mode: str = "zeros",
) -> np.ndarray:
    """(n_out, n_in) bool: output o reads position q = o*s - p + t*d for a tap t in 0..k-1 (conv, pooling).

    q outside 0..n_in-1 is padding: nothing for zeros, else the cell it copies (reflect, replicate, circular).
    """
    q = np.arange(n_out)[:, None] * stride - padding + np.arange(kernel)[None, :] * dilation  # (n_out, k)
    if padding_mode == "zeros":
        source = np.where((q >= 0) & (q < n_in), q, -1)
    else:
        source = np.vectorize(lambda v: source_index(int(v), n_in, padding_mode), otypes=[int])(q)
    return (source[:, :, None] == np.arange(n_in)[None, None, :]).any(axis=1)


def transposed_connectivity(
    n_in: int, n_out: int, kernel: int, stride: int, padding: int, dilation: int = 1
) -> np.ndarray:
    """(n_out, n_in) bool for a transposed conv: input i scatters to outputs i*s - p + t*d."""
    return window_connectivity(n_out, n_in, kernel, stride, padding, dilation).T


def adaptive_connectivity(n_in: int, n_out: int) -> np.ndarray:
    """(n_out, n_in) bool for adaptive pooling: output o reads [floor(o*n/m), ceil((o+1)*n/m))."""
    o = np.arange(n_out)[:, None]
    i = np.arange(n_in)[None, :]
    start = (o * n_in) // n_out
    stop = -((-(o + 1) * n_in) // n_out)
    return (i >= start) & (i < stop)


def back_project(mask: np.ndarray, matrices: Sequence[np.ndarray]) -> np.ndarray:
    """Input cells read by the True cells of `mask`, one connectivity matrix per trailing axis.

    mask: (..., n_out_1, ..., n_out_k) bool; matrices[a]: (n_out_a, n_in_a). Returns (..., n_in_1, ...).
    """
    out = mask.astype(np.int64)
    lead = mask.ndim - len(matrices)
    for a, matrix in enumerate(matrices):
        axis = lead + a
        out = np.moveaxis(np.tensordot(out, matrix.astype(np.int64), axes=([axis], [0])), -1, axis)
        out = (out > 0).astype(np.int64)
    return out > 0
