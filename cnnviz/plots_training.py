"""Plotly figures for live training: learning curves, first-layer filters, confusion matrix.

Pure functions of plain data (a sequence of `Metrics`, numpy arrays): no Streamlit, no torch, so they can
be tested and reused from a notebook.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from cnnviz.training import Metrics

__all__ = [
    "accuracy_figure",
    "confusion_figure",
    "curves_figure",
    "filters_figure",
    "loss_figure",
]

TRAIN_COLOR = "#1f77b4"
TEST_COLOR = "#ff7f0e"
_MARGIN = {"l": 10, "r": 10, "t": 40, "b": 10}


def curves_figure(metrics: Sequence[Metrics], kind: str = "loss", height: int = 300) -> go.Figure:
    """Train and test `kind` ("loss" or "accuracy") against epochs, one line each."""
    if kind not in ("loss", "accuracy"):
        raise ValueError(f"kind must be 'loss' or 'accuracy' (got {kind!r})")
    epochs = [m.epoch for m in metrics]
    if kind == "loss":
        train, test = [m.train_loss for m in metrics], [m.test_loss for m in metrics]
        title, axis, fmt = "Loss (cross-entropy)", "loss", ".4f"
    else:
        train = [100 * m.train_acc for m in metrics]
        test = [100 * m.test_acc for m in metrics]
        title, axis, fmt = "Accuracy", "accuracy (%)", ".1f"
    fig = go.Figure()
    for name, values, color in (("train", train, TRAIN_COLOR), ("test", test, TEST_COLOR)):
        fig.add_trace(
            go.Scatter(
                x=epochs,
                y=values,
                name=name,
                mode="lines+markers" if len(epochs) <= 30 else "lines",
                line={"color": color},
                hovertemplate=f"{name}: %{{y:{fmt}}} at epoch %{{x:.2f}}<extra></extra>",
            )
        )
    fig.update_layout(
        title=title,
        height=height,
        margin=_MARGIN,
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "xanchor": "right", "x": 1.0},
    )
    fig.update_xaxes(title_text="epoch", rangemode="tozero")
    fig.update_yaxes(title_text=axis)
    if kind == "accuracy":
        fig.update_yaxes(range=[0, 100])
    return fig


def loss_figure(metrics: Sequence[Metrics], height: int = 300) -> go.Figure:
    """Train and test loss against epochs."""
    return curves_figure(metrics, "loss", height)


def accuracy_figure(metrics: Sequence[Metrics], height: int = 300) -> go.Figure:
    """Train and test accuracy (%) against epochs."""
    return curves_figure(metrics, "accuracy", height)


def _filter_images(filters: np.ndarray) -> np.ndarray:
    """(N, rows, cols) images from first-layer weights: input channel 0; a 1-D filter becomes one row."""
    w = np.asarray(filters, dtype=np.float32)
    if w.ndim == 4:  # (N, C, kH, kW)
        return w[:, 0]
    if w.ndim == 3:  # (N, C, k)
        return w[:, 0][:, None, :]
    raise ValueError(f"filters must be (N, C, kH, kW) or (N, C, k) (got shape {w.shape})")


def filters_figure(
    filters: np.ndarray, title: str = "First-layer filters", max_filters: int = 16, columns: int = 8
) -> go.Figure:
    """A grid of small heatmaps, one per filter (or hidden unit), on one shared, symmetric colour scale.

    Blue is negative, red positive, white zero; only the first `max_filters` are drawn.
    """
    images = _filter_images(filters)[:max_filters]
    n = len(images)
    if n == 0:
        raise ValueError("no filters to draw")
    cols = max(1, min(columns, n))
    rows = math.ceil(n / cols)
    limit = float(np.abs(images).max()) or 1.0
    fig = make_subplots(
        rows=rows,
        cols=cols,
        subplot_titles=[str(i) for i in range(n)],
        horizontal_spacing=0.02,
        vertical_spacing=0.08 if rows > 1 else 0.0,
    )
    for i, image in enumerate(images):
        fig.add_trace(
            go.Heatmap(
                z=image,
                zmin=-limit,
                zmax=limit,
                zmid=0,
                colorscale="RdBu_r",
                showscale=i == 0,
                colorbar={"len": 0.8, "thickness": 10},
                hovertemplate=f"filter {i}<br>row %{{y}}, col %{{x}}: %{{z:.3f}}<extra></extra>",
            ),
            row=i // cols + 1,
            col=i % cols + 1,
        )
    fig.update_xaxes(showticklabels=False, showgrid=False, zeroline=False)
    fig.update_yaxes(showticklabels=False, showgrid=False, zeroline=False, autorange="reversed")
    for i in range(n):  # square cells: each subplot's y axis keeps its x axis's scale
        suffix = "" if i == 0 else str(i + 1)
        fig.layout[f"yaxis{suffix}"].scaleanchor = f"x{suffix}"
    aspect = images.shape[1] / images.shape[2]
    row_px = max(30, min(110, int(110 * aspect)))
    fig.update_layout(
        title=title, height=60 + rows * (row_px + 25), margin={"l": 10, "r": 10, "t": 60, "b": 10}
    )
    fig.update_annotations(font_size=10)
    return fig


def confusion_figure(
    confusion: np.ndarray, class_names: Sequence[str] | None = None, title: str = "Confusion matrix (test)"
) -> go.Figure:
    """Counts of true class (rows) against predicted class (columns), with the counts written in."""
    counts = np.asarray(confusion)
    if counts.ndim != 2 or counts.shape[0] != counts.shape[1]:
        raise ValueError(f"a confusion matrix is square (got shape {counts.shape})")
    k = counts.shape[0]
    names = [str(c) for c in class_names] if class_names is not None else [str(i) for i in range(k)]
    if len(names) != k:
        raise ValueError(f"{k} classes but {len(names)} class names")
    fig = go.Figure(
        go.Heatmap(
            z=counts.astype(np.int32),
            x=names,
            y=names,
            colorscale="Blues",
            showscale=False,
            xgap=1,
            ygap=1,
            texttemplate="%{z}",
            hovertemplate="true %{y}, predicted %{x}: %{z}<extra></extra>",
        )
    )
    fig.update_xaxes(title_text="predicted", type="category")
    fig.update_yaxes(title_text="true", type="category", autorange="reversed", scaleanchor="x")
    fig.update_layout(title=title, height=140 + 32 * k, margin={"l": 10, "r": 10, "t": 40, "b": 10})
    return fig
