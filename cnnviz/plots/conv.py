"""Plotly figure builders: pure functions from arrays to `go.Figure`, no Streamlit.

Figures stay small on purpose (see the field notes on payloads): grids are at most a few dozen cells a
side, arrays are sent as float32, and the sliding-window animation updates only what moves (the window
overlay, the output filling in), never the static input.
"""

from __future__ import annotations

import base64
import functools
from collections.abc import Sequence

import numpy as np
import plotly.colors
import plotly.graph_objects as go

from cnnviz.conv.args import ConvGeometry
from cnnviz.conv.explain import window_positions
from cnnviz.plots.animation import play_buttons, scrubber
from cnnviz.plots.ink import ink_split, ink_traces
from cnnviz.plots.palette import HIGHLIGHT, HIGHLIGHT_WIDTH, ring_path
from cnnviz.plots.typed_arrays import typed_array
from cnnviz.topics.walkthrough import frame_plan

__all__ = [
    "NUMBERS_MAX_CELLS",
    "PrebuiltFigure",
    "frame_plan",
    "conv_walkthrough_figure",
    "conv_walkthrough_spec",
    "cell_picker_trace",
    "picked_cell",
    "subplot_layout",
    "typed_array",
    "signal_figure",
    "conv1d_signals_figure",
    "matrix_figure",
    "synced_images_figure",
]

NUMBERS_MAX_CELLS = 24  # a grid wider or taller than this shows colours only, no numbers

DIVERGING = "RdBu"
EMPTY = "#f1f2f4"
PADDING_GREY = "#d9dce1"
# Input and output of a 1D convolution: Okabe-Ito blue and orange, told apart with any colour vision.
SIGNAL_INPUT = "#0b4f8a"
SIGNAL_OUTPUT = "#e69f00"


def _fmt(values: np.ndarray) -> str:
    """A texttemplate that shows integers as integers and everything else with 2 decimals."""
    finite = values[np.isfinite(values)]
    if finite.size and np.allclose(finite, np.round(finite)):
        return "%{z:.0f}"
    return "%{z:.2f}"


def _rect(r0: float, c0: float, r1: float, c1: float) -> tuple[list[float], list[float]]:
    """x, y of a closed rectangle around cells r0..r1, c0..c1 (cell centres are integers)."""
    xs = [c0 - 0.5, c1 + 0.5, c1 + 0.5, c0 - 0.5, c0 - 0.5]
    ys = [r0 - 0.5, r0 - 0.5, r1 + 0.5, r1 + 0.5, r0 - 0.5]
    return xs, ys


class PrebuiltFigure(go.Figure):
    """A figure whose JSON-ready dict is already complete: `st.plotly_chart` sends it as is.

    Building a 100-frame animation through Plotly's property objects (validation, deep copies, base64
    conversion in `to_dict`) cost most of a control change; the spec dicts here are written directly in
    Plotly's schema, with arrays already as typed arrays, so only the JSON dump is left. Read-only: edit
    the dict (`to_dict()`), not the figure's properties.
    """

    def __init__(self, spec: dict | None = None, **_: object) -> None:
        # No go.Figure.__init__: it builds an empty layout and template (~3 ms) that nothing here reads.
        self._spec = spec if spec is not None else {"data": [], "layout": {}}

    def to_dict(self) -> dict:
        return self._spec

    def to_plotly_json(self) -> dict:
        return self._spec

    def __repr__(self) -> str:
        return f"PrebuiltFigure({len(self._spec.get('data', []))} traces, {len(self._spec.get('frames', []))} frames)"

    def __reduce__(self) -> tuple:
        return (self.__class__, (self._spec,))


@functools.lru_cache(maxsize=16)
def _named_scale(name: str) -> tuple[tuple[float, str], ...]:
    return tuple((float(v), c) for v, c in plotly.colors.get_colorscale(name))


def _colorscale(name: str) -> list[list]:
    """A named colour scale as explicit stops: plotly.js knows fewer names than plotly.py (no PuOr,
    no Oranges) and its RdBu differs from plotly.py's, and these dicts skip plotly.py's conversion."""
    return [list(stop) for stop in _named_scale(name)]


def _heatmap_spec(
    z: np.ndarray,
    *,
    axes: str = "",
    numbers: bool = False,
    colorscale: str | list = DIVERGING,
    limit: float | None = None,
    text_size: int = 14,
    hover: str | None = None,
    x: np.ndarray | None = None,
    y: np.ndarray | None = None,
    from_zero: bool = False,
) -> dict:
    """One heatmap trace as a plain dict; `axes` is '' for the first subplot, '2', '3' for the others.

    The colour range is -limit..limit around 0, or 0..limit with `from_zero` (counts).
    """
    trace: dict = {
        "type": "heatmap",
        "z": typed_array(np.asarray(z, dtype=np.float32)),
        "colorscale": _colorscale(colorscale) if isinstance(colorscale, str) else colorscale,
        "showscale": False,
        "xgap": 1,
        "ygap": 1,
        "xaxis": f"x{axes}",
        "yaxis": f"y{axes}",
    }
    if limit is not None and from_zero:
        trace.update(zmin=0.0, zmax=limit)
    elif limit is not None:
        trace.update(zmin=-limit, zmax=limit, zmid=0.0)
    if numbers:
        trace.update(texttemplate=_fmt(np.asarray(z)), textfont={"size": text_size})
    if hover is None:
        trace["hoverinfo"] = "skip"
    else:
        trace["hovertemplate"] = hover
    if x is not None:
        trace["x"] = typed_array(np.asarray(x, dtype=np.int16))
    if y is not None:
        trace["y"] = typed_array(np.asarray(y, dtype=np.int16))
    return trace


def _line_spec(
    xy: tuple[list[float], list[float]], axes: str = "", width: float = HIGHLIGHT_WIDTH, dash: str = "solid"
) -> dict:
    """A highlight outline (palette.HIGHLIGHT) along `xy` on subplot `axes`."""
    return {
        "type": "scatter",
        "x": xy[0],
        "y": xy[1],
        "mode": "lines",
        "line": {"color": HIGHLIGHT, "width": width, "dash": dash},
        "hoverinfo": "skip",
        "showlegend": False,
        "xaxis": f"x{axes}",
        "yaxis": f"y{axes}",
    }


def cell_picker_trace(rows: np.ndarray, cols: np.ndarray, kind: str, axes: str = "") -> dict:
    """Nearly invisible markers on cell centres, so a click on a cell is a selectable point.

    Streamlit reports selections on scatter points but not on heatmap cells (streamlit#8933). Each
    point carries `customdata` [kind, row, col], kind 0 for an input cell and 1 for an output cell.
    """
    rr, cc = np.meshgrid(rows, cols, indexing="ij")
    code = {"input": 0, "output": 1}[kind]
    custom = np.stack([np.full(rr.size, code), rr.ravel(), cc.ravel()], axis=1)
    invisible = {"marker": {"opacity": 0.02}}
    return {
        "type": "scatter",
        "x": typed_array(cc.ravel().astype(np.int16)),
        "y": typed_array(rr.ravel().astype(np.int16)),
        "customdata": custom.tolist(),
        "mode": "markers",
        "marker": {"size": 18, "symbol": "square", "color": "#000000", "opacity": 0.02},
        "selected": invisible,
        "unselected": invisible,
        "hovertemplate": f"click: pick {kind} cell (%{{y}}, %{{x}})<extra></extra>",
        "showlegend": False,
        "name": f"pick {kind}",
        "xaxis": "x" if kind == "input" else "x3",
        "yaxis": "y" if kind == "input" else "y3",
    }


def picked_cell(point: dict) -> tuple[str, int, int] | None:
    """('input' | 'output', row, col) from one point Streamlit reports for a click on a picker trace."""
    custom = point.get("customdata")
    if not isinstance(custom, (list, tuple)) or len(custom) != 3:
        return None
    kind, row, col = (int(v) for v in custom)
    return ("input" if kind == 0 else "output", row, col)


def subplot_layout(
    widths: Sequence[float], titles: Sequence[str], spacing: float = 0.04, title_shift: int = 30
) -> dict:
    """Axes and title annotations of one row of subplots whose widths are proportional to `widths`.

    Axis n is '' for the first subplot, then '2', '3', ...; each title sits `title_shift` px above its
    subplot (room for tick labels on top). Callers add ranges and styling to the axes it returns.
    """
    usable = 1.0 - spacing * (len(widths) - 1)
    total = float(sum(widths))
    layout: dict = {"annotations": []}
    start = 0.0
    for i, (width, title) in enumerate(zip(widths, titles, strict=True)):
        end = start + usable * width / total
        n = "" if i == 0 else str(i + 1)
        layout[f"xaxis{n}"] = {"anchor": f"y{n}", "domain": [start, min(end, 1.0)]}
        layout[f"yaxis{n}"] = {"anchor": f"x{n}", "domain": [0.0, 1.0]}
        layout["annotations"].append(
            {
                "text": title,
                "x": (start + end) / 2,
                "y": 1.0,
                "xref": "paper",
                "yref": "paper",
                "xanchor": "center",
                "yanchor": "bottom",
                "yshift": title_shift,
                "showarrow": False,
                "font": {"size": 15},
            }
        )
        start = end + spacing
    return layout


def conv_walkthrough_spec(
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
    pickable: bool = False,
    marked_input: tuple[int, int] | None = None,
    one_d: bool = False,
) -> dict:
    """Padded input, kernel and output side by side, with the window sliding over the input (a dict).

    `padded` (Hp, Wp) holds the input with its padding cells (flagged in `is_padding`), `kernel` (kh, kw),
    `output` (Ho, Wo). Input coordinates on the axes are the real input's (padding cells are negative or
    past the end). The animation is Plotly frames with a slider and play/pause, so scrubbing costs no
    server round trip. `selected` picks the output cell shown before playing (default: the first).
    `pickable` adds click targets on input and output cells (see `cell_picker_trace`); `marked_input`
    outlines one input cell (the one whose outputs the reverse view shows). `one_d` names a height-1
    walkthrough as a 1D convolution: positions, samples and taps instead of rows and columns.
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
    n_steps = ho * wo
    plan = frame_plan(n_steps, max_frames) if animate else []
    shown = selected if selected is not None else (0, 0)
    flat_output = output.ravel().astype(np.float32)

    def window_overlay(out_pos: tuple[int, int]) -> tuple[tuple[list, list], tuple[list[float], list[float]]]:
        """A ring on every input cell the window reads, and the outline of the window's span."""
        rings = ring_path(pos for _, pos in window_positions(out_pos, geometry))
        r0 = out_pos[0] * geometry.stride[0] - geometry.padding[0][0]
        c0 = out_pos[1] * geometry.stride[1] - geometry.padding[1][0]
        outline = _rect(r0, c0, r0 + geometry.span[0] - 1, c0 + geometry.span[1] - 1)
        return rings, outline

    def partial_output(done: int) -> np.ndarray:
        z = np.full(n_steps, np.nan, dtype=np.float32)
        z[:done] = flat_output[:done]
        return z.reshape(ho, wo)

    real_h = hp - geometry.padding[0][0] - geometry.padding[0][1]
    real_w = wp - geometry.padding[1][0] - geometry.padding[1][1]
    gap = 2
    layout = subplot_layout(
        [wp + gap, kw + gap, wo + gap],
        [
            f"input: {real_w} samples (grey: padding)",
            f"kernel: {kw} taps",
            f"output: {wo} samples",
        ]
        if one_d
        else [
            f"input {real_h}×{real_w} (grey: padding)",
            f"kernel {kh}×{kw}",
            f"output {ho}×{wo}",
        ],
    )
    overlay, outline = window_overlay(shown)
    done_initial = (shown[0] * wo + shown[1] + 1) if animate else n_steps
    base_in = _heatmap_spec(
        padded,
        numbers=numbers,
        limit=limit,
        text_size=text_size,
        hover="input position %{x}: %{z}<extra></extra>"
        if one_d
        else "input row %{y}, col %{x}: %{z}<extra></extra>",
        x=cols_in,
        y=rows_in,
    )
    pad_layer = _heatmap_spec(
        np.where(is_padding, 1.0, np.nan),
        colorscale=[[0, PADDING_GREY], [1, PADDING_GREY]],
        x=cols_in,
        y=rows_in,
    )
    if numbers and is_padding.any():
        pad_layer.update(
            text=np.where(is_padding, np.round(padded, 2).astype(str), "").tolist(),
            texttemplate="%{text}",
            textfont={"size": text_size, "color": "#555"},
        )
    window = _line_spec(overlay)
    kern = _heatmap_spec(
        kernel,
        axes="2",
        numbers=max(kh, kw) <= NUMBERS_MAX_CELLS,
        colorscale="PuOr",
        limit=max(float(np.abs(kernel).max(initial=0)), 1e-9),
        text_size=text_size,
        hover="kernel tap %{x}: %{z}<extra></extra>"
        if one_d
        else "kernel row %{y}, col %{x}: %{z}<extra></extra>",
    )
    out_numbers = max(ho, wo) <= NUMBERS_MAX_CELLS
    out = _heatmap_spec(
        partial_output(done_initial),
        axes="3",
        numbers=out_numbers,
        limit=out_limit,
        text_size=text_size,
        hover="output position %{x}: %{z}<extra></extra>"
        if one_d
        else "output row %{y}, col %{x}: %{z}<extra></extra>",
    )
    if out_numbers:  # the number format follows the whole output, not the cells filled so far
        out["texttemplate"] = _fmt(output)
    empty = _heatmap_spec(np.zeros((ho, wo)), axes="3", colorscale=[[0, EMPTY], [1, EMPTY]])
    data = [
        base_in,
        pad_layer,
        window,
        _line_spec(outline, width=2, dash="dot"),
        kern,
        empty,
        out,
        _line_spec(_rect(shown[0], shown[1], shown[0], shown[1]), "3"),
    ]
    moving = [2, 3, 6, 7]  # trace indices the frames update (and the output's ink layers, below)
    if marked_input is not None:
        r, c = marked_input
        data.append(_line_spec(_rect(r, c, r, c), "", width=HIGHLIGHT_WIDTH + 2))
    if pickable:
        data.append(cell_picker_trace(np.arange(real_h), np.arange(real_w), "input"))
        data.append(cell_picker_trace(np.arange(ho), np.arange(wo), "output", "3"))
    # Numbers in black or white by each cell's colour, drawn over every heatmap (padding has its own).
    if numbers:
        data.extend(ink_traces(base_in, 0, shown=~is_padding))
    if kern.get("texttemplate"):
        data.extend(ink_traces(kern, 4))
    out_ink: list[int] = []
    if out_numbers:
        out_ink = [len(data), len(data) + 1]
        data.extend(ink_traces(out, 6))
        moving += out_ink

    spec: dict = {"data": data, "layout": layout}
    if animate:
        frames = []
        for number, done in enumerate(plan):
            current = divmod(done - 1, wo)
            rings, line = window_overlay(current)
            box = _rect(current[0], current[1], current[0], current[1])
            so_far = partial_output(done)
            inks = ink_split(so_far, out["colorscale"], out["zmin"], out["zmax"]) if out_ink else ()
            frames.append(
                {
                    "name": str(number),
                    "data": [
                        {"type": "scatter", "x": rings[0], "y": rings[1]},
                        {"type": "scatter", "x": line[0], "y": line[1]},
                        {"type": "heatmap", "z": typed_array(so_far)},
                        {"type": "scatter", "x": box[0], "y": box[1]},
                        *({"type": "heatmap", "z": typed_array(z)} for z in inks),
                    ],
                    "traces": moving,
                }
            )
        spec["frames"] = frames
        if one_d:
            labels, prefix = [str((d - 1) % wo) for d in plan], "output position: "
        else:
            labels, prefix = ["{},{}".format(*divmod(d - 1, wo)) for d in plan], "output cell (row, col): "
        layout["updatemenus"] = [play_buttons(frame_ms, y=-0.08)]
        active = plan.index(done_initial) if done_initial in plan else 0
        layout["sliders"] = [scrubber(labels, prefix, x=0.18, y=-0.04, active=active)]

    rows = max(hp, kh, ho)
    cell_px = cell_px or int(min(52, max(16, 560 // rows)))
    layout.update(
        height=int(min(900, max(260, rows * cell_px + (170 if animate else 90)))),
        margin={"l": 10, "r": 10, "t": 70, "b": 10 if not animate else 90},
        plot_bgcolor="white",
        font={"size": 14},
        hovermode="closest",
    )
    if pickable:
        layout.update(clickmode="event+select", dragmode=False)
    # Same number of rows in every panel, so input, kernel and output cells are the same size.
    firsts = ((int(rows_in[0]), int(cols_in[0])), (0, 0), (0, 0))
    sizes = ((hp, wp), (kh, kw), (ho, wo))
    for i, ((r0, c0), (height, width)) in enumerate(zip(firsts, sizes, strict=True)):
        n = "" if i == 0 else str(i + 1)
        labelled = max(height, width) <= NUMBERS_MAX_CELLS
        layout[f"yaxis{n}"].update(
            range=[r0 - 0.5 + rows, r0 - 0.5],
            scaleanchor=f"x{n}",
            constrain="domain",
            showgrid=False,
            zeroline=False,
            fixedrange=pickable,
        )
        layout[f"xaxis{n}"].update(
            range=[c0 - 0.5, c0 - 0.5 + width],
            constrain="domain",
            showgrid=False,
            zeroline=False,
            side="top",
            fixedrange=pickable,
        )
        if labelled:
            layout[f"yaxis{n}"]["tickvals"] = list(range(r0, r0 + height))
            layout[f"xaxis{n}"]["tickvals"] = list(range(c0, c0 + width))
    return spec


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
    pickable: bool = False,
    marked_input: tuple[int, int] | None = None,
    one_d: bool = False,
) -> go.Figure:
    """`conv_walkthrough_spec` as a figure `st.plotly_chart` takes (a `PrebuiltFigure`)."""
    return PrebuiltFigure(
        conv_walkthrough_spec(
            padded,
            is_padding,
            kernel,
            output,
            geometry,
            padding_offset=padding_offset,
            frame_ms=frame_ms,
            max_frames=max_frames,
            selected=selected,
            animate=animate,
            cell_px=cell_px,
            pickable=pickable,
            marked_input=marked_input,
            one_d=one_d,
        )
    )


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


def conv1d_signals_figure(
    signal: np.ndarray, output: np.ndarray, centres: Sequence[float], title: str = ""
) -> go.Figure:
    """Input and output of a conv1d on one axis of input positions: output i at its window's centre.

    `centres` are those positions (`cnnviz.window_centres`), so a valid or strided output sits over the
    inputs it was made from instead of being squeezed to the left.
    """
    x_in = np.arange(len(signal))
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=x_in,
            y=np.asarray(signal, dtype=np.float32),
            mode="lines+markers",
            name="input",
            line={"color": SIGNAL_INPUT, "width": 2},
            marker={"color": SIGNAL_INPUT, "size": 8},
            hovertemplate="input at position %{x}: %{y}<extra></extra>",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=np.asarray(centres, dtype=np.float64),
            y=np.asarray(output, dtype=np.float32),
            mode="lines+markers",
            name="output (at window centre)",
            line={"color": SIGNAL_OUTPUT, "width": 3, "dash": "dot"},
            marker={"color": SIGNAL_OUTPUT, "size": 11, "symbol": "diamond"},
            customdata=np.arange(len(output)),
            hovertemplate="output %{customdata}, window centre %{x}: %{y}<extra></extra>",
        )
    )
    fig.update_layout(
        title=title,
        height=340,
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        xaxis_title="position along the input (samples); each output at the centre of its window",
        legend={"orientation": "h", "y": 1.12},
        font={"size": 14},
    )
    return fig


def matrix_figure(
    matrix: np.ndarray,
    title: str = "",
    numbers: bool | None = None,
    rows_are: str = "output (row)",
    columns_are: str = "columns: inputs",
) -> go.Figure:
    """A weight matrix as a grid: rows are outputs, columns inputs; zeros stay white, as in lecture 001.

    `rows_are` titles the row axis and `columns_are` is written under the title (a 1D page names them
    positions)."""
    rows, cols = matrix.shape
    numbers = max(rows, cols) <= 20 if numbers is None else numbers
    z = np.where(matrix == 0, np.nan, matrix).astype(np.float32)
    limit = max(float(np.nanmax(np.abs(z))) if np.isfinite(z).any() else 1.0, 1e-9)
    # A plain spec, not go.Figure objects: a new quiz question drew its matrix in ~35 ms through Plotly's
    # validation and copies, ~1 ms this way.
    heat = _heatmap_spec(
        z, colorscale="PuOr", limit=limit, hover="output %{y}, input %{x}: %{z}<extra></extra>"
    )
    data = [heat]
    if numbers:
        heat.update(texttemplate=_fmt(matrix), textfont={"size": 13})
        data.extend(ink_traces(heat, 0))
    cell = int(min(34, max(6, 620 // max(rows, cols, 1))))
    yaxis: dict = {
        "autorange": "reversed",
        "scaleanchor": "x",
        "constrain": "domain",
        "showgrid": False,
        "zeroline": False,
        "title": {"text": rows_are},
    }
    xaxis: dict = {"side": "top", "constrain": "domain", "showgrid": False, "zeroline": False}
    if rows <= 24:
        yaxis["tickvals"] = list(range(rows))
    if cols <= 24:
        xaxis["tickvals"] = list(range(cols))
    layout = {
        "xaxis": xaxis,
        "yaxis": yaxis,
        "title": {"text": f"{title}<br><sup>{columns_are}</sup>" if title else columns_are},
        "height": int(min(760, max(220, rows * cell + 130))),
        "margin": {"l": 10, "r": 10, "t": 80, "b": 10},
        "plot_bgcolor": "#fafafa",
        "font": {"size": 14},
    }
    return PrebuiltFigure({"data": data, "layout": layout})


def _plotly_text(text: str) -> str:
    """`text` (e.g. an uploaded file's name) shown literally: Plotly reads <a href>, <b> and entities in it."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


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
    import io

    from PIL import Image
    from plotly.subplots import make_subplots

    fig = make_subplots(
        rows=1,
        cols=2,
        shared_xaxes=True,
        shared_yaxes=True,
        horizontal_spacing=0.02,
        subplot_titles=[_plotly_text(t) for t in titles],
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


def _grid_axes(layout: dict, n: str, rows: int, cols: int, total_rows: int) -> None:
    """Square cells, row 0 at the top, integer ticks when the grid is small enough to read them."""
    layout[f"yaxis{n}"].update(
        range=[total_rows - 0.5, -0.5],
        scaleanchor=f"x{n}",
        constrain="domain",
        showgrid=False,
        zeroline=False,
        fixedrange=True,
    )
    layout[f"xaxis{n}"].update(
        range=[-0.5, cols - 0.5],
        constrain="domain",
        showgrid=False,
        zeroline=False,
        side="top",
        fixedrange=True,
    )
    if max(rows, cols) <= NUMBERS_MAX_CELLS:
        layout[f"yaxis{n}"]["tickvals"] = list(range(rows))
        layout[f"xaxis{n}"]["tickvals"] = list(range(cols))


def _marks_spec(cells: np.ndarray, axes: str, color: str = "#d62728") -> dict:
    """An X on every True cell of a (rows, cols) mask."""
    rr, cc = np.nonzero(cells)
    return {
        "type": "scatter",
        "x": typed_array(cc.astype(np.int16)),
        "y": typed_array(rr.astype(np.int16)),
        "mode": "markers",
        "marker": {"symbol": "x-thin", "size": 16, "line": {"width": 3, "color": color}},
        "hoverinfo": "skip",
        "showlegend": False,
        "xaxis": f"x{axes}",
        "yaxis": f"y{axes}",
    }


def grids_figure(
    panels: Sequence[tuple[str, np.ndarray]],
    *,
    marks: Sequence[np.ndarray | None] | None = None,
    colorscale: str = DIVERGING,
    shared_limit: bool = True,
    from_zero: bool = False,
    numbers: Sequence[bool] | None = None,
    limits: Sequence[float] | None = None,
    hover: str = "row %{y}, col %{x}: %{z}<extra></extra>",
    cell_px: int | None = None,
) -> go.Figure:
    """Several (title, grid) panels side by side, with an X on the cells a `marks` mask flags.

    Grids are (rows, cols); numbers are written in the cells when a grid is at most
    `NUMBERS_MAX_CELLS` a side. One colour scale across panels when `shared_limit`, so equal values look
    equal; `limits` sets each panel's colour limit instead.
    """
    grids = [np.asarray(z, dtype=float) for _, z in panels]
    if limits is None:
        limits = [max(float(np.nanmax(np.abs(z), initial=0)), 1e-9) for z in grids]
        if shared_limit:
            limits = [max(limits)] * len(grids)
    layout = subplot_layout([z.shape[1] + 1 for z in grids], [title for title, _ in panels], spacing=0.05)
    total_rows = max(z.shape[0] for z in grids)
    data = []
    for i, z in enumerate(grids):
        n = "" if i == 0 else str(i + 1)
        show_numbers = max(z.shape) <= NUMBERS_MAX_CELLS and (numbers is None or numbers[i])
        panel = _heatmap_spec(
            z,
            axes=n,
            numbers=show_numbers,
            from_zero=from_zero,
            colorscale=colorscale,
            limit=limits[i],
            text_size=13 if max(z.shape) > 10 else 15,
            hover=hover,
        )
        data.append(panel)
        if show_numbers:
            data.extend(ink_traces(panel, len(data) - 1))
        _grid_axes(layout, n, z.shape[0], z.shape[1], total_rows)
        mask = None if marks is None else marks[i]
        if mask is not None and mask.any():
            data.append(_marks_spec(mask, n))
    cell_px = cell_px or int(min(44, max(14, 420 // total_rows)))
    layout.update(
        height=int(min(700, max(220, total_rows * cell_px + 90))),
        margin={"l": 10, "r": 10, "t": 70, "b": 10},
        plot_bgcolor="white",
        font={"size": 14},
    )
    return PrebuiltFigure({"data": data, "layout": layout})
