"""The builder's parsers of user text (JSON, code, link text) fail only with a clean ConvConfigError,
whatever they get: random and mutated text, deep nesting, huge numbers, a million pasted layers."""

from __future__ import annotations

import time

import hypothesis.strategies as st
import pytest
from hypothesis import HealthCheck, given, settings

from cnnviz.errors import ConvConfigError
from cnnviz.network import Network, from_json, from_pytorch_code, to_json, to_pytorch_code
from cnnviz.network.code import read_network
from cnnviz.network.link import stack_from_link, stack_to_link
from cnnviz.network.presets import preset

FUZZ = settings(max_examples=150, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow])  # fmt: skip
RESNET = preset("ResNet-18").network
SEEDS = [to_json(RESNET), to_pytorch_code(RESNET.nodes, (3, 224, 224)), stack_to_link(RESNET.nodes)]


def only_clean_errors(parse, text: str) -> None:
    try:
        parse(text)
    except ConvConfigError:
        pass


@st.composite
def mutated(draw):
    text = draw(st.sampled_from(SEEDS))
    for _ in range(draw(st.integers(1, 6))):
        at = draw(st.integers(0, len(text)))
        cut = draw(st.integers(0, 8))
        text = text[:at] + draw(st.text(max_size=6)) + text[at + cut :]
    return text


@FUZZ
@given(st.one_of(mutated(), st.text(max_size=300)))
def test_json_code_and_link_parsers_raise_only_clean_errors(text: str) -> None:
    only_clean_errors(from_json, text)
    only_clean_errors(from_pytorch_code, text)
    only_clean_errors(stack_from_link, text)
    only_clean_errors(lambda t: read_network(t, (3, 32, 32)), text)


HOSTILE = {
    "deep-json": ('{"layers": ' + "[" * 90_000 + "]" * 90_000 + "}", "nests 90001 deep"),
    "deep-json-array": ("[" * 100_000 + "]" * 100_000, "nests brackets 100000 deep"),
    "5000-digit-int": (
        '{"input_size": [3, 32, 32], "layers": [{"type": "Linear", "in_features": ' + "9" * 5000 + "}]}",
        "a number of more than 18 digits",
    ),
    "long-expression": ("x = " + "1 + " * 50_000 + "1", "too long"),
    "deep-expression": ("nn.Linear(" + "1+" * 90_000 + "1, 2)", "nested too deeply"),  # RecursionError
    "deep-not": ("nn.Linear(" + "not " * 45_000 + "1, 2)", "nested too deeply"),
    "deep-attribute": ("x = " + "a." * 90_000 + "b", "nested too deeply"),
    "deep-parens": ("(" * 5000 + ")" * 5000, "makes 5,000 calls"),
    "deep-unary": ("nn.Linear(" + "-" * 100_000 + "1, 2)", "nested too deeply"),
    "huge-power": ("nn.Linear(9**9**9, 3)", "cannot read `9 ** 9 ** 9`"),  # never computed (MemoryError)
}


@pytest.mark.parametrize(("text", "says"), HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_text_is_refused_quickly_with_a_message(text: str, says: str) -> None:
    """What the import box runs (`read_network`) refuses each with a sentence, in well under a second;
    the two parsers beneath it refuse them too."""
    start = time.process_time()
    with pytest.raises(ConvConfigError) as info:
        read_network(text, (3, 32, 32))
    assert time.process_time() - start < 1.0
    assert says in str(info.value) and len(str(info.value)) < 300, str(info.value)
    for parse in (from_json, from_pytorch_code):
        with pytest.raises(ConvConfigError):
            parse(text)


def test_a_million_pasted_layers_are_refused_before_parsing() -> None:
    text = "nn.ReLU(),\n" * 1_000_000
    start, wall = time.process_time(), time.perf_counter()
    with pytest.raises(ConvConfigError, match="too long"):
        read_network(text, (3, 32, 32))
    assert time.process_time() - start < 0.5 and time.perf_counter() - wall < 1.0


def test_the_most_the_import_box_holds_is_refused_before_parsing_and_the_largest_network_is_not() -> None:
    """200,000 characters (the box's limit) of layer calls took seconds to parse before being refused."""
    from cnnviz.network import ReLU
    from cnnviz.network.code import MAX_CALLS
    from cnnviz.network.layers import MAX_LAYERS

    text = ("nn.ReLU(),\n" * 1_000_000)[:200_000]
    start = time.process_time()
    with pytest.raises(ConvConfigError, match=f"makes 18,182 calls.*at most {MAX_CALLS:,}"):
        read_network(text, (3, 32, 32))
    assert time.process_time() - start < 0.2
    largest = Network(tuple([ReLU()] * MAX_LAYERS), (3, 8, 8))
    assert read_network(to_pytorch_code(largest.nodes, (3, 8, 8)), (3, 8, 8)).layers == largest.layers


def test_imported_code_is_what_the_table_can_hold() -> None:
    with pytest.raises(ConvConfigError, match="table cannot hold"):
        read_network("nn.Dropout(p=1e999)", (3, 32, 32))
    assert read_network(to_json(RESNET), (1, 2, 2)) == Network(RESNET.nodes, (3, 224, 224))
