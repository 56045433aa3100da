"""AppTest of the 1D convolution page: every control, the lecture examples, every error message."""

from __future__ import annotations

import json

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
