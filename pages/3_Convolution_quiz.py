"""Quiz: read a 1D convolution's weight matrix and name its kernel size, stride, dilation and padding."""

from __future__ import annotations

import streamlit as st

from cnnviz import LECTURE_QUESTIONS, QuizAnswer, check_answer, lecture_question, make_question
from cnnviz.plots import matrix_figure
from cnnviz.ui import chart, page_header, show_warning, url

P = "qz"
MAX_SEED = 10**9
RANDOM = "random"
# The answer boxes' ranges (kernel size, stride, dilation, padding, padding after): a checked answer in a
# link must fit them.
RANGES = ((1, 8), (1, 4), (1, 4), (0, 4), (0, 4))
FIELDS = (
    ("kernel size", "k"),
    ("stride", "s"),
    ("dilation", "d"),
    ("zero padding per side (0 = valid)", "p"),
)
# Optional: left empty, the padding after is the padding before (lecture 001's question 1 pads 2 and 3).
AFTER = ("padding after, if it differs", "pa")


def parse_seed(text: str) -> int:
    """A question number from a link: a whole number from 1 to MAX_SEED."""
    if not text.isdigit() or not 1 <= int(text) <= MAX_SEED:
        raise ValueError(f"not a question number: {text}")
    return int(text)


def answer_text(answer: QuizAnswer | None) -> str:
    """A checked answer in the link: 'kernel,stride,dilation,padding', then ',after' when the padding after
    differs ('' when nothing is checked)."""
    if answer is None:
        return ""
    values = [answer.kernel_size, answer.stride, answer.dilation, answer.padding]
    if answer.padding_after is not None:
        values.append(answer.padding_after)
    return ",".join(str(v) for v in values)


def parse_answer(text: str) -> QuizAnswer | None:
    """A checked answer from a link: four (or five) whole numbers inside the answer boxes' ranges."""
    if text == "":
        return None
    parts = text.split(",")
    if len(parts) not in (4, 5) or not all(part.isdigit() and len(part) < 3 for part in parts):
        raise ValueError(f"not an answer: {text}")
    values = [int(part) for part in parts]
    if not all(low <= v <= high for v, (low, high) in zip(values, RANGES[: len(values)], strict=True)):
        raise ValueError(f"answer out of range: {text}")
    return QuizAnswer(*values)


def parse_flag(text: str) -> bool:
    if text not in ("0", "1"):
        raise ValueError(f"not 0 or 1: {text}")
    return text == "1"


def next_question() -> None:
    """'New question': the next random number, or the next of the lectures' questions."""
    source = st.session_state.get(f"{P}_source", RANDOM)
    if source == RANDOM:
        st.session_state[f"{P}_advance"] = True
    else:
        ids = list(LECTURE_QUESTIONS)
        st.session_state[f"{P}_source"] = ids[(ids.index(source) + 1) % len(ids)]


controls = page_header(
    "Name that convolution",
    "Each row of the matrix is one output, each column one input: read off the settings that made it.",
)
# The question (a lecture's, or a random number), the checked answer and whether the answer is shown
# travel in the link: a teacher can share one question, with or without its answer.
seed_value = url.value(f"{P}_seed", 1, parse=parse_seed, encode=str, label="Question number")
checked = url.value(f"{P}_checked", None, parse=parse_answer, encode=answer_text, label="Checked answer")
shown = url.value(
    f"{P}_shown", False, parse=parse_flag, encode=lambda v: "1" if v else "0", label="Answer shown"
)
with controls:
    source = url.selectbox(
        "Question",
        [RANDOM, *LECTURE_QUESTIONS],
        key=f"{P}_source",
        format_func=lambda q: "a random question" if q == RANDOM else LECTURE_QUESTIONS[q],
        help="The lectures' own 1D settings, or a random one (New question draws another).",
    )
    st.button("New question", key=f"{P}_new", icon=":material/refresh:", on_click=next_question)
    st.markdown("The weights are 1, 2, 3, … in order, so every tap can be told apart.")
if st.session_state.pop(f"{P}_advance", False):
    seed_value.set(seed_value.get() % MAX_SEED + 1)
st.session_state[f"{P}_seed"] = seed_value.get()
question = make_question(seed_value.get()) if source == RANDOM else lecture_question(source)

# Another question is a clean slate: no verdict, no answer shown, empty boxes (their keys name the
# question). A link that brings its own answer with its question keeps it.
last = st.session_state.get(f"{P}_current")
now = (question.id, checked.revision, shown.revision)
if last is not None and last[0] != question.id:
    if checked.revision == last[1]:
        checked.set(None)
    if shown.revision == last[2]:
        shown.set(False)
st.session_state[f"{P}_current"] = now

matrix = question.matrix
left, right = st.columns([3, 2], gap="large")
chart(
    matrix_figure(matrix, f"{question.name}: {matrix.shape[0]} outputs × {matrix.shape[1]} inputs"),
    where=left.container(key="cnnviz-main-figure"),
    key=f"{P}_matrix",
    config={"displayModeBar": False},
)
if 0.0 in question.weights:
    left.caption(
        "One of this kernel's weights is 0, as in the lecture's figure: its cells stay empty, a gap inside "
        "the band. Count it in the kernel size."
    )
with right:
    answer = checked.get()
    keys = [f"{P}_{short}_{question.id}" for _, short in (*FIELDS, AFTER)]
    if answer is not None:  # a link's checked answer fills the boxes it was typed in
        values = (answer.kernel_size, answer.stride, answer.dilation, answer.padding, answer.padding_after)
        for key, value in zip(keys, values, strict=True):
            if value is not None:
                st.session_state.setdefault(key, value)
    with st.form(f"{P}_form"):
        a, b = st.columns(2)
        typed = [
            column.number_input(label, low, high, None, key=key, placeholder="?")
            for (label, _), (low, high), key, column in zip(FIELDS, RANGES, keys, (a, b, a, b), strict=False)
        ]
        after = b.number_input(
            AFTER[0], *RANGES[4], None, key=keys[4], placeholder="same",
            help="Leave empty when both ends get the same padding.",
        )  # fmt: skip
        submitted = st.form_submit_button("Check", type="primary")
    if submitted:
        if any(v is None for v in typed):
            show_warning("Fill in all four boxes, then press Check.")
        else:
            checked.set(QuizAnswer(*(int(v) for v in typed), None if after is None else int(after)))
    answer = checked.get()
    feedback = check_answer(question, answer) if answer is not None else None
    if feedback is not None:
        if feedback.correct:
            st.success("Right: these settings build exactly this matrix.")
            for line in feedback.lines:
                st.markdown(f"- {line}")
        else:
            st.error("Not quite.")
            for hint in feedback.hints:
                st.markdown(f"- {hint}")
    if not (feedback is not None and feedback.correct):
        if shown.get():
            h = question.hidden
            st.info(
                f"**Answer**: kernel size {h.kernel_size}, stride {h.stride}, dilation {h.dilation}, "
                f"padding {h.padding_text}."
            )
            if feedback is not None:
                for line in feedback.lines:
                    st.markdown(f"- {line}")
            if st.button("Hide answer", key=f"{P}_hide"):
                shown.set(False)
                st.rerun()
        elif st.button("Show answer", key=f"{P}_reveal", icon=":material/visibility:"):
            shown.set(True)
            st.rerun()
    with st.expander("How to read the matrix"):
        st.markdown(
            "- **Kernel size**: the number of coloured cells in a complete row; the band's full width, "
            "gaps included, is the dilated span d(k−1)+1.\n"
            "- **Stride**: how many columns the band moves from one row to the next.\n"
            "- **Dilation**: the gap between coloured cells within a row (1 means adjacent).\n"
            "- **Padding**: top or bottom rows whose band is cut off read padding zeros; "
            "if every row is complete, the convolution is 'valid'."
        )
