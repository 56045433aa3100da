"""1D convolution: a signal, a kernel, stride, dilation and padding, as line plots, a sliding window and a matrix."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import streamlit as st

from cnnviz import (
    LECTURE_SIGNAL,
    PADDING_MODES,
    TEMPLATE_MATCHING,
    ConvConfigError,
    ConvWalkthrough,
    conv1d_walkthrough,
    conv_matrix,
    conv_params,
    dense_equivalent_params,
    explain_conv_output,
    parse_numbers,
    pytorch_snippet,
    window_centres,
)
from cnnviz.plots import (
    PrebuiltFigure,
    conv1d_signals_figure,
    conv_hover_spec,
    conv_walkthrough_figure,
    matrix_figure,
)
from cnnviz.ui import chart, hover_grid, page_header, show_error, size_steps, url

P = "c1"
MAX_TEXT = 4000  # characters of a typed signal or kernel: far more than the numbers the page accepts
MAX_KERNEL_TAPS = 15
SIGNALS = {
    "lecture signal (3 plateaus)": ", ".join(str(v) for v in LECTURE_SIGNAL),
    "template matching": ", ".join(f"{v:g}" for v in TEMPLATE_MATCHING[0]),
    "impulse": "0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0",
    "step": "0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1",
}
KERNELS = {
    "average": None,  # 1/k for every tap, at the chosen size
    "difference (-1, 1)": "-1, 1",
    "template (-1, 1)": ", ".join(f"{v:g}" for v in TEMPLATE_MATCHING[1]),
    "smooth (1, 2, 1)/4": "0.25, 0.5, 0.25",
    "edge (-1, 0, 1)": "-1, 0, 1",
}


def checked_numbers(text: str, name: str, max_count: int) -> str:
    """`text` itself if it reads as numbers the page accepts (a link's text is checked before use)."""
    if len(text) > MAX_TEXT:
        raise ConvConfigError(f"{name}: at most {MAX_TEXT} characters", name)
    parse_numbers(text, name, max_count=max_count)
    return text


def typed_numbers(
    box: Callable[..., str], label: str, default: str, key: str, max_count: int, **kwargs
) -> str:
    """A text box of typed numbers kept in the link: a link's text that does not read falls back, noted."""
    bound = url.value(
        key, default, parse=lambda raw: checked_numbers(raw, label, max_count), encode=str, label=label
    )
    revision_key = f"{key}_link"  # which link revision the box was last filled from
    if st.session_state.get(revision_key) != bound.revision or key not in st.session_state:
        st.session_state[revision_key] = bound.revision
        st.session_state[key] = bound.get()
    text = box(label, default, key=key, max_chars=MAX_TEXT, **kwargs)
    bound.set(text)
    return text


controls = page_header(
    "Convolution in 1D",
    "A kernel slides along a signal: each output is a weighted sum of neighbours, the same weights everywhere.",
)
with controls:
    st.subheader("Signal", anchor=False)
    signal_name = url.selectbox("Signal", [*SIGNALS, "typed"], key=f"{P}_signal")
    # Only the typed text is the person's own and travels in the link; a preset's text just shows it.
    if signal_name == "typed":
        signal_text = typed_numbers(
            st.text_area,
            "Values (comma separated)",
            "1, 2, 3, 4, 5, 6",
            f"{P}_signal_text_typed",
            256,
            height=80,
        )
    else:
        signal_text = st.text_area(
            "Values (comma separated)",
            SIGNALS[signal_name],
            key=f"{P}_signal_text_{signal_name}",
            disabled=True,
            height=80,
        )
    st.subheader("Kernel", anchor=False)
    kernel_name = url.selectbox("Kernel", [*KERNELS, "typed"], key=f"{P}_kernel")
    size = int(
        url.number_input(
            "Kernel size (for average)", 1, 15, 3, key=f"{P}_k", disabled=kernel_name != "average"
        )
    )
    if kernel_name == "typed":
        kernel_text = typed_numbers(
            st.text_input, "Weights (comma separated)", "1, 0, -1", f"{P}_kernel_text_typed", MAX_KERNEL_TAPS
        )
    else:
        kernel_text = st.text_input(
            "Weights (comma separated)",
            KERNELS.get(kernel_name) or "1, 0, -1",
            key=f"{P}_kernel_text_{kernel_name}",
            disabled=True,
        )
    bias = float(url.number_input("Bias", -100.0, 100.0, 0.0, step=0.5, key=f"{P}_bias"))
    st.subheader("Sliding", anchor=False)
    stride = int(url.number_input("Stride", 1, 8, 1, key=f"{P}_stride"))
    dilation = int(url.number_input("Dilation", 1, 6, 1, key=f"{P}_dilation"))
    pad_kind = url.radio(
        "Padding", ["number", "per side", "same", "valid"], horizontal=True, key=f"{P}_pad_kind"
    )
    if pad_kind == "number":
        padding: object = int(url.number_input("Padding on each side", 0, 16, 1, key=f"{P}_pad"))
    elif pad_kind == "per side":
        left_c, right_c = st.columns(2)
        padding = (
            int(url.at(left_c).number_input("left", 0, 16, 1, key=f"{P}_pad_l")),
            int(url.at(right_c).number_input("right", 0, 16, 1, key=f"{P}_pad_r")),
        )
    else:
        padding = pad_kind
    padding_mode = url.selectbox("Padding mode", PADDING_MODES, key=f"{P}_mode")
# The signals and the sliding window come first, right under the title; the arithmetic follows them.
main_figure = st.container(key="cnnviz-main-figure")


@st.cache_data(max_entries=64, show_spinner=False)
def compute(
    signal: tuple[float, ...],
    kernel: tuple[float, ...],
    bias: float,
    stride: int,
    padding: object,
    dilation: int,
    padding_mode: str,
) -> ConvWalkthrough:
    return conv1d_walkthrough(
        np.array(signal), np.array(kernel), bias, stride, padding, dilation, padding_mode
    )


@st.cache_data(max_entries=32, show_spinner=False)
def animation(w: ConvWalkthrough) -> PrebuiltFigure:
    return conv_walkthrough_figure(
        w.padded,
        w.is_padding,
        w.kernel,
        w.output,
        w.geometry,
        padding_offset=w.padding_offset,
        cell_px=48,
        one_d=True,
    )


try:
    signal = parse_numbers(
        SIGNALS.get(signal_name, signal_text) if signal_name != "typed" else signal_text, "signal"
    )
    kernel = (
        np.full(size, 1.0 / size)
        if kernel_name == "average"
        else parse_numbers(
            KERNELS[kernel_name] if kernel_name != "typed" else kernel_text,
            "kernel",
            max_count=MAX_KERNEL_TAPS,
        )
    )
    w = compute(tuple(signal), tuple(kernel), bias, stride, padding, dilation, padding_mode)
except ConvConfigError as exc:
    show_error(exc)
    st.stop()

with main_figure:
    chart(
        conv1d_signals_figure(
            w.input[0], w.output[0], window_centres(w.input.shape[1], kernel.size, stride, padding, dilation)
        ),
        key=f"{P}_signals",
        config={"displayModeBar": False},
    )
    chart(animation(w), key=f"{P}_animation", config={"displayModeBar": False})

explanation = w.explanations[0]
_, aside = size_steps([explanation], "Output length, step by step")
with aside:
    st.markdown(f"**Parameters**: {kernel.size} weights + 1 bias = **{w.params}**")

st.subheader("One output, every product", anchor=False)
POSITION = f"{P}_pos"


@st.cache_data(max_entries=32, show_spinner=False)
def hover_spec(w: ConvWalkthrough) -> dict | None:
    """Signal, kernel and output linked both ways: the browser answers every hover alone."""
    return conv_hover_spec(w, one_d=True)


def pick(panel: str, row: int, col: int) -> None:
    """A click on an output sample shows its products below."""
    if panel == "output":
        st.session_state[POSITION] = col


spec = hover_spec(w)
if spec is not None:
    shown = min(max(int(st.session_state.get(POSITION, 0)), 0), w.output.shape[1] - 1)
    hover_grid(
        {**spec, "pinned": ["output", 0, shown]},
        key=f"{P}_hover",
        on_pick=pick,
        pickable=("output",),
        stack=True,
        idle="Point at an output to see the samples its window reads, or at a sample to see the outputs "
        "that read it.",
    )
    st.caption(
        "Point at an output: the samples its window reads light up and its products are written out. Point "
        "at a sample: the outputs that read it light up. Click an output to write it out below."
    )
position = int(url.number_input("output position", 0, w.output.shape[1] - 1, 0, key=POSITION))
cell = explain_conv_output(
    w.input,
    w.kernel[0][None, None],
    position,
    0,
    np.array([w.bias]),
    stride,
    padding,
    dilation,
    1,
    padding_mode,
)
st.code(cell.equation(), language=None, wrap_lines=True)

st.subheader("Convolution as a matrix", anchor=False)
matrix = conv_matrix(
    (1, w.input.shape[1]), w.kernel[0][None, None], stride, padding, dilation, 1, padding_mode
)
n_in, n_out = w.input.shape[1], w.output.shape[1]
conv_count = conv_params(1, 1, kernel.size, bias=True)
dense_count = dense_equivalent_params(1, n_in, 1, n_out, bias=True)
a, b = st.columns([3, 2])
chart(
    matrix_figure(
        matrix,
        f"{n_out} outputs × {n_in} inputs",
        rows_are="output position (one per row)",
        columns_are="one column per input position",
    ),
    where=a,
    key=f"{P}_matrix",
    config={"displayModeBar": False},
)
with b:
    st.markdown(
        f"Each output position is one line of the matrix, each input sample one place along it: the "
        f"same {kernel.size} weights, moved {stride} sample{'s' if stride != 1 else ''} along from one "
        f"output to the next; everything else is zero. A fully connected layer with the same sizes has a "
        f"weight in every cell."
    )
    st.metric("convolution parameters", f"{conv_count:,}")
    st.metric(
        "fully connected parameters",
        f"{dense_count:,}",
        delta=f"{dense_count / conv_count:.0f}× more",
        delta_color="off",
    )

st.subheader("The same layer in PyTorch", anchor=False)
st.code(pytorch_snippet(w, 1, padding, padding_mode), language="python")
