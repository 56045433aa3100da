"""Pooling: which cell wins each window, why the output has its size, what a shift does, and how to go back up."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from cnnviz.errors import ConvConfigError
from cnnviz.kernels import input_pattern
from cnnviz.plots_pooling import invariance_figure, maps_figure, pool_figure, upsample_figure
from cnnviz.pooling import pool_walkthrough, shift_invariance, upsample_compare
from cnnviz.ui import page_header, show_error

P = "pl"
PATTERNS = ["random", "ramp", "edge", "checker", "impulse"]
NO_BAR = {"displayModeBar": False}

controls = page_header(
    "Pooling",
    "Pooling summarises each window with one number: the largest (max) or the mean (average). "
    "It shrinks the map and makes the result care less about exactly where a feature is.",
)
with controls:
    st.markdown("**Input**")
    pattern = st.selectbox("Input pattern", PATTERNS, key=f"{P}_pattern")
    c1, c2 = st.columns(2)
    height = int(c1.number_input("Height", 1, 16, 6, key=f"{P}_height"))
    width = int(c2.number_input("Width", 1, 16, 6, key=f"{P}_width"))
    seed = int(st.number_input("Seed", 0, 9999, 0, key=f"{P}_seed")) if pattern == "random" else 0
    st.markdown("**Pooling**")
    kind = st.radio("Kind", ["max", "avg"], horizontal=True, key=f"{P}_kind")
    kernel = int(st.number_input("Kernel size", 1, 8, 2, key=f"{P}_kernel"))
    same_stride = st.checkbox("Stride = kernel size (PyTorch's default)", value=True, key=f"{P}_same_stride")
    stride = int(st.number_input("Stride", 1, 8, kernel, key=f"{P}_stride", disabled=same_stride))
    padding = int(st.number_input("Padding", 0, 4, 0, key=f"{P}_padding"))
    dilation = int(
        st.number_input("Dilation (max only)", 1, 4, 1, key=f"{P}_dilation", disabled=kind != "max")
    )
    ceil_mode = st.checkbox("ceil_mode", value=False, key=f"{P}_ceil")
    count_include_pad = st.checkbox(
        "count_include_pad (avg only)", value=True, key=f"{P}_count_pad", disabled=kind != "avg"
    )

# --- 1. Pooling view -------------------------------------------------------------------------------
st.subheader("One pooling layer", anchor=False)
try:
    x = input_pattern(pattern, (height, width), seed)
    w = pool_walkthrough(
        x,
        kind,
        kernel,
        None if same_stride else stride,
        padding,
        dilation if kind == "max" else 1,
        ceil_mode,
        count_include_pad,
    )
except ConvConfigError as exc:
    show_error(exc)
else:
    st.plotly_chart(pool_figure(w.input, w.output, w.winners, kind), key=f"{P}_pool", config=NO_BAR)
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
    hcol, wcol = st.columns(2)
    for column, axis, explanation in (
        (hcol, "Height", w.explanations[0]),
        (wcol, "Width", w.explanations[1]),
    ):
        with column:
            st.markdown(f"**{axis}**")
            st.latex(explanation.to_latex())
            for note in explanation.notes:
                st.caption(note)
    st.metric("Global average pooling (mean of the whole input)", f"{w.global_average:.4g}")
    st.caption("Global average pooling is one window as big as the input: one number per channel.")

# --- 2. Invariance ---------------------------------------------------------------------------------
st.subheader("Shift the input: equivariance and invariance", anchor=False)
s1, s2, s3 = st.columns(3)
shift = int(s1.slider("Shift the edge right by (pixels)", 0, 3, 1, key=f"{P}_shift"))
pool_k = int(s2.number_input("Pool kernel", 1, 3, 2, key=f"{P}_inv_kernel"))
pool_s = int(s3.number_input("Pool stride", 1, 3, 1, key=f"{P}_inv_stride"))
try:
    inv = shift_invariance(3, pool_k, pool_s)
except ConvConfigError as exc:
    show_error(exc)
else:
    st.plotly_chart(
        maps_figure(
            {
                f"image, shift {shift}": inv.images[shift],
                "edge map: conv with [[1, -1]]": inv.conv[shift],
                f"max pooled {pool_k}×{pool_k}, stride {pool_s}": inv.pooled[shift],
            }
        ),
        key=f"{P}_inv_maps",
        config=NO_BAR,
    )
    left, right = st.columns([3, 2])
    left.plotly_chart(
        invariance_figure(inv.shifts, inv.conv_changed, inv.pool_changed), key=f"{P}_inv_plot", config=NO_BAR
    )
    right.dataframe(
        pd.DataFrame(
            {
                "shift": inv.shifts,
                "conv cells changed": inv.conv_changed,
                "pooled cells changed": inv.pool_changed,
                "conv: edge cells still on": [f"{k:.0%}" for k in inv.conv_kept],
                "pooled: edge cells still on": [f"{k:.0%}" for k in inv.pool_kept],
            }
        ),
        hide_index=True,
    )
    st.markdown(
        f"At shift {shift}: **{inv.conv_changed[shift]}** cells of the edge map changed and "
        f"**{inv.pool_changed[shift]}** of the pooled map. "
        "Convolution is **equivariant**: shift the input and the edge map shifts with it, so none of the "
        "cells that fired at shift 0 fire any more. Max pooling is **approximately invariant**: a cell still "
        "fires as long as the edge stays inside its window, so after a 1-pixel shift some pooled cells "
        f"still report the edge ({inv.pool_kept[min(1, len(inv.shifts) - 1)]:.0%} of them here). "
        "Larger shifts move the edge out of every window."
    )

# --- 3. Upsampling ---------------------------------------------------------------------------------
st.subheader("Going back up: four ways to upsample", anchor=False)
u1, u2 = st.columns(2)
up_pattern = u1.selectbox("Source", PATTERNS, index=1, key=f"{P}_up_pattern")
tk = int(u2.number_input("Transposed conv kernel size (all ones)", 1, 4, 2, key=f"{P}_up_kernel"))
try:
    up = upsample_compare(input_pattern(up_pattern, (4, 4), 0), np.ones((tk, tk)))
except ConvConfigError as exc:
    show_error(exc)
else:
    st.plotly_chart(
        maps_figure({"source": up.source, "2×2 max pooled": up.small}), key=f"{P}_up_source", config=NO_BAR
    )
    st.plotly_chart(upsample_figure(up.methods), key=f"{P}_up", config=NO_BAR)
    st.dataframe(
        pd.DataFrame(
            {"method": list(up.sizes()), "output size": [f"{h}×{w}" for h, w in up.sizes().values()]}
        ),
        hide_index=True,
    )
    st.markdown(
        "**nearest** copies each cell into a 2×2 block. **max-unpool** puts each maximum back where max "
        "pooling found it (the stored argmax) and fills the rest with zeros. **bilinear** blends the four "
        "nearest cells (PyTorch's `align_corners=False`). **transposed conv** (stride 2) paints a copy of the "
        "kernel scaled by each cell and adds overlaps: its size is (n − 1)·2 + k, so only k = 2 gives back 4×4."
    )
