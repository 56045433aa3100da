"""The network as a picture: blocks placed in columns by depth, branches side by side, lanes that wrap.

Each block is a layer with the shape-keeping layers that follow it in a chain folded in (Conv2d, then
its BatchNorm and ReLU, is one block "Conv 3×3 · BN · ReLU", labelled by the output shape the last of
them makes). A block's column is one more than the deepest block it reads, so the paths of a branch
sit side by side and meet at the merge; blocks in one column stack in tracks. Columns wrap into lanes
of at most `per_lane`, so a ResNet reads like lines of text on a projector. Pure data: the figure and
the SVG are drawn from it in `cnnviz.plots.network`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from cnnviz.network.layers import INPUT, Layer
from cnnviz.network.summary_table import LayerRow, Summary

__all__ = ["Block", "Edge", "Diagram", "diagram", "clicked_node", "POINTWISE"]

# Layers that keep the shape and read one cell (or one position's channels): folded into the block before.
POINTWISE = frozenset(
    {"ReLU", "ReLU6", "LeakyReLU", "ELU", "GELU", "SiLU", "Hardswish", "Sigmoid", "Tanh", "Softplus", "PReLU",
     "BatchNorm1d", "BatchNorm2d", "Dropout", "Dropout1d", "Dropout2d", "Identity", "LocalResponseNorm"}
)  # fmt: skip
_SHORT = {"BatchNorm1d": "BN", "BatchNorm2d": "BN", "Dropout": "Drop", "Dropout1d": "Drop", "Dropout2d": "Drop",
          "LocalResponseNorm": "LRN", "Identity": "Id"}  # fmt: skip
_CATEGORY = {"Conv": "conv", "ConvT": "up", "MaxP": "pool", "AvgP": "pool", "Adap": "pool", "Line": "dense",
             "Flat": "dense", "Unfl": "dense", "Add": "merge", "Conc": "merge", "Upsa": "up", "Pixe": "up"}  # fmt: skip


@dataclass(frozen=True)
class Block:
    """One box of the diagram: `nodes` (first to last), shown as `title` over the output `shape`."""

    index: int  # the last node: the one whose output the block shows, and the one a click selects
    nodes: tuple[int, ...]
    title: str
    shape: str
    category: str  # conv, pool, dense, merge, up, other, input
    status: str  # ok, error, not computed
    column: int  # within its lane
    lane: int
    row: int  # in the whole picture: lanes stacked, a lane's tracks one under the other


@dataclass(frozen=True)
class Edge:
    """An arrow from block `source` to block `target` (positions in `Diagram.blocks`)."""

    source: int
    target: int


@dataclass(frozen=True)
class Diagram:
    blocks: tuple[Block, ...]  # blocks[0] is the input
    edges: tuple[Edge, ...]
    columns: int  # columns a lane holds
    rows: int  # rows of the whole picture


def _kernel(layer: Layer) -> str:
    k = getattr(layer, "kernel_size", None)
    if k is None:
        return ""
    ndim = getattr(layer, "ndim", 2) or 2
    ks = k if isinstance(k, tuple) else (k,) * ndim
    text = "×".join(map(str, ks))
    stride = getattr(layer, "stride", 1)
    stride = k if stride is None else stride
    s = stride if not isinstance(stride, tuple) else stride[0] if len(set(stride)) == 1 else stride
    return f" {text}" + (f" /{s}" if s not in (1, (1,)) else "")


def _title(layer: Layer) -> str:
    kind = layer.kind
    name = {"Conv1d": "Conv", "Conv2d": "Conv", "ConvTranspose1d": "ConvT", "ConvTranspose2d": "ConvT",
            "MaxPool1d": "MaxPool", "MaxPool2d": "MaxPool", "AvgPool1d": "AvgPool", "AvgPool2d": "AvgPool",
            "AdaptiveAvgPool1d": "AdaptAvg", "AdaptiveAvgPool2d": "AdaptAvg"}.get(kind, kind)  # fmt: skip
    if kind.startswith(("Conv", "MaxPool", "AvgPool")):
        name += _kernel(layer)
    if kind == "Linear":
        name += f" {layer.out_features}"  # type: ignore[attr-defined]
    return name


def _shape(row: LayerRow) -> str:
    if row.output_shape is None:
        return "✗" if row.status == "error" else "—"
    return "×".join(map(str, row.output_shape[1:]))


def diagram(result: Summary, per_lane: int = 8, fold: bool = True) -> Diagram:
    """The blocks and arrows of a summarised network (see the module docstring)."""
    rows = result.rows
    readers: dict[int, list[int]] = {}
    for row in rows:
        for j in row.inputs or ((row.index - 1,) if row.index else (INPUT,)):
            readers.setdefault(j, []).append(row.index)
    groups: list[list[int]] = []
    block_of: dict[int, int] = {INPUT: 0}
    for row in rows:
        inputs = row.inputs or (row.index - 1,)
        source = inputs[0]
        if (
            fold
            and groups
            and row.layer.kind in POINTWISE
            and len(inputs) == 1
            and source >= 0
            and groups[-1][-1] == source
            and readers.get(source) == [row.index]
            and row.status == rows[source].status
        ):
            groups[-1].append(row.index)
        else:
            groups.append([row.index])
        block_of[row.index] = len(groups)  # block 0 is the input
    column = {0: 0}
    sources: dict[int, list[int]] = {}
    for b, group in enumerate(groups, start=1):
        first = rows[group[0]]
        srcs = sorted({block_of[j] for j in (first.inputs or (first.index - 1,))})
        sources[b] = srcs
        column[b] = 1 + max(column[s] for s in srcs)
    per_lane = max(2, per_lane)
    tracks: dict[tuple[int, int], int] = {}
    placed: dict[int, tuple[int, int, int]] = {}
    for b in range(len(groups) + 1):
        lane, col = divmod(column[b], per_lane)
        track = tracks.get((lane, col), 0)
        tracks[(lane, col)] = track + 1
        placed[b] = (lane, col, track)
    lanes = max(lane for lane, _, _ in placed.values()) + 1
    depth = [max((t for (la, _), t in tracks.items() if la == lane), default=1) for lane in range(lanes)]
    first_row = [sum(depth[:lane]) for lane in range(lanes)]
    size = result.input_size
    blocks = [Block(-1, (), "input", "×".join(map(str, size)), "input", "ok", 0, 0, 0)]
    for b, group in enumerate(groups, start=1):
        last = rows[group[-1]]
        parts = [_title(rows[group[0]].layer)] + [
            _SHORT.get(rows[i].layer.kind, rows[i].layer.kind) for i in group[1:]
        ]
        status = "error" if any(rows[i].status == "error" for i in group) else last.status
        lane, col, track = placed[b]
        blocks.append(
            Block(
                last.index, tuple(group), " · ".join(parts), _shape(last),
                _CATEGORY.get(rows[group[0]].layer.kind[:4], "other"), status, col, lane,
                first_row[lane] + track,
            )
        )  # fmt: skip
    edges = tuple(Edge(s, b) for b in range(1, len(groups) + 1) for s in sources[b])
    return Diagram(tuple(blocks), edges, min(per_lane, max(column.values()) + 1), sum(depth))


def clicked_node(picture: Diagram, selection: Mapping[str, object] | None) -> int | None:
    """The node a click on the drawn diagram selects, or None.

    `selection` is a chart's selection event: {"points": [{"customdata": 7, ...}, ...]}. The figure puts
    each block's node index in its point's customdata (a bare value, or the first of a list); the first
    point naming a block of `picture` wins. The input block, points of other traces (no customdata), an
    empty selection and values that name no block give None.
    """
    points = selection.get("points") if isinstance(selection, Mapping) else None
    if not isinstance(points, (list, tuple)):
        return None
    nodes = {block.index for block in picture.blocks if block.index >= 0}
    for point in points:
        data = point.get("customdata") if isinstance(point, Mapping) else None
        if isinstance(data, (list, tuple)):
            data = data[0] if data else None
        if isinstance(data, bool) or not isinstance(data, (int, float)):
            continue
        if isinstance(data, float) and not data.is_integer():  # also inf and nan
            continue
        if int(data) in nodes:
            return int(data)
    return None
