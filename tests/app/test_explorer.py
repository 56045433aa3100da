"""AppTest of the convolution explorer: every control, every error message, numbers checked against PyTorch."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from streamlit.testing.v1 import AppTest

from cnnviz.conv.kernels import input_pattern, kernel_preset
from tests.app.helpers import page_path
from tests.plotly_arrays import decode_array as _decode

PAGE = page_path("1_Convolution_explorer.py")
P = "cx"


def _set(at: AppTest, **values: object) -> None:
    for key, value in values.items():
        at.number_input(key=f"{P}_{key}").set_value(value)


def _charts(at: AppTest) -> list[dict]:
    return [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]


def _chart(at: AppTest, name: str) -> dict:
    """The figure of the chart with widget key cx_<name>, as the browser receives it."""
    (chart,) = [c for c in at.get("plotly_chart") if c.key == f"{P}_{name}"]
    return json.loads(chart.proto.spec)


def _torch_output(
    x: np.ndarray, k: np.ndarray, bias: float, stride, padding, dilation, mode: str
) -> np.ndarray:
    conv = torch.nn.Conv2d(
        1,
        1,
        k.shape,
        stride=stride,
        padding=padding,
        dilation=dilation,
        padding_mode=mode,
        dtype=torch.float64,
    )
    with torch.no_grad():
        conv.weight.copy_(torch.tensor(k)[None, None])
        conv.bias.fill_(bias)
        return conv(torch.tensor(x)[None, None])[0, 0].numpy()


def _output_grid(at: AppTest) -> np.ndarray:
    return _decode(_chart(at, "cell_figure")["data"][6]["z"]).astype(float)


def test_default_page_shows_arithmetic_animation_and_products(at: AppTest) -> None:
    assert not at.error
    keys = [c.key for c in at.get("plotly_chart")]
    assert keys == [f"{P}_{k}" for k in ("animation", "cell_figure", "feeds", "equivariance", "matrix")]
    latex = " ".join(e.value for e in at.latex)
    assert "H_{out}" in latex and "W_{out}" in latex
    animation = _chart(at, "animation")
    assert 1 <= len(animation["frames"]) <= 100
    x = input_pattern("random", (7, 7), 0)
    k = kernel_preset("random integers", (3, 3), 0)
    expected = _torch_output(x, k, 0.0, 1, 0, 1, "zeros")
    np.testing.assert_allclose(_output_grid(at), expected, atol=1e-4)
    assert at.metric[0].value == f"{expected[0, 0]:.4g}"


@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate", "circular"])
def test_every_padding_mode_matches_torch(at: AppTest, mode: str) -> None:
    _set(at, in_h=6, in_w=8, p_h=1, p_w=2, s_h=2, d_w=2, k_w=2)
    at.selectbox(key=f"{P}_pad_mode").set_value(mode)
    at.number_input(key=f"{P}_bias").set_value(1.5)
    at.run()
    assert not at.exception and not at.error
    x = input_pattern("random", (6, 8), 0)
    k = kernel_preset("random integers", (3, 2), 0)
    expected = _torch_output(x, k, 1.5, (2, 1), (1, 2), (1, 2), mode)
    np.testing.assert_allclose(_output_grid(at), expected, atol=1e-4)


def test_animation_frames_end_with_the_full_output(at: AppTest) -> None:
    _set(at, in_h=16, in_w=16)
    at.run()
    frames = _chart(at, "animation")["frames"]
    assert len(frames) <= 100
    last = _decode(frames[-1]["data"][2]["z"]).astype(float)
    np.testing.assert_allclose(last, _output_grid(at), atol=1e-4)


def test_same_padding_keeps_size_and_explains_the_split(at: AppTest) -> None:
    at.radio(key=f"{P}_pad_kind").set_value("same")
    _set(at, k_h=4)
    at.run()
    assert _output_grid(at).shape == (7, 7)
    assert any("1 before and 2 after" in c.value for c in at.caption)


def test_per_side_padding(at: AppTest) -> None:
    at.radio(key=f"{P}_pad_kind").set_value("per side")
    at.run()
    _set(at, pt=2, pb=0, pl=0, pr=3)
    at.run()
    x = input_pattern("random", (7, 7), 0)
    k = kernel_preset("random integers", (3, 3), 0)
    padded = F.pad(torch.tensor(x)[None, None], (0, 3, 2, 0))
    expected = F.conv2d(padded, torch.tensor(k)[None, None])[0, 0].numpy()
    np.testing.assert_allclose(_output_grid(at), expected, atol=1e-4)


def test_valid_padding_and_patterns(at: AppTest) -> None:
    """'valid' leaves 7 − 3 + 1 = 5 per axis; every input pattern and kernel preset gives PyTorch's result."""
    at.radio(key=f"{P}_pad_kind").set_value("valid")
    k = kernel_preset("random integers", (3, 3), 0)
    for pattern in ("ramp", "checker", "edge", "impulse"):
        at.selectbox(key=f"{P}_in_kind").set_value(pattern)
        at.run()
        assert not at.exception and not at.error
        expected = _torch_output(input_pattern(pattern, (7, 7)), k, 0.0, 1, 0, 1, "zeros")
        assert expected.shape == (5, 5)
        np.testing.assert_allclose(_output_grid(at), expected, atol=1e-4, err_msg=pattern)
    # The impulse is still the input: cross-correlating it gives each kernel back, flipped, in the middle.
    for preset in (
        "identity",
        "box blur",
        "gaussian blur",
        "vertical edge",
        "horizontal edge",
        "outline (edge detect)",
        "sharpen",
    ):
        at.selectbox(key=f"{P}_k_kind").set_value(preset)
        at.run()
        assert not at.exception and not at.error, preset
        kernel = kernel_preset(preset, (3, 3))
        output = _output_grid(at)
        expected = _torch_output(input_pattern("impulse", (7, 7)), kernel, 0.0, 1, 0, 1, "zeros")
        np.testing.assert_allclose(output, expected, atol=1e-4, err_msg=preset)
        np.testing.assert_allclose(output[1:4, 1:4], kernel[::-1, ::-1], atol=1e-4, err_msg=preset)
        assert np.count_nonzero(np.round(output, 6)) == np.count_nonzero(kernel), preset


def test_kernel_larger_than_input_is_a_clear_message(at: AppTest) -> None:
    _set(at, k_h=9)
    at.run()
    assert not at.exception
    assert len(at.error) == 1 and "kernel 9" in at.error[0].value and "pad" in at.error[0].value
    assert not at.get("plotly_chart")


def test_same_with_stride_explains_why(at: AppTest) -> None:
    at.radio(key=f"{P}_pad_kind").set_value("same")
    _set(at, s_w=2)
    at.run()
    assert not at.exception
    assert "stride 1" in at.error[0].value


def test_reflect_padding_too_large(at: AppTest) -> None:
    _set(at, in_h=3, p_h=3)
    at.selectbox(key=f"{P}_pad_mode").set_value("reflect")
    at.run()
    assert not at.exception
    assert "reflect padding" in at.error[0].value


def test_edge_kernel_needs_two_columns(at: AppTest) -> None:
    _set(at, k_w=1)
    at.selectbox(key=f"{P}_k_kind").set_value("vertical edge")
    at.run()
    assert not at.exception and "2 columns" in at.error[0].value


def test_point_at_a_cell_matches_torch(at: AppTest) -> None:
    _set(at, row=3, col=4, seed=5)
    at.run()
    x = input_pattern("random", (7, 7), 5)
    k = kernel_preset("random integers", (3, 3), 5)
    expected = _torch_output(x, k, 0.0, 1, 0, 1, "zeros")
    assert at.metric[0].value == f"{expected[3, 4]:.4g}"
    table = at.dataframe[0].value
    assert len(table) == 9
    assert np.isclose(table["product"].sum(), expected[3, 4])


def _unread_warnings(at: AppTest) -> list[str]:
    return [w.value for w in at.warning if w.value.startswith("No output reads input cell")]


def test_input_cell_skipped_by_stride_warns(at: AppTest) -> None:
    _set(at, k_h=1, k_w=1, s_h=2, s_w=2, in_row=1, in_col=1)
    at.run()
    (warning,) = _unread_warnings(at)
    assert "stride (2) is larger than the kernel's span d(k-1)+1 = 1" in warning


def test_stride_over_span_is_named_only_past_the_boundary(at: AppTest) -> None:
    # 7 rows, a 3-row kernel: windows start every `stride` rows and cover rows start..start+2.
    _set(at, s_h=3, in_row=6, in_col=3)  # stride = span: windows 0-2 and 3-5 touch; row 6 is past the last
    at.run()
    (warning,) = _unread_warnings(at)
    assert "larger than the kernel's span" not in warning
    assert "the last window ends at row 5" in warning
    _set(at, s_h=4, in_row=3)  # stride = span + 1: windows 0-2 and 4-6 leave row 3 between them
    at.run()
    (warning,) = _unread_warnings(at)
    assert "along the rows the stride (4) is larger than the kernel's span d(k-1)+1 = 3" in warning


def test_dilation_gaps_are_not_blamed_on_the_stride(at: AppTest) -> None:
    # Dilation 2 spreads 3 taps over 5 rows; stride 2 < 5, yet odd rows fall in every window's gaps.
    _set(at, d_h=2, s_h=2, in_row=1, in_col=3)
    at.run()
    (warning,) = _unread_warnings(at)
    assert "larger than the kernel's span" not in warning
    assert "gaps that dilation 2 leaves between the kernel's taps" in warning


def test_input_cell_feeds_outputs(at: AppTest) -> None:
    _set(at, in_row=3, in_col=3)
    at.run()
    assert any("feeds **9** output cells" in m.value for m in at.markdown)


def test_typed_values(at: AppTest) -> None:
    at.selectbox(key=f"{P}_in_kind").set_value("typed")
    at.selectbox(key=f"{P}_k_kind").set_value("typed")
    at.run()
    assert not at.exception and not at.error
    # The typed kernel starts as the identity: the output is the input's centre crop.
    x = input_pattern("random", (7, 7), 0)
    np.testing.assert_allclose(_output_grid(at), x[1:-1, 1:-1], atol=1e-4)


def test_speed_control(at: AppTest) -> None:
    at.select_slider(key=f"{P}_speed").set_value("fast")
    at.run()
    spec = _chart(at, "animation")
    play = spec["layout"]["updatemenus"][0]["buttons"][0]
    assert play["args"][1]["frame"]["duration"] == 120


def test_matrix_view_is_the_convolution(at: AppTest) -> None:
    _set(at, in_h=5, in_w=6, s_w=2, p_h=1)
    at.run()
    spec = _chart(at, "matrix")
    matrix = np.nan_to_num(_decode(spec["data"][0]["z"]).astype(float))
    x = input_pattern("random", (5, 6), 0)
    k = kernel_preset("random integers", (3, 3), 0)
    expected = _torch_output(x, k, 0.0, (1, 2), (1, 0), 1, "zeros")
    np.testing.assert_allclose(matrix @ x.ravel(), expected.ravel(), atol=1e-4)
    assert any("fully connected" in m.label for m in at.metric)


def test_matrix_view_hidden_for_large_inputs(at: AppTest) -> None:
    _set(at, in_h=20, in_w=20)
    at.run()
    assert f"{P}_matrix" not in [c.key for c in at.get("plotly_chart")]
    assert any("at most 100 cells" in c.value for c in at.caption)


def test_pytorch_snippet_runs_and_matches(at: AppTest) -> None:
    at.radio(key=f"{P}_pad_kind").set_value("per side")
    at.run()
    _set(at, pt=1, pr=2, s_h=2)
    at.selectbox(key=f"{P}_pad_mode").set_value("replicate")
    at.run()
    (code,) = [c.value for c in at.code if c.value.startswith("import torch")]
    namespace: dict = {}
    exec(code, namespace)  # the snippet asserts its own output shape
    assert tuple(namespace["y"].shape[2:]) == _output_grid(at).shape


def test_gif_is_made_only_when_asked_and_dropped_when_settings_change(at: AppTest) -> None:
    assert not at.get("download_button")
    at.button(key=f"{P}_gif_make").click()
    at.run()
    (download,) = at.get("download_button")
    assert download.key == f"{P}_gif_download" and download.proto.label.startswith("Download the GIF (")
    at.select_slider(key=f"{P}_speed").set_value("slow")  # another animation: its GIF is not made yet
    at.run()
    assert not at.get("download_button")


def _shifted_like_torch(x: torch.Tensor, dy: int, dx: int) -> torch.Tensor:
    h, w = x.shape
    padded = F.pad(x, (max(dx, 0), max(-dx, 0), max(dy, 0), max(-dy, 0)))
    return padded[max(-dy, 0) : max(-dy, 0) + h, max(-dx, 0) : max(-dx, 0) + w]


def test_equivariance_section_matches_torch_and_marks_the_border(at: AppTest) -> None:
    _set(at, p_h=1, p_w=1)
    at.slider(key=f"{P}_eq_dy").set_value(2)
    at.slider(key=f"{P}_eq_dx").set_value(-1)
    at.run()
    spec = _chart(at, "equivariance")
    x = input_pattern("random", (7, 7), 0)
    k = kernel_preset("random integers", (3, 3), 0)
    shifted = _shifted_like_torch(torch.tensor(x), 2, -1).numpy()
    conv_of_shift = _torch_output(shifted, k, 0.0, 1, 1, 1, "zeros")
    shift_of_conv = _shifted_like_torch(
        torch.tensor(_torch_output(x, k, 0.0, 1, 1, 1, "zeros")), 2, -1
    ).numpy()
    # the coloured panels; their numbers are on black and white text layers (meta cell_ink_of)
    heatmaps = [t for t in spec["data"] if t["type"] == "heatmap" and not t.get("meta")]
    np.testing.assert_allclose(_decode(heatmaps[0]["z"]), shifted, atol=1e-4)
    np.testing.assert_allclose(_decode(heatmaps[1]["z"]), conv_of_shift, atol=1e-3)
    np.testing.assert_allclose(_decode(heatmaps[2]["z"]), shift_of_conv, atol=1e-3)
    differ = ~np.isclose(conv_of_shift, shift_of_conv)
    marks = [t for t in spec["data"] if t["type"] == "scatter"]
    assert len(marks) == 2 and all(len(_decode(m["x"])) == differ.sum() for m in marks)
    rows, cols = _decode(marks[0]["y"]), _decode(marks[0]["x"])
    assert set(zip(rows.tolist(), cols.tolist(), strict=True)) == set(zip(*np.nonzero(differ), strict=True))
    assert any(f"{differ.sum()} of 49 output cells differ" in i.value for i in at.info)


def test_circular_shift_and_padding_commute_everywhere(at: AppTest) -> None:
    _set(at, p_h=1, p_w=1)
    at.selectbox(key=f"{P}_pad_mode").set_value("circular")
    at.radio(key=f"{P}_eq_fill").set_value("circular")
    at.slider(key=f"{P}_eq_dx").set_value(3)
    at.run()
    assert any("All 49 output cells agree" in s.value for s in at.success)
    assert not [t for t in _chart(at, "equivariance")["data"] if t["type"] == "scatter"]


def test_shift_the_stride_does_not_divide_is_explained(at: AppTest) -> None:
    _set(at, s_h=2)
    at.slider(key=f"{P}_eq_dy").set_value(1)
    at.run()
    assert any("not a multiple of it" in w.value for w in at.warning)
    at.slider(key=f"{P}_eq_dy").set_value(2)
    at.run()
    assert not any("not a multiple of it" in w.value for w in at.warning)


def test_every_cell_of_the_one_cell_figure_is_a_click_target(at: AppTest) -> None:
    from cnnviz.plots import picked_cell

    _set(at, p_h=1)
    at.run()
    spec = _chart(at, "cell_figure")
    pickers = [t for t in spec["data"] if t.get("name", "").startswith("pick")]
    assert [t["name"] for t in pickers] == ["pick input", "pick output"]
    for trace, kind, shape in zip(pickers, ("input", "output"), ((7, 7), (7, 5)), strict=True):
        xs, ys = _decode(trace["x"]), _decode(trace["y"])
        assert len(xs) == shape[0] * shape[1]
        # Streamlit reports a click as a point with the trace's customdata: it names the cell under it.
        for i in (0, len(xs) // 2, len(xs) - 1):
            point = {"x": int(xs[i]), "y": int(ys[i]), "customdata": trace["customdata"][i]}
            assert picked_cell(point) == (kind, int(ys[i]), int(xs[i]))
    assert picked_cell({"x": 1, "y": 1}) is None


def test_picked_cells_stay_inside_a_shrinking_output(at: AppTest) -> None:
    _set(at, row=4, col=4, in_row=6, in_col=6)
    at.run()
    _set(at, k_h=5, k_w=5, in_h=5, in_w=5)
    at.run()
    assert not at.exception and not at.error
    assert at.number_input(key=f"{P}_row").value == 0 and at.number_input(key=f"{P}_col").value == 0
    assert at.number_input(key=f"{P}_in_row").value == 4


def test_shift_sliders_follow_the_input_size(at: AppTest) -> None:
    at.slider(key=f"{P}_eq_dy").set_value(5)
    at.run()
    _set(at, in_h=1, k_h=1)
    at.run()
    assert not at.exception and not at.error
    assert not [s for s in at.slider if s.key == f"{P}_eq_dy"]
    assert any("nothing to shift down" in c.value for c in at.caption)
    assert any(
        "input shifted by (0, 0)" in a["text"] for a in _chart(at, "equivariance")["layout"]["annotations"]
    )
    assert any("All 5 output cells agree" in s.value for s in at.success)


@pytest.mark.parametrize(
    ("typed", "says"),
    [("1e308", "is too large"), ("-1.7e308", "is too large"), ("9e15", "is too large"),
     ("1e308*10", "is not a number"), ("1e309", "is not a finite number")],
)  # fmt: skip
def test_typed_values_near_the_float_limit_are_a_message_and_the_last_grid_stays(
    at: AppTest, typed: str, says: str
) -> None:
    """Products and sums of values near 1e308 overflow to inf: such a value is refused where it is typed."""
    from tests.app.helpers import type_into_grid

    at.selectbox(key=f"{P}_in_kind").set_value("typed").run()
    before = _output_grid(at)
    type_into_grid(at, f"{P}_typed_in", {(2, 3): typed})
    assert not at.exception
    (error,) = at.error
    assert error.value.startswith("Input, row 2, column 3:") and says in error.value
    np.testing.assert_array_equal(_output_grid(at), before)
    assert np.isfinite(_output_grid(at)).all()
    # The page keeps serving: the next change runs cleanly.
    at.number_input(key=f"{P}_bias").set_value(1.0).run()
    assert not at.exception and not at.error
    np.testing.assert_allclose(_output_grid(at), before + 1.0)


def test_a_link_with_a_typed_value_near_the_float_limit_gives_a_note() -> None:
    from tests.app.helpers import notes, run

    at = run(PAGE, {f"{P}_in_kind": "typed", f"{P}_typed_in": ";".join([",".join(["1e308"] * 7)] * 7)})
    assert not at.error
    (note,) = notes(at)
    assert "Typed input values" in note
    assert np.isfinite(_output_grid(at)).all()


def _hover_data(at: AppTest) -> dict | None:
    """The data the hover grid was drawn with (None when the page drew none)."""
    found = [e for e in at.get("bidi_component") if e.proto.component_name == "cnnviz_hover_grid"]
    return json.loads(found[0].proto.json) if found else None


def test_the_hover_grid_links_every_output_to_its_window(at: AppTest) -> None:
    _set(at, in_h=5, in_w=6)
    at.run()
    data = _hover_data(at)
    assert data is not None
    panels = {p["id"]: (p["rows"], p["cols"]) for p in data["panels"]}
    assert panels == {"input": (5, 6), "kernel": (3, 3), "output": (3, 4)}
    outputs = [link for link in data["links"] if link["o"][0] == "output"]
    assert len(outputs) == 12 and all(len(link["r"]) == 27 for link in outputs)
    # Each line's total is the output the products section computes for that cell.
    _set(at, row=2, col=3)
    at.run()
    data = _hover_data(at)
    assert data["pinned"] == ["output", 2, 3]
    (line,) = [link["t"] for link in data["links"] if link["o"] == ["output", 2, 3]]
    assert line.endswith(f"= {at.metric[0].value}")
    assert data["pickable"] == ["input", "output"]


def test_a_layer_too_large_to_point_at_says_so(at: AppTest) -> None:
    _set(at, in_h=32, in_w=32, k_h=7, k_w=7)
    at.run()
    assert not at.exception
    assert _hover_data(at) is None
    assert any("too large to point at" in c.value for c in at.caption)


def test_the_matrix_and_the_shift_check_are_not_redrawn_by_a_rerun_that_keeps_them(
    at: AppTest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The matrix and the equivariance figures are cached views shared between reruns: a rerun for
    another widget (the animation's speed) builds neither again, nor copies the walkthrough."""
    import importlib

    views = importlib.import_module("cnnviz.ui.explorer_views")
    built: list[str] = []
    matrix_figure, grids_figure = views.matrix_figure, views.grids_figure
    monkeypatch.setattr(
        views, "matrix_figure", lambda *a, **k: built.append("matrix") or matrix_figure(*a, **k)
    )
    monkeypatch.setattr(views, "grids_figure", lambda *a, **k: built.append("shift") or grids_figure(*a, **k))
    before = {name: _chart(at, name) for name in ("matrix", "equivariance")}
    at.run()
    assert not at.exception and built == []
    assert {name: _chart(at, name) for name in ("matrix", "equivariance")} == before
    _set(at, in_h=6)
    at.run()
    assert sorted(built) == ["matrix", "shift"]
