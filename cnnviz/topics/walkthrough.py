"""Everything a page shows about one single-channel 2D convolution, computed in one call.

The explorer page lays this out; it does no arithmetic of its own. Each axis gets its own
output-size explanation, since height and width may differ in every argument.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from cnnviz.conv.args import ConvGeometry, IntOrTuple, Padding
from cnnviz.conv.counts import conv_macs, conv_params
from cnnviz.conv.formulas import Explanation, explain_conv_output_size
from cnnviz.conv.ops import conv2d, pad, validate_conv

__all__ = ["ConvWalkthrough", "frame_plan", "conv1d_walkthrough", "conv2d_walkthrough", "pytorch_snippet"]


@dataclass(frozen=True)
class ConvWalkthrough:
    """One channel in, one channel out: arrays for the grids and numbers for the arithmetic panel."""

    input: np.ndarray  # (H, W)
    kernel: np.ndarray  # (kh, kw)
    bias: float
    geometry: ConvGeometry
    padded: np.ndarray  # (Hp, Wp): the input with its padding cells filled by the padding mode
    is_padding: np.ndarray  # (Hp, Wp) bool
    output: np.ndarray  # (Ho, Wo)
    explanations: tuple[Explanation, ...]  # one per axis of the original input: (length,) or (height, width)
    params: int
    macs: int

    @property
    def padding_offset(self) -> tuple[int, int]:
        return self.geometry.padding[0][0], self.geometry.padding[1][0]


def _axis_padding(padding: Padding, geometry: ConvGeometry, axis: int) -> Padding:
    """The padding of one axis in the form its explanation should show ('same' stays 'same')."""
    if isinstance(padding, str):
        return padding
    return geometry.padding[axis]


def conv2d_walkthrough(
    x: np.ndarray,
    kernel: np.ndarray,
    bias: float = 0.0,
    stride: IntOrTuple = 1,
    padding: Padding = 0,
    dilation: IntOrTuple = 1,
    padding_mode: str = "zeros",
) -> ConvWalkthrough:
    """Convolve one (H, W) input with one (kh, kw) kernel and collect what the explorer shows."""
    x = np.asarray(x, dtype=np.float64)
    kernel = np.asarray(kernel, dtype=np.float64)
    geometry, out_size = validate_conv(
        (1, 1, *x.shape), (1, 1, *kernel.shape), (1,), stride, padding, dilation, 1, padding_mode
    )
    output = conv2d(
        x[None], kernel[None, None], np.array([bias]), stride, padding, dilation, 1, padding_mode
    )[0]
    padded = pad(x[None], geometry.padding, padding_mode)[0]
    is_padding = np.ones(padded.shape, dtype=bool)
    (top, _), (left, _) = geometry.padding
    is_padding[top : top + x.shape[0], left : left + x.shape[1]] = False
    explanations = tuple(
        explain_conv_output_size(
            n,
            geometry.kernel_size[a],
            geometry.stride[a],
            _axis_padding(padding, geometry, a),
            geometry.dilation[a],
            symbol=symbol,
        )
        for a, (n, symbol) in enumerate(zip(x.shape, ("H", "W"), strict=False))
    )
    return ConvWalkthrough(
        x,
        kernel,
        float(bias),
        geometry,
        padded,
        is_padding,
        output,
        explanations,
        conv_params(1, 1, kernel.shape, bias=True),
        conv_macs(1, 1, kernel.shape, out_size),
    )


def conv1d_walkthrough(
    x: np.ndarray,
    kernel: np.ndarray,
    bias: float = 0.0,
    stride: int = 1,
    padding: Padding = 0,
    dilation: int = 1,
    padding_mode: str = "zeros",
) -> ConvWalkthrough:
    """A 1D convolution as a height-1 2D one, so the same grids and animation show it.

    Arrays come back as (1, L) rows; `explanations` holds only the length axis.
    """
    x = np.asarray(x, dtype=np.float64).reshape(1, -1)
    kernel = np.asarray(kernel, dtype=np.float64).reshape(1, -1)
    if isinstance(padding, str):
        padding2: Padding = padding
    elif isinstance(padding, (tuple, list)):
        padding2 = ((0, 0), tuple(padding))
    else:
        padding2 = ((0, 0), (padding, padding))
    w = conv2d_walkthrough(x, kernel, bias, (1, stride), padding2, (1, dilation), padding_mode)
    length = explain_conv_output_size(
        x.shape[1],
        kernel.shape[1],
        stride,
        padding if isinstance(padding, str) else w.geometry.padding[1],
        dilation,
        symbol="L",
    )
    return ConvWalkthrough(
        w.input, w.kernel, w.bias, w.geometry, w.padded, w.is_padding, w.output, (length,), w.params, w.macs
    )


def pytorch_snippet(
    w: ConvWalkthrough, ndim: int = 2, padding: Padding | None = None, padding_mode: str = "zeros"
) -> str:
    """Runnable PyTorch code for this convolution: the layer, an input of the same shape, a shape check."""
    g = w.geometry
    axes = slice(None) if ndim == 2 else slice(1, None)

    def arg(values: tuple) -> str:
        values = tuple(values)
        return str(values[0]) if len(set(values)) == 1 else str(values)

    if isinstance(padding, str):
        pad_text = repr(padding)
        pre = ""
    else:
        pads = g.padding[axes]
        if all(b == a for b, a in pads):
            pad_text, pre = arg(tuple(b for b, _ in pads)), ""
        else:  # per-side padding: PyTorch's layer takes symmetric padding only, so pad first
            flat = [v for b, a in reversed(pads) for v in (b, a)]
            pad_text = "0"
            pre = f"x = F.pad(x, {tuple(flat)}, mode={_torch_pad_mode(padding_mode)!r})\n"
    shape = tuple(w.input.shape[axes])
    out = tuple(w.output.shape[axes])
    layer = "Conv2d" if ndim == 2 else "Conv1d"
    mode = f", padding_mode={padding_mode!r}" if padding_mode != "zeros" and not pre else ""
    return (
        "import torch\n" + ("import torch.nn.functional as F\n" if pre else "") + "from torch import nn\n\n"
        f"conv = nn.{layer}(in_channels=1, out_channels=1, kernel_size={arg(g.kernel_size[axes])}, "
        f"stride={arg(g.stride[axes])}, padding={pad_text}, dilation={arg(g.dilation[axes])}{mode})\n"
        f"x = torch.randn(1, 1, {', '.join(map(str, shape))})  # (N, C, {'H, W' if ndim == 2 else 'L'})\n"
        + pre
        + "y = conv(x)\n"
        f"assert y.shape == (1, 1, {', '.join(map(str, out))}), y.shape\n"
    )


def _torch_pad_mode(padding_mode: str) -> str:
    return {"zeros": "constant", "reflect": "reflect", "replicate": "replicate", "circular": "circular"}[
        padding_mode
    ]


def frame_plan(n_steps: int, max_frames: int = 100) -> list[int]:
    """For each animation frame, how many window steps are complete (the last frame completes all).

    At most `max_frames` frames: beyond that several outputs appear per frame, because Plotly slows to
    1-2 fps past a few hundred heatmap frames.
    """
    if n_steps <= 0:
        return []
    if n_steps <= max_frames:
        return list(range(1, n_steps + 1))
    per_frame = math.ceil(n_steps / max_frames)
    return [min(n_steps, i * per_frame) for i in range(1, math.ceil(n_steps / per_frame) + 1)]
