"""Quiz: read a 1D convolution's weight matrix and name its kernel size, stride, dilation and padding."""

from __future__ import annotations

import streamlit as st

from cnnviz.plots import matrix_figure
from cnnviz.quiz import QuizAnswer, check_answer, make_question
from cnnviz.ui import page_header

P = "qz"

controls = page_header(
    "Name that convolution",
    "Each row of the matrix is one output, each column one input: read off the settings that made it.",
)
if f"{P}_seed" not in st.session_state:
    st.session_state[f"{P}_seed"] = 1
with controls:
    st.markdown("The weights are 1, 2, 3, … in order, so every tap can be told apart.")
    if st.button("New question", key=f"{P}_new", icon=":material/refresh:"):
        st.session_state[f"{P}_seed"] += 1
        st.session_state.pop(f"{P}_checked", None)

question = make_question(st.session_state[f"{P}_seed"])
matrix = question.matrix
left, right = st.columns([3, 2], gap="large")
left.plotly_chart(
    matrix_figure(
        matrix,
        f"question {st.session_state[f'{P}_seed']}: {matrix.shape[0]} outputs × {matrix.shape[1]} inputs",
    ),
    key=f"{P}_matrix",
    config={"displayModeBar": False},
)
with right:
    with st.form(f"{P}_form"):
        a, b = st.columns(2)
        kernel = a.number_input("kernel size", 1, 8, 3, key=f"{P}_k")
        stride = b.number_input("stride", 1, 4, 1, key=f"{P}_s")
        dilation = a.number_input("dilation", 1, 4, 1, key=f"{P}_d")
        padding = b.number_input("zero padding per side (0 = valid)", 0, 4, 0, key=f"{P}_p")
        submitted = st.form_submit_button("Check", type="primary")
    if submitted:
        st.session_state[f"{P}_checked"] = QuizAnswer(int(kernel), int(stride), int(dilation), int(padding))
    answer = st.session_state.get(f"{P}_checked")
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
