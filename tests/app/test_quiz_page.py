"""AppTest of the quiz page: a right answer, a wrong one with feedback, and a new question."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from cnnviz.topics.quiz import make_question
from tests.app.helpers import page_path

PAGE = page_path("3_Convolution_quiz.py")
P = "qz"


def _answer(at: AppTest, k: int, s: int, d: int, p: int) -> None:
    for key, value in (("k", k), ("s", s), ("d", d), ("p", p)):
        at.number_input(key=f"{P}_{key}").set_value(value)
    at.button(key=f"FormSubmitter:{P}_form-Check").click()
    at.run()


def test_right_answer_is_accepted() -> None:
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not at.exception and len(at.get("plotly_chart")) == 1
    h = make_question(1).hidden
    _answer(at, h.kernel_size, h.stride, h.dilation, h.padding)
    assert at.success and "exactly this matrix" in at.success[0].value


def test_wrong_answer_explains_the_field() -> None:
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    h = make_question(1).hidden
    _answer(at, h.kernel_size, h.stride + 1, h.dilation, h.padding)
    assert at.error and at.error[0].value == "Not quite."
    assert any(m.value.startswith("- stride: not") for m in at.markdown)


def test_new_question_changes_the_matrix() -> None:
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    before = at.get("plotly_chart")[0].proto.spec
    at.button(key=f"{P}_new").click().run()
    assert not at.exception
    assert at.session_state[f"{P}_seed"] == 2
    assert at.get("plotly_chart")[0].proto.spec != before
