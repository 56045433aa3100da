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


# --- Numbers and argument types in pasted code: refused with a sentence naming the line (and argument).

TOO_LONG = "line {}: a number with more than 100 digits; layer sizes are small whole numbers"


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("nn.Sequential(nn.Linear(" + "9" * 5000 + ", 2))", 1),  # past Python's own 4,300-digit limit
        (
            "```python\nmodel = nn.Sequential(\n    nn.Linear(3, 2),\n    nn.Linear(2, 1_"
            + "0" * 100
            + "),\n)\n```",
            4,
        ),
        (
            "class Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
            f"        self.fc = nn.Linear({'9' * 5000}, 2)\n    def forward(self, x):\n        return self.fc(x)",
            4,
        ),
        ("nn.Linear(" + "9" * 101 + ", 2)", 1),  # the first length refused
    ],
)
def test_a_number_of_too_many_digits_is_a_plain_sentence_with_its_line(text: str, line: int) -> None:
    with pytest.raises(ConvConfigError) as raised:
        from_pytorch_code(text)
    assert str(raised.value) == TOO_LONG.format(line)


def test_long_digit_runs_in_names_and_fractions_are_no_number_to_refuse() -> None:
    digits = "1234567890" * 11
    text = f"layer_{digits} = 3  # p = 0.{digits}\nnn.Linear(3, 2)"
    assert from_pytorch_code(text) == [cnnviz.Linear(3, 2)]
    # 100 digits pass: a deliberately huge layer is read (and shown as huge)
    assert from_pytorch_code("nn.Linear(" + "9" * 100 + ", 2)") == [cnnviz.Linear(10**100 - 1, 2)]


def built_and_run_by_pytorch(code: str, size: tuple[int, ...]) -> bool:
    """Whether PyTorch builds the layer `code` and runs it on a batch of zeros of `size` (the oracle)."""
    try:
        module = eval(code, {"nn": nn})  # the test's own literal text
        module(torch.zeros(1, *size))
    except (TypeError, ValueError, RuntimeError):
        return False
    return True


WRONG_TYPES = [
    ("nn.Linear([3], 2)", (3,), "nn.Linear: `in_features` must be a whole number, not `[3]`"),
    ("nn.Linear(3, 2.5)", (3,), "nn.Linear: `out_features` must be a whole number, not `2.5`"),
    ("nn.Conv2d(3, 16.0, 3)", (3, 8, 8), "nn.Conv2d: `out_channels` must be a whole number, not `16.0`"),
    (
        "nn.Conv2d(3, 16, kernel_size=(3, 'a'))",
        (3, 8, 8),
        "nn.Conv2d: `kernel_size` must be a whole number or a tuple of whole numbers, not `(3, 'a')`",
    ),
    (
        "nn.MaxPool2d(2, stride='2')",
        (3, 8, 8),
        "nn.MaxPool2d: `stride` must be a whole number, a tuple of whole numbers or None, not `'2'`",
    ),
    ("nn.Dropout(p='0.5')", (3,), "nn.Dropout: `p` must be a number, not `'0.5'`"),
]


@pytest.mark.parametrize(("code", "size", "says"), WRONG_TYPES)
def test_an_argument_of_the_wrong_type_is_refused_naming_it_and_its_line(code, size, says) -> None:
    assert not built_and_run_by_pytorch(code, size)
    with pytest.raises(ConvConfigError) as raised:
        from_pytorch_code(f"import torch\nmodel = nn.Sequential(\n    nn.ReLU(),\n    {code},\n)")
    assert str(raised.value) == f"line 4: {says}"
    # The same layer set in a model class: the line of the call, the value as computed
    text = f"class Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n        self.m = {code}\n"
    with pytest.raises(ConvConfigError) as raised:
        from_pytorch_code(text + "    def forward(self, x):\n        return self.m(x)")
    assert str(raised.value) == f"line 4: {says}"


def test_a_size_computed_as_a_fraction_in_a_class_is_refused_with_its_value() -> None:
    text = """class Net(nn.Module):
    def __init__(self, channels=32):
        super().__init__()
        self.conv = nn.Conv2d(3, channels / 2, 3)
    def forward(self, x):
        return self.conv(x)
"""
    with pytest.raises(ConvConfigError) as raised:
        from_pytorch_code(text)
    assert str(raised.value) == "line 4: nn.Conv2d: `out_channels` must be a whole number, not `16.0`"
    assert not built_and_run_by_pytorch("nn.Conv2d(3, 32 / 2, 3)", (3, 8, 8))


@pytest.mark.parametrize(
    ("code", "size", "layer"),
    [
        ("nn.Conv2d(3, 16, [3, 3], stride=[1, 2])", (3, 8, 8), cnnviz.Conv2d(3, 16, 3, stride=(1, 2))),
        ("nn.Dropout(p=0)", (3,), cnnviz.Dropout(p=0)),  # a whole number where a number goes
        ("nn.AdaptiveAvgPool2d((None, 2))", (3, 8, 8), cnnviz.AdaptiveAvgPool2d((None, 2))),
        ("nn.Conv2d(3, 4, 3, padding='same')", (3, 8, 8), cnnviz.Conv2d(3, 4, 3, padding="same")),
    ],
)
def test_arguments_pytorch_takes_are_read(code: str, size: tuple[int, ...], layer) -> None:
    assert built_and_run_by_pytorch(code, size)
    assert from_pytorch_code(code) == [layer]
