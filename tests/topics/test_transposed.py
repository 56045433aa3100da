"""`cnnviz.topics.transposed` against PyTorch: the scatter, the gaps view and C^T all give F.conv_transpose2d.

Refusals match PyTorch's (output_padding at least max(stride, dilation), padding that crops everything);
the gapped input is rebuilt with torch (zeros inserted, F.pad with negative amounts to crop); C^T x is
also what autograd gives as the gradient of the forward convolution.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

from cnnviz.conv.numbers import parse_grid
from cnnviz.errors import ConvConfigError
from cnnviz.topics.transposed import (
    CELL_INPUT,
    CELL_INSERTED,
    CELL_OUTPUT_PADDING,
    CELL_PADDING,
    gaps_view,
    matrix_view,
    partial_sums,
    stamp,
    transposed_view,
)
from tests.oracle import assert_readable, cnnviz_outcome, examples, torch_outcome


def t(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(a, dtype=np.float64))


@st.composite
def configs(draw):
    """Any setting the page's controls allow (and a little beyond), valid or not."""
    h, w = draw(st.integers(1, 6)), draw(st.integers(1, 6))
    k = draw(st.integers(1, 4))
    rng = np.random.default_rng(draw(st.integers(0, 1000)))
    return {
        "x": rng.integers(-3, 6, size=(h, w)).astype(float),
        "kernel": rng.integers(-2, 3, size=(k, k)).astype(float),
        "stride": draw(st.integers(1, 3)),
        "padding": draw(st.integers(0, 5)),
        "output_padding": draw(st.integers(0, 3)),
        "dilation": draw(st.integers(1, 3)),
    }


def torch_transposed(cfg: dict) -> np.ndarray:
    return F.conv_transpose2d(
        t(cfg["x"])[None, None],
        t(cfg["kernel"])[None, None],
        None,
        cfg["stride"],
        cfg["padding"],
        cfg["output_padding"],
        1,
        cfg["dilation"],
    )[0, 0].numpy()


def valid(cfg: dict):
    ours = cnnviz_outcome(transposed_view, **cfg)
    return None if ours.raised else ours.value


@given(configs())
@examples(400)
def test_refuses_exactly_what_torch_refuses_and_otherwise_agrees(cfg: dict) -> None:
    ours = cnnviz_outcome(transposed_view, **cfg)
    theirs = torch_outcome(torch_transposed, cfg)
    assert ours.raised == theirs.raised, (cfg, ours.error, theirs.error)
    if ours.raised:
        assert_readable(ours.error)
        return
    view = ours.value
    np.testing.assert_allclose(view.output, theirs.value, atol=1e-9)
    assert (view.explanations[0].result, view.explanations[1].result) == theirs.value.shape


@given(configs())
@examples(250)
def test_stamps_are_one_cell_transposed_convs_and_add_up_to_the_output(cfg: dict) -> None:
    view = valid(cfg)
    if view is None:
        return
    sums = partial_sums(view)
    top, left, bottom, right = view.crop
    np.testing.assert_allclose(sums[-1][top : bottom + 1, left : right + 1], view.output, atol=1e-9)
    np.testing.assert_array_equal(sums[0], 0)
    h, w = view.input.shape
    for n in range(h * w):
        i, j = divmod(n, w)
        one = np.zeros_like(view.input)
        one[i, j] = view.input[i, j]
        # Uncropped: padding 0, same output_padding, so the canvas holds the whole stamp.
        ref = torch_transposed({**cfg, "x": one, "padding": 0})
        np.testing.assert_allclose(stamp(view, i, j), ref, atol=1e-9)
        np.testing.assert_allclose(sums[n + 1] - sums[n], ref, atol=1e-9)


@given(configs())
@examples(300)
def test_gaps_view_is_a_direct_convolution_with_the_flipped_kernel(cfg: dict) -> None:
    view = valid(cfg)
    if view is None:
        return
    gaps = gaps_view(view)
    s, p, op, d = view.stride, view.padding, view.output_padding, view.dilation
    k = view.kernel.shape[0]
    # Rebuild the gapped input with torch: zeros between cells, then pad (or crop) and output_padding.
    h, w = view.input.shape
    up = torch.zeros(1, 1, (h - 1) * s + 1, (w - 1) * s + 1, dtype=torch.float64)
    up[..., ::s, ::s] = t(view.input)
    e = d * (k - 1) - p
    padded = F.pad(up, (e, e + op, e, e + op))
    assert gaps.border == e
    np.testing.assert_array_equal(gaps.gapped, padded[0, 0].numpy())
    flipped = torch.flip(t(view.kernel), dims=(0, 1))
    np.testing.assert_array_equal(gaps.flipped, flipped.numpy())
    direct = F.conv2d(padded, flipped[None, None], dilation=d)[0, 0].numpy()
    np.testing.assert_allclose(gaps.output, direct, atol=1e-9)
    np.testing.assert_allclose(gaps.output, torch_transposed(cfg), atol=1e-9)
    # Only cells marked as input cells can hold a non-zero value; every kind marks zeros otherwise.
    marked = np.zeros_like(gaps.gapped)
    marked[gaps.kinds == CELL_INPUT] = 1
    assert np.all(gaps.gapped[marked == 0] == 0)
    if e >= 0:  # nothing cropped: every input cell appears once, in order
        np.testing.assert_array_equal(gaps.gapped[gaps.kinds == CELL_INPUT], view.input.ravel())
        assert ((gaps.kinds == CELL_INSERTED).sum()) == gaps.gapped.size - h * w - (
            (gaps.kinds == CELL_PADDING) | (gaps.kinds == CELL_OUTPUT_PADDING)
        ).sum()
    if op and e >= 0:  # (when cropping, the output_padding cells may be input cells the crop had cut)
        assert (gaps.kinds[-1] == CELL_OUTPUT_PADDING).all() and (
            gaps.kinds[:, -1] == CELL_OUTPUT_PADDING
        ).all()


@given(configs())
@examples(250)
def test_transposed_conv_is_c_transpose_and_the_gradient_of_the_forward_conv(cfg: dict) -> None:
    view = valid(cfg)
    if view is None:
        return
    mat = matrix_view(view)
    assert mat.matches
    ref = torch_transposed(cfg)
    np.testing.assert_allclose(mat.product, ref, atol=1e-9)
    h, w = view.input.shape
    ho, wo = view.output.shape
    s, p, d = view.stride, view.padding, view.dilation
    kernel = t(view.kernel)[None, None]
    # C is the Jacobian of the forward convolution (output-size input -> input-size output).
    jac = torch.autograd.functional.jacobian(
        lambda z: F.conv2d(z, kernel, None, s, p, d)[0, 0, :h, :w],
        torch.zeros(1, 1, ho, wo, dtype=torch.float64),
    )
    np.testing.assert_allclose(mat.matrix, jac.reshape(h * w, ho * wo).numpy(), atol=1e-12)
    # C^T x is the gradient of <conv(z), x> with respect to z.
    z = torch.zeros(1, 1, ho, wo, dtype=torch.float64, requires_grad=True)
    (F.conv2d(z, kernel, None, s, p, d)[0, 0, :h, :w] * t(view.input)).sum().backward()
    np.testing.assert_allclose(mat.product, z.grad[0, 0].numpy(), atol=1e-9)
    expected_extra = view.output_padding // s
    assert mat.extra_rows == (expected_extra, expected_extra)


def test_stride_equal_to_kernel_paints_separate_blocks() -> None:
    """A 2x2 input, a 2x2 ones kernel, stride 2: each cell becomes a 2x2 block, with no overlap."""
    view = transposed_view(np.array([[1.0, 2.0], [3.0, 4.0]]), np.ones((2, 2)), stride=2)
    np.testing.assert_array_equal(view.output, [[1, 1, 2, 2], [1, 1, 2, 2], [3, 3, 4, 4], [3, 3, 4, 4]])
    gaps = gaps_view(view)
    assert gaps.border == 1 and gaps.gapped.shape == (5, 5)
    assert (gaps.kinds == CELL_INSERTED).sum() == 5 and (gaps.kinds == CELL_INPUT).sum() == 4


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        (
            {"output_padding": 2, "stride": 2},
            "output_padding (height) must be smaller than the stride or the dilation",
        ),
        ({"padding": 3, "stride": 1}, "padding 3 (height) crops 6 cells"),
        ({"kernel": np.ones((2, 3))}, "kernel a square one"),
    ],
)
def test_impossible_settings_raise_a_readable_error(kwargs: dict, words: str) -> None:
    cfg = {"x": np.ones((2, 2)), "kernel": np.ones((2, 2)), **kwargs}
    with pytest.raises(ConvConfigError) as info:
        transposed_view(**cfg)
    assert words in str(info.value)


def test_parse_grid_reads_rows_and_refuses_wrong_counts() -> None:
    np.testing.assert_array_equal(parse_grid("1 2; 3, 4", (2, 2), "kernel"), [[1, 2], [3, 4]])
    with pytest.raises(ConvConfigError, match="a 2×2 grid needs 2 rows of 2 numbers"):
        parse_grid("1 2 3", (2, 2), "kernel")
    with pytest.raises(ConvConfigError, match="is not a number"):
        parse_grid("1 2 x 4", (2, 2), "input")
