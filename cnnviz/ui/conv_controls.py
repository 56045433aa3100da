"""The widget group that sets up a 2D convolution: input, kernel, stride, padding, dilation, bias.

Every widget has a key under one prefix, so two pages can hold separate settings, and every value lives
in the page's URL (typed grids as compact text, "1,2;3,4"), so a copied link reopens the same setup. The
group returns a plain `ConvSettings`; turning it into arrays and geometry is the core's job.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import streamlit as st

from cnnviz.conv.args import PADDING_MODES, ConvGeometry, resolve_geometry
from cnnviz.conv.kernels import INPUT_PATTERNS, KERNEL_PRESETS, input_pattern, kernel_preset
from cnnviz.errors import ConvConfigError
from cnnviz.ui.grids import typed_grid
from cnnviz.ui.layout import side_by_side
from cnnviz.ui.url_state import url

__all__ = ["ConvSettings", "PADDING_KINDS", "clamp_state", "conv_controls", "take_cell_click", "typed_values"]

PADDING_KINDS = ("number", "per side", "same", "valid")
MAX_INPUT = 32
MAX_KERNEL = 9


@dataclass(frozen=True)
class ConvSettings:
    """What the controls say, as plain values (hashable, so cached functions can take it)."""

    input_size: tuple[int, int]
    input_kind: str
    seed: int
    kernel_size: tuple[int, int]
    kernel_kind: str
    stride: tuple[int, int]
    padding: object  # int pair, ((top, bottom), (left, right)), 'same' or 'valid'
    padding_mode: str
    dilation: tuple[int, int]
    bias: float
    typed_input: tuple[tuple[float, ...], ...] | None = None
    typed_kernel: tuple[tuple[float, ...], ...] | None = None

    def geometry(self) -> ConvGeometry:
        return resolve_geometry(2, self.kernel_size, self.stride, self.padding, self.dilation)

    def input_array(self) -> np.ndarray:
        if self.typed_input is not None:
            return np.array(self.typed_input, dtype=float)
        return input_pattern(self.input_kind, self.input_size, self.seed)

    def kernel_array(self) -> np.ndarray:
        if self.typed_kernel is not None:
            return np.array(self.typed_kernel, dtype=float)
        return kernel_preset(self.kernel_kind, self.kernel_size, self.seed)


def _pair(label: str, key: str, low: int, high: int, default: int, help: str) -> tuple[int, int]:
    """Two small number inputs side by side, "<label> height" and "<label> width" (PyTorch's (sH, sW)).

    In a horizontal container and named in full, without a heading of their own: one block and two
    widgets where columns under a heading take five elements, and every element a run draws is a message
    to the browser, ~0.2 ms of server time each (a page sends 70-140 of them). The full names also say
    which box a link's rejected value was meant for.
    """
    row = url.at(side_by_side())
    h = row.number_input(f"{label} height", low, high, default, key=f"{key}_h", help=help)
    w = row.number_input(f"{label} width", low, high, default, key=f"{key}_w", help=help)
    return int(h), int(w)


Grid = tuple[tuple[float, ...], ...]


def conv_controls(prefix: str = "conv") -> ConvSettings:
    """Draw the controls (call inside the sidebar container) and return what they say."""
    st.subheader("Input", anchor=False)
    input_size = _pair("Input", f"{prefix}_in", 1, MAX_INPUT, 7, "Rows and columns of the input grid.")
    input_kind = url.selectbox("Input values", ["random", *INPUT_PATTERNS, "typed"], key=f"{prefix}_in_kind")
    seed = int(
        url.number_input(
            "Seed",
            0,
            10_000,
            0,
            key=f"{prefix}_seed",
            help="Random values come from this seed: the same seed gives the same numbers.",
        )
    )

    st.subheader("Kernel", anchor=False)
    kernel_size = _pair("Kernel", f"{prefix}_k", 1, MAX_KERNEL, 3, "Rows and columns of the kernel.")
    kernel_kind = url.selectbox("Kernel values", [*KERNEL_PRESETS, "typed"], key=f"{prefix}_k_kind")
    bias = float(
        url.number_input(
            "Bias",
            -100.0,
            100.0,
            0.0,
            step=0.5,
            key=f"{prefix}_bias",
            help="Added to every output cell after the dot product.",
        )
    )

    st.subheader("Sliding", anchor=False)
    stride = _pair("Stride", f"{prefix}_s", 1, 8, 1, "How far the window moves between outputs.")
    dilation = _pair(
        "Dilation",
        f"{prefix}_d",
        1,
        6,
        1,
        "Spacing between kernel taps: 2 skips one input cell between taps.",
    )
    kind = url.radio(
        "Padding",
        PADDING_KINDS,
        horizontal=True,
        key=f"{prefix}_pad_kind",
        help="'same' keeps the size (stride 1 only); 'valid' means no padding.",
    )
    padding: object
    if kind == "number":
        both_sides = "Cells added on both sides: top and bottom (height), left and right (width)."
        padding = _pair("Padding", f"{prefix}_p", 0, 16, 0, both_sides)
    elif kind == "per side":
        rows = url.at(side_by_side()), url.at(side_by_side())
        top = rows[0].number_input("top", 0, 16, 0, key=f"{prefix}_pt")
        bottom = rows[0].number_input("bottom", 0, 16, 0, key=f"{prefix}_pb")
        left = rows[1].number_input("left", 0, 16, 0, key=f"{prefix}_pl")
        right = rows[1].number_input("right", 0, 16, 0, key=f"{prefix}_pr")
        padding = ((int(top), int(bottom)), (int(left), int(right)))
    else:
        padding = kind
    padding_mode = url.selectbox(
        "Padding mode",
        PADDING_MODES,
        key=f"{prefix}_pad_mode",
        help="What padding cells hold: zeros, a mirror of the input (reflect), "
        "the edge value repeated (replicate), or the other side (circular).",
    )
    return ConvSettings(
        input_size, input_kind, seed, kernel_size, kernel_kind, stride, padding, padding_mode, dilation, bias
    )


def _as_grid(values: np.ndarray) -> Grid:
    return tuple(tuple(float(v) for v in row) for row in values)


def typed_values(settings: ConvSettings, prefix: str = "conv") -> ConvSettings:
    """If input or kernel values are 'typed', show their editable grids (main area) and fold them in."""
    from dataclasses import replace

    typed_input = typed_kernel = None
    if settings.input_kind == "typed":
        start = input_pattern("random", settings.input_size, settings.seed)
        typed_input = _as_grid(typed_grid("input", f"{prefix}_typed_in", start))
    if settings.kernel_kind == "typed":
        try:
            start = kernel_preset("identity", settings.kernel_size)
        except ConvConfigError:
            start = np.zeros(settings.kernel_size)
        typed_kernel = _as_grid(typed_grid("kernel", f"{prefix}_typed_k", start))
    return replace(settings, typed_input=typed_input, typed_kernel=typed_kernel)


def clamp_state(key: str, low: int, high: int, default: int) -> None:
    """Keep a number box's value inside low..high (the grid it indexes may have just shrunk)."""
    value = st.session_state.get(key, default)
    st.session_state[key] = int(min(max(value, low), high))


def take_cell_click(chart_key: str, output_keys: tuple[str, str], input_keys: tuple[str, str]) -> None:
    """on_select callback: a click on an output/input cell sets that cell's row and column boxes.

    The chart's points come from `cnnviz.plots.cell_picker_trace`; the number boxes stay the one
    place the picked cell lives, so clicking and typing always agree.
    """
    from cnnviz.plots import picked_cell

    event = st.session_state.get(chart_key)
    points = event.selection.points if event is not None else []
    for point in points[:1]:
        picked = picked_cell(point)
        if picked is None:
            continue
        kind, row, col = picked
        row_key, col_key = output_keys if kind == "output" else input_keys
        st.session_state[row_key] = row
        st.session_state[col_key] = col
