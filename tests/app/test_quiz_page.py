"""AppTest of the quiz page: a right answer, a wrong one with hints, the answer on demand, the lectures'
questions by name, and a new question as a clean slate."""

from __future__ import annotations

import json

import pytest
from streamlit.testing.v1 import AppTest

from cnnviz.topics.quiz import LECTURE_QUESTIONS, QuizAnswer, answer_matrix, lecture_question, make_question
from tests.app.helpers import link_of, page_path

PAGE = page_path("3_Convolution_quiz.py")
P = "qz"
BOXES = ("k", "s", "d", "p")


def _boxes(at: AppTest, question_id: str) -> list:
    return [at.number_input(key=f"{P}_{b}_{question_id}") for b in BOXES]


def _answer(at: AppTest, question_id: str, k: int, s: int, d: int, p: int, after: int | None = None) -> None:
    """Type an answer into the boxes (the padding after only when given) and press Check."""
    for box, value in zip(_boxes(at, question_id), (k, s, d, p), strict=True):
        box.set_value(value)
    if after is not None:
        at.number_input(key=f"{P}_pa_{question_id}").set_value(after)
    at.button(key=f"FormSubmitter:{P}_form-Check").click()
    at.run()


def _title(at: AppTest) -> str:
    (chart,) = [c for c in at.get("plotly_chart") if c.key == f"{P}_matrix"]
    return json.loads(chart.proto.spec)["layout"]["title"]["text"]


def test_right_answer_is_accepted(at: AppTest) -> None:
    assert len(at.get("plotly_chart")) == 1
    h = make_question(1).hidden
    _answer(at, "q1", h.kernel_size, h.stride, h.dilation, h.padding)
    assert at.success and "exactly this matrix" in at.success[0].value


def test_wrong_answer_gets_a_hint_first_and_the_answer_on_demand(at: AppTest) -> None:
    h = make_question(1).hidden
    _answer(at, "q1", h.kernel_size, h.stride + 1, h.dilation, h.padding)
    assert at.error and at.error[0].value == "Not quite."
    said = [m.value for m in at.markdown]
    # The hint names the field and where to look in the matrix, but not the value.
    assert any(m.startswith("- Check the stride: compare where the band starts") for m in said)
    assert not any("stride: not" in m or " but " in m for m in said)
    assert not at.info
    at.button(key=f"{P}_reveal").click().run()
    assert at.info and at.info[0].value.startswith(
        f"**Answer**: kernel size {h.kernel_size}, stride {h.stride}, dilation {h.dilation}"
    )
    assert any(m.value.startswith(f"- stride: not {h.stride + 1} but {h.stride}") for m in at.markdown)
    assert link_of(at)[f"{P}_shown"] == "1"
    at.button(key=f"{P}_hide").click().run()
    assert not at.info and f"{P}_shown" not in link_of(at)


def test_answer_can_be_shown_before_any_try(at: AppTest) -> None:
    at.button(key=f"{P}_reveal").click().run()
    h = make_question(1).hidden
    assert f"stride {h.stride}, dilation {h.dilation}" in at.info[0].value and not at.error


def test_empty_boxes_ask_for_all_four(at: AppTest) -> None:
    assert [box.value for box in _boxes(at, "q1")] == [None] * 4
    at.button(key=f"FormSubmitter:{P}_form-Check").click().run()
    assert any("Fill in all four boxes" in w.value for w in at.warning)
    assert not at.error and not at.success


def test_new_question_is_a_clean_slate(at: AppTest) -> None:
    before = at.get("plotly_chart")[0].proto.spec
    h = make_question(1).hidden
    _answer(at, "q1", h.kernel_size, h.stride + 1, h.dilation, h.padding)
    at.button(key=f"{P}_reveal").click().run()
    at.button(key=f"{P}_new").click().run()
    assert not at.exception
    assert at.session_state[f"{P}_seed"] == 2
    assert at.get("plotly_chart")[0].proto.spec != before
    assert [box.value for box in _boxes(at, "q2")] == [None] * 4  # new boxes, empty
    assert not at.error and not at.success and not at.info
    link = link_of(at)
    assert link[f"{P}_seed"] == "2" and f"{P}_checked" not in link and f"{P}_shown" not in link


@pytest.mark.parametrize("question_id", list(LECTURE_QUESTIONS))
def test_lecture_questions_are_picked_by_name_and_answered(at: AppTest, question_id: str) -> None:
    at.selectbox(key=f"{P}_source").set_value(question_id).run()
    question = lecture_question(question_id)
    assert _title(at).startswith(f"{LECTURE_QUESTIONS[question_id]}: {question.matrix.shape[0]} outputs")
    h = question.hidden
    _answer(at, question_id, h.kernel_size, h.stride, h.dilation, *h.pads)
    assert at.success
    assert link_of(at)[f"{P}_source"] == question_id


def test_lecture_questions_are_the_lectures_settings() -> None:
    # Lecture 002's stride 2 and stride 2 with padding 1 over 5 inputs, kernel 3: 2 and 3 outputs.
    assert lecture_question("l002-stride-2").matrix.shape == (2, 5)
    assert lecture_question("l002-stride-2-pad-1").matrix.shape == (3, 5)
    # Lecture 001's question 2 (kernel 3, stride 1, valid, 8 inputs) and its question 3 (the identity).
    q2 = answer_matrix(QuizAnswer(3, 1, 1, 0), 8) != 0
    assert (lecture_question("l001-q2").matrix != 0).tolist() == q2.tolist()
    assert (lecture_question("l001-q3").matrix != 0).tolist() == [
        [i == j for j in range(8)] for i in range(8)
    ]
    # Lecture 002's template matching: a 2-tap filter over 5 inputs gives 4 outputs (1, -2, 2, 0).
    assert lecture_question("l002-template").matrix.shape == (4, 5)


def test_new_question_on_a_lecture_question_moves_to_the_next(at: AppTest) -> None:
    ids = list(LECTURE_QUESTIONS)
    at.selectbox(key=f"{P}_source").set_value(ids[0]).run()
    h = lecture_question(ids[0]).hidden
    _answer(at, ids[0], h.kernel_size, h.stride + 1, h.dilation, h.padding)
    assert at.error
    at.button(key=f"{P}_new").click().run()
    assert at.selectbox(key=f"{P}_source").value == ids[1]
    assert not at.error and [box.value for box in _boxes(at, ids[1])] == [None] * 4
