"""Every number printed on a cell contrasts at least 4.5:1 (WCAG AA) with the colour that cell is painted."""

from __future__ import annotations

import json

import numpy as np
import plotly.colors
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cnnviz.plots import conv_walkthrough_figure, matrix_figure
from cnnviz.plots.channels import planes_figure
from cnnviz.plots.conv import grids_figure
from cnnviz.plots.ink import INK_OF
from cnnviz.plots.pooling import pool_animation_figure, pool_figure
from cnnviz.plots.training import confusion_figure
from cnnviz.plots.transposed import gaps_figure, scatter_animation
from cnnviz.topics.pooling import pool_walkthrough
from cnnviz.topics.transposed import gaps_view, partial_sums, transposed_view
from cnnviz.topics.walkthrough import conv2d_walkthrough
from cnnviz.ui.presentation import present_figure
from tests.plotly_arrays import decode_array

SCALES = ["RdBu", "PuOr", "Blues", "Oranges", "cividis", "Viridis"]


def _json(fig) -> dict:
    """The figure as the browser gets it."""
    if isinstance(fig, dict):
        return fig
    spec = getattr(fig, "_spec", None)
    return spec if spec is not None else json.loads(fig.to_json())


def _luminance(rgb) -> float:
    lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in (v / 255 for v in rgb)]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def _contrast(a, b) -> float:
    hi, lo = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def _rgb(colour: str) -> tuple[float, ...]:
    return plotly.colors.unlabel_rgb(plotly.colors.convert_colors_to_same_type(colour, "rgb")[0][0])


def _painted(source: dict, z: np.ndarray) -> list[tuple[float, ...]]:
    """Colours plotly.js paints the cells `z` of `source`: between the two stops around each value, mixed
    with plotly's find_intermediate_color (stepped scales repeat a position, which sample_colorscale rejects)."""
    lo, hi = source["zmin"], source["zmax"]
    stops = [(float(v), _rgb(colour)) for v, colour in source["colorscale"]]
    colours = []
    for t in np.clip((z - lo) / (hi - lo), 0, 1):
        upper = next(i for i, (v, _) in enumerate(stops) if v >= t or i == len(stops) - 1)
        (v0, c0), (v1, c1) = stops[max(upper - 1, 0)], stops[upper]
        share = 0.0 if v1 == v0 else (t - v0) / (v1 - v0)
        colours.append(plotly.colors.find_intermediate_color(c0, c1, share))
    return colours


def _check_layers(data: list[dict], frames: list[dict]) -> int:
    """Assert the contrast of every printed number (static and in every frame); return how many were checked."""
    checked = 0
    for trace in data:
        if trace.get("type") != "heatmap" or not trace.get("texttemplate"):
            continue
        meta = trace.get("meta") or {}
        ink = _rgb(trace["textfont"]["color"])  # no number is left in plotly's default colour
        if INK_OF not in meta:  # a one-colour layer (padding) with a text colour of its own
            scale = trace["colorscale"]
            assert len({str(c) for _, c in scale}) == 1, "a coloured heatmap still prints its own numbers"
            assert _contrast(ink, _rgb(scale[0][1])) >= 4.5
            continue
        source = data[meta[INK_OF]]
        assert not source.get("texttemplate")
        index = data.index(trace)
        grids = [decode_array(trace["z"]).astype(float)]
        for frame in frames:
            if index in frame["traces"]:
                grids.append(decode_array(frame["data"][frame["traces"].index(index)]["z"]).astype(float))
        for z in grids:
            z = np.atleast_2d(z)
            cells = z[np.isfinite(z)]
            for colour in _painted(source, cells):
                assert _contrast(ink, colour) >= 4.5, (trace["textfont"]["color"], colour)
            checked += cells.size
    return checked


def _check(fig, some: bool = True) -> None:
    """Check `fig` on the page and in presentation mode (other colour scales); `some`: it prints numbers."""
    for shown in (fig, present_figure(fig)):
        spec = _json(shown)
        assert _check_layers(spec["data"], spec.get("frames") or []) > 0 or not some


grid = st.integers(2, 6).flatmap(
    lambda n: st.lists(st.floats(-9, 9, allow_nan=False, width=32), min_size=n * n, max_size=n * n).map(
        lambda v: np.array(v, dtype=float).reshape(n, n)
    )
)
settle = settings(max_examples=6, deadline=None)


@settle
@given(grid, st.sampled_from(["zeros", "reflect"]), st.integers(0, 1))
def test_walkthrough_numbers_read_on_input_kernel_and_every_frame_of_the_output(x, mode, padding):
    kernel = np.array([[1.0, -2.0], [0.5, 3.0]])
    w = conv2d_walkthrough(x, kernel, 0.0, (1, 1), (padding, padding), (1, 1), mode)
    _check(conv_walkthrough_figure(w.padded, w.is_padding, w.kernel, w.output, w.geometry,
                                   padding_offset=w.padding_offset))  # fmt: skip


@settle
@given(grid, st.sampled_from(SCALES), st.booleans())
def test_grids_and_matrix_numbers_read_on_every_scale(x, scale, from_zero):
    z = np.abs(x) if from_zero else x
    _check(grids_figure([("a", z), ("b", z * 0.5)], colorscale=scale, from_zero=from_zero))
    _check(matrix_figure(x), some=bool(x.any()))  # zeros stay blank


@settle
@given(grid, st.sampled_from(["max", "avg"]), st.sampled_from(SCALES))
def test_pooling_channels_and_confusion_numbers_read(x, kind, scale):
    w = pool_walkthrough(x, kind, 2, 1, 0, 1, False, True)
    _check(pool_figure(w.input, w.output, w.winners, kind))
    _check(pool_animation_figure(w, max_frames=6))
    planes = np.stack([x, -x])
    _check(planes_figure(planes, "x", [0, 1], colorscale=scale, window=[(0, 0), (1, 1)], window_channels=[0]))
    _check(confusion_figure(np.abs(np.round(x)).astype(int)))


@settle
@given(grid, st.integers(1, 2))
def test_transposed_numbers_read_in_the_stamp_the_sum_and_the_gapped_input(x, stride):
    view = transposed_view(x, np.array([[1.0, -1.0], [2.0, 0.5]]), stride=stride)
    _check(scatter_animation(view, partial_sums(view)))
    _check(gaps_figure(gaps_view(view), view))


@pytest.mark.parametrize("scale", SCALES)
def test_extremes_and_the_middle_of_every_scale_read(scale):
    z = np.array([[-4.0, -1.0, 0.0], [1.0, 2.5, 4.0]])
    _check(grids_figure([("z", z)], colorscale=scale))
