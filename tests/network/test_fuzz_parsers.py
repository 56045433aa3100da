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


@pytest.mark.parametrize(
    "text",
    [
        "[" * 100_000 + "]" * 100_000,
        '{"input_size": [3, 32, 32], "layers": [{"type": "Linear", "in_features": ' + "9" * 5000 + "}]}",
        "x = " + "1 + " * 50_000 + "1",
        "(" * 5000 + ")" * 5000,
        "nn.Linear(" + "-" * 100_000 + "1, 2)",
    ],
    ids=["deep-json", "5000-digit-int", "long-expression", "deep-parens", "deep-unary"],
)
def test_hostile_text_is_refused_with_a_message(text: str) -> None:
    for parse in (from_json, from_pytorch_code, lambda t: read_network(t, (3, 32, 32))):
        only_clean_errors(parse, text)


def test_a_million_pasted_layers_are_refused_before_parsing() -> None:
    text = "nn.ReLU(),\n" * 1_000_000
    start = time.process_time()
    with pytest.raises(ConvConfigError, match="too long"):
        read_network(text, (3, 32, 32))
    assert time.process_time() - start < 0.5


def test_imported_code_is_what_the_table_can_hold() -> None:
    with pytest.raises(ConvConfigError, match="table cannot hold"):
        read_network("nn.Dropout(p=1e999)", (3, 32, 32))
    assert read_network(to_json(RESNET), (1, 2, 2)) == Network(RESNET.nodes, (3, 224, 224))
