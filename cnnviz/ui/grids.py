"""A grid of numbers a person types, kept in the link: the one typed-grid widget every page uses.

Cells take what lectures write: integers, decimals and fractions ('1/16', '-2/8'); `cnnviz.conv.numbers`
reads them. The grid sits in a form, so typing in cells does not rerun the page: edits take effect with
"Apply". The applied grid travels in the link as exact text ('1,2;3,4').

In presentation mode the grid is a text box, one row a line ('1  0  -1'), in large monospace type: a data
editor paints its cells into a canvas at the theme's type size (about 14 px), too small for the back row.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from cnnviz.conv.numbers import grid_text, number_text, parse_grid, parse_number
from cnnviz.errors import ConvConfigError
from cnnviz.ui.messages import show_error
from cnnviz.ui.presentation import is_presenting
from cnnviz.ui.url_state import url

__all__ = ["typed_grid"]


def _frame(grid: np.ndarray) -> pd.DataFrame:
    """The grid as the editor shows it: text cells, so that '1/16' can be typed and is kept as typed."""
    return pd.DataFrame(
        [[number_text(v, digits=6) for v in row] for row in grid],
        columns=[str(c) for c in range(grid.shape[1])],
    )


def _rows_text(grid: np.ndarray) -> str:
    """The grid one row a line, its columns lined up ('1   0  -1'), as the projector's text box shows it."""
    cells = [[number_text(v, digits=6) for v in row] for row in grid]
    width = max(len(text) for row in cells for text in row)
    return "\n".join("  ".join(text.rjust(width) for text in row) for row in cells)


def _read(frame: pd.DataFrame, label: str) -> np.ndarray:
    """Every cell of the edited frame as a number; ConvConfigError naming the first cell that is not one."""
    rows, cols = frame.shape
    values = np.empty((rows, cols), dtype=np.float64)
    for r in range(rows):
        for c in range(cols):
            cell = frame.iat[r, c]
            text = "" if cell is None or cell != cell else cell
            values[r, c] = parse_number(text, f"{label.capitalize()}, row {r}, column {c}")
    return values


def typed_grid(
    label: str, key: str, initial: np.ndarray, *, caption: str | None = None, link_label: str | None = None
) -> np.ndarray:
    """An editable (rows, cols) grid that starts as `initial` (or the link's grid) and returns the applied one.

    A cell that is not a number gives a message naming it; the last applied grid stays in use.
    `link_label` names the grid in a note about a link value that does not fit (default: "Typed <label> values").
    """
    initial = np.asarray(initial, dtype=np.float64)
    shape = (int(initial.shape[0]), int(initial.shape[1]))
    start = tuple(map(tuple, initial.tolist()))
    bound = url.value(
        key,
        start,
        parse=lambda raw: tuple(map(tuple, parse_grid(raw, shape, label).tolist())),
        encode=lambda grid: grid_text(grid),
        label=link_label or f"Typed {label} values",
    )
    # A grid from the link (revision > 0) or one applied before is the editor's start; a new shape starts over.
    current = np.array(bound.get(), dtype=np.float64)
    if current.shape != shape:
        current = initial
        bound.set(start)  # the grid of the old shape leaves the link too, so the link reopens this view
    editor_key = f"{key}_editor_{shape[0]}x{shape[1]}_{bound.revision}"
    presenting = is_presenting()
    with st.form(key=f"{key}_form", border=False, enter_to_submit=False):
        st.markdown(f"**{label.capitalize()}** ({shape[0]} × {shape[1]}; numbers or fractions such as 1/16)")
        if presenting:
            typed = st.container(key=f"{key}_gridtext").text_area(
                f"{label.capitalize()}, one row a line",
                _rows_text(current),
                key=f"{key}_text_{shape[0]}x{shape[1]}_{bound.revision}",
                height=max(68, 38 * shape[0] + 26),  # every row in view (projector type: ~38 px a line)
                label_visibility="collapsed",
            )
        else:
            edited = st.data_editor(
                _frame(current), key=editor_key, hide_index=False, num_rows="fixed", width="content"
            )
        applied = st.form_submit_button("Apply", icon=":material/check:", key=f"{key}_apply")
    if caption:
        st.caption(caption)
    if applied:
        try:
            current = parse_grid(typed, shape, label.capitalize()) if presenting else _read(edited, label)
        except ConvConfigError as exc:
            show_error(exc)
        else:
            bound.set(tuple(map(tuple, current.tolist())))
    return current
