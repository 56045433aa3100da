"""Typed values for a multi-channel convolution: one typed grid per input plane, filter slice and the bias.

Every grid is `typed_grid` (text cells, fractions, an "Apply" button, kept in the link under its own key),
and starts from the seeded values it replaces, so a link without typed values opens on the seed's layer.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from cnnviz.ui.grids import typed_grid

__all__ = ["typed_channel_values"]

MAX_PER_ROW = 4  # grids side by side at most; more wrap onto the next row
CELLS_PER_ROW = 18  # grid columns (index column included) that fit across the main area without scrolling


def _columns(count: int, grid_cols: int) -> list:
    """`count` slots for grids `grid_cols` wide, as many to a row as fit whole (a wide grid gets a row)."""
    per_row = max(1, min(MAX_PER_ROW, count, CELLS_PER_ROW // (grid_cols + 1)))
    slots: list = []
    for start in range(0, count, per_row):
        slots.extend(st.columns(per_row)[: min(per_row, count - start)])
    return slots


def typed_channel_values(
    x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None, groups: int, prefix: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Grids for x (C_in, H, W), weight (C_out, C_in/groups, k, k) and bias (C_out,); the applied values.

    Keys: `<prefix>_x<c>` per input channel, `<prefix>_w<o>_<i>` per slice i of filter o, `<prefix>_b`.
    """
    c_in = int(x.shape[0])
    c_out, per_group = int(weight.shape[0]), int(weight.shape[1])
    outs_per_group = c_out // groups
    typed_x = np.array(x, dtype=np.float64)
    typed_w = np.array(weight, dtype=np.float64)
    st.subheader("Type the values", anchor=False)
    st.caption(
        "Every grid starts from the seed's values. Type numbers or fractions such as 1/16 and press the grid's "
        "Apply: everything below follows, and the share link keeps what you typed."
    )
    st.markdown(f"**Input: {c_in} channel{'s' if c_in > 1 else ''}**")
    for c, slot in enumerate(_columns(c_in, int(x.shape[2]))):
        with slot:
            typed_x[c] = typed_grid(
                f"input channel {c}",
                f"{prefix}_x{c}",
                x[c],
                link_label=f"Typed values of input channel {c}",
            )
    st.markdown(
        f"**Filters: {c_out}, each with {per_group} slice{'s' if per_group > 1 else ''} "
        "(one per input channel it reads)**"
    )
    for o in range(c_out):
        first = (o // outs_per_group) * per_group
        for i, slot in enumerate(_columns(per_group, int(weight.shape[3]))):
            with slot:
                typed_w[o, i] = typed_grid(
                    f"filter {o}, slice {i}",
                    f"{prefix}_w{o}_{i}",
                    weight[o, i],
                    caption=f"Meets input channel {first + i}.",
                    link_label=f"Typed values of filter {o}, slice {i}",
                )
    typed_b = None
    if bias is not None:
        typed_b = typed_grid(
            "bias",
            f"{prefix}_b",
            np.asarray(bias, dtype=np.float64)[None, :],
            caption="One number per output channel (column o is the bias of output channel o).",
            link_label="Typed bias values",
        )[0]
    return typed_x, typed_w, typed_b
