"""cnnviz's ops give PyTorch's values, shapes, dtypes and indices; equivalent formulations agree.

Configurations are valid by construction (invalid ones live in test_errors_match_torch.py), tensors are
tiny, and every value is compared with the same configuration run through PyTorch (tests/oracle.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

import cnnviz
from tests import oracle
from tests.oracle import assert_close, cnnviz_outcome, examples

PADDING_MODES = ("zeros", "reflect", "replicate", "circular")
DTYPES = (np.float64, np.float32)


# --------------------------------------------------------------------------------------------------
# Drawing valid configurations
# --------------------------------------------------------------------------------------------------


def make_array(
    rng: np.random.Generator, shape: tuple[int, ...], dtype: type, kind: str = "normal"
) -> np.ndarray:
    """Random data: 'normal' values, 'ties' (small integers, so windows hold equal maxima), or 'special'
    (normal values with some -inf and NaN cells)."""
    if kind == "ties":
        return rng.integers(-2, 3, size=shape).astype(dtype)
    a = rng.standard_normal(shape).astype(dtype)
    if kind == "special":
        a[rng.random(shape) < 0.3] = -np.inf
        a[rng.random(shape) < 0.1] = np.nan
    return a


def maybe_scalar(draw: st.DrawFn, values: tuple[int, ...]) -> int | tuple[int, ...]:
    """PyTorch takes an int for 'the same on every axis'; use that form half the time when it applies."""
    if len(set(values)) == 1 and draw(st.booleans()):
        return values[0]
    return values


def draw_channels(draw: st.DrawFn) -> tuple[int, int, int]:
    """(C_in, C_out, groups) with groups dividing both, C <= 4; depthwise (groups = C_in) included."""
    kind = draw(st.sampled_from(["single", "grouped", "depthwise"]))
    if kind == "single":
        return draw(st.integers(1, 4)), draw(st.integers(1, 4)), 1
    if kind == "depthwise":
        c_in = draw(st.integers(1, 4))
        return c_in, c_in * draw(st.integers(1, max(1, 4 // c_in))), c_in
    groups = draw(st.integers(2, 4))
    per = 4 // groups
    return groups * draw(st.integers(1, per)), groups * draw(st.integers(1, per)), groups


def draw_batch(draw: st.DrawFn) -> tuple[int, ...]:
    """() for an unbatched input, else (N,)."""
    return draw(st.sampled_from([(), (1,), (2,)]))


@dataclass
class ConvCase:
    ndim: int
    batch: tuple[int, ...]
    size: tuple[int, ...]
    c_in: int
    c_out: int
    groups: int
    kernel: tuple[int, ...]
    stride: Any
    padding: Any
    dilation: Any
    padding_mode: str
    bias: bool
    dtype: type
    seed: int

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        rng = np.random.default_rng(self.seed)
        x = make_array(rng, (*self.batch, self.c_in, *self.size), self.dtype)
        w = make_array(rng, (self.c_out, self.c_in // self.groups, *self.kernel), self.dtype)
        b = make_array(rng, (self.c_out,), self.dtype) if self.bias else None
        return x, w, b


@st.composite
def conv_cases(draw: st.DrawFn, ndim: int) -> ConvCase:
    c_in, c_out, groups = draw_channels(draw)
    kernel = tuple(draw(st.integers(1, 5)) for _ in range(ndim))
    dilation = tuple(draw(st.integers(1, 3)) for _ in range(ndim))
    padding_mode = draw(st.sampled_from(PADDING_MODES))
    form = draw(st.sampled_from(["int", "per-axis", "per-side", "same", "valid"]))
    stride = (1,) * ndim if form == "same" else tuple(draw(st.integers(1, 3)) for _ in range(ndim))
    padding: Any
    if form == "int":
        p = draw(st.integers(0, 4))
        pads, padding = ((p, p),) * ndim, p
    elif form == "per-axis":
        ps = tuple(draw(st.integers(0, 4)) for _ in range(ndim))
        pads, padding = tuple((p, p) for p in ps), ps
    elif form == "per-side":
        pads = tuple((draw(st.integers(0, 4)), draw(st.integers(0, 4))) for _ in range(ndim))
        if ndim == 1:
            padding = pads[0] if draw(st.booleans()) else pads
        else:  # ((top, bottom), (left, right)), an axis with equal sides sometimes written as one int
            padding = tuple(b if b == a and draw(st.booleans()) else (b, a) for b, a in pads)
    elif form == "same":
        totals = [d * (k - 1) for k, d in zip(kernel, dilation, strict=True)]
        pads, padding = tuple((t // 2, t - t // 2) for t in totals), "same"
    else:
        pads, padding = ((0, 0),) * ndim, "valid"
    size = []
    for k, d, (before, after) in zip(kernel, dilation, pads, strict=True):
        low = max(1, d * (k - 1) + 1 - before - after)
        if padding_mode == "reflect":
            low = max(low, max(before, after) + 1)
        elif padding_mode == "circular":
            low = max(low, max(before, after))
        size.append(draw(st.integers(low, max(low, 12))))
    return ConvCase(
        ndim=ndim,
        batch=draw_batch(draw),
        size=tuple(size),
        c_in=c_in,
        c_out=c_out,
        groups=groups,
        kernel=kernel,
        stride=maybe_scalar(draw, stride),
        padding=padding,
        dilation=maybe_scalar(draw, dilation),
        padding_mode=padding_mode,
        bias=draw(st.booleans()),
        dtype=draw(st.sampled_from(DTYPES)),
        seed=draw(st.integers(0, 2**32 - 1)),
    )


def check_conv(case: ConvCase) -> None:
    x, w, b = case.arrays()
    fn = cnnviz.conv1d if case.ndim == 1 else cnnviz.conv2d
    args = (case.stride, case.padding, case.dilation, case.groups, case.padding_mode)
    theirs = oracle.conv(x, w, b, *args)
    assert not theirs.raised, f"the drawn configuration should be valid: {theirs.error!r}"
    ours = cnnviz_outcome(fn, x, w, b, *args)
    assert not ours.raised, ours.error
    assert ours.value.dtype == x.dtype
    assert_close(ours.value, theirs.value)


@examples(2000)
@given(case=conv_cases(2))
def test_conv2d_matches_torch(case: ConvCase) -> None:
    check_conv(case)


@examples(600)
@given(case=conv_cases(1))
def test_conv1d_matches_torch(case: ConvCase) -> None:
    check_conv(case)


# --------------------------------------------------------------------------------------------------
# Transposed convolution
# --------------------------------------------------------------------------------------------------


@dataclass
class ConvTransposeCase:
    ndim: int
    batch: tuple[int, ...]
    size: tuple[int, ...]
    c_in: int
    c_out: int
    groups: int
    kernel: tuple[int, ...]
    stride: Any
    padding: Any
    output_padding: Any
    dilation: Any
    bias: bool
    dtype: type
    seed: int

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        rng = np.random.default_rng(self.seed)
        x = make_array(rng, (*self.batch, self.c_in, *self.size), self.dtype)
        w = make_array(rng, (self.c_in, self.c_out // self.groups, *self.kernel), self.dtype)
        b = make_array(rng, (self.c_out,), self.dtype) if self.bias else None
        return x, w, b


@st.composite
def conv_transpose_cases(draw: st.DrawFn, ndim: int) -> ConvTransposeCase:
    c_in, c_out, groups = draw_channels(draw)
    kernel, stride, dilation, output_padding, padding, size = [], [], [], [], [], []
    for _ in range(ndim):
        k, s, d, n = (
            draw(st.integers(1, 4)),
            draw(st.integers(1, 3)),
            draw(st.integers(1, 3)),
            draw(st.integers(1, 6)),
        )
        op = draw(st.integers(0, max(s, d) - 1))
        full = (n - 1) * s + d * (k - 1) + op + 1  # output before `padding` crops both ends
        p = draw(st.integers(0, min(4, (full - 1) // 2)))
        for seq, v in (
            (kernel, k),
            (stride, s),
            (dilation, d),
            (output_padding, op),
            (padding, p),
            (size, n),
        ):
            seq.append(v)
    return ConvTransposeCase(
        ndim=ndim,
        batch=draw_batch(draw),
        size=tuple(size),
        c_in=c_in,
        c_out=c_out,
        groups=groups,
        kernel=tuple(kernel),
        stride=maybe_scalar(draw, tuple(stride)),
        padding=maybe_scalar(draw, tuple(padding)),
        output_padding=maybe_scalar(draw, tuple(output_padding)),
        dilation=maybe_scalar(draw, tuple(dilation)),
        bias=draw(st.booleans()),
        dtype=draw(st.sampled_from(DTYPES)),
        seed=draw(st.integers(0, 2**32 - 1)),
    )


def check_conv_transpose(case: ConvTransposeCase) -> None:
    x, w, b = case.arrays()
    fn = cnnviz.conv_transpose1d if case.ndim == 1 else cnnviz.conv_transpose2d
    args = (case.stride, case.padding, case.output_padding, case.groups, case.dilation)
    theirs = oracle.conv_transpose(x, w, b, *args)
    assert not theirs.raised, f"the drawn configuration should be valid: {theirs.error!r}"
    ours = cnnviz_outcome(fn, x, w, b, *args)
    assert not ours.raised, ours.error
    assert ours.value.dtype == x.dtype
    assert_close(ours.value, theirs.value)


@examples(600)
@given(case=conv_transpose_cases(1))
def test_conv_transpose1d_matches_torch(case: ConvTransposeCase) -> None:
    check_conv_transpose(case)


@examples(600)
@given(case=conv_transpose_cases(2))
def test_conv_transpose2d_matches_torch(case: ConvTransposeCase) -> None:
    check_conv_transpose(case)


# --------------------------------------------------------------------------------------------------
# Pooling
# --------------------------------------------------------------------------------------------------


@dataclass
class PoolCase:
    ndim: int
    shape: tuple[int, ...]
    kernel_size: Any
    stride: Any
    padding: Any
    dilation: Any
    ceil_mode: bool
    dtype: type
    data: str
    seed: int

    def array(self) -> np.ndarray:
        return make_array(np.random.default_rng(self.seed), self.shape, self.dtype, self.data)


@st.composite
def pool_cases(draw: st.DrawFn, ndim: int, dilated: bool, data: tuple[str, ...] = ("normal",)) -> PoolCase:
    kernel, stride, padding, dilation, size = [], [], [], [], []
    default_stride = draw(st.booleans())  # stride None: the kernel size, as in PyTorch
    for _ in range(ndim):
        k = draw(st.integers(1, 4))
        s = k if default_stride else draw(st.integers(1, 3))
        p = draw(st.integers(0, k // 2))
        d = draw(st.integers(1, 3)) if dilated else 1
        low = max(1, d * (k - 1) + 1 - 2 * p)
        for seq, v in ((kernel, k), (stride, s), (padding, p), (dilation, d)):
            seq.append(v)
        size.append(draw(st.integers(low, max(low, 10))))
    batch = draw_batch(draw)
    return PoolCase(
        ndim=ndim,
        shape=(*batch, draw(st.integers(1, 3)), *size),
        kernel_size=maybe_scalar(draw, tuple(kernel)),
        stride=None if default_stride else maybe_scalar(draw, tuple(stride)),
        padding=maybe_scalar(draw, tuple(padding)),
        dilation=maybe_scalar(draw, tuple(dilation)),
        ceil_mode=draw(st.booleans()),
        dtype=draw(st.sampled_from(DTYPES)),
        data=draw(st.sampled_from(data)),
        seed=draw(st.integers(0, 2**32 - 1)),
    )


def check_max_pool(case: PoolCase) -> None:
    x = case.array()
    fn = cnnviz.max_pool1d if case.ndim == 1 else cnnviz.max_pool2d
    args = (case.kernel_size, case.stride, case.padding, case.dilation, case.ceil_mode)
    theirs = oracle.max_pool(x, case.ndim, *args)
    assert not theirs.raised, f"the drawn configuration should be valid: {theirs.error!r}"
    values, indices, plain = theirs.value
    ours = cnnviz_outcome(fn, x, *args, return_indices=True)
    assert not ours.raised, ours.error
    our_values, our_indices = ours.value
    assert our_values.dtype == x.dtype
    # A maximum is one of the inputs: no tolerance, NaN where PyTorch has NaN.
    np.testing.assert_array_equal(our_values, values, strict=True)
    np.testing.assert_array_equal(our_indices, indices, strict=True)
    np.testing.assert_array_equal(fn(x, *args), plain, strict=True)


@examples(600)
@given(case=pool_cases(1, dilated=True, data=("normal", "ties", "special")))
def test_max_pool1d_matches_torch(case: PoolCase) -> None:
    check_max_pool(case)


@examples(600)
@given(case=pool_cases(2, dilated=True, data=("normal", "ties", "special")))
def test_max_pool2d_matches_torch(case: PoolCase) -> None:
    check_max_pool(case)


@st.composite
def avg_pool_cases(draw: st.DrawFn, ndim: int) -> tuple[PoolCase, bool, int | None]:
    case = draw(pool_cases(ndim, dilated=False))
    divisor = None
    if ndim == 2 and draw(st.booleans()):
        divisor = draw(st.integers(-3, 9).filter(lambda v: v != 0))
    return case, draw(st.booleans()), divisor


def check_avg_pool(case: PoolCase, count_include_pad: bool, divisor_override: int | None) -> None:
    x = case.array()
    args: tuple[Any, ...] = (case.kernel_size, case.stride, case.padding, case.ceil_mode, count_include_pad)
    if case.ndim == 2:
        args = (*args, divisor_override)
    theirs = oracle.avg_pool(x, case.ndim, *args)
    assert not theirs.raised, f"the drawn configuration should be valid: {theirs.error!r}"
    ours = cnnviz_outcome(cnnviz.avg_pool1d if case.ndim == 1 else cnnviz.avg_pool2d, x, *args)
    assert not ours.raised, ours.error
    assert ours.value.dtype == x.dtype
    assert_close(ours.value, theirs.value)


@examples(600)
@given(drawn=avg_pool_cases(1))
def test_avg_pool1d_matches_torch(drawn: tuple[PoolCase, bool, None]) -> None:
    check_avg_pool(*drawn)


@examples(600)
@given(drawn=avg_pool_cases(2))
def test_avg_pool2d_matches_torch(drawn: tuple[PoolCase, bool, int | None]) -> None:
    check_avg_pool(*drawn)


# --------------------------------------------------------------------------------------------------
# Equivalences: two ways of writing the same computation agree
# --------------------------------------------------------------------------------------------------


@examples(300)
@given(
    channels=st.integers(1, 3),
    size=st.tuples(st.integers(1, 9), st.integers(1, 9)),
    kernel=st.tuples(st.integers(1, 4), st.integers(1, 4)),
    stride=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    count_include_pad=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)
def test_avg_pool2d_is_conv2d_with_uniform_kernel(
    channels, size, kernel, stride, count_include_pad, seed
) -> None:
    size = tuple(max(n, k) for n, k in zip(size, kernel, strict=True))
    x = np.random.default_rng(seed).standard_normal((2, channels, *size))
    weight = np.full((channels, 1, *kernel), 1.0 / (kernel[0] * kernel[1]))
    pooled = cnnviz.avg_pool2d(x, kernel, stride, 0, count_include_pad=count_include_pad)
    convolved = cnnviz.conv2d(x, weight, stride=stride, groups=channels)
    np.testing.assert_allclose(pooled, convolved, rtol=1e-12, atol=1e-12)


@examples(300)
@given(
    channels=st.integers(1, 3),
    size=st.tuples(st.integers(1, 9), st.integers(1, 9)),
    kernel=st.tuples(st.integers(1, 4), st.integers(1, 4)),
    stride=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    data=st.data(),
    seed=st.integers(0, 2**32 - 1),
)
def test_padded_avg_pool2d_counting_padding_is_zero_padded_conv2d(
    channels, size, kernel, stride, data, seed
) -> None:
    # count_include_pad=True divides by k*k everywhere (no ceil_mode, so no window passes the padding).
    padding = tuple(data.draw(st.integers(0, k // 2)) for k in kernel)
    size = tuple(max(n, k) for n, k in zip(size, kernel, strict=True))
    x = np.random.default_rng(seed).standard_normal((channels, *size))
    weight = np.full((channels, 1, *kernel), 1.0 / (kernel[0] * kernel[1]))
    pooled = cnnviz.avg_pool2d(x, kernel, stride, padding, count_include_pad=True)
    convolved = cnnviz.conv2d(x, weight, stride=stride, padding=padding, groups=channels)
    np.testing.assert_allclose(pooled, convolved, rtol=1e-12, atol=1e-12)


@examples(200)
@given(
    batch=st.integers(1, 2),
    c_in=st.integers(1, 4),
    c_out=st.integers(1, 4),
    size=st.tuples(st.integers(1, 8), st.integers(1, 8)),
    bias=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)
def test_1x1_conv_is_einsum_over_channels(batch, c_in, c_out, size, bias, seed) -> None:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, c_in, *size))
    w = rng.standard_normal((c_out, c_in, 1, 1))
    b = rng.standard_normal(c_out) if bias else None
    expected = np.einsum("nchw,oc->nohw", x, w[:, :, 0, 0])
    if b is not None:
        expected = expected + b[None, :, None, None]
    np.testing.assert_allclose(cnnviz.conv2d(x, w, b), expected, rtol=1e-12, atol=1e-12)


@examples(300)
@given(case=conv_cases(1))
def test_conv1d_is_conv2d_on_a_height_one_image(case: ConvCase) -> None:
    x, w, b = case.arrays()
    pads = oracle.per_side_pairs(case.padding, 1)
    if pads is not None:
        padding_2d: Any = ((0, 0), pads[0])
    elif isinstance(case.padding, str):
        padding_2d = case.padding
    else:
        padding_2d = (0, case.padding if isinstance(case.padding, int) else case.padding[0])
    stride = case.stride if isinstance(case.stride, int) else case.stride[0]
    dilation = case.dilation if isinstance(case.dilation, int) else case.dilation[0]
    one_d = cnnviz.conv1d(x, w, b, stride, case.padding, dilation, case.groups, case.padding_mode)
    two_d = cnnviz.conv2d(
        x[..., None, :],
        w[..., None, :],
        b,
        (1, stride),
        padding_2d,
        (1, dilation),
        case.groups,
        case.padding_mode,
    )
    assert two_d.shape[-2] == 1
    assert one_d.dtype == two_d.dtype
    np.testing.assert_allclose(
        one_d, two_d[..., 0, :], rtol=1e-5 if case.dtype == np.float32 else 1e-12, atol=1e-12
    )


@examples(100)
@given(
    shape=st.tuples(st.integers(1, 2), st.integers(1, 3), st.integers(1, 7), st.integers(1, 7)),
    dtype=st.sampled_from(DTYPES),
    seed=st.integers(0, 2**32 - 1),
)
def test_max_pool_with_kernel_1_and_stride_1_is_identity(shape, dtype, seed) -> None:
    x = make_array(np.random.default_rng(seed), shape, dtype)
    values, indices = cnnviz.max_pool2d(x, 1, 1, return_indices=True)
    np.testing.assert_array_equal(values, x, strict=True)
    h, w = shape[2:]
    np.testing.assert_array_equal(indices, np.broadcast_to(np.arange(h * w).reshape(h, w), shape))
    values_1d, indices_1d = cnnviz.max_pool1d(x[:, :, 0], 1, 1, return_indices=True)
    np.testing.assert_array_equal(values_1d, x[:, :, 0], strict=True)
    np.testing.assert_array_equal(indices_1d, np.broadcast_to(np.arange(w), shape[:2] + (w,)))


# --------------------------------------------------------------------------------------------------
# Worked facts
# --------------------------------------------------------------------------------------------------


def test_same_padding_with_even_kernel_puts_the_extra_cell_after_like_torch() -> None:
    x = np.arange(1.0, 8.0)[None, None]  # (1, 1, 7)
    w = np.array([[[1.0, 10.0, 100.0, 1000.0]]])  # every tap distinguishable
    layer = torch.nn.Conv1d(1, 1, 4, padding="same", bias=False, dtype=torch.float64)
    with torch.no_grad():
        layer.weight.copy_(torch.from_numpy(w))
        reference = layer(torch.from_numpy(x)).numpy()
    # What PyTorch did: one zero before, two after.
    after = F.conv1d(F.pad(torch.from_numpy(x), (1, 2)), torch.from_numpy(w)).numpy()
    before = F.conv1d(F.pad(torch.from_numpy(x), (2, 1)), torch.from_numpy(w)).numpy()
    np.testing.assert_array_equal(reference, after)
    assert not np.array_equal(reference, before)

    np.testing.assert_array_equal(cnnviz.conv1d(x, w, padding="same"), reference)
    np.testing.assert_array_equal(cnnviz.conv1d(x, w, padding=(1, 2)), reference)
    assert cnnviz.same_padding(4) == ((1, 2),)
    assert cnnviz.resolve_padding("same", 2, (4, 3), (1, 2)) == ((1, 2), (2, 2))


@pytest.mark.parametrize("padding_mode", PADDING_MODES)
def test_same_padding_with_even_kernel_in_every_padding_mode(padding_mode: str) -> None:
    x = np.arange(1.0, 7.0).reshape(1, 1, 2, 3) ** 2
    w = np.array([[[[1.0, 10.0], [100.0, 1000.0]]]])
    theirs = oracle.conv(x, w, None, 1, "same", 1, 1, padding_mode)
    assert not theirs.raised, theirs.error
    assert theirs.value.shape == x.shape
    np.testing.assert_array_equal(
        cnnviz.conv2d(x, w, padding="same", padding_mode=padding_mode), theirs.value
    )


def test_max_pool_ties_report_the_first_maximum() -> None:
    x = np.array([[[3.0, 1.0, 3.0, 3.0, 0.0]]])
    values, indices = cnnviz.max_pool1d(x, 3, 1, return_indices=True)
    t_values, t_indices = F.max_pool1d(torch.from_numpy(x), 3, 1, return_indices=True)
    np.testing.assert_array_equal(values, t_values.numpy())
    np.testing.assert_array_equal(indices, t_indices.numpy())
