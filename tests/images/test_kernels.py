"""Named image kernels: their matrices, their sums, gradient magnitude and the pixel inspector, against PyTorch."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from cnnviz.conv.explain import explain_conv_output
from cnnviz.errors import ConvConfigError
from cnnviz.images.kernels import (
    IMAGE_KERNELS,
    SIZED_KERNELS,
    apply_image_kernel,
    custom_kernel,
    difference_image,
    explain_pixel,
    histograms,
    image_kernel,
)

SOBEL_X = [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]
EXPECTED = {
    "sobel x": SOBEL_X,
    "sobel y": [[-1, -2, -1], [0, 0, 0], [1, 2, 1]],
    "prewitt x": [[-1, 0, 1], [-1, 0, 1], [-1, 0, 1]],
    "prewitt y": [[-1, -1, -1], [0, 0, 0], [1, 1, 1]],
    "scharr x": [[-3, 0, 3], [-10, 0, 10], [-3, 0, 3]],
    "scharr y": [[-3, -10, -3], [0, 0, 0], [3, 10, 3]],
    "laplacian": [[0, 1, 0], [1, -4, 1], [0, 1, 0]],
    "outline": [[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]],
    "sharpen": [[0, -1, 0], [-1, 5, -1], [0, -1, 0]],
    "emboss": [[-2, -1, 0], [-1, 1, 1], [0, 1, 2]],
    "identity": [[0, 0, 0], [0, 1, 0], [0, 0, 0]],
}
SUMS_TO_ONE = ("identity", "box blur", "gaussian blur", "motion blur", "sharpen", "unsharp mask", "emboss")
SUMS_TO_ZERO = (
    "outline",
    "laplacian",
    "sobel x",
    "sobel y",
    "prewitt x",
    "prewitt y",
    "scharr x",
    "scharr y",
)


def _photo(shape: tuple[int, int] = (37, 53), seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (*shape, 3), dtype=np.uint8)


def _torch_filter(image: np.ndarray, kernel: np.ndarray, padding: int | str = 1) -> np.ndarray:
    """Depthwise conv2d in float64 (the oracle): (H, W, 3) uint8 -> (H', W', 3)."""
    x = torch.tensor(image, dtype=torch.float64).permute(2, 0, 1)[None] / 255.0
    w = torch.tensor(kernel, dtype=torch.float64)[None, None].repeat(3, 1, 1, 1)
    return F.conv2d(x, w, padding=padding, groups=3)[0].permute(1, 2, 0).numpy()


@pytest.mark.parametrize("name", list(EXPECTED))
def test_preset_matrix_is_the_textbook_one(name: str) -> None:
    assert image_kernel(name).matrix.tolist() == EXPECTED[name]


def test_unsharp_mask_is_the_classic_5x5_with_minus_476() -> None:
    k = image_kernel("unsharp mask").matrix * -256
    assert k.shape == (5, 5) and k[2, 2] == pytest.approx(-476) and k[0, 0] == pytest.approx(1)


@pytest.mark.parametrize("name", SUMS_TO_ONE)
def test_smoothing_and_sharpening_kernels_sum_to_one(name: str) -> None:
    assert image_kernel(name, 7, 1.5).matrix.sum() == pytest.approx(1.0)


@pytest.mark.parametrize("name", SUMS_TO_ZERO)
def test_edge_kernels_sum_to_zero(name: str) -> None:
    assert image_kernel(name).matrix.sum() == pytest.approx(0.0)


@pytest.mark.parametrize("name", SIZED_KERNELS)
def test_sized_kernels_take_their_size(name: str) -> None:
    assert image_kernel(name, 9).matrix.shape == (9, 9)
    with pytest.raises(ConvConfigError, match="1..15"):
        image_kernel(name, 17)


def test_gaussian_sigma_is_used() -> None:
    narrow, wide = image_kernel("gaussian blur", 7, 0.5).matrix, image_kernel("gaussian blur", 7, 3.0).matrix
    assert narrow[3, 3] > wide[3, 3]


def test_every_kernel_has_a_description() -> None:
    for name in IMAGE_KERNELS:
        assert len(image_kernel(name).description) > 20


def test_sobel_x_is_positive_where_it_gets_brighter_to_the_right() -> None:
    image = np.zeros((9, 9, 3), np.uint8)
    image[:, 5:] = 255
    result = apply_image_kernel(image, image_kernel("sobel x"), padding="same", padding_mode="replicate")
    assert result.raw[4, 4, 0] > 0 and result.raw[4, 1, 0] == 0


@pytest.mark.parametrize("name", ["sobel x", "scharr y", "emboss", "unsharp mask", "laplacian"])
def test_preset_filter_matches_torch(name: str) -> None:
    image, k = _photo(), image_kernel(name).matrix
    got = apply_image_kernel(image, image_kernel(name), padding=k.shape[0] // 2).raw
    np.testing.assert_allclose(got, _torch_filter(image, k, k.shape[0] // 2), atol=2e-5)


def test_gradient_magnitude_is_hypot_of_sobel_results_like_torch() -> None:
    image = _photo()
    result = apply_image_kernel(
        image, image_kernel("gradient magnitude (sobel)"), padding=1, output="normalize"
    )
    gx = _torch_filter(image, np.array(SOBEL_X, float))
    gy = _torch_filter(image, np.array(SOBEL_X, float).T)
    np.testing.assert_allclose(result.raw, np.hypot(gx, gy), atol=2e-5)
    assert result.display.max() == 255 and result.display.dtype == np.uint8
    assert "stretched" in result.note


@pytest.mark.parametrize(
    ("mode", "stride", "padding", "padding_mode", "dilation"),
    [
        ("per_channel", 1, "same", "zeros", 1),
        ("per_channel", 2, 2, "reflect", 2),
        ("luminance", 3, "valid", "zeros", 1),
        ("per_channel", 1, 3, "circular", 3),
        ("luminance", 2, 1, "replicate", 1),
    ],
)
@pytest.mark.parametrize("name", ["gaussian blur", "gradient magnitude (sobel)"])
def test_pixel_inspector_equals_the_result_pixel(
    name: str, mode: str, stride: int, padding: int | str, padding_mode: str, dilation: int
) -> None:
    image, kernel = _photo(), image_kernel(name, 5)
    opts = dict(mode=mode, stride=stride, padding=padding, padding_mode=padding_mode, dilation=dilation)
    raw = apply_image_kernel(image, kernel, **opts).raw
    raw = raw[:, :, None] if raw.ndim == 2 else raw
    for row, col in [(0, 0), (raw.shape[0] - 1, raw.shape[1] - 1), (raw.shape[0] // 2, 1)]:
        px = explain_pixel(image, kernel, row, col, **opts)
        np.testing.assert_allclose(px.result, raw[row, col], atol=1e-5)


def test_pixel_inspector_agrees_with_explain_conv_output() -> None:
    image, kernel = _photo((12, 10)), image_kernel("sobel y")
    px = explain_pixel(image, kernel, 0, 9, stride=1, padding=1, padding_mode="reflect")
    cell = explain_conv_output(
        image[:, :, 1][None] / 255.0,
        kernel.matrix[None, None],
        (0, 9),
        stride=1,
        padding=1,
        padding_mode="reflect",
    )
    assert px.sums[0, 1] == pytest.approx(cell.total)
    assert sorted(px.products[0, 1].ravel()) == pytest.approx(sorted(t.product for t in cell.taps))


def test_pixel_outside_the_result_is_refused() -> None:
    with pytest.raises(ConvConfigError, match="outside"):
        explain_pixel(_photo(), image_kernel("identity"), 37, 0)


def test_custom_kernel_checks_its_cells() -> None:
    assert custom_kernel(np.ones((2, 15))).matrix.shape == (2, 15)
    with pytest.raises(ConvConfigError, match="row 1, column 0"):
        custom_kernel(np.array([[1.0, 2.0], [np.nan, 0.0]]))
    with pytest.raises(ConvConfigError, match="1..15"):
        custom_kernel(np.ones((16, 3)))


def test_difference_image_and_histograms() -> None:
    a = np.zeros((4, 4, 3), np.uint8)
    b = a.copy()
    b[0, 0, 0] = 10
    diff, top = difference_image(a, b)
    assert top == 10 and diff[0, 0, 0] == 255 and diff.sum() == 255
    assert difference_image(a, b[:3]) is None
    counts = histograms(b)
    assert counts["R"].sum() == 16 and counts["R"][2] == 1 and len(counts["G"]) == 64


def test_result_extent_centres_output_pixels_over_their_windows() -> None:
    from cnnviz.images.kernels import result_extent

    # 'same', stride 1: the result lies exactly over the input.
    assert result_extent((10, 12), (10, 12), 1, "same", 1, (3, 3)) == (0.0, 0.0, 10, 12)
    # valid 3x3: the first output sits over input pixel 1, one pixel per output.
    assert result_extent((10, 12), (8, 10), 1, 0, 1, (3, 3)) == (1.0, 1.0, 8, 10)
    # stride 2, valid 3x3: first centre 1, pixels 2 apart, so the box starts half a stride earlier.
    y0, x0, h, w = result_extent((9, 9), (4, 4), 2, 0, 1, (3, 3))
    assert (y0, x0, h, w) == (0.5, 0.5, 8, 8)
    assert y0 - 0.5 + 2 / 2 == 1.0  # centre of the first output pixel


def test_gradient_magnitude_checks_its_input_and_names_the_alpha_it_left_out() -> None:
    rng = np.random.default_rng(4)
    rgba = rng.integers(0, 256, (20, 30, 4), dtype=np.uint8)
    magnitude = image_kernel("gradient magnitude (sobel)")
    result = apply_image_kernel(rgba, magnitude, output="abs")
    assert result.raw.shape == (20, 30, 3) and "alpha channel was not filtered" in result.note
    np.testing.assert_array_equal(result.raw, apply_image_kernel(rgba[:, :, :3], magnitude).raw)
    with pytest.raises(ConvConfigError, match="NaN"):
        apply_image_kernel(np.full((8, 8), np.nan), magnitude)
    with pytest.raises(ConvConfigError, match="output"):
        apply_image_kernel(rgba, magnitude, output="loud")
