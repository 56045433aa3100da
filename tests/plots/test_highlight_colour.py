"""The window and the picked cell are drawn in palette.HIGHLIGHT in every figure, never in orange or red."""

from __future__ import annotations

import colorsys
import json

import numpy as np
import plotly.colors
import pytest

from cnnviz.plots import conv_walkthrough_figure
from cnnviz.plots.channels import planes_figure
from cnnviz.plots.network import erf_figure, region_figure
from cnnviz.plots.palette import HIGHLIGHT, ring_cells
from cnnviz.plots.pooling import pool_animation_figure
from cnnviz.plots.transposed import scatter_animation
from cnnviz.topics.pooling import pool_walkthrough
from cnnviz.topics.transposed import partial_sums, transposed_view
from cnnviz.topics.walkthrough import conv2d_walkthrough

pytestmark = pytest.mark.quick


def _json(fig) -> dict:
    spec = getattr(fig, "_spec", None)
    return spec if spec is not None else fig if isinstance(fig, dict) else json.loads(fig.to_json())


def _warm(colour: str) -> bool:
    """Whether a colour is a saturated red, orange or amber (hue within 0-50 degrees or above 340)."""
    rgb = plotly.colors.unlabel_rgb(plotly.colors.convert_colors_to_same_type(colour, "rgb")[0][0])
    hue, sat, _ = colorsys.rgb_to_hsv(*(v / 255 for v in rgb))
    return sat > 0.4 and (hue * 360 <= 50 or hue * 360 >= 340)


def _lines(spec: dict) -> list[str]:
    """The colour of every outline drawn: scatter lines and markers, shapes' lines."""
    colours = [t["line"]["color"] for t in spec["data"] if t.get("type") == "scatter" and "line" in t]
    colours += [
        s["line"]["color"] for s in spec["layout"].get("shapes", []) if s.get("line", {}).get("color")
    ]
    return colours


def test_the_highlight_itself_is_no_warm_colour():
    assert not _warm(HIGHLIGHT)


def test_walkthrough_rings_the_cells_the_window_reads_and_boxes_the_output_cell_in_the_highlight():
    x = np.arange(25.0).reshape(5, 5) - 12
    w = conv2d_walkthrough(x, np.ones((2, 2)), 0.0, (1, 1), (1, 1), (2, 2))
    spec = _json(conv_walkthrough_figure(w.padded, w.is_padding, w.kernel, w.output, w.geometry,
                                         padding_offset=w.padding_offset, marked_input=(1, 1)))  # fmt: skip
    window, span, box, marked = spec["data"][2], spec["data"][3], spec["data"][7], spec["data"][8]
    assert [t["line"]["color"] for t in (window, span, box, marked)] == [HIGHLIGHT] * 4
    assert ring_cells(window["x"], window["y"]) == {(-1, -1), (-1, 1), (1, -1), (1, 1)}  # dilation 2
    assert not any(_warm(c) for c in _lines(spec))


def test_pooling_window_and_output_cell_are_in_the_highlight():
    w = pool_walkthrough(np.arange(16.0).reshape(4, 4), "max", 2, 2)
    spec = _json(pool_animation_figure(w))
    window, span, box = spec["data"][2], spec["data"][3], spec["data"][7]
    assert [t["line"]["color"] for t in (window, span, box)] == [HIGHLIGHT] * 3
    assert ring_cells(window["x"], window["y"]) == {(0, 0), (0, 1), (1, 0), (1, 1)}
    for frame in spec["frames"]:  # the window moves as a ring path, not as a filled overlay
        assert frame["data"][0]["type"] == "scatter"
    assert not any(
        t.get("type") == "heatmap" and "255, 140" in str(t.get("colorscale")) for t in spec["data"]
    )


def test_transposed_current_cell_channels_window_and_network_extent_are_in_the_highlight():
    view = transposed_view(np.arange(4.0).reshape(2, 2), np.ones((2, 2)), stride=2)
    assert _json(scatter_animation(view, partial_sums(view)))["data"][1]["line"]["color"] == HIGHLIGHT
    planes = planes_figure(np.ones((2, 3, 3)), "x", [0, 1], window=[(0, 0), (1, 1)], window_channels=[0])
    shapes = _json(planes)["layout"]["shapes"]
    assert [s["x0"] for s in shapes if s["line"].get("color") == HIGHLIGHT] == [-0.5]  # x[0]'s window
    mask = np.zeros((6, 6), dtype=bool)
    mask[1:4, 1:4] = True
    region = _json(region_figure(np.zeros((6, 6, 3), np.uint8), mask, ((1, 4), (1, 4)), ((0, 5), (0, 5))))
    assert region["layout"]["shapes"][-1]["line"]["color"] == HIGHLIGHT
    erf = _json(erf_figure(np.ones((6, 6)), ((0, 5), (0, 5))))
    assert erf["layout"]["shapes"][-1]["line"]["color"] == HIGHLIGHT
