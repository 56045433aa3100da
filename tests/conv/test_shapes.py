"""Output sizes agree with the shapes PyTorch actually returns, and the solvers solve what they claim.

The oracle for a size is the shape of a real PyTorch op run on a zeros tensor (tests/oracle.py). Drawn
configurations are often invalid on purpose (kernel larger than the padded input, negative or zero
numbers, pooling padding above half the kernel, output_padding too large, 'same' with a stride): then
PyTorch raises and cnnviz must raise ConvConfigError, naming the argument.
"""

from __future__ import annotations

import itertools
from typing import Any

from hypothesis import event, given
from hypothesis import strategies as st

import cnnviz
from tests import oracle
from tests.oracle import Outcome, assert_readable, assert_same_verdict, cnnviz_outcome, examples


def compare(ours: Outcome, theirs: Outcome, config: object, expected: Any = None) -> None:
    """Same verdict; a readable error if both refuse; the same numbers if both accept."""
    assert_same_verdict(ours, theirs, config)
    event("refused" if theirs.raised else "accepted")
    if ours.raised:
        assert_readable(ours.error)
    else:
        assert ours.value == (theirs.value if expected is None else expected), (
            config,
            ours.value,
            theirs.value,
        )


# --------------------------------------------------------------------------------------------------
# Strategies: small numbers, many of them out of range
# --------------------------------------------------------------------------------------------------


def mostly(low: int, high: int, bad: tuple[int, ...]) -> st.SearchStrategy[int]:
    """Usually a value in [low, high], about one time in ten one of the `bad` values."""
    good = list(range(low, high + 1))
    repeat = max(1, round(9 * len(bad) / len(good)))
    return st.sampled_from(good * repeat + list(bad))


sizes = mostly(1, 12, (-1, 0))
kernels = mostly(1, 5, (-1, 0))
strides = mostly(1, 4, (-1, 0))
dilations = mostly(1, 3, (-1, 0))
paddings = mostly(0, 5, (-1,))


def side_pairs(pad: st.SearchStrategy[int] = paddings) -> st.SearchStrategy[tuple[int, int]]:
    return st.tuples(pad, pad)


paddings_1d = st.one_of(
    paddings,
    side_pairs(),  # (before, after)
    st.tuples(side_pairs()),  # ((before, after),)
    st.tuples(paddings),  # (p,), one value for the one axis
    st.sampled_from(["same", "valid"]),
)
paddings_2d = st.one_of(
    paddings,
    st.tuples(paddings, paddings),  # per axis
    st.tuples(side_pairs(), side_pairs()),  # per side, ((top, bottom), (left, right))
    st.tuples(paddings, side_pairs()),  # mixed
    st.tuples(side_pairs(), paddings),
    st.sampled_from(["same", "valid"]),
)


def int_or_pair(values: st.SearchStrategy[int]) -> st.SearchStrategy[int | tuple[int, int]]:
    return st.one_of(values, st.tuples(values, values))


def pair(value: int | tuple[int, int]) -> tuple[int, int]:
    return (value, value) if isinstance(value, int) else value


# --------------------------------------------------------------------------------------------------
# Convolution
# --------------------------------------------------------------------------------------------------


@examples(1000)
@given(n=sizes, k=kernels, stride=strides, padding=paddings_1d, dilation=dilations)
def test_conv_output_size_matches_torch(n, k, stride, padding, dilation) -> None:
    theirs = oracle.conv_shape((n,), (k,), stride, padding, dilation)
    ours = cnnviz_outcome(cnnviz.conv_output_size, n, k, stride, padding, dilation)
    compare(
        ours, theirs, (n, k, stride, padding, dilation), expected=None if theirs.raised else theirs.value[0]
    )


@examples(1000)
@given(
    size=int_or_pair(sizes),
    kernel=int_or_pair(kernels),
    stride=int_or_pair(strides),
    padding=paddings_2d,
    dilation=int_or_pair(dilations),
)
def test_conv2d_output_size_matches_torch(size, kernel, stride, padding, dilation) -> None:
    theirs = oracle.conv_shape(pair(size), pair(kernel), stride, padding, dilation)
    ours = cnnviz_outcome(cnnviz.conv2d_output_size, size, kernel, stride, padding, dilation)
    compare(ours, theirs, (size, kernel, stride, padding, dilation))


@examples(400)
@given(
    size=st.tuples(st.integers(1, 12), st.integers(1, 12)),
    kernel=st.tuples(st.integers(1, 6), st.integers(1, 6)),
    dilation=st.tuples(st.integers(1, 3), st.integers(1, 3)),
)
def test_same_padding_keeps_the_size_like_torch(size, kernel, dilation) -> None:
    """'same' is valid for any size at stride 1 (PyTorch pads with zeros as needed) and keeps it."""
    theirs = oracle.conv_shape(size, kernel, 1, "same", dilation)
    assert not theirs.raised, theirs.error
    assert theirs.value == size
    assert cnnviz.conv2d_output_size(size, kernel, 1, "same", dilation) == size


# --------------------------------------------------------------------------------------------------
# Transposed convolution
# --------------------------------------------------------------------------------------------------


transpose_sizes = mostly(1, 8, (0, -1))
transpose_kernels = mostly(1, 5, (0, -1))
transpose_paddings = mostly(0, 3, (-1, 6))
output_paddings = mostly(0, 1, (-1, 2, 3, 4))


@examples(800)
@given(
    n=transpose_sizes,
    k=transpose_kernels,
    stride=strides,
    padding=transpose_paddings,
    output_padding=output_paddings,
    dilation=dilations,
)
def test_conv_transpose_output_size_matches_torch(n, k, stride, padding, output_padding, dilation) -> None:
    theirs = oracle.conv_transpose_shape((n,), (k,), stride, padding, output_padding, dilation)
    ours = cnnviz_outcome(cnnviz.conv_transpose_output_size, n, k, stride, padding, output_padding, dilation)
    config = (n, k, stride, padding, output_padding, dilation)
    compare(ours, theirs, config, expected=None if theirs.raised else theirs.value[0])


@examples(600)
@given(
    size=int_or_pair(transpose_sizes),
    kernel=int_or_pair(transpose_kernels),
    stride=int_or_pair(strides),
    padding=int_or_pair(transpose_paddings),
    output_padding=int_or_pair(output_paddings),
    dilation=int_or_pair(dilations),
)
def test_conv_transpose2d_output_size_matches_torch(
    size, kernel, stride, padding, output_padding, dilation
) -> None:
    theirs = oracle.conv_transpose_shape(pair(size), pair(kernel), stride, padding, output_padding, dilation)
    ours = cnnviz_outcome(
        cnnviz.conv_transpose2d_output_size, size, kernel, stride, padding, output_padding, dilation
    )
    compare(ours, theirs, (size, kernel, stride, padding, output_padding, dilation))


# --------------------------------------------------------------------------------------------------
# Pooling
# --------------------------------------------------------------------------------------------------


@st.composite
def pool_axes(draw: st.DrawFn) -> tuple[int, int, int | None, int, int]:
    """(n, kernel, stride, padding, dilation) for one axis: padding usually within half the kernel,
    sometimes above it or negative; stride None half the time (PyTorch then uses the kernel size)."""
    k = draw(mostly(1, 4, (-1, 0)))
    padding = draw(st.sampled_from(list(range(k // 2 + 1)) * 3 + [-1, max(0, k // 2) + 1, 4]))
    stride = draw(st.one_of(st.none(), strides))
    return draw(sizes), k, stride, padding, draw(dilations)


@examples(1000)
@given(axis=pool_axes(), ceil_mode=st.booleans())
def test_pool_output_size_matches_torch(axis, ceil_mode) -> None:
    n, k, stride, padding, dilation = axis
    ours = cnnviz_outcome(cnnviz.pool_output_size, n, k, stride, padding, dilation, ceil_mode)
    config = (n, k, stride, padding, dilation, ceil_mode)
    theirs = oracle.pool_shape("max", (n,), k, stride, padding, dilation, ceil_mode)
    compare(ours, theirs, ("max", *config), expected=None if theirs.raised else theirs.value[0])
    if dilation == 1:  # avg pooling has no dilation, and follows the same size rules
        theirs = oracle.pool_shape("avg", (n,), k, stride, padding, 1, ceil_mode)
        compare(ours, theirs, ("avg", *config), expected=None if theirs.raised else theirs.value[0])


@examples(800)
@given(
    height=pool_axes(),
    width=pool_axes(),
    default_stride=st.booleans(),
    as_int=st.booleans(),
    ceil_mode=st.booleans(),
)
def test_pool2d_output_size_matches_torch(height, width, default_stride, as_int, ceil_mode) -> None:
    def arg(i: int) -> Any:
        """Both axes' values, or one int when they are equal (half the time)."""
        values = (height[i], width[i])
        return values[0] if values[0] == values[1] and as_int else values

    size, kernel, padding, dilation = arg(0), arg(1), arg(3), arg(4)
    stride = None if default_stride or None in (height[2], width[2]) else arg(2)
    ours = cnnviz_outcome(cnnviz.pool2d_output_size, size, kernel, stride, padding, dilation, ceil_mode)
    config = (size, kernel, stride, padding, dilation, ceil_mode)
    theirs = oracle.pool_shape("max", pair(size), kernel, stride, padding, dilation, ceil_mode)
    compare(ours, theirs, ("max", *config))
    if dilation in (1, (1, 1)):
        theirs = oracle.pool_shape("avg", pair(size), kernel, stride, padding, 1, ceil_mode)
        compare(ours, theirs, ("avg", *config))


def test_pool_output_size_exhaustively_on_small_numbers_with_ceil_mode() -> None:
    """Every small valid-looking configuration, so the ceil_mode rule 'the last window must start inside
    the input or the left padding' is exercised where it matters, not only where a draw lands."""
    dropped = 0
    for n, k, s, d in itertools.product(range(1, 9), range(1, 5), range(1, 5), range(1, 3)):
        for p in range(k // 2 + 1):
            for ceil_mode in (False, True):
                theirs = oracle.pool_shape("max", (n,), k, s, p, d, ceil_mode)
                ours = cnnviz_outcome(cnnviz.pool_output_size, n, k, s, p, d, ceil_mode)
                config = (n, k, s, p, d, ceil_mode)
                assert_same_verdict(ours, theirs, config)
                if theirs.raised:
                    continue
                assert ours.value == theirs.value[0], (config, ours.value, theirs.value)
                plain_ceil = -(-(n + 2 * p - d * (k - 1) - 1) // s) + 1
                if ceil_mode and theirs.value[0] < plain_ceil:
                    dropped += 1
    assert dropped > 0, "no configuration exercised the drop-the-last-window rule"


# --------------------------------------------------------------------------------------------------
# Solvers
# --------------------------------------------------------------------------------------------------


def conv_size_or_none(n: int, k: int, s: int, padding: Any, d: int) -> int | None:
    out = cnnviz_outcome(cnnviz.conv_output_size, n, k, s, padding, d)
    return None if out.raised else out.value


@examples(400)
@given(
    n=st.integers(1, 16),
    target=st.integers(-1, 20),
    k=st.integers(1, 5),
    s=st.integers(1, 3),
    d=st.integers(1, 3),
)
def test_padding_for_output_size_hits_the_target_with_the_least_padding(n, target, k, s, d) -> None:
    span = d * (k - 1) + 1
    achieving = [
        (b, a)
        for b in range(target * s + span + 2)
        for a in range(b, b + 2)  # split as PyTorch splits 'same': the odd cell after
        if conv_size_or_none(n, k, s, (b, a), d) == target
    ]
    result = cnnviz_outcome(cnnviz.padding_for_output_size, n, target, k, s, d)
    event("reachable" if achieving else "unreachable")
    if not achieving:
        assert result.raised, f"no padding gives {target} cells, yet it returned {result.value}"
        assert result.error.argument == "target size"
        return
    assert not result.raised, result.error
    before, after = result.value
    assert conv_size_or_none(n, k, s, (before, after), d) == target
    assert after - before in (0, 1)
    least_side = min(max(pad) for pad in achieving)
    least_total = min(sum(pad) for pad in achieving)
    assert max(before, after) == least_side
    # The smallest total, or one more when that makes the padding symmetric (documented preference).
    assert before + after == least_total or (before == after and before + after == least_total + 1)
    if least_total % 2 and (least_total // 2 + 1,) * 2 in achieving:
        assert before == after


@examples(400)
@given(
    n=st.integers(1, 8),
    target=st.integers(-1, 30),
    k=st.integers(1, 5),
    s=st.integers(1, 3),
    d=st.integers(1, 3),
)
def test_transpose_padding_for_output_size_hits_the_target_with_the_least_padding(n, target, k, s, d) -> None:
    base = (n - 1) * s + d * (k - 1) + 1
    achieving = [
        (p, op)
        for p in range(base // 2 + 2)
        for op in range(max(s, d))
        if not (out := cnnviz_outcome(cnnviz.conv_transpose_output_size, n, k, s, p, op, d)).raised
        and out.value == target
    ]
    result = cnnviz_outcome(cnnviz.transpose_padding_for_output_size, n, target, k, s, d)
    event("reachable" if achieving else "unreachable")
    if not achieving:
        assert result.raised, f"nothing gives {target} cells, yet it returned {result.value}"
        assert result.error.argument == "target size"
        return
    assert not result.raised, result.error
    p, op = result.value
    assert (p, op) in achieving
    assert p == min(pad for pad, _ in achieving)
    theirs = oracle.conv_transpose_shape((n,), (k,), s, p, op, d)
    assert theirs.value == (target,), theirs


@examples(400)
@given(
    k=st.integers(1, 5),
    s=st.integers(1, 4),
    p=st.integers(0, 3),
    d=st.integers(1, 3),
    extra=st.integers(0, 12),
    written=st.sampled_from(["int", "pair"]),
)
def test_output_padding_to_invert_gives_back_the_input_size(k, s, p, d, extra, written) -> None:
    n = max(1, d * (k - 1) + 1 - 2 * p) + extra  # any size the forward conv accepts
    a = cnnviz.output_padding_to_invert(n, k, s, p if written == "int" else (p, p), d)
    assert 0 <= a < max(s, d)
    forward = oracle.conv_shape((n,), (k,), s, p, d)
    assert not forward.raised, forward.error
    back = oracle.conv_transpose_shape(forward.value, (k,), s, p, a, d)
    assert not back.raised, back.error
    assert back.value == (n,)


def test_output_padding_to_invert_needs_a_symmetric_padding() -> None:
    # 'same' with an odd kernel pads alike on both sides, so it inverts; an even kernel's (1, 2) cannot,
    # since a transposed convolution crops the same number of cells from both ends.
    a = cnnviz.output_padding_to_invert(6, 3, 1, "same")
    assert oracle.conv_transpose_shape((6,), (3,), 1, 1, a).value == (6,)
    for padding in ("same", (1, 2)):
        error = cnnviz_outcome(cnnviz.output_padding_to_invert, 6, 4, 1, padding).error
        assert error is not None and error.argument == "padding"


@st.composite
def forward_configs(draw: st.DrawFn) -> tuple[int, int, int, Any, int]:
    k, d = draw(st.integers(1, 5)), draw(st.integers(1, 3))
    padding = draw(
        st.one_of(st.integers(0, 3), side_pairs(st.integers(0, 3)), st.just("same"), st.just("valid"))
    )
    s = 1 if padding == "same" else draw(st.integers(1, 4))
    if padding == "same":
        total = d * (k - 1)
    elif padding == "valid":
        total = 0
    else:
        total = sum(padding) if isinstance(padding, tuple) else 2 * padding
    n = max(1, d * (k - 1) + 1 - total) + draw(st.integers(0, 12))
    return n, k, s, padding, d


@examples(300)
@given(config=forward_configs())
def test_inputs_with_same_output_is_exactly_that_set(config) -> None:
    n, k, s, padding, d = config
    target = oracle.conv_shape((n,), (k,), s, padding, d)
    assert not target.raised, target.error
    # Two sizes map to the same output only if they differ by less than the stride.
    brute = {
        m for m in range(1, n + s + 1) if oracle.conv_shape((m,), (k,), s, padding, d).value == target.value
    }
    assert set(cnnviz.inputs_with_same_output(n, k, s, padding, d)) == brute


def reads(n: int, k: int, s: int, before: int, after: int, d: int) -> tuple[set[int], int]:
    """Slide the window over the padded input: the input cells some tap lands on, and (in input
    coordinates) where the last window's last tap lands."""
    read: set[int] = set()
    start, last = 0, None
    while start + d * (k - 1) < n + before + after:
        read |= {start + j * d - before for j in range(k)} & set(range(n))
        last = start + d * (k - 1) - before
        start += s
    assert last is not None
    return read, last


@examples(500)
@given(config=forward_configs())
def test_unread_cells_matches_a_sliding_window_count(config) -> None:
    n, k, s, padding, d = config
    ((before, after),) = cnnviz.resolve_padding(padding, 1, k, d, s)
    read, last = reads(n, k, s, before, after, d)
    unread = cnnviz.unread_cells(n, k, s, padding, d)
    # Documented meaning: the input cells after the end of the last window, which floor drops.
    assert unread == len([i for i in range(n) if i > last])
    assert not read & set(range(n - unread, n))
    if d == 1 and s <= k:
        # Windows overlap or touch, so those trailing cells are the only ones nobody reads.
        event("no gaps between windows")
        assert unread == n - len(read)
    else:
        assert unread <= n - len(read)


def test_unread_cells_worked_examples() -> None:
    # n=7, k=3, s=2: windows start at 0, 2, 4 and end at cell 6, so every cell is read; n=8 leaves cell 7.
    assert [cnnviz.unread_cells(m, 3, 2) for m in (7, 8)] == [0, 1]
    # n=1, k=1, s=3, padding (2, 0): the one window reads the first padding cell; the input cell is unread,
    # and there is only one input cell to leave unread.
    assert cnnviz.conv_output_size(1, 1, 3, (2, 0)) == 1
    assert cnnviz.unread_cells(1, 1, 3, (2, 0)) == 1
