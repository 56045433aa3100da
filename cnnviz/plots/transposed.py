"""Plotly figures for the transposed-convolution page: the scatter animation and the "gaps" grid.

The animation is built once as Plotly frames (play, pause, a scrubber) and updates only what moves:
the box on the input cell, that cell's stamp and the running sum. Canvas axes use output coordinates:
the cells that `padding` crops sit at negative indices or past the end.

Both figures are written as JSON-ready dicts in Plotly's schema (show them with
`cnnviz.plots.PrebuiltFigure`): building them through Plotly's validated objects cost ~0.5 s a figure,
most of a control change. Arrays go out as float32 typed arrays.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np
import plotly.colors

from cnnviz.plots.animation import play_buttons, scrubber
from cnnviz.plots.conv import subplot_layout, typed_array
from cnnviz.plots.ink import ink_figure, ink_split, ink_traces
from cnnviz.plots.palette import HIGHLIGHT, HIGHLIGHT_WIDTH
from cnnviz.topics.transposed import (
    CELL_INPUT,
    CELL_INSERTED,
    CELL_OUTPUT_PADDING,
    CELL_PADDING,
    GapsView,
    TransposedView,
)

__all__ = ["KIND_COLOURS", "KIND_NAMES", "gaps_figure", "scatter_animation"]

NUMBERS_MAX = 24
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


@functools.lru_cache(maxsize=8)
def _scale(name: str) -> tuple[tuple[float, str], ...]:
    """A named colour scale as explicit stops (plotly.js knows fewer names than plotly.py)."""
    return tuple((float(v), c) for v, c in plotly.colors.get_colorscale(name))


def _heat(
    z: np.ndarray,
    axes: str,
    scale: str,
    limit: float,
    numbers: bool,
    name: str,
    x: np.ndarray | None = None,
    y: np.ndarray | None = None,
) -> dict:
    """A heatmap trace on subplot `axes` ('' first, '2', '3'), coloured -limit..limit around 0."""
    trace = {
        "type": "heatmap",
        "z": typed_array(np.asarray(z, dtype=np.float32)),
        "colorscale": [list(stop) for stop in _scale(scale)],
        "zmin": -limit,
        "zmax": limit,
        "zmid": 0.0,
        "showscale": False,
        "xgap": 1,
        "ygap": 1,
        "hovertemplate": f"{name} row %{{y}}, col %{{x}}: %{{z}}<extra></extra>",
        "xaxis": f"x{axes}",
        "yaxis": f"y{axes}",
    }
    if numbers:
        trace.update(texttemplate=_fmt(np.asarray(z, dtype=float)), textfont={"size": 13})
    if x is not None:
        trace["x"] = typed_array(np.asarray(x, dtype=np.int16))
    if y is not None:
        trace["y"] = typed_array(np.asarray(y, dtype=np.int16))
    return trace


def _flat(colour: str, shape: tuple[int, int], axes: str, x: np.ndarray, y: np.ndarray) -> dict:
    """A one-colour grid: the extent of a canvas before anything is painted on it."""
    return {
        "type": "heatmap",
        "z": typed_array(np.zeros(shape, dtype=np.float32)),
        "x": typed_array(np.asarray(x, dtype=np.int16)),
        "y": typed_array(np.asarray(y, dtype=np.int16)),
        "colorscale": [[0, colour], [1, colour]],
        "showscale": False,
        "xgap": 1,
        "ygap": 1,
        "hoverinfo": "skip",
        "xaxis": f"x{axes}",
        "yaxis": f"y{axes}",
    }


def _rect(r0: float, c0: float, r1: float, c1: float) -> tuple[list[float], list[float]]:
    return [c0 - 0.5, c1 + 0.5, c1 + 0.5, c0 - 0.5, c0 - 0.5], [
        r0 - 0.5,
        r0 - 0.5,
        r1 + 0.5,
        r1 + 0.5,
        r0 - 0.5,
    ]


def _line(
    xy: tuple[list[float], list[float]], axes: str, colour: str = HIGHLIGHT, dash: str = "solid"
) -> dict:
    return {
        "type": "scatter",
        "x": xy[0],
        "y": xy[1],
        "mode": "lines",
        "line": {"color": colour, "width": HIGHLIGHT_WIDTH if colour == HIGHLIGHT else 3, "dash": dash},
        "hoverinfo": "skip",
        "showlegend": False,
        "xaxis": f"x{axes}",
        "yaxis": f"y{axes}",
    }


def _subplots(
    widths: Sequence[float],
    titles: Sequence[str],
    extents: Sequence[tuple[float, float, int, int]],
    rows: int,
    ticks: bool,
) -> dict:
    """One row of grid subplots with widths in proportion, titled, each axis spanning its extent.

    `extents` holds (first row, first col, rows, cols) per subplot; every subplot shows `rows` rows so
    that cells are the same size everywhere. Axis n is '' for the first subplot, then '2', '3'.
    """
    layout = subplot_layout(widths, titles, spacing=0.05, title_shift=26 if ticks else 4)
    for i, (_, (r0, c0, height, cols)) in enumerate(zip(widths, extents, strict=True)):
        n = "" if i == 0 else str(i + 1)
        layout[f"xaxis{n}"].update(
            {
                "range": [c0 - 0.5, c0 - 0.5 + cols],
                "constrain": "domain",
                "showgrid": False,
                "zeroline": False,
                "side": "top",
                "dtick": 1,
                "ticks": "outside" if ticks else "",
                "showticklabels": ticks and cols <= NUMBERS_MAX,
            }
        )
        layout[f"yaxis{n}"].update(
            {
                "range": [r0 - 0.5 + rows, r0 - 0.5],
                "scaleanchor": f"x{n}",
                "constrain": "domain",
                "showgrid": False,
                "zeroline": False,
                "dtick": 1,
                "ticks": "outside" if ticks else "",
                "showticklabels": ticks and height <= NUMBERS_MAX,
            }
        )
    return layout


def scatter_animation(view: TransposedView, sums: np.ndarray, frame_ms: int = 500) -> dict:
    """Input, the current cell's stamp, and the running sum; one Plotly frame per input cell.

    `sums` is `cnnviz.topics.transposed.partial_sums(view)`. Traces: 0 input, 1 current-cell box, 2 empty canvas,
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
        rows = slice(i * s, i * s + (kh - 1) * d + 1, d)
        cols = slice(j * s, j * s + (kw - 1) * d + 1, d)
        z[rows, cols] = stamps[n][rows, cols]
        return z

    rows = max(h, ch)
    layout = _subplots(
        [w + 2, cw + 2, cw + 2],
        [f"input {h}×{w}", "this cell × kernel", f"running sum (box: the {ho}×{wo} output)"],
        [(0, 0, h, w), (-p, -p, ch, cw), (-p, -p, ch, cw)],
        rows,
        True,
    )
    data = [
        _heat(view.input, "", "RdBu", in_limit, True, "input"),
        _line(_rect(0, 0, 0, 0), ""),
        _flat(EMPTY, (ch, cw), "2", canvas_cols, canvas_rows),
        _heat(stamp_z(0), "2", "PuOr", stamp_limit, numbers, "stamp", canvas_cols, canvas_rows),
        _flat(EMPTY, (ch, cw), "3", canvas_cols, canvas_rows),
        _heat(sums[1], "3", "RdBu", sum_limit, numbers, "sum", canvas_cols, canvas_rows),
        _line(_rect(0, 0, ho - 1, wo - 1), "3", "#111418", "dash"),
    ]
    data.extend(ink_traces(data[0], 0))
    moving = [1, 3, 5]  # and the ink layers of the stamp and the sum, which fill in frame by frame
    if numbers:
        moving += [len(data), len(data) + 1, len(data) + 2, len(data) + 3]
        data.extend(ink_traces(data[3], 3) + ink_traces(data[5], 5))
    frames, labels = [], []
    for n in range(h * w):
        i, j = divmod(n, w)
        box = _rect(i, j, i, j)
        stamp, total = stamp_z(n), sums[n + 1].astype(np.float32)
        inks = []
        if numbers:
            for z, source in ((stamp, data[3]), (total, data[5])):
                inks += [
                    {"type": "heatmap", "z": typed_array(part.astype(np.float32))}
                    for part in ink_split(z, source["colorscale"], source["zmin"], source["zmax"])
                ]
        frames.append(
            {
                "name": str(n),
                "data": [
                    {"type": "scatter", "x": box[0], "y": box[1]},
                    {"type": "heatmap", "z": typed_array(stamp)},
                    {"type": "heatmap", "z": typed_array(total)},
                    *inks,
                ],
                "traces": moving,
            }
        )
        labels.append(f"{i},{j}")
    layout.update(
        updatemenus=[play_buttons(frame_ms, y=-0.06)],
        sliders=[scrubber(labels, "input cell (row, col): ", x=0.18, y=-0.02)],
        height=int(min(900, max(300, rows * int(min(44, max(14, 520 // rows))) + 190))),
        margin={"l": 10, "r": 10, "t": 70, "b": 90},
        plot_bgcolor="white",
        font={"size": 14},
        showlegend=False,
    )
    return {"data": data, "layout": layout, "frames": frames}


def gaps_figure(gaps: GapsView, view: TransposedView) -> dict:
    """The equivalent direct convolution: gapped, padded input (coloured by what each cell is), the flipped
    kernel, and the output. Trace 0 the gapped grid (z = CELL_* kind, text = value), 1 the flipped kernel,
    2 the output, then one legend entry per kind present."""
    gh, gw = gaps.gapped.shape
    kh, kw = gaps.flipped.shape
    ho, wo = gaps.output.shape
    scale = []
    for i, kind in enumerate((CELL_INPUT, CELL_INSERTED, CELL_PADDING, CELL_OUTPUT_PADDING)):
        scale += [[i / 4, KIND_COLOURS[kind]], [(i + 1) / 4, KIND_COLOURS[kind]]]
    whole = np.isclose(gaps.gapped, np.round(gaps.gapped))
    text = np.where(
        whole, np.round(gaps.gapped).astype(int).astype(str), np.round(gaps.gapped, 2).astype(str)
    )
    rows = max(gh, kh, ho)
    layout = _subplots(
        [gw + 2, kw + 2, wo + 2],
        [f"gapped and padded input {gh}×{gw}", f"kernel flipped {kh}×{kw}", f"output {ho}×{wo}"],
        [(0, 0, gh, gw), (0, 0, kh, kw), (0, 0, ho, wo)],
        rows,
        False,
    )
    grid = {
        "type": "heatmap",
        "z": typed_array(gaps.kinds.astype(np.float32)),
        "colorscale": scale,
        "zmin": -0.5,
        "zmax": 3.5,
        "showscale": False,
        "xgap": 1,
        "ygap": 1,
        "text": text.tolist(),
        "texttemplate": "%{text}" if max(gh, gw) <= 2 * NUMBERS_MAX else "",
        "textfont": {"size": 12},
        "hovertemplate": "row %{y}, col %{x}: %{text}<extra></extra>",
        "xaxis": "x",
        "yaxis": "y",
    }
    k_limit = max(float(np.abs(gaps.flipped).max(initial=0)), 1e-9)
    o_limit = max(float(np.abs(gaps.output).max(initial=0)), 1e-9)
    data = [
        grid,
        _heat(gaps.flipped, "2", "PuOr", k_limit, True, "flipped kernel"),
        _heat(gaps.output, "3", "RdBu", o_limit, max(ho, wo) <= NUMBERS_MAX, "output"),
    ]
    present = set(np.unique(gaps.kinds).tolist())
    for kind, name in KIND_NAMES.items():
        if kind in present:
            data.append(
                {
                    "type": "scatter",
                    "x": [None],
                    "y": [None],
                    "mode": "markers",
                    "marker": {"symbol": "square", "size": 16, "color": KIND_COLOURS[kind]},
                    "name": name,
                    "xaxis": "x",
                    "yaxis": "y",
                }
            )
    layout.update(
        height=int(min(900, max(280, rows * int(min(40, max(12, 560 // rows))) + 140))),
        margin={"l": 10, "r": 10, "t": 50, "b": 10},
        plot_bgcolor="white",
        font={"size": 14},
        legend={"orientation": "h", "y": -0.02, "yanchor": "top"},
    )
    return ink_figure({"data": data, "layout": layout})
