"""The pooling page's core against torch.nn.functional, and the lecture's pooling examples."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from cnnviz.conv.kernels import LECTURE_SIGNAL
from cnnviz.errors import ConvConfigError
from cnnviz.topics.pooling import (
    bilinear_upsample,
    lecture_edge_image,
    max_unpool2d,
    pool1d_walkthrough,
    pool_walkthrough,
    shift_invariance,
    upsample_compare,
)


def _t(a: np.ndarray) -> torch.Tensor:
    return torch.tensor(a, dtype=torch.float64)[None, None]


CASES = [
    # (H, W, kernel, stride, padding, dilation, ceil_mode)
    (3, 3, 2, 1, 0, 1, False),
    (6, 6, 2, None, 0, 1, False),
    (5, 7, 3, 2, 1, 1, True),
    (7, 5, 2, 2, 1, 2, False),
    (5, 5, 2, None, 0, 1, True),
    (8, 6, 3, 1, 1, 2, True),
]


@pytest.mark.parametrize(("h", "w", "k", "s", "p", "d", "ceil"), CASES)
def test_max_pool_values_winners_and_sizes_match_torch(h, w, k, s, p, d, ceil) -> None:
    x = np.random.default_rng(h * 10 + w).integers(0, 10, size=(h, w)).astype(float)
    walk = pool_walkthrough(x, "max", k, s, p, d, ceil)
    ref, idx = F.max_pool2d(_t(x), k, s, p, d, ceil_mode=ceil, return_indices=True)
    np.testing.assert_array_equal(walk.output, ref[0, 0].numpy())
    np.testing.assert_array_equal(walk.indices, idx[0, 0].numpy())
    rows, cols = walk.winners[..., 0], walk.winners[..., 1]
    np.testing.assert_array_equal(x[rows, cols], walk.output)
    assert (walk.explanations[0].result, walk.explanations[1].result) == walk.output.shape
    assert walk.global_average == pytest.approx(F.adaptive_avg_pool2d(_t(x), 1).item())


@pytest.mark.parametrize(("h", "w", "k", "s", "p", "d", "ceil"), [c for c in CASES if c[5] == 1])
@pytest.mark.parametrize("include", [True, False])
def test_avg_pool_matches_torch(h, w, k, s, p, d, ceil, include) -> None:
    x = np.random.default_rng(3).normal(size=(h, w))
    walk = pool_walkthrough(x, "avg", k, s, p, 1, ceil, include)
    ref = F.avg_pool2d(_t(x), k, s, p, ceil_mode=ceil, count_include_pad=include)[0, 0].numpy()
    np.testing.assert_allclose(walk.output, ref, rtol=1e-12, atol=1e-12)
    assert walk.indices is None and walk.winners is None


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"kernel_size": 2, "padding": 2}, "at most half the kernel size"),
        ({"kernel_size": 5}, "padded input"),
        ({"kind": "avg", "dilation": 2}, "average pooling has no dilation"),
        ({"kind": "min"}, "'max' or 'avg'"),
    ],
)
def test_bad_settings_raise_readable_errors(kwargs, words) -> None:
    with pytest.raises(ConvConfigError, match=words):
        pool_walkthrough(np.zeros((3, 3)), **kwargs)


def test_lecture_2x2_max_pool_of_0_to_8() -> None:
    x = np.arange(9.0).reshape(3, 3)
    np.testing.assert_array_equal(pool_walkthrough(x, "max", 2, 1).output, [[4, 5], [7, 8]])
    np.testing.assert_array_equal(pool_walkthrough(x, "avg", 2, 1).output, [[2, 3], [5, 6]])


def test_lecture_vertical_edge_gives_ones_in_column_1() -> None:
    x = lecture_edge_image()
    assert x.shape == (4, 5) and (x[:, :2] == 1).all() and (x[:, 2:] == 0).all()
    inv = shift_invariance(0)
    expected = np.zeros((4, 4))
    expected[:, 1] = 1
    np.testing.assert_array_equal(inv.conv[0][:, :4], expected)


def test_max_pooling_tolerates_a_1_pixel_shift() -> None:
    inv = shift_invariance(3, pool_kernel=2, pool_stride=1)
    # the edge map moves: nothing that fired at shift 0 fires at shift 1
    assert inv.conv_kept[1] == 0.0 and inv.conv_changed[1] == 8
    # the pooled cell whose window spans conv columns 1 and 2 fires for both shifts
    assert (inv.pooled[0][:, 1] == 1).all() and (inv.pooled[1][:, 1] == 1).all()
    assert inv.pool_kept[1] == 0.5 and inv.pool_changed[1] < inv.conv_changed[1]
    assert inv.conv_changed[0] == inv.pool_changed[0] == 0
    # conv stage matches torch for every shift
    for image, conv, pooled in zip(inv.images, inv.conv, inv.pooled, strict=True):
        ref = F.conv2d(_t(image), torch.tensor([[[[1.0, -1.0]]]], dtype=torch.float64))
        np.testing.assert_array_equal(conv, ref[0, 0].numpy())
        np.testing.assert_array_equal(pooled, F.max_pool2d(ref, 2, 1)[0, 0].numpy())


def test_shift_out_of_range_is_an_error() -> None:
    with pytest.raises(ConvConfigError, match="shift"):
        lecture_edge_image(3, width=5)


@pytest.mark.parametrize(("h", "w", "oh", "ow"), [(2, 2, 4, 4), (3, 2, 6, 4), (2, 3, 5, 7), (4, 4, 3, 9)])
def test_bilinear_matches_interpolate(h, w, oh, ow) -> None:
    x = np.random.default_rng(1).normal(size=(h, w))
    ref = F.interpolate(_t(x), size=(oh, ow), mode="bilinear", align_corners=False)[0, 0].numpy()
    np.testing.assert_allclose(bilinear_upsample(x, (oh, ow)), ref, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(("h", "w"), [(4, 4), (5, 6), (6, 3)])
@pytest.mark.parametrize("k", [1, 2, 3])
def test_upsample_compare_matches_torch(h, w, k) -> None:
    src = np.random.default_rng(h + w).integers(0, 10, size=(h, w)).astype(float)
    kernel = np.arange(1.0, k * k + 1).reshape(k, k)
    up = upsample_compare(src, kernel)
    pooled, idx = F.max_pool2d(_t(src), 2, return_indices=True)
    np.testing.assert_array_equal(up.small, pooled[0, 0].numpy())
    np.testing.assert_array_equal(
        up.methods["max-unpool"], F.max_unpool2d(pooled, idx, 2, output_size=(h, w))[0, 0].numpy()
    )
    np.testing.assert_array_equal(
        up.methods["nearest"], F.interpolate(pooled, scale_factor=2, mode="nearest")[0, 0].numpy()
    )
    np.testing.assert_allclose(
        up.methods["bilinear"],
        F.interpolate(pooled, scale_factor=2, mode="bilinear", align_corners=False)[0, 0].numpy(),
        rtol=1e-12,
    )
    ref_t = F.conv_transpose2d(pooled, _t(kernel), stride=2)[0, 0].numpy()
    np.testing.assert_allclose(up.methods["transposed conv"], ref_t, rtol=1e-12)
    ph, pw = pooled.shape[2:]
    assert up.sizes()["transposed conv"] == ((ph - 1) * 2 + k, (pw - 1) * 2 + k)
    assert up.sizes()["max-unpool"] == (h, w)


def test_max_unpool_puts_values_back_at_their_argmax() -> None:
    out = max_unpool2d([[9.0]], [[5]], (3, 3))
    expected = np.zeros((3, 3))
    expected[1, 2] = 9
    np.testing.assert_array_equal(out, expected)


@given(
    h=st.integers(1, 10),
    w=st.integers(1, 10),
    kind=st.sampled_from(["max", "avg"]),
    k=st.integers(1, 4),
    stride=st.one_of(st.none(), st.integers(1, 3)),
    padding=st.integers(0, 2),
    dilation=st.integers(1, 2),
    ceil_mode=st.booleans(),
    count_include_pad=st.booleans(),
    seed=st.integers(0, 1000),
)
@settings(max_examples=500, deadline=None, derandomize=True, database=None)
def test_walkthrough_matches_torch_for_random_settings(
    h, w, kind, k, stride, padding, dilation, ceil_mode, count_include_pad, seed
) -> None:
    """Values, winners and sizes equal torch.nn.functional's; where torch refuses, a ConvConfigError."""
    x = np.random.default_rng(seed).integers(0, 6, size=(h, w)).astype(float)  # many ties
    d = dilation if kind == "max" else 1
    xt = torch.tensor(x)[None, None]
    try:
        if kind == "max":
            values, idx = F.max_pool2d(xt, k, stride, padding, d, ceil_mode=ceil_mode, return_indices=True)
        else:
            values = F.avg_pool2d(
                xt, k, stride, padding, ceil_mode=ceil_mode, count_include_pad=count_include_pad
            )
        assert min(values.shape[2:]) >= 1
    except (RuntimeError, ValueError, AssertionError):
        with pytest.raises(ConvConfigError):
            pool_walkthrough(x, kind, k, stride, padding, d, ceil_mode, count_include_pad)
        return
    walk = pool_walkthrough(x, kind, k, stride, padding, d, ceil_mode, count_include_pad)
    np.testing.assert_allclose(walk.output, values[0, 0].numpy(), atol=1e-12)
    assert tuple(e.result for e in walk.explanations) == tuple(values.shape[2:])
    if kind == "max":
        np.testing.assert_array_equal(walk.indices, idx[0, 0].numpy())
    assert np.isclose(walk.global_average, x.mean())


def _window_reduce(x: np.ndarray, cells: list, kind: str, count_include_pad: bool, limit: tuple) -> float:
    """Max or mean of the cells one window reads, padding as pooling treats it (−inf, or 0 counted or not)."""
    inside = [x[c] for c in cells if all(0 <= i < n for i, n in zip(c, x.shape, strict=True))]
    if kind == "max":
        return max(inside, default=-np.inf)
    # with count_include_pad the divisor counts padding but not the ceil_mode overhang past it
    padded = [c for c in cells if all(-p <= i < n + p for i, n, p in zip(c, x.shape, limit, strict=True))]
    return sum(inside) / (len(padded) if count_include_pad else len(inside))


@given(
    h=st.integers(1, 8),
    w=st.integers(1, 8),
    kind=st.sampled_from(["max", "avg"]),
    k=st.integers(1, 4),
    stride=st.one_of(st.none(), st.integers(1, 3)),
    padding=st.integers(0, 2),
    dilation=st.integers(1, 2),
    ceil_mode=st.booleans(),
    count_include_pad=st.booleans(),
    seed=st.integers(0, 1000),
)
@settings(max_examples=300, deadline=None, derandomize=True, database=None)
def test_window_cells_hold_what_torch_pools(
    h, w, kind, k, stride, padding, dilation, ceil_mode, count_include_pad, seed
) -> None:
    """Reducing the cells `window_cells` lists gives torch's value; a max window's winner is one of them."""
    x = np.random.default_rng(seed).normal(size=(h, w))
    d = dilation if kind == "max" else 1
    try:
        walk = pool_walkthrough(x, kind, k, stride, padding, d, ceil_mode, count_include_pad)
    except ConvConfigError:
        return  # which settings torch refuses is pinned by the test above
    xt = _t(x)
    if kind == "max":
        ref, idx = F.max_pool2d(xt, k, stride, padding, d, ceil_mode=ceil_mode, return_indices=True)
    else:
        ref = F.avg_pool2d(xt, k, stride, padding, ceil_mode=ceil_mode, count_include_pad=count_include_pad)
    ref = ref[0, 0].numpy()
    for i in range(ref.shape[0]):
        for j in range(ref.shape[1]):
            cells = walk.window_cells(i, j)
            assert len(cells) == k * k
            got = _window_reduce(x, cells, kind, count_include_pad, (padding, padding))
            assert got == pytest.approx(ref[i, j], abs=1e-12)
            if kind == "max":
                assert divmod(int(idx[0, 0, i, j]), w) in cells


@given(
    n=st.integers(1, 20),
    kind=st.sampled_from(["max", "avg"]),
    k=st.integers(1, 5),
    stride=st.one_of(st.none(), st.integers(1, 4)),
    padding=st.integers(0, 2),
    dilation=st.integers(1, 3),
    ceil_mode=st.booleans(),
    count_include_pad=st.booleans(),
    seed=st.integers(0, 1000),
)
@settings(max_examples=400, deadline=None, derandomize=True, database=None)
def test_1d_pooling_matches_torch(
    n, kind, k, stride, padding, dilation, ceil_mode, count_include_pad, seed
) -> None:
    """Values, winner positions, length and window cells equal F.max_pool1d / F.avg_pool1d's."""
    x = np.random.default_rng(seed).integers(0, 6, size=n).astype(float)
    d = dilation if kind == "max" else 1
    xt = torch.tensor(x)[None, None]
    try:
        if kind == "max":
            ref, idx = F.max_pool1d(xt, k, stride, padding, d, ceil_mode=ceil_mode, return_indices=True)
        else:
            ref = F.avg_pool1d(
                xt, k, stride, padding, ceil_mode=ceil_mode, count_include_pad=count_include_pad
            )
        assert ref.shape[2] >= 1
    except (RuntimeError, ValueError, AssertionError):
        with pytest.raises(ConvConfigError):
            pool1d_walkthrough(x, kind, k, stride, padding, d, ceil_mode, count_include_pad)
        return
    walk = pool1d_walkthrough(x, kind, k, stride, padding, d, ceil_mode, count_include_pad)
    np.testing.assert_allclose(walk.output, ref[0, 0].numpy(), atol=1e-12)
    assert walk.explanation.result == ref.shape[2]
    if kind == "max":
        np.testing.assert_array_equal(walk.indices, idx[0, 0].numpy())
        for j, winner in enumerate(walk.indices):
            assert winner in walk.window_cells(j)
    else:
        assert walk.indices is None
    for j in range(ref.shape[2]):
        got = _window_reduce(x, [(c,) for c in walk.window_cells(j)], kind, count_include_pad, (padding,))
        assert got == pytest.approx(ref[0, 0, j].item(), abs=1e-12)


def test_1d_lecture_signal_max_pooled_by_2() -> None:
    walk = pool1d_walkthrough(LECTURE_SIGNAL, "max", 2)
    np.testing.assert_array_equal(walk.output, [5.3, 5.4, 10.3, 10.3, 3.4, 3.3])
    np.testing.assert_array_equal(walk.indices, [1, 2, 5, 7, 9, 10])


@pytest.mark.parametrize(
    ("x", "kwargs", "words"),
    [
        ([[1.0, 2.0]], {}, "non-empty 1D"),
        ([], {}, "non-empty 1D"),
        ([1.0, 2.0, 3.0], {"kind": "min"}, "'max' or 'avg'"),
        ([1.0, 2.0, 3.0], {"kind": "avg", "dilation": 2}, "no dilation"),
        ([1.0, 2.0, 3.0], {"kernel_size": 2, "padding": 2}, "at most half the kernel size"),
        ([1.0, 2.0], {"kernel_size": 3}, "padded input"),
    ],
)
def test_bad_1d_settings_raise_readable_errors(x, kwargs, words) -> None:
    with pytest.raises(ConvConfigError, match=words):
        pool1d_walkthrough(x, **kwargs)


def test_shift_summary_counts_each_map_against_its_own_size() -> None:
    from cnnviz.topics.pooling import shift_summary

    inv = shift_invariance(3, pool_kernel=2, pool_stride=1)
    assert inv.conv_changed_share == tuple(n / 28 for n in inv.conv_changed)
    assert inv.pool_changed_share == tuple(n / 18 for n in inv.pool_changed)
    assert shift_summary(inv, 0).startswith("At shift 0 nothing has moved yet")
    assert "**6 of 18 (33%)** of the pooled map" in shift_summary(inv, 1)
    assert "50% of the pooled cells that fired at shift 0 still fire." in shift_summary(inv, 1)
    assert "moved the edge out of every window" in shift_summary(inv, 2)
    with pytest.raises(ConvConfigError, match="shift must be one of"):
        shift_summary(inv, 4)
