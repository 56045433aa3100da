"""Convolution, transposed convolution and pooling on numpy arrays, with PyTorch's semantics.

Names, argument order and results follow `torch.nn.functional` (plus `padding_mode` on conv, as on
`torch.nn.ConvNd`), so a student can move between the two without thinking. Inputs are (C, *spatial) or
(N, C, *spatial), float32 or float64 (integers are computed in float64). 1D ops run as 2D ops on a
height-1 image, so there is one implementation of each idea.

Convolution here is cross-correlation, as in every deep-learning library: the kernel is not flipped.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from cnnviz.conv.args import (
    PADDING_MODES,
    ConvGeometry,
    IntOrTuple,
    Padding,
    axis_names,
    expand,
    resolve_geometry,
)
from cnnviz.conv.shapes import conv_geometry_output, conv_transpose_output_shape, pool_output_shape
from cnnviz.errors import ConvConfigError

__all__ = [
    "conv1d",
    "conv2d",
    "conv_transpose1d",
    "conv_transpose2d",
    "max_pool1d",
    "max_pool2d",
    "avg_pool1d",
    "avg_pool2d",
    "pad",
    "source_index",
    "validate_conv",
]

_NUMPY_PAD_MODE = {"zeros": "constant", "reflect": "reflect", "replicate": "edge", "circular": "wrap"}


# --------------------------------------------------------------------------------------------------
# Inputs and padding
# --------------------------------------------------------------------------------------------------


def _as_float_array(x: object, name: str) -> np.ndarray:
    a = np.asarray(x)
    if a.dtype == np.float32 or a.dtype == np.float64:
        return a
    if a.dtype.kind in "biuf":
        return a.astype(np.float64 if a.dtype.kind != "f" or a.itemsize > 4 else np.float32)
    raise ConvConfigError(f"{name} must hold numbers (got dtype {a.dtype})", name)


def _batched(x: np.ndarray, ndim: int, name: str = "input") -> tuple[np.ndarray, bool]:
    """(N, C, *spatial) view of x and whether x had no batch axis."""
    shape = "(C, L) or (N, C, L)" if ndim == 1 else "(C, H, W) or (N, C, H, W)"
    if x.ndim == ndim + 1:
        return x[None], True
    if x.ndim == ndim + 2:
        return x, False
    raise ConvConfigError(f"{name} must have shape {shape}; got {x.ndim} dimensions {x.shape}", name)


def _lift(geometry: ConvGeometry) -> ConvGeometry:
    """A 1D geometry as the 2D geometry of a height-1 image."""
    if geometry.ndim == 2:
        return geometry
    return ConvGeometry(
        (1, *geometry.kernel_size),
        (1, *geometry.stride),
        ((0, 0), *geometry.padding),
        (1, *geometry.dilation),
    )


def source_index(position: int, n: int, padding_mode: str) -> int | None:
    """The input cell whose value a (possibly padded) position holds; None for zero padding.

    reflect mirrors without repeating the edge, replicate repeats the edge, circular wraps around.
    """
    if 0 <= position < n:
        return position
    if padding_mode == "zeros":
        return None
    if padding_mode == "replicate":
        return min(max(position, 0), n - 1)
    if padding_mode == "circular":
        return position % n
    if padding_mode == "reflect":
        period = 2 * (n - 1)
        if period == 0:
            return 0
        q = position % period
        return q if q < n else period - q
    raise ConvConfigError(
        f"padding_mode must be one of {PADDING_MODES} (got {padding_mode!r})", "padding_mode"
    )


def _check_padding_mode(
    padding_mode: str, pads: tuple[tuple[int, int], ...], sizes: tuple[int, ...], ndim: int
) -> None:
    if padding_mode not in PADDING_MODES:
        raise ConvConfigError(
            f"padding_mode must be one of {', '.join(PADDING_MODES)} (got {padding_mode!r})", "padding_mode"
        )
    for axis, (before, after), n in zip(axis_names(ndim), pads, sizes, strict=False):
        where = f" along the {axis}" if ndim > 1 else ""
        if padding_mode == "reflect" and max(before, after) >= n:
            raise ConvConfigError(
                f"reflect padding{where} must be smaller than the input ({n} cells, padding "
                f"{max(before, after)}): a mirror can only reflect cells that exist; use at most "
                f"{n - 1}, or replicate/zeros padding",
                "padding",
            )
        if padding_mode == "circular" and max(before, after) > n:
            raise ConvConfigError(
                f"circular padding{where} can wrap around at most once: padding {max(before, after)} is "
                f"more than the {n} input cells; use at most {n}",
                "padding",
            )


def pad(
    x: np.ndarray, padding: tuple[tuple[int, int], ...], padding_mode: str = "zeros", value: float = 0.0
) -> np.ndarray:
    """Pad the trailing spatial axes of x by ((before, after), ...) in one of PyTorch's padding modes."""
    spatial = len(padding)
    _check_padding_mode(padding_mode, padding, x.shape[-spatial:], spatial)
    widths = [(0, 0)] * (x.ndim - spatial) + [tuple(p) for p in padding]
    if padding_mode == "zeros":
        return np.pad(x, widths, mode="constant", constant_values=value)
    return np.pad(x, widths, mode=_NUMPY_PAD_MODE[padding_mode])


# --------------------------------------------------------------------------------------------------
# Convolution
# --------------------------------------------------------------------------------------------------


def validate_conv(
    input_shape: tuple[int, ...],
    weight_shape: tuple[int, ...],
    bias_shape: tuple[int, ...] | None,
    stride: IntOrTuple,
    padding: Padding,
    dilation: IntOrTuple,
    groups: int,
    padding_mode: str,
) -> tuple[ConvGeometry, tuple[int, ...]]:
    """Check a convolution as PyTorch would; return its geometry and output spatial size.

    `input_shape` is (N, C_in, *spatial); `weight_shape` is (C_out, C_in/groups, *kernel).
    """
    ndim = len(weight_shape) - 2
    if ndim not in (1, 2):
        raise ConvConfigError(
            f"weight must have shape (C_out, C_in/groups, k) or (C_out, C_in/groups, kH, kW); got {weight_shape}",
            "weight",
        )
    if len(input_shape) != ndim + 2:
        raise ConvConfigError(
            f"a {ndim}D weight needs a {ndim}D input, got input of shape {input_shape}", "input"
        )
    groups = expand(groups, 1, "groups")[0]
    if groups < 1:
        raise ConvConfigError(f"groups must be at least 1 (got {groups})", "groups")
    c_out, c_per_group, *kernel = weight_shape
    c_in = input_shape[1]
    if min(weight_shape) < 1 or min(input_shape) < 1:
        raise ConvConfigError(
            f"every dimension must be at least 1 (input {input_shape}, weight {weight_shape})", "input"
        )
    if c_out % groups:
        raise ConvConfigError(
            f"out_channels ({c_out}) must be divisible by groups ({groups}): each group makes "
            "out_channels/groups output channels",
            "groups",
        )
    if c_per_group * groups != c_in:
        raise ConvConfigError(
            f"the input has {c_in} channels but the weight expects in_channels = "
            f"{c_per_group} per group x {groups} group{'s' if groups > 1 else ''} = {c_per_group * groups}: "
            f"make the weight (C_out, {c_in // groups if c_in % groups == 0 else '?'}, ...)"
            + ("" if c_in % groups == 0 else f", or choose groups dividing {c_in}"),
            "in_channels",
        )
    if bias_shape is not None and tuple(bias_shape) != (c_out,):
        raise ConvConfigError(
            f"bias must have shape ({c_out},), one per output channel; got {bias_shape}", "bias"
        )
    geometry = resolve_geometry(ndim, tuple(kernel), stride, padding, dilation)
    spatial = tuple(input_shape[2:])
    _check_padding_mode(padding_mode, geometry.padding, spatial, ndim)
    return geometry, conv_geometry_output(spatial, geometry)


def _correlate2d(
    xp: np.ndarray, w: np.ndarray, g: ConvGeometry, out_hw: tuple[int, int], groups: int
) -> np.ndarray:
    """Valid cross-correlation of an already padded (N, C, Hp, Wp) input with (C_out, C_in/g, kh, kw)."""
    (_kh, _kw), (sh, sw), (dh, dw) = g.kernel_size, g.stride, g.dilation
    span_h, span_w = g.span
    ho, wo = out_hw
    # (N, C, Hp-span_h+1, Wp-span_w+1, span_h, span_w) -> every window, then keep strided ones and taps.
    windows = sliding_window_view(xp, (span_h, span_w), axis=(2, 3))
    windows = windows[
        :, :, : (ho - 1) * sh + 1 : sh, : (wo - 1) * sw + 1 : sw, ::dh, ::dw
    ]  # (N,C,Ho,Wo,kh,kw)
    c_out, c_group = w.shape[:2]
    out_group = c_out // groups
    out = np.empty((xp.shape[0], c_out, ho, wo), dtype=np.result_type(xp, w))
    for gi in range(groups):
        x_g = windows[:, gi * c_group : (gi + 1) * c_group]
        w_g = w[gi * out_group : (gi + 1) * out_group]
        out[:, gi * out_group : (gi + 1) * out_group] = np.einsum(
            "ncijab,ocab->noij", x_g, w_g, optimize=True
        )
    return out


def _conv(
    input: np.ndarray,
    weight: np.ndarray,
    bias: np.ndarray | None,
    stride: IntOrTuple,
    padding: Padding,
    dilation: IntOrTuple,
    groups: int,
    padding_mode: str,
    ndim: int,
) -> np.ndarray:
    x = _as_float_array(input, "input")
    w = _as_float_array(weight, "weight")
    if w.ndim != ndim + 2:
        kernel = "k" if ndim == 1 else "kH, kW"
        raise ConvConfigError(
            f"weight must have shape (C_out, C_in/groups, {kernel}); got {w.shape}", "weight"
        )
    xb, unbatched = _batched(x, ndim)
    b = None if bias is None else _as_float_array(bias, "bias")
    geometry, out = validate_conv(
        xb.shape, w.shape, None if b is None else b.shape, stride, padding, dilation, groups, padding_mode
    )
    g2 = _lift(geometry)
    dtype = np.result_type(xb, w)
    x2 = xb.reshape(xb.shape[0], xb.shape[1], 1, -1) if ndim == 1 else xb
    w2 = w.reshape(w.shape[0], w.shape[1], 1, -1) if ndim == 1 else w
    xp = pad(x2.astype(dtype, copy=False), g2.padding, padding_mode)
    y = _correlate2d(xp, w2.astype(dtype, copy=False), g2, (1, *out) if ndim == 1 else out, int(groups))
    if b is not None:
        y += b.astype(dtype, copy=False)[None, :, None, None]
    y = y.reshape(y.shape[0], y.shape[1], *out)
    return y[0] if unbatched else y


def conv1d(
    input: np.ndarray,
    weight: np.ndarray,
    bias: np.ndarray | None = None,
    stride: IntOrTuple = 1,
    padding: Padding = 0,
    dilation: IntOrTuple = 1,
    groups: int = 1,
    padding_mode: str = "zeros",
) -> np.ndarray:
    """1D cross-correlation: input (N, C_in, L) or (C_in, L), weight (C_out, C_in/groups, k) -> (N, C_out, L_out)."""
    return _conv(input, weight, bias, stride, padding, dilation, groups, padding_mode, 1)


def conv2d(
    input: np.ndarray,
    weight: np.ndarray,
    bias: np.ndarray | None = None,
    stride: IntOrTuple = 1,
    padding: Padding = 0,
    dilation: IntOrTuple = 1,
    groups: int = 1,
    padding_mode: str = "zeros",
) -> np.ndarray:
    """2D cross-correlation: input (N, C_in, H, W) or (C_in, H, W), weight (C_out, C_in/groups, kH, kW)."""
    return _conv(input, weight, bias, stride, padding, dilation, groups, padding_mode, 2)


# --------------------------------------------------------------------------------------------------
# Transposed convolution
# --------------------------------------------------------------------------------------------------


def _conv_transpose(
    input: np.ndarray,
    weight: np.ndarray,
    bias: np.ndarray | None,
    stride: IntOrTuple,
    padding: IntOrTuple,
    output_padding: IntOrTuple,
    groups: int,
    dilation: IntOrTuple,
    ndim: int,
) -> np.ndarray:
    x = _as_float_array(input, "input")
    w = _as_float_array(weight, "weight")
    if w.ndim != ndim + 2:
        kernel = "k" if ndim == 1 else "kH, kW"
        raise ConvConfigError(
            f"weight must have shape (C_in, C_out/groups, {kernel}); got {w.shape}", "weight"
        )
    xb, unbatched = _batched(x, ndim)
    groups = expand(groups, 1, "groups")[0]
    if groups < 1:
        raise ConvConfigError(f"groups must be at least 1 (got {groups})", "groups")
    c_in, c_out_group, *kernel = w.shape
    if min(w.shape) < 1 or min(xb.shape) < 1:
        raise ConvConfigError(
            f"every dimension must be at least 1 (input {xb.shape}, weight {w.shape})", "input"
        )
    if xb.shape[1] != c_in:
        raise ConvConfigError(
            f"the input has {xb.shape[1]} channels but this weight has in_channels = {c_in} "
            f"(a transposed-conv weight is (C_in, C_out/groups, ...)): "
            f"make the weight ({xb.shape[1]}, C_out/groups, ...)",
            "in_channels",
        )
    if c_in % groups:
        raise ConvConfigError(f"in_channels ({c_in}) must be divisible by groups ({groups})", "groups")
    c_out = c_out_group * groups
    b = None if bias is None else _as_float_array(bias, "bias")
    if b is not None and b.shape != (c_out,):
        raise ConvConfigError(
            f"bias must have shape ({c_out},), one per output channel; got {b.shape}", "bias"
        )
    out = conv_transpose_output_shape(
        xb.shape[2:], ndim, tuple(kernel), stride, padding, output_padding, dilation
    )
    ss, ps, ds = (
        expand(stride, ndim, "stride"),
        expand(padding, ndim, "padding"),
        expand(dilation, ndim, "dilation"),
    )
    if ndim == 1:
        xb = xb[:, :, None, :]
        w = w[:, :, None, :]
        ss, ps, ds, out2 = (1, *ss), (0, *ps), (1, *ds), (1, *out)
    else:
        out2 = out
    dtype = np.result_type(xb, w)
    n, _, h, wd = xb.shape
    kh, kw = w.shape[2:]
    # Scatter every input cell times every tap into the uncropped output, then crop `padding` cells.
    full = np.zeros((n, c_out, ps[0] + out2[0] + ps[0], ps[1] + out2[1] + ps[1]), dtype=dtype)
    c_in_group = c_in // groups
    for gi in range(groups):
        x_g = xb[:, gi * c_in_group : (gi + 1) * c_in_group].astype(dtype, copy=False)
        w_g = w[gi * c_in_group : (gi + 1) * c_in_group].astype(dtype, copy=False)
        target = full[:, gi * c_out_group : (gi + 1) * c_out_group]
        for a in range(kh):
            rows = slice(a * ds[0], a * ds[0] + (h - 1) * ss[0] + 1, ss[0])
            for c in range(kw):
                cols = slice(c * ds[1], c * ds[1] + (wd - 1) * ss[1] + 1, ss[1])
                # (N, C_in_g, H, W) x (C_in_g, C_out_g) -> (N, C_out_g, H, W)
                target[:, :, rows, cols] += np.einsum("nchw,co->nohw", x_g, w_g[:, :, a, c], optimize=True)
    y = full[:, :, ps[0] : ps[0] + out2[0], ps[1] : ps[1] + out2[1]]
    if b is not None:
        y = y + b.astype(dtype, copy=False)[None, :, None, None]
    y = np.ascontiguousarray(y).reshape(n, c_out, *out)
    return y[0] if unbatched else y


def conv_transpose1d(
    input: np.ndarray,
    weight: np.ndarray,
    bias: np.ndarray | None = None,
    stride: IntOrTuple = 1,
    padding: IntOrTuple = 0,
    output_padding: IntOrTuple = 0,
    groups: int = 1,
    dilation: IntOrTuple = 1,
) -> np.ndarray:
    """1D transposed convolution: input (N, C_in, L), weight (C_in, C_out/groups, k) -> (N, C_out, L_out)."""
    return _conv_transpose(input, weight, bias, stride, padding, output_padding, groups, dilation, 1)


def conv_transpose2d(
    input: np.ndarray,
    weight: np.ndarray,
    bias: np.ndarray | None = None,
    stride: IntOrTuple = 1,
    padding: IntOrTuple = 0,
    output_padding: IntOrTuple = 0,
    groups: int = 1,
    dilation: IntOrTuple = 1,
) -> np.ndarray:
    """2D transposed convolution: input (N, C_in, H, W), weight (C_in, C_out/groups, kH, kW)."""
    return _conv_transpose(input, weight, bias, stride, padding, output_padding, groups, dilation, 2)


# --------------------------------------------------------------------------------------------------
# Pooling
# --------------------------------------------------------------------------------------------------


def _pool_geometry(
    x_shape: tuple[int, ...],
    ndim: int,
    kernel_size: IntOrTuple,
    stride: IntOrTuple | None,
    padding: IntOrTuple,
    dilation: IntOrTuple,
    ceil_mode: bool,
) -> tuple[ConvGeometry, tuple[int, ...]]:
    """Validated pooling geometry (symmetric padding) and output spatial size."""
    out = pool_output_shape(x_shape[2:], ndim, kernel_size, stride, padding, dilation, ceil_mode)
    pads = expand(padding, ndim, "padding")
    geometry = resolve_geometry(ndim, kernel_size, stride, tuple((p, p) for p in pads), dilation)
    return geometry, out


def _pool_windows(x: np.ndarray, g: ConvGeometry, out_hw: tuple[int, int], fill: float) -> np.ndarray:
    """(N, C, Ho, Wo, kh, kw) windows of x padded with `fill`, extended at the end for ceil_mode."""
    widths = []
    for n, (before, _), o, s, span in zip(x.shape[2:], g.padding, out_hw, g.stride, g.span, strict=False):
        after = max(0, (o - 1) * s + span - before - n)
        widths.append((before, after))
    xp = np.pad(x, [(0, 0), (0, 0), *widths], mode="constant", constant_values=fill)
    windows = sliding_window_view(xp, g.span, axis=(2, 3))
    (sh, sw), (dh, dw) = g.stride, g.dilation
    ho, wo = out_hw
    return windows[:, :, : (ho - 1) * sh + 1 : sh, : (wo - 1) * sw + 1 : sw, ::dh, ::dw]


def _max_pool(
    input: np.ndarray,
    kernel_size: IntOrTuple,
    stride: IntOrTuple | None,
    padding: IntOrTuple,
    dilation: IntOrTuple,
    ceil_mode: bool,
    return_indices: bool,
    ndim: int,
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    x = _as_float_array(input, "input")
    xb, unbatched = _batched(x, ndim)
    geometry, out = _pool_geometry(xb.shape, ndim, kernel_size, stride, padding, dilation, ceil_mode)
    g2 = _lift(geometry)
    x2 = xb[:, :, None, :] if ndim == 1 else xb
    out2 = (1, *out) if ndim == 1 else out
    windows = _pool_windows(x2, g2, out2, -np.inf)
    n, c, ho, wo, kh, kw = windows.shape
    flat = windows.reshape(n, c, ho, wo, kh * kw)
    # PyTorch's CPU kernel walks a window's taps in row-major order and moves on a strictly larger value or
    # on any NaN: the first maximum wins, but the last NaN.
    nan = np.isnan(flat)
    arg = np.where(nan.any(axis=-1), kh * kw - 1 - nan[..., ::-1].argmax(axis=-1), flat.argmax(axis=-1))
    values = np.take_along_axis(flat, arg[..., None], axis=-1)[..., 0]
    if not return_indices:
        values = values.reshape(n, c, *out)
        return values[0] if unbatched else values
    a, b = np.divmod(arg, kw)
    (sh, sw), (dh, dw) = g2.stride, g2.dilation
    top = np.arange(ho)[:, None] * sh - g2.padding[0][0]
    left = np.arange(wo)[None, :] * sw - g2.padding[1][0]
    rows = top + a * dh
    cols = left + b * dw
    # A window with nothing above -inf (only padding under its taps, or -inf inputs) keeps the kernel's
    # starting point: the first tap at or after cell 0 on each axis, even if that tap lies past the end.
    empty = values == -np.inf
    rows = np.where(empty, top + (np.maximum(-top, 0) + dh - 1) // dh * dh, rows)
    cols = np.where(empty, left + (np.maximum(-left, 0) + dw - 1) // dw * dw, cols)
    values = values.reshape(n, c, *out)
    indices = (rows * x2.shape[3] + cols).astype(np.int64).reshape(n, c, *out)
    if unbatched:
        return values[0], indices[0]
    return values, indices


def max_pool1d(
    input: np.ndarray,
    kernel_size: IntOrTuple,
    stride: IntOrTuple | None = None,
    padding: IntOrTuple = 0,
    dilation: IntOrTuple = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """1D max pooling over (N, C, L) or (C, L); indices are positions along L, as in PyTorch."""
    return _max_pool(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices, 1)


def max_pool2d(
    input: np.ndarray,
    kernel_size: IntOrTuple,
    stride: IntOrTuple | None = None,
    padding: IntOrTuple = 0,
    dilation: IntOrTuple = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """2D max pooling over (N, C, H, W) or (C, H, W); indices are flat h*W + w, as in PyTorch."""
    return _max_pool(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices, 2)


def _avg_divisors(n: int, k: int, s: int, p: int, out: int, count_include_pad: bool) -> np.ndarray:
    """Per-window divisor along one axis, following PyTorch's avg_pool rules.

    With count_include_pad the padding counts but a ceil_mode overhang past the padding does not.
    """
    start = np.arange(out) * s - p
    end = np.minimum(start + k, n + p)
    if count_include_pad:
        return end - start
    return np.minimum(end, n) - np.maximum(start, 0)


def _avg_pool(
    input: np.ndarray,
    kernel_size: IntOrTuple,
    stride: IntOrTuple | None,
    padding: IntOrTuple,
    ceil_mode: bool,
    count_include_pad: bool,
    divisor_override: int | None,
    ndim: int,
) -> np.ndarray:
    x = _as_float_array(input, "input")
    xb, unbatched = _batched(x, ndim)
    geometry, out = _pool_geometry(xb.shape, ndim, kernel_size, stride, padding, 1, ceil_mode)
    g2 = _lift(geometry)
    x2 = xb[:, :, None, :] if ndim == 1 else xb
    out2 = (1, *out) if ndim == 1 else out
    sums = _pool_windows(x2, g2, out2, 0.0).sum(axis=(-1, -2))
    if divisor_override is not None:
        divisor_override = expand(divisor_override, 1, "divisor_override")[0]
        if divisor_override == 0:
            raise ConvConfigError("divisor_override must not be 0", "divisor_override")
        divisor: np.ndarray | int = divisor_override
    else:
        per_axis = [
            _avg_divisors(n, k, s, pb, o, count_include_pad)
            for n, k, s, (pb, _), o in zip(
                x2.shape[2:], g2.kernel_size, g2.stride, g2.padding, out2, strict=False
            )
        ]
        divisor = np.outer(per_axis[0], per_axis[1])
    y = (sums / divisor).astype(x2.dtype, copy=False).reshape(xb.shape[0], xb.shape[1], *out)
    return y[0] if unbatched else y


def avg_pool1d(
    input: np.ndarray,
    kernel_size: IntOrTuple,
    stride: IntOrTuple | None = None,
    padding: IntOrTuple = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
) -> np.ndarray:
    """1D average pooling over (N, C, L) or (C, L)."""
    return _avg_pool(input, kernel_size, stride, padding, ceil_mode, count_include_pad, None, 1)


def avg_pool2d(
    input: np.ndarray,
    kernel_size: IntOrTuple,
    stride: IntOrTuple | None = None,
    padding: IntOrTuple = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> np.ndarray:
    """2D average pooling over (N, C, H, W) or (C, H, W)."""
    return _avg_pool(input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override, 2)
