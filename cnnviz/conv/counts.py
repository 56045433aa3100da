"""Parameter and multiply-accumulate (MAC) counts of single layers, in closed form.

Conventions (the ones a lecture writes on the board):
- conv params  = C_out * (C_in / groups) * prod(k) + (C_out if bias)
- conv MACs    = N * C_out * prod(out) * (C_in / groups) * prod(k)       (bias adds are not MACs)
- transposed conv MACs = N * C_in * prod(in) * (C_out / groups) * prod(k) (each input cell scatters)
- linear MACs  = N * in_features * out_features
- pooling: no parameters; `pool_ops` counts one comparison/addition per window cell read.

A kernel_size is an int (one axis, as for Conv1d) or one value per axis. Where a size is given too, an
int on either side stands for every axis of the other, as PyTorch reads kernel_size=3 on Conv2d.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from cnnviz.conv.args import IntOrTuple, as_int, expand
from cnnviz.errors import ConvConfigError

__all__ = [
    "conv_params",
    "conv_macs",
    "conv_transpose_params",
    "conv_transpose_macs",
    "linear_params",
    "linear_macs",
    "pool_ops",
    "dense_equivalent_params",
]


def _prod(value: IntOrTuple | Sequence[int], name: str) -> int:
    values = value if isinstance(value, (tuple, list)) else (value,)
    ints = [as_int(v, name) for v in values]
    if any(v < 1 for v in ints):
        raise ConvConfigError(f"{name} must be at least 1 (got {tuple(ints)})", name)
    return math.prod(ints)


def _kernel_and_size(kernel_size: IntOrTuple, size: IntOrTuple, size_name: str) -> tuple[int, int]:
    """prod(kernel_size) and prod(size), an int standing for every axis of the other (as PyTorch reads
    kernel_size=3 on a 2D layer as 3x3); two tuples must have one value per axis each."""
    ndim = max(len(v) if isinstance(v, (tuple, list)) else 1 for v in (kernel_size, size))
    return (
        _prod(expand(kernel_size, ndim, "kernel_size"), "kernel_size"),
        _prod(expand(size, ndim, size_name), size_name),
    )


def _group_channels(in_channels: int, out_channels: int, groups: int) -> tuple[int, int, int]:
    cin, cout, g = (
        as_int(in_channels, "in_channels"),
        as_int(out_channels, "out_channels"),
        as_int(groups, "groups"),
    )
    if cin < 1 or cout < 1:
        raise ConvConfigError(
            f"channels must be at least 1 (got in_channels={cin}, out_channels={cout})", "in_channels"
        )
    if g < 1:
        raise ConvConfigError(f"groups must be at least 1 (got {g})", "groups")
    if cin % g:
        raise ConvConfigError(
            f"in_channels ({cin}) must be divisible by groups ({g}): each group reads in_channels/groups "
            f"channels; try groups in {[d for d in range(1, cin + 1) if cin % d == 0 and cout % d == 0]}",
            "groups",
        )
    if cout % g:
        raise ConvConfigError(
            f"out_channels ({cout}) must be divisible by groups ({g}): each group makes "
            f"out_channels/groups channels; try groups in "
            f"{[d for d in range(1, cin + 1) if cin % d == 0 and cout % d == 0]}",
            "groups",
        )
    return cin, cout, g


def conv_params(
    in_channels: int, out_channels: int, kernel_size: IntOrTuple, groups: int = 1, bias: bool = True
) -> int:
    """Learnable parameters of a ConvNd: weight (C_out, C_in/groups, *k) plus bias (C_out,)."""
    cin, cout, g = _group_channels(in_channels, out_channels, groups)
    return cout * (cin // g) * _prod(kernel_size, "kernel_size") + (cout if bias else 0)


def conv_macs(
    in_channels: int,
    out_channels: int,
    kernel_size: IntOrTuple,
    output_size: IntOrTuple,
    groups: int = 1,
    batch: int = 1,
) -> int:
    """Multiply-accumulates of a ConvNd: one per weight tap per output cell.

    An int kernel_size or output_size stands for every axis of the other: (3, (64, 64)) is a 3x3 kernel.
    """
    cin, cout, g = _group_channels(in_channels, out_channels, groups)
    k, out = _kernel_and_size(kernel_size, output_size, "output_size")
    return _prod(batch, "batch") * cout * out * (cin // g) * k


def conv_transpose_params(
    in_channels: int, out_channels: int, kernel_size: IntOrTuple, groups: int = 1, bias: bool = True
) -> int:
    """Parameters of a ConvTransposeNd: weight (C_in, C_out/groups, *k) plus bias (C_out,)."""
    cin, cout, g = _group_channels(in_channels, out_channels, groups)
    return cin * (cout // g) * _prod(kernel_size, "kernel_size") + (cout if bias else 0)


def conv_transpose_macs(
    in_channels: int,
    out_channels: int,
    kernel_size: IntOrTuple,
    input_size: IntOrTuple,
    groups: int = 1,
    batch: int = 1,
) -> int:
    """Multiply-accumulates of a ConvTransposeNd: every input cell meets every tap of its group.

    An int kernel_size or input_size stands for every axis of the other, as in `conv_macs`.
    """
    cin, cout, g = _group_channels(in_channels, out_channels, groups)
    k, n_in = _kernel_and_size(kernel_size, input_size, "input_size")
    return _prod(batch, "batch") * cin * n_in * (cout // g) * k


def linear_params(in_features: int, out_features: int, bias: bool = True) -> int:
    """Parameters of nn.Linear: weight (out, in) plus bias (out,)."""
    fin, fout = _prod(in_features, "in_features"), _prod(out_features, "out_features")
    return fin * fout + (fout if bias else 0)


def linear_macs(in_features: int, out_features: int, batch: int = 1) -> int:
    """Multiply-accumulates of nn.Linear on `batch` rows."""
    return _prod(batch, "batch") * _prod(in_features, "in_features") * _prod(out_features, "out_features")


def pool_ops(channels: int, kernel_size: IntOrTuple, output_size: IntOrTuple, batch: int = 1) -> int:
    """Window cells a max/avg pooling reads: one comparison or addition each (pooling has no params).

    An int kernel_size or output_size stands for every axis of the other, as in `conv_macs`.
    """
    k, out = _kernel_and_size(kernel_size, output_size, "output_size")
    return _prod(batch, "batch") * _prod(channels, "channels") * out * k


def dense_equivalent_params(
    in_channels: int, input_size: IntOrTuple, out_channels: int, output_size: IntOrTuple, bias: bool = True
) -> int:
    """Parameters of the fully connected layer with the same input and output sizes as a conv.

    This is lecture 001's comparison: a dense layer has one weight per (output cell, input cell) pair.
    """
    fin = _prod(in_channels, "in_channels") * _prod(input_size, "input_size")
    fout = _prod(out_channels, "out_channels") * _prod(output_size, "output_size")
    return linear_params(fin, fout, bias)
