"""Receptive fields: Araujo et al.'s formulas, exact regions against PyTorch gradients, effective fields.

Oracle for regions: a twin of the network in PyTorch whose every path is positive (convs and Linears
with positive weights and zero bias, activations and dropout replaced by identity, each pooling
replaced by a depthwise conv of ones over exactly its windows). Then the input gradient of one unit
is positive exactly on the cells the unit reads, so its support must equal the region's mask.
"""

from __future__ import annotations

import math

import hypothesis.strategies as st
import numpy as np
import pytest
import torch
import torch.nn.functional as F  # noqa: N812
from hypothesis import HealthCheck, given, settings
from torch import nn

from cnnviz.errors import ConvConfigError
from cnnviz.network import (
    AdaptiveAvgPool2d,
    AvgPool1d,
    AvgPool2d,
    BatchNorm2d,
    Conv1d,
    Conv2d,
    ConvTranspose1d,
    ConvTranspose2d,
    Flatten,
    Linear,
    MaxPool1d,
    MaxPool2d,
    ReLU,
    Tanh,
    effective_receptive_field,
    receptive_region,
    summarize,
)
from cnnviz.network.receptive_field import (
    AxisField,
    adaptive_connectivity,
    back_project,
    input_field,
    through_window,
    transposed_connectivity,
    window_connectivity,
)
from tests.network.test_network import stacks

# --------------------------------------------------------------------------------------------------
# The positive twin
# --------------------------------------------------------------------------------------------------


class WindowOnes(nn.Module):
    """A depthwise conv of ones over exactly a pooling layer's windows (padding, dilation, ceil_mode)."""

    def __init__(self, channels: int, kernel, stride, padding, dilation, out_size) -> None:
        super().__init__()
        self.ndim = len(out_size)
        self.channels, self.kernel, self.stride, self.dilation = channels, kernel, stride, dilation
        self.padding, self.out_size = padding, out_size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pads: list[int] = []
        for k, s, p, d in reversed(
            list(zip(self.kernel, self.stride, self.padding, self.dilation, strict=True))
        ):
            pads += [p, p + d * (k - 1) + s]  # enough on the right for ceil_mode's last window
        weight = torch.ones(self.channels, 1, *self.kernel, dtype=x.dtype)
        conv = F.conv1d if self.ndim == 1 else F.conv2d
        y = conv(F.pad(x, pads), weight, stride=self.stride, dilation=self.dilation, groups=self.channels)
        return y[(..., *(slice(0, n) for n in self.out_size))]


def positive_twin(layers, input_size) -> nn.Sequential:
    """The stack in float64 with every path positive; pools become WindowOnes of their own geometry."""
    gen = torch.Generator().manual_seed(0)
    x = torch.zeros(1, *input_size)
    modules = []
    for layer in layers:
        real = layer.to_torch().eval()
        with torch.no_grad():
            y = real(x)
        name = layer.kind
        if "Pool" in name and "Adaptive" not in name:
            g = layer.geometry()
            modules.append(
                WindowOnes(x.shape[1], g.kernel_size, g.stride, layer.pads(), g.dilation, tuple(y.shape[2:]))
            )
        elif name in ("ReLU", "Tanh", "Sigmoid", "LeakyReLU", "GELU", "Dropout"):
            modules.append(nn.Identity())
        else:
            with torch.no_grad():
                for p in real.parameters():
                    p.copy_(
                        torch.rand(p.shape, generator=gen) * 0.9 + 0.1
                        if p.dim() > 1
                        else torch.zeros(p.shape)
                    )
                if name.startswith("BatchNorm") and real.weight is not None:
                    real.weight.fill_(1.0)
            modules.append(real)
        x = y
    return nn.Sequential(*modules).double().eval()


def gradient_support(layers, input_size, layer_index: int, position) -> np.ndarray:
    """Input cells where d(unit, all channels)/d(input) is nonzero in the positive twin."""
    model = positive_twin(layers[: layer_index + 1], input_size)
    x = torch.rand(1, *input_size, dtype=torch.float64, requires_grad=True)
    y = model(x)
    grad = torch.zeros_like(y)
    grad[(0, slice(None), *position) if y.dim() > 2 else (0, *position)] = 1.0
    y.backward(grad)
    g = x.grad[0].abs()
    return (g.sum(0) if g.dim() > 1 else g).numpy() > 0


def bounding_box(mask: np.ndarray):
    if not mask.any():
        return None
    return tuple(
        (int(i.min()), int(i.max()) + 1)
        for i in (
            np.nonzero(mask.any(axis=tuple(b for b in range(mask.ndim) if b != a)))[0]
            for a in range(mask.ndim)
        )
    )


RF_KINDS = (
    "conv",
    "conv",
    "conv",
    "convT",
    "maxpool",
    "avgpool",
    "adaptive",
    "bn",
    "act",
    "flatten",
    "linear",
)
ZERO_PADDED_WINDOWS = (Conv1d, Conv2d, MaxPool1d, MaxPool2d, AvgPool1d, AvgPool2d)


@settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(stacks(kinds=RF_KINDS, stop_at_error=False), st.data())
def test_region_is_the_support_of_the_input_gradient(stack, data) -> None:
    layers, input_size = stack
    if not layers:
        return
    result = summarize(layers, input_size)
    assert result.ok
    index = data.draw(st.integers(0, len(layers) - 1))
    shape = result.rows[index].output_shape[1:]
    axes = shape[1:] if len(shape) > 1 else shape
    position = tuple(data.draw(st.integers(0, n - 1)) for n in axes)

    region = receptive_region(layers, input_size, index, position)
    support = gradient_support(layers, input_size, index, position)
    assert np.array_equal(region.mask, support)
    assert region.clipped == bounding_box(support)

    field = result.rows[index].receptive_field
    if field.kind == "local":
        assert region.unclipped == tuple(a.window(u) for a, u in zip(field.axes, position, strict=True))
        plain = all(
            isinstance(x, ZERO_PADDED_WINDOWS)
            and getattr(x, "padding_mode", "zeros") == "zeros"
            or x.kind
            in ("ReLU", "Tanh", "Sigmoid", "LeakyReLU", "GELU", "Dropout", "BatchNorm1d", "BatchNorm2d")
            for x in layers[: index + 1]
        )
        if plain and region.clipped is not None:  # zero padding: the unit reads inside its window only
            for (a, b), (lo, hi), n in zip(region.clipped, region.unclipped, input_size[1:], strict=True):
                assert max(lo, 0) <= a < b <= min(hi, n)


# --------------------------------------------------------------------------------------------------
# Formulas and lecture numbers
# --------------------------------------------------------------------------------------------------


def test_through_window_is_araujos_recurrence() -> None:
    field = through_window(AxisField(1, 1, 0), kernel=3, stride=2, padding=1)
    assert field == AxisField(size=3, jump=2, start=-1)
    field = through_window(field, kernel=3, stride=1, padding=2, dilation=2)  # k' = 5
    assert field == AxisField(size=3 + 4 * 2, jump=2, start=-1 - 2 * 2)
    assert field.effective_padding == 5 and field.window(3) == (1, 12) and field.centre(0) == 0.0


@pytest.mark.parametrize(("depth", "size"), [(1, 3), (2, 5), (3, 7)])
def test_lecture_000_stacked_width_3_convs(depth: int, size: int) -> None:
    layers = [Conv1d(1, 1, 3)] * depth
    row = summarize(layers, (1, 28)).rows[-1]
    assert row.receptive_field.size == (size,)
    region = receptive_region(layers, (1, 28), depth - 1, (4,))
    assert region.clipped == ((4, 4 + size),) and region.unclipped == ((4, 4 + size),)
    assert gradient_support(layers, (1, 28), depth - 1, (4,)).sum() == size


def test_mnist1d_fields_and_the_cell_no_window_reads() -> None:
    layers = [
        Conv1d(1, 15, 3, stride=2),
        ReLU(),
        Conv1d(15, 15, 3, stride=2),
        ReLU(),
        Conv1d(15, 15, 3, stride=2),
        ReLU(),
        Flatten(),
        Linear(60, 10),
    ]
    rows = summarize(layers, (1, 40)).rows
    assert [rows[i].receptive_field.size for i in (0, 2, 4)] == [(3,), (7,), (15,)]
    assert [rows[i].receptive_field.jump for i in (0, 2, 4)] == [(2,), (4,), (8,)]
    assert rows[1].receptive_field == rows[0].receptive_field  # ReLU keeps the field
    assert rows[6].receptive_field.kind == "flat" and rows[7].receptive_field.kind == "global"
    assert "whole input" in rows[7].receptive_field.note
    # 40 samples at stride 2 with a 3-wide kernel: sample 39 is never read, not even by the classifier
    region = receptive_region(layers, (1, 40), 7, (0,))
    assert region.clipped == ((0, 39),) and region.unclipped is None
    assert region.mask.sum() == 39
    # a flattened feature is one cell of the last map: feature 59 = channel 14, position 3
    assert (
        receptive_region(layers, (1, 40), 6, (59,)).clipped
        == receptive_region(layers, (1, 40), 4, (3,)).clipped
    )


def test_resnet_stem_and_lenet_fields() -> None:
    stem = [
        Conv2d(3, 64, 7, stride=2, padding=3, bias=False),
        BatchNorm2d(64),
        ReLU(),
        MaxPool2d(3, stride=2, padding=1),
    ]
    field = summarize(stem, (3, 224, 224)).rows[-1].receptive_field
    assert field.size == (11, 11) and field.jump == (4, 4) and field.start == (-5, -5)
    region = receptive_region(stem, (3, 224, 224), 3, (0, 55))
    assert region.unclipped == ((-5, 6), (215, 226)) and region.clipped == ((0, 6), (215, 224))
    lenet = [
        Conv2d(1, 6, 5),
        Tanh(),
        AvgPool2d(2, stride=2),
        Conv2d(6, 16, 5),
        Tanh(),
        AvgPool2d(2, stride=2),
        Conv2d(16, 120, 5),
    ]
    sizes = [r.receptive_field.size[0] for r in summarize(lenet, (1, 32, 32)).rows]
    assert sizes == [5, 5, 6, 14, 14, 16, 32]


def test_fields_that_are_not_one_window() -> None:
    up = [ConvTranspose2d(2, 2, 3, stride=2)]
    field = summarize(up, (2, 5, 5)).rows[0].receptive_field
    assert field.kind == "unsupported" and "fractional stride" in field.note
    region = receptive_region(up, (2, 5, 5), 0, (4, 4))  # output 4 = input 2 * stride 2: reads input 1 and 2
    assert region.clipped == ((1, 3), (1, 3)) and region.unclipped is None
    flat_up = summarize([ConvTranspose1d(1, 1, 3, padding=1)], (1, 8)).rows[0].receptive_field
    assert flat_up.kind == "local" and flat_up.size == (3,) and flat_up.start == (-1,)
    uneven = summarize([AdaptiveAvgPool2d(3)], (1, 7, 6)).rows[0].receptive_field
    assert uneven.kind == "unsupported" and "multiple" in uneven.note
    even = summarize([AdaptiveAvgPool2d(3)], (1, 6, 6)).rows[0].receptive_field
    assert even.size == (2, 2) and even.jump == (2, 2)
    circular = (
        summarize([Conv1d(1, 1, 3, padding=1, padding_mode="circular")], (1, 8)).rows[0].receptive_field
    )
    assert "circular" in circular.note
    assert receptive_region(
        [Conv1d(1, 1, 3, padding=1, padding_mode="circular")], (1, 8), 0, (0,)
    ).mask.tolist() == [True, True, False, False, False, False, False, True]
    assert input_field(2).size == (1, 1)


def test_a_dilated_unit_reads_a_grid_with_holes() -> None:
    layers = [Conv2d(1, 1, 3, dilation=2), Conv2d(1, 1, 3, dilation=2)]
    region = receptive_region(layers, (1, 12, 12), 1, (0, 0))
    assert region.clipped == ((0, 9), (0, 9))
    assert region.mask[:9, :9].sum() == 25 and region.mask[0, :9].tolist() == [True, False] * 4 + [True]


def test_a_unit_that_reads_only_padding_has_no_region() -> None:
    region = receptive_region([Conv1d(1, 1, 1, padding=2)], (1, 4), 0, (0,))
    assert region.clipped is None and region.size is None and not region.mask.any()
    assert region.unclipped == ((-2, -1),)


def test_connectivity_matrices() -> None:
    assert window_connectivity(5, 2, 3, 2, 0).astype(int).tolist() == [[1, 1, 1, 0, 0], [0, 0, 1, 1, 1]]
    assert adaptive_connectivity(5, 3).astype(int).tolist() == [
        [1, 1, 0, 0, 0],
        [0, 1, 1, 1, 0],
        [0, 0, 0, 1, 1],
    ]
    assert np.array_equal(transposed_connectivity(2, 5, 3, 2, 0), window_connectivity(5, 2, 3, 2, 0).T)
    mask = np.zeros((2, 3, 2), dtype=bool)
    mask[1, 0, 1] = True
    out = back_project(mask, [window_connectivity(5, 3, 3, 1, 0), window_connectivity(3, 2, 2, 1, 0)])
    assert out.shape == (2, 5, 3) and out[0].sum() == 0 and out[1].sum() == 3 * 2


def test_region_arguments_are_checked() -> None:
    layers = [Conv2d(1, 2, 3), Flatten(), Linear(5, 2)]
    with pytest.raises(ConvConfigError, match="unit_position"):
        receptive_region(layers, (1, 8, 8), 0, (6, 0))
    with pytest.raises(ConvConfigError, match="unit_position"):
        receptive_region(layers, (1, 8, 8), 0, (1,))
    with pytest.raises(ConvConfigError, match="layer_index"):
        receptive_region(layers, (1, 8, 8), 3, (0,))
    with pytest.raises(ConvConfigError, match="breaks at layer 2"):
        receptive_region(layers, (1, 8, 8), 2, (0,))


# --------------------------------------------------------------------------------------------------
# Effective receptive field (Luo et al. 2016)
# --------------------------------------------------------------------------------------------------


def test_effective_field_lives_inside_the_region_and_is_seeded() -> None:
    layers = [
        Conv2d(2, 4, 3, padding=1),
        Tanh(),
        Conv2d(4, 4, 3, stride=2),
        Tanh(),
        Conv2d(4, 3, 3, dilation=2),
    ]
    erf = effective_receptive_field(layers, (2, 16, 16), 4, (1, 2), seed=3)
    region = receptive_region(layers, (2, 16, 16), 4, (1, 2))
    assert erf.shape == (16, 16) and erf.dtype == np.float64
    assert np.array_equal(erf > 0, region.mask)  # tanh never blocks a gradient
    assert np.array_equal(erf, effective_receptive_field(layers, (2, 16, 16), 4, (1, 2), seed=3))
    assert not np.allclose(erf, effective_receptive_field(layers, (2, 16, 16), 4, (1, 2), seed=4))
    averaged = effective_receptive_field(layers, (2, 16, 16), 4, (1, 2), seed=3, runs=3)
    assert averaged.shape == (16, 16) and np.array_equal(averaged > 0, region.mask)


def test_effective_field_matches_a_hand_computed_gradient() -> None:
    layers = [Conv1d(1, 2, 3), ReLU(), Flatten(), Linear(12, 3)]
    erf = effective_receptive_field(layers, (1, 8), 3, (1,), seed=7)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(7)
        model = nn.Sequential(nn.Conv1d(1, 2, 3), nn.ReLU(), nn.Flatten(), nn.Linear(12, 3)).eval()
        x = torch.randn(1, 1, 8)
    x.requires_grad_(True)
    model(x)[0, 1].backward()
    assert erf.shape == (8,)
    np.testing.assert_allclose(erf, x.grad[0, 0].abs().double().numpy())
    assert math.isclose(float(erf.sum()), float(x.grad.abs().sum()), rel_tol=1e-6)


# --------------------------------------------------------------------------------------------------
# The network builder: field per layer, regions in words, limits, the picture regions are drawn on
# --------------------------------------------------------------------------------------------------


def test_field_steps_follow_the_formulas_until_the_field_has_no_window() -> None:
    from cnnviz.network.regions import field_steps

    layers = [Conv2d(3, 8, 3, stride=2, padding=1), ReLU(), MaxPool2d(2), Flatten(), Linear(8 * 8 * 8, 10)]
    steps = field_steps(summarize(layers, (3, 32, 32)))
    assert [s.label for s in steps] == ["input", "0 Conv2d", "1 ReLU", "2 MaxPool2d", "3 Flatten", "4 Linear"]
    assert [s.size for s in steps[:4]] == [(1, 1), (3, 3), (3, 3), (5, 5)]
    assert [s.jump for s in steps[:4]] == [(1, 1), (2, 2), (2, 2), (4, 4)]
    assert steps[1].start == (-1, -1) and steps[4].size is None and "Flatten" in steps[4].note
    broken = field_steps(summarize([Conv2d(3, 8, 3), Conv2d(5, 8, 3)], (3, 16, 16)))
    assert [s.label for s in broken] == ["input", "0 Conv2d"]


def test_describe_region_counts_cells_gaps_and_padding() -> None:
    from cnnviz.network.regions import describe_region

    region = receptive_region([Conv2d(1, 1, 3, padding=1)], (1, 8, 8), 0, (0, 0))
    words = describe_region(region, (1, 8, 8))
    assert "rows 0 to 1 and columns 0 to 1" in words and "box of 2 × 2 cells" in words
    assert "window is 3 × 3" in words and "padding" in words
    dilated = receptive_region([Conv1d(1, 1, 3, dilation=2)], (1, 10), 0, (1,))
    words = describe_region(dilated, (1, 10))
    assert "positions 1 to 5" in words and "only 3 of 5 cells" in words


def test_region_and_erf_limits_refuse_heavy_work_with_the_reason() -> None:
    from cnnviz.network.presets import vgg16
    from cnnviz.network.regions import check_erf_cost, check_region_cost

    check_region_cost(summarize([Conv2d(3, 8, 3)], (3, 224, 224)), 0)
    with pytest.raises(ConvConfigError, match="too large to draw regions"):
        check_region_cost(summarize([Conv2d(3, 8, 3)], (3, 513, 64)), 0)
    with pytest.raises(ConvConfigError, match="more than 4096 cells a side"):
        check_region_cost(summarize([ConvTranspose2d(3, 3, 1, stride=100)], (3, 64, 64)), 0)
    layers = vgg16()
    check_erf_cost(layers, (3, 224, 224), 30)
    with pytest.raises(ConvConfigError, match="Pick an earlier layer"):
        check_erf_cost(layers, (3, 224, 224), 30, runs=4)
    with pytest.raises(ConvConfigError, match="weights"):
        check_erf_cost(layers, (3, 224, 224), 33)


def test_sample_input_is_deterministic_and_sized() -> None:
    from cnnviz.network.regions import default_unit, field_sample_image, field_sample_signal

    image = field_sample_image(20, 30)
    assert image.shape == (20, 30, 3) and image.dtype == np.uint8
    assert (
        np.array_equal(image, field_sample_image(20, 30)) and len(np.unique(image.reshape(-1, 3), axis=0)) > 4
    )
    assert field_sample_signal(40).shape == (40,)
    assert (
        default_unit((15, 8, 6)) == (4, 3) and default_unit((15, 9)) == (4,) and default_unit((60,)) == (30,)
    )
