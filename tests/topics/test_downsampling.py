"""Downsampling compared: each of the four ways down against torch, and the aliasing they are there to show."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from cnnviz.errors import ConvConfigError
from cnnviz.topics.downsampling import (
    ALIASING_PATTERNS,
    DOWNSAMPLE_METHODS,
    anti_alias_sigma,
    blur_subsample,
    downsample_compare,
    enlarge_nearest,
    fine_stripes,
    gaussian_1d,
    picture_input,
    to_uint8,
    zone_plate,
)


def _torch_ways(x: np.ndarray, f: int, sigma: float) -> dict[str, np.ndarray]:
    """The four results computed with torch only: slicing, F.max_pool2d, F.avg_pool2d, F.conv2d(Gaussian)."""
    chw = x[None] if x.ndim == 2 else np.moveaxis(x, -1, 0)
    t = torch.tensor(chw, dtype=torch.float64)[:, None]  # (C, 1, H, W): channels as a batch
    g = torch.tensor(gaussian_1d(sigma), dtype=torch.float64)
    r = g.numel() // 2
    blur = F.conv2d(F.pad(t, (r, r, r, r), mode="replicate"), torch.outer(g, g)[None, None], stride=f)
    out = {
        "subsample": t[:, :, ::f, ::f],
        "max pool": F.max_pool2d(t, f),
        "average pool": F.avg_pool2d(t, f),
        "blur, then subsample": blur,
    }
    back = {}
    for name, y in out.items():
        a = y[:, 0].numpy()
        back[name] = a[0] if x.ndim == 2 else np.moveaxis(a, 0, -1)
    return back


@given(
    h=st.integers(4, 40),
    w=st.integers(4, 40),
    channels=st.sampled_from([0, 1, 3]),
    f=st.sampled_from([2, 3, 4]),
    sigma=st.one_of(st.none(), st.floats(0.3, 3.0)),
    seed=st.integers(0, 10_000),
)
@settings(max_examples=300, deadline=None, derandomize=True, database=None)
def test_four_ways_down_match_torch(h, w, channels, f, sigma, seed) -> None:
    rng = np.random.default_rng(seed)
    x = rng.random((h, w) if channels == 0 else (h, w, channels))
    result = downsample_compare(x, f, sigma)
    expected = _torch_ways(x, f, anti_alias_sigma(f) if sigma is None else sigma)
    assert list(result.methods) == list(DOWNSAMPLE_METHODS)
    for name in DOWNSAMPLE_METHODS:
        np.testing.assert_allclose(result.methods[name], expected[name], rtol=1e-12, atol=1e-12, err_msg=name)
        assert result.sizes()[name] == expected[name].shape[:2]
    # slicing and the blurred stride read ceil(n / f) pixels; pooling drops a partial last window
    assert result.sizes()["subsample"] == (-(-h // f), -(-w // f))
    assert result.sizes()["max pool"] == (h // f, w // f)


def test_gaussian_is_normalised_symmetric_and_about_4_sigma_wide() -> None:
    for sigma in (0.5, 1.0, 1.5, 2.0):
        g = gaussian_1d(sigma)
        assert g.sum() == pytest.approx(1.0)
        np.testing.assert_allclose(g, g[::-1])
        assert g.size == 2 * int(np.ceil(2 * sigma)) + 1 and g.argmax() == g.size // 2


def test_zone_plate_frequency_reaches_nyquist_at_the_edge() -> None:
    z = zone_plate(256)
    assert z.shape == (256, 256) and 0 <= z.min() and z.max() <= 1
    row = z[128]
    crossings = np.abs(np.diff(np.sign(row - 0.5))) > 0
    # near the edge every pixel crosses mid-grey (0.5 cycles per pixel, Nyquist); the centre is one flat disc
    assert crossings[:16].sum() >= 14
    assert crossings[120:135].sum() == 0


def _far_rings_energy(y: np.ndarray) -> float:
    """How much pattern is left in the outer third of a shrunk zone plate (variance of the ring area)."""
    n = y.shape[0]
    c = np.arange(n) - (n - 1) / 2
    r = np.hypot(c[:, None], c[None, :])
    return float(y[r > n / 3].var())


@pytest.mark.parametrize("f", [2, 3, 4])
def test_subsampling_a_zone_plate_makes_false_rings_that_blurring_removes(f: int) -> None:
    result = downsample_compare(zone_plate(240), f)
    aliased = _far_rings_energy(result.methods["subsample"])
    clean = _far_rings_energy(result.methods["blur, then subsample"])
    # past the new Nyquist radius the true rings are too fine to show: subsampling still shows strong
    # (false) rings, the Gaussian leaves a nearly flat grey
    assert aliased > 0.05
    assert clean < aliased / 5


def test_fine_stripes_alias_to_a_slow_beat_when_subsampled() -> None:
    stripes = fine_stripes(128, period=2.2)
    sub = downsample_compare(stripes, 2).methods["subsample"][0]
    spectrum = np.abs(np.fft.rfft(sub - sub.mean()))
    # every other pixel of a 2.2-pixel cosine: 2 / 2.2 = 0.91 cycles per sample, which folds to
    # 1 - 0.91 = 0.09 cycles per sample, a false stripe 11 new pixels (22 old ones) wide
    period = sub.size / int(spectrum.argmax())
    assert 9 < period < 13
    blurred = downsample_compare(stripes, 2).methods["blur, then subsample"][0]
    assert blurred.std() < 0.1 * sub.std()
    assert set(ALIASING_PATTERNS) == {"zone plate", "fine stripes"}


def test_lecture_2x2_max_pool_is_one_of_the_ways_down() -> None:
    x = np.arange(16.0).reshape(4, 4)
    result = downsample_compare(x, 2)
    np.testing.assert_array_equal(result.methods["max pool"], [[5, 7], [13, 15]])
    np.testing.assert_array_equal(result.methods["average pool"], [[2.5, 4.5], [10.5, 12.5]])
    np.testing.assert_array_equal(result.methods["subsample"], [[0, 2], [8, 10]])


def test_blur_of_a_flat_picture_stays_flat_up_to_the_borders() -> None:
    np.testing.assert_allclose(blur_subsample(np.full((9, 11), 0.25), 3), 0.25)


@pytest.mark.parametrize(
    ("x", "factor", "words"),
    [
        (np.zeros((3, 3)), 4, "smaller than the factor 4"),
        (np.zeros((8, 8)), 0, "whole number >= 1"),
        (np.zeros((8, 8)), 2.5, "whole number >= 1"),
        (np.zeros(8), 2, "must be \\(H, W\\) grey"),
        (np.full((8, 8), np.nan), 2, "NaN"),
    ],
)
def test_bad_inputs_raise_readable_errors(x, factor, words) -> None:
    with pytest.raises(ConvConfigError, match=words):
        downsample_compare(x, factor)


def test_bad_sigma_and_scale_raise() -> None:
    with pytest.raises(ConvConfigError, match="sigma must be positive"):
        gaussian_1d(0.0)
    with pytest.raises(ConvConfigError, match="scale"):
        enlarge_nearest(np.zeros((2, 2)), 0)


def test_display_helpers() -> None:
    y = enlarge_nearest(np.array([[0.0, 1.0]]), 3)
    assert y.shape == (3, 6) and (y[:, :3] == 0).all() and (y[:, 3:] == 1).all()
    np.testing.assert_array_equal(to_uint8(np.array([-1.0, 0.5, 2.0])), [0, 128, 255])
    photo = np.random.default_rng(0).integers(0, 256, size=(700, 500, 3)).astype(np.uint8)
    small = picture_input(photo, 320)
    assert small.shape[2] == 3 and max(small.shape[:2]) <= 320 and 0 <= small.min() and small.max() <= 1
    # shrinking averages whole blocks: the first pixel is the mean of the first 3x3 block
    np.testing.assert_allclose(small[0, 0] * 255, photo[:3, :3].mean(axis=(0, 1)), atol=0.51)
