"""Plotly figures for the pooling page: input and output grids with the max winners, the shift demo, upsampling."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

__all__ = ["invariance_figure", "maps_figure", "pool_figure", "upsample_figure"]


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
    for i in range(1, n_cols + 1):
        fig.update_yaxes(autorange="reversed", scaleanchor=f"x{i if i > 1 else ''}", dtick=1, row=1, col=i)
        fig.update_xaxes(side="top", dtick=1, row=1, col=i)


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
    fig.update_layout(height=min(520, 140 + 40 * x.shape[0]), margin={"l": 10, "r": 10, "t": 60, "b": 10})
    return fig


def invariance_figure(
    shifts: Sequence[int], conv_changed: Sequence[int], pool_changed: Sequence[int]
) -> go.Figure:
    """Cells that differ from shift 0, per shift: trace 0 the convolution, trace 1 the pooled map."""
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(x=list(shifts), y=list(conv_changed), mode="lines+markers", name="convolution output")
    )
    fig.add_trace(
        go.Scatter(x=list(shifts), y=list(pool_changed), mode="lines+markers", name="max pooled output")
    )
    fig.update_xaxes(title="shift (pixels)", dtick=1)
    fig.update_yaxes(title="cells changed vs shift 0", rangemode="tozero")
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
    fig.update_layout(height=min(480, 140 + 36 * tallest), margin={"l": 10, "r": 10, "t": 60, "b": 10})
    return fig


def upsample_figure(methods: Mapping[str, np.ndarray]) -> go.Figure:
    """The upsampled grids side by side (one heatmap trace per method, in the mapping's order)."""
    return maps_figure(methods)
