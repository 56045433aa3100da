"""`cnnviz.topics.channels` against PyTorch: grouped convolutions, per-channel sums, connections and 1x1 mixing.

The oracle is `torch.nn.Conv2d` / `F.conv2d` (values, parameters, refusals), PyTorch's FLOP counter
(2 FLOPs per multiply-accumulate) and autograd (which input channels an output channel depends on).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st
from torch.utils.flop_counter import FlopCounterMode

from cnnviz.errors import ConvConfigError
from cnnviz.topics.channels import (
    channel_mixing,
    channel_sums,
    channels_view,
    connections,
    explain_channels,
    group_choices,
    seeded_channel_values,
)
from tests.oracle import assert_readable, cnnviz_outcome, examples, torch_outcome


def t(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(a))


@st.composite
def layers(draw, valid_only: bool = False):
    """A layer as the page's controls can set it; with valid_only, groups divide both channel counts."""
    c_in, c_out = draw(st.integers(1, 8)), draw(st.integers(1, 8))
    if valid_only:
        groups = draw(st.sampled_from(group_choices(c_in, c_out)))
    else:
        groups = draw(st.integers(1, 8))
    return {
        "input_size": (draw(st.integers(1, 12)), draw(st.integers(1, 12))),
        "in_channels": c_in,
        "out_channels": c_out,
        "kernel_size": draw(st.integers(1, 5)),
        "stride": draw(st.integers(1, 4)),
        "padding": draw(st.integers(0, 4)),
        "groups": groups,
        "bias": draw(st.booleans()),
        "seed": draw(st.integers(0, 50)),
    }


def torch_layer(cfg: dict) -> torch.Tensor:
    """PyTorch's output for this layer on zeros: raises exactly where PyTorch refuses the settings."""
    layer = torch.nn.Conv2d(
        cfg["in_channels"],
        cfg["out_channels"],
        cfg["kernel_size"],
        cfg["stride"],
        cfg["padding"],
        groups=cfg["groups"],
        bias=cfg["bias"],
        dtype=torch.float64,
    )
    return layer(torch.zeros(1, cfg["in_channels"], *cfg["input_size"], dtype=torch.float64))


@given(layers())
@examples(300)
def test_refuses_exactly_what_torch_refuses_with_a_readable_message(cfg: dict) -> None:
    ours = cnnviz_outcome(channels_view, **cfg)
    theirs = torch_outcome(torch_layer, cfg)
    assert ours.raised == theirs.raised, (cfg, ours.error, theirs.error)
    if ours.raised:
        assert_readable(ours.error)


@given(layers(valid_only=True))
@examples(200)
def test_output_params_and_macs_match_torch(cfg: dict) -> None:
    ours = cnnviz_outcome(channels_view, **cfg)
    if ours.raised:  # kernel larger than the padded input: torch must refuse too
        assert torch_outcome(torch_layer, cfg).raised
        return
    view = ours.value
    g, s, p = cfg["groups"], cfg["stride"], cfg["padding"]
    bias = None if view.bias is None else t(view.bias)
    with FlopCounterMode(display=False) as flops:
        ref = F.conv2d(t(view.input)[None], t(view.weight), bias, s, p, 1, g)[0]
    np.testing.assert_allclose(view.output, ref.numpy(), rtol=0, atol=1e-9)
    assert view.weight.shape == (
        cfg["out_channels"],
        cfg["in_channels"] // g,
        cfg["kernel_size"],
        cfg["kernel_size"],
    )
    layer = torch.nn.Conv2d(
        cfg["in_channels"], cfg["out_channels"], cfg["kernel_size"], groups=g, bias=cfg["bias"]
    )
    dense = torch.nn.Conv2d(cfg["in_channels"], cfg["out_channels"], cfg["kernel_size"], bias=cfg["bias"])
    assert view.params == sum(q.numel() for q in layer.parameters())
    assert view.params_dense == sum(q.numel() for q in dense.parameters())
    assert 2 * view.macs == flops.get_total_flops()
    with FlopCounterMode(display=False) as dense_flops:
        F.conv2d(
            t(view.input)[None],
            torch.zeros(cfg["out_channels"], cfg["in_channels"], *view.weight.shape[2:], dtype=torch.float64),
            None,
            s,
            p,
        )
    assert 2 * view.macs_dense == dense_flops.get_total_flops()
    # The shape explanation gives PyTorch's output size on each axis.
    assert (view.explanations[0].result, view.explanations[1].result) == tuple(ref.shape[1:])


@given(layers(valid_only=True), st.data())
@examples(150)
def test_one_cell_is_the_sum_of_per_channel_dot_products(cfg: dict, data: st.DataObject) -> None:
    ours = cnnviz_outcome(channels_view, **cfg)
    if ours.raised:
        return
    view = ours.value
    c_out, ho, wo = view.output.shape
    o = data.draw(st.integers(0, c_out - 1))
    r, c = data.draw(st.integers(0, ho - 1)), data.draw(st.integers(0, wo - 1))
    cell = channel_sums(view, o, (r, c))
    assert cell.total == pytest.approx(float(view.output[o, r, c]), abs=1e-9)
    s, p = cfg["stride"], cfg["padding"]
    for i, channel in enumerate(cell.channels):
        # Channel `channel` alone, through its weight slice: PyTorch's single-channel convolution.
        one = F.conv2d(t(view.input[channel])[None, None], t(view.weight[o, i])[None, None], None, s, p)
        assert cell.dots[i] == pytest.approx(float(one[0, 0, r, c]), abs=1e-9)
        np.testing.assert_array_equal(cell.slices[i], view.weight[o, i])
    # The channels listed are the ones the output depends on (autograd, all-ones weights so none cancels).
    x = torch.ones(1, view.c_in, *view.input.shape[1:], dtype=torch.float64, requires_grad=True)
    y = F.conv2d(x, torch.ones(view.weight.shape, dtype=torch.float64), None, s, p, 1, cfg["groups"])
    y[0, o].sum().backward()
    touched = [ch for ch in range(view.c_in) if x.grad[0, ch].abs().sum() > 0]
    assert touched == list(cell.channels) or (p > 0 and set(touched) <= set(cell.channels))


@given(st.integers(1, 8), st.integers(1, 8), st.data())
@examples(120)
def test_connections_are_the_channel_pairs_autograd_sees(c_in: int, c_out: int, data: st.DataObject) -> None:
    groups = data.draw(st.sampled_from(group_choices(c_in, c_out)))
    grid = connections(c_in, c_out, groups)
    x = torch.ones(1, c_in, 3, 3, dtype=torch.float64, requires_grad=True)
    weight = torch.ones(c_out, c_in // groups, 1, 1, dtype=torch.float64)
    jac = torch.autograd.functional.jacobian(lambda z: F.conv2d(z, weight, groups=groups), x)
    # (1, C_out, 3, 3, 1, C_in, 3, 3) -> which (output channel, input channel) pairs are linked at all
    linked = jac.abs().sum(dim=(0, 2, 3, 4, 6, 7)) > 0
    np.testing.assert_array_equal(grid >= 0, linked.numpy())
    # Each block of the block diagonal is one group: out channel o in group o // (C_out/groups).
    for o in range(c_out):
        assert set(grid[o][grid[o] >= 0].tolist()) == {o // (c_out // groups)}


@given(st.integers(1, 8), st.integers(1, 8))
@examples(60)
def test_group_choices_are_the_groups_torch_accepts(c_in: int, c_out: int) -> None:
    accepted = [g for g in range(1, 9) if not torch_outcome(torch.nn.Conv2d, c_in, c_out, 1, groups=g).raised]
    assert group_choices(c_in, c_out) == accepted


@given(layers(valid_only=True), st.data())
@examples(150)
def test_one_by_one_conv_is_a_matrix_over_channels(cfg: dict, data: st.DataObject) -> None:
    cfg = {**cfg, "kernel_size": 1}
    view = channels_view(**cfg)
    _, ho, wo = view.output.shape
    r, c = data.draw(st.integers(0, ho - 1)), data.draw(st.integers(0, wo - 1))
    mix = channel_mixing(view, (r, c))
    np.testing.assert_allclose(mix.result, view.output[:, r, c], atol=1e-9)
    # The matrix is the Jacobian of the output pixel w.r.t. the input pixel the 1x1 kernel reads.
    s, p = cfg["stride"], cfg["padding"]
    bias = None if view.bias is None else t(view.bias)
    jac = torch.autograd.functional.jacobian(
        lambda z: F.conv2d(z, t(view.weight), bias, s, p, 1, cfg["groups"]), t(view.input)[None]
    )
    r_in, c_in = r * s - p, c * s - p
    if 0 <= r_in < view.input.shape[1] and 0 <= c_in < view.input.shape[2]:
        np.testing.assert_allclose(mix.matrix, jac[0, :, r, c, 0, :, r_in, c_in].numpy())
        np.testing.assert_array_equal(mix.vector, view.input[:, r_in, c_in])
    else:  # the pixel reads padding: only the bias is left
        np.testing.assert_array_equal(mix.vector, np.zeros(view.c_in))
    # 1x1 convolution = einsum over channels (stride 1, no padding).
    plain = channels_view(**{**cfg, "stride": 1, "padding": 0})
    einsum = torch.einsum("oc,chw->ohw", t(channel_mixing(plain, (0, 0)).matrix), t(plain.input))
    expected = einsum + (0 if plain.bias is None else t(plain.bias)[:, None, None])
    np.testing.assert_allclose(plain.output, expected.numpy(), atol=1e-9)


def typed_like(cfg: dict, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Values as a person might type them for this layer: halves, quarters and negatives, not the seed's."""
    x, weight, bias = seeded_channel_values(**cfg)
    rng = np.random.default_rng(seed)
    return (
        rng.integers(-8, 9, size=x.shape) / 4,
        rng.integers(-8, 9, size=weight.shape) / 2,
        None if bias is None else rng.integers(-4, 5, size=bias.shape) / 4,
    )


@given(layers(valid_only=True), st.integers(0, 1000), st.data())
@examples(150)
def test_every_product_and_partial_sum_matches_torch(cfg: dict, seed: int, data: st.DataObject) -> None:
    if cnnviz_outcome(seeded_channel_values, **cfg).raised:  # the kernel does not fit: covered above
        return
    x, weight, bias = typed_like(cfg, seed)
    s, p, g = cfg["stride"], cfg["padding"], cfg["groups"]
    view = explain_channels(x, weight, bias, s, p, g)
    ref = F.conv2d(t(x)[None], t(weight), None if bias is None else t(bias), s, p, 1, g)[0].numpy()
    c_out, ho, wo = ref.shape
    o = data.draw(st.integers(0, c_out - 1))
    r, c = data.draw(st.integers(0, ho - 1)), data.draw(st.integers(0, wo - 1))
    cell = channel_sums(view, o, (r, c))
    k = weight.shape[2]
    padded = F.pad(t(x), (p, p, p, p)).numpy()
    for i, channel in enumerate(cell.channels):
        window = padded[channel, r * s : r * s + k, c * s : c * s + k]
        # The products written out are the window times the filter slice, element by element.
        np.testing.assert_array_equal(cell.products(i), (window * weight[o, i]).ravel())
        assert cell.dots[i] == pytest.approx(float(np.sum(cell.products(i))), abs=1e-12)
    # The partial sums, one per input channel read, plus the bias are torch's output.
    assert sum(cell.dots) + (0.0 if bias is None else bias[o]) == pytest.approx(float(ref[o, r, c]), abs=1e-9)
    assert cell.total == pytest.approx(float(ref[o, r, c]), abs=1e-9)
    lines = cell.lines()
    assert len(lines) == len(cell.channels) + 1
    assert all(line.count("×") == k * k for line in lines[:-1])


@given(layers(valid_only=True), st.integers(0, 1000), st.data())
@examples(100)
def test_one_by_one_rows_write_each_product_of_torch_output(
    cfg: dict, seed: int, data: st.DataObject
) -> None:
    cfg = {**cfg, "kernel_size": 1}
    x, weight, bias = typed_like(cfg, seed)
    s, p, g = cfg["stride"], cfg["padding"], cfg["groups"]
    mix_view = explain_channels(x, weight, bias, s, p, g)
    ref = F.conv2d(t(x)[None], t(weight), None if bias is None else t(bias), s, p, 1, g)[0].numpy()
    _, ho, wo = ref.shape
    r, c = data.draw(st.integers(0, ho - 1)), data.draw(st.integers(0, wo - 1))
    mix = channel_mixing(mix_view, (r, c))
    padded = F.pad(t(x), (p, p, p, p)).numpy()
    assert [row.out_channel for row in mix.rows] == list(range(weight.shape[0]))
    for row in mix.rows:
        o = row.out_channel
        assert list(row.channels) == mix_view.inputs_read(o)
        np.testing.assert_array_equal(row.products, weight[o, :, 0, 0] * padded[row.channels, r * s, c * s])
        assert row.total == pytest.approx(float(ref[o, r, c]), abs=1e-9)
        assert row.equation().startswith(f"y[{o}] = ") and row.equation().count("×") == len(row.channels)


def test_lecture_two_channel_example_written_out_product_by_product() -> None:
    """Lecture 003: (1×1 + 2×2 + 4×3 + 5×4) + (0×0 + 1×1 + 3×2 + 4×3) = 56, every output cell."""
    x = np.array([[[0, 1, 2], [3, 4, 5], [6, 7, 8]], [[1, 2, 3], [4, 5, 6], [7, 8, 9]]])
    weight = np.array([[[[0, 1], [2, 3]], [[1, 2], [3, 4]]]])
    view = explain_channels(x, weight, None)
    assert channel_sums(view, 0, (0, 0)).lines() == [
        "input channel 0: 0×0 + 1×1 + 3×2 + 4×3 = 19",
        "input channel 1: 1×1 + 2×2 + 4×3 + 5×4 = 37",
        "total: 19 + 37 = 56",
    ]
    totals = [[channel_sums(view, 0, (r, c)).lines()[-1] for c in range(2)] for r in range(2)]
    assert totals == [
        ["total: 19 + 37 = 56", "total: 25 + 47 = 72"],
        ["total: 37 + 67 = 104", "total: 43 + 77 = 120"],
    ]


def test_fractions_and_negatives_in_products_are_written_as_number_text_writes_them() -> None:
    x = np.array([[[1, 2], [3, 4]]], float)
    weight = np.array([[[[1 / 3, -1], [0.5, 2]]]])
    cell = channel_sums(explain_channels(x, weight, np.array([-1.0])), 0, (0, 0))
    assert cell.lines() == [
        "input channel 0: 1×(1/3) + 2×(-1) + 3×0.5 + 4×2 = 7.833",
        "total: 7.833 + (-1) = 6.833 (the last term is the bias)",
    ]
    mix = channel_mixing(
        explain_channels(x, np.array([[[[2.0]]], [[[-1 / 3]]]]), np.array([1.0, 0.0])), (1, 0)
    )
    assert [row.equation() for row in mix.rows] == ["y[0] = 2×3 + 1 = 7", "y[1] = (-1/3)×3 = -1"]


def test_depthwise_reads_one_channel_per_filter() -> None:
    view = channels_view((6, 6), 3, 6, 3, groups=3)
    assert view.weight.shape == (6, 1, 3, 3)
    assert [view.inputs_read(o) for o in range(6)] == [[0], [0], [1], [1], [2], [2]]
    assert view.params == 6 * 1 * 9 + 6 and view.params_dense == 6 * 3 * 9 + 6


def test_lecture_two_channel_worked_example() -> None:
    """Lecture 003: two 3x3 input channels, two 2x2 kernel slices; the first output is 19 + 37 = 56."""
    x = np.array([[[0, 1, 2], [3, 4, 5], [6, 7, 8]], [[1, 2, 3], [4, 5, 6], [7, 8, 9]]])
    weight = np.array([[[[0, 1], [2, 3]], [[1, 2], [3, 4]]]])
    view = explain_channels(x, weight, None)
    np.testing.assert_array_equal(view.output, [[[56, 72], [104, 120]]])
    cell = channel_sums(view, 0, (0, 0))
    assert cell.dots == (19.0, 37.0) and cell.total == 56.0
    assert cell.equation() == "19 + 37 = 56"
    assert view.params == 8 and view.macs == 4 * 8


def test_lecture_flop_count_is_a_billion_macs() -> None:
    """Lecture 003: c_i = c_o = 100, 5x5 kernels, a 64x64 output: about 1 G multiply-accumulates."""
    view = explain_channels(np.zeros((100, 68, 68)), np.zeros((100, 100, 5, 5)), np.zeros(100))
    assert view.output.shape == (100, 64, 64)
    assert view.macs == 100 * 100 * 5 * 5 * 64 * 64 == 1_024_000_000


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        (
            {"in_channels": 4, "out_channels": 4, "groups": 3},
            "in_channels (4) must be divisible by groups (3)",
        ),
        (
            {"in_channels": 4, "out_channels": 6, "groups": 4},
            "out_channels (6) must be divisible by groups (4)",
        ),
        ({"kernel_size": 5, "input_size": (3, 3)}, "spans 5 cells"),
    ],
)
def test_impossible_settings_raise_a_readable_error(kwargs: dict, words: str) -> None:
    cfg = {"input_size": (5, 5), "in_channels": 2, "out_channels": 2, "kernel_size": 3, **kwargs}
    with pytest.raises(ConvConfigError, match=words.replace("(", r"\(").replace(")", r"\)")):
        channels_view(**cfg)


def test_cell_and_pixel_outside_the_output_are_refused() -> None:
    view = channels_view((4, 4), 2, 2, 1)
    with pytest.raises(ConvConfigError, match="outside"):
        channel_sums(view, 2, (0, 0))
    with pytest.raises(ConvConfigError, match="outside"):
        channel_sums(view, 0, (4, 0))
    with pytest.raises(ConvConfigError, match="outside"):
        channel_mixing(view, (0, 4))
    with pytest.raises(ConvConfigError, match="kernel_size to 1"):
        channel_mixing(channels_view((4, 4), 2, 2, 3), (0, 0))
