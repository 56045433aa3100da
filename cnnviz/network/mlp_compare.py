"""Fully connected networks comparable to a stack: how many parameters the convolutions save.

Lectures 000 and 001 put a convolutional network beside an MLP with the same input and the same
classes (CIFAR-10: the MLP 3072-512-120-84-10 holds 1,645,950 parameters, ConvNet 19,570). Here the
stack is compared with an MLP that keeps its own hidden widths, and with the lecture's MLP.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from cnnviz.errors import ConvConfigError
from cnnviz.network.layers import Flatten, Layer, Linear, Node, ReLU, as_nodes
from cnnviz.network.summary_table import summarize

__all__ = ["LECTURE_MLP_HIDDEN", "Baseline", "mlp", "comparable_mlps"]

LECTURE_MLP_HIDDEN = (512, 120, 84)  # lecture 000's CIFAR-10 MLP: 3072 -> 512 -> 120 -> 84 -> 10


@dataclass(frozen=True)
class Baseline:
    """A network to compare, with its parameter count; the first of a comparison is the stack itself."""

    label: str
    description: str
    layers: tuple[Layer, ...]
    params: int

    def times(self, other: Baseline) -> float:
        """How many times `other`'s parameters this one holds (inf when `other` has none)."""
        return self.params / other.params if other.params else math.inf


def mlp(features: int, hidden: Sequence[int], num_classes: int) -> list[Layer]:
    """Flatten -> [Linear -> ReLU] per hidden width -> Linear(last, num_classes)."""
    layers: list[Layer] = [Flatten()]
    width = features
    for h in hidden:
        layers += [Linear(width, h), ReLU()]
        width = h
    return [*layers, Linear(width, num_classes)]


def comparable_mlps(layers: Sequence[Layer | Node], input_size: Sequence[int]) -> list[Baseline]:
    """The stack, then fully connected networks with the same input and output sizes.

    A stack ending in flat features (a classifier) is compared with an MLP keeping its hidden Linear
    widths, and with lecture 000's MLP (512, 120, 84); a stack ending in maps with one Linear layer
    from every input cell to every output cell. A network with the same conv and Linear layers as one
    before it is left out.
    """
    nodes = as_nodes(layers)
    result = summarize(nodes, input_size)
    layers = [node.layer for node in nodes]
    if not result.ok:
        row = result.first_error
        raise ConvConfigError(
            f"the network breaks at layer {row.index} ({row.layer.kind}): fix it first to compare it with "  # type: ignore[union-attr]
            "a fully connected network",
            "layers",
        )
    features = math.prod(result.input_size)
    out = result.output_shape[1:]  # type: ignore[index]
    found = [Baseline("This stack", "the layers above", tuple(layers), result.total_params)]
    if len(out) == 1:
        linears = [layer for layer in layers if isinstance(layer, Linear)]
        hidden = tuple(layer.out_features for layer in linears[:-1])
        same = (
            ("MLP, same hidden widths", f"hidden widths {', '.join(map(str, hidden))}, no convolutions")
            if hidden
            else ("Linear classifier", "one Linear layer from every input value to the classes")
        )
        candidates = [
            (*same, mlp(features, hidden, out[0])),
            (
                "Lecture 000's MLP",
                "hidden widths 512, 120, 84 (the lecture's CIFAR-10 baseline)",
                mlp(features, LECTURE_MLP_HIDDEN, out[0]),
            ),
        ]
    else:
        size = math.prod(out)
        candidates = [
            (
                "One fully connected layer",
                f"every one of the {size:,} output values connected to each of the {features:,} input values",
                [Flatten(), Linear(features, size)],
            )
        ]
    for label, description, candidate in candidates:
        if all(_weighted(candidate) != _weighted(b.layers) for b in found):
            params = summarize(candidate, input_size).total_params
            found.append(Baseline(label, description, tuple(candidate), params))
    return found


def _weighted(layers: Sequence[Layer]) -> tuple[Layer, ...]:
    """The layers that hold parameters: two networks alike in these compare as the same network."""
    return tuple(layer for layer in layers if isinstance(layer, Linear) or layer.kind.startswith("Conv"))
