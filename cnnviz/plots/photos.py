"""Photos shown so that a click picks a pixel: pictures side by side, each in its own shown-pixel
coordinates, with nearly invisible points a click selects (Streamlit reports clicks on scatter points
only), and the mapping from such a click back to a pixel of the full-resolution image."""

from __future__ import annotations

import base64
import math

import numpy as np
import plotly.graph_objects as go

from cnnviz.plots.conv import typed_array
from cnnviz.plots.palette import HIGHLIGHT, HIGHLIGHT_WIDTH

__all__ = [
    "MAX_PICKER_POINTS",
    "PhotoPanel",
    "clicked_pixel",
    "photo_panels_figure",
    "picked_pixel",
    "pixel_picker_trace",
]

# Click targets per side of a picture. Plotly styles every point as its own SVG node: at 64 a side (three
# panels, 12,288 points) that took ~1.7 s of the browser's time on each change of the image page, and a
# change took 4.2 s from click to painted result; at 32, 1.6 s. A click lands on a block of pixels (8 a side
# on a 256-pixel crop), and the row and column boxes reach any single pixel.
MAX_PICKER_POINTS = 32


# A picker trace's legend group names its panel; Streamlit's click event carries each point's legend group
# with its x and y, so the points need no per-point data of their own.
PICKER_GROUP = "cnnviz pixel picker "


def pixel_picker_trace(height: int, width: int, panel: int, axes: str = "") -> dict:
    """Nearly invisible points over a height x width picture (in its shown pixels, row 0 on top), at most
    `MAX_PICKER_POINTS` a side, each on the centre pixel of the block it stands for. A click's point says
    which picture (its legend group, `PICKER_GROUP` + panel) and which shown pixel (y is the row, x the
    column). Per-point `customdata` [panel, row, col] said the same in 4,096 three-number lists a picture:
    most of the figure's JSON, written, hashed and parsed on every rerun."""
    step_r = max(1, math.ceil(height / MAX_PICKER_POINTS))
    step_c = max(1, math.ceil(width / MAX_PICKER_POINTS))
    rows = np.arange(step_r // 2, height, step_r)
    cols = np.arange(step_c // 2, width, step_c)
    rr, cc = np.meshgrid(rows, cols, indexing="ij")
    invisible = {"marker": {"opacity": 0.01}}
    # Smaller than their spacing on a ~400 px panel, so that no two overlap: a click picks the nearest.
    size = max(4, min(14, 260 // max(len(rows), len(cols), 1)))
    return {
        "type": "scatter",
        "x": typed_array(cc.ravel().astype(np.int32)),
        "y": typed_array(rr.ravel().astype(np.int32)),
        "mode": "markers",
        "marker": {"size": size, "symbol": "square", "color": "#000000", "opacity": 0.01},
        "selected": invisible,
        "unselected": invisible,
        "hoverinfo": "none",
        "showlegend": False,
        "legendgroup": f"{PICKER_GROUP}{panel}",
        "name": f"pick {panel}",
        "xaxis": f"x{axes}",
        "yaxis": f"y{axes}",
    }


def _picker_panel(point: dict) -> int | None:
    """The panel of a clicked point of `pixel_picker_trace`, None for any other point."""
    group = point.get("legendgroup")
    if not isinstance(group, str) or not group.startswith(PICKER_GROUP):
        return None
    number = group[len(PICKER_GROUP) :]
    return int(number) if number.isdigit() else None


def picked_pixel(
    point: dict, origin: tuple[int, int] = (0, 0), factor: int = 1
) -> tuple[int, int, int] | None:
    """(panel, row, col) of the full-resolution pixel behind a clicked point of `pixel_picker_trace`.

    The picture was shown at 1/`factor` scale (each shown pixel the mean of a factor x factor block,
    as `preview` makes it) with its shown pixel (0, 0) starting at full-resolution pixel `origin`: the
    pixel picked is the centre of the clicked block. None for a point that is not a picker's."""
    panel = _picker_panel(point)
    x, y = point.get("x"), point.get("y")
    if panel is None or any(isinstance(v, bool) or not isinstance(v, (int, float)) for v in (x, y)):
        return None
    if not (math.isfinite(x) and math.isfinite(y)) or x < 0 or y < 0:
        return None
    row, col = int(y), int(x)
    factor = max(1, int(factor))
    return panel, origin[0] + row * factor + factor // 2, origin[1] + col * factor + factor // 2


def clicked_pixel(
    points: list[dict], views: dict[int, tuple[tuple[int, int], int]]
) -> tuple[int, int, int] | None:
    """(panel, row, col) of the full-resolution pixel behind the first picker point of a click event.

    `views` gives each panel's (origin, factor) as `picked_pixel` takes them; points of other traces or
    panels are skipped, and None means the click picked nothing."""
    for point in points:
        if _picker_panel(point) not in views:
            continue
        picked = picked_pixel(point, *views[_picker_panel(point)])
        if picked is not None:
            return picked
    return None


class PhotoPanel:
    """One picture of `photo_panels_figure`: encoded bytes (PNG or JPEG), its (height, width) in pixels,
    a title, a rectangle to outline (top, left, height, width) and a pixel to mark (row, col), both in
    the picture's own pixels."""

    def __init__(
        self,
        data: bytes,
        size: tuple[int, int],
        title: str,
        outline: tuple[int, int, int, int] | None = None,
        mark: tuple[int, int] | None = None,
    ) -> None:
        self.data, self.size, self.title, self.outline, self.mark = data, size, title, outline, mark


def photo_panels_figure(panels: list[PhotoPanel], height: int = 460) -> go.Figure:
    """Pictures side by side, each on its own axes in its own pixels, each clickable (`pixel_picker_trace`)."""
    from plotly.subplots import make_subplots

    fig = make_subplots(
        rows=1, cols=len(panels), subplot_titles=[p.title for p in panels], horizontal_spacing=0.04
    )
    for i, panel in enumerate(panels):
        axes = "" if i == 0 else str(i + 1)
        kind = "png" if panel.data[:4] == b"\x89PNG" else "jpeg"
        fig.add_trace(
            go.Image(
                source=f"data:image/{kind};base64,{base64.b64encode(panel.data).decode()}",
                hoverinfo="skip",
            ),
            row=1,
            col=i + 1,
        )
        fig.add_trace(pixel_picker_trace(*panel.size, i, axes), row=1, col=i + 1)
        if panel.outline is not None:
            top, left, h, w = panel.outline
            fig.add_shape(
                type="rect",
                x0=left - 0.5,
                x1=left + w - 0.5,
                y0=top - 0.5,
                y1=top + h - 0.5,
                line={"color": HIGHLIGHT, "width": HIGHLIGHT_WIDTH},
                row=1,
                col=i + 1,
            )
        if panel.mark is not None:
            r, c = panel.mark
            fig.add_shape(
                type="rect",
                x0=c - 1.5,
                x1=c + 1.5,
                y0=r - 1.5,
                y1=r + 1.5,
                line={"color": HIGHLIGHT, "width": 3},
                row=1,
                col=i + 1,
            )
        fig.update_xaxes(range=[-0.5, panel.size[1] - 0.5], row=1, col=i + 1)
        fig.update_yaxes(range=[panel.size[0] - 0.5, -0.5], scaleanchor=f"x{axes}", row=1, col=i + 1)
    fig.update_xaxes(showgrid=False, zeroline=False, showticklabels=False, fixedrange=True)
    fig.update_yaxes(showgrid=False, zeroline=False, showticklabels=False, fixedrange=True)
    fig.update_layout(
        height=height, margin={"l": 10, "r": 10, "t": 40, "b": 10}, clickmode="event+select", dragmode=False
    )
    return fig
