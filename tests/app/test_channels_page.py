"""AppTest of the channels page: every control, every error message, the figures checked against PyTorch.

The arrays are read back from the figures as the browser gets them (tiles of one heatmap), so the
check covers the page end to end: input planes and weight board in, F.conv2d, output planes out.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from streamlit.testing.v1 import AppTest

from tests.app.helpers import page_path
from tests.plotly_arrays import decode_array

PAGE = page_path("8_Channels_and_groups.py")
P = "ch"
INPUT, WIRING, WEIGHTS, OUTPUT, READ, CELL, MIXING = range(7)


def charts(at: AppTest) -> list[dict]:
    return [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]


def tiles(fig: dict, count: int, shape: tuple[int, int], per_row: int) -> np.ndarray:
    """The (count, h, w) planes of a tiled heatmap (tiles one NaN cell apart, `per_row` a row)."""
    canvas = decode_array(fig["data"][0]["z"]).astype(float)
    h, w = shape
    return np.stack(
        [canvas[(i // per_row) * (h + 1) :][:h, (i % per_row) * (w + 1) :][:, :w] for i in range(count)]
    )


def weight_board(fig: dict, c_out: int, c_in: int, k: int, groups: int) -> np.ndarray:
    """(C_out, C_in/groups, k, k) from the C_out x C_in board, checking that cut pairs are empty."""
    canvas = decode_array(fig["data"][0]["z"]).astype(float)
    cpg, opg = c_in // groups, c_out // groups
    weight = np.zeros((c_out, cpg, k, k))
    for o in range(c_out):
        for c in range(c_in):
            tile = canvas[o * (k + 1) : o * (k + 1) + k, c * (k + 1) : c * (k + 1) + k]
            if c // cpg == o // opg:
                weight[o, c % cpg] = tile
            else:
                assert np.isnan(tile).all(), (o, c)
    return weight


def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def set_layer(at: AppTest, **values: object) -> None:
    for key, value in values.items():
        if key == "bias":
            at.checkbox(key=f"{P}_bias").set_value(value)
        else:
            at.number_input(key=f"{P}_{key}").set_value(value)
    at.run()
    assert not at.exception


def test_default_page_shows_every_section(at: AppTest) -> None:
    assert not at.error
    assert len(at.get("plotly_chart")) == 6  # no 1x1 mixing with a 3x3 kernel
    assert any("Set the kernel size to 1" in i.value for i in at.info)
    layer = torch.nn.Conv2d(4, 4, 3)
    assert metric(at, "parameters") == f"{sum(p.numel() for p in layer.parameters()):,}" == "148"
    assert metric(at, "multiply-accumulates") == f"{4 * 3 * 3 * 4 * 3 * 3:,}"
    latex = " ".join(e.value for e in at.latex)
    assert r"\text{params}" in latex and "H_{out}" in latex and "W_{out}" in latex
    assert "torch.nn.Conv2d(4, 4, kernel_size=3" in at.main.code[-1].value


def test_layer_controls_give_torch_output(at: AppTest) -> None:
    set_layer(at, h=6, w=7, seed=3, cin=4, cout=6, groups=2, k=3, s=2, p=1, bias=False)
    assert not at.error
    figs = charts(at)
    x = tiles(figs[INPUT], 4, (6, 7), 4)
    w = weight_board(figs[WEIGHTS], 6, 4, 3, 2)
    ref = F.conv2d(torch.tensor(x)[None], torch.tensor(w), None, 2, 1, 1, 2)[0].numpy()
    assert ref.shape == (6, 3, 4)
    np.testing.assert_allclose(tiles(figs[OUTPUT], 6, (3, 4), 4), ref)
    layer = torch.nn.Conv2d(4, 6, 3, groups=2, bias=False)
    assert metric(at, "parameters") == str(sum(p.numel() for p in layer.parameters())) == "108"
    assert metric(at, "parameters with groups = 1") == "216"
    assert metric(at, "MACs with groups = 1") == f"{2 * 6 * 12 * 2 * 9:,}"
    assert any("With 2 groups" in c.value for c in at.caption)
    # The wiring diagram: one trace of lines per group, 2 x (3 outputs x 2 inputs) lines in all.
    lines = [trace for trace in figs[WIRING]["data"] if trace.get("mode") == "lines"]
    assert len(lines) == 2 and sum(len(trace["x"]) // 3 for trace in lines) == 12


def test_seed_changes_values_and_bias_adds_one_per_output(at: AppTest) -> None:
    before = tiles(charts(at)[INPUT], 4, (5, 5), 4)
    set_layer(at, seed=9)
    after = tiles(charts(at)[INPUT], 4, (5, 5), 4)
    assert not np.array_equal(before, after)
    assert metric(at, "parameters") == "148"
    assert r"+ C_{out}" in next(e.value for e in at.latex if r"\text{params}" in e.value)
    set_layer(at, bias=False)
    assert metric(at, "parameters") == "144"
    params_latex = next(e.value for e in at.latex if r"\text{params}" in e.value)
    assert r"+ C_{out}" not in params_latex and params_latex.strip("$\n ").endswith("= 144")


def test_one_cell_controls_write_the_sum_per_channel(at: AppTest) -> None:
    set_layer(at, groups=2, bias=False)
    set_layer(at, oc=3, row=2, col=1)
    assert not at.error
    figs = charts(at)
    x = tiles(figs[INPUT], 4, (5, 5), 4)
    w = weight_board(figs[WEIGHTS], 4, 4, 3, 2)
    out = F.conv2d(torch.tensor(x)[None], torch.tensor(w), None, 1, 0, 1, 2)[0].numpy()
    assert metric(at, "output value") == f"{out[3, 2, 1]:g}"
    table = at.dataframe[0].value
    assert table["input channel"].tolist() == [2, 3]  # output 3 is in group 1, which reads inputs 2 and 3
    per_channel = [
        F.conv2d(torch.tensor(x[c])[None, None], torch.tensor(w[3, i])[None, None])[0, 0, 2, 1].item()
        for i, c in enumerate((2, 3))
    ]
    np.testing.assert_allclose(table["dot product"].to_numpy(dtype=float), per_channel)
    assert at.main.code[0].value.endswith(f"= {out[3, 2, 1]:.0f}")
    # The read figure greys out the two channels output 3 does not read.
    greyed = [s for s in figs[READ]["layout"]["shapes"] if s.get("fillcolor")]
    assert len(greyed) == 2


def test_depthwise_shortcut_sets_groups_to_c_in(at: AppTest) -> None:
    set_layer(at, cin=3, cout=6)
    at.checkbox(key=f"{P}_depthwise").check().run()
    assert not at.exception and not at.error
    assert at.number_input(key=f"{P}_groups").disabled
    assert "depthwise" in " ".join(m.value for m in at.markdown)
    board = decode_array(charts(at)[WEIGHTS]["data"][0]["z"]).astype(float)
    assert np.isfinite(board).sum() == 6 * 9  # one 3x3 slice per filter
    assert metric(at, "parameters") == str(6 * 9 + 6)
    assert "groups=3" in at.main.code[-1].value


def test_one_by_one_kernel_shows_channel_mixing(at: AppTest) -> None:
    set_layer(at, k=1, cout=3, groups=1, bias=True)
    set_layer(at, px_row=4, px_col=2)
    assert not at.error
    figs = charts(at)
    assert len(figs) == 7
    mix = figs[MIXING]["data"]
    matrix = decode_array(mix[0]["z"]).astype(float)
    vector = decode_array(mix[1]["z"]).astype(float)[:, 0]
    bias = decode_array(mix[2]["z"]).astype(float)[:, 0]
    result = decode_array(mix[3]["z"]).astype(float)[:, 0]
    x = tiles(figs[INPUT], 4, (5, 5), 4)
    out = tiles(figs[OUTPUT], 3, (5, 5), 4)
    np.testing.assert_array_equal(vector, x[:, 4, 2])
    ref = F.conv2d(torch.tensor(x)[None], torch.tensor(matrix)[:, :, None, None], torch.tensor(bias))[0]
    np.testing.assert_allclose(result, ref[:, 4, 2].numpy())
    np.testing.assert_allclose(out, ref.numpy())


@pytest.mark.parametrize(
    ("settings", "words"),
    [
        ({"groups": 3}, "in_channels (4) must be divisible by groups (3)"),
        ({"cout": 6, "groups": 4}, "out_channels (6) must be divisible by groups (4)"),
        ({"h": 3, "w": 3, "k": 5}, "kernel 5 spans 5 cells but the padded input"),
    ],
)
def test_impossible_settings_show_a_message_not_a_traceback(at: AppTest, settings: dict, words: str) -> None:
    set_layer(at, **settings)
    assert [e.value for e in at.error] and words in at.error[0].value
    assert len(at.get("plotly_chart")) == 0


def test_depthwise_with_c_out_not_a_multiple_explains_why(at: AppTest) -> None:
    set_layer(at, cout=6)
    at.checkbox(key=f"{P}_depthwise").check().run()
    assert not at.exception
    assert "out_channels (6) must be divisible by groups (4)" in at.error[0].value
    assert "multiple of C_in = 4" in at.info[0].value
    set_layer(at, cout=8)
    assert not at.error and len(at.get("plotly_chart")) == 6
