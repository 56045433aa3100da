"""Four ways to shrink a picture by a whole factor, side by side, so aliasing can be seen.

* subsample: keep every `factor`-th pixel (a stride-`factor` convolution with a 1x1 identity kernel);
* max pool and average pool with kernel = stride = `factor` (PyTorch's `F.max_pool2d` / `F.avg_pool2d`);
* blur, then subsample: a Gaussian low-pass (edge pixels replicated) read with stride `factor`,
  exactly `F.conv2d(F.pad(x, mode="replicate"), gaussian, stride=factor)`.

Keeping every f-th pixel can only represent patterns slower than one cycle per 2f input pixels
(Nyquist); anything finer folds back as a false, coarser pattern (aliasing, moiré). The Gaussian
removes those fine patterns first, so what is left after subsampling is true detail, only softer.

Arrays are float in [0, 1], either (H, W) grey or (H, W, C) colour; colour channels are shrunk
independently. Also here: two synthetic test patterns whose fine detail aliases at once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from cnnviz.conv.ops import avg_pool2d, max_pool2d
from cnnviz.errors import ConvConfigError

__all__ = [
    "MAX_PICTURE_SIDE",
    "DOWNSAMPLE_FACTORS",
    "DOWNSAMPLE_METHODS",
    "ALIASING_PATTERNS",
    "DownsampleResult",
    "anti_alias_sigma",
    "blur_subsample",
    "downsample_compare",
    "enlarge_nearest",
    "fine_stripes",
    "gaussian_1d",
    "picture_input",
    "subsample",
    "to_uint8",
    "zone_plate",
]

DOWNSAMPLE_FACTORS = (2, 3, 4)
DOWNSAMPLE_METHODS = ("subsample", "max pool", "average pool", "blur, then subsample")
# Pictures are shrunk to at most this many pixels a side before comparing: the lesson is the factor, and
# four results of a 12 MP photo would cost seconds and megabytes for nothing a screen can show.
MAX_PICTURE_SIDE = 240


# --------------------------------------------------------------------------------------------------
# Test patterns
# --------------------------------------------------------------------------------------------------


def zone_plate(n: int = 256) -> np.ndarray:
    """(n, n) rings whose frequency grows linearly from 0 at the centre to 0.5 cycles/pixel at the edge.

    I = 0.5 + 0.5 cos(pi r^2 / n): the local frequency at radius r is r / n cycles per pixel, so after
    keeping every f-th pixel every ring beyond r = n / (2f) is finer than the new Nyquist limit and aliases.
    """
    if n < 2:
        raise ConvConfigError(f"a zone plate needs at least 2 pixels a side (got {n})", "size")
    c = np.arange(n) - (n - 1) / 2.0
    r2 = c[:, None] ** 2 + c[None, :] ** 2
    return 0.5 + 0.5 * np.cos(math.pi * r2 / n)


def fine_stripes(n: int = 256, period: float = 2.2) -> np.ndarray:
    """(n, n) vertical sine stripes `period` pixels apart: finer than 2f pixels, so they alias for any f >= 2."""
    if n < 2 or period <= 0:
        raise ConvConfigError(f"stripes need n >= 2 and a positive period (got {n}, {period})", "size")
    x = np.arange(n)
    row = 0.5 + 0.5 * np.cos(2 * math.pi * x / period)
    return np.repeat(row[None, :], n, axis=0)


ALIASING_PATTERNS = {"zone plate": zone_plate, "fine stripes": fine_stripes}


# --------------------------------------------------------------------------------------------------
# The four ways down
# --------------------------------------------------------------------------------------------------


def _image(x: object) -> np.ndarray:
    a = np.asarray(x, dtype=float)
    if a.ndim not in (2, 3) or a.shape[0] < 1 or a.shape[1] < 1 or (a.ndim == 3 and a.shape[2] < 1):
        raise ConvConfigError(
            f"a picture must be (H, W) grey or (H, W, C) colour with H, W >= 1 (got shape {a.shape})", "image"
        )
    if not np.isfinite(a).all():
        raise ConvConfigError("the picture holds NaN or infinite values", "image")
    return a


def _factor(factor: int) -> int:
    if int(factor) != factor or factor < 1:
        raise ConvConfigError(f"the downsampling factor must be a whole number >= 1 (got {factor})", "factor")
    return int(factor)


def _channels_first(a: np.ndarray) -> np.ndarray:
    """(H, W) -> (1, H, W); (H, W, C) -> (C, H, W)."""
    return a[None] if a.ndim == 2 else np.moveaxis(a, -1, 0)


def _channels_back(y: np.ndarray, like: np.ndarray) -> np.ndarray:
    return y[0] if like.ndim == 2 else np.moveaxis(y, 0, -1)


def anti_alias_sigma(factor: int) -> float:
    """Gaussian sigma for shrinking by `factor`: factor / 2, so the filter has removed most of what lies
    beyond the new Nyquist limit of 1 / (2 factor) cycles per pixel (its gain there is exp(-pi^2/8) ~ 0.29
    and falls fast above)."""
    return _factor(factor) / 2.0


def gaussian_1d(sigma: float) -> np.ndarray:
    """Normalised 1D Gaussian of 2 * ceil(2 sigma) + 1 taps; its outer product with itself is the 2D blur."""
    if not sigma > 0:
        raise ConvConfigError(f"sigma must be positive (got {sigma})", "sigma")
    radius = max(1, math.ceil(2 * sigma))
    t = np.arange(-radius, radius + 1, dtype=float)
    g = np.exp(-(t**2) / (2 * sigma**2))
    return g / g.sum()


def subsample(x: object, factor: int) -> np.ndarray:
    """Every `factor`-th pixel, starting at the first: output ceil(H / f) x ceil(W / f)."""
    a, f = _image(x), _factor(factor)
    return a[::f, ::f].copy()


def _strided_correlate(a: np.ndarray, taps: np.ndarray, stride: int, axis: int) -> np.ndarray:
    """Valid 1D correlation of `a` with `taps` along `axis`, keeping every `stride`-th output."""
    windows = sliding_window_view(a, taps.size, axis=axis)  # (..., n - k + 1, ..., k)
    index = [slice(None)] * a.ndim
    index[axis] = slice(None, None, stride)
    return windows[tuple(index)] @ taps


def blur_subsample(x: object, factor: int, sigma: float | None = None) -> np.ndarray:
    """Gaussian blur (edge pixels replicated), then every `factor`-th pixel: ceil(H / f) x ceil(W / f).

    The 2D Gaussian is separable, so this runs two 1D passes, each read with stride `factor`; the result
    equals F.conv2d(F.pad(x, (r, r, r, r), mode="replicate"), outer(g, g), stride=factor).
    """
    a, f = _image(x), _factor(factor)
    g = gaussian_1d(anti_alias_sigma(f) if sigma is None else sigma)
    r = g.size // 2
    pad = [(r, r), (r, r)] + ([(0, 0)] if a.ndim == 3 else [])
    padded = np.pad(a, pad, mode="edge")
    rows = _strided_correlate(padded, g, f, axis=0)  # (ceil(H / f), W + 2r[, C])
    return _strided_correlate(rows, g, f, axis=1)  # (ceil(H / f), ceil(W / f)[, C])


@dataclass(frozen=True)
class DownsampleResult:
    """One picture shrunk four ways by the same factor."""

    source: np.ndarray  # (H, W) or (H, W, C), floats in [0, 1]
    factor: int
    sigma: float  # of the blur used before subsampling
    methods: dict[str, np.ndarray]  # name -> shrunk picture, in DOWNSAMPLE_METHODS order

    def sizes(self) -> dict[str, tuple[int, int]]:
        """(height, width) of every result."""
        return {name: (int(y.shape[0]), int(y.shape[1])) for name, y in self.methods.items()}


def downsample_compare(x: object, factor: int = 2, sigma: float | None = None) -> DownsampleResult:
    """Shrink `x` by `factor` with subsampling, max pooling, average pooling and blur-then-subsample."""
    a, f = _image(x), _factor(factor)
    if min(a.shape[:2]) < f:
        raise ConvConfigError(
            f"a {a.shape[0]}×{a.shape[1]} picture is smaller than the factor {f}: pooling by {f} needs at "
            f"least {f} pixels a side. Choose a smaller factor or a larger picture.",
            "factor",
        )
    s = anti_alias_sigma(f) if sigma is None else float(sigma)
    chw = _channels_first(a)
    methods = {
        "subsample": subsample(a, f),
        "max pool": _channels_back(max_pool2d(chw, f), a),
        "average pool": _channels_back(avg_pool2d(chw, f), a),
        "blur, then subsample": blur_subsample(a, f, s),
    }
    return DownsampleResult(a, f, s, methods)


# --------------------------------------------------------------------------------------------------
# Display helpers
# --------------------------------------------------------------------------------------------------


def picture_input(rgb: np.ndarray, max_side: int = MAX_PICTURE_SIDE) -> np.ndarray:
    """A uint8 (H, W, 3) picture as floats in [0, 1], shrunk by averaging whole blocks to <= `max_side`."""
    from cnnviz.images.loading import preview

    return preview(np.asarray(rgb, dtype=np.uint8), max_side).astype(float) / 255.0


def to_uint8(x: np.ndarray) -> np.ndarray:
    """Floats in [0, 1] as uint8 0..255 (clipped, rounded)."""
    return np.round(np.clip(x, 0.0, 1.0) * 255.0).astype(np.uint8)


def enlarge_nearest(x: np.ndarray, scale: int) -> np.ndarray:
    """Every pixel repeated into a `scale` x `scale` block, so the shrunk pixels stay visible as squares."""
    if scale < 1:
        raise ConvConfigError(f"scale must be at least 1 (got {scale})", "scale")
    return np.repeat(np.repeat(x, scale, axis=0), scale, axis=1)
