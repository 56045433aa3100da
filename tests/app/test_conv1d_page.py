"""AppTest of the 1D convolution page: every control, the lecture examples, every error message."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from streamlit.testing.v1 import AppTest

from cnnviz.conv.kernels import LECTURE_SIGNAL
from cnnviz.conv.numbers import number_text
from tests.app.helpers import page_path
from tests.plotly_arrays import decode_array

PAGE = page_path("2_Convolution_1D.py")
P = "c1"


def _output_line(at: AppTest) -> np.ndarray:
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    return decode_array(spec["data"][1]["y"]).astype(float)


def test_lecture_signal_average_with_zero_padding(at: AppTest) -> None:
    assert not at.error
    x = torch.tensor(LECTURE_SIGNAL, dtype=torch.float64)[None, None]
    expected = F.conv1d(x, torch.full((1, 1, 3), 1 / 3, dtype=torch.float64), padding=1)[0, 0].numpy()
    np.testing.assert_allclose(_output_line(at), expected, atol=1e-5)
    assert len(at.get("plotly_chart")) == 3


def test_template_matching_example(at: AppTest) -> None:
    at.selectbox(key=f"{P}_signal").set_value("template matching")
    at.selectbox(key=f"{P}_kernel").set_value("template (-1, 1)")
    at.radio(key=f"{P}_pad_kind").set_value("valid")
    at.run()
    np.testing.assert_allclose(_output_line(at), [1, -2, 2, 0])


@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate", "circular"])
def test_stride_dilation_per_side_padding_modes(at: AppTest, mode: str) -> None:
    at.radio(key=f"{P}_pad_kind").set_value("per side")
    at.run()
    at.number_input(key=f"{P}_pad_l").set_value(2)
    at.number_input(key=f"{P}_pad_r").set_value(1)
    at.number_input(key=f"{P}_stride").set_value(2)
    at.number_input(key=f"{P}_dilation").set_value(2)
    at.number_input(key=f"{P}_bias").set_value(0.5)
    at.selectbox(key=f"{P}_mode").set_value(mode)
    at.run()
    assert not at.error
    x = torch.tensor(LECTURE_SIGNAL, dtype=torch.float64)[None, None]
    x = F.pad(x, (2, 1), mode="constant" if mode == "zeros" else mode)
    w = torch.full((1, 1, 3), 1 / 3, dtype=torch.float64)
    expected = F.conv1d(x, w, torch.tensor([0.5], dtype=torch.float64), stride=2, dilation=2)[0, 0].numpy()
    np.testing.assert_allclose(_output_line(at), expected, atol=1e-5)


def test_typed_values_and_same_padding(at: AppTest) -> None:
    at.selectbox(key=f"{P}_signal").set_value("typed")
    at.selectbox(key=f"{P}_kernel").set_value("typed")
    at.radio(key=f"{P}_pad_kind").set_value("same")
    at.run()
    at.text_area(key=f"{P}_signal_text_typed").set_value("1 2 3 4 5")
    at.text_input(key=f"{P}_kernel_text_typed").set_value("1, 1")
    at.run()
    assert not at.error
    # 'same' with an even kernel pads 0 before and 1 after, as PyTorch does.
    np.testing.assert_allclose(_output_line(at), [3, 5, 7, 9, 5])
    assert any("0 before and 1 after" in c.value for c in at.caption)


def test_bad_numbers_are_messages(at: AppTest) -> None:
    at.selectbox(key=f"{P}_signal").set_value("typed")
    at.run()
    at.text_area(key=f"{P}_signal_text_typed").set_value("1, two, 3")
    at.run()
    assert not at.exception and "'two' is not a number" in at.error[0].value
    at.text_area(key=f"{P}_signal_text_typed").set_value("  ")
    at.run()
    assert "at least one number" in at.error[0].value


def test_kernel_longer_than_signal(at: AppTest) -> None:
    at.selectbox(key=f"{P}_signal").set_value("template matching")
    at.radio(key=f"{P}_pad_kind").set_value("valid")
    at.number_input(key=f"{P}_k").set_value(9)
    at.run()
    assert not at.exception and "kernel 9" in at.error[0].value


def test_same_with_stride_refused(at: AppTest) -> None:
    at.radio(key=f"{P}_pad_kind").set_value("same")
    at.number_input(key=f"{P}_stride").set_value(2)
    at.run()
    assert "stride 1" in at.error[0].value


def test_one_output_and_matrix(at: AppTest) -> None:
    at.number_input(key=f"{P}_pos").set_value(4)
    at.run()
    assert at.code[0].value.endswith(f"= {number_text(_output_line(at)[4], fractions=False)}")
    spec = json.loads(at.get("plotly_chart")[2].proto.spec)
    assert spec["layout"]["title"]["text"].startswith("12 outputs × 12 inputs")
    labels = [m.label for m in at.metric]
    assert labels == ["convolution parameters", "fully connected parameters"]
    assert at.metric[0].value == "4" and at.metric[1].value == "156"


def test_snippet_runs(at: AppTest) -> None:
    namespace: dict = {}
    (snippet,) = [c.value for c in at.code if c.value.startswith("import torch")]
    exec(snippet, namespace)
    assert namespace["y"].shape[-1] == len(_output_line(at))


def _window_centres_by_unfold(n: int, k: int, stride: int, before: int, after: int, dilation: int) -> list:
    """Each window's centre, from the input positions PyTorch's unfold gathers into it (padding: -1, -2…)."""
    positions = torch.arange(-before, n + after, dtype=torch.float64)[None, None, None]  # (1, 1, 1, padded)
    windows = F.unfold(positions, (1, k), dilation=(1, dilation), stride=(1, stride))[0]  # (k, outputs)
    return windows.mean(dim=0).tolist()


def _signals(at: AppTest) -> list[dict]:
    (chart,) = [c for c in at.get("plotly_chart") if c.key == f"{P}_signals"]
    return json.loads(chart.proto.spec)["data"]


@pytest.mark.parametrize(
    ("pad_kind", "stride", "dilation", "pads"),
    [("valid", 2, 1, (0, 0)), ("number", 1, 2, (1, 1)), ("per side", 3, 1, (2, 0))],
)
def test_output_is_drawn_at_the_centre_of_its_window(
    at: AppTest, pad_kind: str, stride: int, dilation: int, pads: tuple[int, int]
) -> None:
    at.radio(key=f"{P}_pad_kind").set_value(pad_kind).run()
    if pad_kind == "number":
        at.number_input(key=f"{P}_pad").set_value(pads[0])
    elif pad_kind == "per side":
        at.number_input(key=f"{P}_pad_l").set_value(pads[0])
        at.number_input(key=f"{P}_pad_r").set_value(pads[1])
    at.number_input(key=f"{P}_stride").set_value(stride)
    at.number_input(key=f"{P}_dilation").set_value(dilation)
    at.run()
    assert not at.error
    source, output = _signals(at)
    n = len(LECTURE_SIGNAL)
    assert source["name"] == "input" and output["name"] == "output (at window centre)"
    np.testing.assert_array_equal(decode_array(source["x"]), np.arange(n))
    expected = _window_centres_by_unfold(n, 3, stride, *pads, dilation)
    np.testing.assert_allclose(decode_array(output["x"]).astype(float), expected)
    assert source["line"]["color"] != output["line"]["color"]


def test_valid_stride_2_outputs_sit_over_their_windows(at: AppTest) -> None:
    """The lecture signal (12 samples), kernel 3, valid, stride 2: windows 0-2, 2-4, …, 8-10."""
    at.radio(key=f"{P}_pad_kind").set_value("valid").run()
    at.number_input(key=f"{P}_stride").set_value(2).run()
    output = _signals(at)[1]
    np.testing.assert_allclose(decode_array(output["x"]).astype(float), [1, 3, 5, 7, 9])


def _chart_spec(at: AppTest, name: str) -> dict:
    (chart,) = [c for c in at.get("plotly_chart") if c.key == f"{P}_{name}"]
    return json.loads(chart.proto.spec)


def test_the_page_speaks_of_positions_and_samples_not_rows_and_columns(at: AppTest) -> None:
    n = len(LECTURE_SIGNAL)
    walk = _chart_spec(at, "animation")
    titles = [a["text"] for a in walk["layout"]["annotations"]]
    assert titles[:3] == [f"input: {n} samples (grey: padding)", "kernel: 3 taps", f"output: {n} samples"]
    assert walk["layout"]["sliders"][0]["currentvalue"]["prefix"] == "output position: "
    hovers = [t.get("hovertemplate", "") for t in walk["data"]]
    assert "input position %{x}: %{z}<extra></extra>" in hovers
    shown = [*titles, *hovers, walk["layout"]["sliders"][0]["currentvalue"]["prefix"]]
    shown += [m.value for m in at.markdown] + [c.value for c in at.caption] + [w.value for w in at.warning]
    assert [t for t in shown if re.search(r"\b(rows?|cols?|columns?)\b", t, re.IGNORECASE)] == []
    matrix = _chart_spec(at, "matrix")
    assert matrix["layout"]["yaxis"]["title"]["text"] == "output position (one per row)"
    assert "input position" in matrix["layout"]["title"]["text"]


def test_the_hover_grid_links_each_output_to_its_samples(at: AppTest) -> None:
    (grid,) = [e for e in at.get("bidi_component") if e.proto.component_name == "cnnviz_hover_grid"]
    data = json.loads(grid.proto.json)
    assert data["stack"] is True and data["pickable"] == ["output"]
    outputs = [link for link in data["links"] if link["o"][0] == "output"]
    (output,) = [p for p in data["panels"] if p["id"] == "output"]
    assert len(outputs) == output["cols"] and output["rows"] == 1
    assert outputs[0]["t"].startswith("output[0] = ")
    at.number_input(key=f"{P}_pos").set_value(2)
    at.run()
    (grid,) = [e for e in at.get("bidi_component") if e.proto.component_name == "cnnviz_hover_grid"]
    assert json.loads(grid.proto.json)["pinned"] == ["output", 0, 2]
