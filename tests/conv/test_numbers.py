"""Typed numbers, lists and grids, and numbers written so that a dot product adds up."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cnnviz.conv.numbers import grid_text, number_text, parse_grid, parse_number, parse_numbers, size_text
from cnnviz.errors import ConvConfigError


@pytest.mark.parametrize(
    ("text", "value"),
    [("3", 3.0), ("-0.5", -0.5), ("1e-3", 0.001), ("1/16", 0.0625), ("-2/8", -0.25), ("(1+2)/8", 0.375),
     ("2*0.5", 1.0), (" 4 ", 4.0), ("−1", -1.0), ("1÷4", 0.25), ("+7", 7.0)],
)  # fmt: skip
def test_parse_number_reads_what_lectures_write(text: str, value: float) -> None:
    assert parse_number(text) == value


@pytest.mark.parametrize(
    "text",
    ["", "  ", "abc", "1/0", "²", "nan", "inf", "1e400", "__import__('os')", "2**3", "1,5", "x+1",
     "(" * 30 + "1" + ")" * 30, "1" * 50, "1e308*10", "9" * 16, "[1]", "1 if 1 else 2", "lambda: 1"],
)  # fmt: skip
def test_parse_number_refuses_anything_else_with_a_message(text: str) -> None:
    with pytest.raises(ConvConfigError) as err:
        parse_number(text, "kernel")
    assert err.value.argument == "kernel" and "kernel" in str(err.value)


def test_a_comma_decimal_is_explained() -> None:
    with pytest.raises(ConvConfigError, match="decimal point"):
        parse_number("0,5")


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_parse_number_never_raises_anything_but_a_config_error(text: str) -> None:
    try:
        value = parse_number(text)
    except ConvConfigError:
        return
    assert np.isfinite(value) and abs(value) <= 1e15


def test_lecture_003_gaussian_types_as_written() -> None:
    grid = parse_grid("1/16 2/16 1/16; 2/16 4/16 2/16; 1/16 2/16 1/16", (3, 3))
    np.testing.assert_array_equal(grid, np.outer([1, 2, 1], [1, 2, 1]) / 16)


def test_parse_grid_checks_the_shape_and_reads_a_flat_list_row_by_row() -> None:
    np.testing.assert_array_equal(parse_grid("1 2 3 4", (2, 2)), [[1, 2], [3, 4]])
    np.testing.assert_array_equal(parse_grid("1,2;3,4"), [[1, 2], [3, 4]])
    with pytest.raises(ConvConfigError, match="same number of values"):
        parse_grid("1 2; 3")
    with pytest.raises(ConvConfigError, match="2×3 grid"):
        parse_grid("1 2; 3 4", (2, 3))
    with pytest.raises(ConvConfigError, match="at most"):
        parse_grid("1," * 20_000)


def test_parse_numbers_takes_commas_spaces_and_semicolons() -> None:
    assert parse_numbers("1, 2.5 -3;4 1/4").tolist() == [1, 2.5, -3, 4, 0.25]
    with pytest.raises(ConvConfigError, match="at least one"):
        parse_numbers(" , ")


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.lists(st.floats(-1e12, 1e12, allow_nan=False), min_size=3, max_size=3), min_size=1, max_size=4
    )
)
def test_grid_text_reads_back_bit_for_bit(rows: list[list[float]]) -> None:
    grid = np.array(rows)
    np.testing.assert_array_equal(parse_grid(grid_text(grid), grid.shape), grid)


@pytest.mark.parametrize(
    ("value", "text"),
    [(8.0, "8"), (-2.0, "-2"), (2.0000000000000004, "2"), (0.25, "0.25"), (1 / 3, "1/3"), (-2 / 9, "-2/9"),
     (0.0625, "0.0625"), (3.14159265, "3.142"), (20.7 / 3, "6.9"), (0.0, "0")],
)  # fmt: skip
def test_number_text_writes_numbers_as_a_person_would(value: float, text: str) -> None:
    assert number_text(value) == text


@settings(max_examples=300, deadline=None)
@given(st.integers(-50, 50), st.integers(1, 64))
def test_a_fraction_written_reads_back_to_the_same_value(p: int, q: int) -> None:
    value = p / q
    assert abs(parse_number(number_text(value)) - value) <= 1e-4 * max(1, abs(value))
    if Fraction(p, q).denominator > 1 and "/" in number_text(value):
        assert parse_number(number_text(value)) == value


def test_sizes_are_height_by_width() -> None:
    picture = np.zeros((3, 5))  # 3 rows (height), 5 columns (width), as PyTorch's (H, W)
    assert size_text(*picture.shape) == "3×5"
    assert size_text(np.int64(12), 7) == "12×7"
