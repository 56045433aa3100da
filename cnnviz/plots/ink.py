"""Numbers printed on heatmap cells in black or white, whichever reads better on that cell's colour.

A heatmap's text has one colour per trace, so the numbers move onto two text-only heatmaps laid over
the coloured one: one prints in black the cells `palette.ink_for` gives black, the other in white the
rest. Each cell's colour is worked out the way plotly.js paints it: the value's place between zmin and
zmax, interpolated linearly in RGB between the colour scale's stops.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import plotly.colors

from cnnviz.plots.palette import ink_for
from cnnviz.plots.typed_arrays import typed_array, typed_array_values

__all__ = ["INK_OF", "cell_colours", "colour_limits", "ink_figure", "ink_split", "ink_traces", "refresh_ink"]

INK_OF = "cell_ink_of"  # key in a text layer's `meta`: the index of the trace whose numbers it prints
CLEAR = [[0, "rgba(0,0,0,0)"], [1, "rgba(0,0,0,0)"]]
_INKS = ("#000000", "#ffffff")


def _get(trace: Any, name: str) -> Any:
    """A property of a trace given as a dict or as a plotly trace object."""
    return trace.get(name) if isinstance(trace, dict) else trace[name]


def _values(z: Any) -> np.ndarray:
    """A heatmap's z as floats (2D): nested lists, an array, or a base64 typed-array spec."""
    if isinstance(z, dict) and "bdata" in z:
        return typed_array_values(z).astype(float)
    return np.atleast_2d(np.asarray(np.asarray(z, dtype=object).tolist(), dtype=float))


def _as_spec(values: np.ndarray, like: Any) -> Any:
    """`values` in the form the source's z came in (a typed-array spec stays one)."""
    if isinstance(like, dict) and "bdata" in like:
        return typed_array(values.astype(np.float32))
    return values


def colour_limits(z: np.ndarray, zmin: float | None, zmax: float | None) -> tuple[float, float]:
    """The value range plotly.js maps onto the colour scale: the given limits, else the data's own
    (widened by half on each side when every value is equal, as plotly.js does)."""
    finite = z[np.isfinite(z)]
    lo = float(zmin) if zmin is not None else float(finite.min()) if finite.size else 0.0
    hi = float(zmax) if zmax is not None else float(finite.max()) if finite.size else 1.0
    if hi <= lo:
        lo, hi = lo - 0.5, hi + 0.5
    return lo, hi


def _stops(colorscale: Any) -> tuple[np.ndarray, np.ndarray]:
    """Positions (n,) and RGB colours (n, 3) 0-255 of a colour scale given by name or as stops."""
    if isinstance(colorscale, str):
        colorscale = plotly.colors.get_colorscale(colorscale)
    positions = np.array([float(stop[0]) for stop in colorscale])
    rgb = [plotly.colors.unlabel_rgb(plotly.colors.convert_colors_to_same_type(str(stop[1]), "rgb")[0][0])
           for stop in colorscale]  # fmt: skip
    return positions, np.array(rgb, dtype=float)


def cell_colours(z: np.ndarray, colorscale: Any, zmin: float | None, zmax: float | None) -> np.ndarray:
    """The RGB colour (0-255) plotly.js paints each cell of `z` (shape of z + (3,)); NaN cells are NaN."""
    z = np.asarray(z, dtype=float)
    lo, hi = colour_limits(z, zmin, zmax)
    t = np.clip((z - lo) / (hi - lo), 0.0, 1.0)
    positions, rgb = _stops(colorscale)
    out = np.stack([np.interp(t, positions, rgb[:, k]) for k in range(3)], axis=-1)
    out[~np.isfinite(z)] = np.nan
    return out


def _inks(z: np.ndarray, colorscale: Any, zmin: float | None, zmax: float | None) -> np.ndarray:
    """True where a cell's number is printed in black, False where in white (z's shape)."""
    colours = cell_colours(z, colorscale, zmin, zmax)
    black = np.zeros(z.shape, dtype=bool)
    for index in zip(*np.nonzero(np.isfinite(z)), strict=True):
        black[index] = ink_for(*colours[index]) == _INKS[0]
    return black


def ink_split(
    z: np.ndarray, colorscale: Any, zmin: float | None, zmax: float | None
) -> tuple[np.ndarray, np.ndarray]:
    """`z` split into the cells printed in black and those printed in white (NaN elsewhere): the z of
    the two text layers, e.g. for an animation frame that fills in more of the source."""
    z = np.asarray(z, dtype=float)
    black = _inks(z, colorscale, zmin, zmax)
    return np.where(black, z, np.nan), np.where(~black & np.isfinite(z), z, np.nan)


def _ink(layer: Any) -> str:
    return _font(_get(layer, "textfont")).get("color")


def _fill(
    layer: Any, ink: str, z: np.ndarray, black: np.ndarray, shown: np.ndarray, text: Any, like: Any
) -> None:
    """Give a text layer (ink `ink`) its cells among those `shown`, and blank its text elsewhere."""
    keep = shown & np.isfinite(z) & (black if ink == _INKS[0] else ~black)
    layer["z"] = _as_spec(np.where(keep, z, np.nan), like)
    if text is not None:  # "%{text}" prints even where z is empty
        layer["text"] = np.where(keep, np.asarray(text, dtype=object).reshape(z.shape), "").tolist()


def ink_traces(source: Any, of: int, shown: np.ndarray | None = None) -> list[dict]:
    """Two text-only heatmaps that print `source`'s numbers in black or white, cell by cell.

    `source` (a heatmap dict or trace, with `texttemplate`) loses its text and gets explicit zmin/zmax,
    so its colours are the ones the ink was picked for; `of` is its index in the figure's data. Only the
    cells where `shown` (z's shape, bool) is True get a number. Draw the two after `source`.
    """
    z = _values(_get(source, "z"))
    lo, hi = colour_limits(z, _get(source, "zmin"), _get(source, "zmax"))
    source["zmin"], source["zmax"] = lo, hi
    black = _inks(z, _get(source, "colorscale"), lo, hi)
    shown = np.ones(z.shape, dtype=bool) if shown is None else np.asarray(shown, dtype=bool)
    layers = []
    for ink in _INKS:
        layer: dict = {
            "type": "heatmap",
            "colorscale": CLEAR,
            "showscale": False,
            "hoverinfo": "skip",
            "texttemplate": _get(source, "texttemplate"),
            "textfont": {**_font(_get(source, "textfont")), "color": ink},
            "meta": {INK_OF: of},
        }
        for name in ("x", "y", "x0", "dx", "y0", "dy", "xgap", "ygap", "xaxis", "yaxis"):
            if _get(source, name) is not None:
                layer[name] = _get(source, name)
        _fill(layer, ink, z, black, shown, _get(source, "text"), _get(source, "z"))
        layers.append(layer)
    source["texttemplate"] = None
    return layers


def _font(font: Any) -> dict:
    if font is None:
        return {}
    return dict(font) if isinstance(font, dict) else font.to_plotly_json()


def refresh_ink(figure: Any) -> None:
    """Re-pick every text layer's cells after the colour scale of its source changed (in place).

    `figure` is a figure dict or a go.Figure. In frames that update a source's z, its layers print every
    finite cell of that z.
    """
    data = list(_get(figure, "data") or ())
    pairs: dict[int, list[int]] = {}
    for i, trace in enumerate(data):
        meta = _get(trace, "meta")
        if isinstance(meta, dict) and INK_OF in meta:
            pairs.setdefault(int(meta[INK_OF]), []).append(i)
    for source_index, layer_indices in pairs.items():
        source = data[source_index]
        scale, lo, hi = _get(source, "colorscale"), _get(source, "zmin"), _get(source, "zmax")
        text = _get(source, "text")
        z = _values(_get(source, "z"))
        # The cells printed stay those either layer printed (the rest were hidden on purpose, e.g. padding).
        shown = np.logical_or.reduce([np.isfinite(_values(_get(data[i], "z"))) for i in layer_indices])
        for i in layer_indices:
            _fill(data[i], _ink(data[i]), z, _inks(z, scale, lo, hi), shown, text, _get(data[i], "z"))
        for frame in _get(figure, "frames") or ():
            traces = list(_get(frame, "traces") or ())
            if source_index not in traces:
                continue
            frame_data = list(_get(frame, "data") or ())
            z = _values(_get(frame_data[traces.index(source_index)], "z"))
            black = _inks(z, scale, lo, hi)
            for i in layer_indices:
                if i in traces:
                    layer = frame_data[traces.index(i)]
                    everywhere = np.ones(z.shape, dtype=bool)
                    _fill(layer, _ink(data[i]), z, black, everywhere, text, _get(layer, "z"))


def ink_figure(figure: Any, shown: dict[int, np.ndarray] | None = None) -> Any:
    """Move the numbers of every heatmap that prints them in the default colour onto text layers,
    appended at the end (heatmaps draw in trace order, scatter traces above them all). Returns `figure`.

    Traces with a text colour of their own (padding's grey) keep it. Animation frames are the builder's
    to extend (`ink_split`). `shown` maps a trace index to the cells that get a number (default: all).
    """
    data = list(_get(figure, "data") or ())
    layers: list[dict] = []
    for i, trace in enumerate(data):
        meta = _get(trace, "meta")
        printed = _get(trace, "type") == "heatmap" and _get(trace, "texttemplate")
        if printed and not _ink(trace) and not (isinstance(meta, dict) and INK_OF in meta):
            layers += ink_traces(trace, i, (shown or {}).get(i))
    if isinstance(figure, dict):
        figure["data"] = data + layers
    elif layers:
        figure.add_traces(layers)
    return figure
