"""The image-kernels page's cached views: the filtered photo, its previews, crops and histograms.

Imported once and shared read-only between reruns and sessions; `cnnviz.ui.shared` says why (a
12-megapixel result is 36 MB that a data cache would copy on every rerun).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from cnnviz.images.kernels import (
    ImageKernel,
    apply_image_kernel,
    custom_kernel,
    difference_image,
    histograms,
    image_kernel,
    result_extent,
)
from cnnviz.images.loading import encode_png, encode_preview, preview
from cnnviz.plots import PhotoPanel, photo_panels_figure, synced_images_figure
from cnnviz.ui.shared import shared

__all__ = [
    "CUSTOM",
    "OVERVIEW_SIDE",
    "build_kernel",
    "crop_view",
    "filtered",
    "histogram_view",
    "original_view",
    "overview",
    "png_download",
    "synced_view",
]

CUSTOM = "custom (type your own)"
OVERVIEW_SIDE = 512  # pixels: the long side of the whole picture next to the 1:1 crops


def build_kernel(
    name: str, size: int, sigma: float | None, custom: tuple[tuple[float, ...], ...]
) -> ImageKernel:
    return custom_kernel(np.array(custom)) if name == CUSTOM else image_kernel(name, size, sigma)


@st.cache_resource(max_entries=4, show_spinner=False)
def original_view(_image: np.ndarray, image_key: str) -> tuple[np.ndarray, bytes, dict[str, np.ndarray]]:
    """The original's preview (array and encoded bytes) and its histograms, once per image."""
    small = preview(_image)
    return shared((small, encode_preview(small), histograms(small)))


@st.cache_resource(max_entries=6, show_spinner="Filtering…")
def filtered(_image: np.ndarray, image_key: str, kernel_args: tuple, options: tuple) -> dict:
    """Filter once per (image, kernel, options); reruns for other widgets reuse it: the uint8 result, its
    note and backend, display bytes, difference image and histograms. Shared and read-only, not copied per
    rerun as a data cache would (a 12-megapixel result is 36 MB). The float result is left out: it is
    large, and the pixel inspector recomputes its few taps."""
    kernel = build_kernel(*kernel_args)
    result = apply_image_kernel(_image, kernel, **dict(options))
    small = preview(result.display)
    diff = difference_image(original_view(_image, image_key)[0], small)
    return shared(
        {
            "display": result.display,
            "note": result.note,
            "backend": result.backend,
            "preview": encode_preview(small),
            "difference": None if diff is None else encode_preview(diff[0]),
            "largest_change": 0 if diff is None else diff[1],
            "hist": histograms(small),
        }
    )


@st.cache_resource(max_entries=4, show_spinner=False)
def synced_view(
    original: bytes,
    result: bytes,
    size: tuple[int, int],
    out: tuple[int, int],
    geometry: tuple,
    titles: tuple[str, str],
) -> dict:
    """Original and result in one figure with shared axes: zooming one zooms the other (a JSON-ready dict)."""
    extent = result_extent(size, out, *geometry)
    return synced_images_figure(original, result, (0, 0, *size), extent, titles).to_dict()


@st.cache_resource(max_entries=4, show_spinner=False)
def overview(_image: np.ndarray, image_key: str) -> bytes:
    """The whole picture, small, next to the 1:1 crops (once per image)."""
    return encode_preview(preview(_image, OVERVIEW_SIDE))


# The crop panels and the histograms are cached as JSON-ready dicts (drawn as `PrebuiltFigure`s): built as
# go.Figures on every run, their thousands of pixel-picker points were validated and copied by Plotly each time.
@st.cache_resource(max_entries=16, show_spinner=False)
def crop_view(_panels: Callable[[], list[PhotoPanel]], view: tuple) -> dict:
    """The whole picture and the 1:1 crops, clickable; `view` is everything `_panels()` draws them from
    (called only on a miss: encoding the crops is part of the work a hit skips)."""
    return photo_panels_figure(_panels()).to_dict()


HIST_COLOURS = {"R": "#d62728", "G": "#2ca02c", "B": "#1f77b4", "grey": "#444444"}


@st.cache_resource(max_entries=6, show_spinner=False)
def histogram_view(_image: np.ndarray, image_key: str, kernel_args: tuple, options: tuple) -> dict:
    """The original's and the result's histograms (64 bins per channel), dotted and solid."""
    centres = np.arange(64) * 4 + 2
    fig = go.Figure()
    for title, hist, dash in (
        ("original", original_view(_image, image_key)[2], "dot"),
        ("result", filtered(_image, image_key, kernel_args, options)["hist"], "solid"),
    ):
        for channel, counts in hist.items():
            fig.add_trace(
                go.Scatter(
                    x=centres,
                    y=counts,
                    mode="lines",
                    name=f"{title} {channel}",
                    line={"color": HIST_COLOURS[channel], "dash": dash, "width": 2},
                )
            )
    fig.update_layout(
        height=320,
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        title="Histograms (64 bins)",
        xaxis_title="value (0..255)",
        yaxis_title="pixels",
        legend={"font": {"size": 12}},
    )
    return fig.to_dict()


@st.cache_data(max_entries=2, show_spinner=False)
def png_download(_display: np.ndarray, cache_key: tuple) -> bytes:
    return encode_png(_display)
