"""The worked examples of the five lectures cnnviz is built to teach, replayed and checked.

Every number a lecture states is written here as plain data and recomputed two ways: with cnnviz
(`explain`, `matrix`, `counts`, `formulas`, `shapes`, `ops`) and with PyTorch. Where a slide's number
does not follow from its own setup, the test asserts the correct value and its docstring says so.

Lectures: 000 CS 462 "Convolutions"; 001 DL4DS "Convolutional Networks" (Understanding Deep Learning,
ch. 10); 002 IntroML "CNNs"; 003 165B "Convolutional Neural Networks" (d2l); 004 "CNN lecture: kernels
to classic architectures".
"""

from __future__ import annotations

import math
from itertools import pairwise

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from cnnviz import (
    Conv2d,
    ConvConfigError,
    Flatten,
    avg_pool2d,
    conv1d,
    conv2d,
    conv2d_output_size,
    conv_macs,
    conv_matrix,
    conv_output_size,
    conv_params,
    explain_conv_output,
    explain_conv_output_size,
    linear_macs,
    linear_params,
    max_pool2d,
    outputs_reading_input,
    pool2d_output_size,
    summarize,
    to_torch,
)

pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel:UserWarning")


def n_params(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def t(a) -> torch.Tensor:
    return torch.as_tensor(np.asarray(a, dtype=np.float64))


# ==================================================================================================
# Lecture 003 (165B, d2l): cross-correlation, padding, stride, channels, FLOPs, pooling, LeNet-5
# ==================================================================================================

X_0_TO_8 = [[0, 1, 2], [3, 4, 5], [6, 7, 8]]
K_0_TO_3 = [[0, 1], [2, 3]]


def test_003_cross_correlation_worked_example():
    """Lecture 003, "2-D Convolution Layer": [[0,1,2],[3,4,5],[6,7,8]] * [[0,1],[2,3]] = [[19,25],[37,43]]."""
    expected = np.array([[19.0, 25.0], [37.0, 43.0]])
    x, w = np.array([X_0_TO_8], float), np.array([[K_0_TO_3]], float)
    np.testing.assert_array_equal(conv2d(x, w)[0], expected)
    np.testing.assert_array_equal(F.conv2d(t(x)[None], t(w))[0, 0].numpy(), expected)
    e = explain_conv_output(x, w, (0, 0))
    assert [(tap.value, tap.weight) for tap in e.taps] == [(0, 0), (1, 1), (3, 2), (4, 3)]
    assert e.total == 19.0
    assert e.equation(digits=0) == "0×0 + 1×1 + 3×2 + 4×3 = 19"


def test_003_two_input_channels_sum_to_56():
    """Lecture 003, "Multiple Input Channels": (1x1 + 2x2 + 4x3 + 5x4) + (0x0 + 1x1 + 3x2 + 4x3) = 56.

    Channel 0 is [[0..8]] with kernel [[0,1],[2,3]] (the 19 of the previous slide); channel 1 is
    [[1..9]] with kernel [[1,2],[3,4]] (1 + 4 + 12 + 20 = 37).
    """
    x = np.array([X_0_TO_8, [[1, 2, 3], [4, 5, 6], [7, 8, 9]]], float)
    w = np.array([[K_0_TO_3, [[1, 2], [3, 4]]]], float)
    e = explain_conv_output(x, w, (0, 0))
    per_channel = {c: sum(tap.product for tap in e.taps if tap.channel == c) for c in (0, 1)}
    assert per_channel == {0: 19.0, 1: 37.0}
    assert e.total == 56.0
    y = F.conv2d(t(x)[None], t(w))[0, 0].numpy()
    assert y[0, 0] == 56.0
    np.testing.assert_array_equal(conv2d(x, w)[0], y)
    np.testing.assert_array_equal(y, [[56, 72], [104, 120]])


@pytest.mark.parametrize(
    "kernel",
    [
        [[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]],
        [[0, -1, 0], [-1, 5, -1], [0, -1, 0]],
        [[1 / 16, 2 / 16, 1 / 16], [2 / 16, 4 / 16, 2 / 16], [1 / 16, 2 / 16, 1 / 16]],
    ],
)
def test_003_image_kernels_edge_sharpen_blur(kernel):
    """Lecture 003, "Examples": edge detection, sharpen, Gaussian blur kernels on a flat image.

    Edge detection sums to 0 (a flat patch gives 0), sharpen and blur sum to 1 (a flat patch is kept).
    """
    flat = np.full((1, 5, 5), 7.0)
    w = np.array([[kernel]], float)
    y = conv2d(flat, w)[0]
    np.testing.assert_allclose(y, np.full((3, 3), 7.0 * np.sum(kernel)), atol=1e-12)
    rng = np.random.default_rng(3)
    img = rng.normal(size=(1, 6, 6))
    np.testing.assert_allclose(conv2d(img, w), F.conv2d(t(img)[None], t(w))[0].numpy(), atol=1e-12)


def test_003_padding_shrinks_32_to_28_then_4_after_7_layers():
    """Lecture 003, "Padding": 32x32 with a 5x5 kernel gives 28x28; 7 layers give 4x4."""
    assert conv2d_output_size(32, 5) == (28, 28)
    size, x = (32, 32), torch.zeros(1, 1, 32, 32)
    for _ in range(7):
        size = conv2d_output_size(size, 5)
        x = F.conv2d(x, torch.zeros(1, 1, 5, 5))
    assert size == tuple(x.shape[2:]) == (4, 4)
    # Shape reduces from n to n - k + 1 per layer.
    assert all(conv_output_size(n, k) == n - k + 1 for n in range(5, 40) for k in range(1, 6))


def test_003_padding_adds_rows_and_columns():
    """Lecture 003, "Padding adds rows/columns around input": [[0..8]] padded by 1 with kernel [[0,1],[2,3]]
    gives a 4 x 4 output whose corner is 0x0 + 0x1 + 0x2 + 0x3 = 0."""
    x, w = np.array([X_0_TO_8], float), np.array([[K_0_TO_3]], float)
    expected = np.array([[0, 3, 8, 4], [9, 19, 25, 10], [21, 37, 43, 16], [6, 7, 8, 0]], float)
    np.testing.assert_array_equal(F.conv2d(t(x)[None], t(w), padding=1)[0, 0].numpy(), expected)
    np.testing.assert_array_equal(conv2d(x, w, padding=1)[0], expected)
    corner = explain_conv_output(x, w, (0, 0), padding=1)
    assert [(tap.value, tap.weight) for tap in corner.taps] == [(0, 0), (0, 1), (0, 2), (0, 3)]
    assert sum(tap.is_padding for tap in corner.taps) == 3


def test_003_224_input_reaches_4x4_after_55_layers_not_44():
    """Lecture 003, "Stride": "a 224 x 224 input with a 5 x 5 kernel needs 44 layers to reach 4 x 4".

    Each valid 5x5 layer removes 4 rows, so 224 -> 4 takes (224 - 4) / 4 = 55 layers; after 44 layers
    the map is 48 x 48. (44 layers would fit a 6 x 6 kernel, which removes 5 per layer.)
    """

    def layers_to_reach(n, k, target):
        count = 0
        while n > target:
            n = conv_output_size(n, k)
            count += 1
        return count, n

    assert layers_to_reach(224, 5, 4) == (55, 4)
    assert layers_to_reach(224, 6, 4) == (44, 4)
    x = torch.zeros(1, 1, 224, 224)
    w = torch.zeros(1, 1, 5, 5)
    for _ in range(44):
        x = F.conv2d(x, w)
    assert tuple(x.shape[2:]) == (48, 48)
    for _ in range(11):
        x = F.conv2d(x, w)
    assert tuple(x.shape[2:]) == (4, 4)


def test_003_padding_formula_and_even_kernel_split():
    """Lecture 003, "Padding": with p_h rows in total the output is n_h - k_h + p_h + 1;
    p_h = k_h - 1 keeps n_h.

    For an even kernel the slide pads ceil(p_h/2) on top and floor(p_h/2) below; PyTorch (and cnnviz)
    put the extra row *after*. Both keep the size; the values differ, and cnnviz's 'same' is PyTorch's.
    """
    for n in range(4, 12):
        for k in range(1, 6):
            for p in range(0, 5):
                if n + p >= k:
                    assert conv_output_size(n, k, padding=(p // 2, p - p // 2)) == n - k + p + 1
            assert conv_output_size(n, k, padding=(math.ceil((k - 1) / 2), (k - 1) // 2)) == n
    x = np.random.default_rng(0).normal(size=(1, 6, 6))
    w = np.random.default_rng(1).normal(size=(1, 1, 4, 4))
    torch_same = F.conv2d(t(x)[None], t(w), padding="same")[0].numpy()
    np.testing.assert_allclose(conv2d(x, w, padding="same"), torch_same, atol=1e-12)
    np.testing.assert_allclose(conv2d(x, w, padding=((1, 2), (1, 2))), torch_same, atol=1e-12)
    slide_split = conv2d(x, w, padding=((2, 1), (2, 1)))
    assert slide_split.shape == torch_same.shape == (1, 6, 6)
    assert not np.allclose(slide_split, torch_same)
    assert "1 before and 2 after" in " ".join(explain_conv_output_size(6, 4, padding="same").notes)


def test_003_strides_3_and_2_on_the_padded_input():
    """Lecture 003, "Stride": strides 3 (height) and 2 (width) on [[0..8]] padded by 1, kernel [[0,1],[2,3]].

    The slide's two sums: 0x0 + 0x1 + 1x2 + 2x3 = 8 and 0x0 + 6x1 + 0x2 + 0x3 = 6; output [[0,8],[6,8]].
    """
    x, w = np.array([X_0_TO_8], float), np.array([[K_0_TO_3]], float)
    expected = np.array([[0.0, 8.0], [6.0, 8.0]])
    np.testing.assert_array_equal(
        F.conv2d(t(x)[None], t(w), stride=(3, 2), padding=1)[0, 0].numpy(), expected
    )
    np.testing.assert_array_equal(conv2d(x, w, stride=(3, 2), padding=1)[0], expected)
    top_right = explain_conv_output(x, w, (0, 1), stride=(3, 2), padding=1)
    assert [(tap.value, tap.weight) for tap in top_right.taps] == [(0, 0), (0, 1), (1, 2), (2, 3)]
    assert top_right.total == 8.0
    bottom_left = explain_conv_output(x, w, (1, 0), stride=(3, 2), padding=1)
    assert [(tap.value, tap.weight) for tap in bottom_left.taps] == [(0, 0), (6, 1), (0, 2), (0, 3)]
    assert [tap.is_padding for tap in bottom_left.taps] == [True, False, True, True]
    assert bottom_left.total == 6.0


def test_003_stride_output_formula():
    """Lecture 003, "Stride": floor((n_h - k_h + p_h + s_h) / s_h);
    with p_h = k_h - 1 it is floor((n_h + s_h - 1) / s_h), and n_h / s_h when s_h divides n_h."""
    for n in range(1, 20):
        for k in range(1, 6):
            for p in range(0, 5):
                for s in range(1, 5):
                    if n + p < k:
                        with pytest.raises(ConvConfigError):
                            conv_output_size(n, k, s, (p // 2, p - p // 2))
                        continue
                    slide = (n - k + p + s) // s
                    assert conv_output_size(n, k, s, (p // 2, p - p // 2)) == slide
                    y = F.conv1d(
                        F.pad(torch.zeros(1, 1, n), (p // 2, p - p // 2)), torch.zeros(1, 1, k), stride=s
                    )
                    assert y.shape[-1] == slide
            for s in range(1, 5):
                assert conv_output_size(n, k, s, (k // 2, (k - 1) - k // 2)) == (n + s - 1) // s
                if n % s == 0:
                    assert conv_output_size(n, k, s, (k // 2, (k - 1) - k // 2)) == n // s


def test_003_one_by_one_convolution_is_a_dense_layer_per_pixel():
    """Lecture 003, "1 x 1 Convolutional Layer": a dense layer with n_h n_w x c_i input and
    c_o x c_i weight."""
    rng = np.random.default_rng(4)
    x = rng.normal(size=(3, 4, 5))  # c_i = 3
    w = rng.normal(size=(2, 3, 1, 1))  # c_o = 2
    dense = (w[:, :, 0, 0] @ x.reshape(3, -1)).reshape(2, 4, 5)
    np.testing.assert_allclose(conv2d(x, w), dense, atol=1e-12)
    np.testing.assert_allclose(F.conv2d(t(x)[None], t(w))[0].numpy(), dense, atol=1e-12)
    assert conv_params(3, 2, 1, bias=False) == 2 * 3


def test_003_flop_count_is_about_one_gflop():
    """Lecture 003, "2-D Convolution Layer Summary": c_i = c_o = 100, k = 5, m = 64
    -> O(c_i c_o k_h k_w m_h m_w) ~ 1 GFLOP.

    10 layers on 1M examples: ~10 PF, about 18 h at 0.15 TF/s (CPU) and 14 min at 12 TF/s (GPU).
    """
    macs = conv_macs(100, 100, 5, (64, 64))  # the int kernel size stands for 5 x 5, as on nn.Conv2d
    assert macs == conv_macs(100, 100, (5, 5), (64, 64))
    assert macs == 100 * 100 * 5 * 5 * 64 * 64 == 1_024_000_000
    module = torch.nn.Conv2d(100, 100, 5, padding=2, bias=False)
    y = module(torch.zeros(1, 100, 64, 64))
    assert tuple(y.shape[2:]) == (64, 64)
    assert macs == y.numel() * module.weight[0].numel()
    total = macs * 10 * 1_000_000
    assert 10e15 <= total < 11e15
    assert 18 <= total / 0.15e12 / 3600 < 19
    assert round(total / 12e12 / 60) == 14


def test_003_max_pooling_2x2():
    """Lecture 003, "2-D Max Pooling": max(0,1,3,4) = 4; [[0,1,2],[3,4,5],[6,7,8]] -> [[4,5],[7,8]]."""
    x = np.array([X_0_TO_8], float)
    expected = np.array([[4.0, 5.0], [7.0, 8.0]])
    np.testing.assert_array_equal(max_pool2d(x, 2, stride=1)[0], expected)
    np.testing.assert_array_equal(F.max_pool2d(t(x)[None], 2, stride=1)[0, 0].numpy(), expected)
    assert pool2d_output_size(3, 2, 1) == (2, 2)
    # Average pooling replaces the max with the mean.
    np.testing.assert_array_equal(avg_pool2d(x, 2, stride=1)[0], [[2.0, 3.0], [5.0, 6.0]])


VERTICAL_EDGE_X = [[1, 1, 0, 0, 0]] * 4
VERTICAL_EDGE_Y = [[0, 1, 0, 0]] * 4
SLIDE_POOLED = [[1, 1, 1, 0]] * 4


def test_003_vertical_edge_and_max_pooling_tolerates_a_one_pixel_shift():
    """Lecture 003, "Pooling" and "2-D Max Pooling": X (ones in two columns) * [[1, -1]] = Y,
    an edge at column 1.

    2x2 max pooling with stride 1 still shows the edge after X moves by one pixel. The slide's third
    array (4 x 4, ones in three columns) has Y's size, which a 2x2 window with stride 1 cannot give
    (it gives 3 x 3); it equals a 3x3 max pooling with stride 1 and padding 1 of Y.
    """
    x = np.array([VERTICAL_EDGE_X], float)
    edge = np.array([[[[1.0, -1.0]]]])
    y = conv2d(x, edge)
    np.testing.assert_array_equal(y[0], VERTICAL_EDGE_Y)
    np.testing.assert_array_equal(F.conv2d(t(x)[None], t(edge))[0].numpy(), y)

    pooled = max_pool2d(y, 2, stride=1)
    np.testing.assert_array_equal(pooled[0], [[1, 1, 0]] * 3)
    shifted = np.roll(x, 1, axis=2)  # the edge moves one pixel right
    y_shifted = conv2d(shifted, edge)
    assert not np.array_equal(y_shifted, y)  # the convolution is sensitive to position ...
    pooled_shifted = max_pool2d(y_shifted, 2, stride=1)
    assert np.all(pooled_shifted[0][:, 1] == 1) and np.all(pooled[0][:, 1] == 1)  # ... the pooled edge stays
    np.testing.assert_array_equal(F.max_pool2d(t(y_shifted)[None], 2, 1)[0].numpy(), pooled_shifted)

    np.testing.assert_array_equal(max_pool2d(y, 3, stride=1, padding=1)[0], SLIDE_POOLED)
    np.testing.assert_array_equal(F.max_pool2d(t(y)[None], 3, 1, 1)[0, 0].numpy(), SLIDE_POOLED)


def test_003_lenet5_feature_map_sizes_and_parameters():
    """Lecture 003, "LeNet-5" table and "LeNet in Pytorch": feature maps 32 -> 28 -> 14 -> 10 -> 5 -> 1
    with 6/16/120 channels."""
    model = torch.nn.Sequential(
        torch.nn.Conv2d(1, 6, 5),
        torch.nn.Tanh(),
        torch.nn.AvgPool2d(2, 2),
        torch.nn.Conv2d(6, 16, 5),
        torch.nn.Tanh(),
        torch.nn.AvgPool2d(2, 2),
        torch.nn.Conv2d(16, 120, 5),
        torch.nn.Flatten(),
        torch.nn.Linear(120, 84),
        torch.nn.Tanh(),
        torch.nn.Linear(84, 10),
    )
    table = [(28, 6), (14, 6), (10, 16), (5, 16), (1, 120)]
    x = torch.zeros(1, 1, 32, 32)
    shapes = []
    for layer in model:
        x = layer(x)
        if x.dim() == 4 and not isinstance(layer, torch.nn.Tanh):
            shapes.append((x.shape[2], x.shape[1]))
    assert shapes == table
    assert x.shape == (1, 10)

    size = (32, 32)
    sizes = []
    for step in ("conv", "pool", "conv", "pool", "conv"):
        size = conv2d_output_size(size, 5) if step == "conv" else pool2d_output_size(size, 2, 2)
        sizes.append(size[0])
    assert sizes == [28, 14, 10, 5, 1]
    total = (
        conv_params(1, 6, (5, 5))
        + conv_params(6, 16, (5, 5))
        + conv_params(16, 120, (5, 5))
        + linear_params(120, 84)
        + linear_params(84, 10)
    )
    assert total == n_params(model) == 61_706


# ==================================================================================================
# Lecture 000 (CS 462): 3x3 feature maps, receptive field, CIFAR-10 networks and their sizes
# ==================================================================================================


def test_000_3x3_kernel_on_28x28_digits():
    """Lecture 000, "Padding": a 3x3 kernel can be evaluated at 26x26 locations on the 28x28 digits.

    "Weight Efficiency": 784 pixels per first-layer neuron vs 9 weights; 87 convolutions fit in 784.
    """
    assert conv2d_output_size(28, 3) == (26, 26)
    assert F.conv2d(torch.zeros(1, 1, 28, 28), torch.zeros(1, 1, 3, 3)).shape[2:] == (26, 26)
    assert conv2d_output_size(28, 3, padding=1) == (28, 28)  # padding: evaluate everywhere
    assert linear_params(784, 1, bias=False) == 784
    assert conv_params(1, 1, (3, 3), bias=False) == 9
    assert conv_params(1, 87, (3, 3), bias=False) <= 784 < conv_params(1, 88, (3, 3), bias=False)
    # f[x] = beta + sum_ij x_ij w_{3i+j}: one output is a dot product of a 3x3 block with 9 weights.
    rng = np.random.default_rng(5)
    img = rng.normal(size=(1, 28, 28))
    w = rng.normal(size=(1, 1, 3, 3))
    e = explain_conv_output(img, w, (10, 4), bias=np.array([0.5]))
    assert e.total == pytest.approx(0.5 + float(np.sum(img[0, 10:13, 4:7] * w[0, 0])), abs=1e-12)


def test_000_two_stacked_width_3_convolutions_see_5_inputs():
    """Lecture 000, "Receptive Fields": f1 = [x1,x2,x3].w, f2 = [x2,x3,x4].w, f3 = [x3,x4,x5].w; a second
    width-3 convolution over [f1,f2,f3] sees x1..x5: receptive field 5 (and 7 after three layers)."""
    n = 9
    # Chained: which layer-1 cells feed output 0 of layer 2, then which inputs feed those.
    n1 = conv_output_size(n, 3)
    layer1_cells = [c for c in range(n1) if any(o == (0,) for o, _ in outputs_reading_input(n1, c, 3))]
    assert layer1_cells == [0, 1, 2]
    n2 = conv_output_size(n1, 3)
    inputs = sorted(
        {
            i
            for i in range(n)
            for c in layer1_cells
            if any(o == (c,) for o, _ in outputs_reading_input(n, i, 3))
        }
    )
    assert inputs == [0, 1, 2, 3, 4]

    # As matrices: the product of the two banded matrices has 5 nonzeros in each row.
    m1 = conv_matrix((1, n), np.ones((1, 1, 3)))
    m2 = conv_matrix((1, n1), np.ones((1, 1, 3)))
    m3 = conv_matrix((1, conv_output_size(n2, 3) + 2), np.ones((1, 1, 3)))
    assert [np.count_nonzero(row) for row in m2 @ m1] == [5] * n2
    assert [np.count_nonzero(row) for row in m3 @ m2 @ m1] == [7] * (n2 - 2)

    # And autograd through two PyTorch convolutions agrees.
    x = torch.zeros(1, 1, n, requires_grad=True)
    y = F.conv1d(F.conv1d(x, torch.ones(1, 1, 3)), torch.ones(1, 1, 3))
    y[0, 0, 0].backward()
    assert torch.nonzero(x.grad[0, 0]).flatten().tolist() == [0, 1, 2, 3, 4]


def cifar_model(widths, strides, linear_in):
    layers = []
    cin = 3
    for cout, s in zip(widths, strides, strict=True):
        layers += [torch.nn.Conv2d(cin, cout, 3, padding=1, stride=s), torch.nn.ReLU()]
        cin = cout
    layers += [torch.nn.Flatten(), torch.nn.Linear(linear_in, 60), torch.nn.Linear(60, 10)]
    return torch.nn.Sequential(*layers)


def cifar_count(widths, strides):
    """Parameters and flatten size with cnnviz: 3x3 convolutions with padding 1, then Linear(.., 60)
    and Linear(60, 10)."""
    size, cin, total = 32, 3, 0
    for cout, s in zip(widths, strides, strict=True):
        size = conv_output_size(size, 3, s, 1)
        total += conv_params(cin, cout, (3, 3))
        cin = cout
    flat = cin * size * size
    return total + linear_params(flat, 60) + linear_params(60, 10), flat, size


@pytest.mark.parametrize(
    ("name", "widths", "strides", "flat", "final", "params"),
    [
        ("ConvNet", (15, 15, 15), (2, 2, 2), 240, 4, 19_570),
        ("WideConvNet", (15, 30, 60), (2, 2, 2), 960, 4, 79_030),
        ("DeepConvNet", (15, 15, 15, 15, 15), (1, 2, 1, 2, 2), 240, 4, 23_650),
    ],
)
def test_000_cifar_convnets_parameter_counts(name, widths, strides, flat, final, params):
    """Lecture 000, "Convnet Size", "Wider Params", "Deeper": 19,570, 79,030 and 23,650 parameters.

    32 -> 16 -> 8 -> 4 with stride 2 (k=3, p=1), 15 channels x 4 x 4 = 240 flatten features (960 for 60
    channels; "the first linear layer has 960 x 60 = 57600 weights", 240 x 60 = 14400 when deeper).
    """
    total, got_flat, got_final = cifar_count(widths, strides)
    assert (total, got_flat, got_final) == (params, flat, final)
    model = cifar_model(widths, strides, flat)
    assert n_params(model) == params
    out = model[:-3](torch.zeros(1, 3, 32, 32))
    assert tuple(out.shape[1:]) == (widths[-1], final, final)
    assert model(torch.zeros(2, 3, 32, 32)).shape == (2, 10)
    assert linear_params(flat, 60, bias=False) == flat * 60


def test_000_convnet_feature_map_sizes():
    """Lecture 000, "ConvNet": three stride-2 3x3 convolutions with padding 1 take 32 -> 16 -> 8 -> 4."""
    sizes = [32]
    for _ in range(3):
        sizes.append(conv2d_output_size(sizes[-1], 3, 2, 1)[0])
    assert sizes == [32, 16, 8, 4]
    # ... so the 15-channel maps flatten to the lecture's 240 features, in cnnviz and in PyTorch alike.
    layers = [Conv2d(3, 15, 3, stride=2, padding=1), Conv2d(15, 15, 3, stride=2, padding=1),
              Conv2d(15, 15, 3, stride=2, padding=1), Flatten()]  # fmt: skip
    assert summarize(layers, (3, 32, 32)).rows[-1].output_shape == (1, 240)
    assert to_torch(layers)(torch.zeros(1, 3, 32, 32)).shape == (1, 240)


def test_000_mlp_baseline_has_1645950_parameters():
    """Lecture 000, "Baseline": Linear 3072 -> 512 -> 120 -> 84 -> 10 has 1,645,950 trainable parameters."""
    dims = [3 * 32 * 32, 512, 120, 84, 10]
    total = sum(linear_params(a, b) for a, b in pairwise(dims))
    assert total == 1_645_950
    model = torch.nn.Sequential(torch.nn.Flatten(), *[torch.nn.Linear(a, b) for a, b in pairwise(dims)])
    assert n_params(model) == 1_645_950
    assert total // cifar_count((15, 15, 15), (2, 2, 2))[0] >= 80  # "two orders of magnitude smaller"


# ==================================================================================================
# Lecture 001 (DL4DS / UDL ch. 10): 1D convolution, banded matrices, the quiz, MNIST-1D network
# ==================================================================================================

SIGNAL = [5.2, 5.3, 5.4, 5.1, 10.1, 10.3, 9.9, 10.3, 3.2, 3.4, 3.3, 3.1]


@pytest.mark.parametrize("kernel", [[1 / 3, 1 / 3, 1 / 3], [-0.5, 0.0, 0.5], [0.2, -1.3, 0.7]])
def test_001_one_dimensional_signal_with_zero_padding(kernel):
    """Lecture 001, "1-D Convolution Example": length 3, stride 1, dilation 1, zero padding on the
    12-sample signal gives 12 outputs; z_i = w1 x_{i-1} + w2 x_i + w3 x_{i+1} with x_0 = x_13 = 0."""
    x = np.array([SIGNAL])
    w = np.array([[kernel]])
    y = conv1d(x, w, padding=1)[0]
    assert y.shape == (12,)
    np.testing.assert_allclose(y, F.conv1d(t(x)[None], t(w), padding=1)[0, 0].numpy(), rtol=0, atol=1e-12)
    padded = [0.0, *SIGNAL, 0.0]
    by_hand = [sum(kernel[j] * padded[i + j] for j in range(3)) for i in range(12)]
    np.testing.assert_allclose(y, by_hand, atol=1e-12)
    for i in (0, 5, 11):
        e = explain_conv_output(x, w, i, padding=1)
        assert e.total == pytest.approx(by_hand[i], abs=1e-12)
        assert [tap.is_padding for tap in e.taps] == [i == 0, False, i == 11]
    # "Valid" convolution: only where the kernel fits, a smaller output.
    assert conv1d(x, w).shape == (1, 10)


def test_001_convolution_is_a_banded_matrix_with_3_weights_vs_36():
    """Lecture 001, "Special case of fully-connected network": 6 inputs, kernel 3, zero padding: each hidden
    unit sees 3 inputs (2 at the edges), one shared set of 3 weights; the dense layer has 6 x 6 = 36."""
    w1, w2, w3 = 2.0, 3.0, 5.0
    m = conv_matrix((1, 6), np.array([[[w1, w2, w3]]]), padding=1)
    assert m.shape == (6, 6)
    assert [np.count_nonzero(row) for row in m] == [2, 3, 3, 3, 3, 2]
    for i in range(1, 5):
        assert list(m[i, i - 1 : i + 2]) == [w1, w2, w3]
    assert set(np.unique(m)) == {0.0, w1, w2, w3}
    assert conv_params(1, 1, 3, bias=False) == 3
    assert linear_params(6, 6, bias=False) == 36
    assert linear_params(6, 6) == 36 + 6  # "D^2 weights, D biases"
    assert conv_params(1, 1, 3) == 3 + 1  # "3 weights, 1 bias"
    # The same matrix from PyTorch's Jacobian.
    jac = torch.autograd.functional.jacobian(
        lambda v: F.conv1d(v[None, None], t([[[w1, w2, w3]]]), padding=1)[0, 0],
        torch.zeros(6, dtype=torch.float64),
    )
    np.testing.assert_array_equal(m, jac.numpy())


def test_001_stride_2_matrix_has_3_rows():
    """Lecture 001, weight matrix f): size 3, stride 2, dilation 1, zero padding on 6 inputs:
    h_1 reads x_1, x_2 (and a padding zero), h_2 reads x_2..x_4, h_3 reads x_4..x_6."""
    m = conv_matrix((1, 6), np.array([[[1.0, 2.0, 3.0]]]), stride=2, padding=1)
    np.testing.assert_array_equal(m, [[2, 3, 0, 0, 0, 0], [0, 1, 2, 3, 0, 0], [0, 0, 0, 1, 2, 3]])


def support_of_taps(k, s, d, pads, n_in):
    """Per tap, the support of its weight in the conv matrix (zero padding: each cell meets one tap)."""
    m = conv_matrix((1, n_in), (2.0 ** np.arange(k))[None, None], s, pads, d)
    return [m == 2.0**j for j in range(k)]


def configurations_drawing(table: np.ndarray, exact_rows, zero_taps_allowed: bool):
    """(kernel, stride, dilation, (before, after), zero taps) of every small 1D convolution whose matrix
    has the table's support: exactly on `exact_rows`, and covering the marked cells on the other rows."""
    n_out, n_in = table.shape
    others = [r for r in range(n_out) if r not in exact_rows]
    found = []
    for k in range(1, 9):
        for s in (1, 2):
            for d in (1, 2, 3):
                for before in range(5):
                    for after in range(5):
                        try:
                            taps = support_of_taps(k, s, d, (before, after), n_in)
                        except ConvConfigError:
                            continue
                        if taps[0].shape != table.shape:
                            continue
                        # A tap that lands outside the drawn cells must be a zero weight.
                        outside = [j for j in range(k) if np.any(taps[j][exact_rows] & ~table[exact_rows])]
                        if outside and not zero_taps_allowed:
                            continue
                        support = sum((taps[j] for j in range(k) if j not in outside), np.zeros_like(table))
                        if np.array_equal(support[exact_rows], table[exact_rows]) and np.all(
                            support[others] | ~table[others]
                        ):
                            found.append((k, s, d, (before, after), tuple(outside)))
    return found


def table_support(rows: dict[int, dict[int, str]], n_out: int, n_in: int) -> np.ndarray:
    sup = np.zeros((n_out, n_in), bool)
    for r, cells in rows.items():
        for c in cells:
            sup[r - 1, c - 1] = True
    return sup


# Quiz question 1 as transcribed (h_r: {x_c: colour}); rows h_1..h_3 lose cells near x_1 in the transcription.
QUIZ_1 = {
    1: {1: "dark brown"},
    2: {1: "dark brown", 2: "medium brown", 5: "light orange"},
    3: {2: "black", 3: "medium brown", 4: "dark brown", 6: "light orange"},
    4: {2: "white", 3: "black", 4: "medium brown", 5: "dark brown", 7: "light orange"},
    5: {3: "white", 4: "black", 5: "medium brown", 6: "dark brown", 8: "light orange"},
    6: {4: "white", 5: "black", 6: "medium brown", 7: "dark brown"},
    7: {5: "white", 6: "black", 7: "medium brown", 8: "dark brown"},
    8: {6: "white", 7: "black", 8: "medium brown"},
}
QUIZ_2 = {r: {r: "black", r + 1: "light brown", r + 2: "dark brown"} for r in range(1, 7)}
QUIZ_3 = {r: {r: "filled"} for r in range(1, 9)}


def test_001_quiz_question_2_is_kernel_3_stride_1_dilation_1_valid():
    """Lecture 001, "Question 2": 8 inputs, 6 outputs, three consecutive weights shifting by one per row."""
    weights = {"black": 1.0, "light brown": 2.0, "dark brown": 3.0}
    m = conv_matrix((1, 8), np.array([[[1.0, 2.0, 3.0]]]), stride=1, padding="valid", dilation=1)
    drawn = np.zeros((6, 8))
    for r, cells in QUIZ_2.items():
        for c, colour in cells.items():
            drawn[r - 1, c - 1] = weights[colour]
    np.testing.assert_array_equal(m, drawn)
    found = configurations_drawing(table_support(QUIZ_2, 6, 8), list(range(6)), zero_taps_allowed=False)
    assert found == [(3, 1, 1, (0, 0), ())]


def test_001_quiz_question_3_is_kernel_1_stride_1():
    """Lecture 001, "Question 3": the 8 x 8 identity pattern is kernel size 1, stride 1, no padding
    (dilation does not matter for a single tap)."""
    np.testing.assert_array_equal(conv_matrix((1, 8), np.array([[[1.0]]])), np.eye(8))
    found = configurations_drawing(table_support(QUIZ_3, 8, 8), list(range(8)), zero_taps_allowed=False)
    assert {(k, s, pads) for k, s, _, pads, _ in found} == {(1, 1, (0, 0))}
    assert {d for _, _, d, _, _ in found} == {1, 2, 3}


def test_001_quiz_question_1_derived_configuration():
    """Lecture 001, "Question 1": 8 inputs, 8 outputs; in every fully drawn row the five colours sit at
    fixed offsets from the diagonal: white -2, black -1, medium brown 0, dark brown +1, light orange +3.

    Shared weights at fixed offsets make it a convolution, stride 1 (the band moves one column per row).
    The offsets -2, -1, 0, 1, 3 are not evenly spaced, so no dilation fits and no convolution with all
    weights non-zero draws it; the smallest one that does is kernel size 6, stride 1, dilation 1, zero
    padding 2 before and 3 after (PyTorch's 'same' for kernel 6), with its fifth weight (offset +2) zero.
    """
    colours = {"white": 1.0, "black": 2.0, "medium brown": 3.0, "dark brown": 4.0, "light orange": 5.0}
    weight = np.array([[[1.0, 2.0, 3.0, 4.0, 0.0, 5.0]]])
    m = conv_matrix((1, 8), weight, stride=1, padding="same", dilation=1)
    np.testing.assert_array_equal(m, conv_matrix((1, 8), weight, padding=(2, 3)))
    torch_same = torch.nn.Conv1d(1, 1, 6, padding="same", bias=False).double()
    with torch.no_grad():
        torch_same.weight.copy_(t(weight))
    jac = torch.autograd.functional.jacobian(
        lambda v: torch_same(v[None, None])[0, 0], torch.zeros(8, dtype=torch.float64)
    )
    np.testing.assert_array_equal(m, jac.numpy())

    for r, cells in QUIZ_1.items():
        for c, colour in cells.items():
            assert m[r - 1, c - 1] != 0
            if r >= 3:  # the colours of every row from h_3 on, cell for cell
                assert m[r - 1, c - 1] == colours[colour]
        if r >= 4:  # fully drawn rows: nothing else
            assert np.count_nonzero(m[r - 1]) == len(cells)

    table = table_support(QUIZ_1, 8, 8)
    exact = list(range(3, 8))
    assert configurations_drawing(table, exact, zero_taps_allowed=False) == []
    found = configurations_drawing(table, exact, zero_taps_allowed=True)
    smallest = min(k for k, *_ in found)
    assert [f for f in found if f[0] == smallest] == [(6, 1, 1, (2, 3), (4,))]


def test_001_translation_equivariance():
    """Lecture 001, "Convolution with kernel size 3": f[t[x]] = t[f[x]] for a shift t (valid positions)."""
    rng = np.random.default_rng(7)
    x = rng.normal(size=(1, 20))
    w = rng.normal(size=(1, 1, 3))
    y = conv1d(x, w)[0]
    y_shifted = conv1d(np.roll(x, 2, axis=1), w)[0]
    np.testing.assert_allclose(y_shifted[2:], y[:-2], atol=1e-12)


def test_001_parameter_counts_of_channels():
    """Lecture 001, "How many parameters?": C_i x C_o x K weights and C_o biases (1D);
    C_i x C_o x K x K weights (2D)."""
    for ci, co, k in [(1, 2, 3), (2, 1, 3), (4, 5, 7)]:
        assert conv_params(ci, co, k) == ci * co * k + co == n_params(torch.nn.Conv1d(ci, co, k))
        assert conv_params(ci, co, (k, k)) == ci * co * k * k + co == n_params(torch.nn.Conv2d(ci, co, k))


def test_001_fully_connected_224_rgb_has_22_billion_weights():
    """Lecture 001, "Networks for images": a 224x224 RGB image has 150,528 dimensions and one hidden layer of
    the same size has about 22 billion weights."""
    d = 224 * 224 * 3
    assert d == 150_528
    weights = linear_params(d, d, bias=False)
    assert 22e9 < weights < 23e9


def test_001_mnist_1d_convnet_has_2050_parameters():
    """Lecture 001, "Convolutional network" (MNIST-1D): 40 -> 19 -> 9 -> 4 with 15 channels, stride 2,
    kernel 3;
    60 + 690 + 690 + 610 = 2,050 parameters; torchinfo's 1.07 M mult-adds for a batch of 100 are the
    1,023,000 MACs plus one bias add per output element (49,000)."""
    lengths = [40]
    for _ in range(3):
        lengths.append(conv_output_size(lengths[-1], 3, 2))
    assert lengths == [40, 19, 9, 4]
    counts = [
        conv_params(1, 15, 3),
        conv_params(15, 15, 3),
        conv_params(15, 15, 3),
        linear_params(15 * 4, 10),
    ]
    assert counts == [60, 690, 690, 610]
    assert sum(counts) == 2_050
    model = torch.nn.Sequential(
        torch.nn.Conv1d(1, 15, 3, stride=2),
        torch.nn.ReLU(),
        torch.nn.Conv1d(15, 15, 3, stride=2),
        torch.nn.ReLU(),
        torch.nn.Conv1d(15, 15, 3, stride=2),
        torch.nn.ReLU(),
        torch.nn.Flatten(),
        torch.nn.Linear(60, 10),
    )
    assert n_params(model) == 2_050
    assert [n_params(m) for m in model if n_params(m)] == counts
    assert model(torch.zeros(100, 1, 40)).shape == (100, 10)

    macs = (
        conv_macs(1, 15, 3, 19, batch=100)
        + conv_macs(15, 15, 3, 9, batch=100)
        + conv_macs(15, 15, 3, 4, batch=100)
        + linear_macs(60, 10, batch=100)
    )
    assert macs == 1_023_000
    bias_adds = 100 * (15 * 19 + 15 * 9 + 15 * 4 + 10)
    assert round((macs + bias_adds) / 1e6, 2) == 1.07


# ==================================================================================================
# Lecture 002 (IntroML): 1D convolution as template matching, the four interpretations
# ==================================================================================================


def test_002_template_matching_example():
    """Lecture 002, "convolution interpretation 1: template matching": input 0 1 -1 1 1 with filter -1 1
    gives 1 -2 2 0 (and the first animation, input 0 1 0 1 1, gives 1 -1 1 0)."""
    filt = np.array([[[-1.0, 1.0]]])
    for signal, expected in [([0, 1, -1, 1, 1], [1, -2, 2, 0]), ([0, 1, 0, 1, 1], [1, -1, 1, 0])]:
        x = np.array([signal], float)
        np.testing.assert_array_equal(conv1d(x, filt)[0], expected)
        np.testing.assert_array_equal(F.conv1d(t(x)[None], t(filt))[0, 0].numpy(), expected)
    # The best match (largest output) is where the input looks like the filter: a rise from -1 to 1.
    out = conv1d(np.array([[0.0, 1, -1, 1, 1]]), filt)[0]
    assert int(np.argmax(out)) == 2
    e = explain_conv_output(np.array([[0.0, 1, -1, 1, 1]]), filt, 2)
    assert [(tap.value, tap.weight) for tap in e.taps] == [(-1, -1), (1, 1)]


def test_002_sparse_connected_layer_with_parameter_sharing():
    """Lecture 002, "convolution interpretation 3": the convolution is a dot product with a 4 x 5 matrix
    holding the filter -1 1 on a shifting band."""
    m = conv_matrix((1, 5), np.array([[[-1.0, 1.0]]]))
    np.testing.assert_array_equal(m, [[-1, 1, 0, 0, 0], [0, -1, 1, 0, 0], [0, 0, -1, 1, 0], [0, 0, 0, -1, 1]])
    np.testing.assert_array_equal(m @ np.array([0.0, 1, -1, 1, 1]), [1, -2, 2, 0])


def test_002_translational_equivariance():
    """Lecture 002, "convolution interpretation 4": shifting the input shifts the convolved output."""
    filt = np.array([[[-1.0, 1.0]]])
    x = np.array([[0.0, 1, -1, 1, 1]])
    shifted = np.array([[0.0, 0, 1, -1, 1, 1]])  # one step to the right
    np.testing.assert_array_equal(conv1d(shifted, filt)[0], [0, 1, -2, 2, 0])
    np.testing.assert_array_equal(conv1d(shifted, filt)[0, 1:], conv1d(x, filt)[0])
    np.testing.assert_array_equal(F.conv1d(t(shifted)[None], t(filt))[0, 0].numpy(), [0, 1, -2, 2, 0])


def test_002_pooling_keeps_channels_and_has_no_parameters():
    """Lecture 002, "Max pooling": applied independently to every channel, so the channel count stays."""
    x = np.random.default_rng(8).normal(size=(5, 6, 6))
    y = max_pool2d(x, 2)
    assert y.shape == (5, 3, 3)
    np.testing.assert_array_equal(y, F.max_pool2d(t(x)[None], 2)[0].numpy())
    assert n_params(torch.nn.MaxPool2d(2)) == 0


# ==================================================================================================
# Lecture 004: parameter sharing as a sparse matrix, output sizes, the classic CNN template
# ==================================================================================================


def test_004_output_sizes_of_the_12x12_examples():
    """Lecture 004, "Kernel Size", "Stride", "Dilation" (12 x 12 input, 3 x 3 kernel): 10 x 10; stride 2
    gives 5 x 5; dilation 3 gives 6 x 6."""
    cases = [({}, 10), ({"stride": 2}, 5), ({"dilation": 3}, 6)]
    for kwargs, expected in cases:
        assert conv2d_output_size(12, 3, **kwargs) == (expected, expected)
        y = F.conv2d(torch.zeros(1, 1, 12, 12), torch.zeros(1, 1, 3, 3), **kwargs)
        assert tuple(y.shape[2:]) == (expected, expected)
        e = explain_conv_output_size(12, 3, kwargs.get("stride", 1), 0, kwargs.get("dilation", 1))
        assert e.result == expected


def test_004_output_size_formula():
    """Lecture 004, "Computing Output Sizes": H_out = floor((H_in + 2P - D(K-1) - 1)/S + 1)."""
    for h in range(1, 16):
        for k in range(1, 5):
            for p in range(0, 3):
                for d in range(1, 3):
                    for s in range(1, 4):
                        if h + 2 * p < d * (k - 1) + 1:
                            continue
                        slide = math.floor((h + 2 * p - d * (k - 1) - 1) / s + 1)
                        assert conv_output_size(h, k, s, p, d) == slide
                        assert explain_conv_output_size(h, k, s, p, d).result == slide
                        y = F.conv1d(torch.zeros(1, 1, h), torch.zeros(1, 1, k), None, s, p, d)
                        assert y.shape[-1] == slide


K_SYMBOLS = [["k11", "k12", "k13"], ["k21", "k22", "k23"], ["k31", "k32", "k33"]]
LECTURE_004_MATRIX = [
    ["k11", "k12", "k13", 0, "k21", "k22", "k23", 0, "k31", "k32", "k33", 0, 0, 0, 0, 0],
    [0, "k11", "k12", "k13", 0, "k21", "k22", "k23", 0, "k31", "k32", "k33", 0, 0, 0, 0],
    [0, 0, 0, 0, "k11", "k12", "k13", 0, "k21", "k22", "k23", 0, "k31", "k32", "k33", 0],
    [0, 0, 0, 0, 0, "k11", "k12", "k13", 0, "k21", "k22", "k23", 0, "k31", "k32", "k33"],
]


def test_004_parameter_sharing_as_a_4x16_sparse_matrix():
    """Lecture 004, "Parameter Sharing": a 4x4 input, a 3x3 kernel and four outputs; the 4 x 16 matrix
    holds k_{i,j} at the slide's places (row 0: columns 0,1,2,4,5,6,8,9,10); a dense layer has 64."""
    values = {
        sym: float(10 * (i + 1) + (j + 1)) for i, row in enumerate(K_SYMBOLS) for j, sym in enumerate(row)
    }
    kernel = np.array([[[[values[s] for s in row] for row in K_SYMBOLS]]])
    m = conv_matrix((1, 4, 4), kernel)
    expected = np.array(
        [[values[v] if isinstance(v, str) else 0.0 for v in row] for row in LECTURE_004_MATRIX]
    )
    np.testing.assert_array_equal(m, expected)
    assert list(np.nonzero(m[0])[0]) == [0, 1, 2, 4, 5, 6, 8, 9, 10]
    x = np.arange(16.0)
    np.testing.assert_array_equal(m @ x, F.conv2d(t(x.reshape(1, 1, 4, 4)), t(kernel)).flatten().numpy())
    assert linear_params(16, 4, bias=False) == 64
    assert len(np.unique(m[m != 0])) == 9 == conv_params(1, 1, (3, 3), bias=False)


def test_004_every_conv2d_argument_at_once():
    """Lecture 004, "Convolution Layers": stride, padding, dilation, groups, bias and padding_mode
    together, checked against one nn.Conv2d."""
    rng = np.random.default_rng(9)
    module = torch.nn.Conv2d(
        4,
        6,
        (2, 3),
        stride=(2, 1),
        padding=(1, 2),
        dilation=(1, 2),
        groups=2,
        bias=True,
        padding_mode="reflect",
    ).double()
    x = rng.normal(size=(1, 4, 5, 7))
    y = module(t(x)).detach().numpy()
    w = module.weight.detach().numpy()
    b = module.bias.detach().numpy()
    for oc in range(6):
        for i in range(y.shape[2]):
            for j in range(y.shape[3]):
                e = explain_conv_output(x, w, (i, j), oc, b, (2, 1), (1, 2), (1, 2), 2, "reflect")
                assert e.total == pytest.approx(y[0, oc, i, j], abs=1e-12)
    m = conv_matrix((4, 5, 7), w, (2, 1), (1, 2), (1, 2), 2, "reflect")
    np.testing.assert_allclose(m @ x.ravel() + np.repeat(b, y[0, 0].size), y.ravel(), atol=1e-12)


def test_004_classic_cnn_template_gives_64_features():
    """Lecture 004, "The Classic (Old) CNN" with N = 2, M = 2, K = 2 on a 32x32 CIFAR image: conv1..conv8
    (3x3, no padding) with max_pool2d(2) after conv2 and max_pool2d(1) after conv4, conv6, conv8 leave
    16 channels at 2 x 2, so fc1 takes 64 features."""
    channels = [3, 32, 64, 128, 256, 128, 64, 32, 16]
    pools = {2: 2, 4: 1, 6: 1, 8: 1}
    size = (32, 32)
    trace = []
    for i in range(1, 9):
        size = conv2d_output_size(size, 3)
        if i in pools:
            size = pool2d_output_size(size, pools[i])
        trace.append(size[0])
    assert trace == [30, 14, 12, 10, 8, 6, 4, 2]
    assert channels[-1] * size[0] * size[1] == 64

    convs = torch.nn.ModuleList(torch.nn.Conv2d(a, b, 3) for a, b in pairwise(channels))
    fcs = torch.nn.ModuleList([torch.nn.Linear(64, 32), torch.nn.Linear(32, 16), torch.nn.Linear(16, 10)])
    x = torch.zeros(1, 3, 32, 32)
    for i, conv in enumerate(convs, start=1):
        x = F.relu(conv(x))
        if i in pools:
            x = F.max_pool2d(x, pools[i])
    x = x.view(x.shape[0], -1)
    assert x.shape == (1, 64)
    for fc in fcs[:-1]:
        x = F.relu(fc(x))
    assert fcs[-1](x).shape == (1, 10)
    total = sum(conv_params(a, b, (3, 3)) for a, b in pairwise(channels))
    total += linear_params(64, 32) + linear_params(32, 16) + linear_params(16, 10)
    assert total == n_params(convs) + n_params(fcs)
