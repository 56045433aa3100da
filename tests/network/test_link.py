"""A stack in a link: every layer type and value survives the round trip, the text is URL-safe, and bad,
oversized or overlong text is refused with ConvConfigError."""

from __future__ import annotations

import re
from dataclasses import fields
from urllib.parse import quote_plus

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cnnviz.errors import ConvConfigError
from cnnviz.network.layers import LAYER_TYPES, MAX_LAYERS, Conv2d, Linear, ReLU, layer_for
from cnnviz.network.link import KIND_CODES, MAX_LINK_CHARS, stack_from_link, stack_to_link
from cnnviz.network.presets import PRESETS
from cnnviz.network.summary_table import summarize

SAFE = re.compile(r"[A-Za-z0-9._-]*")

ints = st.integers(-(10**20), 10**20)
floats = st.floats(allow_nan=False, width=64)
scalars = st.one_of(
    ints,
    floats,
    st.booleans(),
    st.none(),
    st.sampled_from(["zeros", "same", "valid", "reflect", "x", "m", "T", "inf", "Zeros 2", "é'\"", ""]),
)
values = st.one_of(scalars, st.tuples(ints, ints), st.lists(scalars, min_size=1, max_size=3).map(tuple))


@st.composite
def layers(draw: st.DrawFn) -> object:
    """Any layer type with any literal values in any of its arguments (PyTorch's checks come later)."""
    kind = draw(st.sampled_from(sorted(LAYER_TYPES)))
    cls = LAYER_TYPES[kind]
    base = layer_for(kind, draw(st.sampled_from([None, (3, 8, 8), (4, 10), (7,)])))
    changed = {f.name: draw(values) for f in fields(cls) if draw(st.booleans())}  # type: ignore[arg-type]
    return cls(**{**base.arguments(), **changed})


def test_every_type_has_its_own_code() -> None:
    assert set(KIND_CODES) == set(LAYER_TYPES)
    assert len(set(KIND_CODES.values())) == len(KIND_CODES)


@pytest.mark.parametrize("name", list(PRESETS))
def test_every_preset_round_trips_with_the_same_summary(name: str) -> None:
    network = PRESETS[name].network
    text = stack_to_link(network.layers)
    assert SAFE.fullmatch(text) and quote_plus(text) == text  # nothing to escape in a query string
    back = stack_from_link(text)
    assert back == network.layers
    again = summarize(back, network.input_size, 2)
    first = summarize(network.layers, network.input_size, 2)
    assert str(again) == str(first) and again.total_params == first.total_params


def test_the_link_is_short() -> None:
    stack = (Conv2d(3, 16, 3, padding=1), ReLU(), Linear(240, 10))
    assert stack_to_link(stack) == "c2_3_16_3__1-r-l_240_10"
    assert len(stack_to_link(PRESETS["VGG-16"].network.layers)) < 500


@settings(max_examples=300, deadline=None)
@given(st.lists(layers(), max_size=6))
def test_any_stack_round_trips_in_url_safe_text(stack: list) -> None:
    text = stack_to_link(stack)
    assert SAFE.fullmatch(text), text
    assert stack_from_link(text) == tuple(stack)


@pytest.mark.parametrize(
    "text",
    [
        "zz_1",  # unknown type code
        "c2_3_16_3_1_1_1_1_T_zeros_9_9",  # more arguments than Conv2d has
        "c2_3_16_%%",  # a token that is no value
        "c2_3_16_Xzz",  # broken hex
        "c2_3_16_X" + b"__import__('os')".hex(),  # code, not a literal: refused by the parser
        "c2_3_16_3-",  # an empty layer
        "c2_3_16_3_1_1_1_1_T_zeros" + "-r" * MAX_LAYERS,  # too many layers
        "l_" + "1" * (MAX_LINK_CHARS + 1),  # oversized
        "c2_3_16_3__1--r",
    ],
)
def test_bad_text_is_refused(text: str) -> None:
    with pytest.raises(ConvConfigError):
        stack_from_link(text)


def test_the_empty_stack_is_empty_text() -> None:
    assert stack_to_link(()) == "" and stack_from_link("") == ()
