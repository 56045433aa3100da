"""Explain one output of a convolution: which cells its window reads, the weights they meet, each product.

This is the data behind every "point at an output cell" view, and it agrees with `cnnviz.conv.ops` exactly:
`explain_conv_output(...).total` equals the matching element of `conv1d`/`conv2d`. The reverse question
(which outputs read this input cell?) is `outputs_reading_input`.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from cnnviz.conv.args import ConvGeometry, IntOrTuple, Padding
from cnnviz.conv.numbers import number_text
from cnnviz.conv.ops import _as_float_array, _batched, source_index, validate_conv
from cnnviz.errors import ConvConfigError

__all__ = [
    "Tap",
    "OutputExplanation",
    "explain_conv_output",
    "outputs_reading_input",
    "unread_input_reason",
    "window_positions",
]


@dataclass(frozen=True)
class Tap:
    """One multiplication inside a window: input value times kernel weight."""

    channel: int  # input channel read
    kernel_index: tuple[int, ...]  # (a,) or (a, b) inside the kernel
    position: tuple[int, ...]  # input coordinates; outside 0..n-1 means a padding cell
    source: tuple[int, ...] | None  # the input cell whose value is read (None: zero padding)
    value: float
    weight: float

    @property
    def is_padding(self) -> bool:
        return self.source != self.position

    @property
    def product(self) -> float:
        return self.value * self.weight


@dataclass(frozen=True)
class OutputExplanation:
    """Everything that makes one output value: y = bias + sum(value * weight over taps)."""

    out_channel: int
    position: tuple[int, ...]  # output coordinates
    window_start: tuple[int, ...]  # input coordinates of the window's first cell (negative: padding)
    span: tuple[int, ...]  # cells the window covers per axis, dilation gaps included
    dilation: tuple[int, ...]
    taps: tuple[Tap, ...]
    bias: float

    @property
    def total(self) -> float:
        """bias + every product, summed in float64."""
        return float(self.bias + sum(t.product for t in self.taps))

    def gap_positions(self) -> list[tuple[int, ...]]:
        """Input coordinates inside the window that dilation skips (no tap reads them)."""
        read = {t.position for t in self.taps}
        ranges = [range(s, s + n) for s, n in zip(self.window_start, self.span, strict=False)]
        return [p for p in itertools.product(*ranges) if p not in read]

    def equation(self, digits: int = 4) -> str:
        """The dot product written out in plain text, e.g. '1×0.5 + 2×(-1) + 0.1 = -1.4'.

        Numbers are written as `number_text` writes them (integers as integers, a third as 1/3), so the
        products written out add up to the total shown; the total has `digits` decimals at most.
        """

        def fmt(v: float) -> str:
            s = number_text(v, digits)
            return f"({s})" if v < 0 or "/" in s else s

        terms = [f"{fmt(t.value)}×{fmt(t.weight)}" for t in self.taps]
        if self.bias:
            terms.append(fmt(self.bias))
        return " + ".join(terms) + f" = {number_text(self.total, digits, fractions=False)}"


def window_positions(
    out_position: tuple[int, ...], geometry: ConvGeometry
) -> list[tuple[tuple[int, ...], tuple[int, ...]]]:
    """(kernel_index, input position) of every tap of the window producing `out_position`."""
    per_axis = [
        [(a, o * s - before + a * d) for a in range(k)]
        for o, k, s, (before, _), d in zip(
            out_position,
            geometry.kernel_size,
            geometry.stride,
            geometry.padding,
            geometry.dilation,
            strict=False,
        )
    ]
    return [
        (tuple(a for a, _ in combo), tuple(p for _, p in combo)) for combo in itertools.product(*per_axis)
    ]


def explain_conv_output(
    input: np.ndarray,
    weight: np.ndarray,
    position: tuple[int, ...] | int,
    out_channel: int = 0,
    bias: np.ndarray | None = None,
    stride: IntOrTuple = 1,
    padding: Padding = 0,
    dilation: IntOrTuple = 1,
    groups: int = 1,
    padding_mode: str = "zeros",
    batch_index: int = 0,
) -> OutputExplanation:
    """Explain output[batch_index, out_channel, *position] of conv1d/conv2d with these arguments."""
    x = _as_float_array(input, "input")
    w = _as_float_array(weight, "weight")
    ndim = w.ndim - 2
    xb, _ = _batched(x, ndim)
    b = None if bias is None else _as_float_array(bias, "bias")
    geometry, out = validate_conv(
        xb.shape, w.shape, None if b is None else b.shape, stride, padding, dilation, groups, padding_mode
    )
    pos = (position,) if isinstance(position, (int, np.integer)) else tuple(int(p) for p in position)
    if len(pos) != ndim or any(not 0 <= p < o for p, o in zip(pos, out, strict=False)):
        raise ConvConfigError(f"output position {pos} is outside the output of size {out}", "position")
    if not 0 <= out_channel < w.shape[0]:
        raise ConvConfigError(f"out_channel {out_channel} is outside 0..{w.shape[0] - 1}", "out_channel")
    if not 0 <= batch_index < xb.shape[0]:
        raise ConvConfigError(f"batch_index {batch_index} is outside 0..{xb.shape[0] - 1}", "batch_index")
    c_group = w.shape[1]
    group = out_channel // (w.shape[0] // groups)
    sizes = xb.shape[2:]
    taps: list[Tap] = []
    for ci in range(c_group):
        channel = group * c_group + ci
        for kernel_index, p in window_positions(pos, geometry):
            src_axes = [source_index(q, n, padding_mode) for q, n in zip(p, sizes, strict=False)]
            source = None if any(s is None for s in src_axes) else tuple(src_axes)
            value = 0.0 if source is None else float(xb[(batch_index, channel, *source)])
            taps.append(
                Tap(channel, kernel_index, p, source, value, float(w[(out_channel, ci, *kernel_index)]))
            )
    start = tuple(
        o * s - before for o, s, (before, _) in zip(pos, geometry.stride, geometry.padding, strict=False)
    )
    return OutputExplanation(
        out_channel,
        pos,
        start,
        geometry.span,
        geometry.dilation,
        tuple(taps),
        0.0 if b is None else float(b[out_channel]),
    )


def outputs_reading_input(
    input_size: tuple[int, ...] | int,
    position: tuple[int, ...] | int,
    kernel_size: IntOrTuple,
    stride: IntOrTuple = 1,
    padding: Padding = 0,
    dilation: IntOrTuple = 1,
    padding_mode: str = "zeros",
) -> list[tuple[tuple[int, ...], tuple[int, ...]]]:
    """Every (output position, kernel index) whose window reads input cell `position`.

    With reflect/replicate/circular padding a cell is also read through the padding that copies it.
    """
    sizes = (input_size,) if isinstance(input_size, (int, np.integer)) else tuple(input_size)
    pos = (position,) if isinstance(position, (int, np.integer)) else tuple(position)
    ndim = len(sizes)
    ks = (kernel_size,) * ndim if isinstance(kernel_size, (int, np.integer)) else tuple(kernel_size)
    geometry, out = validate_conv(
        (1, 1, *sizes), (1, 1, *ks), None, stride, padding, dilation, 1, padding_mode
    )
    if len(pos) != ndim or any(not 0 <= p < n for p, n in zip(pos, sizes, strict=False)):
        raise ConvConfigError(f"input position {pos} is outside the input of size {sizes}", "position")
    # Separable per axis: which (output index, tap) pairs read this coordinate along each axis.
    per_axis = []
    for p, n, o_len, k, s, (before, _), d in zip(
        pos,
        sizes,
        out,
        geometry.kernel_size,
        geometry.stride,
        geometry.padding,
        geometry.dilation,
        strict=False,
    ):
        hits = [
            (o, a)
            for o in range(o_len)
            for a in range(k)
            if source_index(o * s - before + a * d, n, padding_mode) == p
        ]
        per_axis.append(hits)
    return [
        (tuple(o for o, _ in combo), tuple(a for _, a in combo)) for combo in itertools.product(*per_axis)
    ]


def unread_input_reason(
    input_size: tuple[int, ...] | int,
    position: tuple[int, ...] | int,
    kernel_size: IntOrTuple,
    stride: IntOrTuple = 1,
    padding: Padding = 0,
    dilation: IntOrTuple = 1,
    padding_mode: str = "zeros",
    axis_names: tuple[str, ...] = ("row", "column"),
) -> str | None:
    """Why no output reads input cell `position` (None when some output reads it).

    Per axis that misses the cell: past the last window (the floor in the size formula drops it),
    between two windows (only when the stride is larger than the kernel's span d(k-1)+1), or inside a
    window but in the gaps a dilation leaves between taps.
    """
    if outputs_reading_input(input_size, position, kernel_size, stride, padding, dilation, padding_mode):
        return None
    sizes = (input_size,) if isinstance(input_size, (int, np.integer)) else tuple(input_size)
    pos = (position,) if isinstance(position, (int, np.integer)) else tuple(position)
    ndim = len(sizes)
    ks = (kernel_size,) * ndim if isinstance(kernel_size, (int, np.integer)) else tuple(kernel_size)
    geometry, out = validate_conv(
        (1, 1, *sizes), (1, 1, *ks), None, stride, padding, dilation, 1, padding_mode
    )
    names = axis_names[-ndim:] if ndim <= len(axis_names) else tuple(f"axis {i}" for i in range(ndim))
    reasons = []
    for name, n, p, o_len, k, s, (before, _), d, span in zip(
        names,
        sizes,
        pos,
        out,
        geometry.kernel_size,
        geometry.stride,
        geometry.padding,
        geometry.dilation,
        geometry.span,
        strict=False,
    ):
        if any(
            source_index(o * s - before + a * d, n, padding_mode) == p for o in range(o_len) for a in range(k)
        ):
            continue  # this axis reads the coordinate; another axis misses it
        starts = [o * s - before for o in range(o_len)]
        if p > starts[-1] + span - 1:
            reasons.append(
                f"along the {name}s the last window ends at {name} {starts[-1] + span - 1}, and the "
                f"stride ({s}) leaves no room for another (the floor in the size formula drops the rest)"
            )
        elif not any(start <= p <= start + span - 1 for start in starts):
            reasons.append(
                f"along the {name}s the stride ({s}) is larger than the kernel's span "
                f"d(k-1)+1 = {span}, so the windows leave gaps between them"
            )
        else:
            reasons.append(
                f"along the {name}s it falls in the gaps that dilation {d} leaves between the kernel's taps"
            )
    return "; ".join(reasons)
