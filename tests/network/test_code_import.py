"""Pasted PyTorch model classes, read as written and never run, against the same code run in PyTorch.

Each file in tests/network/code/ is real lecture-style code: lecture 000's ConvNet, WideConvNet and
DeepConvNet as the slides write them, with their Softmax "decision" and `nonlinearity` argument, a model whose
forward is functional calls (F.relu, F.max_pool2d, a residual `x + y`, torch.flatten), lecture 004's class
with its forward pasted apart (and an undefined num_classes), a ResNet basic block, a torchvision-style
ResNet-18 built in loops, a small U-Net, AlexNet with local response norm. The oracle builds the model by
running the file in PyTorch.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F  # noqa: N812
from hypothesis import HealthCheck, given, settings
from torch import nn

import cnnviz
from cnnviz.errors import ConvConfigError
from cnnviz.network import Node, from_pytorch_code, summarize, to_pytorch_code
from cnnviz.network.code import import_code, read_import
from tests.network.test_graph import graphs

CODE = Path(__file__).parent / "code"


def run_file(name: str, cls: str | None = None, *args):
    """The model the file defines, built by running it in PyTorch (the oracle)."""
    namespace = {"torch": torch, "nn": nn, "F": F}
    exec(compile((CODE / name).read_text(), name, "exec"), namespace)
    return namespace["model"] if cls is None else namespace[cls](*args)


CASES = [
    ("lecture000_convnet.py", "ConvNet", (), (3, 32, 32), 19_570),
    ("lecture000_wideconvnet.py", "WideConvNet", (), (3, 32, 32), 79_030),
    ("lecture000_deepconvnet.py", "DeepConvNet", (), (3, 32, 32), 23_650),
    ("functional_net.py", "FunctionalNet", (), (3, 32, 32), None),
    ("resnet_basic_block.py", "BasicBlock", (64, 64), (64, 32, 32), 73_984),
    ("resnet18.py", None, (), (3, 224, 224), 11_689_512),
    ("unet.py", "UNet", (), (1, 64, 64), None),
    ("alexnet_lrn.py", "AlexNet", (), (3, 227, 227), None),
]


@pytest.mark.parametrize(("name", "cls", "args", "size", "published"), CASES)
def test_model_classes_read_as_pytorch_builds_them(name, cls, args, size, published) -> None:
    network, _ = read_import((CODE / name).read_text(), size)
    result = summarize(network.nodes, size)
    model = run_file(name, cls, *args).eval()
    with torch.no_grad():
        out = model(torch.zeros(1, *size))
    assert result.ok and result.output_shape == tuple(out.shape)
    assert result.total_params == sum(p.numel() for p in model.parameters())
    if published is not None:
        assert result.total_params == published
    traced = cnnviz.summary(model, (1, *size))
    assert traced.total_params == result.total_params and traced.network is not None
    assert traced.total_mult_adds == result.total_mult_adds
    assert [n.layer for n in traced.network.nodes] == [n.layer for n in network.nodes] or name == "unet.py"


def test_lecture_004_class_with_its_forward_pasted_apart() -> None:
    text = (CODE / "lecture004_cnn.txt").read_text()  # verbatim, code fences and all
    network, notes = read_import(text, (3, 32, 32))
    assert any("num_classes" in note and "10" in note for note in notes)
    result = summarize(network.nodes, (3, 32, 32))
    kinds = [layer.kind for layer in network.layers]
    assert kinds.count("Conv2d") == 8 and kinds.count("MaxPool2d") == 4 and kinds.count("Linear") == 3
    assert kinds[kinds.index("Flatten") - 1] == "MaxPool2d"  # X.view(X.shape[0], -1)
    assert result.ok and result.output_shape == (1, 10)
    lecture = cnnviz.preset("Classic CNN (lecture code)")
    assert result.total_params == summarize(lecture.layers, lecture.input_size).total_params


def test_lecture_000_nonlinearity_argument_and_decision_layer() -> None:
    layers = from_pytorch_code((CODE / "lecture000_convnet.py").read_text())
    assert [layer.kind for layer in layers].count("ReLU") == 3 and layers[-1].kind == "Softmax"
    assert layers[-1].dim == 1


def test_a_basic_block_alone_guesses_its_channels_and_says_so() -> None:
    found, notes = import_code((CODE / "resnet_basic_block.py").read_text())
    assert isinstance(found[-1], Node) and found[-2].layer.kind == "Add"  # out += shortcut(x); relu
    assert found[-2].inputs == (4, -1)  # the empty shortcut passes the input on
    assert any("in_planes=64" in note for note in notes)


def test_a_forward_with_a_graph_round_trips_through_generated_code() -> None:
    network, _ = read_import((CODE / "unet.py").read_text(), (1, 32, 32))
    code = to_pytorch_code(network.nodes, (1, 32, 32))
    assert "torch.cat([" in code and "class Model(nn.Module):" in code
    assert from_pytorch_code(code) == list(network.nodes)
    namespace: dict[str, object] = {}
    exec(compile(code, "<generated>", "exec"), namespace)  # its assert on the output shape holds


@settings(max_examples=40, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])  # fmt: skip
@given(graphs())
def test_any_graph_round_trips_through_code_that_runs(graph) -> None:
    nodes, input_size = graph
    code = to_pytorch_code(nodes, input_size, 2)
    read = from_pytorch_code(code)
    assert [n.layer if isinstance(n, Node) else n for n in read] == [n.layer for n in nodes]
    namespace: dict[str, object] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        exec(compile(code, "<generated>", "exec"), namespace)


def test_class_code_is_never_run(tmp_path) -> None:
    target = tmp_path / "touched"
    text = f"""
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        open({str(target)!r}, "w").write("x")
        self.fc = nn.Linear(2, 2)
    def forward(self, x):
        return self.fc(x)
"""
    with pytest.raises(ConvConfigError, match="line 5"):
        from_pytorch_code(text)
    assert not target.exists()


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("class N(nn.Module):\n    def forward(self, x):\n        return x.mean()", "no layer"),
        ("class N(nn.Module):\n    def forward(self, x):\n        while True:\n            pass", "while"),
        ("class N(nn.Module):\n    def __init__(self, k):\n        super().__init__()", "model = N"),
        ("def f(n):\n    return f(n)\nclass N(nn.Module):\n    def __init__(self):\n        f(1)", "nest"),
        (
            "class N(nn.Module):\n    def __init__(self):\n        for i in range(10**7):\n            pass",
            "range",
        ),
        (
            "class N(nn.Module):\n    def forward(self, x):\n        if x > 0:\n            return x",
            "decided",
        ),
        ("class N(nn.Module):\n    def forward(self, x):\n        return torch.flatten(x)", "batch axis"),
    ],
)
def test_what_the_reader_cannot_follow_is_a_message_with_its_line(text: str, says: str) -> None:
    with pytest.raises(ConvConfigError, match=says):
        from_pytorch_code(text)
