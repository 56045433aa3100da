"""AppTest of the pooling page: every control, every error message, figures checked against PyTorch."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from streamlit.testing.v1 import AppTest

from cnnviz.kernels import input_pattern
from tests.plotly_arrays import decode_array as _decode

PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "5_Pooling.py")
P = "pl"


@pytest.fixture
def at() -> AppTest:
    app = AppTest.from_file(PAGE, default_timeout=60)
    app.run()
    assert not app.exception
    return app


def _charts(at: AppTest) -> list[dict]:
    return [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]


def _t(a: np.ndarray) -> torch.Tensor:
    return torch.tensor(a, dtype=torch.float64)[None, None]


def _errors(at: AppTest) -> list[str]:
    return [e.value for e in at.error]


def test_default_page_renders_all_sections(at: AppTest) -> None:
    assert not at.error
    assert len(at.get("plotly_chart")) == 5
    latex = " ".join(e.value for e in at.latex)
    assert "H_{out}" in latex and "W_{out}" in latex
    text = " ".join(m.value for m in at.markdown)
    assert "equivariant" in text and "approximately invariant" in text
    x = input_pattern("random", (6, 6), 0)
    assert at.metric[0].value == f"{x.mean():.4g}"


def test_max_pool_figure_equals_torch_with_winners(at: AppTest) -> None:
    at.selectbox(key=f"{P}_pattern").set_value("ramp")
    at.number_input(key=f"{P}_height").set_value(5)
    at.number_input(key=f"{P}_width").set_value(7)
    at.number_input(key=f"{P}_kernel").set_value(3)
    at.checkbox(key=f"{P}_same_stride").uncheck().run()
    at.number_input(key=f"{P}_stride").set_value(2)
    at.number_input(key=f"{P}_padding").set_value(1)
    at.number_input(key=f"{P}_dilation").set_value(2)
    at.checkbox(key=f"{P}_ceil").check()
    at.run()
    assert not at.exception and not at.error
    fig = _charts(at)[0]
    x = input_pattern("ramp", (5, 7))
    np.testing.assert_array_equal(_decode(fig["data"][0]["z"]).astype(float), x)
    ref, idx = F.max_pool2d(_t(x), 3, 2, 1, 2, ceil_mode=True, return_indices=True)
    np.testing.assert_array_equal(_decode(fig["data"][1]["z"]).astype(float), ref[0, 0].numpy())
    rows, cols = np.divmod(idx[0, 0].numpy().ravel(), 7)
    marked = set(
        zip(_decode(fig["data"][2]["y"]).astype(int), _decode(fig["data"][2]["x"]).astype(int), strict=True)
    )
    assert marked == set(zip(rows.tolist(), cols.tolist(), strict=True))


def test_avg_pool_figure_equals_torch(at: AppTest) -> None:
    at.selectbox(key=f"{P}_pattern").set_value("random")
    at.number_input(key=f"{P}_seed").set_value(7)
    at.radio(key=f"{P}_kind").set_value("avg").run()
    at.number_input(key=f"{P}_padding").set_value(1)
    at.checkbox(key=f"{P}_count_pad").uncheck()
    at.run()
    assert not at.exception and not at.error
    fig = _charts(at)[0]
    x = input_pattern("random", (6, 6), 7)
    ref = F.avg_pool2d(_t(x), 2, 2, 1, count_include_pad=False)[0, 0].numpy()
    np.testing.assert_allclose(_decode(fig["data"][1]["z"]).astype(float), ref)
    assert len(fig["data"]) == 2  # no winners for an average


@pytest.mark.parametrize(
    ("settings", "words"),
    [
        ({"padding": 2}, "at most half the kernel size"),
        ({"kernel": 8}, "padded input"),
    ],
)
def test_bad_settings_show_a_message_not_a_traceback(at: AppTest, settings: dict, words: str) -> None:
    for key, value in settings.items():
        at.number_input(key=f"{P}_{key}").set_value(value)
    at.run()
    assert not at.exception
    assert any(words in e for e in _errors(at))
    assert len(at.get("plotly_chart")) == 4  # the other sections still render


def test_invariance_controls_and_plot(at: AppTest) -> None:
    at.slider(key=f"{P}_shift").set_value(2)
    at.number_input(key=f"{P}_inv_kernel").set_value(3)
    at.number_input(key=f"{P}_inv_stride").set_value(2)
    at.run()
    assert not at.exception and not at.error
    maps, plot = _charts(at)[1:3]
    image = np.zeros((4, 8))
    image[:, :4] = 1
    np.testing.assert_array_equal(_decode(maps["data"][0]["z"]).astype(float), image)
    conv = F.conv2d(_t(image), torch.tensor([[[[1.0, -1.0]]]], dtype=torch.float64))
    np.testing.assert_array_equal(_decode(maps["data"][1]["z"]).astype(float), conv[0, 0].numpy())
    np.testing.assert_array_equal(
        _decode(maps["data"][2]["z"]).astype(float), F.max_pool2d(conv, 3, 2)[0, 0].numpy()
    )
    assert _decode(plot["data"][0]["y"]).tolist() == [0, 8, 8, 8]
    assert _decode(plot["data"][0]["x"]).tolist() == [0, 1, 2, 3]


def test_upsampling_controls_and_values(at: AppTest) -> None:
    at.selectbox(key=f"{P}_up_pattern").set_value("random")
    at.number_input(key=f"{P}_up_kernel").set_value(3)
    at.run()
    assert not at.exception and not at.error
    fig = _charts(at)[4]
    src = input_pattern("random", (4, 4), 0)
    pooled, idx = F.max_pool2d(_t(src), 2, return_indices=True)
    got = [_decode(trace["z"]).astype(float) for trace in fig["data"]]
    np.testing.assert_array_equal(got[0], F.interpolate(pooled, scale_factor=2)[0, 0].numpy())
    np.testing.assert_array_equal(got[1], F.max_unpool2d(pooled, idx, 2)[0, 0].numpy())
    np.testing.assert_allclose(
        got[2], F.interpolate(pooled, scale_factor=2, mode="bilinear", align_corners=False)[0, 0].numpy()
    )
    ref_t = F.conv_transpose2d(pooled, torch.ones(1, 1, 3, 3, dtype=torch.float64), stride=2)
    np.testing.assert_allclose(got[3], ref_t[0, 0].numpy())
    assert got[3].shape == (5, 5)
    sizes = at.dataframe[-1].value
    assert sizes["output size"].tolist() == ["4×4", "4×4", "4×4", "5×5"]
