"""`cnnviz.conv.matrix.conv_matrix` against PyTorch.

M must be *the* matrix of the convolution: equal to the Jacobian of PyTorch's convolution, so that
M @ x == conv(x) for every x. For zero padding its transpose must be PyTorch's transposed convolution
with output_padding a = (i + 2p - d(k-1) - 1) mod s (Dumoulin & Visin), the size the stride lost.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from cnnviz.conv.matrix import MAX_MATRIX_ENTRIES, conv_matrix
from cnnviz.errors import ConvConfigError

pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel:UserWarning")

MODES = ("zeros", "reflect", "replicate", "circular")
TORCH_PAD_MODE = {"zeros": "constant", "reflect": "reflect", "replicate": "replicate", "circular": "circular"}


@st.composite
def conv_configs(draw, modes=MODES, per_side: bool = True):
    """A convolution PyTorch accepts, with padding as an int, per axis, per side or 'same'."""
    ndim = draw(st.sampled_from([1, 2]))
    groups = draw(st.integers(1, 3))
    cin = groups * draw(st.integers(1, 2))
    cout = groups * draw(st.integers(1, 2))
    k = tuple(draw(st.integers(1, 3)) for _ in range(ndim))
    d = tuple(draw(st.integers(1, 2)) for _ in range(ndim))
    mode = draw(st.sampled_from(modes))
    kinds = ["int", "axes", "same"] + (["sides"] if per_side else [])
    kind = draw(st.sampled_from(kinds))
    stride = (1,) * ndim if kind == "same" else tuple(draw(st.integers(1, 3)) for _ in range(ndim))
    if kind == "int":
        p = draw(st.integers(0, 2))
        pads, padding = ((p, p),) * ndim, p
    elif kind == "axes":
        ps = tuple(draw(st.integers(0, 2)) for _ in range(ndim))
        pads, padding = tuple((p, p) for p in ps), ps
    elif kind == "sides":
        pads = tuple((draw(st.integers(0, 2)), draw(st.integers(0, 2))) for _ in range(ndim))
        padding = pads[0] if ndim == 1 else pads
    else:
        pads = tuple(
            (dd * (kk - 1) // 2, dd * (kk - 1) - dd * (kk - 1) // 2) for kk, dd in zip(k, d, strict=True)
        )
        padding = "same"
    sizes = []
    for kk, dd, (before, after) in zip(k, d, pads, strict=True):
        low = max(1, dd * (kk - 1) + 1 - before - after)
        if mode == "reflect":
            low = max(low, max(before, after) + 1)
        elif mode == "circular":
            low = max(low, max(before, after))
        sizes.append(draw(st.integers(low, low + 3)))
    return {
        "ndim": ndim,
        "groups": groups,
        "cin": cin,
        "cout": cout,
        "kernel": k,
        "dilation": d,
        "stride": stride,
        "mode": mode,
        "padding": padding,
        "pads": pads,
        "kind": kind,
        "sizes": tuple(sizes),
    }


def torch_conv(cfg, w: torch.Tensor):
    """x (C_in, *sizes) -> PyTorch's output: the module when torch spells the padding, else F.pad."""
    ndim = cfg["ndim"]
    if cfg["kind"] == "sides":
        flat = [v for pair in reversed(cfg["pads"]) for v in pair]
        conv = F.conv1d if ndim == 1 else F.conv2d

        def f(x):
            return conv(
                F.pad(x[None], flat, mode=TORCH_PAD_MODE[cfg["mode"]]),
                w,
                None,
                cfg["stride"],
                0,
                cfg["dilation"],
                cfg["groups"],
            )[0]

        return f
    cls = torch.nn.Conv1d if ndim == 1 else torch.nn.Conv2d
    module = cls(
        cfg["cin"],
        cfg["cout"],
        cfg["kernel"],
        stride=cfg["stride"],
        padding=cfg["padding"],
        dilation=cfg["dilation"],
        groups=cfg["groups"],
        bias=False,
        padding_mode=cfg["mode"],
    ).double()
    with torch.no_grad():
        module.weight.copy_(w)

    def g(x):
        return module(x[None])[0]

    return g


@settings(deadline=None, max_examples=150, derandomize=True, database=None)
@given(cfg=conv_configs(), seed=st.integers(0, 2**16))
def test_matrix_is_the_jacobian_of_pytorchs_convolution(cfg, seed):
    rng = np.random.default_rng(seed)
    w = rng.normal(size=(cfg["cout"], cfg["cin"] // cfg["groups"], *cfg["kernel"]))
    shape = (cfg["cin"], *cfg["sizes"])
    m = conv_matrix(shape, w, cfg["stride"], cfg["padding"], cfg["dilation"], cfg["groups"], cfg["mode"])
    f = torch_conv(cfg, torch.from_numpy(w))
    x = rng.normal(size=shape)
    y = f(torch.from_numpy(x)).detach().numpy()
    assert m.shape == (y.size, x.size)
    np.testing.assert_allclose(m @ x.ravel(), y.ravel(), rtol=1e-12, atol=1e-12)
    jac = torch.autograd.functional.jacobian(f, torch.zeros(shape, dtype=torch.float64), vectorize=True)
    np.testing.assert_allclose(m, jac.numpy().reshape(y.size, x.size), rtol=0, atol=1e-13)


@settings(deadline=None, max_examples=120, derandomize=True, database=None)
@given(cfg=conv_configs(modes=("zeros",), per_side=False), seed=st.integers(0, 2**16))
def test_transpose_is_pytorchs_transposed_convolution(cfg, seed):
    """M.T @ y == conv_transpose(y, same weight) with output_padding giving back the input size."""
    rng = np.random.default_rng(seed)
    ndim = cfg["ndim"]
    w = rng.normal(size=(cfg["cout"], cfg["cin"] // cfg["groups"], *cfg["kernel"]))
    shape = (cfg["cin"], *cfg["sizes"])
    m = conv_matrix(shape, w, cfg["stride"], cfg["padding"], cfg["dilation"], cfg["groups"])
    pads = tuple(before for before, _ in cfg["pads"])
    if cfg["kind"] == "same" and any(b != a for b, a in cfg["pads"]):
        return  # conv_transpose has no uneven padding; the symmetric cases cover the identity
    out = tuple(
        (i + 2 * p - d * (k - 1) - 1) // s + 1
        for i, p, d, k, s in zip(
            cfg["sizes"], pads, cfg["dilation"], cfg["kernel"], cfg["stride"], strict=True
        )
    )
    a = tuple(
        (i + 2 * p - d * (k - 1) - 1) % s
        for i, p, d, k, s in zip(
            cfg["sizes"], pads, cfg["dilation"], cfg["kernel"], cfg["stride"], strict=True
        )
    )
    y = rng.normal(size=(cfg["cout"], *out))
    transpose = F.conv_transpose1d if ndim == 1 else F.conv_transpose2d
    back = transpose(
        torch.from_numpy(y)[None],
        torch.from_numpy(w),
        None,
        cfg["stride"],
        pads,
        a,
        cfg["groups"],
        cfg["dilation"],
    )[0].numpy()
    assert back.shape == shape
    assert m.shape == (y.size, math.prod(shape))
    np.testing.assert_allclose(m.T @ y.ravel(), back.ravel(), rtol=1e-12, atol=1e-12)


def test_banded_matrix_of_a_kernel_3_convolution():
    """Six inputs, kernel (w1, w2, w3), zero padding 1: the band of lecture 001 with shared weights."""
    m = conv_matrix((1, 6), np.array([[[1.0, 2.0, 3.0]]]), padding=1)
    expected = np.array(
        [
            [2, 3, 0, 0, 0, 0],
            [1, 2, 3, 0, 0, 0],
            [0, 1, 2, 3, 0, 0],
            [0, 0, 1, 2, 3, 0],
            [0, 0, 0, 1, 2, 3],
            [0, 0, 0, 0, 1, 2],
        ],
        dtype=float,
    )
    np.testing.assert_array_equal(m, expected)


def test_circular_padding_wraps_the_band():
    m = conv_matrix((1, 4), np.array([[[1.0, 2.0, 3.0]]]), padding=1, padding_mode="circular")
    np.testing.assert_array_equal(m[0], [2, 3, 0, 1])
    np.testing.assert_array_equal(m[-1], [3, 0, 1, 2])


def test_reflect_padding_adds_mirrored_weights_onto_one_column():
    # Padded row x1 | x0 x1 x2 | x1: output 0 reads x1 twice, with weights 1 and 3.
    m = conv_matrix((1, 3), np.array([[[1.0, 2.0, 3.0]]]), padding=1, padding_mode="reflect")
    np.testing.assert_array_equal(m, [[2, 4, 0], [1, 2, 3], [0, 4, 2]])


def test_groups_give_a_block_diagonal_matrix():
    w = np.ones((4, 1, 1))
    m = conv_matrix((2, 3), w, groups=2)
    block = np.vstack([np.eye(3), np.eye(3)])
    expected = np.zeros((12, 6))
    expected[:6, :3] = block
    expected[6:, 3:] = block
    np.testing.assert_array_equal(m, expected)


def test_oversized_input_raises_before_allocating():
    with pytest.raises(ConvConfigError) as info:
        conv_matrix((1, 64, 64), np.ones((1, 1, 1, 1)))  # 4096 x 4096 entries
    assert info.value.argument == "input_shape"
    assert f"{MAX_MATRIX_ENTRIES:,}" in str(info.value)
    side = int(math.isqrt(MAX_MATRIX_ENTRIES))  # n_in * n_out == side**2 <= the limit for side x 1
    conv_matrix((1, side), np.ones((1, 1, 1)))  # at the limit: allowed


@pytest.mark.parametrize(
    ("shape", "weight", "kwargs", "argument"),
    [
        ((1, 5, 5), np.ones((1, 1, 3)), {}, "input_shape"),
        ((5,), np.ones((1, 1, 3)), {}, "input_shape"),
        ((1, 5), np.ones((1, 1, 1, 1, 3)), {}, "input_shape"),
        ((3, 5), np.ones((2, 1, 3)), {"groups": 2}, "in_channels"),
        ((1, 2), np.ones((1, 1, 3)), {}, "kernel_size"),
        ((1, 5), np.ones((1, 1, 3)), {"padding": 5, "padding_mode": "reflect"}, "padding"),
        ((1, 5), np.ones((1, 1, 3)), {"padding": "same", "stride": 2}, "padding"),
    ],
)
def test_impossible_configurations_raise(shape, weight, kwargs, argument):
    with pytest.raises(ConvConfigError) as info:
        conv_matrix(shape, weight, **kwargs)
    assert info.value.argument == argument
