"""Merges: the layers that read two or more earlier nodes, Add (a residual shortcut) and Concat (a U-Net skip).

Neither is a `torch.nn` module: in PyTorch they are `a + b` and `torch.cat([a, b], dim=1)` in a
`forward`. Every other spec reads one input; `summarize` gives a merge the shapes of all its inputs.
Receptive fields follow Araujo, Norris & Sim (Distill 2019): the paths into a merge must agree on the
effective stride and on where their windows are centred; the merged field is then their union (the
largest, since aligned windows nest).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from cnnviz.conv.args import as_int
from cnnviz.errors import ConvConfigError
from cnnviz.network.layers.base import Fix, Layer, Shape, _describe
from cnnviz.network.receptive_field import ReceptiveField

__all__ = ["Merge", "Add", "Concat", "merge_fields"]


def merge_fields(fields: Sequence[ReceptiveField], what: str) -> ReceptiveField:
    """The field of a unit that reads several paths: their union when every path is aligned."""
    kinds = {f.kind for f in fields}
    if "unsupported" in kinds:
        return next(f for f in fields if f.kind == "unsupported")
    if "global" in kinds:
        return ReceptiveField("global", None, f"{what} reads a path that sees the whole input")
    if kinds == {"flat"}:
        return fields[0]
    if kinds != {"local"}:
        return ReceptiveField("unsupported", None, f"{what} merges features with and without positions")
    first = fields[0].axes
    axes = []
    for a in range(len(first)):
        along = [f.axes[a] for f in fields]  # type: ignore[index]
        jumps = sorted({x.jump for x in along})
        if len(jumps) > 1:
            return ReceptiveField(
                "unsupported",
                None,
                f"{what}: its paths have effective strides {', '.join(map(str, jumps))} along axis {a}; "
                "Araujo et al.'s rule needs every path to agree (the graph is not aligned)",
            )
        centres = sorted({2 * x.start + x.size - 1 for x in along})  # twice the centre of unit 0
        if len(centres) > 1:
            shown = ", ".join(f"{c / 2:g}" for c in centres)
            return ReceptiveField(
                "unsupported",
                None,
                f"{what}: its paths centre unit 0 at input cells {shown} along axis {a}; Araujo et al.'s "
                "rule needs them to agree (the graph is not aligned)",
            )
        axes.append(max(along, key=lambda x: x.size))
    notes = [f.note for f in fields if f.note]
    return ReceptiveField("local", tuple(axes), notes[0] if notes else "")


class Merge(Layer):
    """A layer that reads two or more inputs; `merged_shape` takes all their shapes."""

    def output_shape(self, shape: Shape) -> Shape:
        raise ConvConfigError(
            f"{self.kind} reads two or more inputs: give it the rows to merge in its inputs", "inputs"
        )

    def merged_shape(self, shapes: Sequence[Shape]) -> Shape:
        """Per-sample output shape for the per-sample shapes of the inputs."""
        raise NotImplementedError

    def merged_field(self, fields: Sequence[ReceptiveField], shapes: Sequence[Shape]) -> ReceptiveField:
        return merge_fields(fields, self.kind)

    def split_mask(self, mask: np.ndarray, shapes: Sequence[Shape], out_shape: Shape) -> list[np.ndarray]:
        """The cells of each input that the True cells of `mask` read."""
        raise NotImplementedError

    def merge_fixes(self, shapes: Sequence[Shape], error: ConvConfigError) -> list[Fix]:
        """Changes that might make the merge accept its inputs (new layers wired by Fix.inputs)."""
        return []


@dataclass(frozen=True)
class Add(Merge):
    """a + b (+ ...): a residual shortcut. Every input must have the same shape."""

    def merged_shape(self, shapes: Sequence[Shape]) -> Shape:
        first = shapes[0]
        for j, shape in enumerate(shapes[1:], start=1):
            if tuple(shape) != tuple(first):
                raise ConvConfigError(
                    f"Add needs inputs of one shape, but input 0 is {_describe(first)} and input {j} is "
                    f"{_describe(shape)}: give the shortcut a 1x1 convolution with the stride and channels that "
                    "match, as ResNet does",
                    "inputs",
                )
        return tuple(first)

    def split_mask(self, mask: np.ndarray, shapes: Sequence[Shape], out_shape: Shape) -> list[np.ndarray]:
        return [mask for _ in shapes]

    def merge_fixes(self, shapes: Sequence[Shape], error: ConvConfigError) -> list[Fix]:
        """A projection shortcut (1x1 conv and batch norm, stride to match) on every input unlike the
        deepest one (fewest positions, then most channels), as ResNet's downsample blocks."""
        target_j = min(range(len(shapes)), key=lambda j: (_positions(shapes[j]), -shapes[j][0]))
        target = shapes[target_j]
        layers: list[Layer] = []
        inputs: list[tuple[int, ...]] = []
        reads: list[int] = []
        for j, shape in enumerate(shapes):
            if tuple(shape) == tuple(target):
                reads.append(-1 - j)
                continue
            projection = _projection(shape, target)
            if projection is None:
                return []
            start = len(layers)
            layers += projection
            inputs += [(-1 - j,), *((start + k,) for k in range(len(projection) - 1))]
            reads.append(len(layers) - 1)
        layers.append(Add())
        inputs.append(tuple(reads))
        text = "project the shortcut with " + ", ".join(layer.code(prefix="") for layer in layers[:-1])
        return [Fix("inputs", None, tuple(layers), text, tuple(inputs))]


def _positions(shape: Shape) -> int:
    n = 1
    for v in shape[1:]:
        n *= v
    return n


def _projection(shape: Shape, target: Shape) -> list[Layer] | None:
    """Layers taking `shape` to `target`: a strided 1x1 conv with batch norm, or a Linear for features."""
    from cnnviz.network.layers.conv import Conv1d, Conv2d
    from cnnviz.network.layers.dense import Linear
    from cnnviz.network.layers.elementwise import BatchNorm1d, BatchNorm2d

    if len(shape) != len(target):
        return None
    if len(shape) == 1:
        return [Linear(shape[0], target[0])]
    strides = []
    for n, m in zip(shape[1:], target[1:], strict=True):
        s = max(1, -(-n // m))
        if (n - 1) // s + 1 != m:
            return None
        strides.append(s)
    stride = strides[0] if len(set(strides)) == 1 else tuple(strides)
    conv, norm = (Conv1d, BatchNorm1d) if len(shape) == 2 else (Conv2d, BatchNorm2d)
    return [conv(shape[0], target[0], 1, stride=stride, bias=False), norm(target[0])]


@dataclass(frozen=True)
class Concat(Merge):
    """torch.cat([a, b, ...], dim): stack inputs along `dim` (counted with the batch axis: 1 = channels)."""

    dim: int = 1

    positional: ClassVar[int] = 0

    def axis(self, shape: Shape) -> int:
        ndim = len(shape) + 1
        d = as_int(self.dim, "dim")
        if not -ndim <= d < ndim or d % ndim == 0:
            raise ConvConfigError(
                f"Concat dim={d} must be one of the inputs' own axes 1..{ndim - 1} (1: channels); the batch "
                "axis 0 cannot be concatenated here",
                "dim",
            )
        return d % ndim - 1

    def merged_shape(self, shapes: Sequence[Shape]) -> Shape:
        first = shapes[0]
        a = self.axis(first)
        for j, shape in enumerate(shapes[1:], start=1):
            rest = [n for i, n in enumerate(shape) if i != a]
            if len(shape) != len(first) or rest != [n for i, n in enumerate(first) if i != a]:
                raise ConvConfigError(
                    f"Concat along dim={self.dim} needs inputs alike on every other axis, but input 0 is "
                    f"{_describe(first)} and input {j} is {_describe(shape)}: crop the larger maps (as the "
                    "original U-Net does) or pad the smaller ones",
                    "inputs",
                )
        return (*first[:a], sum(s[a] for s in shapes), *first[a + 1 :])

    def merged_field(self, fields: Sequence[ReceptiveField], shapes: Sequence[Shape]) -> ReceptiveField:
        if len(shapes[0]) > 1 and self.axis(shapes[0]) > 0 and any(f.kind == "local" for f in fields):
            return ReceptiveField("unsupported", None, "Concat along a spatial axis puts maps side by side")
        return merge_fields(fields, "Concat")

    def split_mask(self, mask: np.ndarray, shapes: Sequence[Shape], out_shape: Shape) -> list[np.ndarray]:
        a = self.axis(shapes[0])
        if a == 0 and len(out_shape) > 1 and mask.shape[0] == 1:
            return [mask for _ in shapes]  # every channel alike
        full = np.broadcast_to(mask, out_shape) if mask.shape != tuple(out_shape) else mask
        bounds = np.cumsum([0, *(s[a] for s in shapes)])
        return [np.take(full, range(lo, hi), axis=a) for lo, hi in zip(bounds[:-1], bounds[1:], strict=True)]

    def merge_fixes(self, shapes: Sequence[Shape], error: ConvConfigError) -> list[Fix]:
        """Centre-crop every map to the smallest one (negative ZeroPad), as the original U-Net's skips."""
        from cnnviz.network.layers.resample import ZeroPad1d, ZeroPad2d

        first = shapes[0]
        if any(len(s) != len(first) or len(s) not in (2, 3) for s in shapes):
            return []
        if self.axis(first) != 0:
            return []
        smallest = [min(s[i] for s in shapes) for i in range(1, len(first))]
        layers: list[Layer] = []
        inputs: list[tuple[int, ...]] = []
        reads: list[int] = []
        for j, shape in enumerate(shapes):
            extra = [n - m for n, m in zip(shape[1:], smallest, strict=True)]
            if not any(extra):
                reads.append(-1 - j)
                continue
            cuts = [(e // 2, e - e // 2) for e in extra]  # (before, after) per axis
            if len(cuts) == 1:
                layers.append(ZeroPad1d((-cuts[0][0], -cuts[0][1])))
            else:
                (top, bottom), (left, right) = cuts
                layers.append(ZeroPad2d((-left, -right, -top, -bottom)))
            inputs.append((-1 - j,))
            reads.append(len(layers) - 1)
        if not layers:
            return []
        layers.append(self)
        inputs.append(tuple(reads))
        text = "crop the larger maps to " + " x ".join(map(str, smallest)) + " (negative ZeroPad, as U-Net)"
        return [Fix("inputs", None, tuple(layers), text, tuple(inputs))]
