"""Plotly figures for live training: curves, filters, confusion, feature maps, samples, runs compared.

Pure functions of plain data (a sequence of `Metrics`, numpy arrays): no Streamlit, no torch, so they can
be tested and reused from a notebook.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from cnnviz.plots.ink import ink_figure

if TYPE_CHECKING:  # pragma: no cover
    from cnnviz.training.trainer import Metrics


__all__ = [
    "accuracy_figure",
    "compare_figure",
    "confusion_figure",
    "curves_figure",
    "feature_maps_figure",
    "filters_figure",
    "loss_figure",
    "probabilities_figure",
    "samples_figure",
    "thinned",
]

MAX_POINTS = 2_000  # points a curve draws: a longer history is thinned evenly (first and last kept)
TRAIN_COLOR = "#1f77b4"
TEST_COLOR = "#ff7f0e"
_MARGIN = {"l": 10, "r": 10, "t": 40, "b": 10}
_BAND_ROWS = 4  # a 1-D filter's band, in heatmap rows (the gap above it for its title is one more)
_TITLED_MARGIN = {"l": 10, "r": 10, "t": 70, "b": 10}  # a figure title above a row of subplot titles


def _top_title(text: str) -> dict:
    """A figure title at the very top, clear of the subplot titles under it (whatever their type size)."""
    return {"text": text, "y": 1.0, "yref": "container", "yanchor": "top", "pad": {"t": 8}}


def thinned(metrics: Sequence[Metrics], limit: int = MAX_POINTS) -> Sequence[Metrics]:
    """At most `limit` points of a curve, evenly spaced, the first and the last kept: a figure's size and
    drawing time stay bounded however long a (loaded) run's history is."""
    if len(metrics) <= limit:
        return metrics
    keep = np.unique(np.linspace(0, len(metrics) - 1, limit).round().astype(int))
    return [metrics[i] for i in keep]


def curves_figure(metrics: Sequence[Metrics], kind: str = "loss", height: int = 300) -> go.Figure:
    """Train and test `kind` ("loss" or "accuracy") against epochs, one line each (see `thinned`)."""
    if kind not in ("loss", "accuracy"):
        raise ValueError(f"kind must be 'loss' or 'accuracy' (got {kind!r})")
    metrics = thinned(metrics)
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
    filters: np.ndarray,
    title: str = "First-layer filters",
    max_filters: int = 16,
    columns: int = 8,
    cell_px: int = 110,
) -> go.Figure:
    """A grid of small heatmaps, one per filter (or hidden unit), on one shared, symmetric colour scale.

    Blue is negative, red positive, white zero; only the first `max_filters` are drawn, each about
    `cell_px` across.
    """
    images = _filter_images(filters)[:max_filters]
    n = len(images)
    if n == 0:
        raise ValueError("no filters to draw")
    limit = float(np.abs(images).max()) or 1.0
    one_d = images.shape[1] == 1
    hover = "filter %{customdata[0]}<br>row %{customdata[1]}, col %{customdata[2]}: %{z:.3f}<extra></extra>"
    if one_d:
        # A 1-D filter (one row of weights) fills a band (its row drawn 4 times) instead of a strip one
        # weight high; the title gap above it stays one row.
        images = np.repeat(images, _BAND_ROWS, axis=1)
        hover = "filter %{customdata[0]}, weight %{customdata[2]}: %{z:.3f}<extra></extra>"
        row_px = cell_px
    else:
        row_px = max(30, min(cell_px, int(cell_px * images.shape[1] / images.shape[2])))
    return _image_grid(
        list(images),
        [str(i) for i in range(n)],
        columns=columns,
        colorscale="RdBu_r",
        zmin=-limit,
        zmax=limit,
        cell_px=row_px,
        title=title,
        square=not one_d,
        colorbar={"len": 0.8, "thickness": 10},
        hover=hover,
    )


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
    return ink_figure(fig)


def _mosaic(
    images: Sequence[np.ndarray], columns: int, gap: int = 1
) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """Equal-sized (h, w) images tiled into one float32 array with NaN gaps; and each tile's top-left."""
    n = len(images)
    h, w = np.asarray(images[0]).shape
    cols = max(1, min(columns, n))
    rows = math.ceil(n / cols)
    out = np.full((rows * (h + gap) - gap, cols * (w + gap) - gap), np.nan, dtype=np.float32)
    corners = []
    for i, image in enumerate(images):
        r, c = (i // cols) * (h + gap), (i % cols) * (w + gap)
        out[r : r + h, c : c + w] = image
        corners.append((r, c))
    return out, corners


def _image_grid(
    images: Sequence[np.ndarray],
    titles: Sequence[str],
    *,
    columns: int,
    colorscale: str,
    zmin: float,
    zmax: float,
    cell_px: int,
    title: str,
    title_size: int = 10,
    square: bool = True,
    colorbar: dict | None = None,
    hover: str | None = None,
) -> go.Figure:
    """Small (h, w) images in a grid on one colour scale, each titled (in `title_size` px type, with room
    for it above each image): one heatmap trace of the tiled images (NaN gaps), which builds and draws far
    faster than one subplot per image (a 16-filter grid: about a quarter of the browser's drawing time).

    `square`: image pixels drawn square (else each image stretches to its cell). `colorbar`: show the
    scale, so styled. `hover`: a hover template that may use `customdata` = (image, row, column)."""
    h, w = np.asarray(images[0]).shape
    rows = math.ceil(len(images) / max(1, min(columns, len(images))))
    gap_px = round(1.8 * title_size) if any(titles) else 4  # figure height a row's titles add
    # The gap between images in image pixels (each drawn about cell_px / h screen pixels): a title's room.
    gap = max(1, round(h * 1.4 * title_size / cell_px)) if any(titles) else 1
    z, corners = _mosaic(images, columns, gap=gap)
    z_rows = z.shape[0]
    extra: dict[str, Any] = {"hovertemplate": hover or "%{z:.3f}<extra></extra>"}
    if hover is not None:
        where = np.full((*z.shape, 3), -1, dtype=np.int32)  # (image, row, column) of each cell
        rows_in, cols_in = np.indices((h, w))
        for i, (r, c) in enumerate(corners):
            where[r : r + h, c : c + w] = np.stack([np.full((h, w), i), rows_in, cols_in], axis=-1)
        extra["customdata"] = where.tolist()  # plain lists: a browser test reads them back
    if colorbar is not None:
        extra["colorbar"] = colorbar
    fig = go.Figure(
        go.Heatmap(
            z=z,
            zmin=zmin,
            zmax=zmax,
            colorscale=colorscale,
            showscale=colorbar is not None,
            hoverongaps=False,
            **extra,
        )
    )
    for (r, c), text in zip(corners, titles, strict=True):
        fig.add_annotation(
            x=c + (w - 1) / 2,
            y=r - 0.5,
            text=text,
            showarrow=False,
            yanchor="bottom",
            font={"size": title_size},
        )
    fig.update_xaxes(visible=False, constrain="domain")
    # Row 0 on top; above it, room for the first row's titles (the gap between rows holds the others).
    fig.update_yaxes(
        visible=False, scaleanchor="x" if square else None, range=[z_rows - 0.5, -0.5 - max(h / 4, gap)]
    )
    fig.update_layout(
        title=title,
        height=60 + rows * (cell_px + gap_px),
        margin={"l": 10, "r": 10, "t": 60, "b": 10},
        plot_bgcolor="white",
    )
    return fig


def feature_maps_figure(
    values: np.ndarray, title: str, max_channels: int = 16, columns: int = 8, title_size: int = 10
) -> go.Figure:
    """One conv layer's output for one sample: (C, H, W) as a grid of channel heatmaps (the first
    `max_channels`), or (C, L) as a single heatmap with one row per channel. Colour: 0 dark, the layer's
    largest value bright (after a ReLU nothing is negative; otherwise the minimum is dark). Channel titles
    are `title_size` px."""
    v = np.asarray(values, dtype=np.float32)
    low, high = float(min(v.min(), 0.0)), float(v.max())
    high = high if high > low else low + 1.0
    if v.ndim == 2:  # (C, L)
        fig = go.Figure(
            go.Heatmap(
                z=v,
                zmin=low,
                zmax=high,
                colorscale="Viridis",
                colorbar={"thickness": 10},
                hovertemplate="channel %{y}, position %{x}: %{z:.3f}<extra></extra>",
            )
        )
        fig.update_xaxes(title_text="position")
        fig.update_yaxes(title_text="channel", autorange="reversed")
        fig.update_layout(
            title=title, height=120 + 14 * v.shape[0], margin={"l": 10, "r": 10, "t": 50, "b": 10}
        )
        return fig
    if v.ndim != 3:
        raise ValueError(f"feature maps are (C, H, W) or (C, L) (got shape {v.shape})")
    shown = v[:max_channels]
    aspect = v.shape[1] / v.shape[2]
    return _image_grid(
        list(shown),
        [f"ch {i}" for i in range(len(shown))],
        columns=columns,
        colorscale="Viridis",
        zmin=low,
        zmax=high,
        cell_px=max(40, min(100, int(100 * aspect))),
        title=title,
        title_size=title_size,
    )


def samples_figure(
    samples: Sequence[np.ndarray],
    titles: Sequence[str],
    title: str,
    columns: int = 4,
    cell_px: int = 110,
    title_size: int = 10,
) -> go.Figure:
    """Test samples in display layout: images (1, H, W) in grey (bright = ink) or signals (1, L) as lines,
    each about `cell_px` high under its title in `title_size` px type."""
    if len(samples) != len(titles):
        raise ValueError(f"{len(samples)} samples but {len(titles)} titles")
    if not samples:
        raise ValueError("no samples to draw")
    arrays = [np.asarray(x, dtype=np.float32) for x in samples]
    if arrays[0].ndim == 3:
        return _image_grid(
            [a[0] for a in arrays],
            titles,
            columns=columns,
            colorscale="Greys_r",
            zmin=0.0,
            zmax=1.0,
            cell_px=cell_px,
            title=title,
            title_size=title_size,
        )
    if arrays[0].ndim != 2:
        raise ValueError(f"samples are (1, H, W) or (1, L) (got shape {arrays[0].shape})")
    cols = max(1, min(columns, len(arrays)))
    rows = math.ceil(len(arrays) / cols)
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=list(titles), horizontal_spacing=0.04)
    for i, a in enumerate(arrays):
        fig.add_trace(
            go.Scatter(y=a[0], mode="lines", line={"color": TEST_COLOR}, showlegend=False),
            row=i // cols + 1,
            col=i % cols + 1,
        )
    fig.update_xaxes(showticklabels=False)
    fig.update_layout(title=_top_title(title), height=70 + rows * (cell_px + 40), margin=_TITLED_MARGIN)
    fig.update_annotations(font_size=title_size)
    return fig


def probabilities_figure(probabilities: np.ndarray, class_names: Sequence[str], title: str) -> go.Figure:
    """The model's class probabilities (K,) as horizontal bars, the most likely class highlighted."""
    p = np.asarray(probabilities, dtype=np.float64)
    names = [str(c) for c in class_names]
    if p.ndim != 1 or len(p) != len(names):
        raise ValueError(f"{len(names)} class names but probabilities of shape {p.shape}")
    best = int(np.argmax(p))
    colors = [TEST_COLOR if i == best else "#9aa5b1" for i in range(len(p))]
    fig = go.Figure(
        go.Bar(
            x=100 * p,
            y=names,
            orientation="h",
            marker_color=colors,
            texttemplate="%{x:.1f} %",
            textposition="outside",
            hovertemplate="%{y}: %{x:.2f} %<extra></extra>",
        )
    )
    fig.update_xaxes(title_text="probability (%)", range=[0, 115])
    fig.update_yaxes(type="category", autorange="reversed")
    fig.update_layout(title=title, height=90 + 24 * len(names), margin={"l": 10, "r": 10, "t": 50, "b": 10})
    return fig


def compare_figure(curves: Sequence[tuple[str, Sequence[Metrics]]], height: int = 340) -> go.Figure:
    """Several runs' test accuracy (left) and test loss (right) against epochs, one colour per run."""
    fig = make_subplots(
        rows=1, cols=2, subplot_titles=["Test accuracy (%)", "Test loss"], horizontal_spacing=0.08
    )
    palette = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf")
    for i, (label, metrics) in enumerate(curves):
        metrics = thinned(metrics)
        color = palette[i % len(palette)]
        epochs = [m.epoch for m in metrics]
        fig.add_trace(
            go.Scatter(
                x=epochs,
                y=[100 * m.test_acc for m in metrics],
                name=label,
                legendgroup=label,
                mode="lines",
                line={"color": color},
                hovertemplate=f"{label}<br>%{{y:.1f}} % at epoch %{{x:.2f}}<extra></extra>",
            ),
            row=1,
            col=1,
        )
        fig.add_trace(
            go.Scatter(
                x=epochs,
                y=[m.test_loss for m in metrics],
                name=label,
                legendgroup=label,
                showlegend=False,
                mode="lines",
                line={"color": color},
                hovertemplate=f"{label}<br>%{{y:.4f}} at epoch %{{x:.2f}}<extra></extra>",
            ),
            row=1,
            col=2,
        )
    fig.update_xaxes(title_text="epoch", rangemode="tozero")
    fig.update_yaxes(range=[0, 100], row=1, col=1)
    fig.update_layout(
        height=height,
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        legend={"orientation": "h", "yanchor": "top", "y": -0.2, "xanchor": "left", "x": 0.0},
    )
    return fig
