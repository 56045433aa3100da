"""Slide a kernel over an input, watch the output fill in, and see every dot product with its numbers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from cnnviz.counts import dense_equivalent_params
from cnnviz.errors import ConvConfigError
from cnnviz.explain import explain_conv_output, outputs_reading_input
from cnnviz.matrix import conv_matrix
from cnnviz.plots import conv_walkthrough_figure, matrix_figure
from cnnviz.ui import page_header, show_error
from cnnviz.ui.conv_controls import ConvSettings, conv_controls, typed_values
from cnnviz.walkthrough import ConvWalkthrough, conv2d_walkthrough, pytorch_snippet

PREFIX = "cx"

controls = page_header(
    "Convolution explorer",
    "Slide a kernel over an input: every output cell is one dot product, written out with its numbers.",
)
with controls:
    settings = conv_controls(PREFIX)
settings = typed_values(settings, PREFIX)


@st.cache_data(max_entries=64, show_spinner=False)
def walkthrough(settings: ConvSettings) -> ConvWalkthrough:
    """The convolution and its arithmetic for these settings (cached: reruns on other widgets are free)."""
    return conv2d_walkthrough(
        settings.input_array(),
        settings.kernel_array(),
        settings.bias,
        settings.stride,
        settings.padding,
        settings.dilation,
        settings.padding_mode,
    )


@st.cache_data(max_entries=32, show_spinner=False)
def animation(settings: ConvSettings, frame_ms: int) -> go.Figure:
    w = walkthrough(settings)
    return conv_walkthrough_figure(
        w.padded,
        w.is_padding,
        w.kernel,
        w.output,
        w.geometry,
        padding_offset=w.padding_offset,
        frame_ms=frame_ms,
    )


@st.cache_data(max_entries=64, show_spinner=False)
def one_cell(settings: ConvSettings, row: int, col: int) -> go.Figure:
    w = walkthrough(settings)
    return conv_walkthrough_figure(
        w.padded,
        w.is_padding,
        w.kernel,
        w.output,
        w.geometry,
        padding_offset=w.padding_offset,
        selected=(row, col),
        animate=False,
    )


try:
    w = walkthrough(settings)
except ConvConfigError as exc:
    show_error(exc)
    st.stop()

# --- Shape arithmetic ------------------------------------------------------------------------------
st.subheader("Output size, step by step", anchor=False)
height, width = st.columns(2)
for column, axis, explanation in ((height, "Height", w.explanations[0]), (width, "Width", w.explanations[1])):
    with column:
        st.markdown(f"**{axis}**")
        st.latex(explanation.to_latex())
        for note in explanation.notes:
            (st.warning if "unread" in note else st.caption)(note)
kh, kw = w.kernel.shape
st.markdown(
    f"**Parameters**: {kh}×{kw} weights + 1 bias = **{w.params}** · "
    f"**Multiply-accumulates**: {w.output.size} outputs × {kh * kw} taps = **{w.macs:,}**"
)

# --- Animation -------------------------------------------------------------------------------------
st.subheader("The window sliding", anchor=False)
speed = st.select_slider("Speed", options=["slow", "medium", "fast"], value="medium", key=f"{PREFIX}_speed")
frame_ms = {"slow": 900, "medium": 400, "fast": 120}[speed]
st.plotly_chart(animation(settings, frame_ms), key=f"{PREFIX}_animation", config={"displayModeBar": False})
st.caption(
    "Orange: the cells the kernel reads for the current output (dilation leaves gaps inside the outline). "
    "Grey: padding. Press play, or drag the slider to any output cell."
)

# --- One output cell -------------------------------------------------------------------------------
st.subheader("One output cell, every product", anchor=False)
ho, wo = w.output.shape
pick_row, pick_col, _ = st.columns([1, 1, 3])
row = int(pick_row.number_input("output row", 0, ho - 1, 0, key=f"{PREFIX}_row"))
col = int(pick_col.number_input("output column", 0, wo - 1, 0, key=f"{PREFIX}_col"))
cell = explain_conv_output(
    w.input[None],
    w.kernel[None, None],
    (row, col),
    0,
    np.array([w.bias]),
    settings.stride,
    settings.padding,
    settings.dilation,
    1,
    settings.padding_mode,
)
st.plotly_chart(one_cell(settings, row, col), key=f"{PREFIX}_cell_figure", config={"displayModeBar": False})
terms = pd.DataFrame(
    {
        "input cell (row, col)": [str(t.position) for t in cell.taps],
        "padding": ["yes" if t.is_padding else "" for t in cell.taps],
        "input value": [t.value for t in cell.taps],
        "kernel weight": [t.weight for t in cell.taps],
        "product": [t.product for t in cell.taps],
    }
)
table, summary = st.columns([3, 2])
table.dataframe(terms, hide_index=True, height=min(400, 38 + 35 * len(terms)))
with summary:
    st.markdown(f"output[{row}, {col}] = sum of products + bias")
    st.code(cell.equation(digits=2), language=None, wrap_lines=True)
    st.metric("output value", f"{cell.total:.4g}")

# --- Reverse: which outputs does an input cell feed? ----------------------------------------------
st.subheader("Which outputs does one input cell feed?", anchor=False)
h, wd = w.input.shape
in_row_c, in_col_c, _ = st.columns([1, 1, 3])
in_row = int(in_row_c.number_input("input row", 0, h - 1, h // 2, key=f"{PREFIX}_in_row"))
in_col = int(in_col_c.number_input("input column", 0, wd - 1, wd // 2, key=f"{PREFIX}_in_col"))
fed = outputs_reading_input(
    w.input.shape,
    (in_row, in_col),
    w.kernel.shape,
    settings.stride,
    settings.padding,
    settings.dilation,
    settings.padding_mode,
)
cells = sorted({out for out, _ in fed})
if cells:
    grid = np.zeros(w.output.shape)
    for out, _ in fed:
        grid[out] += 1
    fig = go.Figure(
        go.Heatmap(
            z=grid,
            colorscale="Oranges",
            showscale=False,
            xgap=1,
            ygap=1,
            texttemplate="%{z:.0f}" if max(ho, wo) <= 24 else None,
            hovertemplate="output row %{y}, col %{x}: read %{z} time(s)<extra></extra>",
        )
    )
    fig.update_yaxes(autorange="reversed", scaleanchor="x", dtick=1 if ho <= 24 else None)
    fig.update_xaxes(side="top", dtick=1 if wo <= 24 else None)
    fig.update_layout(height=min(500, 120 + 28 * ho), margin={"l": 10, "r": 10, "t": 30, "b": 10})
    left, right = st.columns([2, 3])
    left.plotly_chart(fig, key=f"{PREFIX}_feeds", config={"displayModeBar": False})
    right.markdown(
        f"Input cell ({in_row}, {in_col}) feeds **{len(cells)}** output cell{'s' if len(cells) != 1 else ''}: "
        + ", ".join(str(c) for c in cells[:40])
        + (" …" if len(cells) > 40 else "")
        + ". The number in each output cell counts how many kernel taps read this input cell "
        "(more than one only when padding copies it)."
    )
else:
    st.warning(
        f"No output reads input cell ({in_row}, {in_col}): the stride skips it. "
        "A stride larger than the kernel's span leaves input cells unread."
    )

# --- Convolution as a matrix ------------------------------------------------------------------------
st.subheader("Convolution as a matrix", anchor=False)
MATRIX_MAX_INPUT = 100  # cells; a bigger matrix is unreadable on a slide
if w.input.size <= MATRIX_MAX_INPUT:
    matrix = conv_matrix(
        (1, *w.input.shape),
        w.kernel[None, None],
        settings.stride,
        settings.padding,
        settings.dilation,
        1,
        settings.padding_mode,
    )
    dense = dense_equivalent_params(1, w.input.shape, 1, w.output.shape)
    left, right = st.columns([3, 2])
    left.plotly_chart(
        matrix_figure(matrix, f"{matrix.shape[0]} outputs × {matrix.shape[1]} inputs (flattened row by row)"),
        key=f"{PREFIX}_matrix",
        config={"displayModeBar": False},
    )
    with right:
        st.markdown(
            "Flatten the input row by row: the convolution is this matrix times the input vector. Every row "
            f"holds the same {kh * kw} weights, shifted; the rest is zero. A fully connected layer has a "
            "weight in every cell."
        )
        st.metric("convolution parameters", f"{w.params:,}")
        st.metric(
            "fully connected parameters",
            f"{dense:,}",
            delta=f"{dense / w.params:.0f}× more",
            delta_color="off",
        )
else:
    st.caption(f"Shown for inputs of at most {MATRIX_MAX_INPUT} cells (this one has {w.input.size}).")

# --- Export ----------------------------------------------------------------------------------------
st.subheader("The same layer in PyTorch", anchor=False)
st.code(pytorch_snippet(w, 2, settings.padding, settings.padding_mode), language="python")
