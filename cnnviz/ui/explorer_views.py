"""The convolution explorer's cached views, on the page's settings: the walkthrough, its figures as
JSON-ready dicts (drawn as `PrebuiltFigure`s), the GIF, the shift check and the convolution's matrix.
Shared read-only, in a module imported once: see `cnnviz.ui.shared`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from cnnviz import (
    ConvWalkthrough,
    EquivarianceCheck,
    OutputExplanation,
    conv2d_walkthrough,
    conv_matrix,
    equivariance_check,
    explain_conv_output,
)
from cnnviz.plots import (
    conv_animation_gif,
    conv_hover_spec,
    conv_walkthrough_spec,
    grids_figure,
    matrix_figure,
)
from cnnviz.ui.conv_controls import ConvSettings
from cnnviz.ui.shared import shared

# The settings are hashed by their repr (exact for their ints, floats, strings and tuples): 16 us where
# Streamlit's own hashing of a dataclass takes ~270 us, and a run looks up seven of these views.
BY_REPR = {ConvSettings: repr}

__all__ = [
    "animation",
    "animation_gif",
    "equivariance_view",
    "hover_spec",
    "matrix_view",
    "one_cell",
    "products_of",
    "shifted",
    "walkthrough",
]


def conv_arguments(settings: ConvSettings) -> tuple:
    """Input, kernel, bias, stride, padding, dilation and padding mode: the convolution both views run."""
    return (
        settings.input_array(),
        settings.kernel_array(),
        settings.bias,
        settings.stride,
        settings.padding,
        settings.dilation,
        settings.padding_mode,
    )


@st.cache_resource(max_entries=64, show_spinner=False, hash_funcs=BY_REPR)
def walkthrough(settings: ConvSettings) -> ConvWalkthrough:
    """The convolution and its arithmetic for these settings (cached: reruns on other widgets are free)."""
    return shared(conv2d_walkthrough(*conv_arguments(settings)))


def figure_inputs(w: ConvWalkthrough) -> dict:
    """The walkthrough's grids and geometry, as the animation, the one-cell view and the GIF all take them."""
    return {
        "padded": w.padded,
        "is_padding": w.is_padding,
        "kernel": w.kernel,
        "output": w.output,
        "geometry": w.geometry,
        "padding_offset": w.padding_offset,
    }


@st.cache_resource(max_entries=32, show_spinner=False, hash_funcs=BY_REPR)
def animation(settings: ConvSettings, frame_ms: int) -> dict:
    """The sliding-window animation (Plotly frames) for these settings."""
    return conv_walkthrough_spec(**figure_inputs(walkthrough(settings)), frame_ms=frame_ms)


@st.cache_resource(max_entries=64, show_spinner=False, hash_funcs=BY_REPR)
def one_cell(settings: ConvSettings, row: int, col: int, in_cell: tuple[int, int]) -> dict:
    """Input, kernel and output with the window of output (row, col); every input/output cell clickable."""
    return conv_walkthrough_spec(
        **figure_inputs(walkthrough(settings)),
        selected=(row, col),
        animate=False,
        pickable=True,
        marked_input=in_cell,
    )


@st.cache_resource(max_entries=64, show_spinner=False, hash_funcs=BY_REPR)
def products_of(settings: ConvSettings, row: int, col: int) -> tuple[OutputExplanation, pd.DataFrame]:
    """Output (row, col) explained, and its products as a table: input cell, padding, value, weight, product."""
    w = walkthrough(settings)
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
    terms = pd.DataFrame(
        {
            "input cell (row, col)": [str(t.position) for t in cell.taps],
            "padding": ["yes" if t.is_padding else "" for t in cell.taps],
            "input value": [t.value for t in cell.taps],
            "kernel weight": [t.weight for t in cell.taps],
            "product": [t.product for t in cell.taps],
        }
    )
    return shared(cell), terms  # the table is only drawn, never changed


@st.cache_resource(max_entries=8, show_spinner="Drawing the frames…", hash_funcs=BY_REPR)
def animation_gif(settings: ConvSettings, frame_ms: int) -> bytes:
    """The same animation as a GIF (made only when asked for: a hundred frames take a moment)."""
    return conv_animation_gif(**figure_inputs(walkthrough(settings)), frame_ms=frame_ms)


@st.cache_resource(max_entries=64, show_spinner=False, hash_funcs=BY_REPR)
def shifted(settings: ConvSettings, dy: int, dx: int, fill: str) -> EquivarianceCheck:
    """conv(shift(x)) next to shift(conv(x)) for these settings."""
    return shared(equivariance_check(*conv_arguments(settings), (dy, dx), fill))


@st.cache_resource(max_entries=32, show_spinner=False, hash_funcs=BY_REPR)
def hover_spec(settings: ConvSettings) -> dict | None:
    """Input, kernel and output linked both ways, for the browser to answer hovers alone."""
    return conv_hover_spec(walkthrough(settings))


@st.cache_resource(max_entries=64, show_spinner=False, hash_funcs=BY_REPR)
def equivariance_view(settings: ConvSettings, dy: int, dx: int, fill: str) -> dict:
    """The shifted input, conv(shift(x)) and shift(conv(x)), the cells where they differ marked."""
    check = shifted(settings, dy, dx, fill)
    oy, ox = check.output_shift
    return grids_figure(
        [
            (f"input shifted by ({dy}, {dx})", check.shifted_input),
            ("conv(shift(x))", check.conv_of_shift),
            (f"shift(conv(x)) by ({oy}, {ox})", check.shift_of_conv),
        ],
        marks=[None, check.differs, check.differs],
        limits=[float(np.abs(check.shifted_input).max()) or 1.0]
        + [float(max(np.abs(check.conv_of_shift).max(), np.abs(check.shift_of_conv).max())) or 1.0] * 2,
    ).to_dict()


@st.cache_resource(max_entries=32, show_spinner=False, hash_funcs=BY_REPR)
def matrix_view(settings: ConvSettings) -> dict:
    """The convolution as a matrix on the input flattened row by row."""
    w = walkthrough(settings)
    matrix = conv_matrix(
        (1, *w.input.shape),
        w.kernel[None, None],
        settings.stride,
        settings.padding,
        settings.dilation,
        1,
        settings.padding_mode,
    )
    title = f"{matrix.shape[0]} outputs × {matrix.shape[1]} inputs (flattened row by row)"
    return matrix_figure(matrix, title).to_dict()
