"""A person's own input for the model: pictures resized like an area-average pool (PyTorch as the oracle),
text grids that round-trip, and clear errors for everything else."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from cnnviz.errors import ConvConfigError
from cnnviz.training.datasets import load_dataset
from cnnviz.training.inputs import (
    INK_LEVELS,
    grid_from_drawing,
    grid_from_input,
    grid_shape,
    grid_text,
    image_to_input,
    ink_text,
    input_from_grid,
    parse_grid_text,
)


def _stretch(x: np.ndarray) -> np.ndarray:
    low, high = x.min(), x.max()
    return (x - low) / (high - low) if high - low > 1e-6 else np.zeros_like(x)


@settings(max_examples=40, deadline=None)
@given(
    factor=st.integers(1, 6),
    out=st.sampled_from([(8, 8), (28, 28), (6, 10)]),
    seed=st.integers(0, 2**16),
    invert=st.booleans(),
)
def test_a_grey_picture_becomes_torchs_area_average_stretched_to_0_1(factor, out, seed, invert) -> None:
    h, w = out
    grey = np.random.default_rng(seed).integers(0, 256, (h * factor, w * factor), dtype=np.uint8)
    rgb = np.stack([grey] * 3, axis=-1)
    x = image_to_input(rgb, (1, h, w), invert=invert)
    pooled = F.adaptive_avg_pool2d(torch.tensor(grey, dtype=torch.float64)[None, None] / 255, (h, w))[0, 0]
    expected = pooled.numpy()
    expected = _stretch(1 - expected if invert else expected)
    assert x.shape == (1, h, w) and x.dtype == np.float32
    assert np.abs(x[0] - expected).max() < 3 / 255 / max(1e-3, np.ptp(pooled.numpy()))  # PIL rounds to uint8
    assert x.min() >= 0 and x.max() <= 1


def test_dark_ink_on_white_paper_is_inverted_by_the_guess() -> None:
    digit = load_dataset("digits").x_test[4][0]  # bright ink on black, (8, 8) in [0, 1]
    paper = (255 - np.kron(digit, np.ones((10, 10))) * 255).round().astype(np.uint8)
    x = image_to_input(np.stack([paper] * 3, -1), (1, 8, 8))
    assert np.abs(x[0] - _stretch(digit)).max() < 0.02
    not_inverted = image_to_input(np.stack([paper] * 3, -1), (1, 8, 8), invert=False)
    assert np.abs(not_inverted[0] - _stretch(1 - digit)).max() < 0.02


def test_pictures_are_refused_for_signals_and_bad_arrays() -> None:
    rgb = np.zeros((16, 16, 3), dtype=np.uint8)
    with pytest.raises(ConvConfigError, match="signals, not pictures"):
        image_to_input(rgb, (1, 40))
    with pytest.raises(ConvConfigError, match="uint8"):
        image_to_input(rgb.astype(np.float32), (1, 8, 8))
    assert not image_to_input(rgb, (1, 8, 8)).any()  # a flat picture has no ink: all zeros, no NaN


@pytest.mark.parametrize(
    ("name", "shape", "cells"), [("digits", (1, 8, 8), (8, 8)), ("shapes", (1, 28, 28), (14, 14))]
)
def test_grids_have_one_cell_per_pixel_or_per_2x2_block(name, shape, cells) -> None:
    x = load_dataset(name).x_test[0]
    grid = grid_from_input(x, shape)
    assert grid.shape == cells and grid.min() >= 0 and grid.max() <= INK_LEVELS
    pooled = F.avg_pool2d(torch.tensor(x, dtype=torch.float64)[None], shape[1] // cells[0])[0, 0].numpy()
    assert np.array_equal(grid, np.clip(np.rint(pooled * INK_LEVELS), 0, INK_LEVELS))
    back = input_from_grid(grid, shape)
    c = shape[1] // cells[0]
    assert back.shape == shape
    assert np.array_equal(back[0], np.kron(grid / INK_LEVELS, np.ones((c, c))).astype(np.float32))
    assert np.abs(back[0] - np.kron(pooled, np.ones((c, c)))).max() <= 0.5 / INK_LEVELS + 1e-6


@settings(max_examples=30, deadline=None)
@given(grid=st.lists(st.lists(st.integers(0, INK_LEVELS), min_size=8, max_size=8), min_size=8, max_size=8))
def test_grid_text_round_trips(grid) -> None:
    g = np.array(grid)
    x = input_from_grid(g, (1, 8, 8))
    text = grid_text(x, (1, 8, 8))
    assert len(text.splitlines()) == 8 and all(len(line) == 8 for line in text.splitlines())
    assert np.array_equal(parse_grid_text(text, (1, 8, 8)), x)
    assert np.array_equal(grid_from_input(x, (1, 8, 8)), g)


def test_a_signal_round_trips_through_text_to_two_decimals() -> None:
    x = load_dataset("mnist1d").x_test[0]
    text = grid_text(x, (1, 40))
    back = parse_grid_text(text, (1, 40))
    assert back.shape == (1, 40) and np.abs(back - x).max() <= 0.005 + 1e-6


@pytest.mark.parametrize(
    ("text", "shape", "message"),
    [
        ("....\n", (1, 8, 8), "needs 8 rows of 8 cells"),
        ("........\n" * 3 + "......\n" + "........\n" * 4, (1, 8, 8), "row 4 has 6 cells"),
        ("........\n" * 7 + "-.......\n", (1, 8, 8), "row 8, column 1 holds '-'"),
        ("1, 2, 3", (1, 40), "expected 40 values"),
        ("1, 2, x", (1, 40), "numbers separated by commas"),
        (", ".join(["1e9"] * 40), (1, 40), "between -1000 and 1000"),
    ],
)
def test_bad_grids_say_what_is_wrong(text, shape, message) -> None:
    with pytest.raises(ConvConfigError, match=message):
        parse_grid_text(text, shape)


def test_ink_levels_outside_0_to_9_name_the_cell() -> None:
    grid = np.zeros((8, 8))
    grid[2, 5] = 12
    with pytest.raises(ConvConfigError, match="row 2, column 5 holds 12"):
        input_from_grid(grid, (1, 8, 8))


SHAPES = [(1, 8, 8), (1, 28, 28), (1, 40)]


def parses_cleanly(text: str, shape: tuple[int, ...]) -> None:
    """parse_grid_text gives one finite float32 sample of `shape` in range, or a ConvConfigError."""
    try:
        x = parse_grid_text(text, shape)
    except ConvConfigError as exc:
        assert exc.argument == "input" and len(str(exc)) < 300
        return
    assert x.shape == shape and x.dtype == np.float32 and np.isfinite(x).all()
    if len(shape) == 3:
        assert x.min() >= 0 and x.max() <= 1
    else:
        assert np.abs(x).max(initial=0) <= 1000


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("odd", ["²", "³", "٣", "৫", "Ⅷ", "½", "𝟗", "\x00", "\u200b", "-1", "+1"])
def test_digits_that_are_not_ascii_digits_are_refused_naming_the_cell(odd: str, shape) -> None:
    """'²'.isdigit() is True but int('²') fails: every cell that is not . or 0-9 is named, never a crash."""
    text = grid_text(
        load_dataset({3: "digits" if shape[1] == 8 else "shapes", 2: "mnist1d"}[len(shape)]).x_test[0], shape
    )
    if len(shape) == 3:
        lines = text.splitlines()
        lines[2] = odd[0] + lines[2][1:]
        with pytest.raises(ConvConfigError, match="row 3, column 1 holds"):
            parse_grid_text("\n".join(lines), shape)
    else:
        parses_cleanly(text.replace(text.split(",")[0], odd, 1), shape)


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(text=st.text(max_size=400), shape=st.sampled_from(SHAPES))
def test_any_text_parses_to_a_sample_or_a_clean_error(text: str, shape) -> None:
    parses_cleanly(text, shape)


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(
    shape=st.sampled_from(SHAPES),
    sample=st.integers(0, 300),
    edits=st.lists(st.tuples(st.floats(0, 1), st.text(max_size=3)), min_size=1, max_size=4),
)
def test_edited_real_grids_parse_to_a_sample_or_a_clean_error(shape, sample: int, edits) -> None:
    name = {(1, 8, 8): "digits", (1, 28, 28): "shapes", (1, 40): "mnist1d"}[shape]
    text = grid_text(load_dataset(name).x_test[sample], shape)
    for where, insert in edits:
        i = int(where * len(text))
        text = text[:i] + insert + text[i + 1 :]
    parses_cleanly(text, shape)


def test_an_oversized_drawing_is_refused_before_it_is_read() -> None:
    with pytest.raises(ConvConfigError, match="characters long"):
        parse_grid_text("9" * 1_000_000, (1, 8, 8))


# -- what the drawing pad sends: {"rows": [[level, ...], ...], "stroke": n}, untrusted JSON from the browser --

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=9) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=80,
)


def drawn(grid) -> dict:
    return {"rows": [list(row) for row in grid], "stroke": 1}


@pytest.mark.parametrize(("shape", "cells"), [((1, 8, 8), (8, 8)), ((1, 28, 28), (14, 14))])
def test_a_drawing_is_the_same_grid_as_the_text_grid(shape, cells) -> None:
    grid = np.random.default_rng(0).integers(0, INK_LEVELS + 1, cells)
    assert grid_shape(shape) == cells
    got = grid_from_drawing(drawn(grid.tolist()), shape)
    assert got.dtype == np.int64 and np.array_equal(got, grid)
    x = parse_grid_text(ink_text(got), shape)  # the text the pad's stroke becomes
    assert np.array_equal(x, input_from_grid(grid, shape))
    assert np.array_equal(grid_from_input(x, shape), grid)  # and the grid the pad is drawn from


def test_ink_text_is_the_text_grid_of_a_sample() -> None:
    x = load_dataset("digits").x_test[7]
    assert ink_text(grid_from_input(x, (1, 8, 8))) == grid_text(x, (1, 8, 8))


def test_fractional_levels_from_the_pad_round_to_whole_levels() -> None:
    grid = [[0.0] * 8 for _ in range(8)]
    grid[1][2], grid[3][4], grid[5][6] = 8.6, 0.4, 9.0
    got = grid_from_drawing(drawn(grid), (1, 8, 8))
    assert (got[1, 2], got[3, 4], got[5, 6]) == (9, 0, 9)


def _with(cell: object, row: int = 2, col: int = 5) -> dict:
    grid: list[list[object]] = [[0] * 8 for _ in range(8)]
    grid[row][col] = cell
    return drawn(grid)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (None, r"not a drawing \(got NoneType\)"),
        ("........", r"not a drawing \(got str\)"),
        ([[0] * 8] * 8, r"not a drawing \(got list\)"),  # the rows alone, not in {"rows": ...}
        ({"rows": "0" * 64}, "not a drawing"),
        ({"stroke": 3}, "not a drawing"),
        (drawn([[0] * 8] * 7), "sent 7 rows; this model's grid is 8 rows of 8 cells"),
        (drawn([[0] * 8] * 7 + [[0] * 9]), "sent rows of another length"),
        ({"rows": [[0] * 8] * 7 + ["0" * 8]}, "sent rows of another length"),
        (drawn([]), "sent 0 rows"),
        (_with(float("nan")), "row 3, column 6 holds nan"),
        (_with(float("inf")), "row 3, column 6 holds inf"),
        (_with(-float("inf")), "holds -inf"),
        (_with(1e308), r"holds 1e\+308"),
        (_with(10**400), "holds a huge number"),
        (_with(-1), "ink levels go from 0 to 9: the drawing's row 3, column 6 holds -1"),
        (_with(9.5), "holds 9.5"),
        (_with(True), r"row 3, column 6 is not a number \(got bool\)"),
        (_with("5"), r"is not a number \(got str\)"),
        (_with(None), r"is not a number \(got NoneType\)"),
        (_with([1]), r"is not a number \(got list\)"),
    ],
)
def test_a_tampered_drawing_is_refused_with_what_is_wrong(value, message) -> None:
    with pytest.raises(ConvConfigError, match=message) as caught:
        grid_from_drawing(value, (1, 8, 8))
    assert caught.value.argument == "input" and len(str(caught.value)) < 200


def test_a_huge_drawing_is_refused_by_its_length_before_its_cells_are_read() -> None:
    rows = [[0] * 8] * 10**6  # one list repeated: cheap to build, costly if every cell were read
    with pytest.raises(ConvConfigError, match="sent 1000000 rows"):
        grid_from_drawing({"rows": rows}, (1, 8, 8))


def test_signals_have_no_drawing_pad() -> None:
    with pytest.raises(ConvConfigError, match="signals, not pictures"):
        grid_from_drawing(drawn([[0] * 8] * 8), (1, 40))


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(value=JSON_VALUES | st.builds(lambda rows: {"rows": rows}, JSON_VALUES))
def test_any_json_from_the_pad_is_a_grid_or_a_clean_error(value) -> None:
    try:
        grid = grid_from_drawing(value, (1, 8, 8))
    except ConvConfigError as exc:
        assert exc.argument == "input" and len(str(exc)) < 200
        return
    assert grid.shape == (8, 8) and grid.min() >= 0 and grid.max() <= INK_LEVELS
