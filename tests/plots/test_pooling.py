"""The pooling animation and the 1D pooling figure, read back as the browser gets them, against torch."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from cnnviz.errors import ConvConfigError
from cnnviz.plots.palette import ring_cells
from cnnviz.plots.pooling import pool1d_figure, pool_animation_figure
from cnnviz.topics.pooling import pool1d_walkthrough, pool_walkthrough
from tests.plotly_arrays import decode_array


def _json(fig) -> dict:
    return json.loads(fig.to_json())


def _torch_pool(x, kind, k, s, p, d, ceil, include):
    xt = torch.tensor(x, dtype=torch.float64)[None, None]
    if kind == "max":
        values, idx = F.max_pool2d(xt, k, s, p, d, ceil_mode=ceil, return_indices=True)
        return values[0, 0].numpy(), idx[0, 0].numpy()
    return F.avg_pool2d(xt, k, s, p, ceil_mode=ceil, count_include_pad=include)[0, 0].numpy(), None


def _check_animation(x, kind, k, s, p, d, ceil, include, frame_ms=300, max_frames=100) -> dict:
    """Decode every frame and compare its window, output so far, winner and title with torch."""
    h, w = x.shape
    walk = pool_walkthrough(x, kind, k, s, p, d, ceil, include)
    spec = _json(pool_animation_figure(walk, frame_ms, max_frames))
    ref, idx = _torch_pool(x, kind, k, s, p, d, ceil, include)
    ho, wo = ref.shape
    stride = k if s is None else s
    # trace 0: the input, placed at its own coordinates (padding shows as negative rows and columns)
    base = spec["data"][0]
    grid = decode_array(base["z"]).astype(float)
    rows, cols = decode_array(base["y"]).astype(int), decode_array(base["x"]).astype(int)
    assert rows[0] == -p and cols[0] == -p
    np.testing.assert_array_equal(grid[p : p + h, p : p + w], x.astype(np.float32))
    frames = spec["frames"]
    assert 1 <= len(frames) <= max_frames
    assert len(spec["layout"]["sliders"][0]["steps"]) == len(frames)
    play = spec["layout"]["updatemenus"][0]["buttons"][0]
    assert play["label"].endswith("play") and play["args"][1]["frame"]["duration"] == frame_ms
    filled_before = 0
    for n, frame in enumerate(frames):
        assert frame["traces"][:5] == [2, 3, 4, 6, 7]  # then the output's two ink layers
        window, _outline, ring, so_far, box = frame["data"][:5]
        # the output cell this frame is at: the last one filled in
        out = decode_array(so_far["z"]).astype(float).ravel()
        filled = int(np.isfinite(out).sum())
        assert filled > filled_before or (n == 0 and filled >= 1)
        np.testing.assert_allclose(out[:filled], ref.ravel()[:filled].astype(np.float32), rtol=1e-6)
        assert np.isnan(out[filled:]).all()
        filled_before = filled
        i, j = divmod(filled - 1, wo)
        assert np.mean(box["x"][:4]) == j and np.mean(box["y"][:4]) == i
        assert spec["layout"]["sliders"][0]["steps"][n]["label"] == f"{i},{j}"
        # the window: exactly the cells PyTorch's window reads (dilation skips the others)
        marked = ring_cells(window["x"], window["y"])
        expected = {(i * stride - p + a * d, j * stride - p + b * d) for a in range(k) for b in range(k)}
        assert marked == expected
        if kind == "max":
            assert (ring["y"][0], ring["x"][0]) == divmod(int(idx[i, j]), w)
            assert (ring["y"][0], ring["x"][0]) in expected
        else:
            assert ring["x"] == [] and ring["y"] == []
        value = ref[i, j]
        shown = f"{value:.0f}" if float(value).is_integer() else f"{value:.2f}"
        title = frame["layout"]["title"]["text"]
        assert title.startswith(f"output ({i}, {j}) = {'max' if kind == 'max' else 'mean'}(")
        assert title.endswith(f") = {shown}")
        # the listed values (printed to 2 decimals at most) reduce to torch's output
        listed = title[title.index("(", title.index("=")) + 1 : title.rindex(")")].split(", ")
        numbers = [-np.inf if v == "−∞" else float(v) for v in listed]
        if len(numbers) <= 16:
            reduced = max(numbers) if kind == "max" else sum(numbers) / len(numbers)
            assert reduced == pytest.approx(value, abs=0.01)
    assert filled_before == ho * wo  # the last frame completes the output
    return spec


def test_lecture_example_animates_four_windows() -> None:
    x = np.arange(9.0).reshape(3, 3)
    spec = _check_animation(x, "max", 2, 1, 0, 1, False, True)
    titles = [f["layout"]["title"]["text"] for f in spec["frames"]]
    assert titles == [
        "output (0, 0) = max(0, 1, 3, 4) = 4",
        "output (0, 1) = max(1, 2, 4, 5) = 5",
        "output (1, 0) = max(3, 4, 6, 7) = 7",
        "output (1, 1) = max(4, 5, 7, 8) = 8",
    ]


def test_padding_reads_minus_infinity_for_max_and_zero_for_average() -> None:
    x = np.arange(1.0, 5.0).reshape(2, 2)
    spec = _check_animation(x, "max", 2, 2, 1, 1, False, True)
    assert spec["frames"][0]["layout"]["title"]["text"] == "output (0, 0) = max(−∞, −∞, −∞, 1) = 1"
    pad = spec["data"][1]
    assert pad["text"][0][0] == "−∞" and pad["text"][1][1] == ""
    spec = _check_animation(x, "avg", 2, 2, 1, 1, False, True)
    assert spec["frames"][0]["layout"]["title"]["text"] == "output (0, 0) = mean(0, 0, 0, 1) = 0.25"
    spec = _check_animation(x, "avg", 2, 2, 1, 1, False, False)  # padding left out of the mean
    assert spec["frames"][0]["layout"]["title"]["text"] == "output (0, 0) = mean(1) = 1"


def test_many_outputs_share_frames_and_the_last_frame_completes_the_map() -> None:
    x = np.random.default_rng(0).normal(size=(16, 16))
    spec = _check_animation(x, "max", 1, 1, 0, 1, False, True, max_frames=100)
    assert len(spec["frames"]) < 256


@given(
    h=st.integers(1, 9),
    w=st.integers(1, 9),
    kind=st.sampled_from(["max", "avg"]),
    k=st.integers(1, 4),
    stride=st.one_of(st.none(), st.integers(1, 3)),
    padding=st.integers(0, 2),
    dilation=st.integers(1, 2),
    ceil_mode=st.booleans(),
    include=st.booleans(),
    frame_ms=st.sampled_from([150, 450, 900]),
    seed=st.integers(0, 1000),
)
@settings(max_examples=80, deadline=None, derandomize=True, database=None)
def test_every_frame_matches_torch_for_random_settings(
    h, w, kind, k, stride, padding, dilation, ceil_mode, include, frame_ms, seed
) -> None:
    x = np.random.default_rng(seed).integers(0, 9, size=(h, w)).astype(float)
    d = dilation if kind == "max" else 1
    try:
        pool_walkthrough(x, kind, k, stride, padding, d, ceil_mode, include)
    except ConvConfigError:
        return
    _check_animation(x, kind, k, stride, padding, d, ceil_mode, include, frame_ms)


@pytest.mark.parametrize(
    ("kind", "k", "s", "p", "d"), [("max", 2, None, 0, 1), ("max", 3, 2, 1, 2), ("avg", 3, 1, 1, 1)]
)
def test_1d_figure_shows_signal_output_and_winners(kind, k, s, p, d) -> None:
    x = np.random.default_rng(2).integers(0, 9, size=11).astype(float)
    spec = _json(pool1d_figure(pool1d_walkthrough(x, kind, k, s, p, d)))
    xt = torch.tensor(x)[None, None]
    np.testing.assert_array_equal(decode_array(spec["data"][0]["z"])[0], x)
    if kind == "max":
        ref, idx = F.max_pool1d(xt, k, s, p, d, return_indices=True)
        winners = decode_array(spec["data"][2]["x"]).astype(int)
        assert sorted(set(winners.tolist())) == sorted(set(idx[0, 0].tolist()))
    else:
        ref = F.avg_pool1d(xt, k, s, p)
        assert not [t for t in spec["data"] if t["type"] == "scatter"]  # no winners to ring
    np.testing.assert_allclose(decode_array(spec["data"][1]["z"])[0], ref[0, 0].numpy())
    titles = [a["text"] for a in spec["layout"]["annotations"]]
    assert titles == ["signal, length 11", f"{kind} pooled, length {ref.shape[2]}"]
