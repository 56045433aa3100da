"""Where a stack breaks: the row's message, the fix that fits, and bad JSON or code text."""

from __future__ import annotations

import json

import hypothesis.strategies as st
import pytest
from hypothesis import HealthCheck, given, settings

from cnnviz.errors import ConvConfigError
from cnnviz.network import (
    AvgPool1d,
    BatchNorm1d,
    BatchNorm2d,
    Conv1d,
    Conv2d,
    ConvTranspose2d,
    Flatten,
    Linear,
    MaxPool1d,
    MaxPool2d,
    Network,
    ReLU,
    apply_fix,
    from_json,
    from_pytorch_code,
    layer_from_dict,
    summarize,
    to_json,
    to_pytorch_code,
)
from tests.network.test_network import stacks, torch_trace

CONVNET = [
    Conv2d(3, 15, 3, stride=2, padding=1),
    ReLU(),
    Conv2d(15, 15, 3, stride=2, padding=1),
    ReLU(),
    Conv2d(15, 15, 3, stride=2, padding=1),
    ReLU(),
    Flatten(),
    Linear(3072, 60),
    Linear(60, 10),
]


def broken(layers, input_size):
    """The failing row, after checking PyTorch fails on the same layer and the fix makes it run there."""
    result = summarize(layers, input_size)
    row = result.first_error
    assert row is not None
    *_, failed = torch_trace(layers, input_size)
    assert failed == row.index
    assert all(r.status == "not computed" and r.output_shape is None for r in result.rows[row.index + 1 :])
    if row.fix is not None:
        fixed = apply_fix(layers, input_size, row.index)
        *_, failed_after = torch_trace(fixed[: row.index + len(row.fix.layers)], input_size)
        assert failed_after is None
    return row


def test_linear_in_features_mismatch_gives_the_value_that_fits() -> None:
    row = broken(CONVNET, (3, 32, 32))
    assert row.index == 7 and row.argument == "in_features"
    assert "in_features=3072" in row.error and "240 features" in row.error and "mat1 and mat2" in row.error
    assert (row.fix.field, row.fix.value) == ("in_features", 240)
    fixed = apply_fix(CONVNET, (3, 32, 32))
    assert fixed[7] == Linear(240, 60) and fixed[:7] == CONVNET[:7] and fixed[8:] == CONVNET[8:]
    result = summarize(fixed, (3, 32, 32))
    assert result.ok and result.total_params == 19_570
    *_, failed = torch_trace(fixed, (3, 32, 32))
    assert failed is None


def test_linear_without_flatten_gets_flatten() -> None:
    layers = [Conv2d(3, 16, 5), ReLU(), Linear(16 * 28 * 28, 10)]
    row = broken(layers, (3, 32, 32))
    assert "Flatten()" in row.error and "28 there" in row.error
    assert row.fix.layers == (Flatten(), Linear(12544, 10)) and row.fix.text == "add Flatten() before Linear"
    assert summarize(apply_fix(layers, (3, 32, 32)), (3, 32, 32)).output_shape == (1, 10)


def test_conv_channel_mismatch() -> None:
    layers = [Conv2d(1, 6, 5), ReLU(), Conv2d(1, 16, 5)]
    row = broken(layers, (1, 32, 32))
    assert row.index == 2 and row.argument == "in_channels" and "6 channels" in row.error
    assert (row.fix.field, row.fix.value) == ("in_channels", 6)
    grouped = [Conv2d(4, 6, 3), Conv2d(4, 8, 3, groups=4)]
    row = broken(grouped, (4, 8, 8))
    assert row.fix.layers == (Conv2d(6, 8, 3, groups=2),)


def test_batchnorm_channel_mismatch_and_wrong_dimension() -> None:
    row = broken([Conv2d(3, 8, 3), BatchNorm2d(3)], (3, 8, 8))
    assert (row.fix.field, row.fix.value) == ("num_features", 8)
    row = broken([Conv2d(3, 8, 3), BatchNorm1d(8)], (3, 8, 8))
    assert row.argument == "input" and (row.fix.field, row.fix.value) == ("type", "BatchNorm2d")


def test_output_smaller_than_one() -> None:
    layers = [Conv2d(3, 8, 5), Conv2d(8, 8, 5, stride=2), Conv2d(8, 8, 5)]
    row = broken(layers, (3, 12, 12))  # 12 -> 8 -> 2, then a 5x5 kernel does not fit
    assert row.index == 2 and row.argument == "kernel_size" and "spans 5 cells" in row.error
    assert (row.fix.field, row.fix.value) == ("padding", 2)
    row = broken([MaxPool1d(4)], (2, 3))
    assert row.argument == "kernel_size" and row.fix.layers == (MaxPool1d(3, padding=0),)


def test_pool_padding_more_than_half_the_kernel() -> None:
    row = broken([MaxPool2d(3, padding=2)], (1, 8, 8))
    assert row.argument == "padding" and "half the kernel" in row.error
    assert (row.fix.field, row.fix.value) == ("padding", 1)
    row = broken([AvgPool1d(2, padding=(2,))], (1, 8))
    assert (row.fix.field, row.fix.value) == ("padding", 1)


def test_1d_layer_on_2d_input_and_window_after_flatten() -> None:
    row = broken([Conv1d(3, 8, 3)], (3, 16, 16))
    assert row.argument == "input" and "Conv2d" in row.error
    assert row.fix.layers == (Conv2d(3, 8, 3),)
    result = summarize([Flatten(), Conv1d(3, 8, 3)], (3, 16, 16))
    row = result.first_error
    assert "before Flatten" in row.error and row.fix is None
    with pytest.raises(ConvConfigError, match="no automatic fix"):
        apply_fix([Flatten(), Conv1d(3, 8, 3)], (3, 16, 16))


def test_more_argument_errors_with_fixes() -> None:
    cases = [
        ([Conv2d(3, 8, 3, padding="same", stride=2)], (3, 8, 8), ("padding", 1)),
        ([Conv2d(3, 8, 3, groups=2)], (3, 8, 8), ("groups", 1)),
        ([ConvTranspose2d(3, 8, 3, stride=2, output_padding=2)], (3, 4, 4), ("output_padding", 1)),
        ([ConvTranspose2d(3, 8, 3, padding=5)], (3, 2, 2), ("padding", 1)),
        ([Conv1d(3, 8, 3, padding=4, padding_mode="reflect")], (3, 4), ("padding", 3)),
    ]
    for layers, input_size, fix in cases:
        row = broken(layers, input_size)
        assert (row.fix.field, row.fix.value) == fix, row.error


def test_flatten_must_keep_the_batch_axis() -> None:
    row = summarize([Flatten(start_dim=0), Linear(48, 2)], (3, 4, 4)).first_error
    assert row.index == 0 and row.argument == "start_dim" and "batch" in row.error
    assert row.fix.layers == (Flatten(),)
    row = summarize([Flatten(start_dim=4)], (3, 4, 4)).first_error
    assert "out of range" in row.error and (row.fix.field, row.fix.value) == ("start_dim", 1)
    *_, failed = torch_trace([Flatten(start_dim=4)], (3, 4, 4))
    assert failed == 0


def test_return_indices_is_refused_in_a_stack() -> None:
    layers = [MaxPool2d(2, return_indices=True), Flatten()]
    row = summarize(layers, (3, 4, 4)).first_error
    assert row.index == 0 and "(values, indices)" in row.error
    assert (row.fix.field, row.fix.value) == ("return_indices", False)
    *_, failed = torch_trace(layers, (3, 4, 4))
    assert failed == 1  # PyTorch fails one layer later, on the tuple
    *_, failed = torch_trace(apply_fix(layers, (3, 4, 4)), (3, 4, 4))
    assert failed is None


def test_apply_fix_arguments() -> None:
    good = [Conv2d(3, 8, 3)]
    assert apply_fix(good, (3, 8, 8)) == good
    with pytest.raises(ConvConfigError, match="no error to fix"):
        apply_fix(good, (3, 8, 8), 0)


@settings(
    max_examples=100,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(stacks(), st.data())
def test_a_fix_always_makes_the_layer_run_in_pytorch(stack, data) -> None:
    layers, input_size = stack
    layers = list(layers)
    if summarize(layers, input_size).ok:  # make a classic mistake in a working stack
        i = data.draw(st.integers(0, len(layers) - 1))
        name = next(
            (n for n in ("in_channels", "in_features", "num_features") if hasattr(layers[i], n)), None
        )
        if name is None:
            return
        layers[i] = type(layers[i])(**{**layers[i].arguments(), name: getattr(layers[i], name) + 1})
        if name == "in_channels" and layers[i].groups > 1:
            return
    row = broken(layers, input_size)
    assert row.fix is not None, row.error
    assert summarize(apply_fix(layers, input_size), input_size).rows[row.index].status == "ok"


def test_input_size_is_checked() -> None:
    with pytest.raises(ConvConfigError, match="leave out the batch size") as info:
        summarize([ReLU()], (1, 3, 32, 32))
    assert info.value.argument == "input_size"
    with pytest.raises(ConvConfigError, match="at least 1"):
        summarize([ReLU()], (3, 0, 4))
    with pytest.raises(ConvConfigError, match="batch_size"):
        summarize([ReLU()], (3, 4, 4), batch_size=0)
    with pytest.raises(ConvConfigError, match="layer spec"):
        summarize(["conv"], (3, 4, 4))


# --------------------------------------------------------------------------------------------------
# Bad JSON and bad code text
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ('{"input_size": [3, 32, 32], "layers": [', "line 1, column"),
        ("[1, 2]", '"input_size"'),
        (
            '{"input_size": [3, 32, 32], "layers": [{"type": "Conv3d"}]}',
            r"layers\[0\]: unknown type 'Conv3d'",
        ),
        (
            '{"input_size": [3, 32, 32], "layers": [{"type": "Conv2D", "in_channels": 3}]}',
            "did you mean 'Conv2d'",
        ),
        (
            '{"input_size": [3, 32], "layers": [{"type": "ReLU"}, {"type": "Linear", "in_features": 3}]}',
            r"layers\[1\]: Linear needs out_features",
        ),
        ('{"input_size": [3, 32], "layers": [{"type": "ReLU", "slope": 1}]}', "no argument 'slope'"),
        ('{"input_size": [3, 32], "layers": {"type": "ReLU"}}', "must be a list"),
        ('{"input_size": 3, "layers": []}', "input_size"),
        ('{"input_size": [3, 32], "layers": ["ReLU"]}', "must be an object"),
        ('{"input_size": [3, 32], "layers": [{"type": "ReLU", "inplace": {"a": 1}}]}', "inplace must be"),
        ('{"input_size": [3, 32], "batch_size": 0, "layers": []}', "at least 1"),
    ],
)
def test_bad_json_says_where_and_what(text: str, match: str) -> None:
    with pytest.raises(ConvConfigError, match=match) as info:
        from_json(text)
    assert info.value.argument in ("json", "batch_size")


def test_json_layers_take_pytorch_defaults() -> None:
    network = from_json(
        '{"input_size": [1, 40], "layers": [{"type": "Conv1d", "in_channels": 1, '
        '"out_channels": 15, "kernel_size": 3, "stride": 2}, {"type": "ReLU"}]}'
    )
    assert network == Network((Conv1d(1, 15, 3, stride=2), ReLU()), (1, 40), 1)
    assert json.loads(to_json(network))["layers"][0]["padding_mode"] == "zeros"
    assert layer_from_dict(
        {"type": "Conv2d", "in_channels": 3, "out_channels": 4, "kernel_size": [3, 5]}
    ).kernel_size == (3, 5)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("model = nn.Sequential(\n    nn.Conv2d(3, 16, 3),\n    nn.ReLU(\n)", r"line \d+: .*expected Python"),
        ("nn.Sequential(\n    nn.Conv2d(3, 16, 3),\n    nn.Conv3d(16, 8, 3),\n)", "line 3: `nn.Conv3d"),
        (
            "nn.Sequential(\n    nn.Flatten(),\n    nn.Linear(num_features, 10),\n)",
            "line 3: `num_features` is a variable",
        ),
        ("nn.Linear(1, 2, True, 4)", "line 1: nn.Linear takes at most 3 positional"),
        ("nn.Conv2d(3, 16, kernel=3)", "has no argument `kernel`"),
        ("nn.Conv2d(3, 16)", "needs kernel_size"),
        ("nn.Linear(3, 4, bias=True, bias=False)", "twice"),
        ("nn.Linear(*sizes)", r"\*args"),
        ("nn.Linear(**sizes)", r"\*\*kwargs"),
        ("nn.Linear(10 // 0, 2)", "divides by zero"),
        ("nn.Linear(2 ** 2000, 2)", "cannot read"),
        ("nn.Linear('a' * 3, 2)", "numbers only"),
        ("x = 3\ny = x + 1", "no layers found"),
        ("x = 3\nprint(x)", "line 2: `print"),
        ("a = nn.Sequential(nn.ReLU())\nb = nn.Sequential(nn.Tanh())", "2 nn.Sequential blocks"),
        ("F.relu(x)", "not a layer"),
        (b"nn.ReLU()", "as text"),
    ],
)
def test_bad_code_says_which_line_and_what_was_expected(text, match: str) -> None:
    with pytest.raises(ConvConfigError, match=match) as info:
        from_pytorch_code(text)
    assert info.value.argument == "code"


def test_broken_stack_still_exports_with_the_error_marked() -> None:
    code = to_pytorch_code(CONVNET, (3, 32, 32))
    assert "nn.Linear(3072, 60),  # ERROR: Linear expects in_features=3072" in code
    assert from_pytorch_code(code) == CONVNET


# --------------------------------------------------------------------------------------------------
# The network builder: one table row, pasted text, the typed input shape
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "arguments", "says"),
    [
        ("Conv3d", "", "'Conv3d' is not a layer type (did you mean Conv2d?)"),
        ("Conv2d", "in_channels=3, out_channels=8", "nn.Conv2d needs kernel_size"),
        ("Conv2d", "in_channels=3, out_channels=8, kernel=3", "has no argument `kernel`"),
        ("Conv2d", "3, 8, 3, 1, 0, 1, 1, True, 'zeros', 9", "at most 9 positional"),
        ("Linear", "in_features=c, out_features=10", "`c` is a variable"),
        ("Linear", "in_features=240,, out_features=10", "cannot read"),
        ("ReLU", "), print('x'", "more than one call"),
        ("Linear", "in_features=2, out_features=2, in_features=3", "gets `in_features` twice"),
    ],
)
def test_layer_from_arguments_says_what_is_wrong(kind: str, arguments: str, says: str) -> None:
    from cnnviz.network.code import layer_from_arguments

    with pytest.raises(ConvConfigError) as info:
        layer_from_arguments(kind, arguments)
    assert says in str(info.value)
    assert not str(info.value).startswith("line")


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "nothing to import"),
        ("{not json", "not valid JSON"),
        ('{"layers": []}', 'expected a JSON object with "input_size"'),
        ("nn.Sequential(nn.Conv2d(3, 8, 3)", "line 1"),
        ("x = 3", "no layers found"),
        ("nn.Sequential(" + "nn.ReLU(), " * 301 + ")", "more than the builder shows"),
    ],
)
def test_read_network_refuses_bad_text_with_a_message(text: str, says: str) -> None:
    from cnnviz.network.code import read_network

    with pytest.raises(ConvConfigError, match=None) as info:
        read_network(text, (3, 32, 32))
    assert says in str(info.value)


@pytest.mark.parametrize(
    ("typed", "says"),
    [("", "type one sample's shape"), ("3, a, 3", "'a' is not a whole number"),
     ("1, 3, 32, 32", "leave out the batch"), ("3, 0, 4", "at least 1"), ("1, 2, 3, 4, 5", "got 5 values")],
)  # fmt: skip
def test_parse_input_size_explains_bad_shapes(typed: str, says: str) -> None:
    from cnnviz.network.summary_table import parse_input_size

    with pytest.raises(ConvConfigError) as info:
        parse_input_size(typed)
    assert says in str(info.value) and info.value.argument == "input_size"
