"""cnnviz refuses exactly the op configurations PyTorch refuses, with a ConvConfigError a person can act on.

Configurations are drawn to be often invalid: channels that groups do not divide, weights with the wrong
number of input channels, bias of the wrong length, kernels wider than the padded input, reflect padding
as wide as the input, circular padding wrapping more than once, 'same' with a stride, zero or negative
numbers, pooling padding above half the kernel, output_padding not below max(stride, dilation),
divisor_override 0, inputs of the wrong rank. Whatever PyTorch raises (RuntimeError, ValueError, ...)
counts as refusing; when both accept, the values must agree too.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import event, given
from hypothesis import strategies as st

import cnnviz
from tests import oracle
from tests.oracle import Outcome, assert_close, assert_readable, assert_same_verdict, cnnviz_outcome, examples

PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


def mostly(low: int, high: int, bad: tuple[int, ...]) -> st.SearchStrategy[int]:
    """Usually a value in [low, high], about one time in eight one of the `bad` values."""
    good = list(range(low, high + 1))
    return st.sampled_from(good * max(1, round(7 * len(bad) / len(good))) + list(bad))


def check(ours: Outcome, theirs: Outcome, config: object) -> None:
    assert_same_verdict(ours, theirs, config)
    event("refused" if theirs.raised else "accepted")
    if ours.raised:
        assert_readable(ours.error)
        return
    if isinstance(theirs.value, tuple):  # max pooling: values, indices
        for mine, reference in zip(ours.value, theirs.value, strict=True):
            np.testing.assert_array_equal(mine, reference, strict=True)
    else:
        assert_close(ours.value, theirs.value)


def input_shape(draw: st.DrawFn, channels: int, spatial: tuple[int, ...]) -> tuple[int, ...]:
    """Batched or unbatched, now and then a rank no op accepts (channels missing, or one axis too many)."""
    rank = draw(st.sampled_from(["batched"] * 6 + ["unbatched"] * 6 + ["no channels", "extra axis"]))
    if rank == "batched":
        return (draw(st.integers(1, 2)), channels, *spatial)
    if rank == "unbatched":
        return (channels, *spatial)
    if rank == "no channels":
        return spatial
    return (1, 1, channels, *spatial)


# --------------------------------------------------------------------------------------------------
# Convolution
# --------------------------------------------------------------------------------------------------


@st.composite
def conv_configs(draw: st.DrawFn, ndim: int) -> dict[str, Any]:
    c_in = draw(st.integers(1, 4))
    groups = draw(st.sampled_from([g for g in (1, 2, 3, 4) if c_in % g == 0] * 4 + [0, -1, 3]))
    c_out = draw(st.integers(1, 4)) * (groups if groups > 0 and draw(st.integers(0, 4)) else 1)
    per_group = c_in // groups if groups > 0 else 1
    per_group += draw(st.sampled_from([0] * 8 + [1, -1]))
    kernel = tuple(draw(st.integers(1, 5)) for _ in range(ndim))
    padding_mode = draw(st.sampled_from(PADDING_MODES))
    # With a padding mode other than zeros, nn.Conv pads with F.pad, which crops on negative padding;
    # cnnviz refuses negative padding in every mode (its message says to crop first). That difference
    # is deliberate, so negative padding is drawn for zeros only, where PyTorch refuses it too.
    pad = mostly(0, 3, (-1,)) if padding_mode == "zeros" else st.integers(0, 3)
    form = draw(st.sampled_from(["int", "per-axis", "per-side", "same", "valid"]))
    if form == "int":
        padding: Any = draw(pad)
    elif form == "per-axis":
        padding = tuple(draw(pad) for _ in range(ndim))
    elif form == "per-side":
        pairs = tuple((draw(pad), draw(pad)) for _ in range(ndim))
        padding = pairs[0] if ndim == 1 else pairs
    else:
        padding = form
    spatial = tuple(draw(st.integers(1, 6)) for _ in range(ndim))
    bias = draw(st.sampled_from(["none", "right", "right", "wrong"]))
    return dict(
        x=input_shape(draw, c_in, spatial),
        w=(c_out, max(per_group, 1), *kernel),
        b=None if bias == "none" else (c_out + (bias == "wrong"),),
        stride=draw(mostly(1, 3, (0, -1))),
        padding=padding,
        dilation=draw(mostly(1, 3, (0, -1))),
        groups=groups,
        padding_mode=padding_mode,
        seed=draw(st.integers(0, 2**32 - 1)),
    )


def arrays(config: dict[str, Any], *names: str) -> list[np.ndarray | None]:
    rng = np.random.default_rng(config["seed"])
    return [None if config[n] is None else rng.standard_normal(config[n]) for n in names]


def check_conv(config: dict[str, Any], fn: Any) -> None:
    x, w, b = arrays(config, "x", "w", "b")
    args = (config["stride"], config["padding"], config["dilation"], config["groups"], config["padding_mode"])
    check(cnnviz_outcome(fn, x, w, b, *args), oracle.conv(x, w, b, *args), config)


@examples(800)
@given(config=conv_configs(2))
def test_conv2d_refuses_what_torch_refuses(config) -> None:
    check_conv(config, cnnviz.conv2d)


@examples(500)
@given(config=conv_configs(1))
def test_conv1d_refuses_what_torch_refuses(config) -> None:
    check_conv(config, cnnviz.conv1d)


# --------------------------------------------------------------------------------------------------
# Transposed convolution
# --------------------------------------------------------------------------------------------------


@st.composite
def conv_transpose_configs(draw: st.DrawFn, ndim: int) -> dict[str, Any]:
    c_in = draw(st.integers(1, 4))
    groups = draw(st.sampled_from([g for g in (1, 2, 3, 4) if c_in % g == 0] * 4 + [0, -1, 3]))
    out_per_group = draw(st.integers(1, 2))
    c_out = out_per_group * max(groups, 1)
    w_in = c_in + draw(st.sampled_from([0] * 8 + [1]))

    def per_axis(strategy: st.SearchStrategy[int]) -> tuple[int, ...]:
        return tuple(draw(strategy) for _ in range(ndim))

    spatial = per_axis(st.integers(1, 5))
    bias = draw(st.sampled_from(["none", "right", "right", "wrong"]))
    return dict(
        x=input_shape(draw, c_in, spatial),
        w=(w_in, out_per_group, *per_axis(st.integers(1, 4))),
        b=None if bias == "none" else (c_out + (bias == "wrong"),),
        stride=per_axis(mostly(1, 3, (0, -1))),
        padding=per_axis(mostly(0, 3, (-1, 5))),
        output_padding=per_axis(mostly(0, 2, (-1, 3))),
        groups=groups,
        dilation=per_axis(mostly(1, 3, (0, -1))),
        seed=draw(st.integers(0, 2**32 - 1)),
    )


def check_conv_transpose(config: dict[str, Any], fn: Any) -> None:
    x, w, b = arrays(config, "x", "w", "b")
    args = (
        config["stride"],
        config["padding"],
        config["output_padding"],
        config["groups"],
        config["dilation"],
    )
    check(cnnviz_outcome(fn, x, w, b, *args), oracle.conv_transpose(x, w, b, *args), config)


@examples(500)
@given(config=conv_transpose_configs(2))
def test_conv_transpose2d_refuses_what_torch_refuses(config) -> None:
    check_conv_transpose(config, cnnviz.conv_transpose2d)


@examples(500)
@given(config=conv_transpose_configs(1))
def test_conv_transpose1d_refuses_what_torch_refuses(config) -> None:
    check_conv_transpose(config, cnnviz.conv_transpose1d)


# --------------------------------------------------------------------------------------------------
# Pooling
# --------------------------------------------------------------------------------------------------


@st.composite
def pool_configs(draw: st.DrawFn, ndim: int, dilated: bool) -> dict[str, Any]:
    kernel, padding = [], []
    for _ in range(ndim):
        k = draw(mostly(1, 4, (0, -1)))
        kernel.append(k)
        padding.append(draw(st.sampled_from(list(range(max(0, k // 2) + 1)) * 3 + [-1, max(0, k // 2) + 1])))
    spatial = tuple(draw(st.integers(1, 6)) for _ in range(ndim))
    stride = None if draw(st.booleans()) else tuple(draw(mostly(1, 3, (0, -1))) for _ in range(ndim))
    return dict(
        x=input_shape(draw, draw(st.integers(1, 2)), spatial),
        kernel_size=tuple(kernel),
        stride=stride,
        padding=tuple(padding),
        dilation=tuple(draw(mostly(1, 3, (0, -1))) for _ in range(ndim)) if dilated else 1,
        ceil_mode=draw(st.booleans()),
        seed=draw(st.integers(0, 2**32 - 1)),
    )


@pytest.mark.parametrize("ndim", [1, 2])
@examples(400)
@given(data=st.data())
def test_max_pool_refuses_what_torch_refuses(ndim, data) -> None:
    config = data.draw(pool_configs(ndim, dilated=True))
    (x,) = arrays(config, "x")
    args = (
        config["kernel_size"],
        config["stride"],
        config["padding"],
        config["dilation"],
        config["ceil_mode"],
    )
    theirs = oracle.max_pool(x, ndim, *args)
    if not theirs.raised:
        theirs = Outcome(value=theirs.value[:2])
    fn = cnnviz.max_pool1d if ndim == 1 else cnnviz.max_pool2d
    check(cnnviz_outcome(fn, x, *args, return_indices=True), theirs, config)


@pytest.mark.parametrize("ndim", [1, 2])
@examples(400)
@given(data=st.data())
def test_avg_pool_refuses_what_torch_refuses(ndim, data) -> None:
    config = data.draw(pool_configs(ndim, dilated=False))
    (x,) = arrays(config, "x")
    args: tuple[Any, ...] = (
        config["kernel_size"],
        config["stride"],
        config["padding"],
        config["ceil_mode"],
        data.draw(st.booleans(), label="count_include_pad"),
    )
    if ndim == 2:
        args = (*args, data.draw(st.sampled_from([None] * 4 + [0, 1, 3, -2]), label="divisor_override"))
    fn = cnnviz.avg_pool1d if ndim == 1 else cnnviz.avg_pool2d
    check(cnnviz_outcome(fn, x, *args), oracle.avg_pool(x, ndim, *args), (config, args))


# --------------------------------------------------------------------------------------------------
# Messages: each names its argument, and PyTorch refuses the same configuration
# --------------------------------------------------------------------------------------------------

X2 = np.zeros((1, 2, 5, 5))
W2 = np.zeros((2, 2, 3, 3))
X1 = np.zeros((1, 1, 4))

REFUSED = [
    ("stride 0", "stride", lambda m: m.conv2d(X2, W2, stride=0)),
    ("dilation 0", "dilation", lambda m: m.conv2d(X2, W2, dilation=0)),
    ("negative padding", "padding", lambda m: m.conv2d(X2, W2, padding=-1)),
    ("'same' with stride 2", "padding", lambda m: m.conv2d(X2, W2, stride=2, padding="same")),
    ("kernel wider than the input", "kernel_size", lambda m: m.conv2d(X2, np.zeros((2, 2, 6, 3)))),
    ("groups not dividing C_in", "in_channels", lambda m: m.conv2d(X2, np.zeros((3, 1, 3, 3)), groups=3)),
    ("weight with wrong C_in", "in_channels", lambda m: m.conv2d(X2, np.zeros((2, 1, 3, 3)))),
    ("bias of wrong length", "bias", lambda m: m.conv2d(X2, W2, np.zeros(3))),
    (
        "reflect padding as wide as the input",
        "padding",
        lambda m: m.conv1d(X1, np.zeros((1, 1, 3)), padding=4, padding_mode="reflect"),
    ),
    (
        "unknown padding_mode",
        "padding_mode",
        lambda m: m.conv1d(X1, np.zeros((1, 1, 3)), padding_mode="mirror"),
    ),
    ("input of wrong rank", "input", lambda m: m.conv2d(np.zeros((5, 5)), W2)),
    (
        "output_padding equal to the stride",
        "output_padding",
        lambda m: m.conv_transpose1d(X1, np.zeros((1, 1, 3)), stride=2, output_padding=2),
    ),
    (
        "transposed output cropped away",
        "padding",
        lambda m: m.conv_transpose1d(X1[..., :1], np.zeros((1, 1, 1)), padding=1),
    ),
    ("pool padding above half the kernel", "padding", lambda m: m.max_pool1d(X1, 2, padding=2)),
    ("pool window wider than the input", "kernel_size", lambda m: m.max_pool1d(X1, 5)),
    ("pool kernel 0", "kernel_size", lambda m: m.avg_pool2d(X2, 0)),
    ("divisor_override 0", "divisor_override", lambda m: m.avg_pool2d(X2, 2, divisor_override=0)),
]


class TorchLike:
    """The same calls spelled for torch.nn.functional (conv1d through the oracle, for padding_mode)."""

    @staticmethod
    def _t(a: np.ndarray | None) -> torch.Tensor | None:
        return oracle.to_torch(a)

    def conv2d(self, x, w, b=None, **kw):
        return F.conv2d(self._t(x), self._t(w), self._t(b), **kw)

    def conv1d(self, x, w, b=None, padding=0, padding_mode="zeros"):
        result = oracle.conv(x, w, b, 1, padding, 1, 1, padding_mode)
        if result.raised:
            raise result.error
        return result.value

    def conv_transpose1d(self, x, w, **kw):
        return F.conv_transpose1d(self._t(x), self._t(w), **kw)

    def max_pool1d(self, x, *args, **kw):
        return F.max_pool1d(self._t(x), *args, **kw)

    def avg_pool2d(self, x, *args, **kw):
        return F.avg_pool2d(self._t(x), *args, **kw)


@pytest.mark.parametrize(("label", "argument", "call"), REFUSED, ids=[r[0] for r in REFUSED])
def test_error_names_the_argument(label, argument, call) -> None:
    assert oracle.torch_outcome(call, TorchLike()).raised, f"PyTorch accepts the {label} case"
    with pytest.raises(cnnviz.ConvConfigError) as info:
        call(cnnviz)
    assert info.value.argument == argument
    assert_readable(info.value)
    assert isinstance(info.value, ValueError)


@examples(300)
@given(
    n=st.integers(1, 8),
    k=st.integers(1, 6),
    d=st.integers(1, 3),
    pads=st.tuples(st.integers(0, 2), st.integers(0, 2)),
)
def test_kernel_too_wide_message_suggests_a_padding_that_works(n, k, d, pads) -> None:
    error = cnnviz_outcome(cnnviz.conv_output_size, n, k, 1, pads, d).error
    if error is None:
        return  # the kernel fits; nothing to suggest
    event("kernel too wide")
    suggested = re.search(r"padding (\d+) on each side", str(error))
    assert suggested, str(error)
    p = int(suggested.group(1))
    assert p >= max(pads), "the suggestion should add padding, not remove it"
    assert not oracle.conv_shape((n,), (k,), 1, p, d).raised


def test_messages_give_the_allowed_range() -> None:
    # Pooling padding may be at most half the kernel: kernel 5 allows 2.
    with pytest.raises(cnnviz.ConvConfigError) as info:
        cnnviz.pool_output_size(9, 5, padding=3)
    assert oracle.pool_shape("max", (9,), 5, None, 2).value is not None
    assert "2" in str(info.value)
    # output_padding must be below max(stride, dilation): stride 3 allows 0..2.
    with pytest.raises(cnnviz.ConvConfigError) as info:
        cnnviz.conv_transpose_output_size(4, 3, stride=3, output_padding=3)
    assert not oracle.conv_transpose_shape((4,), (3,), 3, 0, 2).raised
    assert "0..2" in str(info.value)


# --------------------------------------------------------------------------------------------------
# ConvConfigError is the only error: wrong types and shapes of arguments included
# --------------------------------------------------------------------------------------------------

JUNK = st.one_of(
    st.integers(-2, 6),
    st.sampled_from(
        [2.5, 3.0, None, True, "same", "valid", "x", (), (1,), (1, 2), (1, 2, 3), ((1, 2),), ((1, 2), (0, 1)),
         ((1, 2, 3),), [2, 1], (2.5,), ("a", 1), "zeros", "reflect", "circular"]
    ),
)  # fmt: skip
_RNG = np.random.default_rng(0)
IMAGE, IMAGE_WEIGHT = _RNG.standard_normal((1, 2, 5, 5)), _RNG.standard_normal((2, 2, 3, 3))
SIGNAL, SIGNAL_WEIGHT = _RNG.standard_normal((1, 2, 6)), _RNG.standard_normal((2, 2, 3))
CALLS = [
    (cnnviz.conv_output_size, ()),
    (cnnviz.conv2d_output_size, ()),
    (cnnviz.conv_transpose_output_size, ()),
    (cnnviz.conv_transpose2d_output_size, ()),
    (cnnviz.pool_output_size, ()),
    (cnnviz.pool2d_output_size, ()),
    (cnnviz.padding_for_output_size, ()),
    (cnnviz.transpose_padding_for_output_size, ()),
    (cnnviz.output_padding_to_invert, ()),
    (cnnviz.inputs_with_same_output, ()),
    (cnnviz.unread_cells, ()),
    (cnnviz.conv2d, (IMAGE, IMAGE_WEIGHT, None)),
    (cnnviz.conv1d, (SIGNAL, SIGNAL_WEIGHT, None)),
    (cnnviz.conv_transpose2d, (IMAGE, IMAGE_WEIGHT, None)),
    (cnnviz.conv_transpose1d, (SIGNAL, SIGNAL_WEIGHT, None)),
    (cnnviz.max_pool2d, (IMAGE,)),
    (cnnviz.max_pool1d, (SIGNAL,)),
    (cnnviz.avg_pool2d, (IMAGE,)),
    (cnnviz.avg_pool1d, (SIGNAL,)),
]


@pytest.mark.parametrize(("fn", "fixed"), CALLS, ids=[fn.__name__ for fn, _ in CALLS])
@examples(150)
@given(data=st.data())
def test_only_conv_config_error_escapes(fn, fixed, data) -> None:
    """Out-of-range numbers, floats, None, strings, tuples of any length: a result or a ConvConfigError."""
    code = fn.__code__
    required = code.co_argcount - len(fn.__defaults__ or ())
    args = data.draw(
        st.lists(JUNK, min_size=max(0, required - len(fixed)), max_size=code.co_argcount - len(fixed))
    )
    outcome = cnnviz_outcome(fn, *fixed, *args)
    if outcome.raised:
        assert_readable(outcome.error)
