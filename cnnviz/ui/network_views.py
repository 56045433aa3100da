"""The network builder's cached views, on the stack's JSON (`key`; the Network or Summary passed
unhashed): the summary, receptive fields, figures as JSON-ready dicts, the fully connected baselines, and
the exported code and diagram. Shared read-only, in a module imported once: see `cnnviz.ui.shared`.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from cnnviz import (
    Baseline,
    Network,
    Region,
    Summary,
    comparable_mlps,
    diagram,
    effective_receptive_field,
    field_sample_image,
    field_sample_signal,
    field_steps,
    receptive_region,
    summarize,
    to_pytorch_code,
)
from cnnviz.plots import (
    diagram_png,
    diagram_svg,
    field_growth_figure,
    params_figure,
    region_figure,
    region_signal_figure,
)
from cnnviz.ui.shared import shared

__all__ = [
    "baselines_of",
    "code_of",
    "erf_of",
    "growth_picture",
    "params_picture",
    "png_of",
    "region_of",
    "region_picture",
    "summary_of",
    "svg_of",
]


@st.cache_resource(max_entries=64, show_spinner=False)
def summary_of(key: str, _network: Network) -> Summary:
    return shared(summarize(_network.nodes, _network.input_size, _network.batch_size))


@st.cache_resource(max_entries=64, show_spinner=False)
def region_of(key: str, _network: Network, layer: int, unit: tuple[int, ...]) -> Region:
    return shared(receptive_region(_network.nodes, _network.input_size, layer, unit))


@st.cache_resource(max_entries=32, show_spinner=False)
def region_picture(key: str, _network: Network, layer: int, unit: tuple[int, ...]) -> dict:
    region = region_of(key, _network, layer, unit)
    size = _network.input_size
    if len(size) == 3:
        fig = region_figure(
            field_sample_image(size[1], size[2]), region.mask, region.clipped, region.unclipped
        )
    else:
        fig = region_signal_figure(
            field_sample_signal(size[-1]), region.mask, region.clipped, region.unclipped
        )
    return fig.to_dict()


@st.cache_resource(max_entries=32, show_spinner=False)
def growth_picture(key: str, _result: Summary) -> dict:
    """r and jump after each layer that slides a window, next to the input's extent."""
    local = [step for step in field_steps(_result) if step.size is not None]
    labels, sizes, jumps = [s.label for s in local], [s.size for s in local], [s.jump for s in local]
    return field_growth_figure(labels, sizes, jumps, _result.input_size[1:]).to_dict()


@st.cache_resource(max_entries=32, show_spinner=False)
def params_picture(key: str, _baselines: list[Baseline]) -> dict:
    return params_figure([b.label for b in _baselines], [b.params for b in _baselines]).to_dict()


@st.cache_resource(max_entries=16, show_spinner="Backpropagating through random weights…")
def erf_of(key: str, _network: Network, layer: int, unit: tuple[int, ...], runs: int) -> np.ndarray:
    return shared(effective_receptive_field(_network.nodes, _network.input_size, layer, unit, runs=runs))


@st.cache_resource(max_entries=64, show_spinner=False)
def baselines_of(key: str, _network: Network) -> list[Baseline]:
    return comparable_mlps(_network.nodes, _network.input_size)


@st.cache_resource(max_entries=64, show_spinner=False)
def code_of(key: str, _network: Network) -> str:
    return to_pytorch_code(_network.nodes, _network.input_size, _network.batch_size)


# The pictures are made when someone clicks their download button (the page passes a callable), not on
# every rerun: a PNG of the diagram takes ~30 ms to draw and encode.
@st.cache_resource(max_entries=32, show_spinner=False)
def svg_of(key: str, _result: Summary) -> str:
    return diagram_svg(diagram(_result))


@st.cache_resource(max_entries=16, show_spinner=False)
def png_of(key: str, _result: Summary) -> bytes:
    return diagram_png(diagram(_result))
