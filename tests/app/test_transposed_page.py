"""AppTest of the transposed-convolution page: every control, every error message, figures against PyTorch.

The three views are read back from their figures: the animation's last frame (cropped to the output
box), the gaps view's output and the drawn C^T times the input must all equal F.conv_transpose2d.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from streamlit.testing.v1 import AppTest

from cnnviz.conv.kernels import input_pattern, kernel_preset
from cnnviz.topics.transposed import CELL_INPUT, CELL_INSERTED, CELL_OUTPUT_PADDING, CELL_PADDING
from tests.app.helpers import page_path
from tests.plotly_arrays import decode_array

PAGE = page_path("9_Transposed_convolution.py")
P = "tc"
SCATTER, GAPS, MATRIX = range(3)


def charts(at: AppTest) -> list[dict]:
    return [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]


def reference(x: np.ndarray, k: np.ndarray, s: int, p: int, op: int, d: int) -> np.ndarray:
    t = lambda a: torch.tensor(a, dtype=torch.float64)[None, None]  # noqa: E731
    return F.conv_transpose2d(t(x), t(k), None, s, p, op, 1, d)[0, 0].numpy()


def set_values(at: AppTest, **values: object) -> None:
    for key, value in values.items():
        at.number_input(key=f"{P}_{key}").set_value(value)
    at.run()
    assert not at.exception


def check_views(at: AppTest, x: np.ndarray, k: np.ndarray, s: int, p: int, op: int, d: int) -> np.ndarray:
    """All three views equal PyTorch's result; returns it."""
    ref = reference(x, k, s, p, op, d)
    scatter, gaps, matrix = charts(at)
    np.testing.assert_array_equal(decode_array(scatter["data"][0]["z"]).astype(float), x)
    assert len(scatter["frames"]) == x.size
    last = decode_array(scatter["frames"][-1]["data"][2]["z"]).astype(float)
    np.testing.assert_allclose(last[p : p + ref.shape[0], p : p + ref.shape[1]], ref, atol=1e-5)
    np.testing.assert_allclose(decode_array(gaps["data"][2]["z"]).astype(float), ref, atol=1e-5)
    ct = np.nan_to_num(decode_array(matrix["data"][0]["z"]).astype(float))
    np.testing.assert_allclose((ct @ x.ravel()).reshape(ref.shape), ref, atol=1e-4)
    assert [s.value for s in at.success] == [
        "Direct convolution of the gapped input = the transposed convolution (largest difference 0.0e+00).",
        "Cᵀ · x equals the transposed convolution, cell for cell.",
    ]
    return ref


def test_default_page_agrees_with_torch(at: AppTest) -> None:
    assert not at.error
    x = input_pattern("random", (3, 3), 0)
    ref = check_views(at, x, np.ones((3, 3)), 2, 0, 0, 1)
    assert ref.shape == (7, 7)
    assert any(r"H_{out}" in e.value for e in at.latex)
    assert "torch.Size([1, 1, 7, 7])" in at.main.code[-1].value


def test_geometry_controls(at: AppTest) -> None:
    set_values(at, h=4, w=2, k=2, s=3, p=1, op=2, d=2)
    assert not at.error
    x = input_pattern("random", (4, 2), 0)
    ref = check_views(at, x, np.ones((2, 2)), 3, 1, 2, 2)
    torch_shape = torch.nn.ConvTranspose2d(1, 1, 2, 3, 1, 2, dilation=2)(torch.zeros(1, 1, 4, 2)).shape
    assert ref.shape == tuple(torch_shape[2:])
    # Gaps view: 2 zeros between cells, d(k-1)-p = 1 zero each side, output_padding 2 at the end.
    kinds = decode_array(charts(at)[GAPS]["data"][0]["z"]).astype(int)
    assert kinds.shape == ((4 - 1) * 3 + 1 + 2 + 2, (2 - 1) * 3 + 1 + 2 + 2)
    assert (kinds == CELL_INPUT).sum() == 8
    assert {CELL_INSERTED, CELL_PADDING, CELL_OUTPUT_PADDING} <= set(np.unique(kinds).tolist())
    assert "pad **2·(2−1) − 1 = 1** zero(s)" in " ".join(m.value for m in at.markdown)


def test_crop_instead_of_padding_when_padding_exceeds_the_kernel_reach(at: AppTest) -> None:
    set_values(at, k=2, p=2)
    assert not at.error
    check_views(at, input_pattern("random", (3, 3), 0), np.ones((2, 2)), 2, 2, 0, 1)
    assert "crop 1 cell(s) from each side" in " ".join(m.value for m in at.markdown)


def test_output_padding_past_the_stride_drops_extra_rows_of_c(at: AppTest) -> None:
    set_values(at, s=1, d=3, op=2)
    assert not at.error
    check_views(at, input_pattern("random", (3, 3), 0), np.ones((3, 3)), 1, 0, 2, 3)
    assert any("2 extra row(s) and 2 extra column(s)" in c.value for c in at.caption)


@pytest.mark.parametrize("pattern", ["ramp", "checker", "edge", "impulse"])
def test_input_patterns(at: AppTest, pattern: str) -> None:
    at.selectbox(key=f"{P}_in_kind").set_value(pattern).run()
    assert not at.exception and not at.error
    assert at.number_input(key=f"{P}_seed").disabled
    check_views(at, input_pattern(pattern, (3, 3)), np.ones((3, 3)), 2, 0, 0, 1)


def test_seed_changes_the_random_input(at: AppTest) -> None:
    set_values(at, seed=5)
    check_views(at, input_pattern("random", (3, 3), 5), np.ones((3, 3)), 2, 0, 0, 1)


# The lectures' 3×3 kernels, written out here (not taken from the package).
LECTURE_KERNELS = {
    "identity": [[0, 0, 0], [0, 1, 0], [0, 0, 0]],
    "box blur": [[1 / 9] * 3] * 3,
    "sharpen": [[0, -1, 0], [-1, 5, -1], [0, -1, 0]],
    "vertical edge": [[1, 0, -1]] * 3,
}


def first_stamp(at: AppTest) -> np.ndarray:
    """The animation's first frame: input cell (0, 0) times the kernel, at the output's top-left corner."""
    return decode_array(charts(at)[SCATTER]["frames"][0]["data"][1]["z"]).astype(float)


@pytest.mark.parametrize("preset", ["random integers", *LECTURE_KERNELS])
def test_kernel_presets(at: AppTest, preset: str) -> None:
    at.selectbox(key=f"{P}_k_kind").set_value(preset).run()
    assert not at.exception and not at.error
    x = input_pattern("random", (3, 3), 0)
    k = (
        np.array(LECTURE_KERNELS[preset], dtype=float)
        if preset in LECTURE_KERNELS
        else kernel_preset(preset, (3, 3))
    )
    ref = check_views(at, x, k, 2, 0, 0, 1)
    assert ref.shape == (7, 7) and "torch.Size([1, 1, 7, 7])" in at.main.code[-1].value
    stamp = first_stamp(at)
    np.testing.assert_allclose(stamp[:3, :3], x[0, 0] * k, atol=1e-9)  # what the first frame draws
    assert np.isnan(stamp[3:]).all() and np.isnan(stamp[:, 3:]).all()  # and nothing else yet


def test_typed_input_and_kernel(at: AppTest) -> None:
    at.selectbox(key=f"{P}_in_kind").set_value("typed").run()
    at.selectbox(key=f"{P}_k_kind").set_value("typed").run()
    assert not at.exception and not at.error
    at.text_input(key=f"{P}_in_text").set_value("1 2 3; 0 -1 0; 2, 0, 1").run()
    at.text_input(key=f"{P}_k_text").set_value("1 0 -1; 2 0 -2; 1 0 -1").run()
    assert not at.exception and not at.error
    x = np.array([[1, 2, 3], [0, -1, 0], [2, 0, 1]], dtype=float)
    k = np.array([[1, 0, -1], [2, 0, -2], [1, 0, -1]], dtype=float)
    ref = check_views(at, x, k, 2, 0, 0, 1)
    # Cell (0, 0) holds 1: the first stamp is the typed kernel itself. Output (2, 4) is where four stamps
    # overlap: those of input cells (0, 1), (0, 2), (1, 1) and (1, 2), each with one kernel corner.
    np.testing.assert_allclose(first_stamp(at)[:3, :3], k)
    assert ref[2, 4] == 2 * k[2, 2] + 3 * k[2, 0] + (-1) * k[0, 2] + 0 * k[0, 0] == 2


def test_speed_sets_the_frame_duration(at: AppTest) -> None:
    at.select_slider(key=f"{P}_speed").set_value("fast").run()
    assert not at.exception
    play = charts(at)[SCATTER]["layout"]["updatemenus"][0]["buttons"][0]
    assert play["args"][1]["frame"]["duration"] == 150
    at.select_slider(key=f"{P}_speed").set_value("slow").run()
    assert (
        charts(at)[SCATTER]["layout"]["updatemenus"][0]["buttons"][0]["args"][1]["frame"]["duration"] == 1000
    )


@pytest.mark.parametrize(
    ("numbers", "typed", "words"),
    [
        ({"op": 2}, {}, "output_padding (height) must be smaller than the stride or the dilation"),
        ({"s": 1, "p": 3}, {}, "crops 6 cells"),
        ({}, {"in_text": "1 2 3"}, "input: a 3×3 grid needs 3 rows of 3 numbers"),
        ({}, {"k_text": "1 2 x 4 5 6 7 8 9"}, "kernel: 'x' is not a number"),
    ],
)
def test_bad_settings_show_a_message_not_a_traceback(
    at: AppTest, numbers: dict, typed: dict, words: str
) -> None:
    if typed:
        at.selectbox(key=f"{P}_in_kind").set_value("typed")
        at.selectbox(key=f"{P}_k_kind").set_value("typed").run()
        for key, text in typed.items():
            at.text_input(key=f"{P}_{key}").set_value(text)
    set_values(at, **numbers)
    assert [e.value for e in at.error] and words in at.error[0].value
    assert len(at.get("plotly_chart")) == 0


def test_edge_kernel_too_small_is_explained(at: AppTest) -> None:
    set_values(at, k=1)
    at.selectbox(key=f"{P}_k_kind").set_value("vertical edge").run()
    assert not at.exception
    assert "a vertical-edge kernel needs at least 2 columns" in at.error[0].value


def test_the_hover_grid_links_each_output_to_the_stamps_that_add_into_it(at: AppTest) -> None:
    import json

    (grid,) = [e for e in at.get("bidi_component") if e.proto.component_name == "cnnviz_hover_grid"]
    data = json.loads(grid.proto.json)
    assert [p["id"] for p in data["panels"]] == ["input", "kernel", "output"]
    (output,) = [p for p in data["panels"] if p["id"] == "output"]
    outputs = [link for link in data["links"] if link["o"][0] == "output"]
    assert len(outputs) == output["rows"] * output["cols"]
    # Default: 3x3 input, 3x3 kernel, stride 2: output (0, 2) sits under two stamps, input (0, 0) and (0, 1).
    (corner,) = [link for link in outputs if link["o"] == ["output", 0, 2]]
    assert corner["r"][0::3] == [0, 1, 0, 1] and corner["r"][1::6] == [0, 0]
