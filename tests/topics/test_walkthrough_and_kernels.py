"""The explorer's core: kernels, patterns, the one-call walkthrough and the animation's frame plan."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from cnnviz.conv.kernels import KERNEL_PRESETS, gaussian_kernel, input_pattern, kernel_preset
from cnnviz.conv.numbers import parse_numbers
from cnnviz.errors import ConvConfigError
from cnnviz.plots import conv_walkthrough_figure, frame_plan
from cnnviz.topics.walkthrough import conv1d_walkthrough, conv2d_walkthrough, pytorch_snippet
from tests.plotly_arrays import decode_array


@given(st.integers(0, 3000), st.integers(1, 150))
@settings(max_examples=300, deadline=None, derandomize=True)
def test_frame_plan_is_increasing_bounded_and_complete(n_steps: int, max_frames: int) -> None:
    plan = frame_plan(n_steps, max_frames)
    assert len(plan) <= max_frames
    assert all(a < b for a, b in zip(plan, plan[1:], strict=False))
    assert plan[-1:] == ([n_steps] if n_steps else [])


@pytest.mark.parametrize("name", list(KERNEL_PRESETS))
@pytest.mark.parametrize("shape", [(3, 3), (4, 2), (5, 5)])
def test_presets_have_the_requested_shape(name: str, shape: tuple[int, int]) -> None:
    k = kernel_preset(name, shape)
    assert k.shape == shape and np.isfinite(k).all()


def test_smoothing_presets_sum_to_one_and_edges_to_zero() -> None:
    for name in ("box blur", "gaussian blur"):
        assert np.isclose(kernel_preset(name, (5, 3)).sum(), 1.0)
    for name in ("vertical edge", "horizontal edge", "outline (edge detect)"):
        assert np.isclose(kernel_preset(name, (3, 3)).sum(), 0.0)
    assert kernel_preset("sharpen", (3, 3)).tolist() == [[0, -1, 0], [-1, 5, -1], [0, -1, 0]]
    g = gaussian_kernel((5, 5), 1.0)
    assert g[2, 2] == g.max() and np.allclose(g, g.T)


def test_bad_kernel_and_pattern_requests() -> None:
    with pytest.raises(ConvConfigError, match="2 columns"):
        kernel_preset("vertical edge", (3, 1))
    with pytest.raises(ConvConfigError, match="unknown kernel"):
        kernel_preset("nope", (3, 3))
    with pytest.raises(ConvConfigError, match="sigma"):
        gaussian_kernel((3, 3), 0.0)
    with pytest.raises(ConvConfigError, match="unknown input pattern"):
        input_pattern("nope", (3, 3))


def test_patterns() -> None:
    assert input_pattern("impulse", (5, 5)).sum() == 1 and input_pattern("impulse", (5, 5))[2, 2] == 1
    assert input_pattern("edge", (4, 6))[:, :3].all() and not input_pattern("edge", (4, 6))[:, 3:].any()
    assert np.array_equal(input_pattern("random", (4, 4), 3), input_pattern("random", (4, 4), 3))
    assert input_pattern("checker", (2, 2)).tolist() == [[0, 1], [1, 0]]


def test_parse_numbers() -> None:
    assert parse_numbers("1, 2.5 -3;4").tolist() == [1, 2.5, -3, 4]
    for bad, message in (("", "at least one"), ("1, x", "'x' is not a number"), ("inf", "finite")):
        with pytest.raises(ConvConfigError, match=message):
            parse_numbers(bad)


@given(
    h=st.integers(1, 9),
    w=st.integers(1, 9),
    kh=st.integers(1, 4),
    kw=st.integers(1, 4),
    s=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    d=st.tuples(st.integers(1, 2), st.integers(1, 2)),
    p=st.tuples(st.integers(0, 2), st.integers(0, 2)),
    mode=st.sampled_from(["zeros", "replicate", "circular"]),
    seed=st.integers(0, 100),
)
@settings(max_examples=300, deadline=None, derandomize=True)
def test_walkthrough_matches_torch(h, w, kh, kw, s, d, p, mode, seed) -> None:
    rng = np.random.default_rng(seed)
    x, k = rng.standard_normal((h, w)), rng.standard_normal((kh, kw))
    try:
        conv = torch.nn.Conv2d(1, 1, (kh, kw), s, p, d, padding_mode=mode, dtype=torch.float64)
        with torch.no_grad():
            conv.weight.copy_(torch.tensor(k)[None, None])
            conv.bias.fill_(0.25)
            expected = conv(torch.tensor(x)[None, None])[0, 0].numpy()
    except Exception:
        with pytest.raises(ConvConfigError):
            conv2d_walkthrough(x, k, 0.25, s, p, d, mode)
        return
    wt = conv2d_walkthrough(x, k, 0.25, s, p, d, mode)
    np.testing.assert_allclose(wt.output, expected, atol=1e-10)
    assert tuple(e.result for e in wt.explanations) == expected.shape
    padded = F.pad(
        torch.tensor(x)[None, None], (p[1], p[1], p[0], p[0]), mode="constant" if mode == "zeros" else mode
    )[0, 0].numpy()
    np.testing.assert_allclose(wt.padded, padded)
    assert wt.is_padding.sum() == padded.size - x.size
    assert wt.params == kh * kw + 1 and wt.macs == expected.size * kh * kw
    # The animation's last frame shows the whole output.
    fig = conv_walkthrough_figure(
        wt.padded, wt.is_padding, wt.kernel, wt.output, wt.geometry, padding_offset=wt.padding_offset
    )
    last = decode_array(fig.to_dict()["frames"][-1]["data"][2]["z"]).astype(float)
    np.testing.assert_allclose(last, wt.output, atol=1e-4)


def test_conv1d_walkthrough_and_snippet() -> None:
    x = np.arange(10.0)
    wt = conv1d_walkthrough(x, [1.0, -1.0], stride=2, padding=(1, 0))
    expected = F.conv1d(
        F.pad(torch.tensor(x)[None, None], (1, 0)),
        torch.tensor([[[1.0, -1.0]]], dtype=torch.float64),
        stride=2,
    )[0, 0].numpy()
    np.testing.assert_allclose(wt.output[0], expected)
    assert len(wt.explanations) == 1 and wt.explanations[0].result == expected.size
    namespace: dict = {}
    exec(pytorch_snippet(wt, 1, (1, 0)), namespace)
    assert namespace["y"].shape[-1] == expected.size
