"""The animation as a GIF: as many frames as the Plotly animation, each showing the window of its step."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from cnnviz.conv.explain import window_positions
from cnnviz.conv.kernels import input_pattern, kernel_preset
from cnnviz.plots import conv_walkthrough_spec
from cnnviz.plots.gif_export import (
    HIGHLIGHT_RGB,
    MAX_GIF_HEIGHT,
    MAX_GIF_WIDTH,
    conv_animation_gif,
    gif_layout,
)
from cnnviz.topics.walkthrough import ConvWalkthrough, conv2d_walkthrough

EMPTY_RGB = (241, 242, 244)
CASES = [  # input size, kernel size, stride, padding, dilation
    ((7, 7), (3, 3), 1, 1, 1),
    ((9, 8), (3, 2), (2, 1), (1, 2), (2, 1)),
    ((16, 16), (3, 3), 1, 0, 1),
    ((32, 32), (5, 5), 1, 2, 1),  # 1024 steps: more than the frame limit
]


def _walkthrough(size, ksize, stride, padding, dilation) -> ConvWalkthrough:
    x = input_pattern("random", size, 3)
    return conv2d_walkthrough(x, kernel_preset("random integers", ksize, 3), 0.5, stride, padding, dilation)


def _gif(w: ConvWalkthrough, frame_ms: int = 400) -> Image.Image:
    data = conv_animation_gif(
        w.padded,
        w.is_padding,
        w.kernel,
        w.output,
        w.geometry,
        padding_offset=w.padding_offset,
        frame_ms=frame_ms,
    )
    return Image.open(io.BytesIO(data))


def _ring_pixel(image: Image.Image, box: tuple[int, int, int, int]) -> tuple[int, int, int]:
    """A pixel inside the cell's ring band, clear of the window outline and of the cell's number."""
    return image.convert("RGB").getpixel((box[0] + 2, box[1] + 2))


@pytest.mark.parametrize("case", CASES)
def test_gif_has_one_frame_per_animation_frame_and_fits_the_size_limits(case) -> None:
    w = _walkthrough(*case)
    spec = conv_walkthrough_spec(
        w.padded, w.is_padding, w.kernel, w.output, w.geometry, padding_offset=w.padding_offset
    )
    gif = _gif(w, frame_ms=120)
    assert gif.format == "GIF"
    assert gif.n_frames == len(spec["frames"]) <= 100
    assert gif.width <= MAX_GIF_WIDTH and gif.height <= MAX_GIF_HEIGHT
    assert gif.info["duration"] == 120


@pytest.mark.parametrize("case", CASES)
def test_each_sampled_frame_rings_exactly_the_cells_its_window_reads(case) -> None:
    w = _walkthrough(*case)
    ho, wo = w.output.shape
    spec = conv_walkthrough_spec(
        w.padded, w.is_padding, w.kernel, w.output, w.geometry, padding_offset=w.padding_offset
    )
    labels = [step["label"] for step in spec["layout"]["sliders"][0]["steps"]]
    layout = gif_layout(w.padded.shape, w.kernel.shape, w.output.shape)
    gif = _gif(w)
    top, left = w.padding_offset
    for index in sorted({0, 1, len(labels) // 2, len(labels) - 1}):
        gif.seek(index)
        frame = gif.convert("RGB")
        current = tuple(int(v) for v in labels[index].split(","))  # the Plotly frame's output cell
        read = {(r + top, c + left) for _, (r, c) in window_positions(current, w.geometry)}
        for r in range(w.padded.shape[0]):
            for c in range(w.padded.shape[1]):
                ringed = _ring_pixel(frame, layout.cell_box("input", r, c)) == HIGHLIGHT_RGB
                assert ringed == ((r, c) in read), (index, r, c)
        # The output is filled up to and including the current cell, and empty after it.
        done = current[0] * wo + current[1] + 1
        for step in (0, done - 1, done):
            if step < ho * wo:
                pixel = _ring_pixel(frame, layout.cell_box("output", *divmod(step, wo)))
                assert (pixel == EMPTY_RGB) == (step >= done), (index, step)


def test_dilation_gaps_inside_the_window_stay_unringed() -> None:
    w = _walkthrough((7, 7), (2, 2), 1, 0, 3)  # taps at offsets 0 and 3: rows/cols 1, 2 are gaps
    gif = _gif(w)
    layout = gif_layout(w.padded.shape, w.kernel.shape, w.output.shape)
    frame = gif.convert("RGB")
    ringed = {
        (r, c)
        for r in range(4)
        for c in range(4)
        if _ring_pixel(frame, layout.cell_box("input", r, c)) == HIGHLIGHT_RGB
    }
    assert ringed == {(0, 0), (0, 3), (3, 0), (3, 3)}


def test_numbers_are_drawn_only_when_cells_are_large_enough() -> None:
    assert gif_layout((9, 9), (3, 3), (7, 7)).numbers
    assert not gif_layout((34, 34), (3, 3), (32, 32)).numbers
    assert gif_layout((64, 64), (9, 9), (64, 64)).width <= 960
