"""Which input cells one unit of a network reads (`receptive_region`), and its effective field (Luo et al.).

The theoretical field (r, jump, start) comes from `receptive_field`'s formulas (merged by Araujo et al.'s
rule at an Add or Concat); the exact region comes from connectivity matrices propagated backwards
through every path to the input, so it is clipped at the borders and keeps dilation's gaps.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from cnnviz.conv.args import as_int
from cnnviz.errors import ConvConfigError
from cnnviz.network.layers import INPUT, Layer, Merge, Node, Shape, as_nodes
from cnnviz.network.layers.graph import ancestors
from cnnviz.network.receptive_field import ReceptiveField, input_field
from cnnviz.network.summary_table import Summary, format_bytes, summarize
from cnnviz.network.torch_form import to_torch

__all__ = [
    "Region",
    "receptive_region",
    "effective_receptive_field",
    "FieldStep",
    "field_steps",
    "describe_region",
    "default_unit",
    "check_region_cost",
    "check_erf_cost",
    "field_sample_image",
    "field_sample_signal",
    "REGION_MAX_SIDE",
    "ERF_MAX_PARAMS",
    "ERF_MAX_MACS",
]


@dataclass(frozen=True, eq=False)
class Region:
    """The input cells one unit reads.

    `clipped`: per axis (start, stop), stop exclusive, the bounding box of the input cells the unit
    actually reads (None when it reads only padding); can be tighter than `unclipped` cut to the
    borders, because a stride may skip cells at the end. `unclipped`: Araujo et al.'s window
    [u*j - P, u*j - P + r), which may reach into the padding (None without a fixed window).
    `mask`: bool (H, W), (L,) or (F,), True where the unit reads the input (dilation leaves holes).
    """

    layer_index: int
    unit_position: tuple[int, ...]
    clipped: tuple[tuple[int, int], ...] | None
    unclipped: tuple[tuple[int, int], ...] | None
    mask: np.ndarray
    field: ReceptiveField

    @property
    def size(self) -> tuple[int, ...] | None:
        """Cells spanned per axis by the clipped region."""
        return None if self.clipped is None else tuple(b - a for a, b in self.clipped)


def _walk(
    layers: Sequence[Layer | Node], input_size: Sequence[int], layer_index: int
) -> tuple[Summary, dict[int, Shape]]:
    """Summary and per-sample shapes {INPUT: input, node: output} of the nodes up to `layer_index`,
    refusing a network that breaks on the way."""
    nodes = as_nodes(layers)
    result = summarize(nodes, input_size)
    index = as_int(layer_index, "layer_index")
    if not 0 <= index < len(nodes):
        raise ConvConfigError(
            f"layer_index must be in 0..{len(nodes) - 1} (got {layer_index})", "layer_index"
        )
    shapes: dict[int, Shape] = {INPUT: result.input_size}
    for i in ancestors(nodes, index):
        row = result.rows[i]
        if row.status != "ok":
            raise ConvConfigError(
                f"the network breaks at layer {row.index} before layer {index}: {row.error}", "layers"
            )
        shapes[i] = row.output_shape[1:]  # type: ignore[index]
    return result, shapes


def _joined(a: np.ndarray | None, b: np.ndarray) -> np.ndarray:
    """Two masks of one tensor OR-ed (a one-channel mask stands for every channel alike)."""
    if a is None:
        return b
    if a.shape != b.shape:
        shape = np.broadcast_shapes(a.shape, b.shape)
        a, b = np.broadcast_to(a, shape), np.broadcast_to(b, shape)
    return a | b


def _back_to_input(
    nodes: Sequence[Node], shapes: dict[int, Shape], index: int, mask: np.ndarray
) -> np.ndarray:
    """The input cells the True cells of node `index`'s output mask read, along every path."""
    masks: dict[int, np.ndarray] = {index: mask}
    for i in range(index, -1, -1):
        if i not in masks:
            continue
        node, out = nodes[i], masks.pop(i)
        if isinstance(node.layer, Merge):
            parts = node.layer.split_mask(out, [shapes[j] for j in node.inputs], shapes[i])
        else:
            parts = [node.layer.back_project(out, shapes[node.inputs[0]], shapes[i])]
        for j, part in zip(node.inputs, parts, strict=True):
            if len(shapes[j]) > 1 and part.shape[0] > 1 and (part == part[:1]).all():
                part = part[:1]  # every channel alike: keep one
            masks[j] = _joined(masks.get(j), part)
    return masks[INPUT]


def _unit(shape: Shape, unit_position: Sequence[int] | int) -> tuple[int, ...]:
    """Check a unit position: (h, w) / (l,) in a map (all channels), or (f,) in flat features."""
    axes = shape[1:] if len(shape) > 1 else shape
    raw = tuple(unit_position) if isinstance(unit_position, (tuple, list)) else (unit_position,)
    position = tuple(as_int(v, "unit_position") for v in raw)
    if len(position) != len(axes) or any(not 0 <= u < n for u, n in zip(position, axes, strict=True)):
        raise ConvConfigError(
            f"unit_position needs {len(axes)} index(es) inside {axes} (got {raw})", "unit_position"
        )
    return position


def receptive_region(
    layers: Sequence[Layer | Node], input_size: Sequence[int], layer_index: int, unit_position: Sequence[int]
) -> Region:
    """The input cells read by unit `unit_position` of layer `layer_index`'s output.

    The unit is a position (h, w) or (l,) of a map, all channels together, or (f,) of flat features.
    """
    result, shapes = _walk(layers, input_size, layer_index)
    target = shapes[layer_index]
    position = _unit(target, unit_position)
    mask = np.zeros((1, *target[1:]) if len(target) > 1 else target, dtype=bool)
    mask[(0, *position) if len(target) > 1 else position] = True
    mask = _back_to_input(as_nodes(layers), shapes, layer_index, mask)
    support = mask.any(axis=0) if len(shapes[INPUT]) > 1 else mask
    if support.any():
        clipped = tuple(
            (int(idx.min()), int(idx.max()) + 1)
            for idx in (
                np.nonzero(support.any(axis=tuple(b for b in range(support.ndim) if b != a)))[0]
                for a in range(support.ndim)
            )
        )
    else:
        clipped = None
    field = result.rows[layer_index].receptive_field
    unclipped = None
    if field is not None and field.kind == "local" and len(position) == len(field.axes):
        unclipped = tuple(a.window(u) for a, u in zip(field.axes, position, strict=True))
    return Region(layer_index, position, clipped, unclipped, support, field)


def effective_receptive_field(
    layers: Sequence[Layer | Node],
    input_size: Sequence[int],
    layer_index: int,
    unit_position: Sequence[int],
    seed: int = 0,
    runs: int = 1,
) -> np.ndarray:
    """|d unit / d input| summed over input channels (Luo et al. 2016): (H, W), (L,) or (F,) float64.

    The output gradient is 1 on every channel at `unit_position` ((f,) for flat features); weights
    (PyTorch's default initialisation) and a standard normal input are drawn after
    `torch.manual_seed(seed)`, without disturbing the caller's random state; layers run in eval mode.
    `runs` > 1 averages over seeds seed, seed+1, ...
    """
    import torch

    _, shapes = _walk(layers, input_size, layer_index)
    position = _unit(shapes[layer_index], unit_position)
    nodes = as_nodes(layers)
    total = None
    for run in range(as_int(runs, "runs")):
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed + run)
            model = to_torch(nodes, output=layer_index).eval()
            x = torch.randn(1, *shapes[INPUT])
        x.requires_grad_(True)
        y = model(x)
        grad_out = torch.zeros_like(y)
        grad_out[(0, slice(None), *position) if y.dim() > 2 else (0, *position)] = 1.0
        y.backward(grad_out)
        g = x.grad[0].abs().double()
        g = g.sum(dim=0) if g.dim() > 1 else g
        total = g if total is None else total + g
    if total is None:
        raise ConvConfigError(f"runs must be at least 1 (got {runs})", "runs")
    return (total / runs).numpy()


# --------------------------------------------------------------------------------------------------
# For the network builder: limits, one row per layer, a default unit, an input to draw on
# --------------------------------------------------------------------------------------------------

REGION_MAX_SIDE = 512  # cells along one input axis; regions are drawn on a picture of the input
MAP_MAX_SIDE = 4096  # cells along one axis of any map a region is traced through
REGION_MAX_CELLS = 20_000_000  # values of a map traced channel by channel (grouped convs)
# Effective fields build the stack in torch with random weights and backpropagate once per run.
# Measured on 2 cores: VGG-16 up to its last conv (14.7 M weights, 15 G MACs) takes about 1.5 s.
ERF_MAX_PARAMS = 20_000_000
ERF_MAX_MACS = 20_000_000_000
# Autograd keeps every activation and its gradient: three times this stays under 500 MB per request, and
# a 100,000-channel link that once held 1.8 GB for 47 s is refused.
ERF_MAX_ACTIVATION_BYTES = 150_000_000


@dataclass(frozen=True)
class FieldStep:
    """One layer's receptive field: size r, jump and start per input axis (None without a fixed window)."""

    index: int  # -1 for the input itself
    kind: str
    size: tuple[int, ...] | None
    jump: tuple[int, ...] | None
    start: tuple[int, ...] | None
    description: str
    note: str

    @property
    def label(self) -> str:
        """'input' or '3 Conv2d': the step as an axis label."""
        return "input" if self.index < 0 else f"{self.index} {self.kind}"


def field_steps(result: Summary) -> list[FieldStep]:
    """The input, then every layer that runs: how r, jump and start grow with depth (Araujo et al.)."""
    shape = result.input_size
    steps = []
    if len(shape) > 1:
        first = input_field(len(shape) - 1)
        steps.append(
            FieldStep(-1, "input", first.size, first.jump, first.start, "1 cell", "each cell sees itself")
        )
    for row in result.rows:
        field = row.receptive_field
        if row.status != "ok" or field is None:
            break
        steps.append(
            FieldStep(
                row.index, row.layer.kind, field.size, field.jump, field.start, field.describe(), field.note
            )
        )
    return steps


def describe_region(region: Region, input_size: Sequence[int]) -> str:
    """The region in words: which input cells the unit reads, how many, and whether its window reaches
    into the padding (markdown, for the page)."""
    if region.clipped is None:
        return "This unit reads only padding: none of the input's own cells."
    spatial = tuple(input_size[1:]) if len(input_size) > 1 else tuple(input_size)
    names = (
        ("rows", "columns")
        if len(spatial) == 2
        else ("positions",)
        if len(input_size) == 2
        else ("features",)
    )
    spans = " and ".join(f"{name} {a} to {b - 1}" for name, (a, b) in zip(names, region.clipped, strict=True))
    size = " × ".join(map(str, region.size or ()))
    read = int(region.mask.sum())
    text = f"It reads {spans} of the input: a box of {size} cells"
    box = math.prod(region.size or ())
    text += (
        "." if read == box else f", of which only {read:,} of {box:,} cells (dilation or stride leave gaps)."
    )
    if region.unclipped is not None:
        reach = [(max(0, -a), max(0, b - n)) for (a, b), n in zip(region.unclipped, spatial, strict=True)]
        if any(before or after for before, after in reach):
            window = " × ".join(str(b - a) for a, b in region.unclipped)
            text += (
                f" The formula's window is {window} (dashed); its grey part lies outside the input, "
                "in the padding."
            )
    return text


def default_unit(shape: Sequence[int]) -> tuple[int, ...]:
    """The centre unit of a per-sample output shape: (h, w) or (l,) of a map, (f,) of flat features."""
    axes = shape[1:] if len(shape) > 1 else shape
    return tuple(n // 2 for n in axes)


def check_region_cost(result: Summary, layer_index: int) -> None:
    """Refuse a region too large to compute and draw here, with the reason and what to change.

    The input may have at most REGION_MAX_SIDE cells a side and every map up to the layer at most
    MAP_MAX_SIDE (connectivity matrices are side x side); grouped convs keep one mask per channel.
    """
    spatial = result.input_size[1:] if len(result.input_size) > 1 else result.input_size
    if max(spatial, default=1) > REGION_MAX_SIDE:
        raise ConvConfigError(
            f"the input {result.input_size} is too large to draw regions on (at most {REGION_MAX_SIDE} "
            "cells a side): the summary still holds; try 3, 224, 224 or smaller",
            "input_size",
        )
    for row in result.rows[: as_int(layer_index, "layer_index") + 1]:
        if row.status != "ok":
            break
        out = row.output_shape[1:]  # type: ignore[index]
        if max(out[1:], default=1) > MAP_MAX_SIDE:
            raise ConvConfigError(
                f"layer {row.index} ({row.layer.kind}) makes maps of {out[1:]}: more than {MAP_MAX_SIDE} "
                "cells a side is too large to trace regions through",
                "layer_index",
            )
        in_shape = row.input_shape[1:]  # type: ignore[index]
        if getattr(row.layer, "groups", 1) != 1 and math.prod(in_shape) > REGION_MAX_CELLS:
            raise ConvConfigError(
                f"layer {row.index} ({row.layer.kind}) has groups={row.layer.groups} over "  # type: ignore[attr-defined]
                f"{math.prod(in_shape):,} input values: too many to trace regions channel by channel",
                "layer_index",
            )


def check_erf_cost(
    layers: Sequence[Layer | Node], input_size: Sequence[int], layer_index: int, runs: int = 1
) -> None:
    """Refuse an effective receptive field too heavy to compute here: weights, multiply-adds or memory."""
    index = as_int(layer_index, "layer_index")
    nodes = as_nodes(layers)
    result = summarize(nodes, input_size)
    if not 0 <= index < len(nodes):
        raise ConvConfigError(
            f"layer_index must be in 0..{len(nodes) - 1} (got {layer_index})", "layer_index"
        )
    check_region_cost(result, index)
    needed = [result.rows[i] for i in ancestors(nodes, index)]
    runs = max(as_int(runs, "runs"), 1)
    params = sum(r.params or 0 for r in needed)
    macs = sum(r.macs or 0 for r in needed) * runs
    memory = sum(r.activation_bytes or 0 for r in needed)
    if params > ERF_MAX_PARAMS or macs > ERF_MAX_MACS or memory > ERF_MAX_ACTIVATION_BYTES:
        raise ConvConfigError(
            f"layers 0..{index} hold {params:,} weights, need {macs:,} multiply-adds"
            f"{f' over {runs} runs' if runs > 1 else ''} and {format_bytes(memory)} of activations: more "
            f"than this page computes ({ERF_MAX_PARAMS:,} weights, {ERF_MAX_MACS:,} multiply-adds, "
            f"{format_bytes(ERF_MAX_ACTIVATION_BYTES)}). Pick an earlier layer, fewer runs or a "
            "smaller input",
            "layer_index",
        )


def field_sample_image(height: int, width: int) -> np.ndarray:
    """A synthetic picture, (height, width, 3) uint8: sky, sun, hill, house and a striped field.

    Shapes at several scales, so a receptive field visibly covers more of the scene as it grows.
    """
    y = (np.arange(height)[:, None] + 0.5) / height  # (H, 1) in 0..1
    x = (np.arange(width)[None, :] + 0.5) / width  # (1, W)
    img = np.empty((height, width, 3), dtype=np.float64)
    img[...] = np.stack([0.55 + 0.3 * y, 0.75 + 0.15 * y, np.ones_like(y)], axis=-1)  # sky, (H, 1, 3)
    sun = (x - 0.78) ** 2 + (y - 0.2) ** 2 < 0.11**2
    img[sun] = (1.0, 0.82, 0.2)
    hill = y > 0.62 + 0.12 * np.cos(2.2 * np.pi * x)
    img[hill] = (0.35, 0.65, 0.3)
    stripes = hill & (y > 0.82) & ((np.floor(x * 16) % 2) == 0)
    img[stripes] = (0.55, 0.45, 0.25)
    wall = (x > 0.14) & (x < 0.42) & (y > 0.42) & (y < 0.72)
    img[wall] = (0.8, 0.3, 0.25)
    roof = (y > 0.22) & (y <= 0.42) & (np.abs(x - 0.28) < (y - 0.22) * 0.9)
    img[roof] = (0.45, 0.2, 0.2)
    door = (x > 0.25) & (x < 0.31) & (y > 0.58) & (y < 0.72)
    img[door] = (0.3, 0.2, 0.15)
    return np.round(255 * np.clip(img, 0, 1)).astype(np.uint8)


def field_sample_signal(length: int) -> np.ndarray:
    """A synthetic 1D signal, (length,) float64: two bumps and a step, like an MNIST-1D pattern."""
    t = (np.arange(length) + 0.5) / length
    return np.exp(-(((t - 0.25) / 0.06) ** 2)) - 0.7 * np.exp(-(((t - 0.6) / 0.04) ** 2)) + 0.4 * (t > 0.8)
