"""Pooling explained: one pooling layer with its winners, the shift demo, and four ways to upsample.

Everything here is numpy on top of `cnnviz.conv.ops` (PyTorch-exact pooling and transposed convolution):

* `pool_walkthrough` — max or average pooling of one 2D grid, the winning input cell of every max
  window, the output-size arithmetic per axis, and the global average; `window_cells` lists the input
  cells one window reads (the animation walks through them).
* `pool1d_walkthrough` — the same for a 1D signal (`F.max_pool1d` / `F.avg_pool1d`).
* `shift_invariance` — lecture 003's vertical edge, shifted right by 0..k pixels, through the edge
  kernel [[1, -1]] and then max pooling: how many cells change versus shift 0 at each stage.
* `upsample_compare` — nearest, max-unpool (with the stored argmax), bilinear and transposed
  convolution applied to the same small map, with their output sizes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cnnviz.conv.formulas import Explanation, explain_pool_output_size
from cnnviz.conv.ops import avg_pool1d, avg_pool2d, conv2d, conv_transpose2d, max_pool1d, max_pool2d
from cnnviz.errors import ConvConfigError

__all__ = [
    "EDGE_KERNEL",
    "Pool1dWalkthrough",
    "PoolWalkthrough",
    "ShiftResult",
    "UpsampleResult",
    "bilinear_upsample",
    "lecture_edge_image",
    "max_unpool2d",
    "pool1d_walkthrough",
    "pool_walkthrough",
    "shift_invariance",
    "shift_summary",
    "upsample_compare",
]

POOL_KINDS = ("max", "avg")
EDGE_KERNEL = np.array([[1.0, -1.0]])  # lecture 003: finds vertical edges


@dataclass(frozen=True)
class PoolWalkthrough:
    """One 2D pooling of one grid, with everything the page shows."""

    input: np.ndarray  # (H, W)
    kind: str  # "max" or "avg"
    output: np.ndarray  # (Ho, Wo)
    indices: np.ndarray | None  # (Ho, Wo) flat index r * W + c of each max window's winner (max only)
    explanations: tuple[Explanation, Explanation]  # height, width
    global_average: float  # mean of the whole input: global average pooling
    kernel_size: int = 2
    stride: int = 2  # resolved: the kernel size when none was given
    padding: int = 0
    dilation: int = 1
    count_include_pad: bool = True  # average only: padding cells count in the divisor

    def window_cells(self, row: int, col: int) -> list[tuple[int, int]]:
        """Input (row, col) of every tap of output (row, col)'s window, row-major; outside 0..n-1 is padding."""
        return [
            (
                row * self.stride - self.padding + a * self.dilation,
                col * self.stride - self.padding + b * self.dilation,
            )
            for a in range(self.kernel_size)
            for b in range(self.kernel_size)
        ]

    @property
    def winners(self) -> np.ndarray | None:
        """(Ho, Wo, 2) row and column of each max window's winning input cell (None for average)."""
        if self.indices is None:
            return None
        rows, cols = np.divmod(self.indices, self.input.shape[1])
        return np.stack([rows, cols], axis=-1)


def _grid(x: object, name: str = "input") -> np.ndarray:
    a = np.asarray(x, dtype=float)
    if a.ndim != 2 or a.size == 0:
        raise ConvConfigError(f"{name} must be a non-empty 2D grid (got shape {a.shape})", name)
    return a


def pool_walkthrough(
    x: object,
    kind: str = "max",
    kernel_size: int = 2,
    stride: int | None = None,
    padding: int = 0,
    dilation: int = 1,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
) -> PoolWalkthrough:
    """Pool a 2D grid with a square window; raises `ConvConfigError` for any impossible setting."""
    a = _grid(x)
    if kind not in POOL_KINDS:
        raise ConvConfigError(f"pooling kind must be 'max' or 'avg' (got {kind!r})", "kind")
    if kind == "avg" and dilation != 1:
        raise ConvConfigError(
            f"average pooling has no dilation (got {dilation}): PyTorch's AvgPool2d always reads adjacent "
            "cells. Set dilation to 1, or use max pooling.",
            "dilation",
        )
    indices = None
    if kind == "max":
        out, indices = max_pool2d(
            a[None], kernel_size, stride, padding, dilation, ceil_mode, return_indices=True
        )
        out, indices = out[0], indices[0]
    else:
        out = avg_pool2d(a[None], kernel_size, stride, padding, ceil_mode, count_include_pad)[0]
    explanations = tuple(
        explain_pool_output_size(n, kernel_size, stride, padding, dilation, ceil_mode, symbol)
        for n, symbol in zip(a.shape, ("H", "W"), strict=True)
    )
    return PoolWalkthrough(
        a,
        kind,
        out,
        indices,
        explanations,  # type: ignore[arg-type]
        float(a.mean()),
        kernel_size,
        kernel_size if stride is None else stride,
        padding,
        dilation,
        count_include_pad,
    )


@dataclass(frozen=True)
class Pool1dWalkthrough:
    """One 1D pooling of one signal: output, winners and the output-length arithmetic."""

    input: np.ndarray  # (L,)
    kind: str
    output: np.ndarray  # (L_out,)
    indices: np.ndarray | None  # (L_out,) position of each max window's winner (max only)
    explanation: Explanation
    kernel_size: int
    stride: int
    padding: int
    dilation: int

    def window_cells(self, j: int) -> list[int]:
        """Input positions of output j's window taps; outside 0..L-1 is padding."""
        return [j * self.stride - self.padding + a * self.dilation for a in range(self.kernel_size)]


def pool1d_walkthrough(
    x: object,
    kind: str = "max",
    kernel_size: int = 2,
    stride: int | None = None,
    padding: int = 0,
    dilation: int = 1,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
) -> Pool1dWalkthrough:
    """Pool a 1D signal, as `F.max_pool1d` / `F.avg_pool1d`; raises `ConvConfigError` for impossible settings."""
    a = np.asarray(x, dtype=float)
    if a.ndim != 1 or a.size == 0:
        raise ConvConfigError(
            f"a signal must be a non-empty 1D list of numbers (got shape {a.shape})", "input"
        )
    if kind not in POOL_KINDS:
        raise ConvConfigError(f"pooling kind must be 'max' or 'avg' (got {kind!r})", "kind")
    if kind == "avg" and dilation != 1:
        raise ConvConfigError(
            f"average pooling has no dilation (got {dilation}): set dilation to 1, or use max pooling.",
            "dilation",
        )
    indices = None
    if kind == "max":
        out, indices = max_pool1d(
            a[None], kernel_size, stride, padding, dilation, ceil_mode, return_indices=True
        )
        out, indices = out[0], indices[0]
    else:
        out = avg_pool1d(a[None], kernel_size, stride, padding, ceil_mode, count_include_pad)[0]
    explanation = explain_pool_output_size(a.size, kernel_size, stride, padding, dilation, ceil_mode, "L")
    s = kernel_size if stride is None else stride
    return Pool1dWalkthrough(a, kind, out, indices, explanation, kernel_size, s, padding, dilation)


# --------------------------------------------------------------------------------------------------
# Invariance
# --------------------------------------------------------------------------------------------------


def lecture_edge_image(shift: int = 0, width: int = 5, height: int = 4) -> np.ndarray:
    """Lecture 003's vertical edge: ones in the first two columns, zeros after; the edge moved right by `shift`."""
    if shift < 0 or 2 + shift >= width:
        raise ConvConfigError(
            f"a shift of {shift} pushes the edge out of a {width}-column image: use a shift from 0 to {width - 3}",
            "shift",
        )
    x = np.zeros((height, width))
    x[:, : 2 + shift] = 1.0
    return x


@dataclass(frozen=True)
class ShiftResult:
    """The edge image at each shift, its edge map (convolution) and pooled map, and what changed."""

    shifts: tuple[int, ...]
    images: tuple[np.ndarray, ...]
    conv: tuple[np.ndarray, ...]
    pooled: tuple[np.ndarray, ...]
    conv_changed: tuple[int, ...]  # cells that differ from shift 0
    pool_changed: tuple[int, ...]
    conv_kept: tuple[float, ...]  # share of shift 0's firing cells (value > 0) still firing
    pool_kept: tuple[float, ...]

    @property
    def conv_changed_share(self) -> tuple[float, ...]:
        """Per shift, the share of the edge map's cells that differ from shift 0 (maps of any size compare)."""
        return tuple(n / self.conv[0].size for n in self.conv_changed)

    @property
    def pool_changed_share(self) -> tuple[float, ...]:
        """Per shift, the share of the pooled map's cells that differ from shift 0."""
        return tuple(n / self.pooled[0].size for n in self.pool_changed)


def _cells(n: int, total: int) -> str:
    return f"{n} of {total} ({n / total:.0%})"


def shift_summary(result: ShiftResult, shift: int) -> str:
    """What the shift did to both maps, in numbers, for the page (Markdown, no user text)."""
    if shift not in result.shifts:
        raise ConvConfigError(f"shift must be one of {list(result.shifts)} (got {shift})", "shift")
    conv_total, pool_total = result.conv[0].size, result.pooled[0].size
    if shift == 0:
        return (
            f"At shift 0 nothing has moved yet: the edge map has {conv_total} cells and the pooled map "
            f"{pool_total}. Move the slider to shift the edge."
        )
    conv_n, pool_n = result.conv_changed[shift], result.pool_changed[shift]
    conv_kept, pool_kept = result.conv_kept[shift], result.pool_kept[shift]
    text = (
        f"At shift {shift}: **{_cells(conv_n, conv_total)}** cells of the edge map changed and "
        f"**{_cells(pool_n, pool_total)}** of the pooled map. "
        "Convolution is **equivariant**: the edge map shifts with the input, so "
        f"{conv_kept:.0%} of the cells that fired at shift 0 still fire. "
        "Max pooling is **approximately invariant**: a pooled cell keeps firing while the edge stays inside "
        f"its window; here {pool_kept:.0%} of the pooled cells that fired at shift 0 still fire"
    )
    if pool_n == 0:
        return text + ", and the pooled map does not change at all."
    if pool_kept == 0:
        return (
            text
            + ": this shift moved the edge out of every window that held it (shift less, or widen the pool)."
        )
    return text + "."


def _kept(base: np.ndarray, other: np.ndarray) -> float:
    on = base > 0
    return float((other[on] > 0).mean()) if on.any() else 1.0


def shift_invariance(
    shift_max: int = 3, pool_kernel: int = 2, pool_stride: int = 1, height: int = 4
) -> ShiftResult:
    """Shift the lecture's edge by 0..shift_max pixels; convolve with [[1, -1]]; max pool.

    The image is 5 + shift_max columns wide so every shift keeps the edge inside it. Counts compare
    every stage with shift 0: the convolution moves with the edge (equivariance) so its changed cells
    grow with the shift, while max pooling keeps reporting the edge in the cells whose window still
    holds it (approximate invariance).
    """
    if not 0 <= shift_max <= 8:
        raise ConvConfigError(f"shift_max must be from 0 to 8 (got {shift_max})", "shift")
    width = 5 + shift_max
    shifts = tuple(range(shift_max + 1))
    images = tuple(lecture_edge_image(s, width, height) for s in shifts)
    conv = tuple(conv2d(x[None, None], EDGE_KERNEL[None, None])[0, 0] for x in images)
    pooled = tuple(max_pool2d(y[None], pool_kernel, pool_stride)[0] for y in conv)
    return ShiftResult(
        shifts,
        images,
        conv,
        pooled,
        tuple(int((c != conv[0]).sum()) for c in conv),
        tuple(int((p != pooled[0]).sum()) for p in pooled),
        tuple(_kept(conv[0], c) for c in conv),
        tuple(_kept(pooled[0], p) for p in pooled),
    )


# --------------------------------------------------------------------------------------------------
# Upsampling
# --------------------------------------------------------------------------------------------------


def _source_index(out_size: int, in_size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Left neighbour, right neighbour and right weight per output cell (align_corners=False)."""
    src = (np.arange(out_size) + 0.5) * (in_size / out_size) - 0.5
    src = np.maximum(src, 0.0)
    i0 = np.minimum(np.floor(src).astype(int), in_size - 1)
    i1 = np.minimum(i0 + 1, in_size - 1)
    return i0, i1, src - i0


def bilinear_upsample(x: object, size: tuple[int, int]) -> np.ndarray:
    """Bilinear resize of a 2D grid to `size`, as `F.interpolate(mode='bilinear', align_corners=False)`."""
    a = _grid(x)
    r0, r1, wr = _source_index(size[0], a.shape[0])
    c0, c1, wc = _source_index(size[1], a.shape[1])
    top = a[r0][:, c0] * (1 - wc) + a[r0][:, c1] * wc
    bottom = a[r1][:, c0] * (1 - wc) + a[r1][:, c1] * wc
    return top * (1 - wr)[:, None] + bottom * wr[:, None]


def max_unpool2d(values: object, indices: object, output_size: tuple[int, int]) -> np.ndarray:
    """Put each value back at its stored flat index in a zero grid of `output_size` (`F.max_unpool2d`)."""
    v = _grid(values, "values")
    idx = np.asarray(indices, dtype=np.int64)
    out = np.zeros(output_size[0] * output_size[1])
    out[idx.ravel()] = v.ravel()
    return out.reshape(output_size)


@dataclass(frozen=True)
class UpsampleResult:
    """A source grid, its 2x2 max pooling (the small map), and four ways back up."""

    source: np.ndarray
    small: np.ndarray
    indices: np.ndarray
    kernel: np.ndarray
    methods: dict[str, np.ndarray]  # name -> upsampled grid, in display order

    def sizes(self) -> dict[str, tuple[int, int]]:
        return {name: tuple(int(n) for n in grid.shape) for name, grid in self.methods.items()}  # type: ignore[misc]


def upsample_compare(source: object, kernel: object | None = None, factor: int = 2) -> UpsampleResult:
    """Max pool `source` by `factor`, then upsample the small map back four ways.

    nearest repeats each cell; max-unpool puts each maximum back where it came from (zeros elsewhere);
    bilinear interpolates; the transposed convolution (stride = factor) paints a copy of `kernel`
    scaled by each cell and adds up overlaps, so its size depends on the kernel.
    """
    a = _grid(source, "source")
    if factor < 1:
        raise ConvConfigError(f"upsampling factor must be at least 1 (got {factor})", "factor")
    k = np.ones((factor, factor)) if kernel is None else _grid(kernel, "kernel")
    small, indices = max_pool2d(a[None], factor, return_indices=True)
    small, indices = small[0], indices[0]
    h, w = small.shape
    methods = {
        "nearest": np.repeat(np.repeat(small, factor, axis=0), factor, axis=1),
        "max-unpool": max_unpool2d(small, indices, a.shape),
        "bilinear": bilinear_upsample(small, (h * factor, w * factor)),
        "transposed conv": conv_transpose2d(small[None, None], k[None, None], stride=factor)[0, 0],
    }
    return UpsampleResult(a, small, indices, k, methods)
