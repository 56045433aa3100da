"""Argument normalisation shared by every shape function and op.

PyTorch lets `kernel_size`, `stride`, `padding` and `dilation` be an int or one value per spatial axis;
cnnviz also lets padding be a (before, after) pair per axis, or the strings 'same' and 'valid'.
Everything is resolved here, once, into plain tuples, and every bad value becomes a `ConvConfigError`
that names the argument and says what would work.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Literal

from cnnviz.errors import ConvConfigError

__all__ = [
    "axis_names",
    "IntOrTuple",
    "Padding",
    "PaddingMode",
    "PADDING_MODES",
    "ConvGeometry",
    "as_int",
    "expand",
    "resolve_padding",
    "same_padding",
    "resolve_geometry",
]

IntOrTuple = int | tuple[int, ...]
Padding = int | str | tuple
PaddingMode = Literal["zeros", "reflect", "replicate", "circular"]
PADDING_MODES: tuple[str, ...] = ("zeros", "reflect", "replicate", "circular")


def axis_names(ndim: int) -> tuple[str, ...]:
    """Human names of the spatial axes, as used in messages."""
    if ndim == 1:
        return ("length",)
    if ndim == 2:
        return ("height", "width")
    return tuple(f"axis {i}" for i in range(ndim))


def as_int(value: object, name: str) -> int:
    """`value` as a Python int, refusing bools, floats with a fraction and non-numbers."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        if isinstance(value, numbers.Real) and float(value).is_integer() and not isinstance(value, bool):
            return int(value)
        raise ConvConfigError(f"{name} must be a whole number (got {value!r})", name)
    return int(value)


def expand(value: IntOrTuple, ndim: int, name: str) -> tuple[int, ...]:
    """An int or a per-axis tuple, as a tuple of `ndim` ints (PyTorch's `_pair`, with checks)."""
    if isinstance(value, (tuple, list)):
        if len(value) == 1:
            return (as_int(value[0], name),) * ndim
        if len(value) != ndim:
            raise ConvConfigError(
                f"{name} needs one value or {ndim} (one per axis: {', '.join(axis_names(ndim))}); "
                f"got {len(value)} values {tuple(value)!r}",
                name,
            )
        return tuple(as_int(v, name) for v in value)
    return (as_int(value, name),) * ndim


def _check_at_least(values: tuple[int, ...], low: int, name: str, ndim: int, hint: str) -> None:
    for axis, v in zip(axis_names(ndim), values, strict=False):
        if v < low:
            where = f" ({axis})" if ndim > 1 else ""
            raise ConvConfigError(f"{name}{where} must be at least {low} (got {v}): {hint}", name)


def same_padding(
    kernel_size: IntOrTuple, dilation: IntOrTuple = 1, ndim: int = 1
) -> tuple[tuple[int, int], ...]:
    """The (before, after) padding per axis that keeps the size at stride 1, split as PyTorch splits it.

    The total is d*(k-1); PyTorch puts the odd cell *after* (bottom/right), so an even kernel of 4
    pads (1, 2). Some texts (d2l) put it before; PyTorch is followed here.
    """
    ks = expand(kernel_size, ndim, "kernel_size")
    ds = expand(dilation, ndim, "dilation")
    _check_at_least(ks, 1, "kernel_size", ndim, "a kernel covers at least one cell")
    _check_at_least(ds, 1, "dilation", ndim, "dilation 1 means adjacent cells, 2 skips one cell")
    out = []
    for k, d in zip(ks, ds, strict=False):
        total = d * (k - 1)
        out.append((total // 2, total - total // 2))
    return tuple(out)


def resolve_padding(
    padding: Padding,
    ndim: int,
    kernel_size: IntOrTuple = 1,
    dilation: IntOrTuple = 1,
    stride: IntOrTuple = 1,
) -> tuple[tuple[int, int], ...]:
    """Padding in any accepted form as ((before, after), ...) per spatial axis.

    Accepts an int, 'valid', 'same', one value per axis, or for each axis a (before, after) pair;
    in 1D a bare (before, after) pair is per side. 'same' needs stride 1, as in PyTorch.
    """
    if isinstance(padding, str):
        mode = padding.strip().lower()
        if mode == "valid":
            return ((0, 0),) * ndim
        if mode == "same":
            strides = expand(stride, ndim, "stride")
            if any(s != 1 for s in strides):
                raise ConvConfigError(
                    "padding='same' needs stride 1 (got stride "
                    f"{strides if ndim > 1 else strides[0]}). With stride s the output has about n/s "
                    "cells, never n, and the padding that gives ceil(n/s) depends on the input size, "
                    "which PyTorch does not know when the layer is built. Use a number for padding, "
                    "or stride 1.",
                    "padding",
                )
            return same_padding(kernel_size, dilation, ndim)
        raise ConvConfigError(
            f"padding must be a number, a (before, after) pair, 'same' or 'valid' (got {padding!r})",
            "padding",
        )
    if isinstance(padding, (tuple, list)):
        items = list(padding)
        if ndim == 1 and len(items) == 2 and all(not isinstance(v, (tuple, list)) for v in items):
            pairs = [(as_int(items[0], "padding"), as_int(items[1], "padding"))]
        elif len(items) == 1:
            pairs = [_side_pair(items[0])] * ndim
        elif len(items) == ndim:
            pairs = [_side_pair(v) for v in items]
        else:
            raise ConvConfigError(
                f"padding needs one value or {ndim} (one per axis: {', '.join(axis_names(ndim))}), "
                f"each a number or a (before, after) pair; got {tuple(items)!r}",
                "padding",
            )
    else:
        p = as_int(padding, "padding")
        pairs = [(p, p)] * ndim
    for axis, (before, after) in zip(axis_names(ndim), pairs, strict=False):
        if before < 0 or after < 0:
            where = f" ({axis})" if ndim > 1 else ""
            raise ConvConfigError(
                f"padding{where} must be 0 or more (got {(before, after) if before != after else before}): "
                "negative padding would crop the input; crop it before the convolution instead",
                "padding",
            )
    return tuple(pairs)


def _side_pair(value: object) -> tuple[int, int]:
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ConvConfigError(
                f"a per-side padding is a (before, after) pair (got {tuple(value)!r})", "padding"
            )
        return as_int(value[0], "padding"), as_int(value[1], "padding")
    p = as_int(value, "padding")
    return p, p


@dataclass(frozen=True)
class ConvGeometry:
    """The resolved numbers of a sliding window, one entry per spatial axis."""

    kernel_size: tuple[int, ...]
    stride: tuple[int, ...]
    padding: tuple[tuple[int, int], ...]  # (before, after) per axis
    dilation: tuple[int, ...]

    @property
    def ndim(self) -> int:
        return len(self.kernel_size)

    @property
    def span(self) -> tuple[int, ...]:
        """Cells one window covers, gaps included: d*(k-1)+1."""
        return tuple(d * (k - 1) + 1 for k, d in zip(self.kernel_size, self.dilation, strict=False))


def resolve_geometry(
    ndim: int,
    kernel_size: IntOrTuple,
    stride: IntOrTuple | None = 1,
    padding: Padding = 0,
    dilation: IntOrTuple = 1,
) -> ConvGeometry:
    """Check and resolve window arguments; stride None means stride = kernel size (pooling)."""
    ks = expand(kernel_size, ndim, "kernel_size")
    _check_at_least(ks, 1, "kernel_size", ndim, "a kernel covers at least one cell")
    ss = (
        ks
        if stride is None or (isinstance(stride, (tuple, list)) and len(stride) == 0)
        else expand(stride, ndim, "stride")
    )
    _check_at_least(ss, 1, "stride", ndim, "stride 1 visits every position, 2 every other one")
    ds = expand(dilation, ndim, "dilation")
    _check_at_least(ds, 1, "dilation", ndim, "dilation 1 means adjacent cells, 2 skips one cell")
    pads = resolve_padding(padding, ndim, ks, ds, ss)
    return ConvGeometry(ks, ss, pads, ds)
