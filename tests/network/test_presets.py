"""The lectures' networks: every preset runs in PyTorch with the shapes and counts the lectures quote."""

from __future__ import annotations

import pytest
import torch

from cnnviz.errors import ConvConfigError
from cnnviz.network import Conv2d, Flatten, Linear, MaxPool2d, ReLU, summarize, to_torch
from cnnviz.network.presets import PRESETS, classic_cnn, lecture004_cnn, preset, vgg16
from tests.network.test_network import closed_form_macs, torch_trace

SMALL = [name for name in PRESETS if name != "VGG-16"]


@pytest.mark.parametrize("name", SMALL)
def test_preset_matches_pytorch_layer_by_layer(name: str) -> None:
    p = preset(name)
    assert p.name == name and p.description and p.lecture[:3] in ("000", "001", "003", "004")
    result = summarize(p.layers, p.input_size, batch_size=2)
    if not p.network.is_stack:  # a graph: each node's module on the outputs it reads
        from tests.network.test_graph import torch_forward
        from tests.network.test_network import torch_module

        nodes = p.network.nodes
        with torch.no_grad():
            modules = [
                None if n.layer.kind in ("Add", "Concat") else torch_module(n.layer).eval() for n in nodes
            ]
            got = torch_forward(modules, nodes, torch.zeros(2, *p.input_size))
        for row, module in zip(result.rows, modules, strict=True):
            assert row.output_shape == tuple(got[row.index].shape)
            assert row.params == (sum(q.numel() for q in module.parameters()) if module is not None else 0)
        assert result.ok and (p.expected_params is None or result.total_params == p.expected_params)
        return
    modules, inputs, outputs, failed = torch_trace(p.layers, p.input_size, batch=2)
    assert result.ok and failed is None
    for row, module, x, y in zip(result.rows, modules, inputs, outputs, strict=True):
        assert row.output_shape == tuple(y.shape)
        assert row.params == sum(q.numel() for q in module.parameters())
        assert row.macs == closed_form_macs(module, x, y)
    if p.expected_params is not None:
        assert result.total_params == p.expected_params


def test_vgg16_has_138_357_544_parameters() -> None:
    layers = vgg16()
    result = summarize(layers, (3, 224, 224))
    assert result.total_params == 138_357_544 == PRESETS["VGG-16"].expected_params
    model = to_torch(layers)
    assert sum(p.numel() for p in model.parameters()) == 138_357_544
    sizes = [r.output_shape[2] for r in result.rows if r.layer.kind == "MaxPool2d"]
    assert sizes == [112, 56, 28, 14, 7] and result.output_shape == (1, 1000)
    x = torch.zeros(1, 3, 224, 224)
    with torch.no_grad():
        features = model[:31](x)
    assert tuple(features.shape) == result.rows[30].output_shape == (1, 512, 7, 7)


def test_lecture_000_parameter_counts() -> None:
    counts = {
        name: summarize(PRESETS[name].layers, (3, 32, 32)).total_params
        for name in ("CIFAR-10 MLP", "ConvNet", "WideConvNet", "DeepConvNet")
    }
    assert counts == {
        "CIFAR-10 MLP": 1_645_950,
        "ConvNet": 19_570,
        "WideConvNet": 79_030,
        "DeepConvNet": 23_650,
    }
    wide = summarize(PRESETS["WideConvNet"].layers, (3, 32, 32))
    assert wide.rows[7].layer == Linear(960, 60) and wide.rows[7].params == 960 * 60 + 60


def test_lecture_001_mnist1d_table() -> None:
    p = PRESETS["MNIST-1D ConvNet"]
    result = summarize(p.layers, (1, 40), batch_size=100)
    shapes = [r.output_shape for r in result.rows]
    assert shapes == [
        (100, 15, 19),
        (100, 15, 19),
        (100, 15, 9),
        (100, 15, 9),
        (100, 15, 4),
        (100, 15, 4),
        (100, 60),
        (100, 10),
    ]
    assert [r.params for r in result.rows] == [60, 0, 690, 0, 690, 0, 0, 610]
    assert result.total_params == 2_050
    assert result.total_mult_adds == (60 * 19 + 690 * 9 + 690 * 4 + 610) * 100 == 1_072_000
    text = str(result)
    for line in (
        "Total params: 2,050",
        "Trainable params: 2,050",
        "Non-trainable params: 0",
        "Total mult-adds (M): 1.07",
        "Input size (MB): 0.02",
        "Forward/backward pass size (MB): 0.39",
        "Params size (MB): 0.01",
        "Estimated Total Size (MB): 0.42",
        "[100, 15, 19]",
    ):
        assert line in text, line


def test_lecture_003_lenet_feature_maps() -> None:
    result = summarize(PRESETS["LeNet-5"].layers, (1, 32, 32))
    maps = [r.output_shape[1:] for r in result.rows if r.layer.kind in ("Conv2d", "AvgPool2d")]
    assert maps == [(6, 28, 28), (6, 14, 14), (16, 10, 10), (16, 5, 5), (120, 1, 1)]
    assert [r.output_shape for r in result.rows[-3:]] == [(1, 84), (1, 84), (1, 10)]


def test_lecture_004_code_example_feeds_64_features_to_fc1() -> None:
    layers = lecture004_cnn()
    assert [x for x in layers if isinstance(x, Conv2d)] == [
        Conv2d(a, b, 3)
        for a, b in [(3, 32), (32, 64), (64, 128), (128, 256), (256, 128), (128, 64), (64, 32), (32, 16)]
    ]
    assert [x for x in layers if isinstance(x, MaxPool2d)] == [
        MaxPool2d(2),
        MaxPool2d(1),
        MaxPool2d(1),
        MaxPool2d(1),
    ]
    linears = [x for x in layers if isinstance(x, Linear)]
    assert linears == [Linear(64, 32), Linear(32, 16), Linear(16, 10)]
    result = summarize(layers, (3, 32, 32))
    assert result.ok and result.rows[layers.index(Flatten())].output_shape == (1, 64)
    *_, failed = torch_trace(layers, (3, 32, 32))
    assert failed is None


@pytest.mark.parametrize(("n", "m", "k"), [(1, 1, 0), (2, 2, 2), (3, 2, 1), (0, 3, 2), (1, 3, 1)])
def test_classic_template_runs_in_pytorch(n: int, m: int, k: int) -> None:
    layers = classic_cnn(n, m, k, input_size=(3, 32, 32), channels=8, hidden=20, padding=1)
    kinds = [x.kind for x in layers]
    assert kinds.count("Conv2d") == n * m and kinds.count("MaxPool2d") == m
    assert kinds.count("Linear") == k + 1 and kinds.count("ReLU") == n * m + k
    result = summarize(layers, (3, 32, 32))
    modules, _, outputs, failed = torch_trace(layers, (3, 32, 32))
    assert result.ok and failed is None
    assert [r.output_shape for r in result.rows] == [tuple(y.shape) for y in outputs]
    assert result.total_params == sum(p.numel() for mod in modules for p in mod.parameters())


def test_classic_template_that_shrinks_too_far_shows_where() -> None:
    layers = classic_cnn(3, 3, 1, input_size=(3, 16, 16), channels=4)
    result = summarize(layers, (3, 16, 16))
    assert not result.ok
    row = result.first_error
    assert row.layer.kind == "Conv2d" and row.argument == "kernel_size"
    *_, failed = torch_trace(layers, (3, 16, 16))
    assert failed == row.index


def test_template_and_preset_arguments_are_checked() -> None:
    with pytest.raises(ConvConfigError, match="channels needs 4"):
        classic_cnn(2, 2, 1, channels=(8, 8))
    with pytest.raises(ConvConfigError, match="0 or more"):
        classic_cnn(-1, 1, 1)
    with pytest.raises(ConvConfigError, match="no preset"):
        preset("AlexNet v9")


def test_resnet_stem_reaches_56() -> None:
    result = summarize(PRESETS["ResNet-18 stem"].layers, (3, 224, 224))
    assert [r.output_shape for r in result.rows] == [(1, 64, 112, 112)] * 3 + [(1, 64, 56, 56)]
    assert result.rows[0].layer == Conv2d(3, 64, 7, stride=2, padding=3, bias=False)
    assert isinstance(result.rows[2].layer, ReLU)


def test_mlp_comparison_uses_the_lecture_numbers() -> None:
    from cnnviz.network.mlp_compare import comparable_mlps, mlp

    convnet = comparable_mlps(PRESETS["ConvNet"].layers, (3, 32, 32))
    assert [(b.label, b.params) for b in convnet] == [
        ("This stack", 19_570),
        ("MLP, same hidden widths", 3072 * 60 + 60 + 60 * 10 + 10),
        ("Lecture 000's MLP", 1_645_950),
    ]
    assert round(convnet[2].times(convnet[0])) == 84
    assert summarize(mlp(3072, (512, 120, 84), 10), (3, 32, 32)).total_params == 1_645_950
    assert [b.label for b in comparable_mlps(PRESETS["CIFAR-10 MLP"].layers, (3, 32, 32))] == ["This stack"]
    stem = comparable_mlps(PRESETS["ResNet-18 stem"].layers, (3, 224, 224))
    assert stem[1].params == 3 * 224 * 224 * 64 * 56 * 56 + 64 * 56 * 56
    with pytest.raises(ConvConfigError, match="fix it first"):
        comparable_mlps([Conv2d(3, 8, 3), Linear(5, 2)], (3, 8, 8))
