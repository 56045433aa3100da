"""Quiz: read a 1D convolution's weight matrix and name its kernel size, stride, dilation and padding."""

from __future__ import annotations

import streamlit as st

from cnnviz import QuizAnswer, check_answer, make_question
from cnnviz.plots import matrix_figure
from cnnviz.ui import chart, page_header, url

P = "qz"
MAX_SEED = 10**9
# The answer boxes' ranges (kernel size, stride, dilation, padding): a checked answer in a link must fit them.
RANGES = ((1, 8), (1, 4), (1, 4), (0, 4))


def parse_seed(text: str) -> int:
    """A question number from a link: a whole number from 1 to MAX_SEED."""
    if not text.isdigit() or not 1 <= int(text) <= MAX_SEED:
        raise ValueError(f"not a question number: {text}")
    return int(text)


def answer_text(answer: QuizAnswer | None) -> str:
    """A checked answer in the link: 'kernel,stride,dilation,padding' ('' when nothing is checked)."""
    if answer is None:
        return ""
    return ",".join(str(v) for v in (answer.kernel_size, answer.stride, answer.dilation, answer.padding))


def parse_answer(text: str) -> QuizAnswer | None:
    """A checked answer from a link: four whole numbers inside the answer boxes' ranges."""
    if text == "":
        return None
    parts = text.split(",")
    if len(parts) != 4 or not all(part.isdigit() and len(part) < 3 for part in parts):
        raise ValueError(f"not an answer: {text}")
    values = [int(part) for part in parts]
    if not all(low <= v <= high for v, (low, high) in zip(values, RANGES, strict=True)):
        raise ValueError(f"answer out of range: {text}")
    return QuizAnswer(*values)


controls = page_header(
    "Name that convolution",
    "Each row of the matrix is one output, each column one input: read off the settings that made it.",
)
# The question number and the checked answer travel in the link: a teacher can share one question.
seed_value = url.value(f"{P}_seed", 1, parse=parse_seed, encode=str, label="Question number")
checked = url.value(f"{P}_checked", None, parse=parse_answer, encode=answer_text, label="Checked answer")
with controls:
    st.markdown("The weights are 1, 2, 3, … in order, so every tap can be told apart.")
    if st.button("New question", key=f"{P}_new", icon=":material/refresh:"):
        seed_value.set(seed_value.get() % MAX_SEED + 1)
        checked.set(None)
st.session_state[f"{P}_seed"] = seed_value.get()

question = make_question(st.session_state[f"{P}_seed"])
matrix = question.matrix
left, right = st.columns([3, 2], gap="large")
chart(
    matrix_figure(
        matrix,
        f"question {st.session_state[f'{P}_seed']}: {matrix.shape[0]} outputs × {matrix.shape[1]} inputs",
    ),
    where=left,
    key=f"{P}_matrix",
    config={"displayModeBar": False},
)
with right:
    with st.form(f"{P}_form"):
        a, b = st.columns(2)
        kernel = url.at(a).number_input("kernel size", *RANGES[0], 3, key=f"{P}_k")
        stride = url.at(b).number_input("stride", *RANGES[1], 1, key=f"{P}_s")
        dilation = url.at(a).number_input("dilation", *RANGES[2], 1, key=f"{P}_d")
        padding = url.at(b).number_input("zero padding per side (0 = valid)", *RANGES[3], 0, key=f"{P}_p")
        submitted = st.form_submit_button("Check", type="primary")
    if submitted:
        checked.set(QuizAnswer(int(kernel), int(stride), int(dilation), int(padding)))
    answer = checked.get()
    if answer is not None:
        feedback = check_answer(question, answer)
        (st.success if feedback.correct else st.error)(
            "Right: these settings build exactly this matrix." if feedback.correct else "Not quite."
        )
        for line in feedback.lines:
            st.markdown(f"- {line}")
    with st.expander("How to read the matrix"):
        st.markdown(
            "- **Kernel size**: the number of coloured cells in a complete row.\n"
            "- **Stride**: how many columns the band moves from one row to the next.\n"
            "- **Dilation**: the gap between coloured cells within a row (1 means adjacent).\n"
            "- **Padding**: top or bottom rows whose band is cut off read padding zeros; "
            "if every row is complete, the convolution is 'valid'."
        )
