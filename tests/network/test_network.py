"""Layer specs and summaries against PyTorch: shapes, parameters, MACs, export and import.

The oracle is PyTorch itself: each spec's arguments go straight into the torch.nn class of the same
name, the stack runs on zeros layer by layer, and every shape, parameter count and failure is compared.
"""

from __future__ import annotations

import inspect
import json
import math
import warnings
from dataclasses import MISSING, fields

import hypothesis.strategies as st
import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from torch import nn

from cnnviz.conv.args import PADDING_MODES, expand
from cnnviz.conv.counts import conv_macs, conv_transpose_macs, linear_macs
from cnnviz.errors import ConvConfigError
from cnnviz.network import (
    ELU,
    GELU,
    LAYER_TYPES,
    MERGE_TYPES,
    AdaptiveAvgPool1d,
    AdaptiveAvgPool2d,
    AdaptiveMaxPool1d,
    AdaptiveMaxPool2d,
    AvgPool1d,
    AvgPool2d,
    BatchNorm1d,
    BatchNorm2d,
    Conv1d,
    Conv2d,
    ConvTranspose1d,
    ConvTranspose2d,
    Dropout,
    Dropout1d,
    Dropout2d,
    Flatten,
    GroupNorm,
    Hardswish,
    Identity,
    LayerNorm,
    LeakyReLU,
    Linear,
    LocalResponseNorm,
    LogSoftmax,
    MaxPool1d,
    MaxPool2d,
    Network,
    PixelShuffle,
    PReLU,
    ReLU,
    ReLU6,
    Sigmoid,
    SiLU,
    Softmax,
    Softplus,
    Summary,
    Tanh,
    Unflatten,
    Upsample,
    ZeroPad1d,
    ZeroPad2d,
    apply_all_fixes,
    from_json,
    from_module,
    from_pytorch_code,
    layer_from_dict,
    layer_to_dict,
    summarize,
    summary,
    to_json,
    to_pytorch_code,
    to_torch,
)

RANDOM = settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
TORCH_ERRORS = (RuntimeError, ValueError, IndexError, TypeError, AttributeError)

# --------------------------------------------------------------------------------------------------
# The PyTorch oracle and random stacks (shared with the other network test files)
# --------------------------------------------------------------------------------------------------


def torch_module(layer) -> nn.Module:
    """The torch.nn module built straight from the spec's arguments (no cnnviz checks on the way)."""
    return getattr(nn, layer.kind)(**layer.arguments())


def torch_trace(layers, input_size, batch: int = 1):
    """Run in PyTorch on zeros, layer by layer: (modules, inputs, outputs, failing layer's index or None)."""
    x = torch.zeros(batch, *input_size)
    modules, inputs, outputs = [], [], []
    for i, layer in enumerate(layers):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                module = torch_module(layer).eval()
                with torch.no_grad():
                    y = module(x)
        except TORCH_ERRORS:
            return modules, inputs, outputs, i
        if isinstance(y, torch.Tensor) and 0 in y.shape:  # an empty output counts as a failure (size < 1)
            return modules, inputs, outputs, i
        modules.append(module)
        inputs.append(x)
        outputs.append(y)
        x = y
    return modules, inputs, outputs, None


def closed_form_macs(module: nn.Module, x: torch.Tensor, y: torch.Tensor) -> int:
    """MACs from the module's attributes and PyTorch's own shapes, via cnnviz.conv.counts."""
    n = x.shape[0]
    if isinstance(module, (nn.Conv1d, nn.Conv2d)):
        return conv_macs(
            module.in_channels, module.out_channels, module.kernel_size, tuple(y.shape[2:]), module.groups, n
        )
    if isinstance(module, (nn.ConvTranspose1d, nn.ConvTranspose2d)):
        return conv_transpose_macs(
            module.in_channels, module.out_channels, module.kernel_size, tuple(x.shape[2:]), module.groups, n
        )
    if isinstance(module, nn.Linear):
        return linear_macs(module.in_features, module.out_features, math.prod(x.shape[:-1]))
    if isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)):
        return y.numel()
    return 0


def torchinfo_mult_adds(module: nn.Module, y: torch.Tensor) -> int:
    """torchinfo's rule: each weight/bias element per sample and output position (convs), per position
    it is applied at (Linear: every axis but the last), else per sample."""
    params = sum(p.numel() for p in module.parameters())
    if "Conv" in type(module).__name__:
        return params * y.shape[0] * math.prod(y.shape[2:])
    if "Linear" in type(module).__name__:
        return params * math.prod(y.shape[:-1])
    return params * y.shape[0]


ACTIVATIONS = (ReLU(), Tanh(), Sigmoid(), LeakyReLU(0.2), GELU(), GELU("tanh"), Dropout(0.3))


def per_axis(draw, ndim: int, low: int, high: int):
    """An int, or in 2D sometimes an (h, w) pair."""
    if ndim == 2 and draw(st.booleans()):
        return (draw(st.integers(low, high)), draw(st.integers(low, high)))
    return draw(st.integers(low, high))


@st.composite
def map_layer(draw, shape, kinds):
    """A random layer for maps `shape` = (C, L) or (C, H, W); channel arguments are usually right."""
    ndim, c = len(shape) - 1, shape[0]
    careless = draw(st.integers(0, 7)) == 0  # now and then an argument that may not fit
    channels = draw(st.integers(1, 5)) if careless else c
    kind = draw(st.sampled_from(kinds))
    pick = {1: 0, 2: 1}[ndim]
    if kind in ("conv", "convT"):
        groups = draw(st.sampled_from([g for g in (1, 2, 3) if channels % g == 0]))
        out = groups * draw(st.integers(1, 3))
        kernel, dilation = per_axis(draw, ndim, 1, 4), per_axis(draw, ndim, 1, 2)
        if kind == "conv":
            padding = draw(st.one_of(st.just(None), st.sampled_from(["same", "valid"])))
            padding = per_axis(draw, ndim, 0, 2) if padding is None else padding
            stride = 1 if padding == "same" and draw(st.integers(0, 4)) else per_axis(draw, ndim, 1, 3)
            cls = (Conv1d, Conv2d)[pick]
            return cls(
                channels,
                out,
                kernel,
                stride=stride,
                padding=padding,
                dilation=dilation,
                groups=groups,
                bias=draw(st.booleans()),
                padding_mode=draw(st.sampled_from(PADDING_MODES)),
            )
        cls = (ConvTranspose1d, ConvTranspose2d)[pick]
        stride = draw(st.integers(1, 3))
        limit = 2 if careless else max(stride, max(expand(dilation, ndim, "dilation"))) - 1
        return cls(
            channels,
            out,
            kernel,
            stride=stride,
            padding=per_axis(draw, ndim, 0, 2),
            output_padding=draw(st.integers(0, limit)),
            groups=groups,
            bias=draw(st.booleans()),
            dilation=dilation,
        )
    if kind in ("maxpool", "avgpool"):
        kernel = draw(st.integers(1, 3))
        padding = draw(st.integers(0, 2 if careless else kernel // 2))
        stride = draw(st.one_of(st.none(), st.integers(1, 3)))
        if kind == "maxpool":
            return (MaxPool1d, MaxPool2d)[pick](
                kernel,
                stride=stride,
                padding=padding,
                dilation=per_axis(draw, ndim, 1, 2),
                ceil_mode=draw(st.booleans()),
            )
        extra = {"divisor_override": draw(st.sampled_from([None, 3]))} if ndim == 2 else {}
        return (AvgPool1d, AvgPool2d)[pick](
            kernel,
            stride=stride,
            padding=padding,
            ceil_mode=draw(st.booleans()),
            count_include_pad=draw(st.booleans()),
            **extra,
        )
    if kind == "adaptive":
        if ndim == 2 and draw(st.booleans()):
            return AdaptiveAvgPool2d((draw(st.one_of(st.none(), st.integers(1, 4))), draw(st.integers(1, 4))))
        return (AdaptiveAvgPool1d, AdaptiveAvgPool2d)[pick](draw(st.integers(1, 4)))
    if kind == "adaptivemax":
        if ndim == 2 and draw(st.booleans()):
            return AdaptiveMaxPool2d((draw(st.integers(1, 4)), draw(st.one_of(st.none(), st.integers(1, 4)))))
        return (AdaptiveMaxPool1d, AdaptiveMaxPool2d)[pick](draw(st.integers(1, 4)))
    if kind == "bn":
        return (BatchNorm1d, BatchNorm2d)[pick](
            channels, affine=draw(st.booleans()), bias=draw(st.booleans())
        )
    if kind == "flatten":
        return Flatten(2) if ndim == 2 and draw(st.booleans()) else Flatten()
    if kind == "linear":
        return Linear(draw(st.integers(1, 6)) if careless else shape[-1], draw(st.integers(1, 5)))
    return draw(st.sampled_from(ACTIVATIONS))


@st.composite
def flat_layer(draw, shape):
    features = draw(st.integers(1, 30)) if draw(st.integers(0, 7)) == 0 else shape[0]
    kind = draw(st.sampled_from(["linear", "linear", "act", "bn"]))
    if kind == "linear":
        return Linear(features, draw(st.integers(1, 12)), bias=draw(st.booleans()))
    if kind == "bn":
        return BatchNorm1d(features)
    return draw(st.sampled_from(ACTIVATIONS))


MAP_KINDS = (
    "conv",
    "conv",
    "convT",
    "maxpool",
    "avgpool",
    "adaptive",
    "adaptivemax",
    "bn",
    "act",
    "flatten",
    "linear",
)


@st.composite
def stacks(draw, kinds=MAP_KINDS, max_layers: int = 6, stop_at_error: bool = True):
    """(layers, input_size): a random stack that follows cnnviz's shapes, so it usually runs."""
    ndim = draw(st.sampled_from([1, 2]))
    input_size = (draw(st.integers(1, 4)), *(draw(st.integers(1, 12)) for _ in range(ndim)))
    shape, layers = input_size, []
    for _ in range(draw(st.integers(2, max_layers))):
        layers.append(draw(flat_layer(shape) if len(shape) == 1 else map_layer(shape, kinds)))
        row = summarize(layers, input_size).rows[-1]
        if row.status != "ok":
            if stop_at_error:
                break
            layers.pop()
            continue
        shape = row.output_shape[1:]
    return layers, input_size


# --------------------------------------------------------------------------------------------------
# Specs mirror torch.nn
# --------------------------------------------------------------------------------------------------


TORCH_TYPES = sorted(name for name in LAYER_TYPES if name not in MERGE_TYPES)


@pytest.mark.parametrize("name", TORCH_TYPES)
def test_spec_names_order_and_defaults_are_pytorchs(name: str) -> None:
    spec = LAYER_TYPES[name]
    params = [
        p
        for p in inspect.signature(getattr(nn, name)).parameters.values()
        if p.name not in ("self", "device", "dtype")
        and p.kind not in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    ]
    assert [f.name for f in fields(spec)] == [p.name for p in params]
    for f, p in zip(fields(spec), params, strict=True):
        expected = MISSING if p.default is inspect.Parameter.empty else p.default
        assert f.default == expected, (name, f.name)
        assert f.kw_only == (p.kind is inspect.Parameter.KEYWORD_ONLY), (name, f.name)


def test_specs_are_frozen_hashable_and_normalise_per_axis_values() -> None:
    a, b = Conv2d(3, 16, (3, 3), padding=[1, 1]), Conv2d(3, 16, 3, padding=1)
    assert a == b and hash(a) == hash(b)
    assert Conv2d(3, 16, (3, 5)).kernel_size == (3, 5)
    assert Conv2d(3, 16, 3) != Conv1d(3, 16, 3)
    with pytest.raises(AttributeError):
        a.in_channels = 4  # type: ignore[misc]
    assert Conv2d(3, 16, 3).code() == "nn.Conv2d(3, 16, kernel_size=3)"
    assert MaxPool2d(2).code() == "nn.MaxPool2d(2)"
    assert Linear(240, 60, bias=False).code("torch.nn.") == "torch.nn.Linear(240, 60, bias=False)"


@pytest.mark.parametrize("name", TORCH_TYPES)
def test_to_torch_builds_the_same_class(name: str) -> None:
    examples = {
        "Conv1d": Conv1d(2, 4, 3),
        "Conv2d": Conv2d(2, 4, 3),
        "ConvTranspose1d": ConvTranspose1d(2, 4, 3),
        "ConvTranspose2d": ConvTranspose2d(2, 4, 3),
        "MaxPool1d": MaxPool1d(2),
        "MaxPool2d": MaxPool2d(2),
        "AvgPool1d": AvgPool1d(2),
        "AvgPool2d": AvgPool2d(2),
        "AdaptiveAvgPool1d": AdaptiveAvgPool1d(3),
        "AdaptiveAvgPool2d": AdaptiveAvgPool2d(3),
        "AdaptiveMaxPool1d": AdaptiveMaxPool1d(3),
        "AdaptiveMaxPool2d": AdaptiveMaxPool2d(3),
        "BatchNorm1d": BatchNorm1d(4),
        "BatchNorm2d": BatchNorm2d(4),
        "ReLU": ReLU(),
        "Tanh": Tanh(),
        "Sigmoid": Sigmoid(),
        "LeakyReLU": LeakyReLU(),
        "GELU": GELU(),
        "Dropout": Dropout(),
        "Flatten": Flatten(),
        "Linear": Linear(4, 2),
        "Softmax": Softmax(dim=1),
        "LogSoftmax": LogSoftmax(dim=-1),
        "Dropout1d": Dropout1d(0.2),
        "Dropout2d": Dropout2d(),
        "Identity": Identity(),
        "ELU": ELU(0.5),
        "SiLU": SiLU(),
        "ReLU6": ReLU6(inplace=True),
        "Hardswish": Hardswish(),
        "PReLU": PReLU(4),
        "Softplus": Softplus(beta=2.0),
        "LayerNorm": LayerNorm((4, 5), bias=False),
        "GroupNorm": GroupNorm(2, 4),
        "LocalResponseNorm": LocalResponseNorm(5, k=2.0),
        "ZeroPad1d": ZeroPad1d((1, 2)),
        "ZeroPad2d": ZeroPad2d((0, 1, 0, 1)),
        "Upsample": Upsample(scale_factor=2.0, mode="bilinear", align_corners=False),
        "PixelShuffle": PixelShuffle(2),
        "Unflatten": Unflatten(1, (4, 5)),
    }
    module = to_torch([examples[name]])[0]
    assert type(module) is getattr(nn, name)
    assert from_module(module) == [examples[name]]


@settings(max_examples=80, deadline=None, derandomize=True, database=None)
@given(ndim=st.sampled_from([1, 2]), data=st.data())
def test_adaptive_max_pool_is_the_largest_value_of_each_window_torch_reads(ndim: int, data) -> None:
    """AdaptiveMaxPool1d/2d: PyTorch's output shape, and each output the largest input cell of the window
    the spec says it reads (the same windows as AdaptiveAvgPool's)."""
    spatial = tuple(data.draw(st.integers(1, 9)) for _ in range(ndim))
    channels = data.draw(st.integers(1, 3))
    size = data.draw(st.integers(1, 6))
    if ndim == 2 and data.draw(st.booleans()):  # one size per axis, None keeping that axis
        size = (size, data.draw(st.one_of(st.none(), st.integers(1, 6))))
    spec = (AdaptiveMaxPool1d, AdaptiveMaxPool2d)[ndim - 1](size)
    twin = (AdaptiveAvgPool1d, AdaptiveAvgPool2d)[ndim - 1](spec.output_size)
    in_shape = (channels, *spatial)
    x = torch.randn(1, *in_shape, generator=torch.Generator().manual_seed(data.draw(st.integers(0, 999))))
    y = spec.to_torch()(x)[0]
    out_shape = spec.output_shape(in_shape)
    assert out_shape == tuple(y.shape) == twin.output_shape(in_shape)
    for position in np.ndindex(*out_shape[1:]):
        mask = np.zeros((1, *out_shape[1:]), dtype=bool)
        mask[(0, *position)] = True
        window = spec.back_project(mask, in_shape, out_shape)[0]
        assert np.array_equal(window, twin.back_project(mask, in_shape, out_shape)[0])
        for c in range(channels):
            assert float(x[0, c].numpy()[window].max()) == float(y[(c, *position)])
    assert summarize([spec], in_shape).total_params == 0


def test_adaptive_max_pool_refuses_return_indices_and_offers_the_default() -> None:
    layer = AdaptiveMaxPool2d(2, return_indices=True)
    row = summarize([layer], (3, 8, 8)).rows[0]
    assert row.status != "ok" and "return_indices" in row.error
    assert row.fix is not None and row.fix.layers == (AdaptiveMaxPool2d(2),)
    assert summarize([AdaptiveMaxPool1d(4)], (3, 8, 8)).rows[0].fix.layers == (AdaptiveMaxPool2d(4),)


# --------------------------------------------------------------------------------------------------
# Summaries against PyTorch
# --------------------------------------------------------------------------------------------------


@RANDOM
@given(stacks(), st.integers(1, 3))
def test_random_stacks_match_pytorch(stack, batch: int) -> None:
    layers, input_size = stack
    result = summarize(layers, input_size, batch_size=batch)
    modules, inputs, outputs, failed = torch_trace(layers, input_size, batch)
    error = result.first_error
    # cnnviz refuses exactly the layer PyTorch refuses
    assert (error.index if error else None) == failed, error.error if error else None
    for row, module, x, y in zip(result.rows, modules, inputs, outputs, strict=False):
        assert row.status == "ok"
        assert row.input_shape == tuple(x.shape)
        assert row.output_shape == tuple(y.shape)
        assert row.params == sum(p.numel() for p in module.parameters())
        assert row.macs == closed_form_macs(module, x, y)
        assert row.mult_adds == torchinfo_mult_adds(module, y)
        assert row.activation_bytes == 4 * y.numel()
    if error is not None:
        assert error.status == "error" and error.error and error.argument
        assert all(r.status == "not computed" for r in result.rows[error.index + 1 :])
    assert result.total_params == sum(r.params or 0 for r in result.rows)


def test_summary_totals_and_torchinfo_footer() -> None:
    layers = [
        Conv2d(3, 8, 3, padding=1),
        BatchNorm2d(8),
        ReLU(),
        MaxPool2d(2),
        Flatten(),
        Linear(8 * 4 * 4, 10),
    ]
    result = summarize(layers, (3, 8, 8), batch_size=2)
    model = to_torch(layers)
    assert result.ok and result.output_shape == (2, 10)
    assert result.total_params == sum(p.numel() for p in model.parameters()) == 224 + 16 + 1290
    assert result.trainable_params == result.total_params and result.non_trainable_params == 0
    assert result.input_bytes == 4 * 2 * 3 * 8 * 8
    assert result.forward_backward_bytes == 2 * 4 * 2 * (8 * 8 * 8 + 8 * 8 * 8 + 10)
    assert result.total_bytes == result.input_bytes + result.forward_backward_bytes + result.params_bytes
    text = str(result)
    for line in (
        "Total params: 1,530",
        "Trainable params: 1,530",
        "Non-trainable params: 0",
        "├─Conv2d: 1-1",
        "[2, 8, 8, 8]",
        "├─Linear: 1-6",
    ):
        assert line in text
    records = result.to_records()
    assert [r["layer"] for r in records][:2] == ["Conv2d: 1-1", "BatchNorm2d: 1-2"]
    assert records[-1]["output_shape"] == (2, 10) and records[-1]["params"] == 1290
    json.dumps(records)  # plain data


def test_summary_of_an_empty_stack_is_its_input() -> None:
    result = summarize([], (3, 4, 4), batch_size=5)
    assert result.ok and result.rows == () and result.output_shape == (5, 3, 4, 4)


def test_summary_accepts_modules_networks_and_lists() -> None:
    layers = [Conv1d(1, 4, 3), ReLU(), Flatten(), Linear(4 * 8, 2)]
    model = nn.Sequential(nn.Conv1d(1, 4, 3), nn.ReLU(), nn.Sequential(nn.Flatten(), nn.Linear(32, 2)))
    a = summary(model, (1, 10), batch_size=3)
    b = summary(Network(tuple(layers), (1, 10), batch_size=3))
    c = summary(layers, [1, 10], batch_size=3)
    assert isinstance(a, Summary)
    assert (
        [r.output_shape for r in a.rows]
        == [r.output_shape for r in b.rows]
        == [r.output_shape for r in c.rows]
    )
    assert a.output_shape == (3, 2) and a.total_params == sum(p.numel() for p in model.parameters())
    with pytest.raises(ConvConfigError, match="input_size"):
        summary(layers)


def test_from_module_reads_sequentials_and_points_a_class_to_summary() -> None:
    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.net = nn.Sequential(nn.Linear(2, 2))

    with pytest.raises(ConvConfigError, match=r"cnnviz\.summary") as info:
        from_module(Net())
    assert info.value.argument == "model"
    assert from_module(nn.Sequential(nn.Linear(2, 2), nn.Softmax(dim=1))) == [Linear(2, 2), Softmax(dim=1)]


@settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(stacks(stop_at_error=False))
def test_module_json_and_code_round_trips(stack) -> None:
    layers, input_size = stack
    model = to_torch(layers)
    assert repr(to_torch(from_module(model))) == repr(model)
    network = Network(tuple(layers), input_size, batch_size=2)
    assert from_json(to_json(network)) == network
    assert [layer_from_dict(json.loads(json.dumps(layer_to_dict(x)))) for x in layers] == layers
    code = to_pytorch_code(layers, input_size, batch_size=2)
    assert from_pytorch_code(code) == layers
    namespace: dict[str, object] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        exec(
            compile(code, "<generated>", "exec"), namespace
        )  # the generated snippet runs and its assert holds
    assert (
        namespace["model"](torch.zeros(2, *input_size)).shape == summarize(layers, input_size, 2).output_shape
    )


def test_generated_code_comments_each_shape() -> None:
    code = to_pytorch_code(
        [Conv2d(3, 15, 3, stride=2, padding=1), ReLU(), Flatten(), Linear(3840, 10)], (3, 32, 32)
    )
    assert "nn.Conv2d(3, 15, kernel_size=3, stride=2, padding=1),  # -> (1, 15, 16, 16)" in code
    assert "nn.Flatten(),  # -> (1, 3840)" in code
    assert "assert tuple(model(x).shape) == (1, 10)" in code
    broken = to_pytorch_code([Flatten(), Linear(5, 2), ReLU()], (3, 4, 4))
    assert "# ERROR: Linear expects in_features=5" in broken and "assert" not in broken
    assert "nn.ReLU(),  # not computed" in broken


LECTURE_CONVNET = '''
class ConvNet(torch.nn.Module):
    """A mostly faithful recreation of LeNet 5."""
    def __init__(self, nonlinearity = torch.nn.ReLU, classes=10):
        super(ConvNet, self).__init__()
        self.net = torch.nn.Sequential(
            # Basic ConvNet as in the 20xx years
            torch.nn.Conv2d(in_channels=3, out_channels=15, kernel_size=(3,3), padding=1, stride=2),
            torch.nn.ReLU(),
            torch.nn.Conv2d(in_channels=15, out_channels=30, kernel_size=(3,3), padding=1, stride=2),
            torch.nn.ReLU(),
            torch.nn.Conv2d(in_channels=30, out_channels=60, kernel_size=(3,3), padding=1, stride=2),
            torch.nn.ReLU(),
            torch.nn.Flatten(),
            torch.nn.Linear(4*240, 60),
            torch.nn.Linear(60, 10),
        )
'''


def test_from_pytorch_code_reads_the_usual_forms() -> None:
    wide = from_pytorch_code(LECTURE_CONVNET)
    assert wide[0] == Conv2d(3, 15, 3, stride=2, padding=1) and wide[-2] == Linear(960, 60)
    assert summarize(wide, (3, 32, 32)).total_params == 79_030
    assert from_pytorch_code("nn.Conv2d(3, 15, kernel_size=3, padding=1, stride=2)") == [
        Conv2d(3, 15, 3, stride=2, padding=1)
    ]
    assert from_pytorch_code("nn.Conv2d(3, 15, 3, 2, 1)") == [Conv2d(3, 15, 3, stride=2, padding=1)]
    pasted = "nn.Conv2d(3, 16, 3),\n    nn.ReLU(),\n    nn.MaxPool2d(2, stride=2),\n"
    assert from_pytorch_code(pasted) == [Conv2d(3, 16, 3), ReLU(), MaxPool2d(2, stride=2)]
    lines = "Conv1d(1, 15, 3, stride=2)\ntorch.nn.ReLU(inplace=True)\nnn.Linear(60, 10, device=None)"
    assert from_pytorch_code(lines) == [Conv1d(1, 15, 3, stride=2), ReLU(inplace=True), Linear(60, 10)]
    assert from_pytorch_code("nn.Sequential(nn.Sequential(nn.Flatten()), nn.Dropout(p=-(-0.25)))") == [
        Flatten(),
        Dropout(0.25),
    ]


def test_from_pytorch_code_never_runs_the_text(tmp_path) -> None:
    target = tmp_path / "touched"
    text = f"nn.Sequential(nn.Linear(2, 2))\nopen({str(target)!r}, 'w').write('x')"
    assert from_pytorch_code(text) == [Linear(2, 2)]
    assert not target.exists()
    with pytest.raises(ConvConfigError, match="line 1"):
        from_pytorch_code(f"nn.Linear(len(open({str(target)!r}, 'w').name), 2)")
    assert not target.exists()


def test_apply_all_fixes_repairs_a_stack_of_mistakes() -> None:
    layers = [Conv2d(1, 8, 5), ReLU(), Conv2d(3, 8, 5), MaxPool2d(2, padding=2), Linear(100, 10)]
    fixed = apply_all_fixes(layers, (1, 16, 16))
    result = summarize(fixed, (1, 16, 16))
    assert result.ok
    assert (
        fixed[2] == Conv2d(8, 8, 5) and fixed[3] == MaxPool2d(2, padding=1) and isinstance(fixed[4], Flatten)
    )
    *_, failed = torch_trace(fixed, (1, 16, 16))
    assert failed is None


# --------------------------------------------------------------------------------------------------
# The network builder's table: one row's text and back, new layers, compact JSON
# --------------------------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stacks(max_layers=5, stop_at_error=False))
def test_argument_text_reads_back_as_the_same_layer(case) -> None:
    from cnnviz.network.code import layer_from_arguments

    layers, _ = case
    for layer in layers:
        assert layer_from_arguments(layer.kind, layer.argument_text()) == layer


def test_argument_text_names_every_argument_it_writes() -> None:
    assert Conv2d(3, 15, 3, stride=2, padding=1).argument_text() == (
        "in_channels=3, out_channels=15, kernel_size=3, stride=2, padding=1"
    )
    assert ReLU().argument_text() == "" and MaxPool2d(2).argument_text() == "kernel_size=2"
    assert Linear(240, 60, bias=False).argument_text() == "in_features=240, out_features=60, bias=False"


# The per-sample shapes each kind takes, when not any: (C, H, W) = 3, (C, L) = 2, (F,) = 1 axes.
TAKES = {"LayerNorm": (1, 2, 3), "PixelShuffle": (3,), "GroupNorm": (2, 3), "LocalResponseNorm": (2, 3),
         "Upsample": (2, 3)}  # fmt: skip


@pytest.mark.parametrize("kind", [k for k in LAYER_TYPES if k not in MERGE_TYPES])
@pytest.mark.parametrize("shape", [(6, 12, 12), (6, 20), (24,)])
def test_layer_for_takes_the_shape_it_is_inserted_at(kind: str, shape) -> None:
    from cnnviz.network.layers import layer_for

    layer = layer_for(kind, shape)
    assert layer.kind == kind
    fits = summarize([layer], shape).ok
    suffix = kind[-2:] if kind[-2:] in ("1d", "2d") else None
    made_for = {3: ("2d",), 2: ("1d",), 1: ("1d",) if kind in ("BatchNorm1d", "Dropout1d") else ()}[
        len(shape)
    ]
    if kind in TAKES:
        assert fits == (len(shape) in TAKES[kind]), (kind, shape)
    elif kind.startswith("Dropout"):
        assert fits  # dropout keeps any shape, as PyTorch does
    else:
        assert fits == (suffix is None or suffix in made_for), (kind, shape)
    if fits and not kind.startswith(("MaxPool", "AvgPool", "Adaptive", "ZeroPad", "Upsample", "Flatten")):
        assert summarize([layer], shape).output_shape == (1, *shape)  # a new layer keeps the shape


def test_to_json_lines_has_one_layer_a_line_and_reads_back() -> None:
    from cnnviz.network.json_form import to_json_lines

    network = Network((Conv2d(3, 8, 3), ReLU(), Flatten(), Linear(8 * 30 * 30, 10)), (3, 32, 32), 2)
    text = to_json_lines(network)
    assert from_json(text) == network
    assert len(text.splitlines()) == 3 + len(network.layers) + 2  # {, sizes, "layers": [ ... ], }
    assert from_json(to_json_lines(Network((), (1, 40)))) == Network((), (1, 40))


@pytest.mark.parametrize(
    ("typed", "shape"),
    [("3, 32, 32", (3, 32, 32)), ("(1, 40)", (1, 40)), ("3x224x224", (3, 224, 224)), ("784", (784,)),
     ("[3 32 32]", (3, 32, 32))],
)  # fmt: skip
def test_parse_input_size_reads_what_people_type(typed: str, shape) -> None:
    from cnnviz.network.summary_table import format_input_size, parse_input_size

    assert parse_input_size(typed) == shape
    assert parse_input_size(format_input_size(shape)) == shape


def test_format_count_stays_exact_below_a_billion() -> None:
    from cnnviz.network.summary_table import format_count

    assert format_count(19_570) == "19,570" and format_count(138_357_544) == "138,357,544"
    assert format_count(15_470_264_320) == "15.47 G" and format_count(2 * 10**30) == "2e+30"


def test_read_network_takes_code_or_json_and_adapts_the_input() -> None:
    from cnnviz.network.code import input_size_for, read_network

    lenet = "nn.Sequential(nn.Conv2d(1, 6, 5), nn.Tanh(), nn.AvgPool2d(2))"
    assert read_network(lenet, (3, 32, 32)).input_size == (1, 32, 32)
    assert read_network("nn.Conv1d(1, 15, 3, stride=2)", (3, 32, 32)).input_size == (1, 40)
    mlp = "nn.Flatten(), nn.Linear(3072, 512), nn.ReLU(), nn.Linear(512, 10)"
    assert read_network(mlp, (1, 28, 28)).input_size == (3, 32, 32)
    assert read_network("nn.Flatten(), nn.Linear(784, 10)", (3, 32, 32)).input_size == (1, 28, 28)
    assert input_size_for([Linear(60, 10)], (3, 32, 32)) == (60,)
    assert input_size_for([ReLU(), BatchNorm2d(16)], (3, 8, 8)) == (16, 8, 8)
    network = Network((Conv2d(3, 8, 3),), (3, 9, 9), 4)
    assert read_network(to_json(network), (1, 2, 2)) == network
