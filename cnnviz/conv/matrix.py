"""Convolution as a matrix: the dense weight matrix equal to a given convolution on a small input.

Lecture 001 draws a convolution as a banded matrix with shared weights next to the dense matrix of a
fully connected layer. `conv_matrix` builds that banded matrix for any conv1d/conv2d (stride, padding,
padding mode, dilation, groups): column j is the convolution of the j-th unit input, so the matrix is
the convolution by construction. Its transpose is the transposed convolution (zero padding).
"""

from __future__ import annotations

import math

import numpy as np

from cnnviz.conv.args import IntOrTuple, Padding
from cnnviz.conv.ops import conv1d, conv2d
from cnnviz.errors import ConvConfigError

__all__ = ["conv_matrix", "MAX_MATRIX_ENTRIES"]

MAX_MATRIX_ENTRIES = 4_000_000  # 32x32 in and out is ~1M; beyond this a drawing is unreadable anyway


def conv_matrix(
    input_shape: tuple[int, ...],
    weight: np.ndarray,
    stride: IntOrTuple = 1,
    padding: Padding = 0,
    dilation: IntOrTuple = 1,
    groups: int = 1,
    padding_mode: str = "zeros",
) -> np.ndarray:
    """Matrix M with M @ x.ravel() == conv(x).ravel() for every x of shape `input_shape` = (C_in, *spatial).

    Shape (C_out * prod(out), C_in * prod(in)); bias is left out (it is not linear in x).
    """
    w = np.asarray(weight, dtype=np.float64)
    ndim = w.ndim - 2
    if ndim not in (1, 2) or len(input_shape) != ndim + 1:
        raise ConvConfigError(
            f"input_shape must be (C_in, L) for a 1D weight or (C_in, H, W) for a 2D weight; "
            f"got input_shape {tuple(input_shape)} and weight {w.shape}",
            "input_shape",
        )
    n_in = math.prod(input_shape)
    conv = conv1d if ndim == 1 else conv2d
    # Validate and size the output on one probe before allocating n_in unit inputs.
    probe = conv(np.zeros((1, *input_shape)), w, None, stride, padding, dilation, groups, padding_mode)
    n_out = probe[0].size
    if n_in * n_out > MAX_MATRIX_ENTRIES:
        raise ConvConfigError(
            f"the matrix would have {n_out} x {n_in} = {n_out * n_in:,} entries; use a smaller input "
            f"(at most {MAX_MATRIX_ENTRIES:,} entries can be drawn)",
            "input_shape",
        )
    basis = np.eye(n_in).reshape(n_in, *input_shape)  # one unit input per column
    columns = conv(basis, w, None, stride, padding, dilation, groups, padding_mode)
    return columns.reshape(n_in, n_out).T
