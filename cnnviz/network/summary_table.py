"""Walk a stack over an input shape: one row per layer, torchinfo's totals, and fixes for broken layers.

A layer that cannot take its input does not raise: its row carries the `ConvConfigError` message and,
where one exists, a `Fix` (the argument and the value that fits); `apply_fix` applies it. Shapes in
rows include the batch axis N; the input size is one sample's shape.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from cnnviz.conv.args import as_int
from cnnviz.errors import ConvConfigError
from cnnviz.network.layers import Fix, Layer, Linear, Network, Shape
from cnnviz.network.receptive_field import ReceptiveField, input_field
from cnnviz.network.torch_form import from_module

if TYPE_CHECKING:  # pragma: no cover
    import torch

__all__ = [
    "FLOAT32_BYTES",
    "LayerRow",
    "Summary",
    "summarize",
    "summary",
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

    @property
    def name(self) -> str:
        """torchinfo's label: 'Conv2d: 1-3'."""
        return f"{self.layer.kind}: 1-{self.index + 1}"

    @property
    def trainable_params(self) -> int | None:
        """Every parameter of a spec is trainable (no frozen layers)."""
        return self.params


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


def summarize(layers: Sequence[Layer], input_size: Sequence[int], batch_size: int = 1) -> Summary:
    """Walk `layers` over input (C, H, W) / (C, L) / (F,): one row per layer, never raising for a layer.

    The first layer that cannot take its input gets status 'error' (message, argument, fix); the rows
    after it are 'not computed' (their params are still counted when their own arguments are valid).
    """
    shape = check_input_size(input_size)
    batch = as_int(batch_size, "batch_size")
    if batch < 1:
        raise ConvConfigError(f"batch_size must be at least 1 (got {batch})", "batch_size")
    for i, layer in enumerate(layers):
        if not isinstance(layer, Layer):
            raise ConvConfigError(
                f"layer {i} is {layer!r}, not a layer spec such as Conv2d(3, 16, 3)", "layers"
            )
    field = _first_field(shape)
    rows: list[LayerRow] = []
    broken = False
    for i, layer in enumerate(layers):
        if broken:
            rows.append(
                LayerRow(i, layer, "not computed", None, None, _safe_params(layer), None, None, None, None)
            )
            continue
        try:
            out = layer.output_shape(shape)
        except ConvConfigError as error:
            rows.append(
                LayerRow(
                    i,
                    layer,
                    "error",
                    (batch, *shape),
                    None,
                    _safe_params(layer),
                    None,
                    None,
                    None,
                    None,
                    error=str(error),
                    argument=error.argument,
                    fix=suggest_fix(layer, shape, error),
                )
            )
            broken = True
            continue
        field = layer.receptive_field(field, shape, out)
        note = ""
        if isinstance(layer, Linear) and len(shape) > 1:
            note = (
                f"Linear acts on the last axis only ({shape[-1]} features) and keeps the others; "
                f"add Flatten() before it to use all {math.prod(shape)} features"
            )
        rows.append(
            LayerRow(
                i,
                layer,
                "ok",
                (batch, *shape),
                (batch, *out),
                layer.params(),
                layer.macs(shape, out, batch),
                layer.mult_adds(out, batch),
                FLOAT32_BYTES * batch * math.prod(out),
                field,
                note=note or field.note,
            )
        )
        shape = out
    return Summary(tuple(rows), check_input_size(input_size), batch)


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
        rows = [("Sequential", _shape_text(self.output_shape), *["--"] * 5), *map(_cells, self.rows)]
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
            out.append(f"The stack breaks at layer {self.first_error.index} ({self.first_error.layer.kind}).")
        return "\n".join(out)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:  # IPython shows the table
        printer.text(str(self))


_COLUMNS = ("Layer (type:depth-idx)", "Output Shape", "Param #", "MACs", "Mult-Adds", "Activations", "RF")


def _count(value: int | None) -> str:
    return "--" if not value else f"{value:,}"


def _cells(row: LayerRow) -> tuple[str, ...]:
    """One table line of a row, torchinfo style."""
    if row.status != "ok":
        state = "ERROR" if row.status == "error" else "not computed"
        return (f"├─{row.name}", state, _count(row.params), "--", "--", "--", "--")
    field = row.receptive_field.describe() if row.receptive_field else ""
    return (
        f"├─{row.name}",
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


def summary(
    model: Network | Sequence[Layer] | torch.nn.Module,
    input_size: Sequence[int] | None = None,
    *,
    batch_size: int | None = None,
) -> Summary:
    """The Summary of a stack, a Network or an nn.Sequential; `print(...)` it for torchinfo's table.

    Unlike torchinfo, `input_size` is one sample's shape (C, H, W) and the batch size is separate.
    """
    if isinstance(model, Network):
        layers: Sequence[Layer] = model.layers
        input_size = model.input_size if input_size is None else input_size
        batch_size = model.batch_size if batch_size is None else batch_size
    elif isinstance(model, (list, tuple)):
        layers = model
    else:
        layers = from_module(model)
    if input_size is None:
        raise ConvConfigError(
            "summary needs input_size, the shape of one sample: (C, H, W) or (C, L)", "input_size"
        )
    return summarize(layers, input_size, 1 if batch_size is None else batch_size)


def apply_fix(layers: Sequence[Layer], input_size: Sequence[int], index: int | None = None) -> list[Layer]:
    """The stack with the fix of row `index` (default: the first failing row) applied."""
    result = summarize(layers, input_size)
    row = result.first_error if index is None else result.rows[index]
    if row is None:
        return list(layers)
    if row.status != "error":
        raise ConvConfigError(
            f"layer {row.index} ({row.layer.kind}) has no error to fix (status: {row.status})", "index"
        )
    if row.fix is None:
        raise ConvConfigError(f"no automatic fix for layer {row.index}: {row.error}", row.argument)
    return [*layers[: row.index], *row.fix.layers, *layers[row.index + 1 :]]


def apply_all_fixes(layers: Sequence[Layer], input_size: Sequence[int], max_steps: int = 50) -> list[Layer]:
    """Apply fixes one after the other until the stack runs or a row has no fix."""
    current = list(layers)
    for _ in range(max_steps):
        row = summarize(current, input_size).first_error
        if row is None or row.fix is None:
            break
        current = apply_fix(current, input_size, row.index)
    return current
