"""Sections several pages share: the output size worked through with the page's own numbers."""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st

from cnnviz.conv.formulas import Explanation

__all__ = ["size_steps"]

AXES_2D = ("Height", "Width")


def _notes(explanation: Explanation) -> None:
    """An axis's notes: a cell no window reads is a warning, the rest are captions."""
    for note in explanation.notes:
        (st.warning if "unread" in note else st.caption)(note)


def size_steps(explanations: Sequence[Explanation], title: str | None = "Output size, step by step") -> list:
    """Each axis's size formula, its numbers put in and worked through, with the notes it gives.

    Two axes sit side by side under "Height" and "Width"; one axis puts its notes beside the formula.
    Returns the columns drawn, so that a page can add to them.
    """
    if title:
        st.subheader(title, anchor=False)
    if len(explanations) == 1:
        left, right = st.columns([3, 2])
        left.latex(explanations[0].to_latex())
        with right:
            _notes(explanations[0])
        return [left, right]
    columns = st.columns(len(explanations))
    names = AXES_2D if len(explanations) == 2 else tuple(f"Axis {i}" for i in range(len(explanations)))
    for column, name, explanation in zip(columns, names, explanations, strict=True):
        with column:
            st.markdown(f"**{name}**")
            st.latex(explanation.to_latex())
            _notes(explanation)
    return list(columns)
