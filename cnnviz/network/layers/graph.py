"""A network as a small graph of layer specs: `Node`s in topological order, each naming what it reads.

A plain stack is the common case, and it is written as before, a sequence of layers: node i reads
node i-1 and node 0 the input. Branches and merges (a ResNet shortcut, a U-Net skip) are nodes that
read other earlier nodes; `Add` and `Concat` read two or more. Inputs are node indices, INPUT (-1) is
the network's input, and the last node is the output. Every edit below keeps the order topological.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from cnnviz.errors import ConvConfigError
from cnnviz.network.layers.base import Layer, Shape

__all__ = [
    "INPUT",
    "Node",
    "Network",
    "as_nodes",
    "is_stack",
    "readers",
    "ancestors",
    "replace_node",
    "insert_after",
    "delete_node",
    "swap_layers",
    "simplest",
]

INPUT = -1  # the index that stands for the network's input


@dataclass(frozen=True)
class Node:
    """One layer of a network and the earlier nodes it reads (INPUT, -1, for the network's input)."""

    layer: Layer
    inputs: tuple[int, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "inputs", tuple(self.inputs))


def as_nodes(items: Iterable[Layer | Node]) -> tuple[Node, ...]:
    """Nodes of a stack or a graph: a bare layer reads the item before it (the first reads the input).

    Refuses anything but layers and nodes, and inputs that are not earlier nodes (the order must be
    topological: a node reads only nodes above it).
    """
    nodes = []
    for i, item in enumerate(items):
        if isinstance(item, Node):
            node = item
        elif isinstance(item, Layer):
            node = Node(item, (i - 1,))
        else:
            raise ConvConfigError(
                f"layer {i} is {item!r}, not a layer spec such as Conv2d(3, 16, 3)", "layers"
            )
        if not isinstance(node.layer, Layer):
            raise ConvConfigError(f"node {i} holds {node.layer!r}, not a layer spec", "layers")
        if not node.inputs:
            raise ConvConfigError(f"row {i} ({node.layer.kind}) reads nothing: give it an input", "inputs")
        for j in node.inputs:
            if isinstance(j, bool) or not isinstance(j, int) or not INPUT <= j < i:
                raise ConvConfigError(
                    f"row {i} ({node.layer.kind}) reads {j!r}: a row reads the input (-1) or rows above it "
                    f"(0 to {i - 1})",
                    "inputs",
                )
        nodes.append(node)
    return tuple(nodes)


def is_stack(nodes: Sequence[Node]) -> bool:
    """True when every node reads the one before it: a plain nn.Sequential."""
    return all(node.inputs == (i - 1,) for i, node in enumerate(nodes))


def simplest(nodes: Sequence[Node]) -> list[Layer] | list[Node]:
    """A stack as its list of layers, a graph as its list of nodes (what the public functions return)."""
    return [node.layer for node in nodes] if is_stack(nodes) else list(nodes)


def readers(nodes: Sequence[Node], index: int) -> list[int]:
    """The nodes that read node `index` (INPUT for the input)."""
    return [i for i, node in enumerate(nodes) if index in node.inputs]


def ancestors(nodes: Sequence[Node], index: int) -> list[int]:
    """Node `index` and every node it depends on, in order."""
    needed = {index}
    for i in range(index, -1, -1):
        if i in needed:
            needed.update(j for j in nodes[i].inputs if j >= 0)
    return sorted(needed)


def _renumber(j: int, at: int, shift: int, last: int) -> int:
    """An input index after nodes at..at+shift replaced node `at` (its readers read node `last`)."""
    if j < at:
        return j
    if j == at:
        return last
    return j + shift


def replace_node(
    nodes: Sequence[Node], index: int, layers: Sequence[Layer], inputs: Sequence[Sequence[int]] | None = None
) -> tuple[Node, ...]:
    """Replace node `index` by `layers`; the last of them is what its readers read from now on.

    `inputs` wires the new layers: values < 0 are the replaced node's inputs (-1 its first, -2 its
    second...), values >= 0 the new layers before. None: a chain on the replaced node's inputs.
    """
    if not layers:
        raise ConvConfigError("a replacement needs at least one layer", "layers")
    old = nodes[index]
    if inputs is None:
        inputs = [tuple(-1 - k for k in range(len(old.inputs)))] + [(k,) for k in range(len(layers) - 1)]
    shift = len(layers) - 1
    last = index + shift
    new = [
        Node(layer, tuple(old.inputs[-1 - j] if j < 0 else index + j for j in wiring))
        for layer, wiring in zip(layers, inputs, strict=True)
    ]
    after = [
        Node(node.layer, tuple(_renumber(j, index, shift, last) for j in node.inputs))
        for node in nodes[index + 1 :]
    ]
    return as_nodes([*nodes[:index], *new, *after])


def insert_after(nodes: Sequence[Node], index: int, layer: Layer) -> tuple[Node, ...]:
    """Put `layer` on the output of node `index` (INPUT: on the input): it reads that node, and every
    node that read it reads the new layer instead (in a stack: insert a row after row `index`)."""
    at = index + 1
    moved = []
    for node in nodes[at:]:
        moved.append(
            Node(node.layer, tuple(at if j == index else j + 1 if j >= at else j for j in node.inputs))
        )
    return as_nodes([*nodes[:at], Node(layer, (index,)), *moved])


def delete_node(nodes: Sequence[Node], index: int) -> tuple[Node, ...]:
    """Remove node `index`; its readers read its first input instead (in a stack: delete the row)."""
    source = nodes[index].inputs[0]
    out = []
    for node in nodes[index + 1 :]:
        wiring = []
        for j in node.inputs:
            target = source if j == index else j - 1 if j > index else j
            if target not in wiring:
                wiring.append(target)
        out.append(Node(node.layer, tuple(wiring)))
    return as_nodes([*nodes[:index], *out])


def swap_layers(nodes: Sequence[Node], a: int, b: int) -> tuple[Node, ...]:
    """Exchange the layers of nodes `a` and `b`, keeping the wiring (in a stack: move a row up or down)."""
    out = list(nodes)
    out[a] = Node(nodes[b].layer, nodes[a].inputs)
    out[b] = Node(nodes[a].layer, nodes[b].inputs)
    return as_nodes(out)


@dataclass(frozen=True)
class Network:
    """Nodes (a stack of layers, or a graph of `Node`s) and the per-sample input shape they run on.

    `Network((Conv2d(3, 8, 3), ReLU()), (3, 32, 32))` is a stack, as always; nodes with explicit
    inputs make a graph. The batch size N is separate and only scales shapes and MACs.
    """

    nodes: tuple[Node, ...]
    input_size: Shape
    batch_size: int = 1

    def __post_init__(self) -> None:
        object.__setattr__(self, "nodes", as_nodes(self.nodes))
        object.__setattr__(self, "input_size", tuple(self.input_size))

    @property
    def layers(self) -> tuple[Layer, ...]:
        """The layer of every node, in order (for a stack: the stack itself)."""
        return tuple(node.layer for node in self.nodes)

    @property
    def is_stack(self) -> bool:
        """True when every node reads the one before (an nn.Sequential)."""
        return is_stack(self.nodes)
