"""Apply a named or typed kernel to a photo: see the result, its matrix, one pixel's arithmetic, and download it."""

from __future__ import annotations

import numpy as np
import streamlit as st

from cnnviz import (
    CROP_SIDE,
    IMAGE_KERNELS,
    MAX_KERNEL_SIDE,
    PADDING_MODES,
    SIZED_KERNELS,
    ConvConfigError,
    crop_box,
    encode_png,
    explain_conv_output_size,
    explain_pixel,
    parse_number,
    preview_factor,
    result_box,
    result_pixel_at,
    size_text,
    window_centre,
)
from cnnviz.plots import PhotoPanel, PrebuiltFigure, clicked_pixel
from cnnviz.ui import (
    chart,
    image_picker,
    is_presenting,
    page_header,
    show_error,
    side_by_side,
    size_steps,
    table,
    typed_grid,
    upload_link_note,
    url,
)
from cnnviz.ui.photo_views import (
    CUSTOM,
    OVERVIEW_SIDE,
    build_kernel,
    crop_view,
    filtered,
    histogram_view,
    original_view,
    overview,
    png_download,
    synced_view,
)

PREFIX = "ik"
MATRIX_COLUMN_PX = 64  # pixels per kernel column: "-0.0625" and "0.1111" fit at projector size
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
    sizes_row = url.at(side_by_side(wrap=True))
    rows = int(sizes_row.number_input("rows", 1, MAX_KERNEL_SIDE, 3, key=f"{PREFIX}_rows", width=200))
    cols = int(sizes_row.number_input("columns", 1, MAX_KERNEL_SIDE, 3, key=f"{PREFIX}_cols", width=200))
    scale_text = sizes_row.text_input(
        "× every weight",
        "1",
        max_chars=40,
        key=f"{PREFIX}_scale",
        width=200,
        help="The factor written in front of a matrix: 1/16 for the 3×3 Gaussian 1/16·[[1, 2, 1], …].",
    )
    try:
        scale = parse_number(scale_text, "× every weight")
    except ConvConfigError as exc:
        show_error(ConvConfigError(f"{exc}; using 1 until it is a number", "scale"))
        scale = 1.0
    typed = typed_grid(
        "your kernel",
        f"{PREFIX}_grid",
        identity_grid(rows, cols),
        link_label="Your kernel",
        caption="Type a number or a fraction (1/16) in each cell, then Apply; a factor in front of the whole "
        "matrix goes in '× every weight'. It starts as the identity.",
    )
    custom = tuple(tuple(scale * float(v) for v in row) for row in typed)


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


def use_stride_one() -> None:
    st.session_state[f"{PREFIX}_stride"] = 1


def use_padding(pixels: int) -> None:
    st.session_state[f"{PREFIX}_padding"] = "pixels"
    st.session_state[f"{PREFIX}_pad_px"] = pixels


try:
    kernel = build_kernel(*kernel_args)
    shown = filtered(image, picked.key, kernel_args, options)
except ConvConfigError as exc:
    show_error(exc)
    if padding == "same" and stride > 1 and exc.argument == "padding":
        # 'same' needs stride 1: offer both ways out, one click each.
        side = dilation * (max(build_kernel(*kernel_args).matrix.shape) - 1) // 2
        fixes = side_by_side(wrap=True)
        fixes.button(
            "Use stride 1", on_click=use_stride_one, key=f"{PREFIX}_fix_stride", icon=":material/build:"
        )
        fixes.button(
            f"Keep stride {stride}, pad {side} per side",
            on_click=use_padding,
            args=(side,),
            key=f"{PREFIX}_fix_padding",
            icon=":material/build:",
            help=f"{side} pixels per side is what 'same' pads at stride 1; with stride {stride} the result is "
            f"about 1/{stride} of the size.",
        )
    st.stop()

# --- Original, result, kernel ----------------------------------------------------------------------
height, width = image.shape[:2]
out_h, out_w = shown["display"].shape[:2]
# Table rows are sized in rem: presentation mode's 22 px root font makes them 22/16 as tall.
ROW_SCALE = 22 / 16 if is_presenting() else 1.0
left, right, matrix_col = main_figure.columns([5, 5, 3])
scales = {"original": preview_factor(image.shape), "result": preview_factor(shown["display"].shape)}


def scale_text(factor: int) -> str:
    return "" if factor == 1 else f", shown at 1/{factor} scale"


left.image(
    original_view(image, picked.key)[1],
    caption=f"{picked.label}: {size_text(height, width)}{scale_text(scales['original'])}",
    width="stretch",
)
right.image(
    shown["preview"],
    caption=f"{kernel.name}: {size_text(out_h, out_w)}{scale_text(scales['result'])}",
    width="stretch",
)
if max(scales.values()) > 1:
    f = max(scales.values())
    main_figure.caption(
        f"Shown at 1/{f} scale: each screen pixel is the mean of a {f}×{f} block of pixels, which hides "
        "what a small kernel does (a 5×5 blur looks like the original). The 1:1 crop below shows every pixel."
    )
with matrix_col:
    st.markdown(f"**{kernel.name}**")
    st.caption(kernel.description)
    for label, matrix in zip(("Sobel x", "Sobel y"), kernel.matrices, strict=False):
        if kernel.second is not None:
            st.markdown(label)
        table(
            matrix,
            number_format="%.4g",
            key=f"{PREFIX}_matrix_{label}",
            height=min(560, round((38 + 35 * matrix.shape[0]) * ROW_SCALE)),
            hide_index=True,  # row numbers would take a column's room
            width="stretch",
            # Narrow columns, so that a 3×3 kernel fits the column beside the pictures unclipped.
            column_config={
                str(c): st.column_config.Column(width=MATRIX_COLUMN_PX) for c in range(matrix.shape[1])
            },
        )
    st.caption(f"Sum of weights: {kernel.matrix.sum():.4g}. Cross-correlation: laid on the image as written.")
st.info(shown["note"], icon=":material/contrast:")
if url.toggle(
    "Zoom both together",
    key=f"{PREFIX}_synced",
    help="Drag a box on either picture to zoom both; double-click to zoom out.",
):
    chart(
        PrebuiltFigure(
            synced_view(
                original_view(image, picked.key)[1],
                shown["preview"],
                (height, width),
                (out_h, out_w),
                (stride, padding, dilation, kernel.matrix.shape),
                (picked.label, kernel.name),
            )
        ),
        key=f"{PREFIX}_synced_figure",
        config={"displayModeBar": False},
    )
    if max(scales.values()) > 1:
        st.caption(
            f"Zoomed in, these are still the 1/{max(scales.values())}-scale pictures: zooming enlarges their "
            "pixels, it adds no detail. The 1:1 crop below has every pixel."
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

# --- 1:1 crop, and picking the inspected pixel ---------------------------------------------------
st.subheader(f"1:1 crop: {CROP_SIDE}×{CROP_SIDE} pixels as they are", anchor=False)
geometry = (kernel.matrix.shape, stride, padding, dilation)
pick = url.at(side_by_side(wrap=True))  # one block for the four boxes, each as wide as a fifth of a screen
crop_row = int(
    pick.number_input("crop centre row", 0, height - 1, height // 2, key=f"{PREFIX}_crop_row", width=240)
)
crop_col = int(
    pick.number_input("crop centre column", 0, width - 1, width // 2, key=f"{PREFIX}_crop_col", width=240)
)
row = int(pick.number_input("result row", 0, out_h - 1, out_h // 2, key=f"{PREFIX}_row", width=240))
col = int(pick.number_input("result column", 0, out_w - 1, out_w // 2, key=f"{PREFIX}_col", width=240))
box = crop_box(image.shape, (crop_row, crop_col))
out_box = result_box(box, (out_h, out_w), *geometry)
overview_factor = preview_factor(image.shape, OVERVIEW_SIDE)
origins = {0: ((0, 0), overview_factor), 1: (box[:2], 1), 2: ((0, 0) if out_box is None else out_box[:2], 1)}


def take_pixel_click() -> None:
    """A click on the whole picture moves the crop there and inspects it; on a crop, it inspects that pixel."""
    event = st.session_state.get(f"{PREFIX}_crop_figure")
    picked_at = clicked_pixel(event.selection.points if event is not None else [], origins)
    if picked_at is None:
        return
    panel, r, c = picked_at
    if panel == 0:
        st.session_state[f"{PREFIX}_crop_row"], st.session_state[f"{PREFIX}_crop_col"] = r, c
    r, c = (r, c) if panel == 2 else result_pixel_at((r, c), (out_h, out_w), *geometry)
    st.session_state[f"{PREFIX}_row"], st.session_state[f"{PREFIX}_col"] = r, c


centre_r, centre_c = window_centre((row, col), *geometry)
top, left_edge, crop_h, crop_w = box


def crop_panels() -> list[PhotoPanel]:
    """The whole picture with the crop outlined, the original crop and the result crop (PNG-encoded)."""
    panels = [
        PhotoPanel(
            overview(image, picked.key),
            tuple(int(n) for n in np.ceil(np.array(image.shape[:2]) / overview_factor)),
            f"whole picture{scale_text(overview_factor)}",
            outline=tuple(int(v // overview_factor) for v in box),
            mark=(int(centre_r // overview_factor), int(centre_c // overview_factor)),
        ),
        PhotoPanel(
            encode_png(image[top : top + crop_h, left_edge : left_edge + crop_w]),
            (crop_h, crop_w),
            f"original, 1:1 ({left_edge}..{left_edge + crop_w - 1}, {top}..{top + crop_h - 1})",
            mark=(int(centre_r) - top, int(centre_c) - left_edge),
        ),
    ]
    if out_box is not None:
        o_top, o_left, o_h, o_w = out_box
        panels.append(
            PhotoPanel(
                encode_png(shown["display"][o_top : o_top + o_h, o_left : o_left + o_w]),
                (o_h, o_w),
                f"{kernel.name}, 1:1",
                mark=(row - o_top, col - o_left),
            )
        )
    return panels


chart(
    PrebuiltFigure(crop_view(crop_panels, (picked.key, kernel_args, options, box, out_box, row, col))),
    key=f"{PREFIX}_crop_figure",
    config={"displayModeBar": False},
    on_select=take_pixel_click,
    selection_mode="points",
)
st.caption(
    "Click the whole picture to move the crop there, or a crop to inspect that pixel (a click lands on a "
    "block of a few pixels: type the row and column for an exact one). "
    + (
        ""
        if stride == 1
        else f"With stride {stride} the result crop is 1/{stride} of the size: it has fewer pixels."
    )
)

# --- Output size -----------------------------------------------------------------------------------
size_steps(
    [
        explain_conv_output_size(n, k, stride, padding, dilation, symbol=symbol)
        for n, k, symbol in ((height, kernel.matrix.shape[0], "h"), (width, kernel.matrix.shape[1], "w"))
    ],
    "Output size",
)

# --- One pixel -------------------------------------------------------------------------------------
st.subheader("One result pixel, every product", anchor=False)
st.caption(f"Result pixel ({row}, {col}): pick it above by clicking a picture, or type its row and column.")
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
# Per channel: its neighbourhood, the products and the sums, in one row of columns. The channel names its
# first caption and the shown value sits under the result: every element is a message to the browser.
for c, channel in enumerate(channels):
    parts = st.columns([3, 3, 2]) if kernel.second is None else st.columns([3, 3, 3, 2])
    parts[0].caption(f"**{channel}**: neighbourhood")
    table(px.values[c], where=parts[0], key=f"{PREFIX}_vals_{channel}", number_format="%.3f")
    for k in range(px.products.shape[0]):
        parts[1 + k].caption("× kernel = products" + (f" ({'xy'[k]})" if kernel.second is not None else ""))
        table(px.products[k, c], where=parts[1 + k], key=f"{PREFIX}_prod_{channel}_{k}", number_format="%.3f")
    with parts[-1]:
        if kernel.second is not None:
            st.metric(f"{channel} sum x, y", f"{px.sums[0, c]:.4f}, {px.sums[1, c]:.4f}")
        shown_value = (
            shown["display"][row, col] if shown["display"].ndim == 2 else shown["display"][row, col, c]
        )
        st.metric(
            f"{channel} result", f"{px.result[c]:.4f}", delta=f"shown as {int(shown_value)} / 255",
            delta_color="off", delta_arrow="off",
        )  # fmt: skip

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
    hist = histogram_view(image, picked.key, kernel_args, options)
    chart(PrebuiltFigure(hist), key=f"{PREFIX}_hist", config={"displayModeBar": False})
