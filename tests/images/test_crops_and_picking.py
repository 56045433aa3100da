"""The 1:1 crop and picking a pixel by clicking: which pixels a crop holds, which result pixel a click on
the input means (checked against PyTorch's conv2d), and a click on a shrunk picture mapped back."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from cnnviz.images.kernels import crop_box, result_box, result_pixel_at, window_centre
from cnnviz.images.loading import preview, preview_factor
from cnnviz.plots import MAX_PICKER_POINTS, clicked_pixel, picked_pixel, pixel_picker_trace
from cnnviz.plots.photos import PICKER_GROUP
from tests.plotly_arrays import decode_array

geometries = st.tuples(
    st.integers(1, 3).map(lambda n: 2 * n - 1),  # odd kernel side: its centre tap is a pixel
    st.integers(1, 3),  # stride
    st.integers(0, 3),  # padding
    st.integers(1, 2),  # dilation
)


def _torch_out_shape(shape: tuple[int, int], k: int, s: int, p: int, d: int) -> tuple[int, int]:
    """PyTorch's result size, (0, 0) where the window does not fit."""
    try:
        out = F.conv2d(torch.zeros(1, 1, *shape), torch.zeros(1, 1, k, k), stride=s, padding=p, dilation=d)
    except RuntimeError:
        return (0, 0)
    return tuple(out.shape[2:])


@settings(max_examples=60, deadline=None)
@given(geometries, st.integers(6, 20), st.integers(6, 20), st.data())
def test_the_result_pixel_of_an_input_pixel_is_the_one_whose_centre_tap_reads_it(
    geometry, h, w, data
) -> None:
    k, s, p, d = geometry
    out_shape = _torch_out_shape((h, w), k, s, p, d)
    if min(out_shape) < 1:
        return
    r, c = data.draw(st.integers(0, h - 1)), data.draw(st.integers(0, w - 1))
    impulse = torch.zeros(1, 1, h, w, dtype=torch.float64)
    impulse[0, 0, r, c] = 1.0
    centre_tap = torch.zeros(1, 1, k, k, dtype=torch.float64)
    centre_tap[0, 0, k // 2, k // 2] = 1.0
    reads = F.conv2d(impulse, centre_tap, stride=s, padding=p, dilation=d)[0, 0].numpy()
    picked = result_pixel_at((r, c), out_shape, (k, k), s, p, d)
    assert 0 <= picked[0] < out_shape[0] and 0 <= picked[1] < out_shape[1]
    if reads.any():  # some result pixel's window is centred exactly on (r, c): that one is picked
        assert reads[picked] == 1.0
    centre = window_centre(picked, (k, k), s, p, d)
    assert all(
        abs(a - b) <= s / 2 or not 0 < q < n - 1
        for a, b, q, n in zip(centre, (r, c), picked, out_shape, strict=True)
    )


def test_stride_one_same_padding_picks_the_same_pixel() -> None:
    for pixel in ((0, 0), (7, 3), (29, 39)):
        assert result_pixel_at(pixel, (30, 40), (5, 5), 1, "same") == pixel
        assert window_centre(pixel, (5, 5), 1, "same") == pixel


@settings(max_examples=60, deadline=None)
@given(geometries, st.integers(8, 40), st.integers(8, 40), st.integers(1, 12), st.data())
def test_a_result_crop_holds_exactly_the_pixels_centred_in_the_input_crop(geometry, h, w, side, data) -> None:
    k, s, p, d = geometry
    out_shape = _torch_out_shape((h, w), k, s, p, d)
    if min(out_shape) < 1:
        return
    box = crop_box((h, w), (data.draw(st.integers(0, h - 1)), data.draw(st.integers(0, w - 1))), side)
    inside = np.array(
        [
            [
                box[0] <= window_centre((i, j), (k, k), s, p, d)[0] <= box[0] + box[2] - 1
                and box[1] <= window_centre((i, j), (k, k), s, p, d)[1] <= box[1] + box[3] - 1
                for j in range(out_shape[1])
            ]
            for i in range(out_shape[0])
        ]
    )
    got = result_box(box, out_shape, (k, k), s, p, d)
    if got is None:
        assert not inside.any()
        return
    expected = np.zeros(out_shape, bool)
    expected[got[0] : got[0] + got[2], got[1] : got[1] + got[3]] = True
    np.testing.assert_array_equal(inside, expected)


def test_crop_box_stays_inside_the_image() -> None:
    assert crop_box((3000, 4000), (1500, 2000)) == (1372, 1872, 256, 256)
    assert crop_box((3000, 4000), (0, 3999)) == (0, 3744, 256, 256)
    assert crop_box((60, 80), (30, 40)) == (0, 0, 60, 80)


def test_a_click_on_a_shrunk_picture_picks_the_centre_of_its_block() -> None:
    # A 4000x3000 photo is shown at 1/4 scale: shown pixel (10, 20) averages rows 40..43, columns 80..83.
    assert preview_factor((3000, 4000)) == 4
    point = {"x": 20, "y": 10, "legendgroup": PICKER_GROUP + "0"}
    assert picked_pixel(point, (0, 0), 4) == (0, 42, 82)
    # On a 1:1 crop whose top-left pixel is (1372, 1872), shown pixel (5, 7) is that pixel plus (5, 7).
    assert picked_pixel({"x": 7, "y": 5, "legendgroup": PICKER_GROUP + "1"}, (1372, 1872), 1) == (
        1,
        1377,
        1879,
    )
    assert picked_pixel({"x": 1, "y": 2}) is None  # not a picker's point
    for bad in ({"x": "1", "y": 2}, {"x": True, "y": 2}, {"x": -1, "y": 2}, {"x": float("nan"), "y": 2}):
        assert picked_pixel({**bad, "legendgroup": PICKER_GROUP + "0"}) is None
    assert picked_pixel({"x": 1, "y": 2, "legendgroup": PICKER_GROUP + "x"}) is None
    views = {0: ((0, 0), 4), 1: ((1372, 1872), 1)}
    # The first point of a picker counts; points of other traces (no picker legend group) are skipped.
    event = [
        {"x": 3, "y": 3, "curve_number": 0},
        {"x": 7, "y": 5, "legendgroup": PICKER_GROUP + "1"},
        {"x": 1, "y": 1, "legendgroup": PICKER_GROUP + "0"},
    ]
    assert clicked_pixel(event, views) == (1, 1377, 1879)
    assert clicked_pixel([{"x": 0, "y": 0, "legendgroup": PICKER_GROUP + "2"}], views) is None  # not shown
    assert clicked_pixel([], views) is None


def test_every_click_target_of_a_shrunk_picture_lands_on_its_own_block() -> None:
    image = np.random.default_rng(0).integers(0, 256, (3000, 4000, 3), dtype=np.uint8)[:, :, 0]
    factor = preview_factor(image.shape, 512)
    shown = preview(image, 512)
    trace = pixel_picker_trace(*shown.shape, panel=0)
    xs, ys = decode_array(trace["x"]), decode_array(trace["y"])
    assert len(set(xs.tolist())) <= MAX_PICKER_POINTS and len(set(ys.tolist())) <= MAX_PICKER_POINTS
    for i in (0, len(xs) // 3, len(xs) - 1):
        point = {"x": int(xs[i]), "y": int(ys[i]), "legendgroup": trace["legendgroup"]}
        _, row, col = picked_pixel(point, (0, 0), factor)
        assert (row // factor, col // factor) == (ys[i], xs[i])  # inside the block the shown pixel averages
        assert 0 <= row < image.shape[0] and 0 <= col < image.shape[1]
        # and the shown pixel is that block's mean
        block = image[ys[i] * factor : (ys[i] + 1) * factor, xs[i] * factor : (xs[i] + 1) * factor]
        assert abs(int(shown[ys[i], xs[i]]) - block.mean()) <= 1
