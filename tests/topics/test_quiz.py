"""The quiz core: every generated question is answerable, and answers are judged by the matrix they build."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from cnnviz.topics.quiz import QuizAnswer, answer_matrix, check_answer, make_question


@given(st.integers(0, 10_000))
@settings(max_examples=200, deadline=None, derandomize=True)
def test_questions_are_valid_and_their_own_answer_is_right(seed: int) -> None:
    q = make_question(seed)
    assert q.matrix.shape[0] >= 2
    assert check_answer(q, q.hidden).correct
    # The matrix is the convolution, checked against PyTorch on a random input.
    x = np.random.default_rng(seed).standard_normal(q.n_inputs)
    h = q.hidden
    y = F.conv1d(
        torch.tensor(x)[None, None],
        torch.tensor(q.weights, dtype=torch.float64)[None, None],
        stride=h.stride,
        padding=h.padding,
        dilation=h.dilation,
    )[0, 0].numpy()
    np.testing.assert_allclose(q.matrix @ x, y, atol=1e-12)


def test_lecture_question_2_is_kernel_3_stride_1_valid() -> None:
    m = answer_matrix(QuizAnswer(3, 1, 1, 0), 8) != 0
    assert m.shape == (6, 8)
    assert all(list(np.flatnonzero(row)) == [i, i + 1, i + 2] for i, row in enumerate(m))


def test_equivalent_answer_accepted_and_wrong_one_explained() -> None:
    q = make_question(0)
    one_tap = QuizAnswer(1, 1, 1, 0)
    from cnnviz.topics.quiz import QuizQuestion

    q1 = QuizQuestion(8, one_tap, (1.0,))
    assert check_answer(q1, QuizAnswer(1, 1, 3, 0)).correct  # dilation is invisible with one tap
    wrong = QuizAnswer(q.hidden.kernel_size, q.hidden.stride + 1, q.hidden.dilation, q.hidden.padding)
    feedback = check_answer(q, wrong)
    assert not feedback.correct and any(line.startswith("stride: not") for line in feedback.lines)


def test_impossible_answer_is_a_message() -> None:
    feedback = check_answer(make_question(0), QuizAnswer(8, 1, 4, 0))
    assert not feedback.correct and "impossible" in feedback.lines[0]


@given(st.integers(0, 2_000), st.sampled_from(["kernel_size", "stride", "dilation", "padding"]))
@settings(max_examples=150, deadline=None, derandomize=True)
def test_a_wrong_answer_hints_at_the_fields_without_their_values(seed: int, field: str) -> None:
    from dataclasses import replace

    from cnnviz.errors import ConvConfigError

    q = make_question(seed)
    wrong = replace(q.hidden, **{field: getattr(q.hidden, field) + 1})
    try:
        answer_matrix(wrong, q.n_inputs)
    except ConvConfigError:
        return  # an impossible configuration has its own message
    feedback = check_answer(q, wrong)
    if feedback.correct:  # an equivalent answer (e.g. dilation with one tap): no hints needed
        assert feedback.hints == ()
        return
    name = field.replace("_", " ")
    assert any(h.startswith(f"Check the {name}: ") for h in feedback.hints)
    # The value is in the lines, shown on demand, never in a hint.
    assert any(line.startswith(f"{name}: not {getattr(wrong, field)} but {getattr(q.hidden, field)}")
               for line in feedback.lines)  # fmt: skip
    assert not any(" but " in h for h in feedback.hints)


def test_lecture_questions_build_the_matrices_torch_computes() -> None:
    from cnnviz.topics.quiz import LECTURE_QUESTIONS, lecture_question

    for question_id, name in LECTURE_QUESTIONS.items():
        q = lecture_question(question_id)
        assert q.name == name and q.id == question_id and check_answer(q, q.hidden).correct
        x = np.random.default_rng(0).standard_normal(q.n_inputs)
        h = q.hidden
        y = F.conv1d(
            F.pad(torch.tensor(x)[None, None], h.pads),  # lecture 001's question 1 pads 2 and 3
            torch.tensor(q.weights, dtype=torch.float64)[None, None],
            stride=h.stride,
            dilation=h.dilation,
        )[0, 0].numpy()
        np.testing.assert_allclose(q.matrix @ x, y, atol=1e-12)


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel:UserWarning")
def test_lecture_001_question_1_is_pytorchs_same_for_kernel_6_with_a_zero_weight() -> None:
    """Kernel 6, padding 2 before and 3 after (what PyTorch's padding='same' does for an even kernel), the
    fifth weight 0; only that answer, with the padding after typed, builds its matrix."""
    from cnnviz.topics.quiz import lecture_question

    q = lecture_question("l001-q1")
    assert q.hidden.pads == (2, 3) and q.weights == (1.0, 2.0, 3.0, 4.0, 0.0, 5.0)
    x = torch.tensor(np.random.default_rng(1).standard_normal(8))[None, None]
    same = F.conv1d(x, torch.tensor(q.weights, dtype=torch.float64)[None, None], padding="same")[0, 0]
    np.testing.assert_allclose(q.matrix @ x[0, 0].numpy(), same.numpy(), atol=1e-12)
    assert check_answer(q, QuizAnswer(6, 1, 1, 2, 3)).correct
    wrong = check_answer(q, QuizAnswer(6, 1, 1, 2))  # symmetric padding: one output too many
    assert not wrong.correct and "padding: not 2 but 2 before and 3 after" in " ".join(wrong.lines)
    assert not check_answer(q, QuizAnswer(5, 1, 1, 2)).correct
    assert QuizAnswer(3, 1, 1, 1, 1) == QuizAnswer(3, 1, 1, 1) and QuizAnswer(3, 1, 1, 1).padding_text == (
        "1 on each side"
    )
