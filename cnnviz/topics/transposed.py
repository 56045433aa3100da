"""Transposed convolution three ways: scatter, zeros inserted then a direct convolution, and C^T.

For one (H, W) input and one (k, k) kernel (PyTorch's conv_transpose2d with one channel each way):

* scatter: each input cell adds value x kernel into the output, taps `dilation` apart, stamps `stride`
  apart; the uncropped sum is then cropped by `padding` on each side (output_padding extends the end);
* gaps: the same numbers from a plain stride-1 convolution: put stride-1 zeros between input cells,
  pad d(k-1)-p zeros on each side (a negative amount crops), add output_padding zeros at the end, and
  correlate with the kernel flipped in both axes (dilation d);
* matrix: if C is the matrix of the forward convolution (same kernel, stride, padding, dilation) from
  the transposed output's size back to the input's, the transposed convolution is C^T.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cnnviz.conv.args import as_int
from cnnviz.conv.formulas import Explanation, explain_conv_transpose_output_size
from cnnviz.conv.matrix import conv_matrix
from cnnviz.conv.ops import conv2d, conv_transpose2d
from cnnviz.conv.shapes import conv_transpose_output_shape
from cnnviz.errors import ConvConfigError

__all__ = [
    "CELL_INPUT",
    "CELL_INSERTED",
    "CELL_OUTPUT_PADDING",
    "CELL_PADDING",
    "GapsView",
    "MatrixView",
    "TransposedView",
    "gaps_view",
    "matrix_view",
    "partial_sums",
    "stamp",
    "transposed_view",
]

# What each cell of the gaps view holds.
CELL_INPUT, CELL_INSERTED, CELL_PADDING, CELL_OUTPUT_PADDING = 0, 1, 2, 3


@dataclass(frozen=True)
class TransposedView:
    """One transposed convolution and its arithmetic: input (H, W), kernel (k, k) -> output (Ho, Wo)."""

    input: np.ndarray
    kernel: np.ndarray
    stride: int
    padding: int
    output_padding: int
    dilation: int
    output: np.ndarray
    explanations: tuple[Explanation, Explanation]  # height, width

    @property
    def canvas_shape(self) -> tuple[int, int]:
        """The uncropped output, output_padding included: (n-1)s + d(k-1) + 1 + output_padding per axis."""
        return (self.output.shape[0] + 2 * self.padding, self.output.shape[1] + 2 * self.padding)

    @property
    def crop(self) -> tuple[int, int, int, int]:
        """(top, left, bottom, right) of the output inside the canvas, inclusive."""
        ho, wo = self.output.shape
        p = self.padding
        return p, p, p + ho - 1, p + wo - 1


def transposed_view(
    x: np.ndarray,
    kernel: np.ndarray,
    stride: int = 1,
    padding: int = 0,
    output_padding: int = 0,
    dilation: int = 1,
) -> TransposedView:
    """Validate (as PyTorch does) and compute conv_transpose2d of one (H, W) input with one (k, k) kernel."""
    x = np.asarray(x, dtype=np.float64)
    kernel = np.asarray(kernel, dtype=np.float64)
    if x.ndim != 2 or kernel.ndim != 2 or kernel.shape[0] != kernel.shape[1]:
        raise ConvConfigError(
            f"input must be a 2D grid and kernel a square one (got {x.shape} and {kernel.shape})", "kernel"
        )
    s, p, op, d = (
        as_int(v, n)
        for v, n in (
            (stride, "stride"),
            (padding, "padding"),
            (output_padding, "output_padding"),
            (dilation, "dilation"),
        )
    )
    conv_transpose_output_shape(x.shape, 2, kernel.shape, s, p, op, d)  # readable errors first
    y = conv_transpose2d(x[None], kernel[None, None], None, s, p, op, 1, d)[0]
    explanations = (
        explain_conv_transpose_output_size(x.shape[0], kernel.shape[0], s, p, op, d, symbol="H"),
        explain_conv_transpose_output_size(x.shape[1], kernel.shape[1], s, p, op, d, symbol="W"),
    )
    return TransposedView(x, kernel, s, p, op, d, y, explanations)


def stamp(view: TransposedView, row: int, col: int) -> np.ndarray:
    """(canvas) array holding input[row, col] x kernel where that cell scatters it, zero elsewhere."""
    canvas = np.zeros(view.canvas_shape)
    kh, kw = view.kernel.shape
    s, d = view.stride, view.dilation
    rows = slice(row * s, row * s + (kh - 1) * d + 1, d)
    cols = slice(col * s, col * s + (kw - 1) * d + 1, d)
    canvas[rows, cols] = view.input[row, col] * view.kernel
    return canvas


def partial_sums(view: TransposedView) -> np.ndarray:
    """(H*W + 1, *canvas) running sums of the stamps in row-major order: [0] is empty, [-1] complete."""
    h, w = view.input.shape
    sums = np.zeros((h * w + 1, *view.canvas_shape))
    for n in range(h * w):
        sums[n + 1] = sums[n] + stamp(view, *divmod(n, w))
    return sums


@dataclass(frozen=True)
class GapsView:
    """The direct convolution equal to the transposed one: gapped, padded input and flipped kernel."""

    gapped: np.ndarray  # zeros between input cells, border padding (or cropping), output_padding at the end
    kinds: np.ndarray  # same shape, CELL_* codes
    flipped: np.ndarray  # the kernel flipped in both axes
    border: int  # d(k-1) - p zeros on each side (negative: cells cropped)
    output: np.ndarray  # conv2d(gapped, flipped, dilation=d), equal to the transposed convolution


def _axis_layout(n: int, s: int, border: int, op: int) -> tuple[np.ndarray, np.ndarray]:
    """Per axis: the index of the input cell each gapped position holds (-1: a zero) and its CELL_* kind."""
    base = (n - 1) * s + 1
    length = base + 2 * border + op
    t = np.arange(length) - border  # position in the zero-inserted input
    inside = (t >= 0) & (t < base)
    source = np.where(inside & (t % s == 0), t // s, -1)
    kind = np.where(inside, np.where(t % s == 0, CELL_INPUT, CELL_INSERTED), CELL_PADDING)
    kind = np.where(
        ~inside & (t >= base) & (np.arange(length) >= base + 2 * border), CELL_OUTPUT_PADDING, kind
    )
    return source, kind


def gaps_view(view: TransposedView) -> GapsView:
    """Insert stride-1 zeros, pad d(k-1)-p per side (+ output_padding at the end), flip the kernel, convolve."""
    k = view.kernel.shape[0]
    border = view.dilation * (k - 1) - view.padding
    rows, row_kind = _axis_layout(view.input.shape[0], view.stride, border, view.output_padding)
    cols, col_kind = _axis_layout(view.input.shape[1], view.stride, border, view.output_padding)
    gapped = np.zeros((rows.size, cols.size))
    hit = (rows[:, None] >= 0) & (cols[None, :] >= 0)
    gapped[hit] = view.input[
        np.broadcast_to(rows[:, None], hit.shape)[hit], np.broadcast_to(cols[None, :], hit.shape)[hit]
    ]
    r, c = row_kind[:, None], col_kind[None, :]
    kinds = np.full(gapped.shape, CELL_INSERTED)
    kinds[(r == CELL_INPUT) & (c == CELL_INPUT)] = CELL_INPUT
    kinds[(r == CELL_PADDING) | (c == CELL_PADDING)] = CELL_PADDING
    kinds[(r == CELL_OUTPUT_PADDING) | (c == CELL_OUTPUT_PADDING)] = CELL_OUTPUT_PADDING
    flipped = view.kernel[::-1, ::-1].copy()
    output = conv2d(gapped[None], flipped[None, None], None, 1, 0, view.dilation)[0]
    return GapsView(gapped, kinds, flipped, border, output)


@dataclass(frozen=True)
class MatrixView:
    """C (forward conv, output size -> input size) and C^T applied to the flattened input."""

    matrix: np.ndarray  # C: (H*W, Ho*Wo)
    product: np.ndarray  # C^T @ input.ravel(), reshaped to (Ho, Wo)
    matches: bool  # product equals the transposed convolution
    extra_rows: tuple[int, int]  # forward-conv outputs past the input's size (output_padding >= stride)


def matrix_view(view: TransposedView) -> MatrixView:
    """Build the forward convolution's matrix on an input of the transposed output's size, and apply C^T.

    With output_padding < stride the forward conv maps (Ho, Wo) back to exactly (H, W). When
    output_padding >= stride (allowed if smaller than the dilation) it yields extra rows or columns at the
    end; they meet no input cell, so C keeps only the rows of the (H, W) positions.
    """
    ho, wo = view.output.shape
    h, w = view.input.shape
    full = conv_matrix((1, ho, wo), view.kernel[None, None], view.stride, view.padding, view.dilation)
    fh = view.output_padding // view.stride + h
    fw = view.output_padding // view.stride + w
    keep = (np.arange(fh)[:, None] < h) & (np.arange(fw)[None, :] < w)
    matrix = full[keep.ravel()]
    product = (matrix.T @ view.input.ravel()).reshape(ho, wo)
    matches = bool(np.allclose(product, view.output, rtol=1e-12, atol=1e-9))
    return MatrixView(matrix, product, matches, (fh - h, fw - w))
