"""The sliding-window animation as an animated GIF, frame for frame the same as the page's Plotly frames.

Each frame shows the padded input (padding grey), the kernel and the output filling in; the cells the
window reads carry a green ring (palette.HIGHLIGHT), the window's span a darker green outline, and the output
cell being computed an outline. Frames follow `frame_plan`, so the GIF has exactly as many frames as the Plotly
animation. Drawing happens in palette mode with one fixed palette (white, greys, greens, and a
diverging scale of value colours), so no colour is quantised away and the file stays small.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from cnnviz.conv.args import ConvGeometry
from cnnviz.conv.explain import window_positions
from cnnviz.plots.palette import HIGHLIGHT as HIGHLIGHT_HEX
from cnnviz.plots.palette import ink_for
from cnnviz.topics.walkthrough import frame_plan

__all__ = ["GifLayout", "HIGHLIGHT_RGB", "conv_animation_gif", "gif_layout", "MAX_GIF_WIDTH"]

MAX_GIF_WIDTH = 960  # px; the frame is scaled down (smaller cells) to fit
MAX_GIF_HEIGHT = 640
NUMBERS_MAX_CELLS = 24  # same rule as the page: wider grids show colours only
NUMBERS_MIN_PX = 22  # cells smaller than this have no room for a number
RING_PX = 4  # width of the green ring marking a cell the window reads


def _rgb(colour: str) -> tuple[int, int, int]:
    """(r, g, b) 0-255 of a '#rrggbb' colour."""
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


WHITE, BLACK, PADDING, EMPTY, HIGHLIGHT, OUTLINE, SOFT_TEXT = range(7)
_FIXED = [
    (255, 255, 255),
    (0, 0, 0),  # pure black: ink_for's contrast holds for black, not for a dark grey
    (217, 220, 225),
    (241, 242, 244),
    _rgb(HIGHLIGHT_HEX),
    (0, 110, 54),  # the window's span and the current output cell: the highlight, darker
    (85, 85, 85),
]
HIGHLIGHT_RGB = _FIXED[HIGHLIGHT]
_STEPS = 60  # value colours per sign: 2 * 60 + 1 shades from red (low) through white to blue (high),
_LOW, _HIGH = np.array([178, 24, 43]), np.array([33, 102, 172])  # like the page's RdBu


def _palette() -> list[int]:
    t = np.linspace(-1.0, 1.0, 2 * _STEPS + 1)[:, None]
    shades = np.where(t < 0, 255 + (_LOW - 255) * -t, 255 + (_HIGH - 255) * t).round().astype(int)
    colours = _FIXED + [tuple(c) for c in shades]
    flat = [v for c in colours for v in c]
    return flat + [0] * (768 - len(flat))


_PALETTE = _palette()


def _shade(value: float, limit: float) -> int:
    """Palette index of a value on the diverging scale (limit maps to the darkest shade)."""
    t = 0.0 if limit <= 0 else max(-1.0, min(1.0, value / limit))
    return len(_FIXED) + int(round((t + 1.0) * _STEPS))


@dataclass(frozen=True)
class GifLayout:
    """Where each panel sits in a frame: top-left corners of the input, kernel and output grids."""

    cell: int
    width: int
    height: int
    origins: dict[str, tuple[int, int]]  # 'input', 'kernel', 'output' -> (x, y) of cell (0, 0)
    numbers: bool

    def cell_box(self, panel: str, row: int, col: int) -> tuple[int, int, int, int]:
        """(x0, y0, x1, y1) of a cell; input rows/cols count from the padded grid's top-left."""
        x, y = self.origins[panel]
        x0, y0 = x + col * self.cell, y + row * self.cell
        return x0, y0, x0 + self.cell - 2, y0 + self.cell - 2  # 2 px white gap between cells


def gif_layout(
    padded_shape: tuple[int, int],
    kernel_shape: tuple[int, int],
    output_shape: tuple[int, int],
    max_width: int = MAX_GIF_WIDTH,
) -> GifLayout:
    """Cell size and panel positions that fit the three grids side by side within the size limits."""
    (hp, wp), (kh, kw), (ho, wo) = padded_shape, kernel_shape, output_shape
    margin, title = 16, 28
    gap_cells = 2
    across = wp + kw + wo + 2 * gap_cells
    down = max(hp, kh, ho)
    cell = int(min(40, (max_width - 2 * margin) // across, (MAX_GIF_HEIGHT - 2 * margin - title) // down))
    cell = max(cell, 4)
    origins = {}
    x = margin
    for name, cols in (("input", wp), ("kernel", kw), ("output", wo)):
        origins[name] = (x, margin + title)
        x += (cols + gap_cells) * cell
    width = x - gap_cells * cell + margin
    height = margin + title + down * cell + margin
    numbers = cell >= NUMBERS_MIN_PX and max(hp, wp, ho, wo) <= NUMBERS_MAX_CELLS
    return GifLayout(cell, int(width), int(height), origins, numbers)


def _fmt(values: np.ndarray) -> str:
    finite = values[np.isfinite(values)]
    return "{:.0f}" if finite.size and np.allclose(finite, np.round(finite)) else "{:.2f}"


def conv_animation_gif(
    padded: np.ndarray,
    is_padding: np.ndarray,
    kernel: np.ndarray,
    output: np.ndarray,
    geometry: ConvGeometry,
    *,
    padding_offset: tuple[int, int],
    frame_ms: int = 400,
    max_frames: int = 100,
    max_width: int = MAX_GIF_WIDTH,
) -> bytes:
    """The walkthrough animation as GIF bytes: one frame per entry of `frame_plan(Ho * Wo, max_frames)`.

    `padded` (Hp, Wp) with `is_padding` flags, `kernel` (kh, kw), `output` (Ho, Wo), as for the Plotly
    figure. The last frame (the full output) is held three times as long.
    """
    ho, wo = output.shape
    kh, kw = kernel.shape
    top, left = padding_offset
    layout = gif_layout(padded.shape, kernel.shape, output.shape, max_width)
    font = ImageFont.load_default(size=max(9, min(15, layout.cell * 2 // 5)))
    title_font = ImageFont.load_default(size=15)
    base = Image.new("P", (layout.width, layout.height), WHITE)
    base.putpalette(_PALETTE)
    draw = ImageDraw.Draw(base)

    def cell(panel: str, r: int, c: int, fill: int, text: str | None, dark: bool = False) -> None:
        box = layout.cell_box(panel, r, c)
        draw.rectangle(box, fill=fill)
        if text is not None and layout.numbers:
            cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
            draw.text((cx, cy), text, fill=WHITE if dark else BLACK, font=font, anchor="mm")

    def value_cell(panel: str, r: int, c: int, v: float, limit: float, fmt: str) -> None:
        shade = _shade(v, limit)
        dark = ink_for(*_PALETTE[3 * shade : 3 * shade + 3]) == "#ffffff"
        cell(panel, r, c, shade, fmt.format(v), dark=dark)

    in_limit = max(float(np.abs(padded).max(initial=0)), 1e-9)
    in_fmt, k_fmt, out_fmt = _fmt(padded), _fmt(kernel), _fmt(output)
    for r in range(padded.shape[0]):
        for c in range(padded.shape[1]):
            if is_padding[r, c]:
                cell("input", r, c, PADDING, in_fmt.format(padded[r, c]))
            else:
                value_cell("input", r, c, padded[r, c], in_limit, in_fmt)
    k_limit = max(float(np.abs(kernel).max(initial=0)), 1e-9)
    for r in range(kh):
        for c in range(kw):
            value_cell("kernel", r, c, kernel[r, c], k_limit, k_fmt)
    for r in range(ho):
        for c in range(wo):
            cell("output", r, c, EMPTY, None)
    h_in, w_in = (
        padded.shape[0] - top - geometry.padding[0][1],
        padded.shape[1] - left - geometry.padding[1][1],
    )
    for name, text in (
        ("input", f"input {h_in}x{w_in}"),
        ("kernel", f"kernel {kh}x{kw}"),
        ("output", f"output {ho}x{wo}"),
    ):
        x, y = layout.origins[name]
        draw.text((x, y - 8), text, fill=BLACK, font=title_font, anchor="ls")

    out_limit = max(float(np.abs(output).max(initial=0)), 1e-9)
    frames: list[Image.Image] = []
    filled = 0
    for done in frame_plan(ho * wo, max_frames):
        for step in range(filled, done):  # the output cells completed since the last frame
            r, c = divmod(step, wo)
            value_cell("output", r, c, output[r, c], out_limit, out_fmt)
        filled = done
        frame = base.copy()
        fd = ImageDraw.Draw(frame)
        current = divmod(done - 1, wo)
        for _, (r, c) in window_positions(current, geometry):
            x0, y0, x1, y1 = layout.cell_box("input", r + top, c + left)
            fd.rectangle((x0, y0, x1, y1), outline=HIGHLIGHT, width=RING_PX)
        r0, c0 = current[0] * geometry.stride[0], current[1] * geometry.stride[1]
        x0, y0, _, _ = layout.cell_box("input", r0, c0)
        _, _, x1, y1 = layout.cell_box("input", r0 + geometry.span[0] - 1, c0 + geometry.span[1] - 1)
        fd.rectangle((x0 - 2, y0 - 2, x1 + 1, y1 + 1), outline=OUTLINE, width=2)
        x0, y0, x1, y1 = layout.cell_box("output", *current)
        fd.rectangle((x0 - 2, y0 - 2, x1 + 1, y1 + 1), outline=OUTLINE, width=2)
        frames.append(frame)

    buffer = io.BytesIO()
    durations = [frame_ms] * len(frames)
    durations[-1] = frame_ms * 3
    frames[0].save(
        buffer,
        format="GIF",
        save_all=True,
        append_images=frames[1:],
        duration=durations,
        loop=0,
        optimize=False,
        disposal=1,
    )
    return buffer.getvalue()
