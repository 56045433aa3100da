"""Presentation mode for a projector: larger type and cells, colour-blind-safe high-contrast colour scales.

Pages draw every Plotly figure through `chart(fig, key=..., config=...)` (the arguments of
`st.plotly_chart`, plus `where=` for a column); in presentation mode the figure is restyled first.
"""

from __future__ import annotations

import copy
import math
import weakref
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd
import plotly.colors
import plotly.graph_objects as go
import pyarrow as pa
import streamlit as st

from cnnviz.plots.ink import refresh_ink
from cnnviz.plots.typed_arrays import typed_array_values

__all__ = [
    "DIVERGING_SAFE",
    "PRESENT_KEY",
    "PRESENT_STYLE",
    "SEQUENTIAL_SAFE",
    "chart",
    "is_presenting",
    "present_figure",
    "table",
]

PRESENT_KEY = "present"  # the toggle's key, and its name in the link (?present=1)
SEQUENTIAL_SAFE = "cividis"  # perceptually uniform, readable with any colour-vision deficiency
DIVERGING_SAFE = "PuOr"  # ColorBrewer's colour-blind-safe diverging scale, white at zero
FONT_SCALE = 1.5
MIN_FONT = 20
HEIGHT_SCALE = 1.25
MIN_SMALL_PRINT = 18  # px: the smallest text a figure may draw in presentation mode (its sub/superscripts)
SCRIPT_RATIO = 0.7  # Plotly draws <sup> and <sub> at this fraction of the surrounding text
_COLOURED = ("heatmap", "contour", "histogram2d", "surface")

# Larger type everywhere (Streamlit sizes text in rem; a metric's value keeps its own, larger size), bigger
# widgets, thicker focus outlines. The main area starts closer to the top (Streamlit leaves 6rem) so that
# the page's main picture fits on the first screen of a 1920x1080 projector under its title and one-line
# why. The sidebar takes 15.5rem (341 px, 18 % of 1920): thinner margins and type one step smaller than the
# main area's (22 px, 20 px in a box, still read from the back) keep the longest page name and select-box
# value whole; an open select box's list grows as wide as its longest option. Tables are HTML there (see
# `table`), typed grids are text boxes in monospace type (cnnviz.ui.grids).
PRESENT_STYLE = """<style>
html{font-size:22px}
[data-testid=stMainBlockContainer]{padding-top:2.5rem}
.stApp p,.stApp li,.stApp label,.stApp input,.stApp textarea{font-size:1.15rem}
.stApp h1{font-size:2.6rem}.stApp h2{font-size:2rem}.stApp h3{font-size:1.6rem}
.stApp code{font-size:1.05rem}
.st-key-cnnviz-why p{font-size:1.3rem}
.stApp [data-testid=stMetricValue] p{font-size:inherit}
section[data-testid=stSidebar]{min-width:15.5rem}
[data-testid=stSidebarContent]{padding-left:.6rem;padding-right:.6rem}
[data-testid=stSidebar] [data-testid=stExpanderDetails]{padding-left:.5rem;padding-right:.5rem}
[data-testid=stSidebar] [data-testid=stSelectbox] input{padding-left:.35rem;padding-right:0}
[data-testid=stSidebar] [data-testid=stSelectbox] button{padding-left:0;padding-right:.2rem}
[data-testid=stSelectboxVirtualDropdown]{width:max-content!important;min-width:12.5rem;max-width:calc(100vw - 2rem)}
.stApp [data-testid=stSidebar] p,.stApp [data-testid=stSidebar] li,.stApp [data-testid=stSidebar] label{font-size:1rem}
.stApp [data-testid=stSidebar] input,.stApp [data-testid=stSidebar] textarea{font-size:.9rem}
[data-testid=stMain] [data-testid=stTable] th,[data-testid=stMain] [data-testid=stTable] td{font-size:1.05rem}
.stApp [class*=_gridtext] textarea{font-family:"Source Code Pro",monospace;font-size:1.2rem;line-height:1.5}
</style>"""


def is_presenting() -> bool:
    """Whether presentation mode is on in this session."""
    return bool(st.session_state.get(PRESENT_KEY, False))


def _scaled(size: float | None, default: float = 12.0) -> float:
    """A font size enlarged for the back of the room."""
    return max(MIN_FONT, round((size or default) * FONT_SCALE))


def _is_uniform(scale: Any) -> bool:
    """True for one-colour scales (padding, highlight overlays): those keep their colour."""
    if not isinstance(scale, (list, tuple)) or not scale:
        return False
    return len({str(stop[1]) for stop in scale}) == 1


def _signed(trace: Any) -> bool:
    """Whether a trace's values (or its colour range) run on both sides of zero."""
    low, high = getattr(trace, "zmin", None), getattr(trace, "zmax", None)
    if low is None or high is None:
        z = getattr(trace, "z", None)
        if z is None:
            return False
        try:
            values = np.asarray(z, dtype=float)
        except (TypeError, ValueError):
            return False
        if values.size == 0 or not np.isfinite(values).any():
            return False
        low, high = float(np.nanmin(values)), float(np.nanmax(values))
    return low < 0 < high


def _recolour(trace: Any) -> None:
    """Give a heatmap-like trace the safe scale that suits its data (diverging for signed values)."""
    if getattr(trace, "type", None) not in _COLOURED or _is_uniform(trace.colorscale):
        return
    if trace.coloraxis:  # the shared colour axis is recoloured with the layout
        return
    if _signed(trace):
        trace.update(colorscale=DIVERGING_SAFE, zmid=0 if trace.zmin is None and trace.zmax is None else None)
    else:
        trace.update(colorscale=SEQUENTIAL_SAFE)


def present_figure(fig: Any) -> Any:
    """A copy of `fig` for the projector: larger fonts and plot, safe colour scales.

    Takes a go.Figure, a figure that carries a ready JSON spec (`_spec`, drawn as is), or a plain dict.
    """
    spec = getattr(fig, "_spec", None)
    if spec is not None:
        return type(fig)(_present_spec(spec))
    if isinstance(fig, dict):
        return _present_spec(fig)
    out = go.Figure(fig)
    for trace in out.data:
        _recolour(trace)
        if getattr(trace, "type", None) in _COLOURED:
            trace.textfont.size = _scaled(trace.textfont.size)
    for frame in out.frames or ():
        for trace in frame.data or ():
            if getattr(trace, "colorscale", None) is not None:
                _recolour(trace)
    refresh_ink(out)  # the numbers' black or white follows the new colours
    layout = out.layout
    layout.font.size = _scaled(layout.font.size)
    raised = 0
    for annotation in layout.annotations or ():
        annotation.font.size = _scaled(annotation.font.size)
        if annotation.yshift and annotation.yshift > 0:
            raised = max(raised, _raised(annotation.yshift) - annotation.yshift)
            annotation.yshift = _raised(annotation.yshift)
    if raised and layout.margin.t is not None:
        layout.margin.t += raised
    out.update_layout(_text_sizes(out.layout.to_plotly_json()))
    for name in [n for n in layout if n.startswith("coloraxis")]:
        axis = layout[name]
        if axis.colorscale is not None and not _is_uniform(axis.colorscale):
            signed = axis.cmin is not None and axis.cmax is not None and axis.cmin < 0 < axis.cmax
            signed = signed or any(_signed(t) for t in out.data if getattr(t, "coloraxis", None) == name)
            axis.colorscale = DIVERGING_SAFE if signed else SEQUENTIAL_SAFE
            if signed and axis.cmin is None and axis.cmax is None:
                axis.cmid = 0
    if layout.height:
        layout.height = int(layout.height * HEIGHT_SCALE)
    return out


def _raised(shift: float) -> int:
    """A title's lift above its plot (which clears the tick labels), grown with the tick labels' type."""
    return round(shift * FONT_SCALE)


def _size_of(part: Any) -> float | None:
    """The font size a layout part sets (`part` is its dict, or None)."""
    font = (part or {}).get("font") if isinstance(part, dict) else None
    return font.get("size") if isinstance(font, dict) else None


def _text_sizes(layout: dict) -> dict:
    """Font sizes for the layout's other text: axis ticks and titles, sliders, buttons, legend, title.

    Streamlit's chart theme sizes these in rem; left to it they stay below the figure's own (enlarged) font.
    """
    base = layout.get("font", {}).get("size") if isinstance(layout.get("font"), dict) else None
    default = max(MIN_FONT, base or MIN_FONT)
    updates: dict[str, Any] = {}
    for name in {"xaxis", "yaxis", *(n for n in layout if n.startswith(("xaxis", "yaxis")))}:
        axis = layout.get(name) or {}
        tick = (axis.get("tickfont") or {}).get("size")
        title = axis.get("title") if isinstance(axis.get("title"), dict) else {}
        updates[name] = {
            "tickfont": {"size": _scaled(tick) if tick else default},
            "title": {"font": {"size": _scaled(_size_of(title)) if _size_of(title) else default}},
        }
    for name in ("sliders", "updatemenus"):
        if layout.get(name):
            updates[name] = [_grown_control(entry, default) for entry in layout[name]]
    # Bar labels that do not fit beside or inside their bar are shrunk by Plotly: not below MIN_FONT here.
    updates["uniformtext"] = {"minsize": MIN_FONT, "mode": "show"}
    for name in ("legend", "title"):
        size = _size_of(layout.get(name))
        updates[name] = {"font": {"size": _scaled(size) if size else default}}
    title = layout.get("title")
    text = title.get("text") if isinstance(title, dict) else title
    if isinstance(text, str) and ("<sup>" in text or "<sub>" in text):
        # Plotly draws <sup>/<sub> at 70 % of the title's size: keep that part readable too.
        size = updates["title"]["font"]["size"]
        updates["title"]["font"]["size"] = max(size, math.ceil(MIN_SMALL_PRINT / SCRIPT_RATIO))
    return updates


def _grown_control(entry: dict, default: float) -> dict:
    """A slider or button row with its labels (and a slider's current value) at least `default` px."""
    grown = copy.deepcopy(entry)
    size = _size_of(entry)
    grown["font"] = {**(entry.get("font") or {}), "size": _scaled(size) if size else default}
    if "currentvalue" in entry or "steps" in entry:
        current = dict(entry.get("currentvalue") or {})
        current_size = _size_of(current)
        current["font"] = {
            **(current.get("font") or {}),
            "size": _scaled(current_size) if current_size else default,
        }
        grown["currentvalue"] = current
    return grown


def _merge(target: dict, updates: dict) -> None:
    """Merge nested `updates` into `target` in place (lists replace, dicts merge)."""
    for key, value in updates.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        else:
            target[key] = value


def _stops(name: str) -> list[list]:
    """A named scale as explicit stops (plotly.js in the browser knows fewer names than plotly.py)."""
    return [list(stop) for stop in plotly.colors.get_colorscale(name)]


def _spec_values(z: Any) -> np.ndarray | None:
    """The numbers of a spec's z: a nested list or a base64 typed array."""
    try:
        if isinstance(z, dict) and "bdata" in z:
            return typed_array_values(z).astype(float).ravel()
        return np.asarray(z, dtype=float)
    except (TypeError, ValueError, KeyError):
        return None


def _recolour_spec(trace: dict) -> None:
    """The spec version of `_recolour`, plus larger cell text."""
    if trace.get("type") not in _COLOURED:
        return
    if "textfont" in trace or "texttemplate" in trace or "text" in trace:
        font = dict(trace.get("textfont") or {})
        font["size"] = _scaled(font.get("size"))
        trace["textfont"] = font
    scale = trace.get("colorscale")
    if scale is None or _is_uniform(scale) or trace.get("coloraxis"):
        return
    low, high = trace.get("zmin"), trace.get("zmax")
    if low is None or high is None:
        values = _spec_values(trace.get("z"))
        finite = values[np.isfinite(values)] if values is not None else np.empty(0)
        low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 0.0)
    if low < 0 < high:
        trace["colorscale"] = _stops(DIVERGING_SAFE)
        if trace.get("zmin") is None and trace.get("zmax") is None:
            trace["zmid"] = 0
    else:
        trace["colorscale"] = _stops(SEQUENTIAL_SAFE)


def _present_spec(spec: dict) -> dict:
    """`present_figure` for a JSON-ready dict: a copy with the same changes, arrays left as they are."""
    out = copy.deepcopy(spec)
    for trace in out.get("data") or ():
        _recolour_spec(trace)
    for frame in out.get("frames") or ():
        for trace in frame.get("data") or ():
            if "colorscale" in trace:
                _recolour_spec(trace)
    refresh_ink(out)  # the numbers' black or white follows the new colours
    layout = out.setdefault("layout", {})
    font = dict(layout.get("font") or {})
    font["size"] = _scaled(font.get("size"))
    layout["font"] = font
    raised = 0
    for annotation in layout.get("annotations") or ():
        note_font = dict(annotation.get("font") or {})
        note_font["size"] = _scaled(note_font.get("size"))
        annotation["font"] = note_font
        shift = annotation.get("yshift") or 0
        if shift > 0:
            raised = max(raised, _raised(shift) - shift)
            annotation["yshift"] = _raised(shift)
    margin = layout.get("margin")
    if raised and isinstance(margin, dict) and margin.get("t") is not None:
        layout["margin"] = {**margin, "t": margin["t"] + raised}
    _merge(layout, _text_sizes(layout))
    if layout.get("height"):
        layout["height"] = int(layout["height"] * HEIGHT_SCALE)
    return out


# Drawn once. Streamlit's chart theme turns on `automargin` for every axis, and our figures leave 10 px
# margins: the browser draws each figure, finds its tick labels (or a scrubber) wider than that, widens
# the margin and draws the whole figure again (plotly.js `doAutoMargin`). It also measures every tick
# label against the page's edge (`ticklabeloverflow` "hide past div"). Measured in Chromium on the
# explorer, one control change: 1.1 s of the 4 s of main-thread work went to the second drawing and 0.6 s
# to those measurements (machine loaded). So the margins start as wide as plotly.js will find they need,
# from the labels the figure fixes (their characters at the tick font, plus the gaps plotly.js adds, as
# measured), automargin still widens a margin that is too narrow (only a second drawing is lost), and
# tick labels may overflow (no figure here has labels past its edge).
_TICK_FONT_PX = 12.75  # Streamlit's theme: tick labels at 0.75 of the 17 px base size
_FONT_PX = 14.0  # the figures' own font
_CHAR_EM = 0.65  # per digit or "-": 0.47 em measured, the rest gaps that grow with the font
_LEFT_GAP_PX = 28.0  # beside y labels: the tick, the theme's 9 px pad, the labels' gap (34 px for one digit)
_BOTTOM_PX = (30.0, 1.4)  # under x labels: 30 px + 1.4 lines of tick font (44-48 px measured)
_TITLE_LEFT = (25.5, 0.55)  # a y title: the theme's standoff + 0.55 of the title font (76 px with "24")
_TITLE_BOTTOM_EM = 1.45  # an x title: 1.45 lines of the title font below the labels (68 px measured)
_SLIDER_PX = 120.0  # a scrubber's height below its plot at the 14 px font, as plotly.js measures it


def _labels(axis: dict) -> list[str] | None:
    """The tick labels an axis fixes (ticktext, else tickvals, a typed array decoded), None if it fixes none."""
    labels = axis.get("ticktext")
    if labels is None:
        labels = axis.get("tickvals")
    if isinstance(labels, dict):  # a base64 typed array
        try:
            labels = typed_array_values(labels).ravel().tolist()
        except (KeyError, TypeError, ValueError):
            return None
    span = axis.get("range")
    if labels is None and axis.get("dtick") == 1 and isinstance(span, (list, tuple)) and len(span) == 2:
        try:  # a grid's cell numbers: every integer the range shows
            low, high = sorted(float(v) for v in span)
        except (TypeError, ValueError):
            return None
        labels = list(range(math.ceil(low), math.floor(high) + 1))
    if labels is None or not len(labels):
        return None
    return [v if isinstance(v, str) else f"{v:g}" if isinstance(v, float) else str(v) for v in labels]


def _title_size(axis: dict, layout: dict) -> float | None:
    """The font size of an axis's title, None for an untitled axis."""
    title = axis.get("title")
    text = title.get("text") if isinstance(title, dict) else title
    if not text:
        return None
    font = (title.get("font") if isinstance(title, dict) else None) or {}
    return font.get("size") or (layout.get("font") or {}).get("size") or _FONT_PX


def _needed_margins(layout: dict) -> dict[str, int]:
    """{"l": px, "b": px} that plotly.js's automargin will ask for, from what the figure fixes."""
    need: dict[str, float] = {}
    for name, axis in layout.items():
        if not name.startswith(("xaxis", "yaxis")) or not isinstance(axis, dict):
            continue
        if axis.get("visible") is False or axis.get("showticklabels") is False:
            continue
        labels = _labels(axis)
        if labels is None:
            continue  # labels plotly.js picks itself: no telling their width here
        size = (axis.get("tickfont") or {}).get("size") or _TICK_FONT_PX
        title = _title_size(axis, layout)
        if name.startswith("yaxis") and axis.get("side", "left") == "left":
            width = _LEFT_GAP_PX + _CHAR_EM * size * max(len(t) for t in labels)
            if title:
                width += _TITLE_LEFT[0] + _TITLE_LEFT[1] * title
            need["l"] = max(need.get("l", 0.0), width)
        elif name.startswith("xaxis") and axis.get("side", "bottom") == "bottom":
            height = _BOTTOM_PX[0] + _BOTTOM_PX[1] * size + (_TITLE_BOTTOM_EM * title if title else 0.0)
            need["b"] = max(need.get("b", 0.0), height)
    height, top = layout.get("height"), (layout.get("margin") or {}).get("t", 100)
    for slider in (layout.get("sliders") or ()) if height else ():
        # A scrubber at y = -f (a fraction of the plot's height below it) needs S + f * plot height
        # below the plot, the plot's height being what the margins leave: b >= (S + f (H - t)) / (1 + f).
        below = max(0.0, -float(slider.get("y", 0.0)))
        size = _SLIDER_PX * ((layout.get("font") or {}).get("size") or _FONT_PX) / _FONT_PX
        need["b"] = max(need.get("b", 0.0), (size + below * (height - top)) / (1 + below))
    return {side: math.ceil(px) for side, px in need.items()}


def _drawn_once(fig: Any) -> Any:
    """A spec figure (or dict) with margins as wide as plotly.js will find they need and tick labels
    allowed to overflow, so that the browser draws it once (see above); other figures as they are.
    Shallow copies: the (cached, shared) spec is not changed."""
    spec = getattr(fig, "_spec", fig if isinstance(fig, dict) else None)
    if spec is None:
        return fig
    layout = dict(spec.get("layout") or {})
    for name in [k for k in layout if k.startswith(("xaxis", "yaxis")) and isinstance(layout[k], dict)]:
        layout[name] = {"ticklabeloverflow": "allow", **layout[name]}
    margin = dict(layout.get("margin") or {})
    for side, px in _needed_margins(layout).items():
        margin[side] = max(margin.get(side, 80), px)
    if margin:
        layout["margin"] = margin
    out = {**spec, "layout": layout}
    return out if isinstance(fig, dict) else type(fig)(out)


def chart(fig: go.Figure, *, where: Any = None, **kwargs: Any) -> Any:
    """`st.plotly_chart(fig, **kwargs)`, drawn once by the browser, restyled for the projector in
    presentation mode."""
    target = st if where is None else where
    return target.plotly_chart(_drawn_once(present_figure(fig) if is_presenting() else fig), **kwargs)


def _short_number(value: float) -> str:
    """A float in a table cell: '8', '0.0625', '-0.333333' (six significant digits, no '-0')."""
    if value != value:  # NaN
        return "—"
    text = f"{value:.6g}"
    return "0" if text == "-0" else text


MAX_HTML_TABLE_CELLS = 800  # a larger table stays a scrolling data frame, even on a projector

# A frame's Arrow form, kept while the frame lives: `st.dataframe` converts a pandas frame to Arrow on every
# run (~0.3 ms for a 3x3 frame, more for larger ones), while a frame from a cached view function is the same
# object run after run. Keyed by the frame's id; an entry goes when its frame does.
_ARROW: dict[int, tuple[weakref.ref, pa.Table]] = {}


def as_arrow(frame: Any) -> Any:
    """`frame` (a plain pandas DataFrame) as the Arrow table `st.dataframe` would make of it, made once per
    frame object; anything Arrow cannot take as is (mixed-type columns), and anything else, is returned
    unchanged for Streamlit to convert its own way."""
    key = id(frame)
    entry = _ARROW.get(key)
    if entry is not None and entry[0]() is frame:
        return entry[1]
    try:
        arrow = pa.Table.from_pandas(frame)
        ref = weakref.ref(frame, lambda _, key=key: _ARROW.pop(key, None))
    except (pa.ArrowException, TypeError, ValueError):
        return frame
    _ARROW[key] = (ref, arrow)
    return arrow


@lru_cache(maxsize=128)
def _grid_schema(rows: int, columns: int, dtype: str) -> pa.Schema:
    """The Arrow schema pandas gives a `rows` x `columns` frame of `dtype` with columns '0', '1', ...
    (its index metadata included), so that a grid built straight from NumPy is the very table
    `st.dataframe` would make of the frame."""
    frame = pd.DataFrame(np.zeros((rows, columns), dtype=dtype), columns=[str(c) for c in range(columns)])
    return pa.Table.from_pandas(frame).schema


def _grid_frame(values: np.ndarray) -> pd.DataFrame:
    """A 2D array as a frame with columns '0', '1', ..., the form of a grid `table` shows."""
    return pd.DataFrame(values, columns=[str(c) for c in range(values.shape[1])])


def _grid_arrow(values: np.ndarray) -> pa.Table:
    """`_grid_frame(values)` as Arrow, built from the columns without a pandas frame (~15 µs, not ~0.3 ms)."""
    schema = _grid_schema(*values.shape, values.dtype.str)
    return pa.Table.from_arrays([pa.array(values[:, c]) for c in range(values.shape[1])], schema=schema)


def _number_columns(dataframe_kwargs: dict[str, Any], names: list[str], number_format: str) -> None:
    """Add `number_format` to the column configuration of each column in `names`, keeping what the caller
    set for it (a width, a label)."""
    given = dict(dataframe_kwargs.get("column_config") or {})
    for name in names:
        given[name] = {
            **st.column_config.NumberColumn(format=number_format),
            **{k: v for k, v in (given.get(name) or {}).items() if v is not None},
        }
    dataframe_kwargs["column_config"] = given


def table(
    data: Any,
    *,
    where: Any = None,
    hide_index: bool = False,
    formats: dict[str, Any] | None = None,
    number_format: str | None = None,
    **dataframe_kwargs: Any,
) -> Any:
    """`st.dataframe(data, hide_index=..., **dataframe_kwargs)`; in presentation mode an HTML table.

    A data frame paints its cells into a canvas at the theme's type size (about 14 px, whatever the page's
    type size), too small for the back row; `st.table` is HTML, so its cells take the projector's type
    (about 23 px). `data`: a pandas DataFrame or Styler, or a 2D NumPy array of numbers (a grid, columns
    '0', '1', ..., sent as Arrow without a pandas frame). `formats`: column -> format ('{:,}' or a function)
    for the HTML table, where the data frame's column configuration does not apply. `number_format`: a
    printf-style format for every float column of a plain frame ("%.3f"), in both forms: a data frame takes
    it as column configuration, which costs nothing, where a Styler's formatting renders every cell in
    Python on every run (~25 ms for a 5x5 table). Only tables of at most `MAX_HTML_TABLE_CELLS` cells
    change: a larger one keeps its scroll bars.
    """
    target = st if where is None else where
    if isinstance(data, np.ndarray):  # a grid of numbers: columns '0', '1', ...
        if data.ndim != 2 or data.dtype.kind not in "biuf":
            raise TypeError(f"a grid is a 2D array of numbers, not {data.ndim}D {data.dtype}")
        if not is_presenting() or data.size > MAX_HTML_TABLE_CELLS:
            if number_format and data.dtype.kind == "f":
                _number_columns(dataframe_kwargs, [str(c) for c in range(data.shape[1])], number_format)
            return target.dataframe(_grid_arrow(data), hide_index=hide_index, **dataframe_kwargs)
        data = _grid_frame(data)
    frame = getattr(data, "data", data)  # a Styler's frame
    floats = []
    if frame is data:  # dtypes at once: a column lookup each builds a Series (~0.2 ms)
        floats = [c for c, kind in zip(frame.columns, frame.dtypes, strict=True) if kind.kind == "f"]
    if not is_presenting() or frame.size > MAX_HTML_TABLE_CELLS:
        if number_format and floats:
            # By name: Streamlit reads an integer key as a column's position.
            _number_columns(dataframe_kwargs, [str(c) for c in floats], number_format)
        return target.dataframe(
            as_arrow(data) if frame is data else data, hide_index=hide_index, **dataframe_kwargs
        )
    styler = data if frame is not data else frame.style
    if floats:  # a plain frame: its decimals as a data frame shows them (8, not 8.000000)
        cell = (lambda v: number_format % v) if number_format else _short_number
        styler = styler.format(cell, subset=floats)
    if formats:
        styler = styler.format({c: f for c, f in formats.items() if c in frame.columns})
    return target.table(styler, hide_index=hide_index)
