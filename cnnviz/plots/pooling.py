"""Plotly figures for the pooling page: input and output grids with the max winners, the window animation,
1D pooling, the shift demo and upsampling.

The animation follows the explorer's (`cnnviz.plots.conv_walkthrough_figure`): Plotly frames with
play/pause and a scrubber, built once, so scrubbing costs no server round trip; frames carry only what
moves (window, output so far, the winner) as float32.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from cnnviz.plots.animation import play_buttons, scrubber
from cnnviz.plots.conv import frame_plan
from cnnviz.plots.ink import ink_figure, ink_split, ink_traces
from cnnviz.plots.palette import HIGHLIGHT, HIGHLIGHT_WIDTH, ring_path
from cnnviz.topics.pooling import Pool1dWalkthrough, PoolWalkthrough

__all__ = [
    "invariance_figure",
    "maps_figure",
    "pool1d_figure",
    "pool_animation_figure",
    "pool_figure",
    "upsample_figure",
]

RING = {"color": HIGHLIGHT, "width": HIGHLIGHT_WIDTH}  # the cells the window reads, the current output
SPAN = {"color": HIGHLIGHT, "width": 2, "dash": "dot"}  # the window's whole span
PAD_GREY = "#d9dce1"
EMPTY = "#f1f2f4"
WINNER = "crimson"


def _fmt(values: np.ndarray) -> str:
    finite = values[np.isfinite(values)]
    if finite.size and np.allclose(finite, np.round(finite)):
        return "%{z:.0f}"
    return "%{z:.2f}"


def _heatmap(z: np.ndarray, colorscale: str = "Blues", name: str = "") -> go.Heatmap:
    numbers = max(z.shape) <= 16
    return go.Heatmap(
        z=np.asarray(z, dtype=float),
        colorscale=colorscale,
        showscale=False,
        texttemplate=_fmt(z) if numbers else None,
        textfont={"size": 14},
        xgap=1,
        ygap=1,
        name=name,
        hovertemplate=f"{name} row %{{y}}, col %{{x}}: %{{z}}<extra></extra>",
    )


def _grid_axes(fig: go.Figure, n_cols: int) -> None:
    """Square cells, row 0 on top, column numbers above; each axis shrinks to its grid (no stray ticks)."""
    for i in range(1, n_cols + 1):
        fig.update_yaxes(
            autorange="reversed",
            scaleanchor=f"x{i if i > 1 else ''}",
            constrain="domain",
            dtick=1,
            showgrid=False,
            zeroline=False,
            row=1,
            col=i,
        )
        fig.update_xaxes(
            side="top", dtick=1, constrain="domain", showgrid=False, zeroline=False, row=1, col=i
        )
    fig.update_annotations(yshift=32)  # subplot titles above the column numbers


def pool_figure(
    x: np.ndarray, output: np.ndarray, winners: np.ndarray | None, kind: str = "max"
) -> go.Figure:
    """Input (left) and output (right) with numbers; for max pooling, a ring on every window's winner.

    Trace 0 is the input heatmap, trace 1 the output heatmap, trace 2 (max only) the winner markers.
    """
    fig = make_subplots(
        rows=1,
        cols=2,
        subplot_titles=(
            f"input {x.shape[0]}×{x.shape[1]}",
            f"{kind} pooled {output.shape[0]}×{output.shape[1]}",
        ),
        horizontal_spacing=0.08,
        column_widths=[x.shape[1], max(output.shape[1], 1) + 1],
    )
    fig.add_trace(_heatmap(x, "Blues", "input"), row=1, col=1)
    fig.add_trace(_heatmap(output, "Oranges", "output"), row=1, col=2)
    if winners is not None:
        cells = winners.reshape(-1, 2)
        inside = (
            (cells[:, 0] >= 0) & (cells[:, 0] < x.shape[0]) & (cells[:, 1] >= 0) & (cells[:, 1] < x.shape[1])
        )
        cells = cells[inside]
        labels = [
            f"wins output ({i // output.shape[1]}, {i % output.shape[1]})" for i in np.flatnonzero(inside)
        ]
        fig.add_trace(
            go.Scatter(
                x=cells[:, 1],
                y=cells[:, 0],
                mode="markers",
                marker={"symbol": "square-open", "size": 30, "color": "crimson", "line": {"width": 3}},
                name="winner",
                text=labels,
                hovertemplate="input row %{y}, col %{x}: %{text}<extra></extra>",
                showlegend=False,
            ),
            row=1,
            col=1,
        )
    _grid_axes(fig, 2)
    fig.update_layout(height=min(520, 140 + 40 * x.shape[0]), margin={"l": 10, "r": 10, "t": 80, "b": 10})
    return ink_figure(fig)


def invariance_figure(
    shifts: Sequence[int], conv_share: Sequence[float], pool_share: Sequence[float]
) -> go.Figure:
    """Share of each map's own cells that differ from shift 0, per shift: trace 0 the convolution, trace 1
    the pooled map. Shares, not counts: the pooled map has fewer cells, so its counts would look smaller."""
    fig = go.Figure()
    for share, name in ((conv_share, "convolution output"), (pool_share, "max pooled output")):
        fig.add_trace(
            go.Scatter(
                x=list(shifts),
                y=[float(v) for v in share],
                mode="lines+markers",
                name=name,
                hovertemplate="shift %{x}: %{y:.0%} of the cells changed<extra>" + name + "</extra>",
            )
        )
    fig.update_xaxes(title="shift (pixels)", dtick=1)
    fig.update_yaxes(title="share of the map's cells changed", range=[0, 1.05], tickformat=".0%")
    fig.update_layout(
        height=320, margin={"l": 10, "r": 10, "t": 30, "b": 10}, legend={"orientation": "h", "y": 1.15}
    )
    return fig


def maps_figure(maps: Mapping[str, np.ndarray]) -> go.Figure:
    """Several grids side by side, each titled with its name and size; one heatmap trace per grid, in order."""
    names = list(maps)
    fig = make_subplots(
        rows=1,
        cols=len(names),
        subplot_titles=[f"{n} {maps[n].shape[0]}×{maps[n].shape[1]}" for n in names],
        horizontal_spacing=0.04,
    )
    for i, name in enumerate(names, start=1):
        fig.add_trace(_heatmap(maps[name], "Viridis", name), row=1, col=i)
    _grid_axes(fig, len(names))
    tallest = max(m.shape[0] for m in maps.values())
    fig.update_layout(height=min(480, 140 + 36 * tallest), margin={"l": 10, "r": 10, "t": 80, "b": 10})
    return ink_figure(fig)


def upsample_figure(methods: Mapping[str, np.ndarray]) -> go.Figure:
    """The upsampled grids side by side (one heatmap trace per method, in the mapping's order)."""
    return maps_figure(methods)


def _box(r0: float, c0: float, r1: float, c1: float) -> tuple[list[float], list[float]]:
    """x, y of a closed rectangle around cells r0..r1, c0..c1 (cell centres at integers)."""
    return (
        [c0 - 0.5, c1 + 0.5, c1 + 0.5, c0 - 0.5, c0 - 0.5],
        [r0 - 0.5, r0 - 0.5, r1 + 0.5, r1 + 0.5, r0 - 0.5],
    )


def _number(v: float) -> str:
    return f"{v:.0f}" if float(v).is_integer() else f"{v:.2f}"


def _window_sentence(w: PoolWalkthrough, i: int, j: int) -> str:
    """'output (i, j) = max(…) = v': exactly the values the reduction uses, so the sentence checks out.

    Max pooling reads every tap outside the input as −∞. Average pooling reads padding as 0 and counts
    it only with count_include_pad; a ceil_mode window's cells past the padding are never counted.
    """
    h, wd = w.input.shape
    p = w.padding
    values = []
    for r, c in w.window_cells(i, j):
        if 0 <= r < h and 0 <= c < wd:
            values.append(_number(w.input[r, c]))
        elif w.kind == "max":
            values.append("−∞")
        elif w.count_include_pad and -p <= r < h + p and -p <= c < wd + p:
            values.append("0")
    name = "max" if w.kind == "max" else "mean"
    shown = ", ".join(values) if len(values) <= 16 else ", ".join(values[:15]) + ", …"
    return f"output ({i}, {j}) = {name}({shown}) = {_number(w.output[i, j])}"


def pool_animation_figure(w: PoolWalkthrough, frame_ms: int = 400, max_frames: int = 100) -> go.Figure:
    """The pooling window sliding over the padded input while the output fills in, as Plotly frames.

    Traces: 0 input, 1 padding, 2 a ring on each cell a tap reads, 3 window outline (dotted),
    4 winner ring (max; empty for average), 5 output background, 6 output so far (NaN = not yet),
    7 current output box. Frames update traces 2, 3, 4, 6, 7 and the title, which spells out the window's
    values and its result. Axis coordinates are the input's own (padding is negative or past the end).
    """
    h, wd = w.input.shape
    ho, wo = w.output.shape
    k, s, p, d = w.kernel_size, w.stride, w.padding, w.dilation
    span = d * (k - 1) + 1
    # Rows/columns shown: the padding plus any ceil_mode window that reaches past it.
    last_r = max(h - 1 + p, (ho - 1) * s - p + span - 1)
    last_c = max(wd - 1 + p, (wo - 1) * s - p + span - 1)
    rows, cols = np.arange(-p, last_r + 1), np.arange(-p, last_c + 1)
    inside = (rows[:, None] >= 0) & (rows[:, None] < h) & (cols[None, :] >= 0) & (cols[None, :] < wd)
    grid = np.full(inside.shape, np.nan, dtype=np.float32)
    grid[p : p + h, p : p + wd] = w.input
    padding_cells = ~inside & (rows[:, None] < h + p) & (cols[None, :] < wd + p)
    numbers = max(grid.shape) <= 24

    steps = [(i, j) for i in range(ho) for j in range(wo)]
    plan = frame_plan(len(steps), max_frames)
    winners = w.winners

    def window(i: int, j: int) -> tuple[list, list]:
        return ring_path(w.window_cells(i, j))

    def outline(i: int, j: int) -> tuple[list[float], list[float]]:
        r0, c0 = i * s - p, j * s - p
        return _box(r0, c0, r0 + span - 1, c0 + span - 1)

    def winner(i: int, j: int) -> tuple[list[int], list[int]]:
        if winners is None:
            return [], []
        r, c = (int(v) for v in winners[i, j])
        return [c], [r]

    def so_far(done: int) -> np.ndarray:
        z = np.full(ho * wo, np.nan, dtype=np.float32)
        z[:done] = w.output.ravel()[:done]
        return z.reshape(ho, wo)

    fig = make_subplots(
        rows=1,
        cols=2,
        column_widths=[grid.shape[1] + 1, wo + 1],
        horizontal_spacing=0.06,
        subplot_titles=(f"input {h}×{wd} (grey: padding)", f"{w.kind} pooled {ho}×{wo}"),
    )
    text_size = 15 if max(grid.shape) <= 12 else 12
    base = go.Heatmap(
        z=grid,
        x=cols,
        y=rows,
        colorscale="Blues",
        showscale=False,
        texttemplate=_fmt(w.input) if numbers else None,
        textfont={"size": text_size},
        xgap=1,
        ygap=1,
        hovertemplate="input row %{y}, col %{x}: %{z}<extra></extra>",
    )
    pad_text = "−∞" if w.kind == "max" else "0"
    pad = go.Heatmap(
        z=np.where(padding_cells, 1.0, np.nan).astype(np.float32),
        x=cols,
        y=rows,
        colorscale=[[0, PAD_GREY], [1, PAD_GREY]],
        showscale=False,
        text=np.where(padding_cells, pad_text, "").tolist(),  # a list: orjson writes no object arrays
        texttemplate="%{text}" if numbers else None,
        textfont={"size": text_size, "color": "#555"},
        xgap=1,
        ygap=1,
        hoverinfo="skip",
    )
    first = steps[0]
    ring_x, ring_y = window(*first)
    overlay = go.Scatter(x=ring_x, y=ring_y, mode="lines", line=RING, hoverinfo="skip")
    line_x, line_y = outline(*first)
    frame_line = go.Scatter(x=line_x, y=line_y, mode="lines", line=SPAN, hoverinfo="skip")
    wx, wy = winner(*first)
    ring = go.Scatter(
        x=wx,
        y=wy,
        mode="markers",
        marker={"symbol": "square-open", "size": 26, "color": WINNER, "line": {"width": 3}},
        hoverinfo="skip",
    )
    empty = go.Heatmap(
        z=np.zeros((ho, wo), dtype=np.float32),
        colorscale=[[0, EMPTY], [1, EMPTY]],
        showscale=False,
        xgap=1,
        ygap=1,
        hoverinfo="skip",
    )
    finite = w.output[np.isfinite(w.output)]
    out = go.Heatmap(
        z=so_far(1),
        colorscale="Oranges",
        zmin=float(finite.min()) if finite.size else 0.0,
        zmax=float(finite.max()) if finite.size else 1.0,
        showscale=False,
        texttemplate=_fmt(w.output) if max(ho, wo) <= 24 else None,
        textfont={"size": text_size},
        xgap=1,
        ygap=1,
        hovertemplate="output row %{y}, col %{x}: %{z}<extra></extra>",
    )
    bx, by = _box(first[0], first[1], first[0], first[1])
    out_box = go.Scatter(x=bx, y=by, mode="lines", line=RING, hoverinfo="skip")
    for trace, col in ((base, 1), (pad, 1), (overlay, 1), (frame_line, 1), (ring, 1), (empty, 2), (out, 2)):
        fig.add_trace(trace, row=1, col=col)
    fig.add_trace(out_box, row=1, col=2)
    if numbers:  # black or white numbers by cell, over every heatmap; the output's follow the frames
        fig.add_traces(ink_traces(fig.data[0], 0), rows=1, cols=1)
    out_ink = list(range(len(fig.data), len(fig.data) + 2)) if fig.data[6].texttemplate else []
    if out_ink:
        fig.add_traces(ink_traces(fig.data[6], 6), rows=1, cols=2)

    frames = []
    for number, done in enumerate(plan):
        i, j = steps[done - 1]
        tx, ty = window(i, j)
        lx, ly = outline(i, j)
        rx, ry = winner(i, j)
        ox, oy = _box(i, j, i, j)
        done_z = so_far(done)
        inks = (
            ink_split(done_z, fig.data[6].colorscale, fig.data[6].zmin, fig.data[6].zmax) if out_ink else ()
        )
        frames.append(
            # Built from arrays made here: skipping Plotly's per-property validation keeps a rerun fast.
            go.Frame(
                name=str(number),
                data=[
                    go.Scatter(x=tx, y=ty, _validate=False),
                    go.Scatter(x=lx, y=ly, _validate=False),
                    go.Scatter(x=rx, y=ry, _validate=False),
                    go.Heatmap(z=done_z, _validate=False),
                    go.Scatter(x=ox, y=oy, _validate=False),
                    *(go.Heatmap(z=z, _validate=False) for z in inks),
                ],
                traces=[2, 3, 4, 6, 7, *out_ink],
                layout={"title": {"text": _window_sentence(w, i, j)}},
                _validate=False,
            )
        )
    fig.frames = frames
    labels = [f"{steps[done - 1][0]},{steps[done - 1][1]}" for done in plan]
    fig.update_layout(
        title={"text": _window_sentence(w, *first), "x": 0.0, "xanchor": "left", "font": {"size": 16}},
        showlegend=False,
        updatemenus=[play_buttons(frame_ms, y=-0.06)],
        sliders=[scrubber(labels, "output cell (row, col): ", x=0.2, y=-0.02)],
    )
    n_rows = max(grid.shape[0], ho)
    cell_px = int(min(48, max(16, 520 // n_rows)))
    fig.update_annotations(yshift=30, font={"size": 15})
    fig.update_layout(
        height=int(min(900, max(300, n_rows * cell_px + 230))),
        margin={"l": 10, "r": 10, "t": 100, "b": 100},
        plot_bgcolor="white",
        font={"size": 14},
    )
    for col, (r0, c0, n_r, n_c) in enumerate(
        ((rows[0], cols[0], grid.shape[0], grid.shape[1]), (0, 0, ho, wo)), start=1
    ):
        fig.update_yaxes(
            range=[r0 - 0.5 + n_rows, r0 - 0.5],
            scaleanchor=f"x{'' if col == 1 else col}",
            constrain="domain",
            showgrid=False,
            zeroline=False,
            tickvals=list(range(r0, r0 + n_r)) if n_r <= 24 else None,
            row=1,
            col=col,
        )
        fig.update_xaxes(
            range=[c0 - 0.5, c0 - 0.5 + n_c],
            constrain="domain",
            showgrid=False,
            zeroline=False,
            side="top",
            tickvals=list(range(c0, c0 + n_c)) if n_c <= 24 else None,
            row=1,
            col=col,
        )
    return fig


def pool1d_figure(w: Pool1dWalkthrough) -> go.Figure:
    """A 1D signal (top row) and its pooled output (bottom row), each cell numbered; rings on max winners.

    Trace 0 the input row, trace 1 the output row, trace 2 (max only) the winner rings on the input.
    """
    n, m = w.input.size, w.output.size
    fig = make_subplots(
        rows=2,
        cols=1,
        subplot_titles=(f"signal, length {n}", f"{w.kind} pooled, length {m}"),
        vertical_spacing=0.25,
    )
    fig.add_trace(_heatmap(w.input[None, :], "Blues", "input"), row=1, col=1)
    fig.add_trace(_heatmap(w.output[None, :], "Oranges", "output"), row=2, col=1)
    if w.indices is not None:
        inside = (w.indices >= 0) & (w.indices < n)
        fig.add_trace(
            go.Scatter(
                x=w.indices[inside],
                y=np.zeros(int(inside.sum()), dtype=np.int64),
                mode="markers",
                marker={"symbol": "square-open", "size": 30, "color": WINNER, "line": {"width": 3}},
                text=[f"wins output {j}" for j in np.flatnonzero(inside)],
                hovertemplate="position %{x}: %{text}<extra></extra>",
                showlegend=False,
            ),
            row=1,
            col=1,
        )
    width = max(n, m)
    for row in (1, 2):
        fig.update_xaxes(range=[-0.5, width - 0.5], dtick=1, side="top", showgrid=False, row=row, col=1)
        fig.update_yaxes(showticklabels=False, showgrid=False, range=[0.5, -0.5], row=row, col=1)
    fig.update_annotations(yshift=26)  # row titles above the position numbers
    fig.update_layout(height=300, margin={"l": 10, "r": 10, "t": 80, "b": 10})
    return ink_figure(fig)
