"""Grids that answer a pointer in the browser: what the hover grid component draws (no Streamlit).

A hover grid is a few panels of cells (input, kernel, output, ...) and a list of links. A link says: when
the pointer is on this cell, outline these cells and write this line. The browser resolves every hover
from the links alone, so pointing costs no server round trip; only a click (to pin a cell) reruns the page.

The spec is plain JSON-ready data:

- ``panels``: ``[{"id", "title", "rows", "cols", "text": [[str]], "fill": [[css colour]], "ink": [[css
  colour]], "row0", "col0"}]``; ``row0``/``col0`` are the coordinates of the panel's first cell (negative
  where padding comes first), so that labels name the cells as the rest of the page does.
- ``links``: ``[{"o": [panel, row, col], "r": [i, row, col, i, row, col, ...], "a": [panel, ...], "t": line}]``;
  rows and columns index the panel's cells from 0; ``r`` is flat, three numbers a cell (``i`` the panel's
  index in ``panels``), which keeps a large layer's links a few hundred kB; ``a`` (optional) names panels
  lit whole (the kernel); ``s`` (optional) marks cells apart, in the same flat form (max pooling's
  winner). `reads` turns ``r`` back into ``(panel, row, col)`` cells.
- ``pinned``: the link source drawn when the pointer is elsewhere (the cell the page's other views show).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import plotly.colors

from cnnviz.conv.explain import OutputExplanation, Tap, window_positions
from cnnviz.conv.numbers import number_text
from cnnviz.plots.palette import HIGHLIGHT, ink_for
from cnnviz.topics.channels import ChannelsView, channel_sums
from cnnviz.topics.pooling import PoolWalkthrough
from cnnviz.topics.transposed import TransposedView
from cnnviz.topics.walkthrough import ConvWalkthrough

__all__ = [
    "MAX_HOVER_READS",
    "NUMBERS_MAX_SIDE",
    "cell_colours",
    "channels_hover_spec",
    "conv_hover_spec",
    "panel",
    "pool_hover_spec",
    "reads",
    "transposed_hover_spec",
]

MAX_HOVER_READS = 20_000  # outlined cells summed over every link (both ways): above, the payload gets heavy
NUMBERS_MAX_SIDE = 24  # a panel wider or taller than this shows colours only; the line still has numbers
INPUT, KERNEL, OUTPUT = 0, 1, 2  # the panels' places in a convolution's spec
OUTPUT_OF_TWO = 1  # the output's place in a spec of input and output only (pooling)
PADDING_FILL = "#d9dce1"
PADDING_INK = "#3a3f47"


def _rgb(colour: str) -> tuple[float, float, float]:
    """(r, g, b) 0-255 of a Plotly colour string ('rgb(...)' or '#rrggbb')."""
    if colour.startswith("#"):
        return tuple(float(v) for v in plotly.colors.hex_to_rgb(colour))  # type: ignore[return-value]
    return tuple(float(v) for v in plotly.colors.unlabel_rgb(colour))  # type: ignore[return-value]


def cell_colours(values: np.ndarray, scale: str = "RdBu", limit: float | None = None) -> tuple[list, list]:
    """Fill and ink of every cell: a diverging scale centred on zero, black or white text for contrast.

    `limit` is the value drawn at either end of the scale (default: the largest magnitude). Returns two
    nested lists (rows of css colours) shaped like `values`.
    """
    values = np.asarray(values, dtype=float)
    top = float(np.abs(values[np.isfinite(values)]).max(initial=0.0)) if limit is None else float(limit)
    top = top or 1.0
    where = np.clip((np.nan_to_num(values) / top + 1.0) / 2.0, 0.0, 1.0)
    stops = plotly.colors.get_colorscale(scale)
    flat = plotly.colors.sample_colorscale(stops, where.ravel().tolist()) if where.size else []
    fills = [_rgb(c) for c in flat]
    fill_css = [f"rgb({round(r)},{round(g)},{round(b)})" for r, g, b in fills]
    ink_css = [ink_for(r, g, b) for r, g, b in fills]
    shape = values.shape
    rows, cols = shape if len(shape) == 2 else (1, values.size)
    return (
        [fill_css[i * cols : (i + 1) * cols] for i in range(rows)],
        [ink_css[i * cols : (i + 1) * cols] for i in range(rows)],
    )


def panel(
    pid: str,
    title: str,
    values: np.ndarray,
    *,
    grey: np.ndarray | None = None,
    origin: tuple[int, int] = (0, 0),
    scale: str = "RdBu",
    fractions: bool = False,
    limit: float | None = None,
) -> dict:
    """One panel of cells: the values written in them (when small enough), coloured by `scale`.

    `grey` flags cells drawn as padding (grey, whatever their value); `limit` is the value at the ends
    of the scale (default: the panel's largest magnitude). Values are written with two
    decimals at most (the line under the grid has them in full), as fractions where `fractions` (a
    kernel's 1/3).
    """
    values = np.atleast_2d(np.asarray(values, dtype=float))
    rows, cols = values.shape
    fill, ink = cell_colours(values, scale, limit)
    show = max(rows, cols) <= NUMBERS_MAX_SIDE
    text = [[number_text(float(v), 2, fractions) if show else "" for v in row] for row in values]
    if grey is not None:
        grey = np.atleast_2d(grey)
        for r, c in zip(*np.nonzero(grey), strict=True):
            fill[r][c], ink[r][c] = PADDING_FILL, PADDING_INK
    return {
        "id": pid,
        "title": title,
        "rows": rows,
        "cols": cols,
        "text": text,
        "fill": fill,
        "ink": ink,
        "row0": int(origin[0]),
        "col0": int(origin[1]),
    }


def reads(spec: dict, link: dict) -> list[tuple[str, int, int]]:
    """The cells a link outlines, as (panel id, row, col)."""
    ids = [p["id"] for p in spec["panels"]]
    flat = link["r"]
    return [(ids[flat[i]], flat[i + 1], flat[i + 2]) for i in range(0, len(flat), 3)]


def _coords(position: Sequence[int], one_d: bool) -> str:
    """A cell's coordinates as the page writes them: (row, col) in 2D, the position alone in 1D."""
    return f"{position[-1]}" if one_d else f"{position[0]}, {position[1]}"


def conv_hover_spec(
    w: ConvWalkthrough, *, one_d: bool = False, pinned: tuple[int, int] | None = None
) -> dict | None:
    """Input (padded), kernel and output of a one-channel convolution, linked both ways.

    Pointing at an output cell outlines the input cells its window reads and the kernel, and writes its
    dot product (`OutputExplanation.equation`); pointing at an input cell outlines the outputs that read
    it. `one_d` names a height-1 walkthrough by positions. `pinned` is an output cell. Returns None when
    the links would outline more than `MAX_HOVER_READS` cells in all.
    """
    geometry = w.geometry
    top, left = w.padding_offset
    ho, wo = w.output.shape
    kh, kw = w.kernel.shape
    if ho * wo * 2 * kh * kw > MAX_HOVER_READS:
        return None
    readers: dict[tuple[int, int], list[tuple[int, int]]] = {}
    links = []
    for r in range(ho):
        for c in range(wo):
            taps = []
            window: list[int] = []
            for index, (pr, pc) in window_positions((r, c), geometry):
                cell = (pr + top, pc + left)
                window += [INPUT, *cell]
                readers.setdefault(cell, []).append((r, c))
                taps.append(Tap(0, index, (pr, pc), None, float(w.padded[cell]), float(w.kernel[index])))
            line = OutputExplanation(0, (r, c), (0, 0), geometry.span, geometry.dilation, tuple(taps), w.bias)
            said = f"output[{_coords((r, c), one_d)}] = {line.equation()}"
            links.append({"o": ["output", r, c], "r": window, "a": ["kernel"], "t": said})

    def name(pr: int, pc: int) -> str:
        kind = "padding" if w.is_padding[pr, pc] else "input"
        return f"{kind}[{_coords((pr - top, pc - left), one_d)}] = {number_text(float(w.padded[pr, pc]), 4)}"

    links += _reader_lines(w.padded.shape, readers, name, OUTPUT, one_d)
    for a in range(kh):
        for b in range(kw):
            links.append(
                {
                    "o": ["kernel", a, b],
                    "r": [],
                    "t": f"weight[{_coords((a, b), one_d)}] = {number_text(float(w.kernel[a, b]), 4)}",
                }
            )
    input_name = "input, padded" if w.is_padding.any() else "input"
    return {
        "panels": [
            panel("input", input_name, w.padded, grey=w.is_padding, origin=(-top, -left)),
            panel("kernel", "kernel", w.kernel, fractions=True),
            panel("output", "output", w.output, scale="PuOr"),
        ],
        "links": links,
        "pinned": ["output", *pinned] if pinned is not None else None,
        "highlight": HIGHLIGHT,
        "one_d": one_d,
    }


def _reader_lines(
    padded_shape: tuple[int, int],
    readers: dict[tuple[int, int], list[tuple[int, int]]],
    name: Callable[[int, int], str],
    output: int,
    one_d: bool = False,
) -> list[dict]:
    """Links from every cell of a padded input to the outputs whose windows read it."""
    links = []
    for pr in range(padded_shape[0]):
        for pc in range(padded_shape[1]):
            outs = readers.get((pr, pc), [])
            if outs:
                shown = ", ".join(f"({_coords(o, one_d)})" for o in outs[:12]) + (
                    " …" if len(outs) > 12 else ""
                )
                said = f"read by {len(outs)} output{'s' if len(outs) != 1 else ''}: {shown}"
            else:
                said = "no output reads it"
            links.append(
                {
                    "o": ["input", pr, pc],
                    "r": [v for r, c in outs for v in (output, r, c)],
                    "t": f"{name(pr, pc)}, {said}",
                }
            )
    return links


def pool_hover_spec(w: PoolWalkthrough, pinned: tuple[int, int] | None = None) -> dict | None:
    """Input (with its padding) and pooled output, linked both ways.

    Pointing at an output cell outlines its window and writes what it computes: the largest value and
    where it sits (max), or the sum over the divisor PyTorch uses (average: every cell of the window that
    lies inside the padded input, or only the input's own cells without `count_include_pad`). Returns
    None when the links would outline more than `MAX_HOVER_READS` cells.
    """
    h, wd = w.input.shape
    p = w.padding
    ho, wo = w.output.shape
    k = w.kernel_size
    if ho * wo * 2 * k * k > MAX_HOVER_READS:
        return None
    padded = np.pad(w.input, p)
    limit = float(np.abs(w.input).max(initial=0.0)) or 1.0
    grey = np.pad(np.zeros_like(w.input, dtype=bool), p, constant_values=True)
    readers: dict[tuple[int, int], list[tuple[int, int]]] = {}
    links = []
    winners = w.winners
    for r in range(ho):
        for c in range(wo):
            # Taps past the padded input (ceil_mode's last window) read nothing: PyTorch clips them.
            taps = [(a, b) for a, b in w.window_cells(r, c) if -p <= a < h + p and -p <= b < wd + p]
            window: list[int] = []
            for a, b in taps:
                window += [INPUT, a + p, b + p]
                readers.setdefault((a + p, b + p), []).append((r, c))
            inside = [(a, b) for a, b in taps if 0 <= a < h and 0 <= b < wd]
            total = number_text(float(w.output[r, c]), 4, fractions=False)
            if winners is not None:
                wr, wc = (int(v) for v in winners[r, c])
                values = ", ".join(number_text(float(w.input[a, b]), 4) for a, b in inside)
                line = (
                    f"output[{r}, {c}] = max({values}) = {total}, at input[{wr}, {wc}]"
                    if inside
                    else f"output[{r}, {c}]: the window reads only padding, which counts as -inf"
                )
            else:
                divisor = len(taps) if w.count_include_pad else len(inside)
                values = " + ".join(
                    number_text(float(w.input[a, b]), 4) if (a, b) in inside else "0"
                    for a, b in taps
                    if w.count_include_pad or (a, b) in inside
                )
                line = f"output[{r}, {c}] = ({values}) / {divisor} = {total}"
            link = {"o": ["output", r, c], "r": window, "t": line}
            if winners is not None and inside:
                link["s"] = [INPUT, wr + p, wc + p]  # the winner, marked apart
            links.append(link)

    def name(pr: int, pc: int) -> str:
        kind = "padding" if grey[pr, pc] else "input"
        return f"{kind}[{pr - p}, {pc - p}] = {number_text(float(padded[pr, pc]), 4)}"

    links += _reader_lines(padded.shape, readers, name, OUTPUT_OF_TWO)
    return {
        "panels": [
            # One scale for both: a pooled cell has its window's colour (max) or a blend of it (average).
            panel(
                "input", "input, padded" if p else "input", padded, grey=grey, origin=(-p, -p), limit=limit
            ),
            panel("output", f"{w.kind} pooled", w.output, limit=limit),
        ],
        "links": links,
        "pinned": ["output", *pinned] if pinned is not None else None,
        "highlight": HIGHLIGHT,
        "one_d": False,
    }


def transposed_hover_spec(view: TransposedView, pinned: tuple[int, int] | None = None) -> dict | None:
    """Input, kernel and output of a transposed convolution, linked both ways.

    Output (r, c) collects input[i, j] × kernel[a, b] for every tap with i·s + a·d − p = r (and the same
    for columns): pointing at it outlines those input cells and kernel taps and writes the sum. Pointing
    at an input cell outlines the output cells its stamp lands on (cropped by the padding).
    """
    x, k = view.input, view.kernel
    h, wd = x.shape
    kh, kw = k.shape
    ho, wo = view.output.shape
    s, p, d = view.stride, view.padding, view.dilation
    if h * wd * kh * kw * 3 > MAX_HOVER_READS:
        return None
    terms: dict[tuple[int, int], list[tuple[int, int, int, int]]] = {}
    for i in range(h):
        for j in range(wd):
            for a in range(kh):
                for b in range(kw):
                    r, c = i * s + a * d - p, j * s + b * d - p
                    if 0 <= r < ho and 0 <= c < wo:
                        terms.setdefault((r, c), []).append((i, j, a, b))
    stamps: dict[tuple[int, int], list[tuple[int, int]]] = {}
    links = []
    for r in range(ho):
        for c in range(wo):
            taps = terms.get((r, c), [])
            cells: list[int] = []
            for i, j, a, b in taps:
                cells += [INPUT, i, j, KERNEL, a, b]
                stamps.setdefault((i, j), []).append((r, c))
            total = number_text(float(view.output[r, c]), 4, fractions=False)
            if taps:
                products = " + ".join(
                    f"{_factor(float(x[i, j]))}×{_factor(float(k[a, b]))}" for i, j, a, b in taps
                )
                line = f"output[{r}, {c}] = {products} = {total}"
            else:
                line = f"output[{r}, {c}] = 0: no stamp reaches it (output_padding)"
            links.append({"o": ["output", r, c], "r": cells, "t": line})
    for i in range(h):
        for j in range(wd):
            outs = stamps.get((i, j), [])
            value = number_text(float(x[i, j]), 4)
            where = ", ".join(f"({r}, {c})" for r, c in outs[:12]) + (" …" if len(outs) > 12 else "")
            said = (
                f"adds {value} × kernel onto {len(outs)} output cells: {where}"
                if outs
                else "lands outside the crop"
            )
            links.append(
                {
                    "o": ["input", i, j],
                    "r": [v for r, c in outs for v in (OUTPUT, r, c)],
                    "a": ["kernel"],
                    "t": f"input[{i}, {j}] = {value}, {said}",
                }  # fmt: skip
            )
    return {
        "panels": [
            panel("input", "input", x),
            panel("kernel", "kernel", k, fractions=True),
            panel("output", "output", view.output, scale="PuOr"),
        ],
        "links": links,
        "pinned": ["output", *pinned] if pinned is not None else None,
        "highlight": HIGHLIGHT,
        "one_d": False,
    }


def _factor(v: float) -> str:
    """A factor of a written product: negative numbers and fractions in brackets."""
    text = number_text(v, 4)
    return f"({text})" if v < 0 or "/" in text else text


def channels_hover_spec(view: ChannelsView, pinned: tuple[int, int, int] | None = None) -> dict | None:
    """Every input plane and output plane of a multi-channel convolution, linked both ways.

    Panels ``x0``, ``x1``, … are the input channels and ``y0``, ``y1``, … (on a row of their own) the
    output channels. Pointing at output cell (o, r, c) outlines its window in every input channel that
    output channel reads (its group) and writes the sum channel by channel, as `ChannelSum.lines` does;
    pointing at an input cell outlines every output cell, in every channel, that reads it. `pinned` is
    (out_channel, row, col).
    """
    c_out, ho, wo = view.output.shape
    c_in, h, wd = view.input.shape
    k = view.weight.shape[2]
    per_output = view.weight.shape[1]
    if c_out * ho * wo * per_output * k * k * 2 > MAX_HOVER_READS:
        return None
    positions = {(r, c): window_positions((r, c), view.geometry) for r in range(ho) for c in range(wo)}
    readers: dict[tuple[int, int, int], list[int]] = {}
    links = []
    for o in range(c_out):
        channels = view.inputs_read(o)
        for (r, c), taps in positions.items():
            cells: list[int] = []
            for channel in channels:
                for _, (a, b) in taps:
                    if 0 <= a < h and 0 <= b < wd:
                        cells += [channel, a, b]
                        readers.setdefault((channel, a, b), []).extend((c_in + o, r, c))
            said = "\n".join(channel_sums(view, o, (r, c)).lines())
            links.append({"o": [f"y{o}", r, c], "r": cells, "t": f"y[{o}, {r}, {c}]:\n{said}"})
    for channel in range(c_in):
        for a in range(h):
            for b in range(wd):
                flat = readers.get((channel, a, b), [])
                n = len(flat) // 3
                value = number_text(float(view.input[channel, a, b]), 4)
                links.append(
                    {
                        "o": [f"x{channel}", a, b],
                        "r": flat,
                        "t": f"x[{channel}, {a}, {b}] = {value}, read by {n} output cell{'s' if n != 1 else ''}",
                    }
                )
    limit = float(np.abs(view.input).max(initial=0.0)) or 1.0
    panels = [panel(f"x{i}", f"input channel {i}", view.input[i], limit=limit) for i in range(c_in)]
    out_limit = float(np.abs(view.output).max(initial=0.0)) or 1.0
    outputs = [
        panel(f"y{o}", f"output channel {o}", view.output[o], scale="PuOr", limit=out_limit)
        for o in range(c_out)
    ]
    outputs[0]["br"] = True  # the output planes start a row of their own
    return {
        "panels": panels + outputs,
        "links": links,
        "pinned": [f"y{pinned[0]}", pinned[1], pinned[2]] if pinned is not None else None,
        "highlight": HIGHLIGHT,
        "one_d": False,
    }
