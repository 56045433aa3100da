"""`cnnviz.conv.counts` against PyTorch modules.

Parameters are counted on real `torch.nn` modules. MACs are recomputed from the shape of the output
PyTorch actually produces, and for convolutions also counted directly: with an all-ones kernel on an
all-ones input (padding that copies the input, so padding cells are ones too) every output cell is the
number of multiplications that made it, so the sum of the output is the number of multiply terms.
"""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from cnnviz.conv.counts import (
    conv_macs,
    conv_params,
    conv_transpose_macs,
    conv_transpose_params,
    dense_equivalent_params,
    linear_macs,
    linear_params,
    pool_ops,
)
from cnnviz.errors import ConvConfigError

SETTINGS = settings(deadline=None, max_examples=100, derandomize=True, database=None)


def n_params(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


@st.composite
def layer_configs(draw):
    ndim = draw(st.sampled_from([1, 2]))
    groups = draw(st.integers(1, 4))
    cin = groups * draw(st.integers(1, 3))
    cout = groups * draw(st.integers(1, 3))
    k = tuple(draw(st.integers(1, 4)) for _ in range(ndim))
    return ndim, groups, cin, cout, k, draw(st.booleans())


@SETTINGS
@given(cfg=layer_configs(), data=st.data())
def test_conv_params_and_macs_match_pytorch(cfg, data):
    ndim, groups, cin, cout, k, bias = cfg
    stride = tuple(data.draw(st.integers(1, 3)) for _ in range(ndim))
    dilation = tuple(data.draw(st.integers(1, 2)) for _ in range(ndim))
    padding = tuple(data.draw(st.integers(0, 2)) for _ in range(ndim))
    sizes = tuple(
        data.draw(st.integers(max(1, dd * (kk - 1) + 1 - 2 * p), 9))
        for kk, dd, p in zip(k, dilation, padding, strict=True)
    )
    batch = data.draw(st.integers(1, 3))
    cls = torch.nn.Conv1d if ndim == 1 else torch.nn.Conv2d
    mode = "replicate" if any(padding) else "zeros"
    module = cls(cin, cout, k, stride, padding, dilation, groups, bias, padding_mode=mode).double()
    kernel_arg = k if ndim == 2 else k[0]
    assert conv_params(cin, cout, kernel_arg, groups, bias) == n_params(module)

    with torch.no_grad():
        module.weight.fill_(1.0)
        if bias:
            module.bias.zero_()
        y = module(torch.ones((batch, cin, *sizes), dtype=torch.float64))
    out = tuple(y.shape[2:])
    macs = conv_macs(cin, cout, kernel_arg, out if ndim == 2 else out[0], groups, batch)
    assert macs == y.numel() * (cin // groups) * math.prod(k)
    assert macs == int(y.sum().item())  # one multiplication per term of every output cell


@SETTINGS
@given(cfg=layer_configs(), data=st.data())
def test_conv_transpose_params_and_macs_match_pytorch(cfg, data):
    ndim, groups, cin, cout, k, bias = cfg
    stride = tuple(data.draw(st.integers(1, 3)) for _ in range(ndim))
    sizes = tuple(data.draw(st.integers(1, 6)) for _ in range(ndim))
    batch = data.draw(st.integers(1, 3))
    cls = torch.nn.ConvTranspose1d if ndim == 1 else torch.nn.ConvTranspose2d
    module = cls(cin, cout, k, stride, groups=groups, bias=bias).double()
    kernel_arg = k if ndim == 2 else k[0]
    assert conv_transpose_params(cin, cout, kernel_arg, groups, bias) == n_params(module)

    # Every input cell is multiplied by the C_out/groups * prod(k) weights of its group.
    with torch.no_grad():
        module.weight.fill_(1.0)
        if bias:
            module.bias.zero_()
        y = module(torch.ones((batch, cin, *sizes), dtype=torch.float64))
    macs = conv_transpose_macs(cin, cout, kernel_arg, sizes if ndim == 2 else sizes[0], groups, batch)
    assert macs == batch * math.prod(sizes) * module.weight.numel()
    # With no padding nothing is cropped: the output sums every product once.
    assert macs == int(y.sum().item())
    # A transposed convolution is the adjoint of the convolution it undoes: same multiplications.
    assert macs == conv_macs(cout, cin, kernel_arg, sizes if ndim == 2 else sizes[0], groups, batch)


@SETTINGS
@given(fin=st.integers(1, 64), fout=st.integers(1, 64), bias=st.booleans(), batch=st.integers(1, 5))
def test_linear_params_and_macs_match_pytorch(fin, fout, bias, batch):
    module = torch.nn.Linear(fin, fout, bias=bias)
    assert linear_params(fin, fout, bias) == n_params(module)
    y = module(torch.zeros(batch, fin))
    assert linear_macs(fin, fout, batch) == y.numel() * fin


@SETTINGS
@given(ndim=st.sampled_from([1, 2]), data=st.data())
def test_pool_ops_count_every_window_cell(ndim, data):
    channels = data.draw(st.integers(1, 4))
    k = tuple(data.draw(st.integers(1, 3)) for _ in range(ndim))
    stride = tuple(data.draw(st.integers(1, 3)) for _ in range(ndim))
    sizes = tuple(data.draw(st.integers(kk, 9)) for kk in k)
    batch = data.draw(st.integers(1, 3))
    pool = torch.nn.AvgPool1d(k, stride) if ndim == 1 else torch.nn.AvgPool2d(k, stride)
    y = pool(torch.ones((batch, channels, *sizes)))
    out = tuple(y.shape[2:])
    ops = pool_ops(channels, k if ndim == 2 else k[0], out if ndim == 2 else out[0], batch)
    assert ops == y.numel() * math.prod(k)
    assert n_params(pool) == 0


@SETTINGS
@given(
    cin=st.integers(1, 3),
    cout=st.integers(1, 3),
    n=st.integers(3, 8),
    k=st.integers(1, 3),
    bias=st.booleans(),
)
def test_dense_equivalent_is_a_linear_layer_of_the_same_sizes(cin, cout, n, k, bias):
    conv = torch.nn.Conv2d(cin, cout, k, bias=bias)
    y = conv(torch.zeros(1, cin, n, n))
    dense = torch.nn.Linear(cin * n * n, y[0].numel(), bias=bias)
    assert dense_equivalent_params(cin, (n, n), cout, tuple(y.shape[2:]), bias) == n_params(dense)


def test_one_by_one_conv_is_a_dense_layer_over_channels():
    """Lecture 003: a 1x1 convolution has the parameters of Linear(c_i, c_o) applied at every pixel."""
    assert conv_params(64, 32, 1) == n_params(torch.nn.Linear(64, 32))
    assert conv_macs(64, 32, 1, (7, 7)) == 7 * 7 * linear_macs(64, 32)


def test_an_int_kernel_size_stands_for_every_axis_of_the_size():
    """As nn.Conv2d(kernel_size=3) is 3x3, conv_macs(.., 3, (H, W)) counts a 3x3 kernel."""
    module = torch.nn.Conv2d(3, 8, 3)
    y = module(torch.zeros(1, 3, 12, 14))
    assert conv_macs(3, 8, 3, tuple(y.shape[2:])) == conv_macs(3, 8, (3, 3), (10, 12)) == y.numel() * 3 * 9
    assert conv_macs(3, 8, (3, 2), 10) == conv_macs(3, 8, (3, 2), (10, 10))
    assert conv_transpose_macs(4, 2, 3, (5, 6)) == 4 * 30 * 2 * 9
    assert pool_ops(2, 2, (3, 4)) == 2 * 12 * 4
    assert conv_macs(3, 8, 3, 10) == 8 * 10 * 3 * 3  # both ints: one axis, as nn.Conv1d
    for call in (
        lambda: conv_macs(3, 8, (3, 3, 3), (10, 12)),
        lambda: pool_ops(1, (2, 2), (3, 3, 3)),
        lambda: conv_transpose_macs(1, 1, (2, 2), (1, 2, 3)),
    ):
        with pytest.raises(ConvConfigError) as info:
            call()
        assert info.value.argument in {"kernel_size", "output_size", "input_size"}


@pytest.mark.parametrize(
    ("cin", "cout", "groups"),
    [(3, 4, 2), (4, 3, 2), (4, 4, 3), (6, 4, 4), (2, 2, 0), (2, 2, -1)],
)
def test_invalid_groups_raise_where_pytorch_refuses(cin, cout, groups):
    with pytest.raises((ValueError, RuntimeError)):
        torch.nn.Conv2d(cin, cout, 3, groups=groups)
    for count in (conv_params, conv_transpose_params):
        with pytest.raises(ConvConfigError) as info:
            count(cin, cout, 3, groups)
        assert info.value.argument == "groups"
        message = str(info.value)
        assert str(groups) in message
    with pytest.raises(ConvConfigError):
        conv_macs(cin, cout, 3, 5, groups)
    with pytest.raises(ConvConfigError):
        conv_transpose_macs(cin, cout, 3, 5, groups)


def test_group_error_suggests_groups_that_work():
    with pytest.raises(ConvConfigError) as info:
        conv_params(6, 4, 3, groups=4)
    assert "[1, 2]" in str(info.value)
    for g in (1, 2):
        torch.nn.Conv2d(6, 4, 3, groups=g)  # the suggestions are accepted by PyTorch


@pytest.mark.parametrize(
    ("call", "argument"),
    [
        (lambda: conv_params(0, 4, 3), "in_channels"),
        (lambda: conv_params(2, 4, 0), "kernel_size"),
        (lambda: conv_params(2, 4, (3, -1)), "kernel_size"),
        (lambda: conv_params(2, 4, 2.5), "kernel_size"),
        (lambda: conv_params(2, 4, True), "kernel_size"),
        (lambda: conv_macs(2, 4, 3, (0, 5)), "output_size"),
        (lambda: conv_macs(2, 4, 3, 5, batch=0), "batch"),
        (lambda: linear_params(0, 3), "in_features"),
        (lambda: linear_macs(3, 0), "out_features"),
        (lambda: pool_ops(0, 2, 3), "channels"),
        (lambda: dense_equivalent_params(1, 0, 1, 1), "input_size"),
    ],
)
def test_impossible_sizes_raise(call, argument):
    with pytest.raises(ConvConfigError) as info:
        call()
    assert info.value.argument == argument
