"""The lectures' worked examples typed into the convolution pages: the explorer (2D), the 1D page, pooling
and the quiz. Every value is typed into the page's own boxes and grids, as a student replaying a slide
would, and the numbers the page then shows are checked (against PyTorch where it computes them).

README, "The lectures' examples, typed in", lists each example with its page and what to type.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from streamlit.testing.v1 import AppTest

from tests.app.helpers import page_path, run, type_into_grid
from tests.plotly_arrays import decode_array

EXPLORER, CONV1D, POOLING, QUIZ = (page_path(p) for p in ("Convolution_explorer", "Convolution_1D",
                                                           "Pooling", "Convolution_quiz"))  # fmt: skip
X_0_TO_8 = [[0, 1, 2], [3, 4, 5], [6, 7, 8]]
K_0_TO_3 = [[0, 1], [2, 3]]


def cells_of(grid: list[list[float]]) -> dict[tuple[int, int], str]:
    return {(r, c): str(v) for r, row in enumerate(grid) for c, v in enumerate(row)}


def chart(at: AppTest, key: str) -> dict:
    (found,) = [c for c in at.get("plotly_chart") if c.key == key]
    return json.loads(found.proto.spec)


def clean(at: AppTest) -> AppTest:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    return at


# --------------------------------------------------------------------------------------------------
# The explorer (cx_): sizes, typed grids, the one-cell equation, the matrix view
# --------------------------------------------------------------------------------------------------


def explorer(**numbers: int) -> AppTest:
    """The explorer with these number boxes typed in (in_h=5 types 5 into cx_in_h), then run."""
    at = run(EXPLORER)
    for key, value in numbers.items():
        at.number_input(key=f"cx_{key}").set_value(value)
    return clean(at.run())


def typed_explorer(x: list[list[float]], k: list[list[float]], **numbers: int) -> AppTest:
    """The explorer on a typed input `x` and kernel `k`, with further number boxes typed in."""
    at = run(EXPLORER)
    at.number_input(key="cx_in_h").set_value(len(x))
    at.number_input(key="cx_in_w").set_value(len(x[0]))
    at.number_input(key="cx_k_h").set_value(len(k))
    at.number_input(key="cx_k_w").set_value(len(k[0]))
    at.selectbox(key="cx_in_kind").set_value("typed")
    at.selectbox(key="cx_k_kind").set_value("typed")
    at.radio(key="cx_pad_kind").set_value("number")
    at.run()
    type_into_grid(at, "cx_typed_in", cells_of(x))
    type_into_grid(at, "cx_typed_k", cells_of(k))
    for key, value in numbers.items():
        at.number_input(key=f"cx_{key}").set_value(value)
    return clean(at.run())


def explorer_output(at: AppTest) -> np.ndarray:
    return decode_array(chart(at, "cx_cell_figure")["data"][6]["z"]).astype(float)


def output_size_shown(at: AppTest) -> tuple[int, int]:
    return explorer_output(at).shape


def equation(at: AppTest) -> str:
    return at.code[0].value


def pick(at: AppTest, row: int, col: int) -> AppTest:
    at.number_input(key="cx_row").set_value(row)
    at.number_input(key="cx_col").set_value(col)
    return clean(at.run())


def test_003_cross_correlation_typed_in_gives_19_25_37_43() -> None:
    """Lecture 003, "2-D Convolution Layer": [[0,1,2],[3,4,5],[6,7,8]] * [[0,1],[2,3]] = [[19,25],[37,43]],
    and output (0, 0) is 0×0 + 1×1 + 3×2 + 4×3 = 19."""
    at = typed_explorer(X_0_TO_8, K_0_TO_3)
    np.testing.assert_array_equal(explorer_output(at), [[19, 25], [37, 43]])
    assert equation(at) == "0×0 + 1×1 + 3×2 + 4×3 = 19"
    assert at.metric[0].value == "19"
    pick(at, 1, 1)
    assert equation(at).endswith("= 43")


def test_003_padding_1_adds_a_ring_of_zeros_and_the_corner_is_0() -> None:
    """Lecture 003, "Padding": the same example padded by 1: a 4 x 4 output, corner 0×0 + 0×1 + 0×2 + 0×3."""
    at = typed_explorer(X_0_TO_8, K_0_TO_3, p_h=1, p_w=1)
    out = explorer_output(at)
    x = torch.tensor(X_0_TO_8, dtype=torch.float64)[None, None]
    w = torch.tensor(K_0_TO_3, dtype=torch.float64)[None, None]
    np.testing.assert_array_equal(out, F.conv2d(x, w, padding=1)[0, 0].numpy())
    assert out.shape == (4, 4) and out[0, 0] == 0
    assert equation(at).startswith("0×0 + 0×1 + 0×2 + 0×3")
    terms = next(d.value for d in at.dataframe if "padding" in d.value.columns)
    assert list(terms["padding"]) == ["yes", "yes", "yes", ""]


def test_003_strides_3_and_2_give_the_slides_8_and_6() -> None:
    """Lecture 003, "Stride": strides 3 (rows) and 2 (columns) with padding 1: 0×0 + 0×1 + 1×2 + 2×3 = 8 and
    0×0 + 6×1 + 0×2 + 0×3 = 6; the output is [[0, 8], [6, 8]]."""
    at = typed_explorer(X_0_TO_8, K_0_TO_3, p_h=1, p_w=1, s_h=3, s_w=2)
    np.testing.assert_array_equal(explorer_output(at), [[0, 8], [6, 8]])
    pick(at, 0, 1)
    assert equation(at) == "0×0 + 0×1 + 1×2 + 2×3 = 8"
    pick(at, 1, 0)
    assert equation(at) == "0×0 + 6×1 + 0×2 + 0×3 = 6"


@pytest.mark.parametrize(
    ("kernel", "flat_gives"),
    [([[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]], 0.0), ([[0, -1, 0], [-1, 5, -1], [0, -1, 0]], 7.0),
     ([["1/16", "2/16", "1/16"], ["2/16", "4/16", "2/16"], ["1/16", "2/16", "1/16"]], 7.0)],
    ids=["edge-detection", "sharpen", "gaussian-blur"],
)  # fmt: skip
def test_003_edge_sharpen_blur_kernels_typed_on_a_flat_input(kernel: list, flat_gives: float) -> None:
    """Lecture 003, "Examples": on a flat patch of 7s, edge detection gives 0, sharpen and blur keep 7."""
    at = typed_explorer([[7] * 5] * 5, kernel)
    np.testing.assert_allclose(explorer_output(at), np.full((3, 3), flat_gives), atol=1e-12)


@pytest.mark.parametrize(
    ("numbers", "size"),
    [({"in_h": 28, "in_w": 28}, (26, 26)), ({"in_h": 28, "in_w": 28, "p_h": 1, "p_w": 1}, (28, 28)),
     ({"in_h": 32, "in_w": 32, "k_h": 5, "k_w": 5}, (28, 28)),
     ({"in_h": 12, "in_w": 12}, (10, 10)), ({"in_h": 12, "in_w": 12, "s_h": 2, "s_w": 2}, (5, 5)),
     ({"in_h": 12, "in_w": 12, "d_h": 3, "d_w": 3}, (6, 6))],
    ids=["000-28x28-3x3-is-26x26", "000-padding-1-keeps-28x28", "003-32x32-5x5-is-28x28",
         "004-12x12-3x3-is-10x10", "004-stride-2-is-5x5", "004-dilation-3-is-6x6"],
)  # fmt: skip
def test_output_sizes_typed_into_the_explorer(numbers: dict[str, int], size: tuple[int, int]) -> None:
    """Lecture 000 "Padding", lecture 003 "Padding", lecture 004 "Kernel Size"/"Stride"/"Dilation": the size
    the page shows, and its formula H_out = floor((H_in + 2P - D(K - 1) - 1)/S + 1) with the numbers in."""
    at = explorer(**numbers)
    assert output_size_shown(at) == size
    steps = " ".join(e.value for e in at.latex)
    assert f"= {size[0]}" in steps.replace("{", "").replace("}", "")
    k = (numbers.get("k_h", 3), numbers.get("k_w", 3))
    assert f"{k[0]}×{k[1]} weights + 1 bias = **{k[0] * k[1] + 1}**" in " ".join(m.value for m in at.markdown)


def test_004_a_4x4_input_and_3x3_kernel_as_a_4x16_matrix_with_9_weights_vs_64() -> None:
    """Lecture 004, "Parameter Sharing": the 4 x 4 input, a 3 x 3 kernel, four outputs: a 4 x 16 matrix whose
    row 0 holds k11..k33 at columns 0-2, 4-6, 8-10; the dense layer has 16 x 4 = 64 weights (+4 biases)."""
    k = [[11, 12, 13], [21, 22, 23], [31, 32, 33]]
    at = typed_explorer([[0] * 4] * 4, k)
    matrix = np.nan_to_num(decode_array(chart(at, "cx_matrix")["data"][0]["z"]).astype(float))
    assert matrix.shape == (4, 16)
    assert list(np.nonzero(matrix[0])[0]) == [0, 1, 2, 4, 5, 6, 8, 9, 10]
    assert matrix[0, [0, 1, 2, 4, 5, 6, 8, 9, 10]].tolist() == [11, 12, 13, 21, 22, 23, 31, 32, 33]
    assert list(np.nonzero(matrix[3])[0]) == [5, 6, 7, 9, 10, 11, 13, 14, 15]
    shown = {m.label: m.value for m in at.metric}
    assert shown["convolution parameters"] == "10" and shown["fully connected parameters"] == "68"


# --------------------------------------------------------------------------------------------------
# The 1D page (c1_): template matching, the 12-sample signal, banded matrices
# --------------------------------------------------------------------------------------------------


def conv1d_page(signal: str, kernel: str, **numbers: int) -> AppTest:
    at = run(CONV1D)
    at.selectbox(key="c1_signal").set_value("typed")
    at.selectbox(key="c1_kernel").set_value("typed")
    at.radio(key="c1_pad_kind").set_value("number")
    at.run()
    at.text_area(key="c1_signal_text_typed").set_value(signal)
    at.text_input(key="c1_kernel_text_typed").set_value(kernel)
    for key, value in numbers.items():
        at.number_input(key=f"c1_{key}").set_value(value)
    return clean(at.run())


def line_output(at: AppTest) -> np.ndarray:
    return decode_array(json.loads(at.get("plotly_chart")[0].proto.spec)["data"][1]["y"]).astype(float)


def line_matrix(at: AppTest) -> np.ndarray:
    return np.nan_to_num(decode_array(chart(at, "c1_matrix")["data"][0]["z"]).astype(float))


@pytest.mark.parametrize(
    ("signal", "expected"), [("0, 1, -1, 1, 1", [1, -2, 2, 0]), ("0, 1, 0, 1, 1", [1, -1, 1, 0])]
)
def test_002_template_matching_typed_in(signal: str, expected: list[int]) -> None:
    """Lecture 002, "example: 1-dimensional convolution" and "template matching": filter -1 1."""
    at = conv1d_page(signal, "-1, 1", pad=0)
    np.testing.assert_array_equal(line_output(at), expected)
    # "interpretation 3": a 4 x 5 matrix with -1 1 on a shifting band.
    np.testing.assert_array_equal(line_matrix(at), [[-1, 1, 0, 0, 0], [0, -1, 1, 0, 0], [0, 0, -1, 1, 0],
                                                    [0, 0, 0, -1, 1]])  # fmt: skip


def test_001_the_12_sample_signal_typed_in_with_zero_padding() -> None:
    """Lecture 001, "1-D Convolution Example": x = [5.2, 5.3, ..., 3.1], length 3, stride 1, dilation 1,
    zero padding: 12 outputs, the first reading a padding zero."""
    signal = "5.2, 5.3, 5.4, 5.1, 10.1, 10.3, 9.9, 10.3, 3.2, 3.4, 3.3, 3.1"
    at = conv1d_page(signal, "1/3, 1/3, 1/3", pad=1)
    x = torch.tensor([float(v) for v in signal.split(", ")], dtype=torch.float64)[None, None]
    expected = F.conv1d(x, torch.full((1, 1, 3), 1 / 3, dtype=torch.float64), padding=1)[0, 0].numpy()
    np.testing.assert_allclose(line_output(at), expected, atol=1e-5)
    assert equation_1d(at).startswith("0×(1/3) + 5.2×(1/3) + 5.3×(1/3)")


def equation_1d(at: AppTest) -> str:
    return at.code[0].value


@pytest.mark.parametrize(
    ("stride", "rows"),
    [(1, [[3, 5, 0, 0, 0, 0], [2, 3, 5, 0, 0, 0], [0, 2, 3, 5, 0, 0], [0, 0, 2, 3, 5, 0], [0, 0, 0, 2, 3, 5],
          [0, 0, 0, 0, 2, 3]]),
     (2, [[3, 5, 0, 0, 0, 0], [0, 2, 3, 5, 0, 0], [0, 0, 0, 2, 3, 5]])],
    ids=["stride-1-banded-6x6", "stride-2-3-rows"],
)  # fmt: skip
def test_001_weight_matrices_of_kernel_3_with_zero_padding_on_6_inputs(stride: int, rows: list) -> None:
    """Lecture 001, "Special case of fully-connected network" d) and f): kernel 3, dilation 1, zero padding
    on 6 inputs; 3 weights + 1 bias against the dense layer's 36 weights + 6 biases."""
    at = conv1d_page("1, 2, 3, 4, 5, 6", "2, 3, 5", pad=1, stride=stride)
    np.testing.assert_array_equal(line_matrix(at), rows)
    shown = {m.label: m.value for m in at.metric}
    assert shown["convolution parameters"] == "4"
    assert shown["fully connected parameters"] == f"{6 * len(rows) + len(rows)}"


# --------------------------------------------------------------------------------------------------
# Pooling (pl_): the 3x3 example typed in
# --------------------------------------------------------------------------------------------------


def pooled(at: AppTest) -> tuple[np.ndarray, np.ndarray]:
    fig = chart(at, "pl_pool")
    return decode_array(fig["data"][0]["z"]).astype(float), decode_array(fig["data"][1]["z"]).astype(float)


@pytest.mark.parametrize(("kind", "expected"), [("max", [[4, 5], [7, 8]]), ("avg", [[2, 3], [5, 6]])])
def test_003_2x2_pooling_with_stride_1_of_0_to_8_typed_in(kind: str, expected: list) -> None:
    """Lecture 003, "2-D Max Pooling": max(0, 1, 3, 4) = 4, [[0,1,2],[3,4,5],[6,7,8]] -> [[4,5],[7,8]];
    "Average Pooling" replaces max with mean: [[2,3],[5,6]]. The values are typed into the input grid."""
    at = run(POOLING)
    at.selectbox(key="pl_pattern").set_value("typed")
    at.number_input(key="pl_height").set_value(3)
    at.number_input(key="pl_width").set_value(3)
    at.radio(key="pl_kind").set_value(kind)
    at.checkbox(key="pl_same_stride").uncheck()
    at.run()
    at.number_input(key="pl_stride").set_value(1)
    at.run()
    type_into_grid(at, "pl_typed", cells_of([[8, 7, 6], [5, 4, 3], [2, 1, 0]]))  # something else first
    type_into_grid(at, "pl_typed", cells_of(X_0_TO_8))
    clean(at)
    x, y = pooled(at)
    np.testing.assert_array_equal(x, X_0_TO_8)
    np.testing.assert_array_equal(y, expected)
    ref = (F.max_pool2d if kind == "max" else F.avg_pool2d)(torch.tensor(x)[None, None], 2, 1)[0, 0]
    np.testing.assert_array_equal(y, ref.numpy())


def test_typed_pooling_input_travels_in_the_link_and_a_bad_cell_is_a_message() -> None:
    from tests.app.helpers import link_of, reopen

    at = run(POOLING)
    at.selectbox(key="pl_pattern").set_value("typed").run()
    type_into_grid(at, "pl_typed", {(0, 0): "1/2", (5, 5): "9"})
    clean(at)
    assert link_of(at)["pl_typed"].startswith("0.5,1,2")
    again = reopen(at, POOLING)
    np.testing.assert_array_equal(pooled(again)[0], pooled(at)[0])
    type_into_grid(at, "pl_typed", {(1, 1): "two"})
    assert not at.exception and len(at.error) == 1 and "row 1, column 1" in at.error[0].value
    assert pooled(at)[0][0, 0] == 0.5  # the last applied grid stays in use


# --------------------------------------------------------------------------------------------------
# The quiz (qz_): lecture 001's question 1, with its padding 2 before and 3 after
# --------------------------------------------------------------------------------------------------


def quiz_answer(at: AppTest, qid: str, *values: int | None) -> AppTest:
    for box, value in zip(("k", "s", "d", "p", "pa"), values, strict=False):
        at.number_input(key=f"qz_{box}_{qid}").set_value(value)
    at.button(key="FormSubmitter:qz_form-Check").click()
    return at.run()


def test_001_question_1_typed_in_kernel_6_padding_2_before_and_3_after() -> None:
    """Lecture 001, "Question 1": 8 inputs, 8 outputs, taps at -2, -1, 0, +1, +3 from the diagonal. Kernel 6
    with a zero fifth weight, stride 1, dilation 1, padding 2 before and 3 after is the answer; the same
    padding on both sides is not (it gives 7 outputs)."""
    at = run(QUIZ)
    at.selectbox(key="qz_source").set_value("l001-q1").run()
    fig = chart(at, "qz_matrix")
    matrix = np.nan_to_num(decode_array(fig["data"][0]["z"]).astype(float))
    assert matrix.shape == (8, 8) and fig["layout"]["title"]["text"].startswith("Lecture 001: question 1")
    assert [int(np.count_nonzero(r)) for r in matrix] == [3, 4, 5, 5, 5, 4, 4, 3]
    assert any("weights is 0" in c.value for c in at.caption)
    quiz_answer(at, "l001-q1", 6, 1, 1, 2)
    assert at.error and at.error[0].value == "Not quite."
    assert any("give 7 outputs" in m.value for m in at.markdown)
    quiz_answer(at, "l001-q1", 6, 1, 1, 2, 3)
    assert at.success and "exactly this matrix" in at.success[0].value
    assert any(m.value == "- padding: 2 before and 3 after is right." for m in at.markdown)
    from tests.app.helpers import link_of, reopen

    assert link_of(at)["qz_checked"] == "6,1,1,2,3"
    again = reopen(at, QUIZ)
    assert again.success and again.number_input(key="qz_pa_l001-q1").value == 3


def test_001_question_1_answer_on_demand_names_both_paddings() -> None:
    at = run(QUIZ, {"qz_source": "l001-q1"})
    at.button(key="qz_reveal").click().run()
    assert at.info[0].value == (
        "**Answer**: kernel size 6, stride 1, dilation 1, padding 2 before and 3 after."
    )


@pytest.mark.parametrize(("qid", "answer"), [("l001-q2", (3, 1, 1, 0)), ("l001-q3", (1, 1, 1, 0))])
def test_001_questions_2_and_3_typed_in(qid: str, answer: tuple[int, ...]) -> None:
    """Lecture 001, "Question 2" (kernel 3, stride 1, dilation 1, valid) and "Question 3" (kernel 1)."""
    at = run(QUIZ, {"qz_source": qid})
    quiz_answer(at, qid, *answer)
    assert at.success
