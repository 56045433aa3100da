"""Multi-channel 2D convolution laid out for teaching: channels, groups, depthwise and 1x1 mixing.

`channels_view` (seeded random values, `seeded_channel_values`) or `explain_channels` (given arrays, e.g.
typed ones) builds the input planes, the weight, the output planes and the counts a page shows;
`channel_sums` writes one output cell out as one dot product per input channel, every product listed, plus
the bias; `channel_mixing` shows a 1x1 convolution as a (C_out, C_in) matrix times each pixel's channels,
one row of products per output channel. Everything is computed by `cnnviz.conv.ops.conv2d`, so it agrees with
`torch.nn.functional.conv2d`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cnnviz.conv.args import ConvGeometry, as_int
from cnnviz.conv.counts import conv_macs, conv_params
from cnnviz.conv.explain import Tap, window_positions
from cnnviz.conv.formulas import Explanation, explain_conv_output_size
from cnnviz.conv.numbers import number_text
from cnnviz.conv.ops import conv2d, validate_conv
from cnnviz.errors import ConvConfigError

__all__ = [
    "ChannelSum",
    "ChannelsView",
    "MixingRow",
    "MixingView",
    "channel_mixing",
    "channel_sums",
    "channels_view",
    "connections",
    "explain_channels",
    "group_choices",
    "seeded_channel_values",
]


@dataclass(frozen=True)
class ChannelsView:
    """A conv2d with C_in input planes, C_out filters and `groups`, and the numbers around it."""

    input: np.ndarray  # (C_in, H, W)
    weight: np.ndarray  # (C_out, C_in/groups, k, k)
    bias: np.ndarray | None  # (C_out,) or None
    output: np.ndarray  # (C_out, Ho, Wo)
    groups: int
    geometry: ConvGeometry
    explanations: tuple[Explanation, Explanation]  # height, width
    params: int
    macs: int
    params_dense: int  # the same layer with groups=1
    macs_dense: int

    @property
    def c_in(self) -> int:
        return int(self.input.shape[0])

    @property
    def c_out(self) -> int:
        return int(self.weight.shape[0])

    @property
    def in_per_group(self) -> int:
        return int(self.weight.shape[1])

    @property
    def out_per_group(self) -> int:
        return self.c_out // self.groups

    def group_of_output(self, out_channel: int) -> int:
        """The group an output channel belongs to (outputs are split into `groups` equal blocks)."""
        return out_channel // self.out_per_group

    def inputs_read(self, out_channel: int) -> list[int]:
        """Input channels that output channel `out_channel`'s filter reads, in weight-slice order."""
        g = self.group_of_output(out_channel)
        return list(range(g * self.in_per_group, (g + 1) * self.in_per_group))


def group_choices(c_in: int, c_out: int) -> list[int]:
    """Every groups value PyTorch accepts for these channel counts (divisors of both)."""
    return [g for g in range(1, min(c_in, c_out) + 1) if c_in % g == 0 and c_out % g == 0]


def connections(c_in: int, c_out: int, groups: int) -> np.ndarray:
    """(C_out, C_in) int array: the group of each (output, input) pair the layer connects, -1 elsewhere.

    Row o holds the group of output channel o in the columns of the input channels its filter reads.
    """
    conv_params(c_in, c_out, 1, groups)  # validates divisibility with a readable message
    out_g, in_g = c_out // groups, c_in // groups
    grid = np.full((c_out, c_in), -1, dtype=np.int64)
    for g in range(groups):
        grid[g * out_g : (g + 1) * out_g, g * in_g : (g + 1) * in_g] = g
    return grid


def _seeded(shape: tuple[int, ...], seed: int, low: int, high: int) -> np.ndarray:
    """Small integers, so every product on the page can be checked by hand."""
    return np.random.default_rng(seed).integers(low, high + 1, size=shape).astype(np.float64)


def seeded_channel_values(
    input_size: tuple[int, int],
    in_channels: int,
    out_channels: int,
    kernel_size: int,
    stride: int = 1,
    padding: int = 0,
    groups: int = 1,
    bias: bool = True,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Random integer input (0..4), weights (-2..2) and bias (-3..3) for this layer: (x, weight, bias).

    Raises ConvConfigError (not a traceback) for impossible settings, e.g. channels not divisible by groups.
    """
    h, w = (as_int(n, "input size") for n in input_size)
    c_in, c_out = as_int(in_channels, "in_channels"), as_int(out_channels, "out_channels")
    k, g = as_int(kernel_size, "kernel_size"), as_int(groups, "groups")
    if min(h, w) < 1:
        raise ConvConfigError(f"input size must be at least 1 (got {h}×{w})", "input size")
    conv_params(c_in, c_out, k, g, bias)  # channel and group checks first, with readable messages
    validate_conv((1, c_in, h, w), (c_out, c_in // g, k, k), None, stride, padding, 1, g, "zeros")
    rng_seed = as_int(seed, "seed")
    x = _seeded((c_in, h, w), rng_seed, 0, 4)
    weight = _seeded((c_out, c_in // g, k, k), rng_seed + 1, -2, 2)
    b = _seeded((c_out,), rng_seed + 2, -3, 3) if bias else None
    return x, weight, b


def channels_view(
    input_size: tuple[int, int],
    in_channels: int,
    out_channels: int,
    kernel_size: int,
    stride: int = 1,
    padding: int = 0,
    groups: int = 1,
    bias: bool = True,
    seed: int = 0,
) -> ChannelsView:
    """The layer on `seeded_channel_values` (same arguments), and everything computed from them."""
    x, weight, b = seeded_channel_values(
        input_size, in_channels, out_channels, kernel_size, stride, padding, groups, bias, seed
    )
    return explain_channels(x, weight, b, stride, padding, groups)


def explain_channels(
    x: np.ndarray,
    weight: np.ndarray,
    bias: np.ndarray | None,
    stride: int = 1,
    padding: int = 0,
    groups: int = 1,
) -> ChannelsView:
    """The view of given arrays: x (C_in, H, W), weight (C_out, C_in/groups, k, k), bias (C_out,) or None."""
    x = np.asarray(x, dtype=np.float64)
    weight = np.asarray(weight, dtype=np.float64)
    b = None if bias is None else np.asarray(bias, dtype=np.float64)
    if x.ndim != 3 or weight.ndim != 4 or weight.shape[2] != weight.shape[3]:
        raise ConvConfigError(
            f"input must be (C_in, H, W) and weight (C_out, C_in/groups, k, k); got {x.shape} and {weight.shape}",
            "weight",
        )
    c_in, (h, w) = x.shape[0], x.shape[1:]
    c_out, k = weight.shape[0], weight.shape[2]
    g = as_int(groups, "groups")
    params = conv_params(c_in, c_out, (k, k), g, b is not None)
    geometry, out_size = validate_conv(
        (1, *x.shape), weight.shape, None if b is None else b.shape, stride, padding, 1, g, "zeros"
    )
    y = conv2d(x, weight, b, stride, padding, 1, g)
    explanations = (
        explain_conv_output_size(h, k, geometry.stride[0], geometry.padding[0], 1, symbol="H"),
        explain_conv_output_size(w, k, geometry.stride[1], geometry.padding[1], 1, symbol="W"),
    )
    return ChannelsView(
        input=x,
        weight=weight,
        bias=b,
        output=y,
        groups=g,
        geometry=geometry,
        explanations=explanations,
        params=params,
        macs=conv_macs(c_in, c_out, k, out_size, g),
        params_dense=conv_params(c_in, c_out, (k, k), 1, b is not None),
        macs_dense=conv_macs(c_in, c_out, k, out_size, 1),
    )


def _factor(v: float) -> str:
    """A number inside a product: negatives and fractions in parentheses, e.g. '(-2)', '(1/3)'."""
    s = number_text(v)
    return f"({s})" if v < 0 or "/" in s else s


def _result(v: float, digits: int = 4) -> str:
    """A sum as a term of a larger sum: a decimal (never a fraction), negatives in parentheses."""
    s = number_text(v, digits, fractions=False)
    return f"({s})" if v < 0 else s


def _products_text(pairs: list[tuple[float, float]]) -> str:
    """'a×b + c×d' for (a, b), (c, d)."""
    return " + ".join(f"{_factor(a)}×{_factor(b)}" for a, b in pairs)


@dataclass(frozen=True)
class ChannelSum:
    """One output cell as one dot product per input channel read, then their total plus the bias."""

    out_channel: int
    position: tuple[int, int]
    channels: tuple[int, ...]  # input channels read, in weight-slice order
    windows: tuple[np.ndarray, ...]  # (k, k) input values under the window per channel (0 in padding)
    slices: tuple[np.ndarray, ...]  # (k, k) weight slice per channel
    dots: tuple[float, ...]  # the sum of the channel's products, per channel
    bias: float
    window_cells: tuple[tuple[int, int], ...]  # input coordinates of the k*k taps (may be padding)
    taps: tuple[tuple[Tap, ...], ...] = ()  # per channel, its k*k products in row-major kernel order

    @property
    def total(self) -> float:
        return float(sum(self.dots) + self.bias)

    def products(self, index: int) -> list[float]:
        """The k*k products input value × weight of the `index`-th channel read, row by row."""
        return [tap.product for tap in self.taps[index]]

    def channel_equation(self, index: int, digits: int = 4) -> str:
        """The `index`-th channel read, product by product: '1×1 + 2×2 + 4×3 + 5×4 = 37'."""
        pairs = [(tap.value, tap.weight) for tap in self.taps[index]]
        return _products_text(pairs) + f" = {number_text(self.dots[index], digits, fractions=False)}"

    def equation(self, digits: int = 4) -> str:
        """The channels' sums plus the bias, e.g. '3 + (-4) + 1 = 0'."""
        terms = [_result(d, digits) for d in self.dots] + ([_result(self.bias, digits)] if self.bias else [])
        return " + ".join(terms) + f" = {number_text(self.total, digits, fractions=False)}"

    def lines(self, digits: int = 4) -> list[str]:
        """The cell as a lecture writes it: one line of products per input channel, then the total.

        ['input channel 0: 0×0 + 1×1 + 3×2 + 4×3 = 19', 'input channel 1: 1×1 + ... = 37',
        'total: 19 + 37 = 56'] (the bias, when there is one, is the total's last term).
        """
        rows = [f"input channel {c}: {self.channel_equation(i, digits)}" for i, c in enumerate(self.channels)]
        note = " (the last term is the bias)" if self.bias else ""
        return [*rows, f"total: {self.equation(digits)}{note}"]


def channel_sums(view: ChannelsView, out_channel: int, position: tuple[int, int]) -> ChannelSum:
    """Explain output[out_channel, row, col]: each input channel's products and their sum, then the bias."""
    c_out, ho, wo = view.output.shape
    if not 0 <= out_channel < c_out:
        raise ConvConfigError(f"output channel {out_channel} is outside 0..{c_out - 1}", "out_channel")
    row, col = position
    if not (0 <= row < ho and 0 <= col < wo):
        raise ConvConfigError(f"output cell {position} is outside the {ho}×{wo} output", "position")
    positions = window_positions((row, col), view.geometry)
    _, h, w = view.input.shape
    k = view.weight.shape[2]
    windows, slices, dots, taps = [], [], [], []
    channels = view.inputs_read(out_channel)
    for ci, channel in enumerate(channels):
        values = np.zeros((k, k))
        weights = view.weight[out_channel, ci]
        channel_taps = []
        for (a, b), (r, c) in positions:
            inside = 0 <= r < h and 0 <= c < w
            if inside:
                values[a, b] = view.input[channel, r, c]
            channel_taps.append(
                Tap(
                    channel=channel,
                    kernel_index=(a, b),
                    position=(r, c),
                    source=(r, c) if inside else None,
                    value=float(values[a, b]),
                    weight=float(weights[a, b]),
                )
            )
        windows.append(values)
        slices.append(weights)
        taps.append(tuple(channel_taps))
        dots.append(float(sum(tap.product for tap in channel_taps)))
    return ChannelSum(
        out_channel=out_channel,
        position=(row, col),
        channels=tuple(channels),
        windows=tuple(windows),
        slices=tuple(slices),
        dots=tuple(dots),
        bias=0.0 if view.bias is None else float(view.bias[out_channel]),
        window_cells=tuple(p for _, p in positions),
        taps=tuple(taps),
    )


@dataclass(frozen=True)
class MixingRow:
    """One output channel of a 1x1 convolution at one pixel: y[o] = sum over c of W[o, c] × x[c], + b[o]."""

    out_channel: int
    channels: tuple[int, ...]  # input channels this output reads (all of them unless groups cut some)
    weights: tuple[float, ...]  # W[o, c] for those channels
    values: tuple[float, ...]  # x[c] at the pixel for those channels
    bias: float

    @property
    def products(self) -> list[float]:
        return [w * x for w, x in zip(self.weights, self.values, strict=True)]

    @property
    def total(self) -> float:
        return float(sum(self.products) + self.bias)

    def equation(self, digits: int = 4) -> str:
        """'y[1] = 2×3 + (-1)×4 + 1 = 3': each product is W[o, c] × x[c]; the last term is the bias."""
        text = _products_text(list(zip(self.weights, self.values, strict=True)))
        if self.bias:
            text += f" + {_result(self.bias, digits)}"
        return f"y[{self.out_channel}] = {text} = {number_text(self.total, digits, fractions=False)}"


@dataclass(frozen=True)
class MixingView:
    """A 1x1 convolution at one pixel: y = W x + b, with W the (C_out, C_in) channel-mixing matrix."""

    matrix: np.ndarray  # (C_out, C_in); zeros where groups cut the connection
    pixel: tuple[int, int]  # output cell
    vector: np.ndarray  # (C_in,) the input channels at the pixel the 1x1 kernel reads
    bias: np.ndarray  # (C_out,) zeros without bias
    result: np.ndarray  # (C_out,) = matrix @ vector + bias, equal to output[:, row, col]
    rows: tuple[MixingRow, ...] = ()  # per output channel, its products written out


def channel_mixing(view: ChannelsView, pixel: tuple[int, int]) -> MixingView:
    """For a 1x1 kernel, the conv as a matrix over channels applied to one pixel's channel vector."""
    if view.weight.shape[2:] != (1, 1):
        raise ConvConfigError(
            f"channel mixing is the view of a 1×1 convolution; this kernel is "
            f"{view.weight.shape[2]}×{view.weight.shape[3]}: set kernel_size to 1",
            "kernel_size",
        )
    _, ho, wo = view.output.shape
    row, col = pixel
    if not (0 <= row < ho and 0 <= col < wo):
        raise ConvConfigError(f"pixel {pixel} is outside the {ho}×{wo} output", "position")
    matrix = np.zeros((view.c_out, view.c_in))
    for o in range(view.c_out):
        matrix[o, view.inputs_read(o)] = view.weight[o, :, 0, 0]
    (r_in, c_in_pos) = window_positions((row, col), view.geometry)[0][1]
    _, h, w = view.input.shape
    inside = 0 <= r_in < h and 0 <= c_in_pos < w
    vector = view.input[:, r_in, c_in_pos].copy() if inside else np.zeros(view.c_in)
    bias = np.zeros(view.c_out) if view.bias is None else view.bias.copy()
    rows = tuple(
        MixingRow(
            out_channel=o,
            channels=tuple(view.inputs_read(o)),
            weights=tuple(float(v) for v in view.weight[o, :, 0, 0]),
            values=tuple(float(vector[c]) for c in view.inputs_read(o)),
            bias=float(bias[o]),
        )
        for o in range(view.c_out)
    )
    return MixingView(matrix, (row, col), vector, bias, matrix @ vector + bias, rows)
