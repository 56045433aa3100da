"""The network builder's figures: what they draw matches the numbers they get, and they stay small."""

from __future__ import annotations

import base64
import io
import json
import math

import numpy as np
import plotly.graph_objects as go
import pytest
from PIL import Image

from cnnviz.network import Conv1d, Conv2d, MaxPool2d, ReLU, effective_receptive_field, receptive_region
from cnnviz.network.regions import field_sample_image, field_sample_signal
from cnnviz.plots.network import (
    erf_figure,
    field_growth_figure,
    params_figure,
    region_figure,
    region_signal_figure,
)
from tests.plotly_arrays import decode_array as decode


def sent(fig: go.Figure) -> dict:
    """The figure as the browser gets it (plotly's JSON, typed arrays included)."""
    return json.loads(fig.to_json())


def dashed(fig: dict) -> list[tuple[float, float, float, float]]:
    return [
        (s["x0"], s["x1"], s["y0"], s["y1"])
        for s in fig["layout"].get("shapes", [])
        if s.get("line", {}).get("dash") == "dash"
    ]


def test_growth_figure_leaves_out_steps_that_change_nothing() -> None:
    labels = ["input", "0 Conv2d", "1 ReLU", "2 MaxPool2d"]
    fig = sent(
        field_growth_figure(
            labels, [(1, 1), (3, 3), (3, 3), (4, 4)], [(1, 1), (1, 1), (1, 1), (2, 2)], (32, 32)
        )
    )
    r, j = fig["data"]
    assert r["y"] == [1, 3, 4] and j["y"] == [1, 1, 2]
    assert fig["layout"]["xaxis"]["ticktext"] == ["input", "0 Conv2d", "2 MaxPool2d"]
    assert fig["layout"]["annotations"][0]["text"] == "input: 32 x 32"


def test_growth_figure_draws_each_axis_when_they_differ() -> None:
    fig = sent(field_growth_figure(["input", "0 Conv2d"], [(1, 1), (3, 5)], [(1, 1), (1, 2)], (8, 12)))
    names = [t["name"] for t in fig["data"]]
    assert names == [
        "receptive field r (height)", "jump j (height)", "receptive field r (width)", "jump j (width)",
    ]  # fmt: skip
    assert fig["data"][2]["y"] == [1, 5]


def test_region_figure_shows_the_picture_the_mask_and_the_window_into_the_padding() -> None:
    layers = [Conv2d(3, 4, 3, padding=1), MaxPool2d(2), ReLU()]
    region = receptive_region(layers, (3, 12, 10), 1, (0, 0))
    image = field_sample_image(12, 10)
    fig = sent(region_figure(image, region.mask, region.clipped, region.unclipped))
    picture, mask = fig["data"]
    png = Image.open(io.BytesIO(base64.b64decode(picture["source"].split(",", 1)[1])))
    assert np.array_equal(np.asarray(png), image)
    assert np.array_equal(decode(mask["z"]).astype(bool), region.mask)
    (r0, r1), (c0, c1) = region.unclipped
    assert (r0, c0) == (-1, -1)
    assert dashed(fig) == [(c0 - 0.5, c1 - 0.5, r0 - 0.5, r1 - 0.5)]
    x_range, y_range = fig["layout"]["xaxis"]["range"], fig["layout"]["yaxis"]["range"]
    assert x_range[0] < c0 - 0.5 and y_range[1] < r0 - 0.5  # the padding part is on screen (y reversed)
    outlines = [s for s in fig["layout"]["shapes"] if s.get("line", {}).get("width") == 4]
    (a, b), (c, d) = region.clipped
    assert [(s["x0"], s["x1"], s["y0"], s["y1"]) for s in outlines] == [(c - 0.5, d - 0.5, a - 0.5, b - 0.5)]


def test_region_figure_of_a_big_input_stays_small_on_the_wire() -> None:
    region = receptive_region([Conv2d(3, 8, 7, stride=2, padding=3)], (3, 224, 224), 0, (56, 56))
    payload = region_figure(
        field_sample_image(224, 224), region.mask, region.clipped, region.unclipped
    ).to_json()
    assert len(payload) < 150_000


def test_signal_figure_marks_the_positions_read() -> None:
    layers = [Conv1d(1, 1, 3, dilation=2, padding=2)]
    region = receptive_region(layers, (1, 20), 0, (0,))
    fig = sent(region_signal_figure(field_sample_signal(20), region.mask, region.clipped, region.unclipped))
    read = fig["data"][1]
    assert list(decode(read["x"])) == list(np.flatnonzero(region.mask)) == [0, 2]
    assert fig["layout"]["xaxis"]["range"][0] < -2.5  # the window starts two cells into the padding


def test_erf_figure_draws_the_gradient_and_the_theoretical_window() -> None:
    layers = [Conv2d(1, 2, 3, padding=1), ReLU(), Conv2d(2, 2, 3, padding=1)]
    grad = effective_receptive_field(layers, (1, 9, 9), 2, (4, 4))
    region = receptive_region(layers, (1, 9, 9), 2, (4, 4))
    fig = sent(erf_figure(grad, region.unclipped))
    np.testing.assert_allclose(decode(fig["data"][0]["z"]), grad.astype(np.float32))
    assert fig["data"][0]["z"]["dtype"] == "f4"
    assert dashed(fig) == [(1.5, 6.5, 1.5, 6.5)]  # unit (4, 4) after two 3x3 convs: rows and columns 2..6
    flat = sent(erf_figure(np.arange(5.0), ((1, 4),)))
    assert flat["data"][0]["type"] == "bar"


@pytest.mark.parametrize("params", [[19_570, 184_990, 1_645_950], [12, 170], [9_536, 30_211_772_416, 10**25]])
def test_params_figure_shows_every_bar_on_a_log_axis(params: list[int]) -> None:
    labels = [f"net {i}" for i in range(len(params))]
    fig = sent(params_figure(labels, params))
    bars = fig["data"][0]
    assert bars["text"] == [f"{p:,}" for p in params]
    low, high = fig["layout"]["xaxis"]["range"]
    assert fig["layout"]["xaxis"]["type"] == "log"
    assert low < math.log10(min(params)) - 0.5 and high > math.log10(max(params))
    assert bars["marker"]["color"][0] != bars["marker"]["color"][1]


# --------------------------------------------------------------------------------------------------
# The diagram as a PNG
# --------------------------------------------------------------------------------------------------


def _rgb(colour: str) -> tuple[int, int, int]:
    return tuple(int(colour[i : i + 2], 16) for i in (1, 3, 5))  # type: ignore[return-value]


def _picture(name: str):
    from cnnviz.network import diagram, summarize
    from cnnviz.network.presets import preset

    net = preset(name).network
    return diagram(summarize(net.nodes, net.input_size))


@pytest.mark.parametrize(("name", "scale"), [("ResNet-18", 1), ("U-Net (small)", 1), ("ConvNet", 2)])
def test_diagram_png_draws_every_block_in_its_colour_with_its_labels(name: str, scale: int) -> None:
    from cnnviz.plots.network import BLOCK_FILL, BOX_H, BOX_W, DIAGRAM_PNG_FONT_PX, diagram_png

    picture = _picture(name)
    data = diagram_png(picture, column_px=240, row_px=120, scale=scale)
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    image = Image.open(io.BytesIO(data))
    assert image.format == "PNG"
    assert image.size == ((240 * picture.columns + 20) * scale, (120 * picture.rows + 20) * scale)
    pixels = np.asarray(image.convert("RGB")).astype(int)
    assert DIAGRAM_PNG_FONT_PX >= 18
    for block in picture.blocks:
        left = round((10 + (block.column + 0.5 - BOX_W / 2) * 240) * scale)
        right = round((10 + (block.column + 0.5 + BOX_W / 2) * 240) * scale)
        top = round((10 + (block.row + 0.6 - BOX_H / 2) * 120) * scale)
        bottom = round((10 + (block.row + 0.6 + BOX_H / 2) * 120) * scale)
        inside = pixels[top + 6 * scale : bottom - 6 * scale, left + 6 * scale : right - 6 * scale]
        fill = np.array(_rgb(BLOCK_FILL[block.category]))
        assert (np.abs(inside - fill).sum(-1) == 0).mean() > 0.5, block  # mostly the kind's colour
        ink = np.argwhere(inside.sum(-1) < 3 * 110)  # dark text
        assert len(ink), block
        lines = 3 if " · " in block.title else 2
        # each line at least DIAGRAM_PNG_FONT_PX high, less the space above capitals and below the baseline
        assert ink[:, 0].max() - ink[:, 0].min() >= (lines - 1) * DIAGRAM_PNG_FONT_PX * scale, block
        edge = pixels[top - scale : top + 2 * scale, (left + right) // 2]  # the border line
        assert (edge.sum(-1) < 3 * 120).any(), block


def test_diagram_png_draws_an_arrow_between_neighbours_and_a_broken_block_in_red() -> None:
    from cnnviz.network import Conv2d, Linear, ReLU, diagram, summarize
    from cnnviz.plots.network import ERROR_FILL, diagram_png

    picture = diagram(summarize([Conv2d(3, 4, 3), ReLU(), Linear(10, 2)], (3, 8, 8)))
    assert [b.status for b in picture.blocks] == ["ok", "ok", "error"]
    pixels = np.asarray(Image.open(io.BytesIO(diagram_png(picture))).convert("RGB")).astype(int)
    y = round(10 + 0.6 * 120)  # the row's centre line
    between = pixels[y - 1 : y + 2, round(10 + 1.0 * 240) - 5 : round(10 + 1.0 * 240) + 5]
    assert (between.sum(-1) < 3 * 120).any()  # the arrow from the input to the conv
    x = round(10 + 2.5 * 240)
    assert (np.abs(pixels[y + 30, x - 60 : x + 60] - _rgb(ERROR_FILL)).sum(-1) == 0).any()
