"""The transposed-convolution figures show PyTorch's numbers, over random settings, as the browser gets them.

The specs are dumped to JSON (what Streamlit sends) and read back: the animation's frames must build up
F.conv_transpose2d stamp by stamp, and the gaps figure's grid must convolve (flipped) to it.
"""

from __future__ import annotations

import json

import numpy as np
import plotly.io
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

from cnnviz.plots import PrebuiltFigure
from cnnviz.plots.transposed import gaps_figure, scatter_animation
from cnnviz.topics.transposed import CELL_INPUT, gaps_view, partial_sums, transposed_view
from tests.oracle import cnnviz_outcome, examples
from tests.plotly_arrays import decode_array


@st.composite
def settings(draw):
    h, w, k = draw(st.integers(1, 6)), draw(st.integers(1, 6)), draw(st.integers(1, 4))
    rng = np.random.default_rng(draw(st.integers(0, 1000)))
    return {
        "x": rng.integers(-3, 6, size=(h, w)).astype(float),
        "kernel": rng.integers(-2, 3, size=(k, k)).astype(float),
        "stride": draw(st.integers(1, 3)),
        "padding": draw(st.integers(0, 4)),
        "output_padding": draw(st.integers(0, 2)),
        "dilation": draw(st.integers(1, 3)),
    }


def as_sent(spec: dict) -> dict:
    """The figure as Streamlit serialises it for the browser."""
    return json.loads(plotly.io.to_json(PrebuiltFigure(spec), validate=False))


def torch_transposed(cfg: dict) -> np.ndarray:
    t = lambda a: torch.tensor(a, dtype=torch.float64)[None, None]  # noqa: E731
    s, p, op, d = cfg["stride"], cfg["padding"], cfg["output_padding"], cfg["dilation"]
    return F.conv_transpose2d(t(cfg["x"]), t(cfg["kernel"]), None, s, p, op, 1, d)[0, 0].numpy()


@given(settings())
@examples(120)
def test_animation_frames_add_up_to_torch(cfg: dict) -> None:
    outcome = cnnviz_outcome(transposed_view, **cfg)
    if outcome.raised:
        return
    view = outcome.value
    fig = as_sent(scatter_animation(view, partial_sums(view), 300))
    ref = torch_transposed(cfg)
    h, w = view.input.shape
    assert len(fig["frames"]) == h * w <= 36
    np.testing.assert_array_equal(decode_array(fig["data"][0]["z"]).astype(float), cfg["x"])
    p = view.padding
    last = decode_array(fig["frames"][-1]["data"][2]["z"]).astype(float)
    np.testing.assert_allclose(last[p : p + ref.shape[0], p : p + ref.shape[1]], ref, atol=1e-4)
    # Every frame's stamp is that one cell's transposed convolution, uncropped (padding 0).
    for n, frame in enumerate(fig["frames"]):
        i, j = divmod(n, w)
        one = np.zeros_like(cfg["x"])
        one[i, j] = cfg["x"][i, j]
        alone = torch_transposed({**cfg, "x": one, "padding": 0})
        stamp = np.nan_to_num(decode_array(frame["data"][1]["z"]).astype(float))
        np.testing.assert_allclose(stamp, alone, atol=1e-4)
    assert fig["layout"]["updatemenus"][0]["buttons"][0]["args"][1]["frame"]["duration"] == 300
    # The dashed output box spans exactly the output's cells.
    box = fig["data"][6]
    assert (min(box["x"]), max(box["x"]), min(box["y"]), max(box["y"])) == (
        -0.5,
        ref.shape[1] - 0.5,
        -0.5,
        ref.shape[0] - 0.5,
    )


@given(settings())
@examples(120)
def test_gaps_figure_convolves_to_torch(cfg: dict) -> None:
    outcome = cnnviz_outcome(transposed_view, **cfg)
    if outcome.raised:
        return
    view = outcome.value
    gaps = gaps_view(view)
    fig = as_sent(gaps_figure(gaps, view))
    kinds = decode_array(fig["data"][0]["z"]).astype(int)
    values = np.array(fig["data"][0]["text"], dtype=float)
    assert np.all(values[kinds != CELL_INPUT] == 0)
    flipped = decode_array(fig["data"][1]["z"]).astype(float)
    direct = F.conv2d(
        torch.tensor(values)[None, None], torch.tensor(flipped)[None, None], dilation=cfg["dilation"]
    )[0, 0].numpy()
    ref = torch_transposed(cfg)
    np.testing.assert_allclose(direct, ref, atol=1e-9)
    np.testing.assert_allclose(decode_array(fig["data"][2]["z"]).astype(float), ref, atol=1e-4)
