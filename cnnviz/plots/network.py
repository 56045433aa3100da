"""Plotly figures for the network builder: pure functions from numbers and arrays to `go.Figure`.

Kept small for the wire (see the field notes on payloads): the input picture goes as one PNG, masks
as uint8, gradients as float32; no figure here animates.
"""

from __future__ import annotations

import base64
import functools
import importlib.util
import io
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import plotly.graph_objects as go

from cnnviz.plots.palette import HIGHLIGHT, HIGHLIGHT_FILL, HIGHLIGHT_WIDTH

__all__ = [
    "field_growth_figure",
    "region_figure",
    "region_signal_figure",
    "erf_figure",
    "params_figure",
    "network_diagram_figure",
    "diagram_svg",
    "diagram_png",
    "DIAGRAM_PNG_FONT_PX",
]

ORANGE = "#e8590c"
VEIL = "rgba(255, 255, 255, 0.62)"  # over the input cells a unit does not read
PADDING_FILL = "rgba(120, 126, 135, 0.35)"
FONT = {"size": 16}
Span = tuple[int, int]  # (start, stop) along one axis, stop exclusive


def _png(image: np.ndarray) -> str:
    """An (H, W, 3) uint8 picture as a PNG data URI: a few kB where a typed array would be H*W*3 bytes."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(image, dtype=np.uint8)).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _readable(fig: go.Figure) -> go.Figure:
    """Large type on every axis and legend: Streamlit's theme sets small tick fonts that override `font`."""
    fig.update_xaxes(tickfont=FONT, title_font=FONT)
    fig.update_yaxes(tickfont=FONT, title_font=FONT)
    fig.update_layout(legend_font=FONT, hoverlabel_font=FONT)
    return fig


def _box(rows: Span, cols: Span, **style: object) -> dict[str, object]:
    """A layout rectangle around cells rows[0]..rows[1]-1, cols[0]..cols[1]-1 (cell centres are integers)."""
    return {
        "type": "rect",
        "x0": cols[0] - 0.5,
        "x1": cols[1] - 0.5,
        "y0": rows[0] - 0.5,
        "y1": rows[1] - 0.5,
        **style,
    }


def field_growth_figure(
    labels: Sequence[str],
    sizes: Sequence[Sequence[int]],
    jumps: Sequence[Sequence[int]],
    input_extent: Sequence[int],
    axis_names: Sequence[str] = ("height", "width"),
) -> go.Figure:
    """Receptive-field size r and jump j after each layer, with the input's extent as a dotted line.

    `sizes[i]` and `jumps[i]` hold one value per input axis after step `labels[i]`; axes that always agree
    are drawn once, and steps that change neither r nor j are left out.
    """
    r = np.asarray(sizes, dtype=np.int64).reshape(len(labels), -1)
    j = np.asarray(jumps, dtype=np.int64).reshape(len(labels), -1)
    # Steps that change neither r nor j (activations, batch norm) add a point but no information.
    keep = [0] + [i for i in range(1, len(labels)) if (r[i] != r[i - 1]).any() or (j[i] != j[i - 1]).any()]
    labels, r, j = [labels[i] for i in keep], r[keep], j[keep]
    same = r.shape[1] == 1 or (bool((r == r[:, :1]).all()) and bool((j == j[:, :1]).all()))
    axes = [0] if same else list(range(r.shape[1]))
    x = list(range(len(labels)))
    fig = go.Figure()
    for a in axes:
        suffix = "" if same else f" ({axis_names[a] if a < len(axis_names) else a})"
        fig.add_trace(
            go.Scatter(
                x=x, y=r[:, a].tolist(), mode="lines+markers+text" if len(x) <= 16 else "lines+markers",
                name=f"receptive field r{suffix}", text=[str(v) for v in r[:, a]], textposition="top center",
                line={"color": ORANGE if a == 0 else "#7048e8", "width": 3}, marker={"size": 9},
                hovertemplate="%{customdata}<br>r = %{y}<extra></extra>", customdata=list(labels),
            )
        )  # fmt: skip
        fig.add_trace(
            go.Scatter(
                x=x, y=j[:, a].tolist(), mode="lines+markers", name=f"jump j{suffix}",
                line={"color": "#1c7ed6" if a == 0 else "#66a80f", "width": 2, "dash": "dash"},
                hovertemplate="%{customdata}<br>jump = %{y}<extra></extra>", customdata=list(labels),
            )
        )  # fmt: skip
    extent = max(input_extent) if len(input_extent) else 0
    if extent:
        fig.add_hline(
            y=extent, line={"color": "#495057", "dash": "dot"},
            annotation_text=f"input: {' x '.join(map(str, input_extent))}", annotation_position="top left",
        )  # fmt: skip
    fig.update_xaxes(tickvals=x, ticktext=list(labels), title=None, showgrid=False)
    fig.update_yaxes(title="input cells", rangemode="tozero")
    fig.update_layout(
        height=400, margin={"l": 10, "r": 10, "t": 30, "b": 10}, font=FONT,
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0}, plot_bgcolor="#fbfbfc",
    )  # fmt: skip
    _readable(fig)
    if len(x) > 8:  # after _readable: long runs of labels need smaller, slanted type
        fig.update_xaxes(tickangle=-45, tickfont={"size": 13 if len(x) > 14 else 15})
    return fig


def region_figure(
    image: np.ndarray,
    mask: np.ndarray,
    clipped: Sequence[Span] | None,
    unclipped: Sequence[Span] | None,
    title: str = "",
) -> go.Figure:
    """The input picture (H, W, 3) uint8 with the cells one unit reads (`mask` (H, W) bool) in full colour
    and the rest faded; `clipped` outlined, the formula's window `unclipped` dashed, grey outside the input.
    """
    h, w = mask.shape
    fig = go.Figure(go.Image(source=_png(image), hoverinfo="skip"))
    fig.add_trace(
        go.Heatmap(
            z=mask.astype(np.uint8), zmin=0, zmax=1, showscale=False, hoverinfo="skip",
            colorscale=[[0, VEIL], [1, "rgba(0,0,0,0)"]],
        )
    )  # fmt: skip
    x_lo, x_hi, y_lo, y_hi = -0.5, w - 0.5, -0.5, h - 0.5
    shapes = []
    if unclipped is not None:
        (r0, r1), (c0, c1) = unclipped
        shapes.append(_box((r0, r1), (c0, c1), fillcolor=PADDING_FILL, line={"width": 0}, layer="below"))
        shapes.append(_box((r0, r1), (c0, c1), line={"color": "#343a40", "width": 2, "dash": "dash"}))
        x_lo, x_hi = min(x_lo, c0 - 0.5), max(x_hi, c1 - 0.5)
        y_lo, y_hi = min(y_lo, r0 - 0.5), max(y_hi, r1 - 0.5)
    shapes.append(_box((0, h), (0, w), line={"color": "#212529", "width": 1}))
    if clipped is not None:
        (r0, r1), (c0, c1) = clipped
        shapes.append(_box((r0, r1), (c0, c1), line={"color": HIGHLIGHT, "width": HIGHLIGHT_WIDTH}))
    margin = max(1.0, 0.03 * max(x_hi - x_lo, y_hi - y_lo))
    fig.update_xaxes(range=[x_lo - margin, x_hi + margin], showgrid=False, zeroline=False, title="column")
    fig.update_yaxes(
        range=[y_hi + margin, y_lo - margin], showgrid=False, zeroline=False, title="row",
        scaleanchor="x", constrain="domain",
    )  # fmt: skip
    fig.update_layout(
        shapes=shapes, height=460, margin={"l": 10, "r": 10, "t": 40 if title else 10, "b": 10},
        title=title or None, font=FONT, plot_bgcolor="white",
    )  # fmt: skip
    return _readable(fig)


def region_signal_figure(
    signal: np.ndarray,
    mask: np.ndarray,
    clipped: Sequence[Span] | None,
    unclipped: Sequence[Span] | None,
    title: str = "",
) -> go.Figure:
    """A 1D input (L,) with the positions one unit reads (`mask` (L,) bool) in the highlight green, `clipped` shaded,
    and the formula's window `unclipped` dashed, reaching into the padding (grey) where it does.
    """
    n = len(signal)
    x = np.arange(n)
    y = np.asarray(signal, dtype=np.float32)
    fig = go.Figure(
        go.Scatter(x=x, y=y, mode="lines+markers", name="input", line={"color": "#868e96"},
                   marker={"size": 6 if n <= 100 else 3}, hovertemplate="position %{x}<extra></extra>")
    )  # fmt: skip
    read = np.flatnonzero(mask)
    fig.add_trace(
        go.Scatter(x=read, y=y[read], mode="markers", name="read by the unit",
                   marker={"color": HIGHLIGHT, "size": 11 if n <= 100 else 6})
    )  # fmt: skip
    lo, hi = -0.5, n - 0.5
    if unclipped is not None:
        (a, b), *_ = unclipped
        fig.add_vrect(x0=a - 0.5, x1=b - 0.5, fillcolor=PADDING_FILL, line={"width": 2, "dash": "dash"},
                      layer="below")  # fmt: skip
        fig.add_vrect(x0=-0.5, x1=n - 0.5, fillcolor="white", line={"width": 1}, layer="below")
        lo, hi = min(lo, a - 0.5), max(hi, b - 0.5)
    if clipped is not None:
        (a, b), *_ = clipped
        fig.add_vrect(x0=a - 0.5, x1=b - 0.5, fillcolor=HIGHLIGHT_FILL, line={"width": 0})
    margin = max(1.0, 0.02 * (hi - lo))
    fig.update_xaxes(range=[lo - margin, hi + margin], title="position", zeroline=False)
    fig.update_yaxes(showticklabels=False, zeroline=False)
    fig.update_layout(
        height=320, margin={"l": 10, "r": 10, "t": 40 if title else 10, "b": 10}, title=title or None,
        font=FONT, legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0},
        plot_bgcolor="#eef0f2",
    )  # fmt: skip
    return _readable(fig)


def erf_figure(gradient: np.ndarray, unclipped: Sequence[Span] | None, title: str = "") -> go.Figure:
    """|d unit / d input| as a heatmap (H, W) or bars (L,), with the theoretical window dashed."""
    g = np.asarray(gradient, dtype=np.float32)
    fig = go.Figure()
    if g.ndim == 1:
        fig.add_trace(
            go.Bar(y=g, marker={"color": "#1c7ed6"}, hovertemplate="position %{x}: %{y:.3g}<extra></extra>")
        )
        if unclipped is not None:
            (a, b), *_ = unclipped
            fig.add_vrect(x0=a - 0.5, x1=b - 0.5, line={"color": "#343a40", "width": 2, "dash": "dash"})
        fig.update_xaxes(title="position")
        fig.update_yaxes(title="|gradient|")
        height = 320
    else:
        h, w = g.shape
        fig.add_trace(
            go.Heatmap(
                z=g, colorscale="Blues", showscale=True, colorbar={"title": {"text": "|grad|"}},
                hovertemplate="row %{y}, col %{x}: %{z:.3g}<extra></extra>",
            )
        )  # fmt: skip
        x_lo, x_hi, y_lo, y_hi = -0.5, w - 0.5, -0.5, h - 0.5
        fig.add_shape(_box((0, h), (0, w), line={"color": "#212529", "width": 1}))  # the input's border
        if unclipped is not None:
            (r0, r1), (c0, c1) = unclipped
            fig.add_shape(
                _box((r0, r1), (c0, c1), line={"color": HIGHLIGHT, "width": HIGHLIGHT_WIDTH, "dash": "dash"})
            )
            x_lo, x_hi = min(x_lo, c0 - 0.5), max(x_hi, c1 - 0.5)
            y_lo, y_hi = min(y_lo, r0 - 0.5), max(y_hi, r1 - 0.5)
        fig.update_xaxes(range=[x_lo - 0.5, x_hi + 0.5], showgrid=False, zeroline=False, title="column")
        fig.update_yaxes(
            range=[y_hi + 0.5, y_lo - 0.5], showgrid=False, zeroline=False, title="row",
            scaleanchor="x", constrain="domain",
        )  # fmt: skip
        height = 460
    fig.update_layout(
        height=height, margin={"l": 10, "r": 10, "t": 40 if title else 10, "b": 10}, title=title or None,
        font=FONT, plot_bgcolor="white",
    )  # fmt: skip
    return _readable(fig)


def params_figure(labels: Sequence[str], params: Sequence[int]) -> go.Figure:
    """Parameter counts as horizontal bars on a log axis, the first (the stack) in orange.

    The axis starts a decade below the smallest count, so the smallest bar still shows, and ends with
    room for the numbers written after the bars.
    """
    colours = [ORANGE] + ["#1c7ed6"] * (len(labels) - 1)
    values = [float(max(int(p), 1)) for p in params]  # floats: counts past 2**63 still serialise
    low = math.floor(math.log10(min(values))) - 1 if values else 0
    high = math.log10(max(values)) + 0.45 if values else 1
    fig = go.Figure(
        go.Bar(
            y=list(labels), x=values, orientation="h", marker={"color": colours}, cliponaxis=False,
            text=[f"{int(p):,}" for p in params], textposition="outside", textfont={"size": 20},
            hovertemplate="%{y}: %{text} parameters<extra></extra>",
        )
    )  # fmt: skip
    fig.update_xaxes(type="log", title="parameters (log scale)", range=[low, high])
    fig.update_yaxes(autorange="reversed")
    fig.update_layout(
        height=90 + 70 * len(labels), margin={"l": 10, "r": 10, "t": 10, "b": 10}, font=FONT,
        plot_bgcolor="#fbfbfc",
    )  # fmt: skip
    return _readable(fig)


# --------------------------------------------------------------------------------------------------
# The network as a diagram
# --------------------------------------------------------------------------------------------------

# Colour-blind-safe fills per kind of block (Okabe-Ito, lightened), readable with black text.
BLOCK_FILL = {
    "input": "#e9ecef",
    "conv": "#bcd9f2",
    "pool": "#f7d8a8",
    "dense": "#d9c8ec",
    "merge": "#b9e4d6",
    "up": "#f6c6d8",
    "other": "#eeeeee",
}
ERROR_FILL, MUTED_FILL = "#ffc9c9", "#f8f9fa"
BOX_W, BOX_H = 0.9, 0.72  # of a column and a row


def _fill(block: object) -> str:
    status, category = block.status, block.category  # type: ignore[attr-defined]
    return (
        ERROR_FILL if status == "error" else MUTED_FILL if status == "not computed" else BLOCK_FILL[category]
    )


def _edge_path(a: object, b: object) -> tuple[list[float], list[float]]:
    """Points of an arrow from block a's right side to block b's left side; a skip over several columns
    in the same row arcs above the blocks between."""
    x0, y0 = a.column + BOX_W / 2, a.row  # type: ignore[attr-defined]
    x1, y1 = b.column - BOX_W / 2, b.row  # type: ignore[attr-defined]
    if b.lane != a.lane:  # type: ignore[attr-defined]
        # down the gap before the target's lane, back along it to the gap left of the target, then in:
        # no line crosses the boxes (a shortcut into a lane's second column runs above its first box)
        gap = b.row - BOX_H / 2 - 0.12 if b.column == 0 else b.row - 0.5  # type: ignore[attr-defined]
        left = -0.5 + 0.04 if b.column == 0 else x1 - (1 - BOX_W) / 2  # type: ignore[attr-defined]
        return [x0, x0 + 0.06, x0 + 0.06, left, left, x1], [y0, y0, gap, gap, y1, y1]
    if y0 == y1 and b.column - a.column > 1:  # type: ignore[attr-defined]
        top = y0 - BOX_H / 2 - 0.16
        return [x0 - 0.1, x0 - 0.1, x1 + 0.1, x1 + 0.1], [y0 - BOX_H / 2, top, top, y1 - BOX_H / 2]
    mid = (x0 + x1) / 2
    return [x0, mid, mid, x1], [y0, y0, y1, y1]


def network_diagram_figure(
    diagram: object,
    selected: int | None = None,
    title: str = "",
    row_px: int = 66,
    max_height: int | None = 410,
    layers_px: int | None = None,
) -> go.Figure:
    """Blocks (`cnnviz.network.diagram`) as boxes labelled with their layers over their output shape,
    arrows for what each reads (skips arc above), the `selected` node's block outlined in the highlight green.

    `row_px` pixels per row of blocks, the whole at most `max_height` (None: as tall as the rows need;
    a projector's larger type needs taller boxes). The layers folded into a block are a lighter line;
    `layers_px` sets the size of the layer lines (the shape keeps the figure's font), to fit narrow boxes.

    One scatter point sits in each box so a click on it selects its node (customdata: the node index).
    """
    blocks, edges = diagram.blocks, diagram.edges  # type: ignore[attr-defined]
    fig = go.Figure()
    xs, ys = [], []
    for edge in edges:
        a, b = blocks[edge.source], blocks[edge.target]
        ex, ey = _edge_path(a, b)
        xs += [*ex, None]
        ys += [*ey, None]
    fig.add_trace(
        go.Scatter(x=xs, y=ys, mode="lines", line={"color": "#495057", "width": 2}, hoverinfo="skip",
                   showlegend=False)
    )  # fmt: skip
    heads = [(blocks[e.target].column - BOX_W / 2, blocks[e.target].row) for e in edges]
    fig.add_trace(
        go.Scatter(
            x=[h[0] for h in heads], y=[h[1] if blocks[e.target].row == blocks[e.source].row or
                                        blocks[e.target].column - blocks[e.source].column <= 1 else
                                        h[1] - BOX_H / 2 for h, e in zip(heads, edges, strict=True)],
            mode="markers", marker={"symbol": "triangle-right", "size": 11, "color": "#495057"},
            hoverinfo="skip", showlegend=False,
        )
    )  # fmt: skip
    shapes, notes = [], []
    for block in blocks:
        x, y = block.column, block.row
        chosen = selected is not None and block.index == selected
        shapes.append(
            {"type": "rect", "x0": x - BOX_W / 2, "x1": x + BOX_W / 2, "y0": y - BOX_H / 2, "y1": y + BOX_H / 2,
             "fillcolor": _fill(block), "layer": "below",
             "line": {"color": HIGHLIGHT if chosen else "#c92a2a" if block.status == "error" else "#343a40",
                      "width": 5 if chosen else 1.5}}
        )  # fmt: skip
        head, _, folded = block.title.partition(" · ")
        size = f"font-size:{layers_px}px;" if layers_px else ""
        lines = [f"<span style='{size}'>{head}</span>" if size else head,
                 *([f"<span style='{size}color:#495057'>{folded}</span>"] if folded else []),
                 f"<b>{block.shape}</b>"]  # fmt: skip
        notes.append(
            {"x": x, "y": y, "text": "<br>".join(lines), "showarrow": False,
             "font": {"size": 13, "color": "#212529"}, "xanchor": "center", "yanchor": "middle"}
        )  # fmt: skip
    fig.add_trace(
        go.Scatter(
            x=[b.column for b in blocks], y=[b.row for b in blocks], mode="markers",
            marker={"symbol": "square", "size": 40, "color": "rgba(0,0,0,0.01)"},
            customdata=[b.index for b in blocks],
            hovertemplate=[f"{'rows ' + ', '.join(map(str, b.nodes)) if b.nodes else 'the input'}: "
                           f"{b.title} → {b.shape}<extra></extra>" for b in blocks],
            showlegend=False, name="blocks",
        )
    )  # fmt: skip
    rows = max(diagram.rows, 1)  # type: ignore[attr-defined]
    height = 90 + row_px * rows if max_height is None else min(90 + row_px * rows, max_height)
    fig.update_xaxes(range=[-0.55, diagram.columns - 0.45], visible=False, fixedrange=True)  # type: ignore[attr-defined]
    fig.update_yaxes(range=[rows - 0.45, -0.75], visible=False, fixedrange=True)
    fig.update_layout(
        shapes=shapes, annotations=notes, height=height, title=title or None,
        margin={"l": 4, "r": 4, "t": 36 if title else 6, "b": 4}, plot_bgcolor="white", font=FONT,
        clickmode="event+select", dragmode=False, hoverlabel_font=FONT,
    )  # fmt: skip
    return fig


def diagram_svg(diagram: object, column_px: int = 150, row_px: int = 86) -> str:
    """The same diagram as a standalone SVG file (boxes, arrows, labels): for slides and handouts."""
    from html import escape

    blocks, edges = diagram.blocks, diagram.edges  # type: ignore[attr-defined]
    width = column_px * diagram.columns + 20  # type: ignore[attr-defined]
    height = row_px * max(diagram.rows, 1) + 40  # type: ignore[attr-defined]

    def px(x: float, y: float) -> tuple[float, float]:
        return 10 + (x + 0.5) * column_px, 30 + (y + 0.25) * row_px

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" font-family="sans-serif">',
           '<defs><marker id="a" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
           'orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#495057"/></marker></defs>']  # fmt: skip
    for edge in edges:
        ex, ey = _edge_path(blocks[edge.source], blocks[edge.target])
        points = " ".join(f"{a:.1f},{b:.1f}" for a, b in (px(x, y) for x, y in zip(ex, ey, strict=True)))
        out.append(
            f'<polyline points="{points}" fill="none" stroke="#495057" stroke-width="2" marker-end="url(#a)"/>'
        )
    for block in blocks:
        x, y = px(block.column - BOX_W / 2, block.row - BOX_H / 2)
        cx, cy = px(block.column, block.row)
        out.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{BOX_W * column_px:.1f}" height="{BOX_H * row_px:.1f}" rx="4" '
            f'fill="{_fill(block)}" stroke="#343a40"/>'
        )
        out.append(
            f'<text x="{cx:.1f}" y="{cy - 4:.1f}" font-size="12" text-anchor="middle">{escape(block.title)}</text>'
        )
        out.append(
            f'<text x="{cx:.1f}" y="{cy + 13:.1f}" font-size="13" font-weight="bold" text-anchor="middle">'
            f"{escape(block.shape)}</text>"
        )
    out.append("</svg>")
    return "\n".join(out) + "\n"


DIAGRAM_PNG_FONT_PX = 18  # the smallest label of the PNG: readable on a slide at the back of a room
_PNG_LINE = "#495057"


@functools.cache
def _font_file(bold: bool) -> str | None:
    """DejaVu Sans (it has ×, →, ·, ✗): matplotlib's copy, a dependency, so every machine draws the same;
    else the system's; None when neither is there."""
    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    spec = importlib.util.find_spec("matplotlib")
    folders = (spec.submodule_search_locations or []) if spec is not None else []
    for folder in folders:
        path = Path(folder) / "mpl-data" / "fonts" / "ttf" / name
        if path.is_file():
            return str(path)
    from PIL import ImageFont

    try:
        return str(ImageFont.truetype(name, 10).path)
    except OSError:
        return None


@functools.cache
def _png_font(size: int, bold: bool = False):  # noqa: ANN202 - a PIL font
    from PIL import ImageFont

    path = _font_file(bold)
    return ImageFont.truetype(path, size) if path else ImageFont.load_default(size=size)


_ASCII = str.maketrans({"×": "x", "→": "->", "·": "-", "✗": "X", "—": "-"})


def _fitted(draw, text: str, width: float, size: int, bold: bool = False):  # noqa: ANN001, ANN202
    """`text` and a font that fits it in `width` pixels: smaller type down to 3/4 of `size`, then cut."""
    if _font_file(bold) is None:
        text = text.translate(_ASCII)  # Pillow's own font has no glyphs for these
    for px in range(size, max(size * 3 // 4, 1) - 1, -1):
        font = _png_font(px, bold)
        if draw.textlength(text, font=font) <= width:
            return text, font
    while len(text) > 1 and draw.textlength(text + "…", font=font) > width:
        text = text[:-1]
    return text + "…", font


def diagram_png(diagram: object, column_px: int = 240, row_px: int = 120, scale: int = 1) -> bytes:
    """The diagram as PNG bytes, drawn from its own layout like `diagram_svg` (boxes in their kind's
    colour, arrows, each block's layers and output shape): labels of at least DIAGRAM_PNG_FONT_PX pixels
    (times `scale`), for slides and handouts. Size: (column_px * columns + 20, row_px * rows + 20) * scale.
    """
    from PIL import Image, ImageDraw

    blocks, edges = diagram.blocks, diagram.edges  # type: ignore[attr-defined]
    width = (column_px * diagram.columns + 20) * scale  # type: ignore[attr-defined]
    height = (row_px * max(diagram.rows, 1) + 20) * scale  # type: ignore[attr-defined]
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)

    def px(x: float, y: float) -> tuple[float, float]:  # y from -0.6: the arcs above the first row
        return (10 + (x + 0.5) * column_px) * scale, (10 + (y + 0.6) * row_px) * scale

    for edge in edges:
        ex, ey = _edge_path(blocks[edge.source], blocks[edge.target])
        points = [px(x, y) for x, y in zip(ex, ey, strict=True)]
        draw.line(points, fill=_PNG_LINE, width=2 * scale, joint="curve")
        (ax, ay), (bx, by) = points[-2], points[-1]
        length = math.hypot(bx - ax, by - ay) or 1.0
        ux, uy = (bx - ax) / length, (by - ay) / length
        head, half = 11 * scale, 5 * scale
        draw.polygon(
            [(bx, by), (bx - head * ux - half * uy, by - head * uy + half * ux),
             (bx - head * ux + half * uy, by - head * uy - half * ux)], fill=_PNG_LINE,
        )  # fmt: skip
    font_px = DIAGRAM_PNG_FONT_PX * scale
    inner = (BOX_W * column_px - 12) * scale
    for block in blocks:
        x0, y0 = px(block.column - BOX_W / 2, block.row - BOX_H / 2)
        x1, y1 = px(block.column + BOX_W / 2, block.row + BOX_H / 2)
        outline = "#c92a2a" if block.status == "error" else "#343a40"
        draw.rounded_rectangle((x0, y0, x1, y1), radius=5 * scale, fill=_fill(block), outline=outline,
                               width=max(1, round(1.5 * scale)))  # fmt: skip
        head, _, folded = block.title.partition(" · ")
        lines = [(head, font_px, False), *([(folded, font_px, False)] if folded else []),
                 (block.shape, font_px + 2 * scale, True)]  # fmt: skip
        fitted = [(*_fitted(draw, text, inner, size, bold), size) for text, size, bold in lines]
        gap = 4 * scale
        total = sum(size for *_, size in fitted) + gap * (len(fitted) - 1)
        cx, top = (x0 + x1) / 2, (y0 + y1) / 2 - total / 2
        for text, font, size in fitted:
            draw.text((cx, top + size / 2), text, fill="#212529", font=font, anchor="mm")
            top += size + gap
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()
