"""Pooling: which cell wins each window, why the output has its size, what a shift does, how to go down
without aliasing, and how to go back up."""

from __future__ import annotations

import numpy as np
import streamlit as st

from cnnviz import (
    ALIASING_PATTERNS,
    DOWNSAMPLE_FACTORS,
    LECTURE_SIGNAL,
    ConvConfigError,
    anti_alias_sigma,
    input_pattern,
    shift_summary,
)
from cnnviz.plots import PrebuiltFigure
from cnnviz.ui import (
    chart,
    hover_grid,
    image_picker,
    page_header,
    show_error,
    side_by_side,
    size_steps,
    table,
    typed_grid,
    upload_link_note,
    url,
)
from cnnviz.ui.pooling_views import (
    animation,
    invariance,
    invariance_table,
    invariance_view,
    pool_views,
    shift_maps,
    shrunk,
    upsample_views,
    upsampled,
    view_1d,
    walkthrough,
    walkthrough_1d,
)

P = "pl"
PATTERNS = ["random", "ramp", "edge", "checker", "impulse"]
TYPED = "typed"  # the input's values typed into a grid (a lecture's own numbers)
SIGNALS = ["lecture", "random", "ramp", "edge", "impulse"]
SPEEDS = {"slow": 900, "medium": 450, "fast": 150}  # milliseconds per animation frame
PICTURE = "photo or your picture"
ORDINAL = {2: "2nd", 3: "3rd", 4: "4th"}
NO_BAR = {"displayModeBar": False}
# Shrunk pictures are shown at their pixel size, never scaled by the browser (which would alias or blur
# them on its own), and enlarged with hard-edged pixels.
# The four results go in one row where four fit, else two by two (never three and one).
GAP = 24  # px between the results


def pixelated(shown_width: int) -> str:
    """The style of the shrunk pictures, each `shown_width` px wide."""
    box = f".st-key-{P}_ds_images"
    return (
        f"<style>{box}{{container-type:inline-size}}{box} img{{image-rendering:pixelated}}"
        f"{box} [data-testid=stImage]{{column-gap:{GAP}px}}"
        f"@container (max-width:{4 * shown_width + 3 * GAP - 1}px){{"
        f"{box} [data-testid=stImage]{{max-width:{2 * shown_width + GAP + 1}px}}}}</style>"
    )


controls = page_header(
    "Pooling",
    "Pooling summarises each window with one number: the largest (max) or the mean (average). "
    "It shrinks the map and makes the result care less about exactly where a feature is.",
)
with controls:
    st.markdown("**Input**")
    pattern = url.selectbox("Input pattern", [*PATTERNS, TYPED], key=f"{P}_pattern")
    size_row = url.at(side_by_side())
    height = int(size_row.number_input("Height", 1, 16, 6, key=f"{P}_height"))
    width = int(size_row.number_input("Width", 1, 16, 6, key=f"{P}_width"))
    seed = int(url.number_input("Seed", 0, 9999, 0, key=f"{P}_seed")) if pattern == "random" else 0
    st.markdown("**Pooling**")
    kind = url.radio("Kind", ["max", "avg"], horizontal=True, key=f"{P}_kind")
    kernel = int(url.number_input("Kernel size", 1, 8, 2, key=f"{P}_kernel"))
    same_stride = url.checkbox("Stride = kernel size (PyTorch's default)", value=True, key=f"{P}_same_stride")
    stride = int(url.number_input("Stride", 1, 8, kernel, key=f"{P}_stride", disabled=same_stride))
    padding = int(url.number_input("Padding", 0, 4, 0, key=f"{P}_padding"))
    dilation = int(
        url.number_input("Dilation (max only)", 1, 4, 1, key=f"{P}_dilation", disabled=kind != "max")
    )
    ceil_mode = url.checkbox("ceil_mode", value=False, key=f"{P}_ceil")
    count_include_pad = url.checkbox(
        "count_include_pad (avg only)", value=True, key=f"{P}_count_pad", disabled=kind != "avg"
    )
# The same pooling settings drive the 2D grid and the 1D signal below (dilation applies to max only).
pooling = {
    "kind": kind,
    "kernel_size": kernel,
    "stride": None if same_stride else stride,
    "padding": padding,
    "dilation": dilation if kind == "max" else 1,
    "ceil_mode": ceil_mode,
    "count_include_pad": count_include_pad,
}

# --- 1. Pooling view (the main picture, right under the title) ------------------------------------
main_figure = st.container(key="cnnviz-main-figure")
try:
    if pattern == TYPED:
        # The grid starts as the ramp 0, 1, 2, ... (lecture 003's [[0, 1, 2], [3, 4, 5], [6, 7, 8]] at 3 x 3).
        x = typed_grid("input", f"{P}_typed", input_pattern("ramp", (height, width)))
    else:
        x = input_pattern(pattern, (height, width), seed)
    w = walkthrough(x, pooling)
except ConvConfigError as exc:
    show_error(exc)
else:
    pool_spec, hover = pool_views(x, pooling)
    chart(PrebuiltFigure(pool_spec), where=main_figure, key=f"{P}_pool", config=NO_BAR)
    if kind == "max":
        st.caption(
            "Red squares: the input cell that wins each window (the first largest value, as PyTorch picks it). "
            "A cell can win several overlapping windows; hover a square to see which."
        )
    else:
        st.caption(
            "Each output cell is the mean of its window"
            + (
                "; padding counts as zeros in the mean (count_include_pad)."
                if count_include_pad
                else "; padding cells are left out of the mean."
            )
        )
    size_steps(w.explanations, title=None)
    st.metric("Global average pooling (mean of the whole input)", f"{w.global_average:.4g}")
    st.caption("Global average pooling is one window as big as the input: one number per channel.")

    if hover is not None:
        st.markdown("**Point at any cell**")
        hover_grid(
            hover,
            key=f"{P}_hover",
            idle="Point at a pooled cell to see its window and what it computes, or at an input cell to see "
            "the pooled cells that read it.",
        )
    st.markdown("**Watch the window slide**")
    speed = url.select_slider("Speed", options=list(SPEEDS), value="medium", key=f"{P}_speed", width=320)
    chart(PrebuiltFigure(animation(x, pooling, SPEEDS[speed])), key=f"{P}_anim", config=NO_BAR)
    st.caption(
        "Press play, or drag the slider to any output cell. Green rings: the cells the window reads"
        + (" (dilation skips the cells in between)" if kind == "max" and dilation > 1 else "")
        + (
            "; red square: the winner. Padding counts as −∞, so it never wins."
            if kind == "max"
            else "; padding counts as 0."
        )
    )

# --- 1D pooling ------------------------------------------------------------------------------------
st.subheader("The same in 1D", anchor=False)
st.caption("`F.max_pool1d` / `F.avg_pool1d` with the pooling settings in the sidebar, on a signal.")
signal_row = url.at(side_by_side(wrap=True))
signal_name = signal_row.selectbox("Signal", SIGNALS, key=f"{P}_1d_signal")
length = int(
    signal_row.number_input("Length", 1, 32, 12, key=f"{P}_1d_length", disabled=signal_name == "lecture")
)
try:
    signal = np.array(LECTURE_SIGNAL) if signal_name == "lecture" else input_pattern(signal_name, (length,))
    w1 = walkthrough_1d(signal, pooling)
except ConvConfigError as exc:
    show_error(exc)
else:
    chart(PrebuiltFigure(view_1d(signal, pooling)), key=f"{P}_1d", config=NO_BAR)
    st.latex(w1.explanation.to_latex())
    for note in w1.explanation.notes:
        st.caption(note)

# --- 2. Invariance ---------------------------------------------------------------------------------
st.subheader("Shift the input: equivariance and invariance", anchor=False)
shift_row = url.at(side_by_side(wrap=True))
shift = int(shift_row.slider("Shift the edge right by (pixels)", 0, 3, 1, key=f"{P}_shift"))
pool_k = int(shift_row.number_input("Pool kernel", 1, 3, 2, key=f"{P}_inv_kernel"))
pool_s = int(shift_row.number_input("Pool stride", 1, 3, 1, key=f"{P}_inv_stride"))
try:
    inv = invariance(pool_k, pool_s)
except ConvConfigError as exc:
    show_error(exc)
else:
    chart(PrebuiltFigure(shift_maps(pool_k, pool_s, shift)), key=f"{P}_inv_maps", config=NO_BAR)
    left, right = st.columns([3, 2])
    chart(PrebuiltFigure(invariance_view(pool_k, pool_s)), where=left, key=f"{P}_inv_plot", config=NO_BAR)
    table(
        invariance_table(pool_k, pool_s),
        where=right,
        hide_index=True,
    )
    st.caption(
        "The chart compares shares of each map's own cells: the pooled map has fewer cells than the edge map, "
        "so raw counts would make it look steadier than it is."
    )
    st.markdown(shift_summary(inv, shift))

# --- 3. Downsampling -------------------------------------------------------------------------------
st.subheader("Going down: four ways to shrink a picture", anchor=False)
d1, d2 = st.columns([3, 1])
with d1:
    what = url.radio("Picture", [*ALIASING_PATTERNS, PICTURE], horizontal=True, key=f"{P}_ds_input")
    picked = image_picker(f"{P}_ds") if what == PICTURE else None
upload_link_note(picked, controls)
factor = int(url.at(d2).radio("Shrink by", DOWNSAMPLE_FACTORS, horizontal=True, key=f"{P}_ds_factor"))
if what != PICTURE or picked is not None:
    try:
        src_png, src_size, pngs, sizes = shrunk(
            picked.key if picked else what, picked.image.array if picked else None, factor
        )
    except ConvConfigError as exc:
        show_error(exc)
    else:
        shown_width = int(max(w_ for _, w_ in sizes.values()) * factor)
        st.html(pixelated(shown_width))
        with st.container(key=f"{P}_ds_images"):
            left, right = st.columns([1, 2])
            left.image(
                src_png,
                caption=f"input {src_size[0]}×{src_size[1]}",
                width=int(src_size[1]),
                output_format="PNG",
            )
            if picked is not None:
                for note in picked.image.notes:
                    left.caption(note)
            right.markdown(
                f"Each result has about 1/{factor} of the pixels per side and is shown enlarged {factor}× "
                "(every pixel a square) so you can compare it with the input.\n\n"
                f"**Why subsampling aliases:** keeping every {ORDINAL[factor]} pixel can only show patterns that "
                f"repeat more slowly than every {2 * factor} input pixels. Finer detail does not disappear: "
                "it comes back as coarser patterns that are not in the picture (false rings, wide stripes, "
                "moiré). **Max pooling** keeps the brightest pixel of each block, so it aliases too and "
                "brightens. **Average pooling** is a box blur, then subsampling: it removes much of the false "
                "pattern, but a box lets some fine detail through, so a little remains. "
                "**Blur, then subsample** first removes the detail that the coarser grid cannot hold "
                f"(a Gaussian, σ = {anti_alias_sigma(factor):g} pixels): softer, but nothing false."
            )
            # One element for the four results (a row that wraps), each enlarged `factor` times.
            st.image(
                list(pngs.values()),
                caption=[f"{name}: {sizes[name][0]}×{sizes[name][1]}" for name in pngs],
                width=shown_width,
                output_format="PNG",
            )

# --- 4. Upsampling ---------------------------------------------------------------------------------
st.subheader("Going back up: four ways to upsample", anchor=False)
up_row = url.at(side_by_side(wrap=True))
up_pattern = up_row.selectbox("Source", PATTERNS, index=1, key=f"{P}_up_pattern")
tk = int(up_row.number_input("Transposed conv kernel size (all ones)", 1, 4, 2, key=f"{P}_up_kernel"))
try:
    up = upsampled(up_pattern, tk)
except ConvConfigError as exc:
    show_error(exc)
else:
    source_spec, methods_spec, sizes_frame = upsample_views(up_pattern, tk)
    chart(PrebuiltFigure(source_spec), key=f"{P}_up_source", config=NO_BAR)
    chart(PrebuiltFigure(methods_spec), key=f"{P}_up", config=NO_BAR)
    table(sizes_frame, hide_index=True)
    st.markdown(
        "**nearest** copies each cell into a 2×2 block. **max-unpool** puts each maximum back where max "
        "pooling found it (the stored argmax) and fills the rest with zeros. **bilinear** blends the four "
        "nearest cells (PyTorch's `align_corners=False`). **transposed conv** (stride 2) paints a copy of the "
        "kernel scaled by each cell and adds overlaps: its size is (n − 1)·2 + k, so only k = 2 gives back 4×4."
    )
