"""filter_image against PyTorch: every backend, padding mode, stride, dilation, image kind and dtype.

Oracle: `torch.nn.functional.conv2d` in float64, one channel at a time, on the image scaled to
0..1, with `F.pad` for explicit and non-zero padding and `nn.Conv2d(padding='same', padding_mode=...)`
for 'same'. Whatever PyTorch refuses, filter_image must refuse with a ConvConfigError.
"""

from __future__ import annotations

import contextlib
import dataclasses
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import cv2
import hypothesis.strategies as st
import numpy as np
import pytest
import torch
import torch.nn.functional as F  # noqa: N812
from hypothesis import event, given
from hypothesis.control import currently_in_test_context
from torch import nn

import cnnviz.images.filtering as filtering
from cnnviz.errors import ConvConfigError
from cnnviz.images.filtering import (
    BACKENDS,
    LUMA_WEIGHTS,
    FilterResult,
    choose_backend,
    correlate_image,
    filter_image,
    filter_threads,
    separable_factors,
    set_filter_threads,
    to_float01,
    to_luminance,
)
from tests.oracle import examples

TORCH_MODE = {"zeros": "constant", "reflect": "reflect", "replicate": "replicate", "circular": "circular"}
PADDING_MODES = list(TORCH_MODE)
DENSE_BACKENDS = ["auto", "opencv", "direct", "fft"]
SEPARABLE_BACKENDS = ["opencv_separable", "separable"]


# ---------------------------------------------------------------------------------------------
# Oracle


def torch_filter(
    x01: np.ndarray, kernel: np.ndarray, *, stride, padding, padding_mode, dilation
) -> np.ndarray:
    """PyTorch's depthwise result for a (H, W, C) float image: (H', W', C) float64."""
    planes = torch.from_numpy(np.moveaxis(x01.astype(np.float64), 2, 0)[:, None].copy())
    weight = torch.from_numpy(np.asarray(kernel, np.float64))[None, None]
    if padding == "same":
        conv = nn.Conv2d(
            1,
            1,
            tuple(weight.shape[2:]),
            stride=stride,
            padding="same",
            padding_mode=padding_mode,
            dilation=dilation,
            bias=False,
            dtype=torch.float64,
        )
        with torch.no_grad():
            conv.weight.copy_(weight)
            out = conv(planes)
    else:
        if padding == "valid":
            pads = ((0, 0), (0, 0))
        elif isinstance(padding, int):
            pads = ((padding, padding),) * 2
        else:
            pads = tuple(p if isinstance(p, tuple) else (p, p) for p in padding)
        (top, bottom), (left, right) = pads
        planes = F.pad(planes, (left, right, top, bottom), mode=TORCH_MODE[padding_mode])
        out = F.conv2d(planes, weight, stride=stride, dilation=dilation)
    return np.moveaxis(out[:, 0].numpy(), 0, 2)


def colour01(image: np.ndarray) -> np.ndarray:
    """The colour channels of a channels-last image on the 0..1 scale, float64, (H, W, C)."""
    x = image.astype(np.float64) / (255.0 if image.dtype == np.uint8 else 1.0)
    if x.ndim == 2:
        return x[:, :, None]
    return x[:, :, : x.shape[2] - 1] if x.shape[2] in (2, 4) else x


def tolerance(kernel: np.ndarray, x01: np.ndarray) -> float:
    """float32 tolerance on the scale of the values: 1e-4 of the largest possible |output|."""
    return 1e-4 * max(1.0, float(np.abs(kernel).sum()) * max(1.0, float(np.abs(x01).max(initial=0.0))))


@contextlib.contextmanager
def tiny_chunks() -> Iterator[None]:
    """Force many chunks and two threads even on tiny images, so band and chunk edges get tested."""
    saved = filtering._CHUNK_VALUES, filtering._MIN_WORK_PER_THREAD, filter_threads()
    filtering._CHUNK_VALUES, filtering._MIN_WORK_PER_THREAD = 7, 1
    set_filter_threads(2)
    try:
        yield
    finally:
        filtering._CHUNK_VALUES, filtering._MIN_WORK_PER_THREAD = saved[:2]
        set_filter_threads(saved[2])


# ---------------------------------------------------------------------------------------------
# Strategies


@st.composite
def images(draw, max_side: int = 24, min_side: int = 1) -> np.ndarray:
    h = draw(st.integers(min_side, max_side))
    w = draw(st.integers(min_side, max_side))
    channels = draw(st.sampled_from([None, 1, 2, 3, 4]))
    shape = (h, w) if channels is None else (h, w, channels)
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    kind = draw(st.sampled_from(["uint8", "float32", "float64"]))
    if kind == "uint8":
        return rng.integers(0, 256, shape, dtype=np.uint8)
    return rng.random(shape).astype(kind)


@st.composite
def kernels(draw, max_side: int = 5, min_side: int = 1, rank1: bool = False) -> np.ndarray:
    kh = draw(st.integers(min_side, max_side))
    kw = draw(st.integers(min_side, max_side))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    if rank1:
        return np.outer(rng.standard_normal(kh), rng.standard_normal(kw)).astype(np.float32)
    kernel = rng.standard_normal((kh, kw)).astype(np.float32)
    if draw(st.booleans()):  # some zero taps, as in Laplacian or Sobel kernels
        kernel[rng.random((kh, kw)) < 0.4] = 0.0
    return kernel


pair_or_int = st.one_of(st.integers(1, 3), st.tuples(st.integers(1, 3), st.integers(1, 3)))
# dilation: mostly 1 or 2, so that most windows still fit the small images
dilations = st.one_of(st.integers(1, 2), st.tuples(st.integers(1, 3), st.integers(1, 3)))
side = st.integers(0, 3)
paddings = st.one_of(
    st.just("same"),
    st.just("valid"),
    side,
    st.tuples(side, side),
    st.tuples(st.tuples(side, side), st.tuples(side, side)),
)


def torch_result_or_error(x01, kernel, **geometry):
    try:
        return torch_filter(x01, kernel, **geometry)
    except (RuntimeError, ValueError, NotImplementedError):
        event("PyTorch refuses")
        return None


def check_against_torch(image, kernel, backend, **geometry) -> FilterResult | None:
    """filter_image equals PyTorch where PyTorch computes, and raises ConvConfigError where it refuses."""
    if geometry.get("padding") == "same" and geometry.get("stride") not in (1, (1, 1)):
        with pytest.raises(ConvConfigError, match="stride 1"):
            filter_image(image, kernel, backend=backend, **geometry)
        return None
    x01 = colour01(image)
    expected = torch_result_or_error(x01, kernel, **geometry)
    if expected is None:
        with pytest.raises(ConvConfigError):
            filter_image(image, kernel, backend=backend, **geometry)
        return None
    result = filter_image(image, kernel, backend=backend, **geometry)
    if image.ndim == 2:
        expected = expected[:, :, 0]
    assert result.raw.shape == expected.shape
    assert result.raw.dtype == np.float32 and result.display.dtype == np.uint8
    assert result.display.shape == expected.shape
    assert result.output_size == expected.shape[:2]
    np.testing.assert_allclose(result.raw, expected, rtol=0, atol=tolerance(kernel, x01))
    if backend != "auto":
        assert result.backend == backend
    if currently_in_test_context():
        event(f"backend {result.backend}")
    return result


# ---------------------------------------------------------------------------------------------
# Property tests against PyTorch: several thousand configurations in all


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")
@examples(1500)
@given(
    image=images(),
    kernel=kernels(max_side=6),
    backend=st.sampled_from(["auto", "opencv"]),
    stride=pair_or_int,
    dilation=dilations,
    padding=paddings,
    padding_mode=st.sampled_from(PADDING_MODES),
)
def test_opencv_matches_torch(image, kernel, backend, stride, dilation, padding, padding_mode):
    """Sizes from one pixel, even and odd kernels, every padding (asymmetric, 'same'), stride, dilation."""
    check_against_torch(
        image, kernel, backend, stride=stride, padding=padding, padding_mode=padding_mode, dilation=dilation
    )


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")
@examples(300)
@given(
    image=images(),
    kernel=kernels(),
    backend=st.sampled_from(["direct", "fft"]),
    stride=pair_or_int,
    dilation=dilations,
    padding=paddings,
    padding_mode=st.sampled_from(PADDING_MODES),
    small_chunks=st.booleans(),
)
def test_numpy_backends_match_torch(
    image, kernel, backend, stride, dilation, padding, padding_mode, small_chunks
):
    with tiny_chunks() if small_chunks else contextlib.nullcontext():
        check_against_torch(
            image,
            kernel,
            backend,
            stride=stride,
            padding=padding,
            padding_mode=padding_mode,
            dilation=dilation,
        )


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")
@examples(600)
@given(
    image=images(),
    kernel=kernels(max_side=6, rank1=True),
    backend=st.sampled_from(["auto", *SEPARABLE_BACKENDS]),
    stride=pair_or_int,
    dilation=dilations,
    padding=paddings,
    padding_mode=st.sampled_from(PADDING_MODES),
    small_chunks=st.booleans(),
)
def test_separable_matches_torch(
    image, kernel, backend, stride, dilation, padding, padding_mode, small_chunks
):
    with tiny_chunks() if small_chunks else contextlib.nullcontext():
        result = check_against_torch(
            image,
            kernel,
            backend,
            stride=stride,
            padding=padding,
            padding_mode=padding_mode,
            dilation=dilation,
        )
    if result is not None and backend == "auto" and kernel.size > 1:
        dilated = dilation not in (1, (1, 1))
        few_taps = dilated and np.count_nonzero(kernel) <= 9 and image.dtype != np.uint8  # choose_backend
        # spans up to 16 here; filter2D's choice goes to its row phases for strides from 2 down
        # and rank 1 with a vertical stride to the vertical pass on its row phases
        vertical_stride = (stride if isinstance(stride, int) else stride[0]) > 1
        expected = {"opencv", "opencv_strided"} if few_taps else {"opencv_separable"}
        if vertical_stride and not dilated:
            expected.add("opencv_strided")
        assert result.backend in expected


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")
@examples(600)
@given(
    image=images(max_side=30),
    kernel=kernels(max_side=6),
    stride=pair_or_int,
    dilation=st.one_of(st.integers(1, 4), st.tuples(st.integers(1, 5), st.integers(1, 5))),
    padding=paddings,
    padding_mode=st.sampled_from(PADDING_MODES),
)
def test_opencv_phases_match_torch(image, kernel, stride, dilation, padding, padding_mode):
    """Every dilation phase filtered on its own, interleaved back: odd sizes, strides, asymmetric pads."""
    geometry = dict(stride=stride, padding=padding, padding_mode=padding_mode, dilation=dilation)
    check_against_torch(image, kernel, "opencv_phases", **geometry)


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")
@examples(600)
@given(
    image=images(max_side=30),
    kernel=st.one_of(kernels(max_side=7), kernels(max_side=7, rank1=True)),
    stride=st.one_of(st.integers(1, 4), st.tuples(st.integers(1, 4), st.integers(1, 4))),
    dilation=dilations,
    padding=st.one_of(paddings, st.tuples(st.tuples(side, st.integers(0, 9)), st.tuples(side, side))),
    padding_mode=st.sampled_from(PADDING_MODES),
)
def test_opencv_strided_matches_torch(image, kernel, stride, dilation, padding, padding_mode):
    """Only the rows the stride keeps, phase by phase: without a padded copy or with one, rank 1 or not."""
    geometry = dict(stride=stride, padding=padding, padding_mode=padding_mode, dilation=dilation)
    check_against_torch(image, kernel, "opencv_strided", **geometry)


def test_opencv_strided_through_sepfilter2d_where_the_rule_takes_it():
    rng = np.random.default_rng(8)
    photo = rng.integers(0, 256, (40, 50, 3), dtype=np.uint8)
    g = np.exp(-(np.linspace(-2, 2, 7) ** 2))
    for padding_mode in PADDING_MODES:
        geometry = dict(stride=(3, 2), padding=((2, 5), (3, 1)), padding_mode=padding_mode, dilation=1)
        check_against_torch(photo, np.outer(g, g[:5]), "opencv_strided", **geometry)
    check_against_torch(
        photo, np.zeros((5, 5)), "opencv_strided", stride=2, padding=2, padding_mode="zeros", dilation=1
    )


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")
@examples(300)
@given(
    image=images(max_side=40),
    kernel=kernels(max_side=17),
    dilation=st.integers(1, 2),
    padding=st.one_of(paddings, st.integers(0, 9)),
    padding_mode=st.sampled_from(PADDING_MODES),
)
def test_opencv_bands_match_torch(image, kernel, dilation, padding, padding_mode):
    """The top and the bottom half of the kernel's rows filtered apart, summed: one-row kernels too."""
    geometry = dict(stride=1, padding=padding, padding_mode=padding_mode, dilation=dilation)
    check_against_torch(image, kernel, "opencv_bands", **geometry)


def test_opencv_phases_past_opencvs_channel_limit():
    """A column dilation times the colour channels above 512: only the rows are split into phases."""
    rng = np.random.default_rng(7)
    image = rng.random((9, 700, 3), dtype=np.float32)
    kernel = rng.standard_normal((3, 2))
    geometry = dict(stride=1, padding=((1, 2), (0, 3)), padding_mode="reflect", dilation=(2, 200))
    check_against_torch(image, kernel, "opencv_phases", **geometry)


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")
@examples(400)
@given(
    image=images(max_side=6),
    kernel=kernels(max_side=11, min_side=3),
    backend=st.sampled_from(["auto", "opencv", "direct"]),
    dilation=st.integers(1, 2),
    padding=st.one_of(st.just("same"), st.integers(0, 12), st.tuples(st.integers(0, 12), st.integers(0, 12))),
    padding_mode=st.sampled_from(PADDING_MODES),
)
def test_kernels_larger_than_the_image(image, kernel, backend, dilation, padding, padding_mode):
    """A 1..6 pixel image under kernels up to 21 cells wide: computed where PyTorch allows, refused elsewhere."""
    check_against_torch(
        image, kernel, backend, stride=1, padding=padding, padding_mode=padding_mode, dilation=dilation
    )


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")
@examples(150)
@given(
    image=images(max_side=48, min_side=20),
    kernel=kernels(max_side=16, min_side=12),
    stride=st.integers(1, 2),
    dilation=st.integers(1, 2),
    padding=st.one_of(st.just("same"), st.just("valid"), st.tuples(st.integers(0, 15), st.integers(0, 15))),
    padding_mode=st.sampled_from(PADDING_MODES),
)
def test_opencv_dft_path_matches_torch(image, kernel, stride, dilation, padding, padding_mode):
    """Kernels of 144+ cells, where cv2.filter2D switches to its DFT (uint8 images: from 50 cells)."""
    check_against_torch(
        image,
        kernel,
        "opencv",
        stride=stride,
        padding=padding,
        padding_mode=padding_mode,
        dilation=dilation,
    )


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("kernel_shape", [(3, 3), (7, 7), (4, 6), (15, 2), (13, 13)])
def test_larger_photo_every_backend(backend, kernel_shape):
    """A photo large enough for many chunks, non-square, with even kernels and a DFT-sized one."""
    rng = np.random.default_rng(7)
    image = rng.integers(0, 256, (301, 517, 3), dtype=np.uint8)
    column, row = rng.standard_normal(kernel_shape[0]), rng.standard_normal(kernel_shape[1])
    separable = backend in SEPARABLE_BACKENDS
    kernel = np.outer(column, row) if separable else rng.standard_normal(kernel_shape)
    for padding, mode, stride in (("same", "reflect", 1), ((2, (0, 3)), "circular", (2, 3))):
        check_against_torch(
            image, kernel, backend, stride=stride, padding=padding, padding_mode=mode, dilation=(1, 2)
        )


@pytest.mark.parametrize("backend", SEPARABLE_BACKENDS + ["direct", "opencv", "fft"])
def test_big_gaussian_same_size(backend):
    """A 31x31 Gaussian preset with 'same' replicate padding keeps the size and a flat image flat."""
    g = np.exp(-0.5 * (np.arange(31) - 15.0) ** 2 / 5.0**2)
    kernel = np.outer(g, g) / np.outer(g, g).sum()
    flat = np.full((40, 50, 3), 200, np.uint8)
    result = filter_image(flat, kernel, padding_mode="replicate", backend=backend)
    assert result.output_size == (40, 50)
    np.testing.assert_allclose(result.raw, 200 / 255, atol=1e-5)
    assert (result.display == 200).all()


# ---------------------------------------------------------------------------------------------
# OpenCV's conventions pinned to PyTorch's with worked examples


def test_same_padding_puts_the_odd_cell_last_like_torch():
    """An even 4x4 kernel with a 1 at its top-left: 'same' pads (1, 2), so output (r, c) reads input (r-1, c-1).

    OpenCV's default anchor (k // 2 = 2) would read (r-2, c-2)."""
    image = np.arange(36, dtype=np.float32).reshape(6, 6) / 36
    kernel = np.zeros((4, 4))
    kernel[0, 0] = 1.0
    raw = filter_image(image, kernel, padding="same", backend="opencv").raw
    expected = np.zeros((6, 6), np.float32)
    expected[1:, 1:] = image[:-1, :-1]
    np.testing.assert_array_equal(raw, expected)


@pytest.mark.parametrize(
    ("padding_mode", "left_values"),
    [("zeros", [0, 0]), ("reflect", [0.3, 0.2]), ("replicate", [0.1, 0.1]), ("circular", [0.3, 0.4])],
)
def test_border_modes_read_the_cells_torch_reads(padding_mode, left_values):
    """Row 0.1 0.2 0.3 0.4 padded by 2 on the left, read by a kernel [1, 0, 0]: the two padded cells show.

    PyTorch's reflect mirrors without the edge (OpenCV's BORDER_REFLECT_101, not BORDER_REFLECT)."""
    row = np.array([[0.1, 0.2, 0.3, 0.4]], np.float32)
    for backend in ("opencv", "direct"):
        raw = filter_image(
            row,
            np.array([[1.0, 0.0, 0.0]]),
            padding=((0, 0), (2, 0)),
            padding_mode=padding_mode,
            backend=backend,
        ).raw
        np.testing.assert_allclose(raw[0, :2], left_values, atol=1e-7)
        np.testing.assert_allclose(raw[0, 2:], row[0, :2], atol=1e-7)


def test_one_pixel_image_with_a_big_kernel_and_same_padding():
    pixel = np.array([[[51, 102, 204]]], np.uint8)
    kernel = np.arange(49, dtype=np.float64).reshape(7, 7)
    result = filter_image(pixel, kernel, padding="same", padding_mode="zeros")
    np.testing.assert_allclose(result.raw[0, 0], kernel[3, 3] * pixel[0, 0] / 255, rtol=1e-6)


# ---------------------------------------------------------------------------------------------
# No extra work around OpenCV: the caller's array goes straight in


def _spy(monkeypatch, name: str) -> list[np.ndarray]:
    seen: list[np.ndarray] = []
    original = getattr(cv2, name)

    def spy(source, *args, **kwargs):
        seen.append(source)
        return original(source, *args, **kwargs)

    monkeypatch.setattr(filtering.cv2, name, spy)
    return seen


def test_opencv_gets_the_callers_float32_photo_without_a_copy(monkeypatch):
    image = np.random.default_rng(0).random((64, 80, 3), dtype=np.float32)
    seen = _spy(monkeypatch, "filter2D")
    raw, backend = correlate_image(image, np.random.default_rng(1).standard_normal((5, 5)), padding="same")
    assert backend == "opencv" and seen[0] is image
    assert raw.base is not None and raw.shape == image.shape  # 'same': OpenCV's own output, uncut


def test_opencv_gets_uint8_photos_as_they_are_where_that_is_faster(monkeypatch):
    """uint8 goes in as it is for separable kernels and 3x3 ones (OpenCV scales the kernel by 1/255)."""
    photo = np.random.default_rng(0).integers(0, 256, (50, 60, 3), dtype=np.uint8)
    separable, dense = _spy(monkeypatch, "sepFilter2D"), _spy(monkeypatch, "filter2D")
    correlate_image(photo, np.ones((9, 9)) / 81)
    correlate_image(photo, np.array([[0.0, -1.0, 0.0], [-1.0, 5.0, -1.0], [0.0, -1.0, 0.0]]))
    correlate_image(photo, np.random.default_rng(1).standard_normal((5, 5)))
    assert separable[0] is photo and dense[0] is photo
    assert dense[1].dtype == np.float32  # a dense 5x5 runs faster on float32


# ---------------------------------------------------------------------------------------------
# Luminance, alpha, conversions


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")
@examples(100)
@given(
    image=images(), kernel=kernels(max_side=4), backend=st.sampled_from(["auto", "opencv", "direct", "fft"])
)
def test_luminance_is_weighted_sum_then_conv(image, kernel, backend):
    x01 = colour01(image)
    if x01.shape[2] == 3:
        luma = x01 @ np.array(LUMA_WEIGHTS)
    else:
        luma = x01[:, :, 0]
    expected = torch_result_or_error(
        luma[:, :, None], kernel, stride=1, padding="same", padding_mode="zeros", dilation=1
    )
    result = filter_image(image, kernel, mode="luminance", backend=backend)
    assert result.raw.shape == luma.shape
    np.testing.assert_allclose(result.raw, expected[:, :, 0], rtol=0, atol=tolerance(kernel, luma))
    np.testing.assert_allclose(to_luminance(image), luma, rtol=0, atol=1e-6)


def test_luma_weights_are_bt601():
    assert LUMA_WEIGHTS == (0.299, 0.587, 0.114)
    pixel = np.array([[[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 255]]], np.uint8)
    np.testing.assert_allclose(to_luminance(pixel), [[0.299, 0.587, 0.114, 1.0]], atol=1e-6)


def test_alpha_is_ignored_and_reported():
    rng = np.random.default_rng(3)
    rgba = rng.integers(0, 256, (12, 9, 4), dtype=np.uint8)
    other_alpha = rgba.copy()
    other_alpha[:, :, 3] = 255 - other_alpha[:, :, 3]
    kernel = rng.standard_normal((3, 3))
    a, b = filter_image(rgba, kernel), filter_image(other_alpha, kernel)
    assert a.raw.shape == (12, 9, 3)
    np.testing.assert_array_equal(a.raw, b.raw)
    np.testing.assert_array_equal(a.raw, filter_image(rgba[:, :, :3], kernel).raw)
    assert "alpha" in a.note
    assert "alpha" not in filter_image(rgba[:, :, :3], kernel).note


def test_to_float01():
    image = np.array([[0, 51, 255]], np.uint8)
    out = to_float01(image)
    assert out.dtype == np.float32 and out.shape == (1, 3)
    np.testing.assert_allclose(out, [[0.0, 0.2, 1.0]], atol=1e-7)
    floats = np.array([[0.25, -0.5]], np.float64)
    np.testing.assert_array_equal(to_float01(floats), floats.astype(np.float32))


# ---------------------------------------------------------------------------------------------
# Display mappings


def identity(values: list[float]) -> Callable[[str], FilterResult]:
    """filter_image with a 1x1 kernel of 1, so raw equals the input values, for a given mapping."""
    return lambda output: filter_image(np.array([values], np.float32), np.ones((1, 1)), output=output)


def test_clip_mapping():
    result = identity([-0.5, 0.0, 0.25, 0.5, 1.0, 1.5])("clip")
    np.testing.assert_array_equal(result.display, [[0, 0, 64, 128, 255, 255]])
    assert result.note == "Values outside 0..1 were clipped (min -0.5, max 1.5)."
    inside = identity([0.1, 0.9])("clip")
    assert "already inside 0..1" in inside.note and "min 0.1, max 0.9" in inside.note


def test_normalize_mapping():
    result = identity([-1.0, 0.0, 1.0, 3.0])("normalize")
    np.testing.assert_array_equal(result.display, [[0, 64, 128, 255]])
    np.testing.assert_array_equal(result.raw, [[-1.0, 0.0, 1.0, 3.0]])  # raw is before the mapping
    assert "stretched from -1..3" in result.note


def test_normalize_constant_is_mid_grey():
    result = identity([0.7, 0.7, 0.7])("normalize")
    np.testing.assert_array_equal(result.display, [[128, 128, 128]])
    assert "constant" in result.note and "mid grey" in result.note


@pytest.mark.parametrize("backend", SEPARABLE_BACKENDS + ["direct", "opencv", "fft"])
def test_normalize_does_not_amplify_rounding_noise(backend):
    """An edge kernel on a flat photo is 0 everywhere; FFT rounding noise must not become contrast."""
    sobel = np.outer([1.0, 2.0, 1.0], [-1.0, 0.0, 1.0])
    flat = np.full((64, 80, 3), 0.6, np.float32)
    result = filter_image(flat, sobel, padding="valid", output="normalize", backend=backend)
    assert np.abs(result.raw).max() < 1e-5
    assert (result.display == 128).all()


def test_abs_mapping():
    result = identity([-2.0, -0.5, 0.0, 0.5, 0.25])("abs")
    np.testing.assert_array_equal(result.display, [[255, 128, 0, 128, 64]])
    assert result.note.startswith("Absolute values") and "min -2, max 0.5" in result.note


def test_result_is_frozen():
    result = filter_image(np.zeros((4, 4), np.uint8), np.ones((3, 3)))
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.backend = "fft"


# ---------------------------------------------------------------------------------------------
# Backend choice, separability and threads


def test_separable_factors():
    sobel = np.outer([1.0, 2.0, 1.0], [-1.0, 0.0, 1.0])
    column, row = separable_factors(sobel)
    np.testing.assert_allclose(np.outer(column, row), sobel, atol=1e-12)
    assert separable_factors(np.array([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]])) is None
    assert separable_factors(np.eye(3)) is None


@pytest.mark.parametrize("backend", SEPARABLE_BACKENDS)
def test_separable_backends_refuse_full_rank_kernel(backend):
    with pytest.raises(ConvConfigError, match="rank 1") as info:
        filter_image(np.zeros((8, 8)), np.eye(3), backend=backend)
    assert info.value.argument == "backend"


def _dilated(kernel: np.ndarray, d: int) -> np.ndarray:
    return filtering._dilate(kernel, (d, d))


def test_auto_choice_follows_the_measured_rule():
    rng = np.random.default_rng(0)
    g = np.exp(-(np.linspace(-2, 2, 31) ** 2))
    assert choose_backend(np.outer(g, g), (g, g)) == "opencv_separable"
    # 3x3 rank 1: filter2D on a float image (it skips dilation gaps), sepFilter2D on a uint8 photo
    small = _dilated(np.outer(g[:3], g[:3]), 2)
    assert choose_backend(small, (small[:, 2], small[2]), dilation=(2, 2)) == "opencv"
    assert choose_backend(small, (small[:, 2], small[2]), uint8=True, dilation=(2, 2)) == "opencv_separable"
    dense = np.outer(g[:3], g[:3])  # undilated: sepFilter2D, by a few percent
    assert choose_backend(dense, (dense[:, 1], dense[1])) == "opencv_separable"
    # a rank-1 kernel dilated wider than 45: numpy's 1D passes skip the gaps, OpenCV's do not
    for dilation, expected in ((3, "opencv_separable"), (4, "separable")):  # spans 43 and 57
        wide = _dilated(np.outer(g[:15], g[:15]), dilation)
        middle = wide.shape[0] // 2
        assert choose_backend(wide, (wide[:, middle], wide[middle])) == expected
    for side in (3, 5, 7, 11, 17, 31):  # dense: OpenCV, direct below 130 cells, its DFT above
        assert choose_backend(rng.standard_normal((side, side))) == "opencv"
    for shape in ((13, 13), (15, 15), (16, 16), (3, 60)):  # two bands of rows under 130 cells each
        assert choose_backend(rng.standard_normal(shape)) == "opencv_bands"
    # a few taps spread wide by dilation: numpy's direct sum beats OpenCV's DFT
    assert choose_backend(_dilated(rng.standard_normal((3, 3)), 2)) == "opencv"  # 5x5, still direct in OpenCV
    assert choose_backend(_dilated(rng.standard_normal((3, 3)), 8)) == "direct"  # 17x17, 9 taps
    # ... unless the dilation is known: then its phases, each a small dense filter2D, beat both
    assert choose_backend(_dilated(rng.standard_normal((3, 3)), 8), dilation=(8, 8)) == "opencv_phases"
    assert choose_backend(_dilated(rng.standard_normal((5, 5)), 3), dilation=(3, 3)) == "opencv_phases"
    assert choose_backend(_dilated(rng.standard_normal((7, 7)), 2), dilation=(2, 2)) == "opencv_phases"
    assert choose_backend(_dilated(rng.standard_normal((3, 3)), 4), dilation=(4, 4)) == "opencv"  # 81 cells
    # a vertical stride: the kept rows alone, from 5x5 on while the row phases stay under 130 cells
    assert choose_backend(rng.standard_normal((7, 7)), stride=(2, 2)) == "opencv_strided"
    assert choose_backend(rng.standard_normal((15, 15)), stride=(2, 1)) == "opencv_strided"  # 8x15
    assert choose_backend(rng.standard_normal((3, 3)), stride=(2, 2)) == "opencv"
    assert choose_backend(rng.standard_normal((7, 7)), stride=(1, 2)) == "opencv"
    assert choose_backend(rng.standard_normal((31, 31)), stride=(2, 2)) == "opencv"  # 16x31: a DFT each
    # rank 1 with a vertical stride: the vertical pass on the row phases, where that measured faster
    for side, uint8, padding_mode, expected in (
        (3, False, "zeros", "opencv_strided"),  # one phase is a single tap
        (5, False, "zeros", "opencv_separable"),
        (7, False, "zeros", "opencv_strided"),
        (7, False, "reflect", "opencv_separable"),  # a padded copy first
        (15, False, "reflect", "opencv_strided"),
        (7, True, "zeros", "opencv_separable"),  # sepFilter2D reads a uint8 photo as it is
        (15, True, "zeros", "opencv_strided"),
        (15, True, "reflect", "opencv_separable"),
        (31, True, "reflect", "opencv_strided"),
    ):
        column = g[:side]
        kernel = np.outer(column, column)
        chosen = choose_backend(
            kernel, (column, column), uint8=uint8, stride=(2, 2), padding_mode=padding_mode
        )
        assert chosen == expected, (side, uint8, padding_mode)
    assert choose_backend(np.outer(g[:3], g[:3]), (g[:3], g[:3]), stride=(1, 2)) == "opencv_separable"
    # an undilated kernel of 130+ cells: its phases would each run a DFT
    assert choose_backend(_dilated(rng.standard_normal((15, 15)), 2), dilation=(2, 2)) == "opencv"
    assert choose_backend(_dilated(rng.standard_normal((15, 15)), 8), dilation=(8, 8)) == "opencv"


def test_auto_reports_the_backend_it_ran():
    rng = np.random.default_rng(1)
    image = rng.random((200, 300, 3), dtype=np.float32)
    assert filter_image(image, rng.standard_normal((3, 3))).backend == "opencv"
    assert filter_image(image, np.ones((3, 5))).backend == "opencv_separable"
    photo = rng.integers(0, 256, (200, 300, 3), dtype=np.uint8)
    assert filter_image(image, np.ones((3, 3))).backend == "opencv_separable"
    assert filter_image(image, np.ones((3, 3)), dilation=2).backend == "opencv"
    assert filter_image(photo, np.ones((3, 3))).backend == "opencv_separable"
    assert filter_image(image, rng.standard_normal((3, 3)), dilation=8).backend == "opencv_phases"
    assert filter_image(photo, rng.standard_normal((7, 7)), dilation=2).backend == "opencv_phases"
    assert filter_image(photo, rng.standard_normal((7, 7)), stride=2, padding=3).backend == "opencv_strided"
    assert filter_image(image, rng.standard_normal((15, 15))).backend == "opencv_bands"
    assert filter_image(image, rng.standard_normal((15, 15)), stride=2, padding=7).backend == "opencv_strided"


def test_one_thread_per_filter_call_by_default():
    assert filter_threads() == 1 and cv2.getNumThreads() == 1


def test_more_threads_give_the_same_numbers():
    rng = np.random.default_rng(2)
    image = rng.integers(0, 256, (300, 400, 3), dtype=np.uint8)
    kernels_ = [rng.standard_normal((5, 5)), np.ones((7, 7)) / 49, rng.standard_normal((13, 13))]
    one = [filter_image(image, k, backend=b).raw for k in kernels_ for b in ("opencv", "direct", "fft")]
    set_filter_threads(2)
    try:
        assert cv2.getNumThreads() == 2
        two = [filter_image(image, k, backend=b).raw for k in kernels_ for b in ("opencv", "direct", "fft")]
    finally:
        set_filter_threads(1)
    for a, b in zip(one, two, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-5)
    with pytest.raises(ConvConfigError, match="at least one thread"):
        set_filter_threads(0)


def test_result_overflowing_float32_is_refused_with_a_message():
    with pytest.raises(ConvConfigError, match="overflowed") as info:
        filter_image(np.ones((8, 8), np.float32), np.full((3, 3), 1e38))
    assert info.value.argument == "kernel"


# ---------------------------------------------------------------------------------------------
# Errors a student can act on


def expect_error(argument: str, match: str, *args, **kwargs) -> ConvConfigError:
    with pytest.raises(ConvConfigError, match=match) as info:
        filter_image(*args, **kwargs)
    assert info.value.argument == argument
    return info.value


def test_kernel_larger_than_padded_image():
    error = expect_error("kernel", "fits nowhere", np.zeros((4, 5)), np.ones((5, 5)), padding="valid")
    assert "5×5" in str(error) and "image 4×5" in str(error)  # height × width, as everywhere
    expect_error("kernel", "dilation", np.zeros((8, 8)), np.ones((3, 3)), padding=1, dilation=5)


def test_zero_stride():
    expect_error("stride", "at least 1", np.zeros((8, 8)), np.ones((3, 3)), stride=0, padding=1)


def test_same_with_stride_two():
    expect_error("padding", "stride 1", np.zeros((8, 8)), np.ones((3, 3)), stride=2, padding="same")


def test_reflect_and_circular_padding_too_large():
    error = expect_error("padding", "reflect", np.zeros((3, 10)), np.ones((7, 1)), padding_mode="reflect")
    assert "height" in str(error)
    filter_image(np.zeros((4, 10)), np.ones((7, 1)), padding_mode="reflect")  # pad 3 < 4 is fine
    expect_error(
        "padding", "circular", np.zeros((10, 3)), np.ones((1, 3)), padding=(0, 4), padding_mode="circular"
    )
    filter_image(np.zeros((10, 3)), np.ones((1, 3)), padding=(0, 3), padding_mode="circular")


@pytest.mark.parametrize("kernel", [np.ones(3), np.ones((3, 3, 3)), np.ones((0, 3)), [[1.0, np.nan]]])
def test_bad_kernels(kernel):
    expect_error("kernel", "kernel", np.zeros((8, 8)), kernel)


@pytest.mark.parametrize(
    "image",
    [
        np.zeros(8),
        np.zeros((1, 8, 8, 3)),
        np.zeros((8, 8, 5)),
        np.zeros((0, 8)),
        np.zeros((8, 8), np.uint16),
        np.full((4, 4), np.inf),
    ],
)
def test_bad_images(image):
    expect_error("image", "image", image, np.ones((3, 3)))


@pytest.mark.parametrize(
    ("argument", "value"),
    [("mode", "grey"), ("output", "scale"), ("padding_mode", "mirror"), ("backend", "gpu")],
)
def test_unknown_choices(argument, value):
    expect_error(argument, argument, np.zeros((8, 8)), np.ones((3, 3)), **{argument: value})


def test_import_does_not_pull_ui_libraries():
    code = (
        "import sys, cnnviz.images.filtering; print(any(m in sys.modules for m in ('streamlit', 'plotly')))"
    )
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root)
    assert out.stdout.strip() == "False"


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")
def test_opencv_strided_two_tap_phases_match_torch_at_every_edge(monkeypatch):
    """A rank-1 kernel of 3 or 4 rows at stride 2 gives row phases of two taps (one cv2.addWeighted):
    odd and even heights, padding from none to wider than the kernel, asymmetric, every padding mode."""
    calls = []
    two_rows = filtering._two_rows
    monkeypatch.setattr(filtering, "_two_rows", lambda *args: calls.append(args[3]) or two_rows(*args))
    rng = np.random.default_rng(21)
    g = np.array([0.3, -1.2, 0.7, 0.45])
    for rows in (3, 4):
        kernel = np.outer(g[:rows], g[:3])
        for height in (5, 6, 9):
            image = rng.random((height, 7, 3), dtype=np.float32)
            for padding in (0, 1, 2, ((0, 3), (1, 1)), ((3, 0), (2, 0))):
                for padding_mode in PADDING_MODES:
                    geometry = dict(stride=2, padding=padding, padding_mode=padding_mode, dilation=1)
                    check_against_torch(image, kernel, "opencv_strided", **geometry)
    assert set(calls) == {0, 1}  # both anchors: with a padded copy and on the zero border


def test_a_remembered_kernel_plan_is_the_kernels_own_and_cannot_be_changed():
    """Each kernel's checks, dilation, factors and backend are kept between calls, keyed by its bytes:
    another kernel of the same shape (or the same numbers in another dtype or shape) gets its own, a bad
    kernel still fails every time, and the kept arrays are read-only."""
    rng = np.random.default_rng(3)
    image = rng.random((16, 16, 3), dtype=np.float32)
    first, second = rng.normal(size=(3, 3)), rng.normal(size=(3, 3))
    for kernel in (first, second, first.astype(np.float32), first.reshape(1, 9), first):
        for dilation in (1, 2):
            got, _ = correlate_image(image, kernel, dilation=dilation)
            expected = torch_filter(
                image, np.asarray(kernel, np.float64), stride=1, padding="same", padding_mode="zeros",
                dilation=dilation,
            )  # fmt: skip
            np.testing.assert_allclose(got, expected, rtol=0, atol=1e-5)
    key, weights = filtering._checked_kernel(first)
    assert key is not None and not weights.flags.writeable
    dilated, factors, _ = filtering._remembered_plan(key, ((2, 2), (1, 1), "auto", False, "zeros"))
    assert not dilated.flags.writeable and dilated.shape == (5, 5)
    with pytest.raises(ValueError):
        dilated[0, 0] = 1.0
    for _ in range(2):  # not remembered as good the second time
        expect_error("kernel", "kernel", image, [[1.0, np.nan]])
    assert filtering._checked_kernel(np.ones((65, 65)))[0] is None  # a large kernel is not kept
