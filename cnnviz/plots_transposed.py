"""Plotly figures for the transposed-convolution page: the scatter animation and the "gaps" grid.

The animation is built once as Plotly frames (play, pause, a scrubber) and updates only what moves:
the marker on the input cell, that cell's stamp and the running sum. Grids are float32, and small.
Canvas axes use output coordinates: the cells that `padding` crops sit at negative indices or past the end.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go  # noqa: TID251 - a figure module
from plotly.subplots import make_subplots  # noqa: TID251

from cnnviz.transposed import (
    CELL_INPUT,
    CELL_INSERTED,
    CELL_OUTPUT_PADDING,
    CELL_PADDING,
    GapsView,
    TransposedView,
)

__all__ = ["KIND_COLOURS", "KIND_NAMES", "gaps_figure", "scatter_animation"]

NUMBERS_MAX = 24
OUTLINE = "#ff7f0e"
EMPTY = "#f1f2f4"
KIND_NAMES = {
    CELL_INPUT: "input cell",
    CELL_INSERTED: "zero inserted by the stride",
    CELL_PADDING: "zero padding d(k-1)-p",
    CELL_OUTPUT_PADDING: "zero from output_padding",
}
KIND_COLOURS = {
    CELL_INPUT: "#8fb8e0",
    CELL_INSERTED: "#ffe08a",
    CELL_PADDING: "#d9dce1",
    CELL_OUTPUT_PADDING: "#d7b8f0",
}


def _fmt(values: np.ndarray) -> str:
    finite = values[np.isfinite(values)]
    if finite.size and np.allclose(finite, np.round(finite)):
        return "%{z:.0f}"
    return "%{z:.2f}"


def _heat(z: np.ndarray, x: np.ndarray, y: np.ndarray, scale: str, limit: float, numbers: bool, name: str):
    return go.Heatmap(
        z=np.asarray(z, dtype=np.float32),
        x=x,
        y=y,
        colorscale=scale,
        zmid=0.0,
        zmin=-limit,
        zmax=limit,
        showscale=False,
        xgap=1,
        ygap=1,
        texttemplate=_fmt(np.asarray(z)) if numbers else None,
        textfont={"size": 13},
        hovertemplate=f"{name} row %{{y}}, col %{{x}}: %{{z}}<extra></extra>",
    )


def _rect(r0: float, c0: float, r1: float, c1: float) -> tuple[list[float], list[float]]:
    return [c0 - 0.5, c1 + 0.5, c1 + 0.5, c0 - 0.5, c0 - 0.5], [
        r0 - 0.5,
        r0 - 0.5,
        r1 + 0.5,
        r1 + 0.5,
        r0 - 0.5,
    ]


def _line(xs: list[float], ys: list[float], colour: str = OUTLINE, dash: str = "solid") -> go.Scatter:
    return go.Scatter(
        x=xs,
        y=ys,
        mode="lines",
        line={"color": colour, "width": 3, "dash": dash},
        hoverinfo="skip",
        showlegend=False,
    )


def scatter_animation(view: TransposedView, sums: np.ndarray, frame_ms: int = 500) -> go.Figure:
    """Input, the current cell's stamp, and the running sum; one Plotly frame per input cell.

    `sums` is `cnnviz.transposed.partial_sums(view)`. Traces: 0 input, 1 current-cell box, 2 empty canvas,
    3 stamp, 4 empty canvas, 5 running sum, 6 output box (the crop). Frames update traces 1, 3 and 5.
    """
    h, w = view.input.shape
    kh, kw = view.kernel.shape
    ch, cw = view.canvas_shape
    ho, wo = view.output.shape
    p, s, d = view.padding, view.stride, view.dilation
    canvas_rows, canvas_cols = np.arange(ch) - p, np.arange(cw) - p
    numbers = max(ch, cw) <= NUMBERS_MAX
    in_limit = max(float(np.abs(view.input).max(initial=0)), 1e-9)
    stamps = np.diff(sums, axis=0)
    stamp_limit = max(float(np.abs(stamps).max(initial=0)), 1e-9)
    sum_limit = max(float(np.abs(sums).max(initial=0)), 1e-9)

    def stamp_z(n: int) -> np.ndarray:
        i, j = divmod(n, w)
        z = np.full((ch, cw), np.nan, dtype=np.float32)
        z[i * s : i * s + (kh - 1) * d + 1 : d, j * s : j * s + (kw - 1) * d + 1 : d] = stamps[n][
            i * s : i * s + (kh - 1) * d + 1 : d, j * s : j * s + (kw - 1) * d + 1 : d
        ]
        return z

    fig = make_subplots(
        rows=1,
        cols=3,
        column_widths=[w + 2, cw + 2, cw + 2],
        horizontal_spacing=0.05,
        subplot_titles=(
            f"input {h}×{w}",
            "this cell × kernel",
            f"running sum (box: the {ho}×{wo} output)",
        ),
    )
    cell = _rect(0, 0, 0, 0)
    fig.add_trace(
        _heat(view.input, np.arange(w), np.arange(h), "RdBu", in_limit, True, "input"), row=1, col=1
    )
    fig.add_trace(_line(*cell), row=1, col=1)
    for col, z, limit, name in ((2, stamp_z(0), stamp_limit, "stamp"), (3, sums[1], sum_limit, "sum")):
        empty = go.Heatmap(
            z=np.zeros((ch, cw), dtype=np.float32),
            x=canvas_cols,
            y=canvas_rows,
            colorscale=[[0, EMPTY], [1, EMPTY]],
            showscale=False,
            xgap=1,
            ygap=1,
            hoverinfo="skip",
        )
        fig.add_trace(empty, row=1, col=col)
        fig.add_trace(
            _heat(z, canvas_cols, canvas_rows, "PuOr" if col == 2 else "RdBu", limit, numbers, name),
            row=1,
            col=col,
        )
    fig.add_trace(_line(*_rect(0, 0, ho - 1, wo - 1), "#111418", "dash"), row=1, col=3)

    frames = []
    labels = []
    for n in range(h * w):
        i, j = divmod(n, w)
        box = _rect(i, j, i, j)
        frames.append(
            go.Frame(
                name=str(n),
                data=[
                    go.Scatter(x=box[0], y=box[1], _validate=False),
                    go.Heatmap(z=stamp_z(n), _validate=False),
                    go.Heatmap(z=sums[n + 1].astype(np.float32), _validate=False),
                ],
                traces=[1, 3, 5],
                _validate=False,
            )
        )
        labels.append(f"{i},{j}")
    fig.frames = frames
    still = {"frame": {"duration": 0, "redraw": True}, "mode": "immediate", "transition": {"duration": 0}}
    fig.update_layout(
        updatemenus=[
            {
                "type": "buttons",
                "direction": "left",
                "x": 0.0,
                "y": -0.06,
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
                        "args": [[None], {**still, "frame": {"duration": 0, "redraw": False}}],
                    },
                ],
            }
        ],
        sliders=[
            {
                "active": 0,
                "x": 0.18,
                "len": 0.82,
                "y": -0.02,
                "yanchor": "top",
                "currentvalue": {"prefix": "input cell (row, col): ", "font": {"size": 14}},
                "pad": {"t": 30},
                "steps": [
                    {"args": [[str(n)], still], "label": label, "method": "animate"}
                    for n, label in enumerate(labels)
                ],
            }
        ],
    )
    rows = max(h, ch)
    cell_px = int(min(44, max(14, 520 // rows)))
    for col, (r0, c0, height, width) in enumerate(
        ((0, 0, h, w), (-p, -p, ch, cw), (-p, -p, ch, cw)), start=1
    ):
        fig.update_yaxes(
            range=[r0 - 0.5 + rows, r0 - 0.5],
            scaleanchor=f"x{'' if col == 1 else col}",
            constrain="domain",
            showgrid=False,
            zeroline=False,
            dtick=1 if height <= NUMBERS_MAX else None,
            row=1,
            col=col,
        )
        fig.update_xaxes(
            range=[c0 - 0.5, c0 - 0.5 + width],
            constrain="domain",
            showgrid=False,
            zeroline=False,
            side="top",
            dtick=1 if width <= NUMBERS_MAX else None,
            row=1,
            col=col,
        )
    fig.update_annotations(yshift=26, font={"size": 15})
    fig.update_layout(
        height=int(min(900, max(300, rows * cell_px + 190))),
        margin={"l": 10, "r": 10, "t": 70, "b": 90},
        plot_bgcolor="white",
        font={"size": 14},
        showlegend=False,
    )
    return fig


def gaps_figure(gaps: GapsView, view: TransposedView) -> go.Figure:
    """The equivalent direct convolution: gapped, padded input (coloured by what each cell is), the flipped
    kernel, and the output. Trace 0 the gapped grid (z = CELL_* kind, text = value), 1 the flipped kernel,
    2 the output, then one legend entry per kind."""
    gh, gw = gaps.gapped.shape
    kh, kw = gaps.flipped.shape
    ho, wo = gaps.output.shape
    colours = [KIND_COLOURS[k] for k in (CELL_INPUT, CELL_INSERTED, CELL_PADDING, CELL_OUTPUT_PADDING)]
    scale = []
    for i, colour in enumerate(colours):
        scale += [[i / 4, colour], [(i + 1) / 4, colour]]
    numbers = max(gh, gw) <= NUMBERS_MAX * 2
    text = np.where(
        np.isclose(gaps.gapped, np.round(gaps.gapped)),
        np.round(gaps.gapped).astype(int).astype(str),
        np.round(gaps.gapped, 2).astype(str),
    )
    fig = make_subplots(
        rows=1,
        cols=3,
        column_widths=[gw + 2, kw + 2, wo + 2],
        horizontal_spacing=0.05,
        subplot_titles=(
            f"gapped and padded input {gh}×{gw}",
            f"kernel flipped {kh}×{kw}",
            f"output {ho}×{wo}",
        ),
    )
    fig.add_trace(
        go.Heatmap(
            z=gaps.kinds.astype(np.float32),
            colorscale=scale,
            zmin=-0.5,
            zmax=3.5,
            showscale=False,
            xgap=1,
            ygap=1,
            text=text,
            texttemplate="%{text}" if numbers else None,
            textfont={"size": 12},
            hovertemplate="row %{y}, col %{x}: %{text}<extra></extra>",
        ),
        row=1,
        col=1,
    )
    k_limit = max(float(np.abs(gaps.flipped).max(initial=0)), 1e-9)
    o_limit = max(float(np.abs(gaps.output).max(initial=0)), 1e-9)
    fig.add_trace(
        _heat(gaps.flipped, np.arange(kw), np.arange(kh), "PuOr", k_limit, True, "flipped kernel"),
        row=1,
        col=2,
    )
    fig.add_trace(
        _heat(
            gaps.output, np.arange(wo), np.arange(ho), "RdBu", o_limit, max(ho, wo) <= NUMBERS_MAX, "output"
        ),
        row=1,
        col=3,
    )
    present = set(np.unique(gaps.kinds).tolist())
    for kind, name in KIND_NAMES.items():
        if kind in present:
            fig.add_trace(
                go.Scatter(
                    x=[None],
                    y=[None],
                    mode="markers",
                    marker={"symbol": "square", "size": 16, "color": KIND_COLOURS[kind]},
                    name=name,
                )
            )
    rows = max(gh, kh, ho)
    cell_px = int(min(40, max(12, 560 // rows)))
    for col, (_height, width) in enumerate(((gh, gw), (kh, kw), (ho, wo)), start=1):
        fig.update_yaxes(
            range=[rows - 0.5, -0.5],
            scaleanchor=f"x{'' if col == 1 else col}",
            constrain="domain",
            showgrid=False,
            zeroline=False,
            showticklabels=False,
            row=1,
            col=col,
        )
        fig.update_xaxes(
            range=[-0.5, width - 0.5],
            constrain="domain",
            showgrid=False,
            zeroline=False,
            showticklabels=False,
            row=1,
            col=col,
        )
    fig.update_annotations(font={"size": 15})
    fig.update_layout(
        height=int(min(900, max(280, rows * cell_px + 140))),
        margin={"l": 10, "r": 10, "t": 50, "b": 10},
        plot_bgcolor="white",
        font={"size": 14},
        legend={"orientation": "h", "y": -0.02, "yanchor": "top"},
    )
    return fig
