"""Apply a named or typed kernel to a photo: see the result, its matrix, one pixel's arithmetic, and download it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from cnnviz import (
    IMAGE_KERNELS,
    MAX_KERNEL_SIDE,
    PADDING_MODES,
    SIZED_KERNELS,
    ConvConfigError,
    ImageKernel,
    apply_image_kernel,
    custom_kernel,
    difference_image,
    encode_png,
    encode_preview,
    explain_conv_output_size,
    explain_pixel,
    histograms,
    image_kernel,
    preview,
    result_extent,
    size_text,
)
from cnnviz.plots import synced_images_figure
from cnnviz.ui import (
    chart,
    image_picker,
    is_presenting,
    page_header,
    show_error,
    typed_grid,
    upload_link_note,
    url,
)

PREFIX = "ik"
CUSTOM = "custom (type your own)"
OUTPUTS = {"clip": "clip to 0..1", "normalize": "stretch min..max", "abs": "absolute value"}
MODES = {"per_channel": "each RGB channel", "luminance": "luminance (grey)"}


def identity_grid(rows: int, cols: int) -> np.ndarray:
    """The custom grid's start: a 1 in the centre, zeros around it."""
    start = np.zeros((rows, cols))
    start[(rows - 1) // 2, (cols - 1) // 2] = 1.0
    return start


controls = page_header(
    "Image kernels",
    "The same small grid of weights blurs, sharpens or finds edges: apply one to a photo and see every number.",
)
with controls:
    picked = image_picker(PREFIX)
    st.markdown("**Kernel**")
    kernel_name = url.selectbox(
        "Kernel", [*IMAGE_KERNELS, CUSTOM], index=IMAGE_KERNELS.index("sobel x"), key=f"{PREFIX}_kernel"
    )
    size, sigma = 3, None
    if kernel_name in SIZED_KERNELS:
        size = int(
            url.number_input("Kernel size (n × n)", 1, MAX_KERNEL_SIDE, 5, step=2, key=f"{PREFIX}_size")
        )
    if kernel_name == "gaussian blur":
        sigma = float(url.number_input("Sigma (pixels)", 0.1, 10.0, 1.0, step=0.1, key=f"{PREFIX}_sigma"))
    st.markdown("**Options**")
    mode = url.radio("Apply to", list(MODES), format_func=MODES.get, horizontal=True, key=f"{PREFIX}_mode")
    stride = int(url.number_input("Stride", 1, 8, 1, key=f"{PREFIX}_stride"))
    padding_kind = url.radio(
        "Padding",
        ["same", "valid", "pixels"],
        horizontal=True,
        key=f"{PREFIX}_padding",
        help="same: output as large as the input (stride 1 only); valid: no padding.",
    )
    padding: int | str = padding_kind
    if padding_kind == "pixels":
        padding = int(url.number_input("Padding per side (pixels)", 0, 32, 1, key=f"{PREFIX}_pad_px"))
    padding_mode = url.selectbox("Padding mode", PADDING_MODES, key=f"{PREFIX}_padding_mode")
    dilation = int(url.number_input("Dilation", 1, 8, 1, key=f"{PREFIX}_dilation"))
    output = url.radio(
        "Signed values shown as", list(OUTPUTS), format_func=OUTPUTS.get, key=f"{PREFIX}_output"
    )

upload_link_note(picked, controls)
if picked is None:
    st.stop()
# Original and result come first, right under the title; the custom kernel's grid and the arithmetic follow.
main_figure = st.container(key="cnnviz-main-figure")

# --- The custom kernel grid (in the main area: it needs room) --------------------------------------
custom: tuple[tuple[float, ...], ...] = ()
if kernel_name == CUSTOM:
    st.subheader("Your kernel", anchor=False)
    rows_in, cols_in, _ = st.columns([1, 1, 4])
    rows = int(url.at(rows_in).number_input("rows", 1, MAX_KERNEL_SIDE, 3, key=f"{PREFIX}_rows"))
    cols = int(url.at(cols_in).number_input("columns", 1, MAX_KERNEL_SIDE, 3, key=f"{PREFIX}_cols"))
    typed = typed_grid(
        "your kernel",
        f"{PREFIX}_grid",
        identity_grid(rows, cols),
        link_label="Your kernel",
        caption="Type a number or a fraction (1/16) in each cell, then Apply. It starts as the identity.",
    )
    custom = tuple(tuple(float(v) for v in row) for row in typed)


def build_kernel(
    name: str, size: int, sigma: float | None, custom: tuple[tuple[float, ...], ...]
) -> ImageKernel:
    return custom_kernel(np.array(custom)) if name == CUSTOM else image_kernel(name, size, sigma)


@st.cache_data(max_entries=4, show_spinner=False)
def original_view(_image: np.ndarray, image_key: str) -> tuple[np.ndarray, bytes, dict[str, np.ndarray]]:
    """The original's preview (array and encoded bytes) and its histograms, once per image."""
    small = preview(_image)
    return small, encode_preview(small), histograms(small)


@st.cache_data(max_entries=6, show_spinner="Filtering…")
def filtered(_image: np.ndarray, image_key: str, kernel_args: tuple, options: tuple) -> dict:
    """Filter once per (image, kernel, options); reruns for other widgets reuse it. A plain dict (it must
    pickle): the uint8 result, its note and backend, display bytes, difference image and histograms.
    The float result is left out: it is large, and the pixel inspector recomputes its few taps."""
    kernel = build_kernel(*kernel_args)
    result = apply_image_kernel(_image, kernel, **dict(options))
    small = preview(result.display)
    diff = difference_image(original_view(_image, image_key)[0], small)
    return {
        "display": result.display,
        "note": result.note,
        "backend": result.backend,
        "preview": encode_preview(small),
        "difference": None if diff is None else encode_preview(diff[0]),
        "largest_change": 0 if diff is None else diff[1],
        "hist": histograms(small),
    }


@st.cache_data(max_entries=4, show_spinner=False)
def synced_view(
    original: bytes,
    result: bytes,
    size: tuple[int, int],
    out: tuple[int, int],
    geometry: tuple,
    titles: tuple[str, str],
) -> go.Figure:
    """Original and result in one figure with shared axes: zooming one zooms the other."""
    return synced_images_figure(original, result, (0, 0, *size), result_extent(size, out, *geometry), titles)


@st.cache_data(max_entries=2, show_spinner=False)
def png_download(_display: np.ndarray, cache_key: tuple) -> bytes:
    return encode_png(_display)


image = picked.image.array
for note in picked.image.notes:
    st.caption(note)
options = (
    ("mode", mode),
    ("stride", stride),
    ("padding", padding),
    ("padding_mode", padding_mode),
    ("dilation", dilation),
    ("output", output),
)
kernel_args = (kernel_name, size, sigma, custom)
try:
    kernel = build_kernel(*kernel_args)
    shown = filtered(image, picked.key, kernel_args, options)
except ConvConfigError as exc:
    show_error(exc)
    st.stop()

# --- Original, result, kernel ----------------------------------------------------------------------
height, width = image.shape[:2]
out_h, out_w = shown["display"].shape[:2]
# Table rows are sized in rem: presentation mode's 22 px root font makes them 22/16 as tall.
ROW_SCALE = 22 / 16 if is_presenting() else 1.0
left, right, matrix_col = main_figure.columns([5, 5, 3])
left.image(
    original_view(image, picked.key)[1],
    caption=f"{picked.label}: {size_text(height, width)}",
    width="stretch",
)
right.image(shown["preview"], caption=f"{kernel.name}: {size_text(out_h, out_w)}", width="stretch")
with matrix_col:
    st.markdown(f"**{kernel.name}**")
    st.caption(kernel.description)
    for label, matrix in zip(("Sobel x", "Sobel y"), kernel.matrices, strict=False):
        if kernel.second is not None:
            st.markdown(label)
        frame = pd.DataFrame(matrix, columns=[str(c) for c in range(matrix.shape[1])])
        st.dataframe(
            frame.style.format("{:.4g}"),
            key=f"{PREFIX}_matrix_{label}",
            height=min(560, round((38 + 35 * matrix.shape[0]) * ROW_SCALE)),
        )
    st.caption(f"Sum of weights: {kernel.matrix.sum():.4g}. Cross-correlation: laid on the image as written.")
st.info(shown["note"], icon=":material/contrast:")
if url.toggle(
    "Zoom both together",
    key=f"{PREFIX}_synced",
    help="Drag a box on either picture to zoom both; double-click to zoom out.",
):
    chart(
        synced_view(
            original_view(image, picked.key)[1],
            shown["preview"],
            (height, width),
            (out_h, out_w),
            (stride, padding, dilation, kernel.matrix.shape),
            (picked.label, kernel.name),
        ),
        key=f"{PREFIX}_synced_figure",
        config={"displayModeBar": False},
    )
cache_key = (picked.key, kernel_args, options)
st.download_button(
    "Download the result (PNG, full resolution)",
    lambda: png_download(shown["display"], cache_key),
    file_name=f"{kernel.name.replace(' ', '_')}.png",
    mime="image/png",
    on_click="ignore",
    icon=":material/download:",
    key=f"{PREFIX}_download",
)

# --- Output size -----------------------------------------------------------------------------------
st.subheader("Output size", anchor=False)
size_h, size_w = st.columns(2)
for column, axis, n, k in (
    (size_h, "Height", height, kernel.matrix.shape[0]),
    (size_w, "Width", width, kernel.matrix.shape[1]),
):
    explanation = explain_conv_output_size(
        n, k, stride, padding, dilation, symbol="h" if axis == "Height" else "w"
    )
    with column:
        st.markdown(f"**{axis}**")
        st.latex(explanation.to_latex())
        for line in explanation.notes:
            st.caption(line)

# --- One pixel -------------------------------------------------------------------------------------
st.subheader("One result pixel, every product", anchor=False)
pick_row, pick_col, _ = st.columns([1, 1, 3])
row = int(url.at(pick_row).number_input("result row", 0, out_h - 1, out_h // 2, key=f"{PREFIX}_row"))
col = int(url.at(pick_col).number_input("result column", 0, out_w - 1, out_w // 2, key=f"{PREFIX}_col"))
px = explain_pixel(
    image,
    kernel,
    row,
    col,
    mode=mode,
    stride=stride,
    padding=padding,
    padding_mode=padding_mode,
    dilation=dilation,
)
channels = ["grey"] if mode == "luminance" else ["R", "G", "B"]
first_r, first_c = px.positions[0, 0]
st.caption(
    f"The window's top-left tap reads input ({first_r}, {first_c}); taps step {dilation} pixel(s) apart. "
    "Values are on the 0..1 scale the filter uses (pixel / 255); outside the image they come from the padding."
)
for c, channel in enumerate(channels):
    with st.container(key=f"{PREFIX}_px_{channel}"):
        st.markdown(f"**{channel}**")
        parts = st.columns([3, 3, 2]) if kernel.second is None else st.columns([3, 3, 3, 2])
        parts[0].caption("neighbourhood")
        parts[0].dataframe(pd.DataFrame(px.values[c]).style.format("{:.3f}"), key=f"{PREFIX}_vals_{channel}")
        for k in range(px.products.shape[0]):
            parts[1 + k].caption(
                "× kernel = products" + (f" ({'xy'[k]})" if kernel.second is not None else "")
            )
            parts[1 + k].dataframe(
                pd.DataFrame(px.products[k, c]).style.format("{:.3f}"), key=f"{PREFIX}_prod_{channel}_{k}"
            )
        with parts[-1]:
            if kernel.second is not None:
                st.metric(f"{channel} sum x, y", f"{px.sums[0, c]:.4f}, {px.sums[1, c]:.4f}")
            st.metric(f"{channel} result", f"{px.result[c]:.4f}")
            shown_value = (
                shown["display"][row, col] if shown["display"].ndim == 2 else shown["display"][row, col, c]
            )
            st.metric(f"{channel} shown as", f"{int(shown_value)} / 255")

# --- Difference and histograms ---------------------------------------------------------------------
st.subheader("What changed", anchor=False)
diff_col, hist_col = st.columns([1, 1])
with diff_col:
    if shown["difference"] is None:
        st.caption(
            f"No difference image: the result ({size_text(out_h, out_w)}) is not the size of the input "
            f"({size_text(height, width)}). Use stride 1 and 'same' padding to compare pixel by pixel."
        )
    else:
        st.image(
            shown["difference"],
            width="stretch",
            caption=f"|result − original|, stretched so the largest change ({shown['largest_change']}/255) is white",
        )
with hist_col:
    colours = {"R": "#d62728", "G": "#2ca02c", "B": "#1f77b4", "grey": "#444444"}
    centres = np.arange(64) * 4 + 2
    fig = go.Figure()
    for title, hist, dash in (
        ("original", original_view(image, picked.key)[2], "dot"),
        ("result", shown["hist"], "solid"),
    ):
        for channel, counts in hist.items():
            fig.add_trace(
                go.Scatter(
                    x=centres,
                    y=counts,
                    mode="lines",
                    name=f"{title} {channel}",
                    line={"color": colours[channel], "dash": dash, "width": 2},
                )
            )
    fig.update_layout(
        height=320,
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        title="Histograms (64 bins)",
        xaxis_title="value (0..255)",
        yaxis_title="pixels",
        legend={"font": {"size": 12}},
    )
    chart(fig, key=f"{PREFIX}_hist", config={"displayModeBar": False})
