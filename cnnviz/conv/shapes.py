"""Output sizes of convolution, transposed convolution and pooling, and the solvers teachers ask for.

Every function follows PyTorch's rules and raises `ConvConfigError` exactly where PyTorch refuses a
configuration, with a message that names the argument and says how to fix it. Per axis:

    conv:            o = floor((i + p_before + p_after - d(k-1) - 1) / s) + 1
    transposed conv: o = (i-1)s - 2p + d(k-1) + output_padding + 1,   output_padding < max(s, d)
    pooling:         as conv (ceil instead of floor with ceil_mode, but the last window must start
                     inside the input or the left padding), padding at most half the kernel.
"""

from __future__ import annotations

from collections.abc import Sequence

from cnnviz.conv.args import (
    ConvGeometry,
    IntOrTuple,
    Padding,
    as_int,
    axis_names,
    expand,
    resolve_geometry,
)
from cnnviz.errors import ConvConfigError

__all__ = [
    "conv_output_size",
    "conv_transpose_output_size",
    "pool_output_size",
    "conv1d_output_size",
    "conv2d_output_size",
    "conv_transpose2d_output_size",
    "pool2d_output_size",
    "conv_geometry_output",
    "conv_transpose_output_shape",
    "pool_output_shape",
    "unread_cells",
    "window_centres",
    "padding_for_output_size",
    "transpose_padding_for_output_size",
    "output_padding_to_invert",
    "inputs_with_same_output",
]


# --------------------------------------------------------------------------------------------------
# Per-axis building blocks (pure integer arithmetic on resolved numbers)
# --------------------------------------------------------------------------------------------------


def _check_input(n: int, axis: str, ndim: int) -> int:
    n = as_int(n, "input size")
    if n < 1:
        where = f" ({axis})" if ndim > 1 else ""
        raise ConvConfigError(f"input size{where} must be at least 1 (got {n})", "input size")
    return n


def _conv_axis(n: int, k: int, s: int, before: int, after: int, d: int, axis: str, ndim: int) -> int:
    padded = n + before + after
    span = d * (k - 1) + 1
    if padded < span:
        where = f" along the {axis}" if ndim > 1 else ""
        short = span - padded
        dil = f" with dilation {d}" if d > 1 else ""
        raise ConvConfigError(
            f"kernel {k}{dil} spans {span} cells but the padded input{where} has only {padded} "
            f"({n} + {before} + {after}): lower the kernel size"
            f"{' or dilation' if d > 1 else ''}, or pad by {short} more in total "
            f"(e.g. padding {max(before, after) + (short + 1) // 2} on each side)",
            "kernel_size",
        )
    return (padded - span) // s + 1


def conv_geometry_output(input_size: Sequence[int], geometry: ConvGeometry) -> tuple[int, ...]:
    """Output size per axis of a convolution with an already resolved geometry."""
    ndim = geometry.ndim
    names = axis_names(ndim)
    if len(input_size) != ndim:
        raise ConvConfigError(
            f"input needs {ndim} spatial size(s) ({', '.join(names)}), got {tuple(input_size)!r}", "input"
        )
    out = []
    for n, k, s, (b, a), d, axis in zip(
        input_size,
        geometry.kernel_size,
        geometry.stride,
        geometry.padding,
        geometry.dilation,
        names,
        strict=False,
    ):
        out.append(_conv_axis(_check_input(n, axis, ndim), k, s, b, a, d, axis, ndim))
    return tuple(out)


def unread_cells(n: int, kernel_size: int, stride: int = 1, padding: Padding = 0, dilation: int = 1) -> int:
    """Input cells (not padding) at the end of an axis that no window reads, because of the stride."""
    geometry = resolve_geometry(1, kernel_size, stride, padding, dilation)
    o = conv_geometry_output((n,), geometry)[0]
    s, span = geometry.stride[0], geometry.span[0]
    b, a = geometry.padding[0]
    last_read = (o - 1) * s + span - 1  # padded coordinates
    unread_padded = n + b + a - 1 - last_read
    # The last window may end inside the left padding: then every input cell is unread, but no more.
    return min(n, max(0, unread_padded - a))


def window_centres(
    n: int, kernel_size: int, stride: int = 1, padding: Padding = 0, dilation: int = 1
) -> list[float]:
    """Where each output of a 1D convolution over `n` inputs sits, in input positions: its window's centre.

    Output i reads inputs i*s - p_before + j*d for taps j = 0..k-1, so its centre is
    i*s - p_before + d(k-1)/2 ('same' puts the odd cell after, as PyTorch does: p_before is the smaller).
    """
    geometry = resolve_geometry(1, kernel_size, stride, padding, dilation)
    o = conv_geometry_output((n,), geometry)[0]
    (before, _), s, span = geometry.padding[0], geometry.stride[0], geometry.span[0]
    return [i * s - before + (span - 1) / 2 for i in range(o)]


# --------------------------------------------------------------------------------------------------
# Convolution
# --------------------------------------------------------------------------------------------------


def conv_output_size(
    n: int, kernel_size: int, stride: int = 1, padding: Padding = 0, dilation: int = 1
) -> int:
    """Output length of a 1D convolution (or one axis of an N-d one), as PyTorch computes it.

    `padding` is an int, a (before, after) pair, 'same' or 'valid'.
    """
    geometry = resolve_geometry(1, kernel_size, stride, padding, dilation)
    return conv_geometry_output((n,), geometry)[0]


def conv1d_output_size(
    n: int, kernel_size: int, stride: int = 1, padding: Padding = 0, dilation: int = 1
) -> int:
    """Alias of `conv_output_size`, named like `torch.nn.Conv1d`."""
    return conv_output_size(n, kernel_size, stride, padding, dilation)


def conv2d_output_size(
    size: IntOrTuple,
    kernel_size: IntOrTuple,
    stride: IntOrTuple = 1,
    padding: Padding = 0,
    dilation: IntOrTuple = 1,
) -> tuple[int, int]:
    """(H_out, W_out) of a 2D convolution; every argument is an int or an (h, w) pair.

    Padding may also be ((top, bottom), (left, right)), 'same' or 'valid'.
    """
    geometry = resolve_geometry(2, kernel_size, stride, padding, dilation)
    h, w = conv_geometry_output(expand(size, 2, "input size"), geometry)
    return h, w


# --------------------------------------------------------------------------------------------------
# Transposed convolution
# --------------------------------------------------------------------------------------------------


def _transpose_axis(n: int, k: int, s: int, p: int, op: int, d: int, axis: str, ndim: int) -> int:
    where = f" ({axis})" if ndim > 1 else ""
    if op < 0:
        raise ConvConfigError(f"output_padding{where} must be 0 or more (got {op})", "output_padding")
    if op >= max(s, d):
        raise ConvConfigError(
            f"output_padding{where} must be smaller than the stride or the dilation "
            f"(got output_padding {op} with stride {s} and dilation {d}): it only picks one of the "
            f"{max(s, d)} input sizes that a stride-{s} convolution maps to the same output, so use "
            f"0..{max(s, d) - 1}",
            "output_padding",
        )
    o = (n - 1) * s - 2 * p + d * (k - 1) + op + 1
    if o < 1:
        full = (n - 1) * s + d * (k - 1) + op + 1
        raise ConvConfigError(
            f"padding {p}{where} crops {2 * p} cells from a transposed-convolution output of only "
            f"{full}, leaving {o}: use padding at most {(full - 1) // 2}",
            "padding",
        )
    return o


def conv_transpose_output_shape(
    input_size: Sequence[int],
    ndim: int,
    kernel_size: IntOrTuple,
    stride: IntOrTuple,
    padding: IntOrTuple,
    output_padding: IntOrTuple,
    dilation: IntOrTuple,
) -> tuple[int, ...]:
    """Output size per axis of an N-d transposed convolution (input_size: spatial sizes only)."""
    if isinstance(padding, str):
        raise ConvConfigError(
            f"transposed convolution takes numeric padding only (got {padding!r}); PyTorch has no "
            "'same' or 'valid' here",
            "padding",
        )
    geometry = resolve_geometry(ndim, kernel_size, stride, 0, dilation)
    pads = expand(padding, ndim, "padding")
    ops = expand(output_padding, ndim, "output_padding")
    names = axis_names(ndim)
    out = []
    for n, k, s, p, op, d, axis in zip(
        input_size, geometry.kernel_size, geometry.stride, pads, ops, geometry.dilation, names, strict=False
    ):
        if p < 0:
            where = f" ({axis})" if ndim > 1 else ""
            raise ConvConfigError(f"padding{where} must be 0 or more (got {p})", "padding")
        out.append(_transpose_axis(_check_input(n, axis, ndim), k, s, p, op, d, axis, ndim))
    return tuple(out)


def conv_transpose_output_size(
    n: int,
    kernel_size: int,
    stride: int = 1,
    padding: int = 0,
    output_padding: int = 0,
    dilation: int = 1,
) -> int:
    """Output length of a 1D transposed convolution: (n-1)s - 2p + d(k-1) + output_padding + 1."""
    return conv_transpose_output_shape((n,), 1, kernel_size, stride, padding, output_padding, dilation)[0]


def conv_transpose2d_output_size(
    size: IntOrTuple,
    kernel_size: IntOrTuple,
    stride: IntOrTuple = 1,
    padding: IntOrTuple = 0,
    output_padding: IntOrTuple = 0,
    dilation: IntOrTuple = 1,
) -> tuple[int, int]:
    """(H_out, W_out) of a 2D transposed convolution; each argument an int or an (h, w) pair."""
    h, w = conv_transpose_output_shape(
        expand(size, 2, "input size"), 2, kernel_size, stride, padding, output_padding, dilation
    )
    return h, w


# --------------------------------------------------------------------------------------------------
# Pooling
# --------------------------------------------------------------------------------------------------


def _pool_axis(n: int, k: int, s: int, p: int, d: int, ceil_mode: bool, axis: str, ndim: int) -> int:
    where = f" ({axis})" if ndim > 1 else ""
    if p < 0:
        raise ConvConfigError(f"padding{where} must be 0 or more (got {p})", "padding")
    if p > k // 2:
        raise ConvConfigError(
            f"pooling padding{where} must be at most half the kernel size (kernel {k} allows "
            f"padding up to {k // 2}, got {p}): otherwise a window could hold only padding",
            "padding",
        )
    span = d * (k - 1) + 1
    numerator = n + 2 * p - span + ((s - 1) if ceil_mode else 0)
    o = numerator // s + 1  # floor division, as PyTorch's div_rtn
    if ceil_mode and (o - 1) * s >= n + p:
        # PyTorch: the last window must start inside the input or the left padding.
        o -= 1
    if o < 1:
        dil = f" with dilation {d}" if d > 1 else ""
        raise ConvConfigError(
            f"pooling window {k}{dil} spans {span} cells but the padded input{where} has only "
            f"{n + 2 * p}: use a smaller kernel_size{' or dilation' if d > 1 else ''}, or a larger input",
            "kernel_size",
        )
    return o


def pool_output_shape(
    input_size: Sequence[int],
    ndim: int,
    kernel_size: IntOrTuple,
    stride: IntOrTuple | None,
    padding: IntOrTuple,
    dilation: IntOrTuple,
    ceil_mode: bool,
) -> tuple[int, ...]:
    """Output size per axis of N-d max/avg pooling (input_size: spatial sizes only)."""
    if isinstance(padding, str):
        raise ConvConfigError(
            f"pooling takes numeric padding only (got {padding!r}); PyTorch pooling has no 'same' or 'valid'",
            "padding",
        )
    geometry = resolve_geometry(ndim, kernel_size, stride, 0, dilation)
    pads = expand(padding, ndim, "padding")
    names = axis_names(ndim)
    return tuple(
        _pool_axis(_check_input(n, axis, ndim), k, s, p, d, bool(ceil_mode), axis, ndim)
        for n, k, s, p, d, axis in zip(
            input_size, geometry.kernel_size, geometry.stride, pads, geometry.dilation, names, strict=False
        )
    )


def pool_output_size(
    n: int,
    kernel_size: int,
    stride: int | None = None,
    padding: int = 0,
    dilation: int = 1,
    ceil_mode: bool = False,
) -> int:
    """Output length of 1D max/avg pooling; stride defaults to the kernel size, as in PyTorch."""
    return pool_output_shape((n,), 1, kernel_size, stride, padding, dilation, ceil_mode)[0]


def pool2d_output_size(
    size: IntOrTuple,
    kernel_size: IntOrTuple,
    stride: IntOrTuple | None = None,
    padding: IntOrTuple = 0,
    dilation: IntOrTuple = 1,
    ceil_mode: bool = False,
) -> tuple[int, int]:
    """(H_out, W_out) of 2D max/avg pooling."""
    h, w = pool_output_shape(
        expand(size, 2, "input size"), 2, kernel_size, stride, padding, dilation, ceil_mode
    )
    return h, w


# --------------------------------------------------------------------------------------------------
# Solvers
# --------------------------------------------------------------------------------------------------


def padding_for_output_size(
    n: int, target: int, kernel_size: int, stride: int = 1, dilation: int = 1
) -> tuple[int, int]:
    """The smallest (before, after) zero padding that makes a convolution output `target` cells.

    The total is split as PyTorch splits 'same' (odd cell after), so (p, p) when it can be symmetric.
    """
    geometry = resolve_geometry(1, kernel_size, stride, 0, dilation)
    n = _check_input(n, "length", 1)
    target = as_int(target, "target size")
    if target < 1:
        raise ConvConfigError(f"target size must be at least 1 (got {target})", "target size")
    s, span = geometry.stride[0], geometry.span[0]
    # o = floor((n + P - span)/s) + 1 == target  <=>  (target-1)s <= n + P - span <= (target-1)s + s-1
    lowest = (target - 1) * s + span - n
    highest = lowest + s - 1
    if highest < 0:
        largest = (n - span) // s + 1
        raise ConvConfigError(
            f"even with no padding the output has {largest} cells, more than the target size {target}: "
            "raise the stride or the kernel size (padding can only grow the output)",
            "target size",
        )
    total = max(0, lowest)
    # Prefer an even total inside the allowed range, so the padding can be symmetric.
    if total % 2 and total + 1 <= highest:
        total += 1
    return total // 2, total - total // 2


def transpose_padding_for_output_size(
    n: int, target: int, kernel_size: int, stride: int = 1, dilation: int = 1
) -> tuple[int, int]:
    """(padding, output_padding) giving a transposed-convolution output of `target` cells.

    Chooses the smallest padding; raises if no padding >= 0 with output_padding < max(stride, dilation) works.
    """
    geometry = resolve_geometry(1, kernel_size, stride, 0, dilation)
    n = _check_input(n, "length", 1)
    target = as_int(target, "target size")
    if target < 1:
        raise ConvConfigError(f"target size must be at least 1 (got {target})", "target size")
    s, d, k = geometry.stride[0], geometry.dilation[0], geometry.kernel_size[0]
    base = (n - 1) * s + d * (k - 1) + 1  # output with padding 0, output_padding 0
    limit = max(s, d)
    excess = base - target  # = 2p - op
    if excess <= 0:
        if -excess < limit:
            return 0, -excess
        raise ConvConfigError(
            f"the largest output is {base + limit - 1} (padding 0, output_padding {limit - 1}); "
            f"target size {target} needs a larger stride, kernel or input",
            "target size",
        )
    p = (excess + 1) // 2
    op = 2 * p - excess
    if op >= limit:  # only possible when max(s, d) == 1 and the excess is odd
        raise ConvConfigError(
            f"with stride {s} and dilation {d} the output only comes in steps of 2 from {base}; "
            f"target size {target} is not reachable: change the kernel size by one, or use stride 2",
            "target size",
        )
    return p, op


def output_padding_to_invert(
    n: int, kernel_size: int, stride: int = 1, padding: int = 0, dilation: int = 1
) -> int:
    """output_padding that makes the transposed conv give back size `n` (Dumoulin & Visin, rel. 14).

    a = (n + 2p - d(k-1) - 1) mod s: the input cells the stride left unread.
    """
    geometry = resolve_geometry(1, kernel_size, stride, padding, dilation)
    n = _check_input(n, "length", 1)
    conv_geometry_output((n,), geometry)  # validates the forward configuration
    (before, after), k = geometry.padding[0], geometry.kernel_size[0]
    s, d = geometry.stride[0], geometry.dilation[0]
    if before != after:
        raise ConvConfigError(
            f"padding {(before, after)} differs between the two sides, but a transposed convolution crops "
            "the same number of cells from both ends: only a symmetric padding can be inverted, so use one "
            "number for padding",
            "padding",
        )
    return (n + 2 * before - d * (k - 1) - 1) % s


def inputs_with_same_output(
    n: int, kernel_size: int, stride: int = 1, padding: Padding = 0, dilation: int = 1
) -> range:
    """Every input size (>= 1) that a convolution maps to the same output size as `n`."""
    geometry = resolve_geometry(1, kernel_size, stride, padding, dilation)
    o = conv_geometry_output((n,), geometry)[0]
    s, span = geometry.stride[0], geometry.span[0]
    b, a = geometry.padding[0]
    low = (o - 1) * s + span - b - a
    return range(max(1, low), low + s)
