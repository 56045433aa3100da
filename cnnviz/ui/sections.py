"""Sections several pages share: the output size worked through with the page's own numbers."""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st

from cnnviz.conv.formulas import Explanation
from cnnviz.ui.layout import side_by_side

__all__ = ["size_steps"]

AXES_2D = ("Height", "Width")


def _notes(notes: Sequence[str]) -> None:
    """Notes in one caption (a paragraph each), except that a cell no window reads is a warning."""
    warnings = [n for n in notes if "unread" in n]
    captions = [n for n in notes if "unread" not in n]
    for note in warnings:
        st.warning(note)
    if captions:
        st.caption("\n\n".join(captions))


def size_steps(explanations: Sequence[Explanation], title: str | None = "Output size, step by step") -> list:
    """Each axis's size formula, its numbers put in and worked through, with the notes it gives.

    One axis puts its notes beside the formula, and the two columns are returned so that a page can add to
    them. Several axes sit side by side, each one formula headed by the axis's name ("Height", "Width"),
    with their notes underneath: a note every axis gives (such as "no stride given") once, the others
    named by their axis; nothing is returned. Few elements: a page's every element is a message to the
    browser, ~0.2 ms of server time each.
    """
    if title:
        st.subheader(title, anchor=False)
    if len(explanations) == 1:
        left, right = st.columns([3, 2])
        left.latex(explanations[0].to_latex())
        with right:
            _notes(explanations[0].notes)
        return [left, right]
    names = AXES_2D if len(explanations) == 2 else tuple(f"Axis {i}" for i in range(len(explanations)))
    row = side_by_side(wrap=True)
    for name, explanation in zip(names, explanations, strict=True):
        row.latex(rf"\textbf{{{name}}} \\[0.4em] {explanation.to_latex()}")
    common = set(explanations[0].notes).intersection(*(e.notes for e in explanations[1:]))
    _notes(
        [note for note in explanations[0].notes if note in common]
        + [
            f"{name}: {note}"
            for name, e in zip(names, explanations, strict=True)
            for note in e.notes
            if note not in common
        ]
    )
    return []
