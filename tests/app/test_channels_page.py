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

from cnnviz import channels_view, number_text, parse_grid
from tests.app.helpers import link_of, notes, page_path, reopen, run, type_into_grid
from tests.plotly_arrays import decode_array

PAGE = page_path("8_Channels_and_groups.py")
P = "ch"
# Charts in page order: the main picture (wiring and weight board) comes first, under the title.
WIRING, WEIGHTS, INPUT, OUTPUT, READ, CELL, MIXING = range(7)


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


# --- Typed values ----------------------------------------------------------------------------------------

LECTURE_X = [[[0, 1, 2], [3, 4, 5], [6, 7, 8]], [[1, 2, 3], [4, 5, 6], [7, 8, 9]]]
LECTURE_W = [[[[0, 1], [2, 3]], [[1, 2], [3, 4]]]]


def cells_of(grid: list[list[object]]) -> dict[tuple[int, int], str]:
    return {(r, c): str(v) for r, row in enumerate(grid) for c, v in enumerate(row)}


def breakdown(at: AppTest) -> list[str]:
    """The one-cell breakdown as the page writes it: one line per input channel, then the total."""
    return next(c.value for c in at.main.code if c.value.startswith("input channel")).split("\n")


def typed_lecture_example() -> AppTest:
    """Lecture 003's two-channel example, typed in grid by grid: two 3x3 planes, one filter of two 2x2 slices."""
    at = run(PAGE)
    set_layer(at, h=3, w=3, cin=2, cout=1, k=2, bias=False)
    at.radio(key=f"{P}_values").set_value("typed").run()
    assert not at.exception and not at.error
    for c in (0, 1):
        type_into_grid(at, f"{P}_x{c}", cells_of(LECTURE_X[c]))
        type_into_grid(at, f"{P}_w0_{c}", cells_of(LECTURE_W[0][c]))
    assert not at.exception and not at.error, [e.value for e in at.error]
    return at


def test_lecture_003_two_channel_example_typed_in_gives_56_72_104_120() -> None:
    at = typed_lecture_example()
    figs = charts(at)
    np.testing.assert_array_equal(tiles(figs[INPUT], 2, (3, 3), 4), LECTURE_X)
    np.testing.assert_array_equal(weight_board(figs[WEIGHTS], 1, 2, 2, 1), LECTURE_W)
    output = tiles(figs[OUTPUT], 1, (2, 2), 4)[0]
    np.testing.assert_array_equal(output, [[56, 72], [104, 120]])
    ref = F.conv2d(
        torch.tensor(LECTURE_X, dtype=torch.float64)[None], torch.tensor(LECTURE_W, dtype=torch.float64)
    )
    np.testing.assert_array_equal(output, ref[0, 0].numpy())
    # The lecture's sum, product by product: (0×0 + 1×1 + 3×2 + 4×3) + (1×1 + 2×2 + 4×3 + 5×4) = 56.
    assert breakdown(at) == [
        "input channel 0: 0×0 + 1×1 + 3×2 + 4×3 = 19",
        "input channel 1: 1×1 + 2×2 + 4×3 + 5×4 = 37",
        "total: 19 + 37 = 56",
    ]
    assert metric(at, "output value") == "56"
    totals = {}
    for r in (0, 1):
        for c in (0, 1):
            set_layer(at, row=r, col=c)
            totals[r, c] = metric(at, "output value")
            assert breakdown(at)[-1].endswith(f"= {totals[r, c]}")
    assert totals == {(0, 0): "56", (0, 1): "72", (1, 0): "104", (1, 1): "120"}
    assert breakdown(at)[1] == "input channel 1: 5×1 + 6×2 + 8×3 + 9×4 = 77"


def test_typed_grids_follow_the_layer_shape_and_start_from_the_seed(at: AppTest) -> None:
    assert not at.data_editor  # seeded values: no grids
    set_layer(at, cin=4, cout=2, groups=2, k=3)
    at.radio(key=f"{P}_values").set_value("typed").run()
    assert not at.exception and not at.error
    keys = sorted(e.key.split("_editor_")[0] for e in at.data_editor)
    # 4 input planes, 2 filters of 4/2 = 2 slices each, one bias row.
    assert keys == sorted(
        ["ch_b", "ch_w0_0", "ch_w0_1", "ch_w1_0", "ch_w1_1", "ch_x0", "ch_x1", "ch_x2", "ch_x3"]
    )
    assert [e.key.split("_editor_")[1] for e in at.data_editor if e.key.startswith("ch_x")][0].startswith(
        "5x5"
    )
    assert "**Filter 1, slice 0**" in " ".join(m.value for m in at.markdown)
    assert [c.value for c in at.caption if c.value.startswith("Meets")] == [
        f"Meets input channel {c}." for c in (0, 1, 2, 3)
    ]
    # Untouched grids hold the seed's values: the page shows the same layer as before.
    figs = charts(at)
    x = tiles(figs[INPUT], 4, (5, 5), 4)
    seeded = channels_view((5, 5), 4, 2, 3, groups=2)
    np.testing.assert_array_equal(x, seeded.input)
    np.testing.assert_array_equal(tiles(figs[OUTPUT], 2, (3, 3), 4), seeded.output)


def test_typed_value_changes_the_output_and_a_bad_cell_is_explained(at: AppTest) -> None:
    set_layer(at, bias=False)
    at.radio(key=f"{P}_values").set_value("typed").run()
    type_into_grid(at, f"{P}_x1", {(0, 0): "1/16", (0, 1): "-3"})
    assert not at.exception and not at.error
    figs = charts(at)
    x = tiles(figs[INPUT], 4, (5, 5), 4)
    assert x[1, 0, 0] == np.float32(1 / 16) and x[1, 0, 1] == -3
    w = weight_board(figs[WEIGHTS], 4, 4, 3, 1)
    seeded = channels_view((5, 5), 4, 4, 3, bias=False)
    x64 = seeded.input.copy()
    x64[1, 0, :2] = (1 / 16, -3)
    ref = F.conv2d(torch.tensor(x64)[None], torch.tensor(w))[0].numpy()
    np.testing.assert_allclose(tiles(figs[OUTPUT], 4, (3, 3), 4), ref, rtol=1e-6)
    weight_00 = number_text(seeded.weight[0, 1, 0, 0])
    factor = f"({weight_00})" if seeded.weight[0, 1, 0, 0] < 0 else weight_00
    assert breakdown(at)[1].startswith(f"input channel 1: 0.0625×{factor} + (-3)×")
    type_into_grid(at, f"{P}_x1", {(2, 2): "two"})
    assert not at.exception
    assert (
        "Input channel 1, row 2, column 2" in at.error[0].value
        and "'two' is not a number" in at.error[0].value
    )
    np.testing.assert_allclose(tiles(charts(at)[OUTPUT], 4, (3, 3), 4), ref, rtol=1e-6)  # last applied grid


def test_one_by_one_panel_writes_each_row_of_products(at: AppTest) -> None:
    set_layer(at, k=1, cout=3, groups=1, bias=True)
    set_layer(at, px_row=4, px_col=2)
    figs = charts(at)
    x = tiles(figs[INPUT], 4, (5, 5), 4)
    w = weight_board(figs[WEIGHTS], 3, 4, 1, 1)[:, :, 0, 0]
    b = decode_array(figs[MIXING]["data"][2]["z"]).astype(float)[:, 0]
    ref = F.conv2d(torch.tensor(x)[None], torch.tensor(w)[:, :, None, None], torch.tensor(b))[
        0, :, 4, 2
    ].numpy()
    lines = next(c.value for c in at.main.code if c.value.startswith("y[0] = ")).split("\n")
    assert len(lines) == 3
    for o, line in enumerate(lines):
        head, products, total = line.split(" = ")
        assert head == f"y[{o}]"
        terms = products.split(" + ")
        pairs = [tuple(float(v.strip("()")) for v in term.split("×")) for term in terms[:4]]
        assert pairs == [(w[o, c], x[c, 4, 2]) for c in range(4)]  # W[o, c] × x[c], every input channel
        assert (float(terms[4].strip("()")) if len(terms) == 5 else 0.0) == b[o]
        assert float(total) == ref[o]


def test_typed_values_survive_the_share_link() -> None:
    at = typed_lecture_example()
    type_into_grid(at, f"{P}_x0", {(2, 2): "1/3"})
    set_layer(at, row=1, col=1)
    link = link_of(at)
    assert link[f"{P}_values"] == "typed"
    assert parse_grid(link[f"{P}_x1"], (3, 3)).tolist() == LECTURE_X[1]
    assert parse_grid(link[f"{P}_w0_0"], (2, 2)).tolist() == LECTURE_W[0][0]
    again = reopen(at, PAGE)
    assert not again.error
    figs = charts(again)
    x = tiles(figs[INPUT], 2, (3, 3), 4)
    assert x[0, 2, 2] == np.float32(1 / 3)
    assert breakdown(again) == breakdown(at)
    assert breakdown(again)[0] == "input channel 0: 4×0 + 5×1 + 7×2 + (1/3)×3 = 20"
    np.testing.assert_allclose(tiles(figs[OUTPUT], 1, (2, 2), 4)[0], [[56, 72], [104, 120 - 8 * 3 + 1]])
    # The reopened grids keep editing from the link's values.
    type_into_grid(again, f"{P}_w0_1", {(1, 1): "0"})
    assert metric(again, "output value") == str(20 + 5 * 1 + 6 * 2 + 8 * 3)


def test_an_old_link_without_typed_values_opens_on_the_seed() -> None:
    old = {f"{P}_seed": "3", f"{P}_cin": "2", f"{P}_cout": "3", f"{P}_bias": "0"}
    at = run(PAGE, old)
    assert not at.error and not notes(at) and not at.data_editor
    assert at.radio(key=f"{P}_values").value == "seed"
    seeded = channels_view((5, 5), 2, 3, 3, bias=False, seed=3)
    figs = charts(at)
    np.testing.assert_array_equal(tiles(figs[INPUT], 2, (5, 5), 4), seeded.input)
    np.testing.assert_array_equal(tiles(figs[OUTPUT], 3, (3, 3), 4), seeded.output)
    assert link_of(at) == old
    # Switching that link to typed values starts every grid from the same seeded values.
    typed = run(PAGE, {**old, f"{P}_values": "typed"})
    assert not typed.error and not notes(typed)
    np.testing.assert_array_equal(tiles(charts(typed)[OUTPUT], 3, (3, 3), 4), seeded.output)


def test_a_new_shape_starts_the_grids_over_and_drops_the_old_ones_from_the_link() -> None:
    at = typed_lecture_example()
    assert f"{P}_x0" in link_of(at)
    set_layer(at, h=4)
    link = link_of(at)
    assert f"{P}_x0" not in link and f"{P}_x1" not in link  # the 3x3 planes do not fit a 4x3 input
    assert parse_grid(link[f"{P}_w0_1"], (2, 2)).tolist() == LECTURE_W[0][1]  # the filters still fit
    seeded = channels_view((4, 3), 2, 1, 2, bias=False)
    np.testing.assert_array_equal(tiles(charts(at)[INPUT], 2, (4, 3), 4), seeded.input)
    again = reopen(at, PAGE)  # no note about a grid that does not fit
    np.testing.assert_array_equal(weight_board(charts(again)[WEIGHTS], 1, 2, 2, 1), LECTURE_W)


def test_the_hover_grid_links_every_output_cell_to_its_windows(at: AppTest) -> None:
    import json

    (grid,) = [e for e in at.get("bidi_component") if e.proto.component_name == "cnnviz_hover_grid"]
    data = json.loads(grid.proto.json)
    ids = [p["id"] for p in data["panels"]]
    c_in = sum(1 for i in ids if i.startswith("x"))
    c_out = sum(1 for i in ids if i.startswith("y"))
    assert ids == [f"x{i}" for i in range(c_in)] + [f"y{o}" for o in range(c_out)]
    assert data["pinned"] == ["y0", 0, 0]
    assert data["pickable"] == [f"y{o}" for o in range(c_out)]
    (first,) = [link for link in data["links"] if link["o"] == ["y0", 0, 0]]
    # The same lines the section below writes out for output (0, 0, 0).
    assert first["t"].splitlines()[1:] == at.code[0].value.splitlines()


def test_the_layer_and_its_figures_are_shared_read_only_not_copied_per_rerun(at: AppTest) -> None:
    """A rerun reads the layer and its boards from one shared copy (a data cache would unpickle a new one
    every time); the layer's arrays are read-only, so no session can change another's."""
    import importlib

    views = importlib.import_module("cnnviz.ui.channels_views")
    cfg = ((5, 5), 2, 2, 3, 1, 0, 1, True, 0)
    view = views.layer(cfg, None)
    assert views.layer(cfg, None) is view and views.board_specs(cfg, None) is views.board_specs(cfg, None)
    with pytest.raises(ValueError):
        view.output[0, 0, 0] = 0
