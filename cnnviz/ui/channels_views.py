"""The channels page's cached views: the layer for its settings and typed values, and its figures as
JSON-ready dicts, so widgets further down rerun without recomputing the layer. Shared read-only, in a
module imported once: see `cnnviz.ui.shared`.
"""

from __future__ import annotations

import streamlit as st

from cnnviz import (
    ChannelsView,
    channel_mixing,
    channel_sums,
    connections,
    explain_channels,
    seeded_channel_values,
)
from cnnviz.plots import (
    cell_sum_figure,
    channels_hover_spec,
    connections_figure,
    mixing_figure,
    planes_figure,
    weights_figure,
)
from cnnviz.ui.shared import shared

__all__ = ["Settings", "Values", "board_specs", "cell_specs", "hover_spec", "layer", "mixing_spec"]

Settings = tuple[tuple[int, int], int, int, int, int, int, int, bool, int]
Values = tuple | None  # typed (x, weight, bias), or None for the seed's values


@st.cache_resource(max_entries=64, show_spinner=False)
def layer(cfg: Settings, values: Values) -> ChannelsView:
    """The layer for these settings and values (cached: widgets further down rerun without recomputing it)."""
    x, weight, b = values if values is not None else seeded_channel_values(*cfg)
    return shared(explain_channels(x, weight, b, cfg[4], cfg[5], cfg[6]))


@st.cache_resource(max_entries=64, show_spinner=False)
def board_specs(cfg: Settings, values: Values) -> tuple[dict, dict, dict, dict]:
    """Input planes, connections, weight board and output planes for one layer."""
    view = layer(cfg, values)
    in_groups = [c // view.in_per_group for c in range(view.c_in)]
    out_groups = [view.group_of_output(o) for o in range(view.c_out)]
    return (
        planes_figure(view.input, "x", in_groups).to_dict(),
        connections_figure(connections(view.c_in, view.c_out, view.groups)).to_dict(),
        weights_figure(view).to_dict(),
        planes_figure(view.output, "y", out_groups, colorscale="RdBu").to_dict(),
    )


@st.cache_resource(max_entries=128, show_spinner=False)
def cell_specs(cfg: Settings, values: Values, out_channel: int, row: int, col: int) -> tuple[dict, dict]:
    """The input planes with one output cell's window outlined, and its per-channel dot products."""
    view = layer(cfg, values)
    cell = channel_sums(view, out_channel, (row, col))
    groups_of = [c // view.in_per_group for c in range(view.c_in)]
    read = planes_figure(view.input, "x", groups_of, window=cell.window_cells, window_channels=cell.channels)
    return read.to_dict(), cell_sum_figure(cell).to_dict()


@st.cache_resource(max_entries=64, show_spinner=False)
def mixing_spec(cfg: Settings, values: Values, row: int, col: int) -> dict:
    """y = W x + b at one pixel of a 1x1 convolution."""
    return mixing_figure(channel_mixing(layer(cfg, values), (row, col))).to_dict()


@st.cache_resource(max_entries=32, show_spinner=False)
def hover_spec(cfg: Settings, values: Values) -> dict | None:
    """Every input and output plane linked both ways: the browser answers every hover alone."""
    return channels_hover_spec(layer(cfg, values))
