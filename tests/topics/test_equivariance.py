"""Translation equivariance: conv(shift(x)) against shift(conv(x)), both sides checked with PyTorch."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from cnnviz.errors import ConvConfigError
from cnnviz.topics.equivariance import equivariance_check, shift2d


def _torch_shift(x: torch.Tensor, dy: int, dx: int, fill: str) -> torch.Tensor:
    """Shift the last two axes: torch.roll, or pad with zeros on one side and crop the other."""
    if fill == "circular":
        return torch.roll(x, (dy, dx), dims=(-2, -1))
    h, w = x.shape[-2:]
    padded = F.pad(x, (max(dx, 0), max(-dx, 0), max(dy, 0), max(-dy, 0)))
    top, left = max(-dy, 0), max(-dx, 0)
    return padded[..., top : top + h, left : left + w]


def _torch_conv(x: torch.Tensor, k: np.ndarray, bias: float, stride, padding, dilation, mode: str):
    conv = torch.nn.Conv2d(
        1,
        1,
        k.shape,
        stride=stride,
        padding=padding,
        dilation=dilation,
        padding_mode=mode,
        dtype=torch.float64,
    )
    with torch.no_grad():
        conv.weight.copy_(torch.tensor(k)[None, None])
        conv.bias.fill_(bias)
        return conv(x[None, None])[0, 0]


@st.composite
def configs(draw: st.DrawFn) -> dict:
    h, w = draw(st.integers(3, 10)), draw(st.integers(3, 10))
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    mode = draw(st.sampled_from(["zeros", "reflect", "replicate", "circular"]))
    # reflect needs padding below the size; every mode here needs the padded input to hold the kernel
    padding = (draw(st.integers(0, min(2, h - 1))), draw(st.integers(0, min(2, w - 1))))
    for n, k, d, p in zip((h, w), (kh, kw), dilation, padding, strict=True):
        if n + 2 * p < d * (k - 1) + 1:
            padding = (0, 0)
            dilation = (1, 1)
            break
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    return {
        "x": rng.integers(-5, 6, (h, w)).astype(float),
        "k": rng.integers(-3, 4, (kh, kw)).astype(float),
        "bias": float(draw(st.integers(-2, 2))),
        "stride": stride,
        "padding": padding,
        "dilation": dilation,
        "mode": mode,
        "shift": (draw(st.integers(-h + 1, h - 1)), draw(st.integers(-w + 1, w - 1))),
        "fill": draw(st.sampled_from(["zeros", "circular"])),
    }


@given(
    st.integers(1, 8),
    st.integers(1, 8),
    st.integers(-9, 9),
    st.integers(-9, 9),
    st.sampled_from(["zeros", "circular"]),
)
@settings(max_examples=200, deadline=None, derandomize=True)
def test_shift_matches_torch_roll_and_zero_shift(h: int, w: int, dy: int, dx: int, fill: str) -> None:
    x = np.arange(h * w, dtype=float).reshape(h, w) + 1
    expected = _torch_shift(torch.tensor(x), dy, dx, fill).numpy()
    np.testing.assert_array_equal(shift2d(x, dy, dx, fill), expected)


@given(configs())
@settings(max_examples=250, deadline=None, derandomize=True)
def test_both_sides_match_torch(c: dict) -> None:
    x = torch.tensor(c["x"])
    dy, dx = c["shift"]
    try:
        check = equivariance_check(
            c["x"],
            c["k"],
            c["bias"],
            c["stride"],
            c["padding"],
            c["dilation"],
            c["mode"],
            c["shift"],
            c["fill"],
        )
    except ConvConfigError:
        # cnnviz refuses only what PyTorch refuses too
        with pytest.raises((RuntimeError, ValueError)):
            _torch_conv(x, c["k"], c["bias"], c["stride"], c["padding"], c["dilation"], c["mode"])
        return
    conv_of_shift = _torch_conv(
        _torch_shift(x, dy, dx, c["fill"]),
        c["k"],
        c["bias"],
        c["stride"],
        c["padding"],
        c["dilation"],
        c["mode"],
    )
    sy, sx = c["stride"]
    plain = _torch_conv(x, c["k"], c["bias"], c["stride"], c["padding"], c["dilation"], c["mode"])
    shift_of_conv = _torch_shift(plain, dy // sy, dx // sx, c["fill"])
    np.testing.assert_allclose(check.conv_of_shift, conv_of_shift.numpy(), atol=1e-9)
    np.testing.assert_allclose(check.shift_of_conv, shift_of_conv.numpy(), atol=1e-9)
    np.testing.assert_array_equal(
        check.differs, ~torch.isclose(conv_of_shift, shift_of_conv, atol=1e-9).numpy()
    )
    assert check.stride_divides == (dy % sy == 0 and dx % sx == 0)


@given(
    st.integers(3, 9), st.sampled_from([1, 3, 5]), st.integers(1, 2), st.integers(-8, 8), st.integers(-8, 8)
)
@settings(max_examples=150, deadline=None, derandomize=True)
def test_circular_shift_with_circular_padding_commutes_everywhere(
    n: int, k: int, d: int, dy: int, dx: int
) -> None:
    rng = np.random.default_rng(n * 100 + k)
    x, kernel = rng.normal(size=(n, n + 1)), rng.normal(size=(k, k))
    p = d * (k - 1) // 2  # 'same' size: the output grid is the input grid, so both wrap alike
    if p > n - 1:
        return
    check = equivariance_check(x, kernel, 0.3, 1, p, d, "circular", (dy, dx), "circular")
    assert check.n_differ == 0


@given(st.integers(4, 10), st.integers(1, 3), st.integers(0, 3), st.integers(0, 3))
@settings(max_examples=150, deadline=None, derandomize=True)
def test_zero_shift_differs_only_in_the_band_the_shift_emptied(n: int, s: int, ty: int, tx: int) -> None:
    # No padding, a shift by whole strides: output cells past the emptied band read exactly the values
    # their unshifted counterparts read.
    rng = np.random.default_rng(n + 10 * s)
    x, kernel = rng.normal(size=(n, n)), rng.normal(size=(2, 3))
    dy, dx = ty * s, tx * s
    if dy >= n or dx >= n or n < 3:
        return
    check = equivariance_check(x, kernel, 0.0, s, 0, 1, "zeros", (dy, dx), "zeros")
    assert check.stride_divides and check.output_shift == (ty, tx)
    assert not check.differs[ty:, tx:].any()


def test_a_shift_the_stride_does_not_divide_breaks_equivariance() -> None:
    x = np.zeros((6, 6))
    x[2, 2] = 1.0  # an impulse on the stride-2 grid
    check = equivariance_check(x, np.ones((1, 1)), 0.0, 2, 0, 1, "zeros", (1, 0), "zeros")
    assert not check.stride_divides
    assert check.conv_of_shift.sum() == 0.0  # the shifted impulse falls between the sampled rows
    assert check.shift_of_conv.sum() == 1.0
    assert check.n_differ == 1


def test_unknown_fill_is_a_clear_message() -> None:
    with pytest.raises(ConvConfigError, match="shift fill must be one of zeros, circular"):
        shift2d(np.ones((3, 3)), 1, 1, "reflect")
