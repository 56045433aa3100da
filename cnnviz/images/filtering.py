"""Apply a 2D kernel to a photo, exactly as PyTorch would, and as fast as the fastest library for it.

The arithmetic is PyTorch's `torch.nn.functional.conv2d`: a cross-correlation (the kernel is not
flipped), with the same stride, padding, padding modes and dilation, applied to each colour channel
on its own (like a depthwise convolution with `groups=3`) or to the luminance of the photo.

Eight interchangeable backends compute the same numbers; `choose_backend` picks one per kernel by a
small rule measured side by side with `bench/bench_filter.py` and `bench/bench_image_page.py`
(see "Choosing a backend"):

* "opencv": `cv2.filter2D`. Below 130 kernel cells it sums the non-zero taps directly (dilation gaps
  are free); from 130 cells on it switches by itself to a DFT, whose cost hardly depends on the kernel.
* "opencv_separable": `cv2.sepFilter2D` for a rank-1 kernel (Gaussian, box, Sobel...), the outer
  product of a column and a row: a vertical then a horizontal 1D pass, kh + kw taps, not kh * kw.
* "opencv_phases": for a dilated kernel, cv2.filter2D on each of the dilation's phases of the image
  (every d-th row and column) with the undilated kernel, whose few cells keep filter2D on its direct
  sum where the dilated kernel (130+ cells, gaps included) would send it to its DFT.
* "opencv_strided": for a stride of 2 or more, the rows the stride keeps computed alone: the sum of
  cv2.filter2D over each phase of the rows (every s-th) with the kernel rows that fall on it; for
  a rank-1 kernel the phases take the vertical pass only and the rows' pass runs once, on the rows kept.
* "opencv_bands": for a kernel of 130 to ~260 cells, cv2.filter2D on the top and the bottom half of
  its rows, summed: two direct sums of fewer than 130 cells each beat filter2D's DFT of the whole.
* "direct": the sum over kernel taps of shifted image slices times the tap's weight (numpy). Cost
  grows with the non-zero taps only, so it beats OpenCV's DFT on a few taps spread wide by dilation.
* "separable": the same two 1D passes in numpy, over the non-zero taps only: faster than OpenCV's
  once dilation spreads a rank-1 kernel wider than ~45 pixels.
* "fft": the correlation theorem with `scipy.fft` (kept as a reference; OpenCV's DFT is faster).

OpenCV's border modes are mapped exactly onto PyTorch's padding modes (zeros = BORDER_CONSTANT,
reflect = BORDER_REFLECT_101, replicate = BORDER_REPLICATE); circular padding, and padding wider
than the kernel needs, is made first with `cv2.copyMakeBorder` (sepFilter2D, and filter2D on small
kernels, refuse BORDER_WRAP).
Where the padding is smaller than the kernel, its anchor (the kernel cell over the output pixel)
is put at (left, top) padding, so asymmetric padding and 'same' with even kernels (PyTorch puts
the odd cell after) come out as in PyTorch; OpenCV's default anchor (k // 2) would put it before.

Every large array the OpenCV paths write (the result, a padded copy, the display image) comes from
`buffers`: one written before and no longer held, where there is one, since fresh pages cost the
small kernels a third of their time.

Everything runs in float32 on the 0..1 scale (uint8 input counts as value / 255), as PyTorch
computes. The signed result is then mapped to a displayable uint8 image ("clip", "normalize" or
"abs") and a one-sentence note says which mapping was applied to which range of values.

Alpha is never filtered: an RGBA (or grey+alpha) image is filtered on its colour channels only and
the result is opaque, because a transparency mask blurred or edge-detected means nothing and the
output may not even have the input's size. The note says so.
"""

from __future__ import annotations

import functools
import math
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Literal, get_args

import cv2
import numpy as np
import scipy.fft

from cnnviz.conv.args import PADDING_MODES, ConvGeometry, IntOrTuple, Padding, resolve_geometry
from cnnviz.conv.numbers import size_text
from cnnviz.errors import ConvConfigError
from cnnviz.images import buffers

__all__ = [
    "BACKENDS",
    "FILTER_MODES",
    "OUTPUT_MAPPINGS",
    "LUMA_WEIGHTS",
    "FilterResult",
    "choose_backend",
    "correlate_image",
    "filter_image",
    "filter_threads",
    "separable_factors",
    "set_filter_threads",
    "to_float01",
    "to_luminance",
]

Backend = Literal[
    "auto",
    "opencv",
    "opencv_separable",
    "opencv_phases",
    "opencv_strided",
    "opencv_bands",
    "direct",
    "separable",
    "fft",
]
BACKENDS: tuple[str, ...] = get_args(Backend)
FILTER_MODES: tuple[str, ...] = ("per_channel", "luminance")
OUTPUT_MAPPINGS: tuple[str, ...] = ("clip", "normalize", "abs")
# ITU-R BT.601 luma weights for R, G, B (the ones PIL's convert("L") uses).
LUMA_WEIGHTS: tuple[float, float, float] = (0.299, 0.587, 0.114)

# A kernel counts as separable when what is left after taking off its best outer product (see
# `separable_factors`) is, in Frobenius norm, below this fraction of the kernel's. Dropping that rest
# changes an output of a 0..1 image by at most sqrt(kh*kw) times as much (3e-5 of the kernel's scale
# for 31x31): far below one grey level, while kernels built as an outer product in float32 still pass.
_SEPARABLE_RTOL = 1e-6

Factors = tuple[np.ndarray, np.ndarray]  # (column (kh,), row (kw,)) of a rank-1 kernel


# ---------------------------------------------------------------------------------------------
# Threads
#
# One thread per filter call, for every backend (OpenCV's pool, the numpy row bands, scipy.fft).
# The app is a multi-user server on a 2-core machine: Streamlit runs each session's rerun in its
# own thread, OpenCV, numpy and scipy.fft release the GIL while they compute, and training runs in
# worker processes that hold cores of their own. Splitting one filter over both cores only halves
# its time when the machine is otherwise idle; in class, with other students' reruns and training
# runs competing, the extra thread queues behind them and slows everyone else, and two filters at
# once already use both cores on one thread each. One thread keeps each request's cost predictable
# (a 3x3 filter of a 12-megapixel photo: about 50 ms) and the total work minimal, as the server's
# `torch.set_num_threads(1)` does for training. `set_filter_threads` changes it for a one-user run.
_threads = 1
cv2.setNumThreads(_threads)


def filter_threads() -> int:
    """How many threads one filter call uses (1 unless `set_filter_threads` said otherwise)."""
    return _threads


def set_filter_threads(count: int) -> None:
    """Use `count` threads (>= 1) in every backend from now on, OpenCV's included (process-wide)."""
    global _threads, _POOL
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ConvConfigError(f"the filter needs at least one thread (got {count!r})", "threads")
    with _POOL_LOCK:
        _threads = count
        cv2.setNumThreads(count)
        if _POOL is not None:
            _POOL.shutdown(wait=False)
        _POOL = None


def _thread_count() -> int:
    return _threads


_POOL: ThreadPoolExecutor | None = None
_POOL_LOCK = threading.Lock()


def _pool() -> ThreadPoolExecutor:
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = ThreadPoolExecutor(max_workers=_threads, thread_name_prefix="cnnviz-filter")
        return _POOL


# Large arrays are processed in row chunks of about this many values: small enough for the
# temporaries to stay in cache, large enough that the Python loop around them costs little.
_CHUNK_VALUES = 1 << 17

# Below this many multiply-adds a second thread costs more than it saves.
_MIN_WORK_PER_THREAD = 2_000_000


def _row_bands(out_rows: int, work: float) -> list[tuple[int, int]]:
    """Split output rows into one band per thread when there is enough work to share."""
    n = min(_thread_count(), out_rows, max(1, int(work // _MIN_WORK_PER_THREAD)))
    edges = np.linspace(0, out_rows, n + 1).round().astype(int)
    return [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:], strict=True) if b > a]


def _run_bands(band_job: Callable[[int, int], None], bands: list[tuple[int, int]]) -> None:
    if len(bands) == 1:
        band_job(*bands[0])
        return
    # numpy and scipy.fft release the GIL inside their loops, so the threads really run in parallel.
    for future in [_pool().submit(band_job, a, b) for a, b in bands]:
        future.result()


@dataclass(frozen=True)
class FilterResult:
    """What `filter_image` computed, ready to show.

    raw:         float32, (H', W') for a 2D image or in luminance mode, else (H', W', C) with C the
                 input's colour channels (3, or 1 for (H, W, 1) and grey+alpha); the signed
                 correlation on the 0..1 scale of the input, before any display mapping. It may be
                 a view into a larger array (cropped or strided), to save a copy.
    display:     uint8, same shape as `raw`: `raw` mapped to 0..255 by the chosen output mapping.
    backend:     which backend computed `raw` (one of `BACKENDS` other than "auto").
    note:        one sentence for the student on the display mapping and the value range
                 (plus one on the alpha channel when the input had one).
    output_size: (H', W').
    """

    raw: np.ndarray
    display: np.ndarray
    backend: str
    note: str
    output_size: tuple[int, int]


# ---------------------------------------------------------------------------------------------
# Input conversion


def _check_image(image: np.ndarray, finite: bool = True) -> np.ndarray:
    """The image as an array, if its shape and dtype can be filtered (and, if `finite`, no NaN or inf)."""
    image = np.asarray(image)
    if image.ndim not in (2, 3):
        raise ConvConfigError(
            f"image must be (height, width) for grey or (height, width, channels) for colour, "
            f"channels last; got {image.ndim} dimensions {image.shape}. A batch or a channels-first "
            "tensor must be split or transposed first.",
            "image",
        )
    if image.ndim == 3 and image.shape[2] not in (1, 2, 3, 4):
        raise ConvConfigError(
            f"image has {image.shape[2]} channels in its last axis; expected 1 (grey), 2 (grey+alpha), "
            "3 (RGB) or 4 (RGBA). If the channels come first, move them last "
            "(np.moveaxis(image, 0, -1)).",
            "image",
        )
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise ConvConfigError(f"image is empty (shape {image.shape}); load a picture first", "image")
    if image.dtype != np.uint8 and image.dtype.kind != "f":
        raise ConvConfigError(
            f"image must be uint8 (0..255) or float (0..1); got {image.dtype}. "
            "Convert it, e.g. image.astype(np.float32) / image.max().",
            "image",
        )
    if finite and image.dtype != np.uint8 and not np.isfinite(image).all():
        raise ConvConfigError("image contains NaN or infinite values; replace them first", "image")
    return image


def to_float01(image: np.ndarray) -> np.ndarray:
    """The image as float32 on the 0..1 scale, same shape: uint8 is divided by 255, float is kept.

    Float values outside 0..1 are kept as they are, so a signed image (e.g. an earlier filter's
    raw output) can be filtered again.
    """
    image = _check_image(image)
    if image.dtype == np.uint8:
        return np.divide(image, np.float32(255.0), dtype=np.float32)
    return image.astype(np.float32, copy=False)


def _color_channels(image: np.ndarray) -> tuple[np.ndarray, bool]:
    """(H, W, C) view of the colour channels only, and whether an alpha channel was dropped."""
    if image.ndim == 2:
        return image[:, :, None], False
    c = image.shape[2]
    if c in (2, 4):  # grey+alpha, RGBA: alpha is last
        return image[:, :, : c - 1], True
    return image, False


def to_luminance(image: np.ndarray) -> np.ndarray:
    """Luma Y = 0.299 R + 0.587 G + 0.114 B (ITU-R BT.601) as float32 (H, W) on the 0..1 scale.

    Grey images are returned as they are (converted to 0..1); alpha is ignored.
    """
    return _luma(_color_channels(_check_image(image))[0])


def _luma(colour: np.ndarray) -> np.ndarray:
    """(H, W) float32 luma on the 0..1 scale of checked (H, W, 1 or 3) colour channels."""
    scale = np.float32(1.0 / 255.0) if colour.dtype == np.uint8 else np.float32(1.0)
    if colour.shape[2] == 1:
        return np.multiply(colour[:, :, 0], scale, dtype=np.float32)
    # Weighted sum channel by channel in float32: one pass each, no (H, W, 3) float copy.
    r, g, b = (np.float32(w) * scale for w in LUMA_WEIGHTS)
    luma = np.multiply(colour[:, :, 0], r, dtype=np.float32)
    luma += np.multiply(colour[:, :, 1], g, dtype=np.float32)
    luma += np.multiply(colour[:, :, 2], b, dtype=np.float32)
    return luma


def _check_kernel(kernel: np.ndarray) -> np.ndarray:
    kernel = np.asarray(kernel)
    if kernel.ndim != 2:
        raise ConvConfigError(
            f"kernel must be a 2D grid of numbers (rows x columns); got {kernel.ndim} dimensions "
            f"{kernel.shape}. One kernel is applied to every colour channel.",
            "kernel",
        )
    if kernel.size == 0:
        raise ConvConfigError(f"kernel is empty (shape {kernel.shape}); give it at least one cell", "kernel")
    if kernel.dtype.kind not in "iuf":  # integers or floats; not bool, complex, text or objects
        raise ConvConfigError(f"kernel must hold real numbers (got dtype {kernel.dtype})", "kernel")
    kernel = kernel.astype(np.float64)
    if not np.isfinite(kernel).all():
        raise ConvConfigError("kernel contains NaN or infinite values; every cell needs a number", "kernel")
    return kernel


# ---------------------------------------------------------------------------------------------
# Padding


def _check_padding_fits(geometry: ConvGeometry, size: tuple[int, int], padding_mode: str) -> None:
    """Refuse the paddings PyTorch refuses: reflect needs pad < size, circular pad <= size."""
    if padding_mode not in ("reflect", "circular"):
        return
    for axis, (before, after), n in zip(("height", "width"), geometry.padding, size, strict=True):
        pad = max(before, after)
        if padding_mode == "reflect" and pad >= n:
            raise ConvConfigError(
                f"reflect padding of {pad} along the {axis} needs the image to be at least {pad + 1} "
                f"cells {axis}-wise (got {n}): reflection mirrors inner cells and there are only "
                f"{n - 1} besides the edge. Use less padding, or replicate/zeros padding.",
                "padding",
            )
        if padding_mode == "circular" and pad > n:
            raise ConvConfigError(
                f"circular padding of {pad} along the {axis} is more than the image's {n} cells: "
                "it would wrap around more than once. Use at most "
                f"{n}, or replicate/zeros padding.",
                "padding",
            )


def _source_index(positions: np.ndarray, n: int, padding_mode: str) -> np.ndarray:
    """For padded positions (relative to the image, may be <0 or >=n), the image cell they copy."""
    if padding_mode == "replicate":
        return np.clip(positions, 0, n - 1)
    if padding_mode == "circular":
        return positions % n
    # reflect without repeating the edge cell (PyTorch/numpy "reflect"); pads are < n here.
    if n == 1:
        return np.zeros_like(positions)
    period = 2 * (n - 1)
    p = positions % period
    return np.where(p < n, p, period - p)


def _pad(colour: np.ndarray, pads: tuple[tuple[int, int], ...], padding_mode: str) -> np.ndarray:
    """(Hp, Wp, C) float32 C-contiguous: the colour channels on the 0..1 scale, padded.

    Converting to float32 straight into the padded buffer saves a full pass over a large photo
    compared with converting first and padding afterwards.
    """
    (top, bottom), (left, right) = pads
    h, w, c = colour.shape
    shape = (h + top + bottom, w + left + right, c)
    out = np.zeros(shape, np.float32) if padding_mode == "zeros" else np.empty(shape, np.float32)
    inner = out[top : top + h, left : left + w]
    if colour.dtype == np.uint8:
        np.divide(colour, np.float32(255.0), out=inner, dtype=np.float32)
    else:
        inner[...] = colour
    if padding_mode == "zeros":
        return out
    # Rows first (inside the image's columns), then whole columns, so corners come out as in
    # PyTorch: out[i, j] = image[map(i), map(j)].
    for axis, (before, after), n, offset in ((0, pads[0], h, top), (1, pads[1], w, left)):
        if before == 0 and after == 0:
            continue
        band = out[:, left : left + w] if axis == 0 else out
        positions = np.r_[np.arange(-before, 0), np.arange(n, n + after)]
        source = _source_index(positions, n, padding_mode) + offset
        target = positions + offset
        if axis == 0:
            band[target] = band[source]
        else:
            band[:, target] = band[:, source]
    return out


# ---------------------------------------------------------------------------------------------
# Kernel analysis


def _dilate(kernel: np.ndarray, dilation: tuple[int, ...]) -> np.ndarray:
    """The kernel with d-1 zeros between taps: its correlation equals the dilated correlation."""
    if all(d == 1 for d in dilation):
        return kernel
    span = tuple(d * (k - 1) + 1 for k, d in zip(kernel.shape, dilation, strict=True))
    out = np.zeros(span, kernel.dtype)
    out[tuple(slice(None, None, d) for d in dilation)] = kernel
    return out


def separable_factors(kernel: np.ndarray) -> Factors | None:
    """(column (kh,), row (kw,)) with kernel == outer(column, row) if the kernel has rank 1, else None.

    Rank 1 means every row is a multiple of one row: then the kernel equals the outer product of its
    column and row through its largest cell (the pivot), divided by the pivot. What is left over after
    taking that product off must be (numerically) zero. A few microseconds, where an SVD takes ~100.
    """
    kernel = np.asarray(kernel, np.float64)
    if kernel.ndim != 2 or kernel.size == 0:
        return None
    i, j = np.unravel_index(int(np.argmax(np.abs(kernel))), kernel.shape)
    pivot = float(kernel[i, j])
    if pivot == 0.0:  # all-zero kernel: trivially separable
        return np.zeros(kernel.shape[0]), np.zeros(kernel.shape[1])
    column, row = kernel[:, j].copy(), kernel[i, :] / pivot
    rest = kernel - np.outer(column, row)
    if math.sqrt(float(np.vdot(rest, rest))) > _SEPARABLE_RTOL * math.sqrt(float(np.vdot(kernel, kernel))):
        return None
    return column, row


# ---------------------------------------------------------------------------------------------
# The numpy and scipy backends: each takes the padded (Hp, Wp, C) float32 image and the dilated
# kernel, and returns the stride-1 "valid" correlation, (Hp - sh + 1, Wp - sw + 1, C) float32.
#
# The two sliding-window backends add up shifted copies of the image, one kernel tap at a time:
# seen as a 2D (rows, Wp*C) array, the pixels under tap (i, j) for output rows a..b are the plain
# slice [a+i : b+i, j*C : j*C + W'*C], so each tap is one vectorised multiply-add and all colour
# channels go together. Rows are processed in cache-sized chunks, shared between threads when more
# than one is allowed (numpy releases the GIL). On one thread, a 2048x2048 RGB image costs about
# 22 ms plus 3 ms per non-zero tap, padding included; sums are in float32, as in PyTorch.


def _valid_shape(padded: np.ndarray, span: tuple[int, ...]) -> tuple[int, int, int]:
    return padded.shape[0] - span[0] + 1, padded.shape[1] - span[1] + 1, padded.shape[2]


def _taps(weights: np.ndarray) -> list[tuple[np.float32, int, int]]:
    """(weight, row offset, column offset) of every non-zero tap; zeros (dilation gaps) cost nothing."""
    rows, cols = np.nonzero(weights)
    return [(np.float32(weights[i, j]), int(i), int(j)) for i, j in zip(rows, cols, strict=True)]


def _chunk_rows(values_per_row: int) -> int:
    return max(1, _CHUNK_VALUES // max(1, values_per_row))


def _accumulate(
    dst: np.ndarray,
    src: np.ndarray,
    taps: list[tuple[np.float32, int, int]],
    row0: int,
    channels: int,
    scratch: np.ndarray,
) -> None:
    """dst = sum of weight * src[row0 + i : row0 + i + rows, j*C : j*C + width] over the taps."""
    rows, width = dst.shape
    if not taps:
        dst[...] = 0.0
        return
    tmp = scratch[: rows * width].reshape(rows, width)
    for n, (weight, i, j) in enumerate(taps):
        window = src[row0 + i : row0 + i + rows, j * channels : j * channels + width]
        if n == 0:
            np.multiply(window, weight, out=dst)
        else:
            np.multiply(window, weight, out=tmp)
            dst += tmp


def _direct(padded: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Sliding-window correlation: one multiply-add of a shifted image slice per non-zero tap."""
    hp, wp, c = padded.shape
    out = np.empty(_valid_shape(padded, kernel.shape), np.float32)
    h1, w1 = out.shape[:2]
    src, dst = padded.reshape(hp, wp * c), out.reshape(h1, w1 * c)
    taps = _taps(kernel)
    chunk = _chunk_rows(w1 * c)

    def rows(a: int, b: int) -> None:
        scratch = np.empty(chunk * w1 * c, np.float32)
        for start in range(a, b, chunk):
            stop = min(b, start + chunk)
            _accumulate(dst[start:stop], src, taps, start, c, scratch)

    _run_bands(rows, _row_bands(h1, out.size * max(1, len(taps))))
    return out


def _separable(padded: np.ndarray, column: np.ndarray, row: np.ndarray) -> np.ndarray:
    """Two 1D passes, down the columns then along the rows: kh + kw taps per output, not kh * kw.

    Both passes run chunk by chunk, so the intermediate (column-filtered) rows stay in cache.
    """
    hp, wp, c = padded.shape
    out = np.empty(_valid_shape(padded, (column.size, row.size)), np.float32)
    h1, w1 = out.shape[:2]
    src, dst = padded.reshape(hp, wp * c), out.reshape(h1, w1 * c)
    down = _taps(column[:, None])  # (weight, i, 0)
    across = _taps(row[None, :])  # (weight, 0, j)
    chunk = _chunk_rows(wp * c)

    def rows(a: int, b: int) -> None:
        scratch = np.empty(chunk * wp * c, np.float32)
        vertical = np.empty((chunk, wp * c), np.float32)
        for start in range(a, b, chunk):
            stop = min(b, start + chunk)
            part = vertical[: stop - start]
            _accumulate(part, src, down, start, c, scratch)
            _accumulate(dst[start:stop], part, across, 0, c, scratch)

    _run_bands(rows, _row_bands(h1, out.size * max(1, len(down) + len(across))))
    return out


def _fft(padded: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Correlation theorem: ifft(fft(image) * conj(fft(kernel))), all channels at once, on all threads.

    The transform only needs to be as long as the padded image, not image + kernel - 1: the
    circular wrap-around lands only on the outputs past the valid ones, which are cut off.
    """
    h1, w1, _ = _valid_shape(padded, kernel.shape)
    # rfft2 does a real transform along the width, then a complex one along the height.
    size = (scipy.fft.next_fast_len(padded.shape[0]), scipy.fft.next_fast_len(padded.shape[1], real=True))
    workers = _thread_count()
    spectrum = scipy.fft.rfft2(padded, s=size, axes=(0, 1), workers=workers)
    kernel_spectrum = scipy.fft.rfft2(kernel.astype(np.float32), s=size, workers=workers)
    spectrum *= np.conj(kernel_spectrum)[:, :, None]  # conj: correlation, not convolution
    full = scipy.fft.irfft2(spectrum, s=size, axes=(0, 1), workers=workers, overwrite_x=True)
    return np.ascontiguousarray(full[:h1, :w1])


# ---------------------------------------------------------------------------------------------
# The OpenCV backends
#
# cv2.filter2D / sepFilter2D correlate (no flip) and return an image of the input's size: output
# pixel y reads the input from y - anchor on. PyTorch's output r reads from r - top (top padding),
# so anchor = top gives output r at y = r, for every r the padding allows, as long as the padding
# leaves the anchor inside the kernel: top + bottom <= span - 1 (likewise for the width). The few
# border pixels OpenCV makes past the image follow the border mode, and exactly PyTorch's modes
# (reflect without repeating the edge is BORDER_REFLECT_101). The outputs PyTorch does not make
# (rows from out_h on) are cut off. Wider padding, and circular padding (filter2D and
# sepFilter2D refuse BORDER_WRAP, copyMakeBorder does not), is made first, then only the windows
# fully inside are kept, with the anchor at (0, 0).

_BORDERS = {
    "zeros": cv2.BORDER_CONSTANT,
    "reflect": cv2.BORDER_REFLECT_101,
    "replicate": cv2.BORDER_REPLICATE,
    "circular": cv2.BORDER_WRAP,
}

# cv2.filter2D runs its DFT from this many kernel cells on, for a float32 image into float32
# (130), and already from 50 for a uint8 image into float32 (OpenCV's `dftFilter2D`, filter.dispatch.cpp).
_OPENCV_DFT_CELLS = 130
_OPENCV_DFT_CELLS_UINT8 = 50
# filter2D of uint8 straight into float32 beats converting to float32 first only for the few taps of a
# 3x3 kernel (12-megapixel photo, one thread: 3x3 50-72 ms vs 77-87 ms; 5x5 145 ms vs 96 ms).
# sepFilter2D of uint8 is always faster (3x3 42 ms vs 85 ms, 11x11 86 ms vs 130 ms).
_UINT8_MAX_TAPS = 9  # also the taps up to which filter2D beats sepFilter2D on a dilated float kernel


# The most channels an OpenCV image can have (CV_CN_MAX).
_CV_CN_MAX = 512


def _opencv_source(colour: np.ndarray, keep_uint8: bool) -> tuple[np.ndarray, float]:
    """(The image as OpenCV takes it, the factor turning its values into 0..1): uint8 kept or float32.

    (H, W, 1) becomes (H, W); a view that is not C-contiguous (the colour channels of RGBA) is copied.
    """
    image = colour[:, :, 0] if colour.shape[2] == 1 else colour
    if colour.dtype == np.uint8:
        if keep_uint8:
            return np.ascontiguousarray(image), 1.0 / 255.0
        return np.multiply(image, np.float32(1.0 / 255.0), out=buffers.empty(image.shape, np.float32)), 1.0
    return np.ascontiguousarray(image, dtype=np.float32), 1.0


def _bordered(source: np.ndarray, top: int, bottom: int, left: int, right: int, border: int) -> np.ndarray:
    """cv2.copyMakeBorder (zeros for BORDER_CONSTANT) into a recycled array (see `buffers`)."""
    h, w = source.shape[:2]
    dst = buffers.empty((h + top + bottom, w + left + right, *source.shape[2:]), source.dtype)
    return cv2.copyMakeBorder(source, top, bottom, left, right, border, dst=dst, value=0)


def _float_out(source: np.ndarray) -> np.ndarray:
    """A recycled float32 array of `source`'s shape, for an OpenCV filter of it to write into."""
    return buffers.empty(source.shape, np.float32)


def _opencv(
    colour: np.ndarray,
    kernel: np.ndarray,
    factors: Factors | None,
    pads: tuple[tuple[int, int], ...],
    padding_mode: str,
) -> np.ndarray:
    """Stride-1 correlation with OpenCV: (H1, W1, C) float32, a view cropped from OpenCV's output.

    `kernel` is the dilated (span_h, span_w) kernel; with `factors` (its dilated column and row),
    sepFilter2D runs the two 1D passes instead of filter2D.
    """
    (top, bottom), (left, right) = pads
    span_h, span_w = kernel.shape
    h, w = colour.shape[:2]
    out_h, out_w = h + top + bottom - span_h + 1, w + left + right - span_w + 1
    if factors is not None:
        keep_uint8 = True
    else:
        keep_uint8 = kernel.size < _OPENCV_DFT_CELLS_UINT8 and np.count_nonzero(kernel) <= _UINT8_MAX_TAPS
    source, scale = _opencv_source(colour, keep_uint8)
    if padding_mode != "circular" and top + bottom < span_h and left + right < span_w:
        anchor, border = (left, top), _BORDERS[padding_mode]
    else:
        source = _bordered(source, top, bottom, left, right, _BORDERS[padding_mode])
        anchor, border = (0, 0), cv2.BORDER_CONSTANT  # the border only reaches the outputs cut off
    if factors is not None:
        column, row = factors
        full = cv2.sepFilter2D(
            source,
            cv2.CV_32F,
            (row * scale if scale != 1.0 else row).astype(np.float32),
            column.astype(np.float32),
            dst=_float_out(source),
            anchor=anchor,
            borderType=border,
        )
    else:
        kernel32 = (kernel * scale).astype(np.float32)
        full = cv2.filter2D(
            source, cv2.CV_32F, kernel32, dst=_float_out(source), anchor=anchor, borderType=border
        )
    cropped = full[:out_h, :out_w]
    return cropped[:, :, None] if cropped.ndim == 2 else cropped


def _padded_float32(
    colour: np.ndarray, pads: tuple[tuple[int, int], ...], padding_mode: str, extra_rows: int, extra_cols: int
) -> tuple[np.ndarray, float]:
    """(The padded image for OpenCV, (Hp + extra_rows, Wp + extra_cols) float32, the factor to 0..1).

    The extra rows and columns, zeros below and right of the padding, only give strided views
    whole groups; no output that is kept reads them.
    """
    (top, bottom), (left, right) = pads
    source, scale = _opencv_source(colour, keep_uint8=False)
    if padding_mode == "zeros":
        return _bordered(
            source, top, bottom + extra_rows, left, right + extra_cols, cv2.BORDER_CONSTANT
        ), scale
    padded = _bordered(source, top, bottom, left, right, _BORDERS[padding_mode])
    if extra_rows or extra_cols:
        padded = _bordered(padded, 0, extra_rows, 0, extra_cols, cv2.BORDER_CONSTANT)
    return padded, scale


def _opencv_strided(
    colour: np.ndarray,
    kernel: np.ndarray,
    factors: Factors | None,
    stride: tuple[int, ...],
    pads: tuple[tuple[int, int], ...],
    padding_mode: str,
) -> np.ndarray:
    """The strided correlation, without computing the rows the stride drops: (H', W', C) float32.

    Output row r reads padded rows sh * r + u for the kernel's rows u: those with u = a modulo sh
    are all rows of one phase of the image, padded[a::sh], under the sub-kernel kernel[a::sh]. So
    the output rows are the sum of sh correlations (filter2D, or sepFilter2D with `factors`), each
    of 1/sh of the rows with 1/sh of the kernel's rows: about 1/sh of the work of the full filter.
    A phase is a view (every sh-th row), which OpenCV reads in place. The columns are filtered
    whole and every sw-th kept (a view): splitting them into phases as well means copying the
    phases out first, which measured slower than what it saves (2048x2048 RGB, 7x7, stride 2:
    42 ms, against 21 ms for the row phases alone).
    With zeros padding no padded copy is made: the phase of the padded rows is a phase of the
    image's rows, shifted, and filter2D's zero border (its anchor set to the shift) is the padding.
    `kernel` is the dilated one, `factors` its dilated column and row; phases without a tap are skipped.
    """
    (top, bottom), (left, right) = pads
    sh, sw = stride
    span_h, span_w = kernel.shape
    h, w = colour.shape[:2]
    out_h = (h + top + bottom - span_h) // sh + 1
    out_w = w + left + right - span_w + 1  # before the column stride
    taps = np.count_nonzero(kernel)
    keep_uint8 = factors is not None or (kernel.size < _OPENCV_DFT_CELLS_UINT8 and taps <= _UINT8_MAX_TAPS)
    source, scale = _opencv_source(colour, keep_uint8)
    # (first row of the image's phase, anchor row) for each phase a of the padded rows, when the
    # zero border can stand for the padding: padded row sh * (r + i) + a is image row
    # sh * (r + i + q) + first, with q = floor((a - top) / sh) <= 0, read at anchor -q.
    shifts = []
    for a in range(min(sh, span_h)):
        q, first = divmod(a - top, sh)
        sub_rows = len(range(a, span_h, sh))
        if -q >= sub_rows or len(range(first, h, sh)) < out_h:
            break
        shifts.append((first, -q))
    if padding_mode == "zeros" and left + right < span_w and len(shifts) == min(sh, span_h):
        border, anchor_x = cv2.BORDER_CONSTANT, left
    else:
        source = _bordered(source, top, bottom, left, right, _BORDERS[padding_mode])
        border, anchor_x = cv2.BORDER_CONSTANT, 0
        shifts = [(a, 0) for a in range(min(sh, span_h))]
    jobs = []  # (phase, its sub-kernel, anchor), the longest sub-kernel first
    for a, (first, anchor_y) in enumerate(shifts):
        if factors is not None:  # the vertical pass only: the rows' pass follows, once
            sub = (factors[0][a::sh, None] * scale).astype(np.float32)
            anchor = (0, anchor_y)
        else:
            sub = (kernel[a::sh] * scale).astype(np.float32)
            anchor = (anchor_x, anchor_y)
        if sub.any():
            jobs.append((source[first::sh], sub, anchor))
    jobs.sort(key=lambda job: -job[1].shape[0])
    out = None
    for phase, sub, anchor in jobs:
        if out is None and factors is not None and sub.shape == (2, 1) and phase.dtype == np.float32:
            out = _two_rows(phase, float(sub[0, 0]), float(sub[1, 0]), anchor[1], out_h)
            continue
        if out is not None and sub.size == 1 and anchor == (0, 0) and phase.dtype == np.float32:
            # one tap, no shift: out += tap * phase in one pass, with no new image
            cv2.scaleAdd(phase[:out_h], float(sub[0, 0]), out, dst=out)
            continue
        part = cv2.filter2D(phase, cv2.CV_32F, sub, dst=_float_out(phase), anchor=anchor, borderType=border)
        part = part[:out_h]
        if out is None:
            out = part
        else:
            cv2.add(out, part, dst=out)
    if out is None:  # an all-zero kernel
        return np.zeros((out_h, -(-out_w // sw), colour.shape[2]), np.float32)
    if factors is not None:
        # The rows' pass over the out_h rows kept, written over its input: a one-row kernel reads
        # only the row it writes, which OpenCV's filter copies into its own buffer first.
        cv2.filter2D(
            out,
            cv2.CV_32F,
            factors[1][None, :].astype(np.float32),
            dst=out,
            anchor=(anchor_x, 0),
            borderType=border,
        )
    out = out[:, :out_w:sw]
    return out[:, :, None] if out.ndim == 2 else out


def _two_rows(phase: np.ndarray, top: float, bottom: float, anchor: int, rows: int) -> np.ndarray:
    """out[r] = top * phase[r - anchor] + bottom * phase[r + 1 - anchor], zero outside the phase: (rows, ...).

    A two-tap vertical correlation as one cv2.addWeighted of two shifted views: a single pass, where
    filter2D with the (2, 1) kernel takes about half as long again (2048x2048 RGB, stride 2: 4.3 ms).
    """
    n = phase.shape[0]
    out = buffers.empty((rows, *phase.shape[1:]), np.float32)
    lo = max(0, anchor)  # rows lo..hi-1 have both taps inside the phase
    hi = max(lo, min(rows, n - 1 + anchor))
    if hi > lo:
        cv2.addWeighted(phase[lo - anchor : hi - anchor], top, phase[lo + 1 - anchor : hi + 1 - anchor],
                        bottom, 0.0, dst=out[lo:hi])  # fmt: skip
    for r in (*range(lo), *range(hi, rows)):  # the rows where a tap falls on the zero border
        row = np.zeros(phase.shape[1:], np.float32)
        for weight, source in ((top, r - anchor), (bottom, r + 1 - anchor)):
            if 0 <= source < n:
                row += np.float32(weight) * phase[source]
        out[r] = row
    return out


def _opencv_bands(
    colour: np.ndarray, kernel: np.ndarray, pads: tuple[tuple[int, int], ...], padding_mode: str
) -> np.ndarray:
    """Stride-1 correlation as the sum of filter2D over two bands of the kernel's rows: (H1, W1, C).

    Each band has fewer than 130 cells (the kernel up to 2 * 129), so filter2D sums it directly
    where the whole kernel would send it to its DFT. The padding is made first; band rows r0..r1
    read the padded image from row r0 on (a view), anchored at (0, 0). 2048x2048 RGB float32, one
    thread: 13x13 137 ms against 199 for the DFT, 15x15 156 against 175; with three bands or more
    the DFT wins (19x19: 350 against 184).
    """
    kh, kw = kernel.shape
    (top, bottom), (left, right) = pads
    h, w = colour.shape[:2]
    out_h, out_w = h + top + bottom - kh + 1, w + left + right - kw + 1
    padded, scale = _padded_float32(colour, pads, padding_mode, 0, 0)
    middle = -(-kh // 2)
    out = None
    for r0, r1 in ((0, middle), (middle, kh)) if kh > 1 else ((0, 1),):
        band = (kernel[r0:r1] * scale).astype(np.float32)
        rows = padded[r0:]
        part = cv2.filter2D(
            rows, cv2.CV_32F, band, dst=_float_out(rows), anchor=(0, 0), borderType=cv2.BORDER_CONSTANT
        )[:out_h, :out_w]
        if out is None:
            out = part
        else:
            out += part
    assert out is not None
    return out[:, :, None] if out.ndim == 2 else out


def _opencv_phases(
    colour: np.ndarray,
    weights: np.ndarray,
    dilation: tuple[int, ...],
    pads: tuple[tuple[int, int], ...],
    padding_mode: str,
) -> np.ndarray:
    """Stride-1 dilated correlation as d_h * d_w dense ones: (H1, W1, C) float32, with cv2.filter2D.

    With dilation (dh, dw), output row y only reads padded rows y, y + dh, y + 2 dh...: the rows of
    one phase, y mod dh. So the outputs of phase a (rows a, a + dh, ...) are the correlation of the
    padded rows a::dh with the undilated (kh, kw) `weights`, a kernel small enough for filter2D's
    direct sum where the dilated one (130+ cells) would send it to its DFT. The columns work the same
    way, all at once: the dw pixels of a group (dw neighbours) are read as one pixel of dw * C
    channels, so output pixel n, channel group b (column dw * n + b) reads input pixels n + j, group
    b: a plain filter2D of the (rows, W / dw, dw * C) view, every channel on its own. Padding is
    made first (copyMakeBorder, any mode), so each phase is a "valid" correlation. OpenCV takes at
    most 512 channels: past that the columns keep their dilation gaps (filter2D skips zero taps).

    Measured on a 2048x2048 RGB float32 image, one thread, against what filter2D does with the
    dilated kernel: 7x7 dilation 2 60 ms (its DFT: 167 ms), 7x7 dilation 4 53 ms (183), 11x11
    dilation 2 86 ms (151); against the numpy direct sum: 3x3 dilation 8 32 ms (42), 5x5 dilation 3
    38 ms (112). It loses where filter2D's direct sum already applies (3x3 dilation 2: 44 ms against
    17) and where the undilated kernel has 130+ cells itself (15x15 dilation 2: 238 ms against 156).
    """
    (top, bottom), (left, right) = pads
    dh, dw = dilation
    c = colour.shape[2]
    if dw * c > _CV_CN_MAX:
        weights, dw = _dilate(weights, (1, dw)), 1
    kh, kw = weights.shape
    h, w = colour.shape[:2]
    hp, wp = h + top + bottom, w + left + right
    out_h, out_w = hp - dh * (kh - 1), wp - dw * (kw - 1)
    extra = -wp % dw  # columns to make the width a multiple of dw; they reach no output kept
    padded, scale = _padded_float32(colour, pads, padding_mode, 0, extra)
    padded = padded.reshape(hp, (wp + extra) // dw, dw * c)
    k32 = (weights * scale).astype(np.float32)
    out = buffers.empty((out_h, out_w, c), np.float32)
    rows_out = out.reshape(out_h, out_w * c)
    for a in range(min(dh, out_h)):
        phase = cv2.filter2D(padded[a::dh], cv2.CV_32F, k32, anchor=(0, 0), borderType=cv2.BORDER_CONSTANT)
        target = rows_out[a::dh]
        target[...] = phase.reshape(phase.shape[0], -1)[: target.shape[0], : out_w * c]
    return out


# ---------------------------------------------------------------------------------------------
# Choosing a backend
#
# Measured side by side (bench/bench_filter.py and bench/bench_image_page.py, one thread, CPU time):
# OpenCV is the fastest of cnnviz's own paths, scipy and torch at every kernel size, dense or
# separable, except where dilation spreads a few taps wide. There filter2D, seeing a kernel of 130+
# cells, uses its DFT: on a 2048x2048 RGB image about 150 ms for spans 12..29, 175 ms at 57 and
# 250 ms at 113 (about 140 + 0.9 * span ms), whatever the taps; the direct numpy sum costs about
# 22 + 3 * taps ms. And sepFilter2D passes over the dilation gaps too, its cost climbing steeply
# past a span of ~45 (12 MP photo, 15x15 Gaussian: 216 ms at span 43, 482 ms at 57, 1.7 s at 113),
# while the numpy separable passes skip them (290-314 ms for the same). So:
# For a float image, a dilated rank-1 kernel of at most 9 taps (3x3) runs faster through filter2D,
# which skips the gaps (2048x2048 RGB, 3x3 Gaussian, dilation 2..4: 13-14 ms against 15-22 ms;
# interleaved pairs, dilation 2: 13.3 against 14.9 ms with zeros padding, 14.5 against 16.6 with
# reflect). Undilated the two are within a few percent, sepFilter2D ahead more often than not
# (30 interleaved pairs: filter2D / sepFilter2D median 1.011 with zeros padding, 1.029 with
# reflect, quartiles 0.95..1.10), so sepFilter2D it is. For a uint8 photo sepFilter2D stays ahead
# at any dilation (12 MP: 38-51 ms against 66-75 ms).
# A dilated kernel of 130+ cells whose undilated kernel has fewer runs as dh * dw dense phases of
# the image through filter2D's direct sum ("opencv_phases", see `_opencv_phases`): 7x7 dilation 2
# 60 ms against 167 for filter2D's DFT, 3x3 dilation 8 32 ms against 42 for the direct numpy sum.
# A kernel of 130+ cells that two bands of its rows split into two of fewer runs as the sum of two
# filter2D direct sums ("opencv_bands", see `_opencv_bands`): 13x13 137 ms against 199 for its DFT.
#   1. rank 1, float image, dilated, at most 9 taps           -> "opencv"
#   2. rank 1 (more than one cell), span at most 45           -> "opencv_separable"
#   3. rank 1, wider span                                     -> "separable" (numpy: non-zero taps only)
#   4. fewer than 130 cells                                   -> "opencv" (its direct sum, gaps skipped)
#   5. dilated, fewer than 130 cells undilated                -> "opencv_phases"
#   6. two bands of rows of under 130 cells each              -> "opencv_bands" (up to 15x15, 16x16)
#   7. at most 40 + span / 3 non-zero taps                    -> "direct" (a few taps spread wide)
#   8. otherwise                                              -> "opencv" (its DFT)
# With a vertical stride sh > 1, where the rule says "opencv" for a kernel of 5x5 or more whose
# row phases (every sh-th kernel row) have fewer than 130 cells: "opencv_strided", the row phases
# only (see `_opencv_strided`). 2048x2048 RGB, stride 2, against filter2D of every row then
# keeping every other: 5x5 25 ms against 27, 7x7 21-33 against 38, 15x15 56-75 against 140-173
# (its DFT); 3x3 loses (19 against 17), and so do the rank-1 kernels through sepFilter2D (5x5 and
# 7x7 Gaussians 25 and 23 against 20 when each phase ran both passes).
# A rank-1 kernel with a vertical stride runs its vertical pass on the row phases and then its rows'
# pass once, over the rows kept ("opencv_strided" with factors), where that measured faster than
# sepFilter2D over every row (2048x2048 RGB, stride 2, medians of 11 interleaved runs):
#   float, zeros padding: 3x3 11.8 ms against 16.9 (a phase of one tap is one scaleAdd), 7x7 16.1
#     against 16.3, 15x15 19.5 against 47, 31x31 42 against 118; not 5x5 (24 against 17, two
#     filter2D passes over the phases where sepFilter2D is as fast as at 3x3);
#   float, reflect (a padded copy first): 15x15 50 against 53, 31x31 60 against 120; not below 15;
#   uint8 (sepFilter2D reads it as it is, 8-12 ms at 3x3..7x7): zeros 15x15 32 against 35, 31x31
#     66 against 79; reflect 31x31 87 against 93; not below.
# The costs of all of them grow in proportion to the pixels, so the rule holds for any photo size.
_OPENCV_SEPARABLE_MAX_SPAN = 45
_DIRECT_BASE_TAPS = 40
_STRIDED_MIN_CELLS = 25
_DIRECT_TAPS_PER_SPAN = 1 / 3


def choose_backend(
    kernel: np.ndarray,
    factors: Factors | None = None,
    *,
    uint8: bool = False,
    dilation: tuple[int, int] = (1, 1),
    stride: tuple[int, int] = (1, 1),
    padding_mode: str = "zeros",
) -> str:
    """The fastest backend for a (dilated) (kh, kw) kernel, by the measured rule above.

    `factors` are the kernel's separable factors (see `separable_factors`), or None if it has none;
    `uint8` says the image is uint8 (0..255), which OpenCV reads as it is, else it is float;
    `dilation` is the one `kernel` was dilated by (its taps are `dilation` apart), `stride` and
    `padding_mode` the convolution's.
    """
    chosen = _stride_one_backend(kernel, factors, uint8, dilation)
    span_h, span_w = kernel.shape
    if chosen == "opencv_separable" and stride[0] > 1 and dilation == (1, 1):
        zeros = padding_mode == "zeros"
        if uint8:
            phases_win = span_h >= 31 or (zeros and span_h >= 15)
        else:
            phases_win = span_h >= 15 or (zeros and span_h != 5)
        return "opencv_strided" if phases_win else chosen
    phase_cells = -(-span_h // stride[0]) * span_w  # the largest row phase's sub-kernel
    if (
        chosen in ("opencv", "opencv_bands")
        and stride[0] > 1
        and kernel.size >= _STRIDED_MIN_CELLS
        and phase_cells < _OPENCV_DFT_CELLS
    ):
        return "opencv_strided"
    return chosen


def _stride_one_backend(
    kernel: np.ndarray, factors: Factors | None, uint8: bool, dilation: tuple[int, int]
) -> str:
    """Rules 1 to 8 above, for the stride-1 correlation."""
    taps = int(np.count_nonzero(kernel))
    if factors is not None and kernel.size > 1:
        dilated = dilation != (1, 1)
        if dilated and not uint8 and kernel.size < _OPENCV_DFT_CELLS and taps <= _UINT8_MAX_TAPS:
            return "opencv"
        return "opencv_separable" if max(kernel.shape) <= _OPENCV_SEPARABLE_MAX_SPAN else "separable"
    if kernel.size < _OPENCV_DFT_CELLS:
        return "opencv"
    undilated = math.prod((n - 1) // d + 1 for n, d in zip(kernel.shape, dilation, strict=True))
    if dilation != (1, 1) and undilated < _OPENCV_DFT_CELLS:
        return "opencv_phases"
    if -(-kernel.shape[0] // 2) * kernel.shape[1] < _OPENCV_DFT_CELLS:
        return "opencv_bands"
    if taps <= _DIRECT_BASE_TAPS + _DIRECT_TAPS_PER_SPAN * max(kernel.shape):
        return "direct"
    return "opencv"


# ---------------------------------------------------------------------------------------------
# Display mapping


def _fmt(value: float) -> str:
    return f"{value:.3g}"


def _map_to_uint8(raw: np.ndarray, offset: float, scale: float, absolute: bool) -> np.ndarray:
    """clip(255 * scale * (f(raw) - offset), 0, 255) rounded to the nearest uint8, f = abs or identity.

    One OpenCV pass (saturating conversion) over the values seen as one (H', W' * C) plane; on a
    12-megapixel photo it takes about half the time of the same arithmetic in numpy chunks.
    """
    plane = raw.reshape(raw.shape[0], -1)  # a view, unless raw is strided (then numpy copies)
    alpha, beta = 255.0 * scale, -255.0 * scale * offset
    dst = buffers.empty(plane.shape, np.uint8)
    if absolute or offset:
        # |alpha * x + beta|: the abs mapping has beta = 0; normalize has x >= offset, so abs is a no-op.
        out = cv2.convertScaleAbs(plane, dst=dst, alpha=alpha, beta=beta)
    else:
        out = cv2.addWeighted(plane, alpha, plane, 0.0, beta, dst=dst, dtype=cv2.CV_8U)
    return out.reshape(raw.shape)


def _display(raw: np.ndarray, output: str) -> tuple[np.ndarray, str]:
    """Map the signed raw result to uint8 and describe, in one sentence, what was done."""
    lo, hi = float(raw.min()), float(raw.max())
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise ConvConfigError(
            "the result does not fit in float32 (some values overflowed to infinity): the kernel's "
            "weights are too large. Scale them down, e.g. divide every cell by the same number.",
            "kernel",
        )
    seen = f"(min {_fmt(lo)}, max {_fmt(hi)})"
    if output == "clip":
        if lo >= 0.0 and hi <= 1.0:
            note = f"All values were already inside 0..1 {seen}, so they are shown as they are."
        else:
            note = f"Values outside 0..1 were clipped {seen}."
        return _map_to_uint8(raw, 0.0, 1.0, absolute=False), note
    if output == "abs":
        clipped = "; magnitudes above 1 were clipped" if max(-lo, hi) > 1.0 else ""
        note = f"Absolute values were shown, 0 as black and 1 as white {seen}{clipped}."
        return _map_to_uint8(raw, 0.0, 1.0, absolute=True), note
    # normalize: min-max stretch. A (numerically) constant result has nothing to stretch; the
    # tolerance keeps float32 rounding noise (of a DFT, say) from being blown up to full range.
    span = hi - lo
    if span <= 1e-6 * max(1.0, abs(lo), abs(hi)):
        note = (
            f"The result is constant ({_fmt(lo)}), so there is nothing to stretch; it is shown as mid grey."
        )
        return np.full(raw.shape, 128, np.uint8), note
    note = (
        f"Values were stretched from {_fmt(lo)}..{_fmt(hi)} to 0..1, "
        "so the lowest is black and the highest white."
    )
    return _map_to_uint8(raw, lo, 1.0 / span, absolute=False), note


# ---------------------------------------------------------------------------------------------
# Public entry points


def _choice(value: str, allowed: tuple[str, ...], name: str) -> str:
    if value not in allowed:
        raise ConvConfigError(f"{name} must be one of {', '.join(map(repr, allowed))} (got {value!r})", name)
    return value


def correlate_image(
    image: np.ndarray,
    kernel: np.ndarray,
    *,
    mode: str = "per_channel",
    stride: IntOrTuple = 1,
    padding: Padding = "same",
    padding_mode: str = "zeros",
    dilation: IntOrTuple = 1,
    backend: Backend = "auto",
) -> tuple[np.ndarray, str]:
    """The float result of `filter_image` alone, and the backend that computed it: (raw, backend).

    raw is float32 (H', W', C) (C = 1 in luminance mode or for a grey image), possibly a view.
    Arguments as in `filter_image`, checked the same way, except that NaN or infinity in a float
    image is not looked for (that takes a pass over the photo): it spreads as in PyTorch.
    """
    image = _check_image(image, finite=False)
    kernel_key, weights = _checked_kernel(kernel)
    _choice(mode, FILTER_MODES, "mode")
    _choice(padding_mode, PADDING_MODES, "padding_mode")
    _choice(backend, BACKENDS, "backend")

    geometry = _geometry(weights.shape, stride, padding, dilation)
    colour, _ = _color_channels(image)
    if mode == "luminance":
        colour = _luma(colour)[:, :, None]
    size = (colour.shape[0], colour.shape[1])
    _check_padding_fits(geometry, size, padding_mode)
    padded_size = tuple(n + sum(pads) for n, pads in zip(size, geometry.padding, strict=True))
    _check_kernel_fits(geometry, size, padded_size)

    settings = (geometry.dilation, geometry.stride, backend, colour.dtype == np.uint8, padding_mode)
    dilated, factors, chosen = (
        _plan(weights, settings) if kernel_key is None else _remembered_plan(kernel_key, settings)
    )
    sh, sw = geometry.stride
    if chosen == "opencv_strided":
        # sepFilter2D on the phases where the stride-1 rule would take it over filter2D
        uint8 = colour.dtype == np.uint8
        if choose_backend(dilated, factors, uint8=uint8, dilation=geometry.dilation) != "opencv_separable":
            factors = None
        strided = _opencv_strided(colour, dilated, factors, geometry.stride, geometry.padding, padding_mode)
        return strided, chosen
    if chosen == "opencv_phases":
        full = _opencv_phases(colour, weights, geometry.dilation, geometry.padding, padding_mode)
    elif chosen == "opencv_bands":
        full = _opencv_bands(colour, dilated, geometry.padding, padding_mode)
    elif chosen in ("opencv", "opencv_separable"):
        full = _opencv(
            colour, dilated, factors if chosen == "opencv_separable" else None, geometry.padding, padding_mode
        )
    else:
        padded = _pad(colour, geometry.padding, padding_mode)
        if chosen == "direct":
            full = _direct(padded, dilated)
        elif chosen == "separable":
            assert factors is not None
            full = _separable(padded, *factors)
        else:
            full = _fft(padded, dilated)
    # Stride s keeps every s-th window of the stride-1 result, starting with the first (PyTorch).
    return (full[::sh, ::sw] if (sh, sw) != (1, 1) else full), chosen


def filter_image(
    image: np.ndarray,
    kernel: np.ndarray,
    *,
    mode: str = "per_channel",
    stride: IntOrTuple = 1,
    padding: Padding = "same",
    padding_mode: str = "zeros",
    dilation: IntOrTuple = 1,
    output: str = "clip",
    backend: Backend = "auto",
) -> FilterResult:
    """Cross-correlate a channels-last photo with a 2D kernel, as `torch.nn.functional.conv2d` does.

    image:  (H, W) grey, (H, W, 3) RGB or (H, W, 4) RGBA ((H, W, 1) and (H, W, 2) grey+alpha also
            work); uint8 is read as 0..255, float as 0..1. Alpha is left out of the computation.
    kernel: (kh, kw) real numbers, any size; the same kernel is applied to every channel.
    mode:   "per_channel" filters R, G and B independently -> (H', W', 3) ((H', W') for 2D grey);
            "luminance" first converts to luma Y = 0.299 R + 0.587 G + 0.114 B (ITU-R BT.601)
            -> (H', W').
    stride, padding, dilation: as in PyTorch (int or (h, w)); padding may also be 'same', 'valid'
            or (before, after) pairs per axis. H' = (H + top + bottom - dilation*(kh-1) - 1) // stride + 1.
    padding_mode: "zeros", "reflect", "replicate" or "circular", as in nn.Conv2d.
    output: how the signed result becomes uint8 for display: "clip" (to 0..1), "normalize"
            (min-max stretch to 0..1; a constant result is shown mid grey) or "abs" (|x|, then clip).
    backend: "auto" picks the fastest (`choose_backend`); any other name in `BACKENDS` forces one
            ("opencv_separable" and "separable" need a rank-1 kernel).
    """
    image = _check_image(image)
    _choice(output, OUTPUT_MAPPINGS, "output")
    raw, chosen = correlate_image(
        image,
        kernel,
        mode=mode,
        stride=stride,
        padding=padding,
        padding_mode=padding_mode,
        dilation=dilation,
        backend=backend,
    )
    if image.ndim == 2 or mode == "luminance":
        raw = raw[:, :, 0]
    display, note = _display(raw, output)
    if _color_channels(image)[1]:
        note += " The alpha channel was not filtered; the result is opaque."
    return FilterResult(
        raw=raw, display=display, backend=chosen, note=note, output_size=(raw.shape[0], raw.shape[1])
    )


def _plain(value: object) -> bool:
    """An int (not a bool), a str, or tuples of them: safe as a cache key (True == 1 and 1.0 == 1 are not)."""
    if type(value) in (int, str):
        return True
    return type(value) is tuple and all(_plain(v) for v in value)


@functools.lru_cache(maxsize=256)
def _resolved(
    kernel_shape: tuple[int, int], stride: IntOrTuple, padding: Padding, dilation: IntOrTuple
) -> ConvGeometry:
    return resolve_geometry(2, kernel_shape, stride, padding, dilation)


# A kernel of at most this many cells has its checks, dilation, factors and backend remembered (below).
_PLAN_MAX_CELLS = 64 * 64
_KernelKey = tuple[bytes, tuple[int, ...], str]


def _checked_kernel(kernel: np.ndarray) -> tuple[_KernelKey | None, np.ndarray]:
    """(A key naming the kernel by its bytes, or None when it is not remembered; the checked float64
    kernel). The checks, the dilation, the separable factors and the backend rule together cost ~0.2 ms
    a call once a large photo's pass has left the caches cold: 2% of a 3x3 filter of a 2048x2048 photo."""
    raw = np.asarray(kernel)
    if raw.ndim != 2 or not 0 < raw.size <= _PLAN_MAX_CELLS or raw.dtype.kind not in "iuf":
        return None, _check_kernel(raw)
    key = (raw.tobytes(), raw.shape, raw.dtype.str)
    return key, _remembered_kernel(key)


@functools.lru_cache(maxsize=128)
def _remembered_kernel(key: _KernelKey) -> np.ndarray:
    data, shape, dtype = key
    weights = _check_kernel(np.frombuffer(data, dtype=dtype).reshape(shape))  # raises anew, uncached
    weights.setflags(write=False)  # shared between calls
    return weights


# What a kernel's plan depends on besides the kernel: (dilation, stride, backend asked for, uint8 image,
# padding mode).
_PlanSettings = tuple[tuple[int, int], tuple[int, int], str, bool, str]


def _plan(weights: np.ndarray, settings: _PlanSettings) -> tuple[np.ndarray, Factors | None, str]:
    """(The dilated kernel, its separable factors if a backend may use them, the backend to run)."""
    dilation, stride, backend, uint8, padding_mode = settings
    dilated = _dilate(weights, dilation)
    factors = _pick_factors(weights, dilation, backend)
    if backend == "auto":
        backend = choose_backend(
            dilated, factors, uint8=uint8, dilation=dilation, stride=stride, padding_mode=padding_mode
        )
    return dilated, factors, backend


@functools.lru_cache(maxsize=128)
def _remembered_plan(key: _KernelKey, settings: _PlanSettings) -> tuple[np.ndarray, Factors | None, str]:
    """`_plan` of a remembered kernel, once per kernel and settings; its arrays are read-only."""
    dilated, factors, chosen = _plan(_remembered_kernel(key), settings)
    for array in (dilated, *(factors or ())):
        array.setflags(write=False)
    return dilated, factors, chosen


def _geometry(
    kernel_shape: tuple[int, int], stride: IntOrTuple, padding: Padding, dilation: IntOrTuple
) -> ConvGeometry:
    """`resolve_geometry` for a 2D kernel, remembered for plain settings (ints, strings, tuples).

    Resolving checks every value through the number ABCs and costs more than the rest of a call's
    checks together (~50 us); a page asks for the same few settings again and again. Errors raise anew.
    """
    if _plain((stride, padding, dilation)):
        return _resolved(kernel_shape, stride, padding, dilation)
    return resolve_geometry(2, kernel_shape, stride, padding, dilation)


def _check_kernel_fits(geometry: ConvGeometry, size: tuple[int, int], padded_size: tuple[int, ...]) -> None:
    span = geometry.span
    if all(s <= p for s, p in zip(span, padded_size, strict=True)):
        return
    kh, kw = geometry.kernel_size
    dilated = (
        ""
        if geometry.dilation == (1, 1)
        else f" (a {size_text(kh, kw)} kernel, dilation {geometry.dilation})"
    )
    raise ConvConfigError(
        f"the kernel covers {size_text(*span)} cells{dilated} but the padded image is only "
        f"{size_text(*padded_size)} (image {size_text(*size)} plus padding), so it fits "
        "nowhere. Use a smaller kernel or dilation, more padding (e.g. padding='same'), or a larger image.",
        "kernel",
    )


def _pick_factors(weights: np.ndarray, dilation: tuple[int, ...], backend: str) -> Factors | None:
    """Separable factors of the dilated kernel when the backend may use them, else None."""
    if backend not in ("auto", "separable", "opencv_separable", "opencv_strided"):
        return None
    factors = separable_factors(weights)
    if factors is None:
        if backend not in ("auto", "opencv_strided"):
            raise ConvConfigError(
                f"backend={backend!r} needs a kernel that is the outer product of one column and one row "
                "(rank 1, like a Gaussian, box or Sobel kernel); this one is not. Use backend='auto'.",
                "backend",
            )
        return None
    column, row = factors
    return _dilate(column[:, None], (dilation[0], 1))[:, 0], _dilate(row[None, :], (1, dilation[1]))[0]
