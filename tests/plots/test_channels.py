"""The channels figures show PyTorch's numbers over random layers, read back from the JSON the browser gets.

Input planes and the weight board go through F.conv2d (with groups) and must give the output planes;
the board must be empty exactly where groups cut a pair; the wiring has one line per connected pair.
"""

from __future__ import annotations

import json

import numpy as np
import plotly.io
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

from cnnviz.plots.channels import (
    cell_sum_figure,
    connections_figure,
    mixing_figure,
    planes_figure,
    weights_figure,
)
from cnnviz.topics.channels import channel_mixing, channel_sums, channels_view, connections, group_choices
from tests.oracle import cnnviz_outcome, examples
from tests.plotly_arrays import decode_array


@st.composite
def layers(draw):
    c_in, c_out = draw(st.integers(1, 8)), draw(st.integers(1, 8))
    return {
        "input_size": (draw(st.integers(1, 12)), draw(st.integers(1, 12))),
        "in_channels": c_in,
        "out_channels": c_out,
        "kernel_size": draw(st.integers(1, 5)),
        "stride": draw(st.integers(1, 4)),
        "padding": draw(st.integers(0, 4)),
        "groups": draw(st.sampled_from(group_choices(c_in, c_out))),
        "bias": False,
        "seed": draw(st.integers(0, 50)),
    }


def sent(fig) -> dict:
    return json.loads(plotly.io.to_json(fig))


def untile(canvas: np.ndarray, count: int, h: int, w: int, per_row: int) -> np.ndarray:
    return np.stack(
        [canvas[(i // per_row) * (h + 1) :][:h, (i % per_row) * (w + 1) :][:, :w] for i in range(count)]
    )


@given(layers(), st.data())
@examples(80)
def test_planes_and_board_convolve_to_the_output_planes(cfg: dict, data: st.DataObject) -> None:
    outcome = cnnviz_outcome(channels_view, **cfg)
    if outcome.raised:
        return
    view = outcome.value
    c_in, h, w = view.input.shape
    c_out, ho, wo = view.output.shape
    k, g = cfg["kernel_size"], cfg["groups"]
    x = untile(decode_array(sent(planes_figure(view.input, "x", [0] * c_in))["data"][0]["z"]), c_in, h, w, 4)
    board = decode_array(sent(weights_figure(view))["data"][0]["z"]).astype(float)
    weight = np.zeros(view.weight.shape)
    grid = connections(c_in, c_out, g)
    for o in range(c_out):
        for c in range(c_in):
            tile = board[o * (k + 1) : o * (k + 1) + k, c * (k + 1) : c * (k + 1) + k]
            if grid[o, c] >= 0:
                weight[o, c % (c_in // g)] = tile
            else:
                assert np.isnan(tile).all()
    ref = F.conv2d(
        torch.tensor(x.astype(float))[None], torch.tensor(weight), None, cfg["stride"], cfg["padding"], 1, g
    )
    y = untile(
        decode_array(sent(planes_figure(view.output, "y", [0] * c_out))["data"][0]["z"]), c_out, ho, wo, 4
    )
    np.testing.assert_allclose(y, ref[0].numpy(), atol=1e-3)
    wiring = sent(connections_figure(grid))
    lines = sum(len(t["x"]) // 3 for t in wiring["data"] if t.get("mode") == "lines")
    assert lines == int((grid >= 0).sum()) == c_out * (c_in // g)
    # One cell: the figure's per-channel windows and slices multiply to its dot products.
    o = data.draw(st.integers(0, c_out - 1))
    r, c = data.draw(st.integers(0, ho - 1)), data.draw(st.integers(0, wo - 1))
    cell = channel_sums(view, o, (r, c))
    fig = sent(cell_sum_figure(cell))
    n = len(cell.channels)
    windows = untile(decode_array(fig["data"][0]["z"]).astype(float), n, k, k, 1)
    slices = untile(decode_array(fig["data"][1]["z"]).astype(float), n, k, k, 1)
    np.testing.assert_allclose((windows * slices).sum(axis=(1, 2)).sum(), ref[0, o, r, c].item(), atol=1e-3)


@given(layers(), st.data())
@examples(60)
def test_mixing_figure_is_the_one_by_one_conv(cfg: dict, data: st.DataObject) -> None:
    view = channels_view(**{**cfg, "kernel_size": 1, "bias": True})
    _, ho, wo = view.output.shape
    r, c = data.draw(st.integers(0, ho - 1)), data.draw(st.integers(0, wo - 1))
    fig = sent(mixing_figure(channel_mixing(view, (r, c))))
    w, x, b, y = (decode_array(fig["data"][i]["z"]).astype(float) for i in range(4))
    s, p = cfg["stride"], cfg["padding"]
    ref = F.conv2d(
        torch.tensor(view.input)[None], torch.tensor(w)[:, :, None, None], torch.tensor(b[:, 0]), s, p
    )
    np.testing.assert_allclose(y[:, 0], ref[0, :, r, c].numpy(), atol=1e-4)
    np.testing.assert_allclose(w @ x[:, 0] + b[:, 0], y[:, 0], atol=1e-4)
