"""Transposed convolution three ways: each input cell stamps the kernel, zeros in the gaps, and C transposed."""

from __future__ import annotations

import numpy as np
import streamlit as st

from cnnviz import (
    INPUT_PATTERNS,
    KERNEL_PRESETS,
    ConvConfigError,
    GapsView,
    MatrixView,
    TransposedView,
    gaps_view,
    input_pattern,
    kernel_preset,
    matrix_view,
    parse_grid,
    partial_sums,
    transposed_view,
)
from cnnviz.plots import PrebuiltFigure, gaps_figure, matrix_figure, scatter_animation, transposed_hover_spec
from cnnviz.ui import chart, hover_grid, page_header, show_error, size_steps, url

P = "tc"
NO_BAR = {"displayModeBar": False}
MATRIX_MAX_ROWS = 400  # C^T rows (output cells) drawn; beyond that the grid is unreadable
Grid = tuple[tuple[float, ...], ...]

controls = page_header(
    "Transposed convolution",
    "A transposed convolution runs a convolution backwards: every input cell paints a copy of the kernel, "
    "scaled by its value, into a larger output. The same numbers come from zeros inserted between the input "
    "cells, or from the convolution's matrix transposed.",
)


def typed_text(grid: np.ndarray) -> str:
    """A grid as the text a person would type: rows separated by ';'."""
    return "; ".join(" ".join(f"{v:g}" for v in row) for row in grid)


with controls:
    st.markdown("**Input**")
    c1, c2 = st.columns(2)
    height = int(url.at(c1).number_input("Height", 1, 6, 3, key=f"{P}_h"))
    width = int(url.at(c2).number_input("Width", 1, 6, 3, key=f"{P}_w"))
    input_kind = url.selectbox("Input values", ["random", *INPUT_PATTERNS, "typed"], key=f"{P}_in_kind")
    seed = int(url.number_input("Seed", 0, 9999, 0, key=f"{P}_seed", disabled=input_kind != "random"))
    if input_kind == "typed":
        input_text = url.text_input(
            "Input numbers, row by row",
            typed_text(input_pattern("random", (height, width), seed)),
            key=f"{P}_in_text",
            help="Separate numbers by spaces or commas, rows by ';'.",
        )
    st.markdown("**Kernel**")
    kernel_size = int(url.number_input("Kernel size k", 1, 4, 3, key=f"{P}_k"))
    kernel_kind = url.selectbox("Kernel values", ["ones", *KERNEL_PRESETS, "typed"], key=f"{P}_k_kind")
    if kernel_kind == "typed":
        kernel_text = url.text_input(
            "Kernel numbers, row by row",
            typed_text(np.arange(1, kernel_size * kernel_size + 1).reshape(kernel_size, kernel_size)),
            key=f"{P}_k_text",
            help="k×k numbers: separate them by spaces or commas, rows by ';'.",
        )
    st.markdown("**Transposed convolution**")
    c1, c2 = st.columns(2)
    stride = int(url.at(c1).number_input("Stride", 1, 3, 2, key=f"{P}_s"))
    padding = int(url.at(c2).number_input("Padding", 0, 4, 0, key=f"{P}_p"))
    output_padding = int(
        url.at(c1).number_input(
            "output_padding",
            0,
            3,
            0,
            key=f"{P}_op",
            help="Extra cells at the bottom and right; PyTorch needs it smaller than the stride or the dilation.",
        )
    )
    dilation = int(url.at(c2).number_input("Dilation", 1, 3, 1, key=f"{P}_d"))


def grids() -> tuple[Grid, Grid]:
    """The input and kernel values the controls describe (raises ConvConfigError for bad typed numbers)."""
    if input_kind == "typed":
        x = parse_grid(input_text, (height, width), "input")
    else:
        x = input_pattern(input_kind, (height, width), seed)
    if kernel_kind == "ones":
        k = np.ones((kernel_size, kernel_size))
    elif kernel_kind == "typed":
        k = parse_grid(kernel_text, (kernel_size, kernel_size), "kernel")
    else:
        k = kernel_preset(kernel_kind, (kernel_size, kernel_size), seed)
    return tuple(map(tuple, x.tolist())), tuple(map(tuple, k.tolist()))


@st.cache_data(max_entries=64, show_spinner=False)
def compute(x: Grid, k: Grid, s: int, p: int, op: int, d: int) -> tuple[TransposedView, GapsView, MatrixView]:
    """The transposed convolution and its two equivalent forms (cached per setting)."""
    view = transposed_view(np.array(x), np.array(k), s, p, op, d)
    return view, gaps_view(view), matrix_view(view)


# Figures are cached as JSON-ready dicts: a cached Plotly object would be re-validated on every hit.
@st.cache_data(max_entries=32, show_spinner=False)
def hover_spec(x: Grid, k: Grid, s: int, p: int, op: int, d: int) -> dict | None:
    """Input, kernel and output linked both ways: the browser answers every hover alone."""
    return transposed_hover_spec(compute(x, k, s, p, op, d)[0])


@st.cache_data(max_entries=32, show_spinner=False)
def animation(x: Grid, k: Grid, s: int, p: int, op: int, d: int, frame_ms: int) -> dict:
    """The scatter animation: one Plotly frame per input cell."""
    view = compute(x, k, s, p, op, d)[0]
    return scatter_animation(view, partial_sums(view), frame_ms)


@st.cache_data(max_entries=32, show_spinner=False)
def gaps_and_matrix(x: Grid, k: Grid, s: int, p: int, op: int, d: int) -> tuple[dict, dict | None]:
    """The gapped direct convolution, and C^T when it is small enough to read."""
    view, gaps, mat = compute(x, k, s, p, op, d)
    rows = mat.matrix.shape[1]
    shown = (
        matrix_figure(mat.matrix.T, f"Cᵀ: {rows} output cells × {mat.matrix.shape[0]} input cells").to_dict()
        if rows <= MATRIX_MAX_ROWS
        else None
    )
    return gaps_figure(gaps, view), shown


try:
    x_grid, k_grid = grids()
    args = (x_grid, k_grid, stride, padding, output_padding, dilation)
    view, gaps, mat = compute(*args)
except ConvConfigError as exc:
    show_error(exc)
    st.stop()

ho, wo = view.output.shape
kh = view.kernel.shape[0]

# --- Scatter: the main picture, right under the title ----------------------------------------------------
main_figure = st.container(key="cnnviz-main-figure")
speed = url.select_slider("Speed", options=["slow", "medium", "fast"], value="medium", key=f"{P}_speed")
frame_ms = {"slow": 1000, "medium": 500, "fast": 150}[speed]
chart(PrebuiltFigure(animation(*args, frame_ms)), where=main_figure, key=f"{P}_scatter", config=NO_BAR)
main_figure.caption(
    f"Input cell (i, j) adds its value × kernel starting at output (i·{stride} − {padding}, j·{stride} − "
    f"{padding}), taps {dilation} apart; overlapping stamps add up. Padding {padding} crops {padding} "
    "cell(s) from each side of the sum (outside the dashed box); output_padding adds cells at the bottom and "
    "right. Press play, or drag the slider."
)

# --- Output size ---------------------------------------------------------------------------------------
size_steps(view.explanations)

# --- Point at a cell: answered in the browser ------------------------------------------------------------
spec = hover_spec(*args)
if spec is not None:
    st.subheader("Point at any cell", anchor=False)
    hover_grid(
        spec,
        key=f"{P}_hover",
        idle="Point at an output cell to see the stamps that add into it, or at an input cell to see where "
        "its stamp lands.",
    )
    st.caption(
        "Point at an output cell: the input cells and kernel taps whose products add into it light up, and the "
        "sum is written out. Point at an input cell: the output cells its stamp covers light up."
    )

# --- Gaps ----------------------------------------------------------------------------------------------
st.subheader("The same thing as a direct convolution: zeros in the gaps", anchor=False)
gaps_fig, c_fig = gaps_and_matrix(*args)
chart(PrebuiltFigure(gaps_fig), key=f"{P}_gaps", config=NO_BAR)
border = gaps.border
border_text = (
    f"pad **{dilation}·({kh}−1) − {padding} = {border}** zero(s) on each side"
    if border >= 0
    else f"**{dilation}·({kh}−1) − {padding} = {border}**: crop {-border} cell(s) from each side instead of padding"
)
st.markdown(
    f"Put **{stride}−1 = {stride - 1}** zero(s) between neighbouring input cells, {border_text}"
    + (
        f", add **{output_padding}** zero(s) at the bottom and right for output_padding"
        if output_padding
        else ""
    )
    + f", then slide the kernel **flipped** in both directions over it with stride 1 and dilation {dilation}."
)
difference = float(np.abs(gaps.output - view.output).max())
(st.success if difference < 1e-9 else st.error)(
    f"Direct convolution of the gapped input = the transposed convolution (largest difference {difference:.1e})."
)

# --- Matrix --------------------------------------------------------------------------------------------
st.subheader("The same thing as a matrix: Cᵀ", anchor=False)
st.markdown(
    f"Let **C** be the matrix of the ordinary convolution with this kernel, stride {stride}, padding {padding} "
    f"and dilation {dilation}, taking a {ho}×{wo} input to a {height}×{width} output: "
    f"C is {mat.matrix.shape[0]}×{mat.matrix.shape[1]}. The transposed convolution is **Cᵀ** "
    f"({mat.matrix.shape[1]}×{mat.matrix.shape[0]}) times the flattened input: it sends each input cell back "
    "along the weights that read it."
)
if any(mat.extra_rows):
    st.caption(
        "output_padding is at least the stride here, so the forward convolution would give "
        f"{mat.extra_rows[0]} extra row(s) and {mat.extra_rows[1]} extra column(s); they meet no input cell "
        "and C leaves them out."
    )
if c_fig is not None:
    chart(PrebuiltFigure(c_fig), key=f"{P}_matrix", config=NO_BAR)
else:
    st.caption(f"Cᵀ has {mat.matrix.shape[1]} rows: too many to draw (at most {MATRIX_MAX_ROWS}).")
(st.success if mat.matches else st.error)(
    "Cᵀ · x equals the transposed convolution, cell for cell."
    if mat.matches
    else "Cᵀ · x differs from the transposed convolution."
)

# --- PyTorch -------------------------------------------------------------------------------------------
st.subheader("The same layer in PyTorch", anchor=False)
st.code(
    f"up = torch.nn.ConvTranspose2d(1, 1, kernel_size={kh}, stride={stride}, padding={padding},\n"
    f"                              output_padding={output_padding}, dilation={dilation}, bias=False)\n"
    f"up(torch.zeros(1, 1, {height}, {width})).shape  # torch.Size([1, 1, {ho}, {wo}])",
    language="python",
)
