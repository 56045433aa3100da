"""Links on the convolution explorer and the 1D page: set controls, typed grids and picked cells, take the
link, open it in a fresh session, and find the same controls and the same computed output (checked against
PyTorch); tampered links give notes and defaults, never an exception."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from streamlit.testing.v1 import AppTest

from cnnviz.conv.kernels import input_pattern, kernel_preset
from cnnviz.conv.numbers import grid_text, number_text, parse_grid
from cnnviz.errors import ConvConfigError
from tests.app.helpers import charts, controls, link_of, notes, reopen, run, type_into_grid
from tests.plotly_arrays import decode_array

ROOT = Path(__file__).resolve().parents[2]
EXPLORER = str(ROOT / "pages" / "1_Convolution_explorer.py")
CONV1D = str(ROOT / "pages" / "2_Convolution_1D.py")
PICKED = ("cx_row", "cx_col", "cx_in_row", "cx_in_col")


def torch_conv2d(x: np.ndarray, k: np.ndarray, bias: float, stride, padding, mode: str) -> np.ndarray:
    xt = torch.tensor(x)[None, None]
    if mode != "zeros":
        ph, pw = padding
        xt = F.pad(xt, (pw, pw, ph, ph), mode=mode)
        padding = 0
    out = F.conv2d(
        xt, torch.tensor(k)[None, None], torch.tensor([bias], dtype=torch.float64), stride, padding
    )
    return out[0, 0].numpy()


def products(at: AppTest):
    """The table of one output cell's products (the read-only table; the grids are editors)."""
    return next(d for d in at.dataframe if d.editing_mode == "read_only").value


def explorer_output(at: AppTest) -> np.ndarray:
    return decode_array(charts(at)["cx_cell_figure"]["data"][6]["z"]).astype(float)


# --------------------------------------------------------------------------------------------------
# Explorer
# --------------------------------------------------------------------------------------------------


def test_grid_link_text_reads_back_exactly() -> None:
    grid = ((1.0, -0.1, 2.5e-7), (1 / 3, 1e12, 0.0))
    text = grid_text(grid)
    assert text == "1,-0.1,2.5e-07;1/3,1000000000000,0"
    assert tuple(map(tuple, parse_grid(text, (2, 3)).tolist())) == grid
    # Links made before fractions were written as such still read back the same.
    assert parse_grid("1,-0.1,2.5e-07;0.3333333333333333,1e12,0", (2, 3)).tolist() == [list(r) for r in grid]
    # Values whose products would overflow are refused with a message.
    with pytest.raises(ConvConfigError, match="too large"):
        parse_grid("1,1e308", (1, 2))


def explorer_with_everything_set() -> tuple[AppTest, np.ndarray, np.ndarray]:
    """The explorer with sizes, seed, stride, padding, mode, bias, speed, shift, typed grids and picked cells
    set; returns it with the input and kernel it should use."""
    at = run(EXPLORER)
    for key, value in (("cx_in_h", 5), ("cx_in_w", 6), ("cx_seed", 7), ("cx_s_w", 2), ("cx_p_h", 1)):
        at.number_input(key=key).set_value(value)
    at.number_input(key="cx_p_w").set_value(1)
    at.number_input(key="cx_bias").set_value(1.5)
    at.selectbox(key="cx_pad_mode").set_value("reflect")
    at.selectbox(key="cx_in_kind").set_value("typed")
    at.selectbox(key="cx_k_kind").set_value("typed")
    at.select_slider(key="cx_speed").set_value("fast")
    at.run()
    at.slider(key="cx_eq_dy").set_value(-2)
    at.radio(key="cx_eq_fill").set_value("circular")
    type_into_grid(at, "cx_typed_in", {(0, 1): "42"})
    type_into_grid(at, "cx_typed_k", {(1, 0): "-5/2"})
    assert not at.exception and not at.error, [e.value for e in at.error]
    x = input_pattern("random", (5, 6), 7)
    x[0, 1] = 42.0
    k = kernel_preset("identity", (3, 3))
    k[1, 0] = -2.5
    return at, x, k


def test_explorer_link_reopens_the_same_controls_grids_and_output() -> None:
    at, x, k = explorer_with_everything_set()
    # Pick cells by typing, then "click" others: a click writes the four boxes' keys before the run.
    for key, value in zip(PICKED, (0, 1, 2, 2), strict=True):
        at.number_input(key=key).set_value(value)
    at.run()
    assert link_of(at)["cx_col"] == "1"
    for key, value in zip(PICKED, (2, 0, 4, 3), strict=True):
        at.session_state[key] = value
    at.run()
    assert not at.exception
    link = link_of(at)
    # The clicked cells win over the link's older values; a default (0, or the input's centre column 3)
    # leaves the link.
    assert {key: link.get(key) for key in PICKED} == {
        "cx_row": "2",
        "cx_col": None,
        "cx_in_row": "4",
        "cx_in_col": None,
    }
    assert [at.number_input(key=key).value for key in PICKED] == [2, 0, 4, 3]
    assert tuple(map(tuple, parse_grid(link["cx_typed_in"], (5, 6)).tolist())) == tuple(
        map(tuple, x.tolist())
    )
    assert tuple(map(tuple, parse_grid(link["cx_typed_k"], (3, 3)).tolist())) == tuple(map(tuple, k.tolist()))

    expected = torch_conv2d(x, k, 1.5, (1, 2), (1, 1), "reflect")
    np.testing.assert_allclose(explorer_output(at), expected, atol=1e-4)

    again = reopen(at, EXPLORER)
    assert controls(again) == controls(at)
    assert [again.number_input(key=key).value for key in PICKED] == [2, 0, 4, 3]
    np.testing.assert_allclose(explorer_output(again), expected, atol=1e-4)
    assert charts(again) == charts(at)  # same picked output cell, marked input cell, shift and animation
    assert again.metric[0].value == f"{expected[2, 0]:.4g}"
    assert products(again).equals(products(at))
    assert [c.value for c in again.code] == [c.value for c in at.code]


def test_explorer_link_keeps_edits_after_reopening() -> None:
    at, x, k = explorer_with_everything_set()
    again = reopen(at, EXPLORER)
    # Editing the reopened grid works on the link's grid, and the link follows the edit.
    type_into_grid(again, "cx_typed_in", {(4, 5): -9.0})
    assert not again.exception
    x[4, 5] = -9.0
    assert tuple(map(tuple, parse_grid(link_of(again)["cx_typed_in"], (5, 6)).tolist())) == tuple(
        map(tuple, x.tolist())
    )
    expected = torch_conv2d(x, k, 1.5, (1, 2), (1, 1), "reflect")
    np.testing.assert_allclose(explorer_output(again), expected, atol=1e-4)


def test_explorer_lesson_link_opens_its_settings() -> None:
    at = run(EXPLORER, {"cx_s_h": "2", "cx_s_w": "2"})
    assert not notes(at)
    assert explorer_output(at).shape == (3, 3)


def default_explorer_output() -> np.ndarray:
    x = input_pattern("random", (7, 7), 0)
    k = kernel_preset("random integers", (3, 3), 0)
    return torch_conv2d(x, k, 0.0, 1, 0, "zeros")


def test_explorer_garbage_and_out_of_range_values_fall_back_with_notes() -> None:
    link = {
        "cx_in_h": "abc",
        "cx_in_w": "99",
        "cx_s_w": "-1",
        "cx_bias": "1e999",
        "cx_pad_kind": "sideways",
        "cx_pad_mode": "<script>",
        "cx_row": "50",
        "cx_in_col": "7.5",
        "cx_eq_dy": "30",
        "cx_speed": "warp",
    }
    at = run(EXPLORER, link)
    assert not at.error
    shown = notes(at)
    assert len(shown) == len(link), shown
    for label in (
        "'Input height'",
        "'Stride width'",
        "'Bias'",
        "'Padding'",
        "'Padding mode'",
        "'output row'",
        "'Speed'",
    ):
        assert any(label in note for note in shown), label
    assert at.number_input(key="cx_in_h").value == 7 and at.number_input(key="cx_row").value == 0
    assert at.slider(key="cx_eq_dy").value == 1 and at.select_slider(key="cx_speed").value == "medium"
    np.testing.assert_allclose(explorer_output(at), default_explorer_output(), atol=1e-4)
    assert at.number_input(key="cx_in_col").value == 3  # the input's centre, where the page starts
    assert link_of(at) == {}


def test_explorer_malformed_and_huge_grids_fall_back_with_notes() -> None:
    huge = ";".join([",".join(["1"] * 300)] * 300)
    for bad in ("1,2;3", "1,2,x;" * 6 + "1", "nan," * 6 + "0;" * 6, huge, ";;;", ""):
        at = run(EXPLORER, {"cx_in_h": "3", "cx_in_w": "3", "cx_in_kind": "typed", "cx_typed_in": bad})
        assert not at.error
        assert len(notes(at)) == 1 and "'Typed input values'" in notes(at)[0], notes(at)
        x = input_pattern("random", (3, 3), 0)
        k = kernel_preset("random integers", (3, 3), 0)
        np.testing.assert_allclose(explorer_output(at), torch_conv2d(x, k, 0.0, 1, 0, "zeros"), atol=1e-4)
        assert "cx_typed_in" not in link_of(at)
    at = run(EXPLORER, {"cx_k_kind": "typed", "cx_typed_k": "1,2,3;4,5,6"})  # 2x3 for a 3x3 kernel
    assert len(notes(at)) == 1 and "'Typed kernel values'" in notes(at)[0]
    x = input_pattern("random", (7, 7), 0)
    np.testing.assert_allclose(explorer_output(at), x[1:-1, 1:-1], atol=1e-4)  # the identity it starts as


# --------------------------------------------------------------------------------------------------
# 1D
# --------------------------------------------------------------------------------------------------


def conv1d_output(at: AppTest) -> np.ndarray:
    return decode_array(charts(at)["c1_signals"]["data"][1]["y"]).astype(float)


def test_conv1d_link_reopens_the_same_controls_and_output() -> None:
    at = run(CONV1D)
    at.selectbox(key="c1_signal").set_value("typed")
    at.selectbox(key="c1_kernel").set_value("typed")
    at.radio(key="c1_pad_kind").set_value("per side")
    at.run()
    at.text_area(key="c1_signal_text_typed").set_value("1 2 3 4 5 6 7 8 9")
    at.text_input(key="c1_kernel_text_typed").set_value("1, 0, -2")
    at.number_input(key="c1_pad_l").set_value(2)
    at.number_input(key="c1_pad_r").set_value(0)
    at.number_input(key="c1_stride").set_value(2)
    at.number_input(key="c1_bias").set_value(0.5)
    at.selectbox(key="c1_mode").set_value("replicate")
    at.run()
    at.number_input(key="c1_pos").set_value(3)
    at.run()
    assert not at.exception and not at.error
    link = link_of(at)
    assert link["c1_signal_text_typed"] == "1 2 3 4 5 6 7 8 9" and link["c1_pos"] == "3"

    x = F.pad(torch.arange(1, 10, dtype=torch.float64)[None, None], (2, 0), mode="replicate")
    w = torch.tensor([[[1.0, 0.0, -2.0]]], dtype=torch.float64)
    expected = F.conv1d(x, w, torch.tensor([0.5], dtype=torch.float64), stride=2)[0, 0].numpy()
    np.testing.assert_allclose(conv1d_output(at), expected, atol=1e-6)

    again = reopen(at, CONV1D)
    assert controls(again) == controls(at)
    assert again.text_area(key="c1_signal_text_typed").value == "1 2 3 4 5 6 7 8 9"
    np.testing.assert_allclose(conv1d_output(again), expected, atol=1e-6)
    assert charts(again) == charts(at)
    assert [c.value for c in again.code] == [c.value for c in at.code]
    assert again.code[0].value.endswith(f"= {number_text(expected[3], fractions=False)}")


def test_conv1d_tampered_links_fall_back_with_notes() -> None:
    link = {
        "c1_signal": "typed",
        "c1_signal_text_typed": "1, two, 3",
        "c1_kernel": "typed",
        "c1_kernel_text_typed": ", ".join(["1"] * 16),  # one tap more than a kernel may have
        "c1_stride": "99",
        "c1_dilation": "two",
        "c1_mode": "mirror",
        "c1_pos": "-3",
    }
    at = run(CONV1D, link)
    assert not at.error
    shown = notes(at)
    assert len(shown) == 6, shown
    assert at.text_area(key="c1_signal_text_typed").value == "1, 2, 3, 4, 5, 6"
    assert at.text_input(key="c1_kernel_text_typed").value == "1, 0, -1"
    assert at.number_input(key="c1_stride").value == 1 and at.selectbox(key="c1_mode").value == "zeros"
    x = torch.arange(1, 7, dtype=torch.float64)[None, None]
    expected = F.conv1d(x, torch.tensor([[[1.0, 0.0, -1.0]]], dtype=torch.float64), padding=1)[0, 0].numpy()
    np.testing.assert_allclose(conv1d_output(at), expected, atol=1e-6)
    assert link_of(at) == {"c1_signal": "typed", "c1_kernel": "typed"}


def test_conv1d_huge_typed_text_is_refused_with_a_note() -> None:
    at = run(CONV1D, {"c1_signal": "typed", "c1_signal_text_typed": "1," * 50_000})
    assert not at.error
    assert len(notes(at)) == 1 and "'Values (comma separated)'" in notes(at)[0]
    assert "…" in notes(at)[0]  # quoted back shortened
    assert "c1_signal_text_typed" not in link_of(at)
