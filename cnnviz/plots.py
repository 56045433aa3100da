"""Plotly figure builders: pure functions from arrays to `go.Figure`, no Streamlit.

Figures stay small on purpose (see the field notes on payloads): grids are at most a few dozen cells a
side, arrays are sent as float32, and the sliding-window animation updates only what moves (the window
overlay, the output filling in), never the static input.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from cnnviz.args import ConvGeometry
from cnnviz.explain import window_positions

__all__ = [
    "NUMBERS_MAX_CELLS",
    "frame_plan",
    "conv_walkthrough_figure",
    "signal_figure",
    "matrix_figure",
    "synced_images_figure",
]

NUMBERS_MAX_CELLS = 24  # a grid wider or taller than this shows colours only, no numbers

DIVERGING = "RdBu"
HIGHLIGHT = "rgba(255, 140, 0, 0.38)"
EMPTY = "#f1f2f4"
OUTLINE = "#ff7f0e"
PADDING_GREY = "#d9dce1"


def frame_plan(n_steps: int, max_frames: int = 100) -> list[int]:
    """For each animation frame, how many window steps are complete (the last frame completes all).

    At most `max_frames` frames: beyond that several outputs appear per frame, because Plotly slows to
    1-2 fps past a few hundred heatmap frames.
    """
    if n_steps <= 0:
        return []
    if n_steps <= max_frames:
        return list(range(1, n_steps + 1))
    per_frame = math.ceil(n_steps / max_frames)
    return [min(n_steps, i * per_frame) for i in range(1, math.ceil(n_steps / per_frame) + 1)]


def _fmt(values: np.ndarray) -> str:
    """A texttemplate that shows integers as integers and everything else with 2 decimals."""
    finite = values[np.isfinite(values)]
    if finite.size and np.allclose(finite, np.round(finite)):
        return "%{z:.0f}"
    return "%{z:.2f}"


def _heatmap(
    z: np.ndarray,
    *,
    numbers: bool,
    zmid: float | None,
    colorscale: str,
    showscale: bool = False,
    text_size: int = 14,
    name: str = "",
    hover: str = "",
) -> go.Heatmap:
    return go.Heatmap(
        z=z.astype(np.float32),
        colorscale=colorscale,
        zmid=zmid,
        showscale=showscale,
        texttemplate=_fmt(z) if numbers else None,
        textfont={"size": text_size},
        xgap=1,
        ygap=1,
        name=name,
        hovertemplate=hover or "row %{y}, col %{x}: %{z}<extra></extra>",
    )


def _rect(r0: float, c0: float, r1: float, c1: float) -> tuple[list[float], list[float]]:
    """x, y of a closed rectangle around cells r0..r1, c0..c1 (cell centres are integers)."""
    xs = [c0 - 0.5, c1 + 0.5, c1 + 0.5, c0 - 0.5, c0 - 0.5]
    ys = [r0 - 0.5, r0 - 0.5, r1 + 0.5, r1 + 0.5, r0 - 0.5]
    return xs, ys


def conv_walkthrough_figure(
    padded: np.ndarray,
    is_padding: np.ndarray,
    kernel: np.ndarray,
    output: np.ndarray,
    geometry: ConvGeometry,
    *,
    padding_offset: tuple[int, int],
    frame_ms: int = 400,
    max_frames: int = 100,
    selected: tuple[int, int] | None = None,
    animate: bool = True,
    cell_px: int | None = None,
) -> go.Figure:
    """Padded input, kernel and output side by side, with the window sliding over the input.

    `padded` (Hp, Wp) holds the input with its padding cells (flagged in `is_padding`), `kernel` (kh, kw),
    `output` (Ho, Wo). Input coordinates on the axes are the real input's (padding cells are negative or
    past the end). The animation is Plotly frames with a slider and play/pause, so scrubbing costs no
    server round trip. `selected` picks the output cell shown before playing (default: the first).
    """
    hp, wp = padded.shape
    ho, wo = output.shape
    kh, kw = kernel.shape
    top, left = padding_offset
    numbers = max(hp, wp) <= NUMBERS_MAX_CELLS
    text_size = 15 if max(hp, wp) <= 12 else 12
    limit = max(float(np.abs(padded).max(initial=0)), 1e-9)
    out_limit = max(float(np.abs(output).max(initial=0)), 1e-9)
    rows_in = np.arange(hp) - top
    cols_in = np.arange(wp) - left

    steps = [(i, j) for i in range(ho) for j in range(wo)]
    plan = frame_plan(len(steps), max_frames) if animate else []
    shown = selected if selected is not None else steps[0]

    def window_overlay(out_pos: tuple[int, int]) -> tuple[np.ndarray, tuple[list[float], list[float]]]:
        z = np.full((hp, wp), np.nan, dtype=np.float32)
        cells = [pos for _, pos in window_positions(out_pos, geometry)]
        for r, c in cells:
            z[r + top, c + left] = 1.0
        r0 = out_pos[0] * geometry.stride[0] - geometry.padding[0][0]
        c0 = out_pos[1] * geometry.stride[1] - geometry.padding[1][0]
        outline = _rect(r0, c0, r0 + geometry.span[0] - 1, c0 + geometry.span[1] - 1)
        return z, outline

    def partial_output(done: int) -> np.ndarray:
        z = np.full(ho * wo, np.nan, dtype=np.float32)
        z[:done] = output.ravel()[:done]
        return z.reshape(ho, wo)

    from plotly.subplots import make_subplots

    gap = 2
    fig = make_subplots(
        rows=1,
        cols=3,
        column_widths=[wp + gap, kw + gap, wo + gap],
        horizontal_spacing=0.04,
        subplot_titles=(
            f"input {hp - geometry.padding[0][0] - geometry.padding[0][1]}×"
            f"{wp - geometry.padding[1][0] - geometry.padding[1][1]} (grey: padding)",
            f"kernel {kh}×{kw}",
            f"output {ho}×{wo}",
        ),
    )
    overlay, outline = window_overlay(shown)
    done_initial = (steps.index(shown) + 1) if animate else ho * wo
    base_in = _heatmap(
        padded,
        numbers=numbers,
        zmid=0.0,
        colorscale=DIVERGING,
        text_size=text_size,
        hover="input row %{y}, col %{x}: %{z}<extra></extra>",
    )
    base_in.update(x=cols_in, y=rows_in, zmin=-limit, zmax=limit)
    pad_z = np.where(is_padding, 1.0, np.nan).astype(np.float32)
    pad_layer = go.Heatmap(
        z=pad_z,
        x=cols_in,
        y=rows_in,
        colorscale=[[0, PADDING_GREY], [1, PADDING_GREY]],
        showscale=False,
        text=np.where(is_padding, np.round(padded, 2).astype(str), ""),
        texttemplate="%{text}" if numbers else None,
        textfont={"size": text_size, "color": "#555"},
        xgap=1,
        ygap=1,
        hoverinfo="skip",
    )
    window = go.Heatmap(
        z=overlay,
        x=cols_in,
        y=rows_in,
        colorscale=[[0, HIGHLIGHT], [1, HIGHLIGHT]],
        showscale=False,
        hoverinfo="skip",
        xgap=1,
        ygap=1,
    )
    frame_line = go.Scatter(
        x=outline[0],
        y=outline[1],
        mode="lines",
        line={"color": OUTLINE, "width": 3},
        hoverinfo="skip",
        showlegend=False,
    )
    kern = _heatmap(
        kernel,
        numbers=max(kh, kw) <= NUMBERS_MAX_CELLS,
        zmid=0.0,
        colorscale="PuOr",
        text_size=text_size,
        hover="kernel row %{y}, col %{x}: %{z}<extra></extra>",
    )
    out = _heatmap(
        partial_output(done_initial),
        numbers=max(ho, wo) <= NUMBERS_MAX_CELLS,
        zmid=0.0,
        colorscale=DIVERGING,
        text_size=text_size,
        hover="output row %{y}, col %{x}: %{z}<extra></extra>",
    )
    out.update(zmin=-out_limit, zmax=out_limit)
    out_box = _rect(shown[0], shown[1], shown[0], shown[1])
    out_line = go.Scatter(
        x=out_box[0],
        y=out_box[1],
        mode="lines",
        line={"color": OUTLINE, "width": 3},
        hoverinfo="skip",
        showlegend=False,
    )
    empty = go.Heatmap(
        z=np.zeros((ho, wo), dtype=np.float32),
        colorscale=[[0, EMPTY], [1, EMPTY]],
        showscale=False,
        xgap=1,
        ygap=1,
        hoverinfo="skip",
    )
    for trace, col in (
        (base_in, 1),
        (pad_layer, 1),
        (window, 1),
        (frame_line, 1),
        (kern, 2),
        (empty, 3),
        (out, 3),
        (out_line, 3),
    ):
        fig.add_trace(trace, row=1, col=col)
    moving = [2, 3, 6, 7]  # trace indices the frames update

    if animate:
        frames = []
        for number, done in enumerate(plan):
            current = steps[done - 1]
            z, line = window_overlay(current)
            box = _rect(current[0], current[1], current[0], current[1])
            frames.append(
                # Frames are built from arrays this function made itself: skipping Plotly's per-property
                # validation halves the cost of a ~100-frame animation, the bulk of a control change.
                go.Frame(
                    name=str(number),
                    data=[
                        go.Heatmap(z=z, _validate=False),
                        go.Scatter(x=line[0], y=line[1], _validate=False),
                        go.Heatmap(z=partial_output(done), _validate=False),
                        go.Scatter(x=box[0], y=box[1], _validate=False),
                    ],
                    traces=moving,
                    _validate=False,
                )
            )
        fig.frames = frames
        slider_steps = [
            {
                "args": [
                    [str(n)],
                    {
                        "frame": {"duration": 0, "redraw": True},
                        "mode": "immediate",
                        "transition": {"duration": 0},
                    },
                ],
                "label": f"{steps[d - 1][0]},{steps[d - 1][1]}",
                "method": "animate",
            }
            for n, d in enumerate(plan)
        ]
        fig.update_layout(
            updatemenus=[
                {
                    "type": "buttons",
                    "direction": "left",
                    "x": 0.0,
                    "y": -0.08,
                    "xanchor": "left",
                    "yanchor": "top",
                    "showactive": False,
                    "buttons": [
                        {
                            "label": "▶ play",
                            "method": "animate",
                            "args": [
                                None,
                                {
                                    "frame": {"duration": frame_ms, "redraw": True},
                                    "fromcurrent": True,
                                    "transition": {"duration": 0},
                                },
                            ],
                        },
                        {
                            "label": "❚❚ pause",
                            "method": "animate",
                            "args": [
                                [None],
                                {
                                    "frame": {"duration": 0, "redraw": False},
                                    "mode": "immediate",
                                    "transition": {"duration": 0},
                                },
                            ],
                        },
                    ],
                }
            ],
            sliders=[
                {
                    "active": max(0, plan.index(done_initial)) if done_initial in plan else 0,
                    "x": 0.18,
                    "len": 0.82,
                    "y": -0.04,
                    "yanchor": "top",
                    "currentvalue": {"prefix": "output cell (row, col): ", "font": {"size": 14}},
                    "pad": {"t": 30},
                    "steps": slider_steps,
                }
            ],
        )

    rows = max(hp, kh, ho)
    cell_px = cell_px or int(min(52, max(16, 560 // rows)))
    fig.update_annotations(yshift=30, font={"size": 15})
    fig.update_layout(
        height=int(min(900, max(260, rows * cell_px + (170 if animate else 90)))),
        margin={"l": 10, "r": 10, "t": 70, "b": 10 if not animate else 90},
        plot_bgcolor="white",
        font={"size": 14},
    )
    # Same number of rows in every panel, so input, kernel and output cells are the same size.
    firsts = ((rows_in[0], cols_in[0]), (0, 0), (0, 0))
    sizes = ((hp, wp), (kh, kw), (ho, wo))
    for col, ((r0, c0), (height, width)) in enumerate(zip(firsts, sizes, strict=False), start=1):
        labelled = max(height, width) <= NUMBERS_MAX_CELLS
        fig.update_yaxes(
            range=[r0 - 0.5 + rows, r0 - 0.5],
            scaleanchor=f"x{'' if col == 1 else col}",
            constrain="domain",
            showgrid=False,
            zeroline=False,
            tickvals=list(range(r0, r0 + height)) if labelled else None,
            row=1,
            col=col,
        )
        fig.update_xaxes(
            range=[c0 - 0.5, c0 - 0.5 + width],
            constrain="domain",
            showgrid=False,
            zeroline=False,
            side="top",
            tickvals=list(range(c0, c0 + width)) if labelled else None,
            row=1,
            col=col,
        )
    return fig


def signal_figure(signals: Sequence[tuple[str, np.ndarray]], title: str = "") -> go.Figure:
    """1D signals as line-and-marker plots on one axis (input and output of a conv1d)."""
    fig = go.Figure()
    for name, y in signals:
        fig.add_trace(go.Scatter(y=np.asarray(y, dtype=np.float32), mode="lines+markers", name=name))
    fig.update_layout(
        title=title,
        height=320,
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        xaxis_title="position",
        font={"size": 14},
    )
    return fig


def matrix_figure(matrix: np.ndarray, title: str = "", numbers: bool | None = None) -> go.Figure:
    """A weight matrix as a grid: rows are outputs, columns inputs; zeros stay white, as in lecture 001."""
    rows, cols = matrix.shape
    numbers = max(rows, cols) <= 20 if numbers is None else numbers
    z = np.where(matrix == 0, np.nan, matrix).astype(np.float32)
    limit = max(float(np.nanmax(np.abs(z))) if np.isfinite(z).any() else 1.0, 1e-9)
    fig = go.Figure(
        go.Heatmap(
            z=z,
            colorscale="PuOr",
            zmid=0.0,
            zmin=-limit,
            zmax=limit,
            showscale=False,
            xgap=1,
            ygap=1,
            texttemplate=_fmt(matrix) if numbers else None,
            textfont={"size": 13},
            hovertemplate="output %{y}, input %{x}: %{z}<extra></extra>",
        )
    )
    cell = int(min(34, max(6, 620 // max(rows, cols, 1))))
    fig.update_yaxes(
        autorange="reversed",
        scaleanchor="x",
        constrain="domain",
        showgrid=False,
        zeroline=False,
        title="output (row)",
        tickvals=list(range(rows)) if rows <= 24 else None,
    )
    fig.update_xaxes(
        side="top",
        constrain="domain",
        showgrid=False,
        zeroline=False,
        title=None,
        tickvals=list(range(cols)) if cols <= 24 else None,
    )
    fig.update_layout(
        title={"text": f"{title}<br><sup>columns: inputs</sup>" if title else "columns: inputs"},
        height=int(min(760, max(220, rows * cell + 130))),
        margin={"l": 10, "r": 10, "t": 80, "b": 10},
        plot_bgcolor="#fafafa",
        font={"size": 14},
    )
    return fig


def synced_images_figure(
    left: bytes,
    right: bytes,
    left_extent: tuple[float, float, float, float],
    right_extent: tuple[float, float, float, float],
    titles: tuple[str, str],
) -> go.Figure:
    """Two encoded images (JPEG/PNG bytes) side by side whose zoom and pan move together.

    Each extent is (y0, x0, height, width) in the *input's* pixel coordinates, so a result pixel sits
    over the input pixels its window is centred on, whatever the stride, padding or preview scale.
    """
    import base64
    import io

    from PIL import Image
    from plotly.subplots import make_subplots

    fig = make_subplots(
        rows=1, cols=2, shared_xaxes=True, shared_yaxes=True, subplot_titles=titles, horizontal_spacing=0.02
    )
    for col, (data, (y0, x0, height, width)) in enumerate(((left, left_extent), (right, right_extent)), 1):
        with Image.open(io.BytesIO(data)) as probe:
            px_w, px_h = probe.size
        kind = "png" if data[:4] == b"\x89PNG" else "jpeg"
        fig.add_trace(
            go.Image(
                source=f"data:image/{kind};base64,{base64.b64encode(data).decode()}",
                x0=x0 + width / px_w / 2 - 0.5,
                y0=y0 + height / px_h / 2 - 0.5,
                dx=width / px_w,
                dy=height / px_h,
                hoverinfo="skip",
            ),
            row=1,
            col=col,
        )
    fig.update_xaxes(matches="x", showgrid=False, zeroline=False)
    fig.update_yaxes(matches="y", showgrid=False, zeroline=False, autorange="reversed", scaleanchor="x")
    fig.update_layout(height=520, margin={"l": 10, "r": 10, "t": 40, "b": 10}, dragmode="zoom")
    return fig
