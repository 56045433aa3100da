"""Named image-processing kernels (Sobel, Prewitt, Scharr, emboss, unsharp mask...) and how to apply them.

Orientation convention: like PyTorch's conv2d, cnnviz cross-correlates (the kernel is laid on the
image as written, not flipped). Row 0 is the top of the image and column 0 its left. So "Sobel x"
[[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]] is positive where brightness increases to the right, and
"Sobel y" (its transpose) is positive where brightness increases downwards.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from cnnviz.conv.args import resolve_geometry
from cnnviz.conv.kernels import gaussian_kernel, kernel_preset
from cnnviz.conv.ops import source_index
from cnnviz.errors import ConvConfigError
from cnnviz.images.filtering import (
    OUTPUT_MAPPINGS,
    FilterResult,
    _check_image,
    _choice,
    _color_channels,
    _display,
    correlate_image,
    filter_image,
    to_float01,
    to_luminance,
)

__all__ = [
    "CROP_SIDE",
    "crop_box",
    "result_box",
    "result_pixel_at",
    "window_centre",
    "result_extent",
    "IMAGE_KERNELS",
    "MAX_KERNEL_SIDE",
    "SIZED_KERNELS",
    "ImageKernel",
    "PixelExplanation",
    "apply_image_kernel",
    "custom_kernel",
    "difference_image",
    "histograms",
    "explain_pixel",
    "image_kernel",
]

MAX_KERNEL_SIDE = 15


@dataclass(frozen=True)
class ImageKernel:
    """A named kernel: its (kh, kw) float64 matrix, a one-line description, and for a two-kernel
    operation (gradient magnitude) the second matrix; the result is then hypot(first, second)."""

    name: str
    description: str
    matrix: np.ndarray
    second: np.ndarray | None = None

    @property
    def matrices(self) -> tuple[np.ndarray, ...]:
        return (self.matrix,) if self.second is None else (self.matrix, self.second)


def _a(rows: list[list[float]]) -> np.ndarray:
    return np.array(rows, dtype=np.float64)


SOBEL_X = _a([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]])
PREWITT_X = _a([[-1, 0, 1], [-1, 0, 1], [-1, 0, 1]])
SCHARR_X = _a([[-3, 0, 3], [-10, 0, 10], [-3, 0, 3]])
LAPLACIAN = _a([[0, 1, 0], [1, -4, 1], [0, 1, 0]])
EMBOSS = _a([[-2, -1, 0], [-1, 1, 1], [0, 1, 2]])


def _odd(size: int, name: str) -> int:
    if not 1 <= size <= MAX_KERNEL_SIDE:
        raise ConvConfigError(f"{name} size must be 1..{MAX_KERNEL_SIDE} (got {size})", "kernel_size")
    return size


def _unsharp() -> np.ndarray:
    """2·identity − 5x5 binomial blur: the classic unsharp mask (−1/256 · [..., −476, ...]); sums to 1."""
    row = np.array([1.0, 4.0, 6.0, 4.0, 1.0])
    blur = np.outer(row, row) / 256.0
    return 2.0 * kernel_preset("identity", (5, 5)) - blur


def _motion(size: int) -> np.ndarray:
    """A horizontal streak: the average of `size` pixels in the centre row (a camera moving sideways)."""
    k = np.zeros((size, size))
    k[(size - 1) // 2, :] = 1.0 / size
    return k


# name -> (description, builder(size, sigma)); `SIZED_KERNELS` take the size and (Gaussian) sigma.
_BUILDERS: dict[
    str, tuple[str, Callable[[int, float | None], np.ndarray | tuple[np.ndarray, np.ndarray]]]
] = {
    "identity": (
        "Copies the image: the centre weight is 1, the rest 0.",
        lambda n, s: kernel_preset("identity", (n, n)),
    ),
    "box blur": (
        "Replaces each pixel by the plain average of its neighbourhood (weights sum to 1).",
        lambda n, s: kernel_preset("box blur", (n, n)),
    ),
    "gaussian blur": (
        "A weighted average that favours near pixels: a soft, natural-looking blur.",
        lambda n, s: gaussian_kernel((n, n), s),
    ),
    "motion blur": (
        "Averages along a horizontal line, like a camera moving sideways during the shot.",
        lambda n, s: _motion(n),
    ),
    "sharpen": (
        "Adds the difference from the neighbours back to each pixel: edges get crisper.",
        lambda n, s: kernel_preset("sharpen", (3, 3)),
    ),
    "unsharp mask": (
        "Original plus (original minus a 5x5 blur): the photographer's sharpening.",
        lambda n, s: _unsharp(),
    ),
    "outline": (
        "Centre 8, neighbours -1: zero on flat areas, strong at every edge and corner.",
        lambda n, s: kernel_preset("outline (edge detect)", (3, 3)),
    ),
    "laplacian": (
        "Second derivative (4-neighbour): zero on flat areas and on even slopes, marks edges.",
        lambda n, s: LAPLACIAN,
    ),
    "sobel x": (
        "Horizontal gradient, smoothed vertically: positive where it gets brighter to the right.",
        lambda n, s: SOBEL_X,
    ),
    "sobel y": (
        "Vertical gradient, smoothed horizontally: positive where it gets brighter downwards.",
        lambda n, s: SOBEL_X.T.copy(),
    ),
    "gradient magnitude (sobel)": (
        "Edge strength in any direction: sqrt(Sobel x² + Sobel y²), two kernels.",
        lambda n, s: (SOBEL_X, SOBEL_X.T.copy()),
    ),
    "prewitt x": ("Horizontal gradient with a plain (unweighted) vertical average.", lambda n, s: PREWITT_X),
    "prewitt y": (
        "Vertical gradient with a plain (unweighted) horizontal average.",
        lambda n, s: PREWITT_X.T.copy(),
    ),
    "scharr x": (
        "Horizontal gradient with weights 3-10-3: more accurate in direction than Sobel.",
        lambda n, s: SCHARR_X,
    ),
    "scharr y": (
        "Vertical gradient with weights 3-10-3: more accurate in direction than Sobel.",
        lambda n, s: SCHARR_X.T.copy(),
    ),
    "emboss": (
        "Light from the top left: a relief effect (weights sum to 1, so flat areas keep their value).",
        lambda n, s: EMBOSS,
    ),
}
IMAGE_KERNELS: tuple[str, ...] = tuple(_BUILDERS)
SIZED_KERNELS: tuple[str, ...] = ("box blur", "gaussian blur", "motion blur")


def image_kernel(name: str, size: int = 3, sigma: float | None = None) -> ImageKernel:
    """The named kernel; `size` (n x n, 1..15) applies to the blurs, `sigma` to the Gaussian (default n/6)."""
    if name not in _BUILDERS:
        raise ConvConfigError(f"unknown kernel {name!r}; choose one of {list(IMAGE_KERNELS)}", "kernel")
    description, build = _BUILDERS[name]
    built = build(_odd(int(size), name) if name in SIZED_KERNELS else 3, sigma)
    if isinstance(built, tuple):
        return ImageKernel(name, description, built[0].astype(np.float64), built[1].astype(np.float64))
    return ImageKernel(name, description, np.asarray(built, dtype=np.float64))


def custom_kernel(values: np.ndarray) -> ImageKernel:
    """A typed (kh, kw) grid as a kernel, checked: 1..15 per side, every cell a finite number."""
    matrix = np.asarray(values, dtype=np.float64)
    if matrix.ndim != 2 or not (
        1 <= matrix.shape[0] <= MAX_KERNEL_SIDE and 1 <= matrix.shape[1] <= MAX_KERNEL_SIDE
    ):
        raise ConvConfigError(
            f"a custom kernel has 1..{MAX_KERNEL_SIDE} rows and columns (got {matrix.shape})", "kernel"
        )
    if not np.isfinite(matrix).all():
        rows, cols = np.nonzero(~np.isfinite(matrix))
        raise ConvConfigError(
            f"kernel cell (row {rows[0]}, column {cols[0]}) is empty or not a number: "
            "type a number in every cell",
            "kernel",
        )
    return ImageKernel("custom", "Your own weights.", matrix)


def apply_image_kernel(image: np.ndarray, kernel: ImageKernel, **options: object) -> FilterResult:
    """`filter_image` with this kernel (same keyword options); a two-kernel operation returns the
    pixel-wise sqrt(first² + second²) of both raw results, mapped for display once, by the same `output`."""
    if kernel.second is None:
        return filter_image(image, kernel.matrix, **options)  # type: ignore[arg-type]
    geometry = {name: value for name, value in options.items() if name != "output"}
    output = str(options.get("output", "clip"))
    image = _check_image(image)  # as filter_image checks it (NaN and inf included), once for both kernels
    _choice(output, OUTPUT_MAPPINGS, "output")
    first, backend = correlate_image(image, kernel.matrix, **geometry)  # type: ignore[arg-type]
    second, _ = correlate_image(image, kernel.second, **geometry)  # type: ignore[arg-type]
    raw = np.square(first)  # (H', W', C) float32; np.hypot is ~10x slower for the same numbers
    raw += np.square(second)
    np.sqrt(raw, out=raw)
    if image.ndim == 2 or options.get("mode") == "luminance":
        raw = raw[:, :, 0]
    display, note = _display(raw, output)
    if _color_channels(image)[1]:
        note += " The alpha channel was not filtered; the result is opaque."
    return FilterResult(raw, display, backend, note, (raw.shape[0], raw.shape[1]))


@dataclass(frozen=True)
class PixelExplanation:
    """How one output pixel was computed, per channel.

    positions: (kh, kw, 2) input (row, col) each tap reads (outside the image: padding).
    values:    (C, kh, kw) input values on the 0..1 scale the filter uses (0 for zero padding).
    products:  (K, C, kh, kw) value × weight, one block per kernel (K = 2 for gradient magnitude).
    sums:      (K, C) sum of the products: the raw result of each kernel.
    result:    (C,) the raw output pixel (the sum, or hypot of both sums).
    """

    positions: np.ndarray
    values: np.ndarray
    products: np.ndarray
    sums: np.ndarray
    result: np.ndarray


def explain_pixel(
    image: np.ndarray,
    kernel: ImageKernel,
    row: int,
    col: int,
    *,
    mode: str = "per_channel",
    stride: int = 1,
    padding: int | str = "same",
    padding_mode: str = "zeros",
    dilation: int = 1,
) -> PixelExplanation:
    """The neighbourhood, products and sums behind output pixel (row, col), read from the same geometry
    as `filter_image` (only the kh x kw taps are touched, so it is instant on a 12 MP photo)."""
    image = np.asarray(image)
    matrix = kernel.matrix
    geometry = resolve_geometry(2, matrix.shape, stride, padding, dilation)
    height, width = image.shape[:2]
    out_h, out_w = (
        (n + before + after - d * (k - 1) - 1) // s + 1
        for n, (before, after), d, k, s in zip(
            (height, width), geometry.padding, geometry.dilation, matrix.shape, geometry.stride, strict=True
        )
    )
    if not (0 <= row < out_h and 0 <= col < out_w):
        raise ConvConfigError(f"pixel ({row}, {col}) is outside the {out_h}×{out_w} result", "position")
    rows = (
        row * geometry.stride[0] - geometry.padding[0][0] + geometry.dilation[0] * np.arange(matrix.shape[0])
    )
    cols = (
        col * geometry.stride[1] - geometry.padding[1][0] + geometry.dilation[1] * np.arange(matrix.shape[1])
    )
    src_r = [source_index(int(r), height, padding_mode) for r in rows]
    src_c = [source_index(int(c), width, padding_mode) for c in cols]
    inside = np.array([[r is not None and c is not None for c in src_c] for r in src_r])
    gather_r = np.array([0 if r is None else r for r in src_r])
    gather_c = np.array([0 if c is None else c for c in src_c])
    patch = image[gather_r[:, None], gather_c[None, :]]  # (kh, kw[, C]) in the image's dtype
    # Same conversions as filter_image, on just these pixels, so the numbers agree to float32 rounding.
    values = (
        to_luminance(patch)[None]
        if mode == "luminance"
        else np.moveaxis(to_float01(patch if patch.ndim == 3 else patch[:, :, None])[:, :, :3], -1, 0)
    )
    values = np.where(inside[None], values, 0.0).astype(np.float64)
    products = np.stack([values * m[None] for m in kernel.matrices])
    sums = products.sum(axis=(2, 3))
    result = np.hypot(sums[0], sums[1]) if kernel.second is not None else sums[0]
    positions = np.stack(np.meshgrid(rows, cols, indexing="ij"), axis=-1)
    return PixelExplanation(positions, values, products, sums, result)


def difference_image(original: np.ndarray, result: np.ndarray) -> tuple[np.ndarray, int] | None:
    """|result - original| as uint8 stretched so the largest change is white, and that largest change
    (0..255); None when the shapes differ (stride, 'valid' padding or dilation changed the size)."""
    if original.shape[:2] != result.shape[:2]:
        return None
    before = original.astype(np.int16)
    if result.ndim == 2 and before.ndim == 3:  # luminance result: compare with the original's luma
        before = np.round(to_luminance(original) * 255).astype(np.int16)
    diff = np.abs(result.astype(np.int16) - before)
    top = int(diff.max())
    scaled = diff * (255.0 / top) if top else diff
    return np.round(scaled).astype(np.uint8), top


def histograms(array: np.ndarray, bins: int = 64) -> dict[str, np.ndarray]:
    """Counts of uint8 values in `bins` equal bins over 0..255, per channel ('R', 'G', 'B' or 'grey')."""
    width = 256 // bins
    if array.ndim == 2:
        return {"grey": np.bincount(array.ravel() // width, minlength=bins)}
    return {c: np.bincount(array[:, :, i].ravel() // width, minlength=bins) for i, c in enumerate("RGB")}


def result_extent(
    size: tuple[int, int],
    out: tuple[int, int],
    stride: object,
    padding: object,
    dilation: object,
    kernel_shape: tuple[int, int],
) -> tuple[float, float, float, float]:
    """Where the filtered image lies over the input, as (y0, x0, height, width) in input pixels.

    Output pixel i sits over the centre of its window, i*s - p_before + (span-1)/2; pixels are s apart.
    (y0, x0) is the box's top-left edge plus half a pixel, the convention of `plots.synced_images_figure`.
    """
    del size  # the input's own extent is (0, 0, H, W); kept for a symmetric call
    g = resolve_geometry(2, kernel_shape, stride, padding, dilation)
    edges = []
    for (before, _), s, span in zip(g.padding, g.stride, g.span, strict=True):
        centre = -before + (span - 1) / 2
        edges.append(centre - s / 2 + 0.5)
    return edges[0], edges[1], out[0] * g.stride[0], out[1] * g.stride[1]


CROP_SIDE = 256  # pixels per side of the full-resolution crop a page shows next to the whole picture

Box = tuple[int, int, int, int]  # (top, left, height, width) in pixels


def crop_box(shape: tuple[int, ...], centre: tuple[int, int], side: int = CROP_SIDE) -> Box:
    """The side x side window around `centre` (row, col), moved to lie inside an image of this shape
    (smaller where the image is); as (top, left, height, width)."""
    height, width = shape[:2]
    crop_h, crop_w = min(side, height), min(side, width)
    top = min(max(int(centre[0]) - crop_h // 2, 0), height - crop_h)
    left = min(max(int(centre[1]) - crop_w // 2, 0), width - crop_w)
    return top, left, crop_h, crop_w


def _centres(kernel_shape: tuple[int, int], stride: object, padding: object, dilation: object) -> list:
    """Per axis (stride, input position of output 0's window centre): output i is centred on c0 + i*s."""
    g = resolve_geometry(2, kernel_shape, stride, padding, dilation)
    return [
        (s, -before + (span - 1) / 2)
        for (before, _), s, span in zip(g.padding, g.stride, g.span, strict=True)
    ]


def result_pixel_at(
    pixel: tuple[int, int],
    out_shape: tuple[int, int],
    kernel_shape: tuple[int, int],
    stride: object = 1,
    padding: object = "same",
    dilation: object = 1,
) -> tuple[int, int]:
    """The result pixel whose window is centred nearest to input `pixel` (row, col), inside the result.

    Output i's window is centred on input i*s - p_before + (span - 1)/2; stride 1 and 'same' padding give
    the same (row, col) back. Ties (an even span or a stride between two centres) go to the lower index.
    """
    picked = []
    for p, n, (s, c0) in zip(
        pixel, out_shape, _centres(kernel_shape, stride, padding, dilation), strict=True
    ):
        i = math.ceil((p - c0) / s - 0.5)  # nearest centre, ties down
        picked.append(int(min(max(i, 0), n - 1)))
    return picked[0], picked[1]


def result_box(
    box: Box,
    out_shape: tuple[int, int],
    kernel_shape: tuple[int, int],
    stride: object = 1,
    padding: object = "same",
    dilation: object = 1,
) -> Box | None:
    """The result pixels whose windows are centred inside the input `box`, as (top, left, height, width);
    None when there are none (a box smaller than the stride between two outside centres)."""
    spans = []
    for start, size, n, (s, c0) in zip(
        box[:2], box[2:], out_shape, _centres(kernel_shape, stride, padding, dilation), strict=True
    ):
        first = max(math.ceil((start - c0) / s), 0)
        last = min(math.floor((start + size - 1 - c0) / s), n - 1)
        if last < first:
            return None
        spans.append((first, last - first + 1))
    return spans[0][0], spans[1][0], spans[0][1], spans[1][1]


def window_centre(
    pixel: tuple[int, int],
    kernel_shape: tuple[int, int],
    stride: object = 1,
    padding: object = "same",
    dilation: object = 1,
) -> tuple[float, float]:
    """The input position (row, col) the window of result `pixel` is centred on (.5 for an even span)."""
    (sr, cr), (sc, cc) = _centres(kernel_shape, stride, padding, dilation)
    return cr + pixel[0] * sr, cc + pixel[1] * sc
