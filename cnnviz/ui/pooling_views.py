"""The pooling page's cached views, on their small inputs (the grid and the pooling settings, not the
results), so a control change rebuilds only the section it touches: walkthroughs, figures as JSON-ready
dicts (drawn as `PrebuiltFigure`s), tables and shrunk pictures. Shared read-only, in a module imported
once: see `cnnviz.ui.shared`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from cnnviz import (
    ALIASING_PATTERNS,
    MAX_PICTURE_SIDE,
    Pool1dWalkthrough,
    PoolWalkthrough,
    ShiftResult,
    UpsampleResult,
    downsample_compare,
    encode_png,
    enlarge_nearest,
    input_pattern,
    picture_input,
    pool1d_walkthrough,
    pool_walkthrough,
    shift_invariance,
    to_uint8,
    upsample_compare,
)
from cnnviz.plots import (
    invariance_figure,
    maps_figure,
    pool1d_figure,
    pool_animation_figure,
    pool_figure,
    pool_hover_spec,
    upsample_figure,
)
from cnnviz.ui.shared import shared

__all__ = [
    "animation",
    "invariance",
    "invariance_table",
    "invariance_view",
    "pool_views",
    "shift_maps",
    "shrunk",
    "upsample_views",
    "upsampled",
    "view_1d",
    "walkthrough",
    "walkthrough_1d",
]


@st.cache_resource(max_entries=64, show_spinner=False)
def walkthrough(x: np.ndarray, pooling: dict) -> PoolWalkthrough:
    return shared(pool_walkthrough(x, **pooling))


@st.cache_resource(max_entries=32, show_spinner=False)
def pool_views(x: np.ndarray, pooling: dict) -> tuple[dict, dict | None]:
    """The input with its winners next to the pooled output, and the hover grid's spec."""
    w = walkthrough(x, pooling)
    return pool_figure(w.input, w.output, w.winners, w.kind).to_dict(), pool_hover_spec(w)


@st.cache_resource(max_entries=32, show_spinner=False)
def animation(x: np.ndarray, pooling: dict, frame_ms: int) -> dict:
    """The sliding-window animation (other controls rerun the page without rebuilding its frames)."""
    return pool_animation_figure(walkthrough(x, pooling), frame_ms).to_dict()


@st.cache_resource(max_entries=64, show_spinner=False)
def walkthrough_1d(signal: np.ndarray, pooling: dict) -> Pool1dWalkthrough:
    return shared(pool1d_walkthrough(signal, **pooling))


@st.cache_resource(max_entries=32, show_spinner=False)
def view_1d(signal: np.ndarray, pooling: dict) -> dict:
    return pool1d_figure(walkthrough_1d(signal, pooling)).to_dict()


@st.cache_resource(max_entries=16, show_spinner=False)
def invariance(pool_k: int, pool_s: int) -> ShiftResult:
    return shared(shift_invariance(3, pool_k, pool_s))


@st.cache_resource(max_entries=64, show_spinner=False)
def shift_maps(pool_k: int, pool_s: int, shift: int) -> dict:
    """The shifted image, its edge map and the pooled edge map."""
    inv = invariance(pool_k, pool_s)
    return maps_figure(
        {
            f"image, shift {shift}": inv.images[shift],
            "edge map: conv with [[1, -1]]": inv.conv[shift],
            f"max pooled {pool_k}×{pool_k}, stride {pool_s}": inv.pooled[shift],
        }
    ).to_dict()


@st.cache_resource(max_entries=16, show_spinner=False)
def invariance_view(pool_k: int, pool_s: int) -> dict:
    """Share of cells changed by each shift, edge map next to pooled map."""
    inv = invariance(pool_k, pool_s)
    return invariance_figure(inv.shifts, inv.conv_changed_share, inv.pool_changed_share).to_dict()


@st.cache_resource(max_entries=16, show_spinner=False)
def invariance_table(pool_k: int, pool_s: int) -> pd.DataFrame:
    """Per shift: the cells of each map that changed, and the edge cells still on."""
    inv = invariance(pool_k, pool_s)
    conv_total, pool_total = inv.conv[0].size, inv.pooled[0].size
    return pd.DataFrame(
        {
            "shift": inv.shifts,
            f"conv cells changed (of {conv_total})": inv.conv_changed,
            f"pooled cells changed (of {pool_total})": inv.pool_changed,
            "conv: edge cells still on": [f"{k:.0%}" for k in inv.conv_kept],
            "pooled: edge cells still on": [f"{k:.0%}" for k in inv.pool_kept],
        }
    )


@st.cache_resource(max_entries=16, show_spinner=False)
def upsampled(pattern: str, kernel: int) -> UpsampleResult:
    """A 4 x 4 pattern, max pooled to 2 x 2, and the four ways back up (the transposed conv with ones)."""
    return shared(upsample_compare(input_pattern(pattern, (4, 4), 0), np.ones((kernel, kernel))))


@st.cache_resource(max_entries=16, show_spinner=False)
def upsample_views(pattern: str, kernel: int) -> tuple[dict, dict, pd.DataFrame]:
    """The source with its pooled map, the four upsampled maps, and each method's output size."""
    up = upsampled(pattern, kernel)
    sizes = up.sizes()
    return (
        maps_figure({"source": up.source, "2×2 max pooled": up.small}).to_dict(),
        upsample_figure(up.methods).to_dict(),
        pd.DataFrame({"method": list(sizes), "output size": [f"{h}×{w}" for h, w in sizes.values()]}),
    )


@st.cache_resource(max_entries=8, show_spinner="Shrinking…")
def shrunk(key: str, _rgb: np.ndarray | None, factor: int) -> tuple[bytes, tuple[int, int], dict, dict]:
    """The source's PNG and size, and each way down as an enlarged PNG with its size; keyed on the picture's key."""
    source = picture_input(_rgb) if _rgb is not None else ALIASING_PATTERNS[key](MAX_PICTURE_SIDE)
    result = downsample_compare(source, factor)
    pngs = {name: encode_png(to_uint8(enlarge_nearest(y, factor))) for name, y in result.methods.items()}
    return encode_png(to_uint8(source)), source.shape[:2], pngs, result.sizes()
