"""Walk a network over an input shape: one row per node, torchinfo's totals, and fixes for broken layers.

A network is a stack of layers or a graph of nodes (`cnnviz.network.layers.graph`); rows follow the
nodes' order. A layer that cannot take its input does not raise: its row carries the `ConvConfigError`
message and, where one exists, a `Fix` (the argument and the value that fits); `apply_fix` applies it.
Rows that depend on a broken row are 'not computed'; rows on other branches still run. Shapes in rows
include the batch axis N; the input size is one sample's shape.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from cnnviz.conv.args import as_int
from cnnviz.errors import ConvConfigError
from cnnviz.network.layers import INPUT, Fix, Layer, Linear, Merge, Network, Node, Shape, as_nodes
from cnnviz.network.layers.graph import readers, replace_node, simplest
from cnnviz.network.receptive_field import ReceptiveField, input_field

if TYPE_CHECKING:  # pragma: no cover
    pass

__all__ = [
    "FLOAT32_BYTES",
    "LayerRow",
    "Summary",
    "summarize",
    "suggest_fix",
    "apply_fix",
    "apply_all_fixes",
    "check_input_size",
    "parse_input_size",
    "format_input_size",
    "format_bytes",
    "format_count",
]

FLOAT32_BYTES = 4


RowStatus = Literal["ok", "error", "not computed"]


@dataclass(frozen=True)
class LayerRow:
    """One layer of a summary. Shapes include the batch axis: (N, C, H, W)."""

    index: int
    layer: Layer
    status: RowStatus
    input_shape: Shape | None
    output_shape: Shape | None
    params: int | None
    macs: int | None
    mult_adds: int | None
    activation_bytes: int | None
    receptive_field: ReceptiveField | None
    error: str | None = None
    argument: str | None = None
    fix: Fix | None = None
    note: str = ""
    inputs: tuple[int, ...] = ()  # the nodes this row reads (INPUT, -1: the network's input)
    input_shapes: tuple[Shape, ...] = ()  # their batched shapes, one per input (a merge has several)
    frozen_params: int = 0  # parameters that do not train (requires_grad False in a traced module)

    @property
    def name(self) -> str:
        """torchinfo's label: 'Conv2d: 1-3'."""
        return f"{self.layer.kind}: 1-{self.index + 1}"

    @property
    def trainable_params(self) -> int | None:
        """Parameters that train: every one of a spec's, less any frozen in a traced module."""
        return None if self.params is None else self.params - self.frozen_params


def suggest_fix(layer: Layer, shape: Shape, error: ConvConfigError, depth: int = 2) -> Fix | None:
    """The first candidate change under which `layer` accepts `shape`; up to `depth` more fixes may chain."""
    for fix in layer.fix_candidates(shape, error):
        current = shape
        for j, new in enumerate(fix.layers):
            try:
                current = new.output_shape(current)
            except ConvConfigError as again:
                follow = suggest_fix(new, current, again, depth - 1) if depth > 0 else None
                if follow is None:
                    break
                layers = fix.layers[:j] + follow.layers + fix.layers[j + 1 :]
                if _fits(layers, shape):
                    return Fix(fix.field, fix.value, layers, f"{fix.text}; {follow.text}")
                break
        else:
            return fix
    return None


def _fits(layers: Sequence[Layer], shape: Shape) -> bool:
    try:
        for layer in layers:
            shape = layer.output_shape(shape)
    except ConvConfigError:
        return False
    return True


def check_input_size(input_size: Sequence[int]) -> Shape:
    """One sample's shape as a tuple of ints: (C, H, W), (C, L) or (F,), every size at least 1."""
    if isinstance(input_size, int) or not isinstance(input_size, (tuple, list)):
        raise ConvConfigError(
            f"input_size is the shape of one sample, (C, H, W), (C, L) or (F,) (got {input_size!r})",
            "input_size",
        )
    shape = tuple(as_int(v, "input_size") for v in input_size)
    if not 1 <= len(shape) <= 3:
        raise ConvConfigError(
            f"input_size is the shape of one sample, (C, H, W), (C, L) or (F,); got {len(shape)} values "
            f"{shape}"
            + (": leave out the batch size N (pass batch_size instead)" if len(shape) == 4 else ""),
            "input_size",
        )
    if min(shape) < 1:
        raise ConvConfigError(f"every input size must be at least 1 (got {shape})", "input_size")
    return shape


def parse_input_size(text: str) -> Shape:
    """One sample's shape typed as '3, 32, 32', '(1, 40)', '3x32x32' or '784'."""
    cleaned = str(text).strip().strip("()[]").replace("×", ",").replace("x", ",").replace(" ", ",")
    parts = [p for p in cleaned.split(",") if p]
    example = "3, 32, 32 for (C, H, W), 1, 40 for (C, L) or 784 for flat features"
    if not parts:
        raise ConvConfigError(f"input shape: type one sample's shape, e.g. {example}", "input_size")
    values = []
    for part in parts:
        try:
            values.append(int(part))
        except ValueError:
            raise ConvConfigError(
                f"input shape: {part!r} is not a whole number; type e.g. {example}", "input_size"
            ) from None
    if len(values) == 4:
        raise ConvConfigError(
            f"input shape: 4 numbers {tuple(values)}; type one sample's shape and leave out the batch "
            "size N, which has its own field",
            "input_size",
        )
    shape = check_input_size(values)
    if max(shape) > 10**9:
        raise ConvConfigError(f"input shape: {max(shape):,} is not a size a layer can take", "input_size")
    return shape


def format_input_size(shape: Sequence[int]) -> str:
    """'3, 32, 32': the text `parse_input_size` reads back."""
    return ", ".join(str(v) for v in shape)


def _first_field(shape: Shape) -> ReceptiveField:
    if len(shape) == 1:
        return ReceptiveField("flat", None, "flat input: features have no position")
    return input_field(len(shape) - 1)


def _safe_params(layer: Layer) -> int | None:
    try:
        layer.check()
        return layer.params()
    except ConvConfigError:
        return None


def _merge_fix(layer: Merge, shapes: Sequence[Shape], error: ConvConfigError) -> Fix | None:
    """The first of a merge's candidate fixes under which the new layers all run."""
    for fix in layer.merge_fixes(shapes, error):
        made: list[Shape] = []
        try:
            for new, wiring in zip(fix.layers, fix.inputs or (), strict=True):
                got = [shapes[-1 - j] if j < 0 else made[j] for j in wiring]
                made.append(new.merged_shape(got) if isinstance(new, Merge) else new.output_shape(got[0]))
        except (ConvConfigError, IndexError):
            continue
        return fix
    return None


def _arity_error(layer: Layer, inputs: tuple[int, ...]) -> ConvConfigError | None:
    if isinstance(layer, Merge) and len(inputs) < 2:
        return ConvConfigError(
            f"{layer.kind} merges two or more rows but reads {len(inputs)}: list the rows to merge in its "
            "inputs, e.g. 3, 7",
            "inputs",
        )
    if not isinstance(layer, Merge) and len(inputs) != 1:
        return ConvConfigError(
            f"{layer.kind} reads one input but is given {len(inputs)} ({', '.join(map(str, inputs))}): merge "
            "them first with an Add or a Concat row",
            "inputs",
        )
    return None


def summarize(
    layers: Sequence[Layer | Node] | Network, input_size: Sequence[int] | None = None, batch_size: int = 1
) -> Summary:
    """Walk a stack or graph over input (C, H, W) / (C, L) / (F,): one row per node, never raising for one.

    A node that cannot take its input gets status 'error' (message, argument, fix); the nodes that
    depend on it are 'not computed' (their params are still counted when their own arguments are valid).
    """
    if isinstance(layers, Network):
        input_size = layers.input_size if input_size is None else input_size
        layers = layers.nodes
    if input_size is None:
        raise ConvConfigError(
            "summarize needs input_size, the shape of one sample: (C, H, W) or (C, L)", "input_size"
        )
    shape = check_input_size(input_size)
    batch = as_int(batch_size, "batch_size")
    if batch < 1:
        raise ConvConfigError(f"batch_size must be at least 1 (got {batch})", "batch_size")
    nodes = as_nodes(layers)
    shapes: dict[int, Shape] = {INPUT: shape}
    fields: dict[int, ReceptiveField] = {INPUT: _first_field(shape)}
    rows: list[LayerRow] = []
    for i, node in enumerate(nodes):
        layer, inputs = node.layer, node.inputs
        if any(j not in shapes for j in inputs):
            rows.append(
                LayerRow(
                    i, layer, "not computed", None, None, _safe_params(layer), None, None, None, None,
                    inputs=inputs,
                )
            )  # fmt: skip
            continue
        got = [shapes[j] for j in inputs]
        batched = tuple((batch, *g) for g in got)
        try:
            problem = _arity_error(layer, inputs)
            if problem is not None:
                raise problem
            out = layer.merged_shape(got) if isinstance(layer, Merge) else layer.output_shape(got[0])
        except ConvConfigError as error:
            if isinstance(layer, Merge):
                fix = _merge_fix(layer, got, error) if len(got) >= 2 else None
            elif len(got) == 1:
                fix = suggest_fix(layer, got[0], error)
            else:
                fix = None
            rows.append(
                LayerRow(
                    i, layer, "error", batched[0], None, _safe_params(layer), None, None, None, None,
                    error=str(error), argument=error.argument, fix=fix, inputs=inputs, input_shapes=batched,
                )
            )  # fmt: skip
            continue
        if isinstance(layer, Merge):
            field = layer.merged_field([fields[j] for j in inputs], got)
        else:
            field = layer.receptive_field(fields[inputs[0]], got[0], out)
        note = ""
        if isinstance(layer, Linear) and len(got[0]) > 1:
            note = (
                f"Linear acts on the last axis only ({got[0][-1]} features) and keeps the others; "
                f"add Flatten() before it to use all {math.prod(got[0])} features"
            )
        if i < len(nodes) - 1 and not readers(nodes, i):
            note = note or "nothing reads this row's output: connect it or delete it"
        shapes[i], fields[i] = out, field
        rows.append(
            LayerRow(
                i,
                layer,
                "ok",
                batched[0],
                (batch, *out),
                layer.params(),
                layer.macs(got[0], out, batch),
                layer.mult_adds(out, batch),
                FLOAT32_BYTES * batch * math.prod(out),
                field,
                note=note or field.note,
                inputs=inputs,
                input_shapes=batched,
            )
        )
    return Summary(tuple(rows), shape, batch)


def _megabytes(n: int) -> str:
    return f"{n / 1e6:0.2f}"


def _scaled(n: int) -> tuple[str, float]:
    for unit, scale in (("T", 1e12), ("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if n >= scale:
            return unit, n / scale
    return "", float(n)


def format_count(n: int) -> str:
    """'19,570' below a billion, '15.47 G' from there on: a count that fits one line on a slide."""
    if abs(n) < 10**9:
        return f"{n:,}"
    unit, value = _scaled(n)
    return f"{value:.2f} {unit}" if value < 1000 else f"{n:.3g}"


def format_bytes(n: int) -> str:
    """A byte count as '61.4 KB', '2.3 MB' (powers of 1000, as torchinfo)."""
    unit, value = _scaled(n)
    return f"{value:.1f} {unit}B" if unit else f"{n} B"


@dataclass(frozen=True)
class Summary:
    """Rows of a walked stack and the totals torchinfo prints. Sizes in bytes (float32)."""

    rows: tuple[LayerRow, ...]
    input_size: Shape
    batch_size: int

    @property
    def ok(self) -> bool:
        """True when every layer takes its input."""
        return all(r.status == "ok" for r in self.rows)

    @property
    def first_error(self) -> LayerRow | None:
        return next((r for r in self.rows if r.status == "error"), None)

    @property
    def is_stack(self) -> bool:
        """True when every row reads the row before it."""
        return all(r.inputs in ((), (r.index - 1,)) for r in self.rows)

    @property
    def output_shape(self) -> Shape | None:
        """(N, ...) of the last layer, the input shape for an empty stack, None when the stack breaks."""
        if not self.ok:
            return None
        return self.rows[-1].output_shape if self.rows else (self.batch_size, *self.input_size)

    @property
    def total_params(self) -> int:
        return sum(r.params or 0 for r in self.rows)

    @property
    def trainable_params(self) -> int:
        return sum(r.trainable_params or 0 for r in self.rows)

    @property
    def network_kind(self) -> str:
        """'stack' or 'network', for messages."""
        return "stack" if self.is_stack else "network"

    @property
    def non_trainable_params(self) -> int:
        return self.total_params - self.trainable_params

    @property
    def total_macs(self) -> int:
        return sum(r.macs or 0 for r in self.rows)

    @property
    def total_mult_adds(self) -> int:
        return sum(r.mult_adds or 0 for r in self.rows)

    @property
    def input_bytes(self) -> int:
        return FLOAT32_BYTES * self.batch_size * math.prod(self.input_size)

    @property
    def activation_bytes(self) -> int:
        """All layer outputs together, once each."""
        return sum(r.activation_bytes or 0 for r in self.rows)

    @property
    def forward_backward_bytes(self) -> int:
        """torchinfo's 'forward/backward pass size': outputs of layers with parameters, value and grad."""
        return 2 * sum(r.activation_bytes or 0 for r in self.rows if r.params)

    @property
    def params_bytes(self) -> int:
        return FLOAT32_BYTES * self.total_params

    @property
    def total_bytes(self) -> int:
        """torchinfo's 'estimated total size': input + forward/backward pass + params."""
        return self.input_bytes + self.forward_backward_bytes + self.params_bytes

    def to_records(self) -> list[dict[str, object]]:
        """One plain dict per row, for a table widget."""
        return [
            {
                "layer": r.name,
                "inputs": r.inputs,
                "code": r.layer.code(),
                "status": r.status,
                "output_shape": r.output_shape,
                "params": r.params,
                "macs": r.macs,
                "mult_adds": r.mult_adds,
                "activation_bytes": r.activation_bytes,
                "receptive_field": r.receptive_field.describe() if r.receptive_field else None,
                "error": r.error,
                "fix": r.fix.text if r.fix else None,
                "note": r.note,
            }
            for r in self.rows
        ]

    def __str__(self) -> str:
        top = "Sequential" if self.is_stack else "Network"
        rows = [(top, _shape_text(self.output_shape), *["--"] * 5), *map(_cells, self.rows)]
        widths = [max(len(cells[c]) for cells in (_COLUMNS, *rows)) for c in range(len(_COLUMNS))]
        rule = "=" * (sum(widths) + 2 * (len(widths) - 1))
        out = [rule, _aligned(_COLUMNS, widths), rule, _aligned(rows[0], widths)]
        for row, cells in zip(self.rows, rows[1:], strict=True):
            out.append(_aligned(cells, widths))
            if row.status == "error":
                out.append(f"│    ✗ {row.error}")
                out += [f"│    fix: {row.fix.text}"] if row.fix else []
        unit, value = _scaled(self.total_mult_adds)
        out += [
            rule,
            f"Total params: {self.total_params:,}",
            f"Trainable params: {self.trainable_params:,}",
            f"Non-trainable params: {self.non_trainable_params:,}",
            f"Total MACs: {self.total_macs:,}",
            f"Total mult-adds ({unit or 'units'}): {value:0.2f}",
            rule,
            f"Input size (MB): {_megabytes(self.input_bytes)}",
            f"Forward/backward pass size (MB): {_megabytes(self.forward_backward_bytes)}",
            f"Params size (MB): {_megabytes(self.params_bytes)}",
            f"Estimated Total Size (MB): {_megabytes(self.total_bytes)}",
            rule,
        ]
        if not self.ok and self.first_error is not None:
            out.append(
                f"The {'stack' if self.is_stack else 'network'} breaks at layer {self.first_error.index} "
                f"({self.first_error.layer.kind})."
            )
        return "\n".join(out)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:  # IPython shows the table
        printer.text(str(self))


_COLUMNS = ("Layer (type:depth-idx)", "Output Shape", "Param #", "MACs", "Mult-Adds", "Activations", "RF")


def _count(value: int | None) -> str:
    return "--" if not value else f"{value:,}"


def _label(row: LayerRow) -> str:
    """'├─Conv2d: 1-3', with the rows it reads when that is not the row before: '├─Add: 1-8 ← 4, 6'."""
    reads = (
        ""
        if row.inputs in ((), (row.index - 1,))
        else " ← " + ", ".join("input" if j < 0 else str(j) for j in row.inputs)
    )
    return f"├─{row.name}{reads}"


def _cells(row: LayerRow) -> tuple[str, ...]:
    """One table line of a row, torchinfo style."""
    if row.status != "ok":
        state = "ERROR" if row.status == "error" else "not computed"
        return (_label(row), state, _count(row.params), "--", "--", "--", "--")
    field = row.receptive_field.describe() if row.receptive_field else ""
    return (
        _label(row),
        _shape_text(row.output_shape),
        _count(row.params),
        _count(row.macs),
        _count(row.mult_adds),
        format_bytes(row.activation_bytes or 0),
        field,
    )


def _aligned(cells: tuple[str, ...], widths: list[int]) -> str:
    """First column left-aligned, the numbers right-aligned."""
    return "  ".join(
        c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True))
    )


def _shape_text(shape: Shape | None) -> str:
    return "--" if shape is None else "[" + ", ".join(map(str, shape)) + "]"


def apply_fix(
    layers: Sequence[Layer | Node], input_size: Sequence[int], index: int | None = None
) -> list[Layer] | list[Node]:
    """The network with the fix of row `index` (default: the first failing row) applied.

    A list of layers for a stack that stays a stack, else a list of nodes.
    """
    nodes = as_nodes(layers)
    result = summarize(nodes, input_size)
    row = result.first_error if index is None else result.rows[index]
    if row is None:
        return simplest(nodes)
    if row.status != "error":
        raise ConvConfigError(
            f"layer {row.index} ({row.layer.kind}) has no error to fix (status: {row.status})", "index"
        )
    if row.fix is None:
        raise ConvConfigError(f"no automatic fix for layer {row.index}: {row.error}", row.argument)
    return simplest(replace_node(nodes, row.index, row.fix.layers, row.fix.inputs))


def apply_all_fixes(
    layers: Sequence[Layer | Node], input_size: Sequence[int], max_steps: int = 50
) -> list[Layer] | list[Node]:
    """Apply fixes one after the other until the network runs or a row has no fix."""
    current = simplest(as_nodes(layers))
    for _ in range(max_steps):
        row = summarize(current, input_size).first_error
        if row is None or row.fix is None:
            break
        current = apply_fix(current, input_size, row.index)
    return current
