"""Translation equivariance: does convolving a shifted input give the shifted output?

conv(shift(x)) and shift(conv(x)) agree away from the borders when the shift is a multiple of the
stride. Two things break it, and the explorer shows both: cells near the border, where the shift pushes
values out and lets zeros in (or the padding differs from what the shift brings in), and a stride that
does not divide the shift, where the shifted input is sampled on a different grid of windows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cnnviz.conv.args import IntOrTuple, Padding
from cnnviz.conv.ops import conv2d, validate_conv
from cnnviz.errors import ConvConfigError

__all__ = ["SHIFT_FILLS", "EquivarianceCheck", "shift2d", "equivariance_check"]

SHIFT_FILLS = ("zeros", "circular")


def shift2d(x: np.ndarray, dy: int, dx: int, fill: str = "zeros") -> np.ndarray:
    """x (H, W) moved down by dy and right by dx; cells that enter are 0 ('zeros') or wrap ('circular').

    'circular' is `np.roll` (like `torch.roll`); 'zeros' drops what leaves the grid.
    """
    if fill not in SHIFT_FILLS:
        raise ConvConfigError(f"shift fill must be one of {', '.join(SHIFT_FILLS)} (got {fill!r})", "fill")
    x = np.asarray(x)
    if fill == "circular":
        return np.roll(x, (dy, dx), axis=(0, 1))
    h, w = x.shape
    out = np.zeros_like(x)
    if abs(dy) >= h or abs(dx) >= w:
        return out
    src_r = slice(max(0, -dy), h - max(0, dy))
    dst_r = slice(max(0, dy), h - max(0, -dy))
    src_c = slice(max(0, -dx), w - max(0, dx))
    dst_c = slice(max(0, dx), w - max(0, -dx))
    out[dst_r, dst_c] = x[src_r, src_c]
    return out


@dataclass(frozen=True)
class EquivarianceCheck:
    """Both sides of conv(shift(x)) = shift(conv(x)), and where they differ. Arrays are (Ho, Wo)."""

    shift: tuple[int, int]  # (dy, dx) of the input
    output_shift: tuple[int, int]  # (dy // sy, dx // sx): the matching shift of the output
    stride_divides: bool  # whether both shifts are multiples of the stride
    shifted_input: np.ndarray  # (H, W)
    conv_of_shift: np.ndarray
    shift_of_conv: np.ndarray
    differs: np.ndarray  # bool

    @property
    def n_differ(self) -> int:
        return int(self.differs.sum())


def equivariance_check(
    x: np.ndarray,
    kernel: np.ndarray,
    bias: float = 0.0,
    stride: IntOrTuple = 1,
    padding: Padding = 0,
    dilation: IntOrTuple = 1,
    padding_mode: str = "zeros",
    shift: tuple[int, int] = (1, 1),
    fill: str = "zeros",
    atol: float = 1e-9,
) -> EquivarianceCheck:
    """Convolve x (H, W) shifted by `shift`, and shift conv(x) by shift // stride; mark where they differ.

    The output is shifted with the same fill as the input ('zeros' lets in zeros, 'circular' wraps), so
    with circular shift and circular padding at stride 1 the two sides are equal everywhere.
    """
    x = np.asarray(x, dtype=np.float64)
    kernel = np.asarray(kernel, dtype=np.float64)
    geometry, _ = validate_conv((1, 1, *x.shape), (1, 1, *kernel.shape), (1,), stride, padding, dilation, 1,
                                padding_mode)  # fmt: skip
    dy, dx = (int(v) for v in shift)
    sy, sx = geometry.stride

    def conv(a: np.ndarray) -> np.ndarray:
        return conv2d(
            a[None], kernel[None, None], np.array([bias]), stride, padding, dilation, 1, padding_mode
        )[0]

    shifted = shift2d(x, dy, dx, fill)
    conv_of_shift = conv(shifted)
    out_shift = (dy // sy, dx // sx)  # floor: the nearest output shift at or before the input's
    shift_of_conv = shift2d(conv(x), *out_shift, fill)
    return EquivarianceCheck(
        (dy, dx),
        out_shift,
        dy % sy == 0 and dx % sx == 0,
        shifted,
        conv_of_shift,
        shift_of_conv,
        ~np.isclose(conv_of_shift, shift_of_conv, rtol=0.0, atol=atol),
    )
