"""Slide a kernel over an input, watch the output fill in, and see every dot product with its numbers."""

from __future__ import annotations

import numpy as np
import streamlit as st

from cnnviz import (
    SHIFT_FILLS,
    ConvConfigError,
    dense_equivalent_params,
    outputs_reading_input,
    pytorch_snippet,
    unread_input_reason,
)
from cnnviz.plots import (
    PrebuiltFigure,
    grids_figure,
)
from cnnviz.ui import (
    chart,
    clamp_state,
    conv_controls,
    hover_grid,
    page_header,
    show_error,
    size_steps,
    table,
    take_cell_click,
    typed_values,
    url,
)
from cnnviz.ui.explorer_views import (
    animation,
    animation_gif,
    equivariance_view,
    hover_spec,
    matrix_view,
    one_cell,
    products_of,
    shifted,
    walkthrough,
)

PREFIX = "cx"
NO_TOOLBAR = {"displayModeBar": False}

controls = page_header(
    "Convolution explorer",
    "Slide a kernel over an input: every output cell is one dot product, written out with its numbers.",
)
with controls:
    settings = conv_controls(PREFIX)
# The sliding window comes first, right under the title; typed grids and the arithmetic follow it.
main_figure = st.container(key="cnnviz-main-figure")
figure_tools = st.container()  # its speed and GIF, under it
settings = typed_values(settings, PREFIX)


try:
    w = walkthrough(settings)
except ConvConfigError as exc:
    show_error(exc)
    st.stop()

# --- Animation (the main picture, drawn at the top) -----------------------------------------------
with figure_tools:
    speed = url.select_slider(
        "Speed", options=["slow", "medium", "fast"], value="medium", key=f"{PREFIX}_speed"
    )
    frame_ms = {"slow": 900, "medium": 400, "fast": 120}[speed]
chart(
    PrebuiltFigure(animation(settings, frame_ms)),
    where=main_figure,
    key=f"{PREFIX}_animation",
    config=NO_TOOLBAR,
)
main_figure.caption(
    "Green rings: the cells the kernel reads for the current output (dilation leaves gaps inside the dotted "
    "outline). "
    "Grey: padding. Press play, or drag the slider to any output cell."
)
with figure_tools:
    if st.button("Make a GIF of this animation", key=f"{PREFIX}_gif_make", icon=":material/movie:"):
        st.session_state[f"{PREFIX}_gif_for"] = (settings, frame_ms)
    if st.session_state.get(f"{PREFIX}_gif_for") == (settings, frame_ms):
        gif = animation_gif(settings, frame_ms)
        st.download_button(
            f"Download the GIF ({len(gif) / 1e6:.1f} MB)",
            gif,
            file_name="convolution.gif",
            mime="image/gif",
            key=f"{PREFIX}_gif_download",
            on_click="ignore",
            icon=":material/download:",
        )

# --- Point at a cell: answered in the browser, no rerun --------------------------------------------
OUT_KEYS, IN_KEYS = (f"{PREFIX}_row", f"{PREFIX}_col"), (f"{PREFIX}_in_row", f"{PREFIX}_in_col")


def pick(panel: str, row: int, col: int) -> None:
    """A click in the hover grid: an output cell goes to the products below, an input cell to its readers."""
    if panel == "output":
        st.session_state[OUT_KEYS[0]], st.session_state[OUT_KEYS[1]] = row, col
    elif panel == "input" and not w.is_padding[row, col]:
        top, left = w.padding_offset
        st.session_state[IN_KEYS[0]], st.session_state[IN_KEYS[1]] = row - top, col - left


st.subheader("Point at any cell", anchor=False)
shown_cell = tuple(
    min(max(int(st.session_state.get(k, 0)), 0), n - 1) for k, n in zip(OUT_KEYS, w.output.shape, strict=True)
)
spec = hover_spec(settings)
if spec is None:
    st.caption("This layer is too large to point at cell by cell: pick an output cell below instead.")
else:
    hover_grid(
        {**spec, "pinned": ["output", *shown_cell]},
        key=f"{PREFIX}_hover",
        on_pick=pick,
        pickable=("input", "output"),
        idle="Point at an output cell to see its window and dot product, or at an input cell to see "
        "the outputs that read it.",
    )
    st.caption(
        "Point at an output cell: the input cells its window reads light up, and its dot product is written "
        "out. Point at an input cell: the outputs that read it light up. Click a cell to show it in the "
        "sections below."
    )

# --- Shape arithmetic ------------------------------------------------------------------------------
size_steps(w.explanations)
kh, kw = w.kernel.shape
st.markdown(
    f"**Parameters**: {kh}×{kw} weights + 1 bias = **{w.params}** · "
    f"**Multiply-accumulates**: {w.output.size} outputs × {kh * kw} taps = **{w.macs:,}**"
)

# --- One output cell, and the reverse -------------------------------------------------------------
st.subheader("One output cell, every product", anchor=False)
ho, wo = w.output.shape
h, wd = w.input.shape
for key, size, start in zip(OUT_KEYS + IN_KEYS, (ho, wo, h, wd), (0, 0, h // 2, wd // 2), strict=True):
    clamp_state(key, 0, size - 1, start)
st.caption("Click an output cell to see its products, or an input cell to see the outputs it feeds.")
CELL_BOX_PX = 220  # a row or column number box
pick = url.at(st.container(horizontal=True))
row = int(pick.number_input("output row", 0, ho - 1, key=OUT_KEYS[0], width=CELL_BOX_PX))
col = int(pick.number_input("output column", 0, wo - 1, key=OUT_KEYS[1], width=CELL_BOX_PX))
# The figure marks the picked input cell, whose boxes come further down: hold its place and draw it
# once those boxes have read the link (a click has already set them, before this run began).
cell_figure_slot = st.empty()
cell, terms = products_of(settings, row, col)
products, summary = st.columns([3, 2])
table(terms, where=products, hide_index=True)
with summary:
    st.markdown(f"output[{row}, {col}] = sum of products + bias")
    st.code(cell.equation(), language=None, wrap_lines=True)
    st.metric("output value", f"{cell.total:.4g}")

st.subheader("Which outputs does one input cell feed?", anchor=False)
# The input boxes start at the centre: that is also their default in a link, so a link without them
# reopens on the centre too.
pick_input = url.at(st.container(horizontal=True))
in_row = int(pick_input.number_input("input row", 0, h - 1, h // 2, key=IN_KEYS[0], width=CELL_BOX_PX))
in_col = int(pick_input.number_input("input column", 0, wd - 1, wd // 2, key=IN_KEYS[1], width=CELL_BOX_PX))
chart(
    PrebuiltFigure(one_cell(settings, row, col, (in_row, in_col))),
    where=cell_figure_slot,
    key=f"{PREFIX}_cell_figure",
    config=NO_TOOLBAR,
    on_select=lambda: take_cell_click(f"{PREFIX}_cell_figure", OUT_KEYS, IN_KEYS),
    selection_mode="points",
)
# Input size, the picked input cell, and the layer: what "which outputs read it, and why not" depend on.
reading = (
    w.input.shape,
    (in_row, in_col),
    w.kernel.shape,
    settings.stride,
    settings.padding,
    settings.dilation,
    settings.padding_mode,
)
fed = outputs_reading_input(*reading)
cells = sorted({out for out, _ in fed})
if cells:
    reads = np.zeros(w.output.shape)
    for out, _ in fed:
        reads[out] += 1
    chosen = np.zeros(w.input.shape, dtype=bool)
    chosen[in_row, in_col] = True
    left, right = st.columns([3, 2])
    chart(
        grids_figure(
            [
                (f"input cell ({in_row}, {in_col})", chosen.astype(float)),
                ("times each output reads it", reads),
            ],
            colorscale="Oranges",
            shared_limit=False,
            from_zero=True,
            numbers=(False, True),
            hover="row %{y}, col %{x}: %{z}<extra></extra>",
        ),
        where=left,
        key=f"{PREFIX}_feeds",
        config=NO_TOOLBAR,
    )
    right.markdown(
        f"Input cell ({in_row}, {in_col}) feeds **{len(cells)}** output cell{'s' if len(cells) != 1 else ''}: "
        + ", ".join(str(c) for c in cells[:40])
        + (" …" if len(cells) > 40 else "")
        + ". The number in each output cell counts how many kernel taps read this input cell "
        "(more than one only when padding copies it)."
    )
else:
    reason = unread_input_reason(*reading)
    st.warning(f"No output reads input cell ({in_row}, {in_col}): {reason}.")

# --- Equivariance -------------------------------------------------------------------------------------
st.subheader("Shift the input, and the output shifts too", anchor=False)
st.markdown(
    "A convolution treats every position alike, so shifting the input shifts the output the same way: "
    "conv(shift(x)) = shift(conv(x)). Borders and stride are where this breaks."
)
shift_row = st.container(horizontal=True, gap="medium")  # one block: see cnnviz.ui.conv_controls._pair
MAX_SHIFT = 8
dy_max, dx_max = min(h - 1, MAX_SHIFT), min(wd - 1, MAX_SHIFT)
dy = dx = 0
if dy_max:
    dy = int(url.at(shift_row).slider("shift down (rows)", -dy_max, dy_max, 1, key=f"{PREFIX}_eq_dy"))
else:
    shift_row.caption("One row: nothing to shift down.")
if dx_max:
    dx = int(url.at(shift_row).slider("shift right (columns)", -dx_max, dx_max, 0, key=f"{PREFIX}_eq_dx"))
else:
    shift_row.caption("One column: nothing to shift right.")
fill = url.at(shift_row).radio(
    "Cells that enter",
    SHIFT_FILLS,
    horizontal=True,
    width="content",
    key=f"{PREFIX}_eq_fill",
    help="zeros: the shift pushes values off one edge and lets zeros in at the other; "
    "circular: what leaves one edge comes back at the other (torch.roll).",
)
check = shifted(settings, dy, dx, fill)
oy, ox = check.output_shift
chart(
    PrebuiltFigure(equivariance_view(settings, dy, dx, fill)), key=f"{PREFIX}_equivariance", config=NO_TOOLBAR
)
sy, sx = settings.stride
if not check.stride_divides:
    st.warning(
        f"The stride is ({sy}, {sx}) and the shift ({dy}, {dx}) is not a multiple of it: the shifted input "
        f"is read by a different grid of windows, so shifting the output by ({oy}, {ox}) does not match it "
        f"({check.n_differ} of {check.differs.size} cells differ, marked ×). Only shifts by multiples of "
        "the stride commute with a strided convolution."
    )
elif check.n_differ:
    st.info(
        f"{check.n_differ} of {check.differs.size} output cells differ (marked ×): they sit where the window "
        "reads cells the shift brought in or pushed out, or padding. Away from the borders the two sides "
        "agree exactly."
    )
else:
    st.success(f"All {check.differs.size} output cells agree: here the convolution commutes with the shift.")

# --- Convolution as a matrix ------------------------------------------------------------------------
st.subheader("Convolution as a matrix", anchor=False)
MATRIX_MAX_INPUT = 100  # cells; a bigger matrix is unreadable on a slide
if w.input.size <= MATRIX_MAX_INPUT:
    dense = dense_equivalent_params(1, w.input.shape, 1, w.output.shape)
    left, right = st.columns([3, 2])
    chart(PrebuiltFigure(matrix_view(settings)), where=left, key=f"{PREFIX}_matrix", config=NO_TOOLBAR)
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
