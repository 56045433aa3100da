"""Plotly figures for the channels page: planes, filters laid out by group, connections, one cell's sum.

Many small grids are drawn as tiles of one heatmap (NaN between tiles) rather than as many subplots:
one trace is fast to build and small to send. Groups get one colour each, on tile borders and lines.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from cnnviz.plots.ink import ink_figure
from cnnviz.plots.palette import HIGHLIGHT, HIGHLIGHT_WIDTH
from cnnviz.topics.channels import ChannelSum, ChannelsView, MixingView

__all__ = [
    "GROUP_COLOURS",
    "cell_sum_figure",
    "connections_figure",
    "mixing_figure",
    "planes_figure",
    "weights_figure",
]

# Group frames; no green, which is the highlight's (palette.HIGHLIGHT).
GROUP_COLOURS = ("#1f77b4", "#d62728", "#7f7f7f", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2")
NUMBERS_MAX = 10  # tiles larger than this show colours only
BOARD_NUMBERS_MAX = 24  # cells across the weight board beyond which it shows colours only
MARGIN = {"l": 10, "r": 10, "t": 40, "b": 10}


def group_colour(group: int) -> str:
    return GROUP_COLOURS[group % len(GROUP_COLOURS)]


def _fmt(values: np.ndarray) -> str:
    finite = values[np.isfinite(values)]
    if finite.size and np.allclose(finite, np.round(finite)):
        return "%{z:.0f}"
    return "%{z:.2f}"


def _tile(
    tiles: dict[tuple[int, int], np.ndarray], tile_shape: tuple[int, int], grid: tuple[int, int]
) -> tuple[np.ndarray, dict[tuple[int, int], tuple[int, int]]]:
    """Place (h, w) tiles at grid slots (row, col) in one array with a NaN gap; return it and each origin."""
    h, w = tile_shape
    rows, cols = grid
    canvas = np.full((rows * (h + 1) - 1, cols * (w + 1) - 1), np.nan, dtype=np.float32)
    origins = {}
    for (r, c), tile in tiles.items():
        top, left = r * (h + 1), c * (w + 1)
        canvas[top : top + h, left : left + w] = tile
        origins[(r, c)] = (top, left)
    return canvas, origins


def _box(top: float, left: float, h: float, w: float, colour: str, width: float = 3, dash: str = "solid"):
    return {
        "type": "rect",
        "x0": left - 0.5,
        "x1": left + w - 0.5,
        "y0": top - 0.5,
        "y1": top + h - 0.5,
        "line": {"color": colour, "width": width, "dash": dash},
    }


def _figure(
    traces: list[go.Heatmap],
    shapes: list[dict],
    notes: list[dict],
    shown: dict[int, np.ndarray] | None = None,
) -> go.Figure:
    """A figure whose shapes and annotations skip Plotly's per-property validation, its numbers inked
    black or white by cell (`shown`: the cells of a trace that get one, see `ink_figure`).

    They are plain dicts this module builds itself; validating a few dozen of them costs more than the
    rest of a rerun (measured ~8x slower), and a control change must feel instant.
    """
    fig = go.Figure(data=traces, layout=go.Layout(shapes=shapes, annotations=notes, _validate=False))
    return ink_figure(fig, shown)


def _grid_layout(fig: go.Figure, canvas: np.ndarray, cell_px: int, top_margin: int = 40) -> None:
    fig.update_yaxes(autorange="reversed", scaleanchor="x", visible=False)
    fig.update_xaxes(visible=False, range=[-0.5, canvas.shape[1] - 0.5])
    fig.update_layout(
        height=int(min(900, max(160, canvas.shape[0] * cell_px + top_margin + 20))),
        margin={**MARGIN, "t": top_margin},
        plot_bgcolor="white",
        font={"size": 14},
    )


def _tiled_heatmap(
    canvas: np.ndarray, numbers: bool, colorscale: str, limit: float, hover: str
) -> go.Heatmap:
    return go.Heatmap(
        z=canvas,
        colorscale=colorscale,
        zmid=0.0 if colorscale in ("RdBu", "PuOr") else None,
        zmin=-limit if colorscale in ("RdBu", "PuOr") else None,
        zmax=limit if colorscale in ("RdBu", "PuOr") else None,
        showscale=False,
        xgap=1,
        ygap=1,
        texttemplate=_fmt(canvas) if numbers else None,
        textfont={"size": 13},
        hovertemplate=hover,
    )


def planes_figure(
    planes: np.ndarray,
    name: str,
    groups_of: Sequence[int],
    *,
    per_row: int = 4,
    window: Sequence[tuple[int, int]] | None = None,
    window_channels: Sequence[int] = (),
    colorscale: str = "Blues",
    cell_px: int = 34,
) -> go.Figure:
    """C planes (C, H, W) as tiles titled `name`[c], each framed in the colour of its group.

    `window` (input coordinates of the taps) is outlined on the planes in `window_channels`; the other
    planes are greyed out, so the channels one output cell reads stand out.
    """
    c, h, w = planes.shape
    per_row = max(1, min(per_row, c))
    grid = (int(np.ceil(c / per_row)), per_row)
    canvas, origins = _tile({divmod(i, per_row): planes[i] for i in range(c)}, (h, w), grid)
    numbers = max(h, w) <= NUMBERS_MAX and canvas.shape[1] <= 4 * (NUMBERS_MAX + 1)
    limit = max(float(np.nanmax(np.abs(canvas))), 1e-9)
    shapes, notes = [], []
    for i in range(c):
        top, left = origins[divmod(i, per_row)]
        shapes.append(_box(top, left, h, w, group_colour(groups_of[i]), 3))
        notes.append(
            {
                "x": left + (w - 1) / 2,
                "y": top - 0.5,
                "yanchor": "bottom",
                "text": f"{name}[{i}]",
                "showarrow": False,
                "font": {"size": 14, "color": group_colour(groups_of[i])},
            }
        )
        if window is not None and i not in window_channels:
            shapes.append(
                {
                    "type": "rect",
                    "x0": left - 0.5,
                    "x1": left + w - 0.5,
                    "y0": top - 0.5,
                    "y1": top + h - 0.5,
                    "fillcolor": "rgba(255,255,255,0.75)",
                    "line": {"width": 0},
                }
            )
        elif window is not None:  # one outline around the taps that fall inside the plane
            inside = [(r, col) for r, col in window if 0 <= r < h and 0 <= col < w]
            if inside:
                r0, r1 = min(r for r, _ in inside), max(r for r, _ in inside)
                c0, c1 = min(q for _, q in inside), max(q for _, q in inside)
                shapes.append(_box(top + r0, left + c0, r1 - r0 + 1, c1 - c0 + 1, HIGHLIGHT, HIGHLIGHT_WIDTH))
    heat = _tiled_heatmap(canvas, numbers, colorscale, limit, "value %{z}<extra></extra>")
    # Planes faded out for not being read show colours only: their numbers would be too faint to read.
    shown = np.ones(canvas.shape, dtype=bool)
    if window is not None:
        for i in set(range(c)) - set(window_channels):
            top, left = origins[divmod(i, per_row)]
            shown[top : top + h, left : left + w] = False
    fig = _figure([heat], shapes, notes, {0: shown})
    _grid_layout(fig, canvas, cell_px, 40)
    fig.update_yaxes(range=[canvas.shape[0] - 0.5, -1.6])
    return fig


def weights_figure(view: ChannelsView, cell_px: int = 26) -> go.Figure:
    """The weight as a C_out x C_in board of k x k slices: a slice where filter o reads input c, empty
    where groups cut the pair; slices framed in their group's colour, so the block diagonal shows."""
    k = view.weight.shape[2]
    tiles = {}
    for o in range(view.c_out):
        for ci, c in enumerate(view.inputs_read(o)):
            tiles[(o, c)] = view.weight[o, ci]
    canvas, origins = _tile(tiles, (k, k), (view.c_out, view.c_in))
    limit = max(float(np.nanmax(np.abs(canvas))), 1e-9)
    numbers = canvas.shape[1] <= BOARD_NUMBERS_MAX  # wider boards get too small a cell for digits
    shapes = [
        _box(top, left, k, k, group_colour(view.group_of_output(o)), 3)
        for (o, _), (top, left) in origins.items()
    ]
    fig = _figure([_tiled_heatmap(canvas, numbers, "PuOr", limit, "weight %{z}<extra></extra>")], shapes, [])
    _grid_layout(fig, canvas, max(12, cell_px - 3 * max(0, k - 3)), 50)
    fig.update_xaxes(
        visible=True,
        side="top",
        showgrid=False,
        zeroline=False,
        tickvals=[c * (k + 1) + (k - 1) / 2 for c in range(view.c_in)],
        ticktext=[f"in {c}" for c in range(view.c_in)],
    )
    fig.update_yaxes(
        visible=True,
        showgrid=False,
        zeroline=False,
        tickvals=[o * (k + 1) + (k - 1) / 2 for o in range(view.c_out)],
        ticktext=[f"filter {o}" for o in range(view.c_out)],
    )
    return fig


def connections_figure(grid: np.ndarray) -> go.Figure:
    """Input channels (left) wired to the output channels (right) that read them; one colour per group.

    `grid` is `cnnviz.topics.channels.connections`: (C_out, C_in), the group of each connected pair, -1 elsewhere.
    Trace g (for g < groups) holds group g's lines; the last trace holds the channel nodes.
    """
    c_out, c_in = grid.shape
    groups = int(grid.max()) + 1
    span = max(c_in, c_out) - 1 or 1

    def y_in(c: int) -> float:
        return c * span / max(c_in - 1, 1) if c_in > 1 else span / 2

    def y_out(o: int) -> float:
        return o * span / max(c_out - 1, 1) if c_out > 1 else span / 2

    fig = go.Figure()
    for g in range(groups):
        xs, ys = [], []
        for o, c in zip(*np.nonzero(grid == g), strict=True):
            xs += [0.0, 1.0, None]
            ys += [y_in(int(c)), y_out(int(o)), None]
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=ys,
                mode="lines",
                line={"color": group_colour(g), "width": 2.5},
                name=f"group {g}",
                hoverinfo="skip",
            )
        )
    node_x = [0.0] * c_in + [1.0] * c_out
    node_y = [y_in(c) for c in range(c_in)] + [y_out(o) for o in range(c_out)]
    labels = [f"in {c}" for c in range(c_in)] + [f"out {o}" for o in range(c_out)]
    colours = [group_colour(int(grid[:, c].max())) for c in range(c_in)] + [
        group_colour(int(grid[o].max())) for o in range(c_out)
    ]
    fig.add_trace(
        go.Scatter(
            x=node_x,
            y=node_y,
            mode="markers+text",
            text=labels,
            textposition=["middle left"] * c_in + ["middle right"] * c_out,
            marker={"size": 18, "color": colours, "line": {"color": "white", "width": 2}},
            hovertemplate="%{text}<extra></extra>",
            showlegend=False,
        )
    )
    fig.update_xaxes(visible=False, range=[-0.45, 1.45])
    fig.update_yaxes(visible=False, autorange="reversed")
    fig.update_layout(
        height=int(min(520, 120 + 42 * max(c_in, c_out))),
        margin=MARGIN,
        plot_bgcolor="white",
        font={"size": 14},
        legend={"orientation": "h", "y": -0.02},
        title={
            "text": f"{int((grid >= 0).sum())} of {c_in * c_out} pairs wired",
            "x": 0.02,
            "xanchor": "left",
        },
    )
    return fig


def cell_sum_figure(cell: ChannelSum, cell_px: int = 30) -> go.Figure:
    """For each input channel read: the window's values next to the weight slice, and their dot product.

    One row per channel; trace 0 the windows (Blues), trace 1 the slices (PuOr). The dot products are the
    annotations at the end of each row.
    """
    k = cell.slices[0].shape[0]
    n = len(cell.channels)
    windows, _ = _tile({(i, 0): cell.windows[i] for i in range(n)}, (k, k), (n, 1))
    slices, _ = _tile({(i, 0): cell.slices[i] for i in range(n)}, (k, k), (n, 1))
    offset = k + 2  # the slices sit right of the windows
    traces = []
    numbers = k <= NUMBERS_MAX
    w_limit = max(float(np.nanmax(np.abs(windows))), 1e-9)
    s_limit = max(float(np.nanmax(np.abs(slices))), 1e-9)
    for canvas, scale, limit, x0, what in (
        (windows, "Blues", w_limit, 0, "input"),
        (slices, "PuOr", s_limit, offset, "weight"),
    ):
        trace = _tiled_heatmap(canvas, numbers, scale, limit, what + " %{z}<extra></extra>")
        trace.update(x0=x0, dx=1)
        traces.append(trace)
    notes = [
        {"x": (k - 1) / 2, "y": -0.6, "yanchor": "bottom", "text": "window", "showarrow": False},
        {"x": offset + (k - 1) / 2, "y": -0.6, "yanchor": "bottom", "text": "weights", "showarrow": False},
    ]
    for i, (channel, dot) in enumerate(zip(cell.channels, cell.dots, strict=True)):
        middle = i * (k + 1) + (k - 1) / 2
        notes.append({"x": k + 0.5, "y": middle, "text": "⊙", "showarrow": False, "font": {"size": 20}})
        notes.append(
            {
                "x": offset + k,
                "y": middle,
                "xanchor": "left",
                "text": f"in {channel}: Σ = {dot:g}",
                "showarrow": False,
                "font": {"size": 15},
            }
        )
    fig = _figure(traces, [], notes)
    _grid_layout(fig, windows, cell_px, 40)
    fig.update_xaxes(range=[-0.5, offset + k + 6])
    fig.update_yaxes(range=[windows.shape[0] - 0.5, -1.4])
    return fig


def mixing_figure(mix: MixingView) -> go.Figure:
    """y = W x + b at one pixel: trace 0 W (C_out, C_in), 1 x (C_in, 1), 2 b (C_out, 1), 3 y (C_out, 1)."""
    c_out, c_in = mix.matrix.shape
    fig = make_subplots(
        rows=1,
        cols=4,
        column_widths=[c_in + 1, 1.8, 1.8, 1.8],
        horizontal_spacing=0.06,
        subplot_titles=(f"W ({c_out}×{c_in})", "x (pixel)", "+ b", "= y"),
    )
    parts = (
        (mix.matrix, "PuOr", "W"),
        (mix.vector[:, None], "Blues", "x"),
        (mix.bias[:, None], "PuOr", "b"),
        (mix.result[:, None], "RdBu", "y"),
    )
    for col, (z, scale, label) in enumerate(parts, start=1):
        z32 = z.astype(np.float32)
        limit = max(float(np.abs(z32).max(initial=0)), 1e-9)
        trace = _tiled_heatmap(z32, True, scale, limit, f"{label}[%{{y}}, %{{x}}] = %{{z}}<extra></extra>")
        if scale == "Blues":
            trace.update(zmin=0, zmax=limit)
        fig.add_trace(trace, row=1, col=col)
        fig.update_yaxes(autorange="reversed", dtick=1, row=1, col=col, showgrid=False, zeroline=False)
        fig.update_xaxes(
            dtick=1, side="top", row=1, col=col, showgrid=False, zeroline=False, showticklabels=col == 1
        )
    fig.update_layout(
        height=int(min(560, 140 + 40 * max(c_out, c_in))),
        margin={**MARGIN, "t": 70},
        plot_bgcolor="white",
        font={"size": 14},
    )
    fig.update_annotations(yshift=20)
    return ink_figure(fig)
