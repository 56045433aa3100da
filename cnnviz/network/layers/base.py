"""The base of every layer spec: `Layer`, the `Fix` a failing layer can suggest, and shared helpers.

A layer spec is a frozen dataclass named, ordered and defaulted like its `torch.nn` class. Methods take
per-sample shapes (no batch axis): (C, H, W), (C, L) or flat (F,). The spec families live in
`conv_layers`, `pool_layers`, `elementwise_layers` and `dense_layers`; `layers` gathers them.
"""

from __future__ import annotations

import functools
import math
import types
import typing
from collections.abc import Iterable, Sequence
from dataclasses import MISSING, dataclass, fields, replace
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from cnnviz.conv.args import IntOrTuple, as_int
from cnnviz.errors import ConvConfigError
from cnnviz.network.receptive_field import ReceptiveField

if TYPE_CHECKING:  # pragma: no cover
    import torch

__all__ = ["Shape", "Layer", "Fix", "torchinfo_mult_adds"]

Shape = tuple[int, ...]

# Every spec class by its torch.nn name, filled as the spec modules define them (see Layer.__init_subclass__),
# so a layer can name its 1d/2d twin without importing the modules that define them.
_SPECS: dict[str, type[Layer]] = {}


# --------------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------------


def _describe(shape: Shape) -> str:
    """'flat features (240,)', '1D maps (C, L) = (15, 19)' or '2D maps (C, H, W) = (6, 28, 28)'."""
    if len(shape) == 1:
        return f"flat features {shape}"
    if len(shape) == 2:
        return f"1D maps (C, L) = {shape}"
    if len(shape) == 3:
        return f"2D maps (C, H, W) = {shape}"
    return f"shape {shape}"


def _per_axis(values: Iterable[int]) -> IntOrTuple:
    """One int when every axis agrees, else the tuple: how a person would write it."""
    values = tuple(values)
    return values[0] if len(set(values)) == 1 else values


def _canonical(value: object, ndim: int | None) -> object:
    """Lists become tuples; a tuple of `ndim` equal ints becomes that int (so (3, 3) == 3)."""
    if isinstance(value, (list, tuple)):
        items = tuple(_canonical(v, None) for v in value)
        ints = all(isinstance(v, int) and not isinstance(v, bool) for v in items)
        if ndim is not None and len(items) == ndim and ints and len(set(items)) == 1:
            return items[0]
        return items
    return value


def _fmt(value: object) -> str:
    """A value as Python source: 3, (3, 5), 'same', 0.5, None."""
    if isinstance(value, tuple):
        inner = ", ".join(_fmt(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    return repr(value)


@functools.cache
def _argument_types(cls: type) -> dict[str, object]:
    """A spec class's argument annotations, resolved (IntOrTuple -> int | tuple[int, ...])."""
    return typing.get_type_hints(cls)


def _fits(value: object, hint: object) -> bool:
    """Whether `value` (lists counted as tuples) is of type `hint`; bools are not numbers here."""
    if hint is None or hint is type(None):
        return value is None
    origin = typing.get_origin(hint)
    if origin in (types.UnionType, typing.Union):
        return any(_fits(value, h) for h in typing.get_args(hint))
    if origin is typing.Literal:
        return value in typing.get_args(hint)
    if hint is tuple or origin is tuple:
        if not isinstance(value, (tuple, list)):
            return False
        items = typing.get_args(hint)
        if not items:
            return True
        if len(items) == 2 and items[1] is Ellipsis:
            return all(_fits(v, items[0]) for v in value)
        return len(value) == len(items) and all(_fits(v, h) for v, h in zip(value, items, strict=True))
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is str:
        return isinstance(value, str)
    return True  # a type not written in words below: left to the layer's own checks


_WORDS = {int: ("a whole number", "whole numbers"), float: ("a number", "numbers"), bool: ("True or False",
          "True or False"), str: ("a string", "strings"), type(None): ("None", "None")}  # fmt: skip


def _in_words(hint: object, plural: bool = False) -> str:
    """`hint` as a person says it: 'a whole number or a tuple of whole numbers'."""
    if hint is None:
        hint = type(None)
    origin = typing.get_origin(hint)
    if origin in (types.UnionType, typing.Union):
        parts = list(dict.fromkeys(_in_words(h, plural) for h in typing.get_args(hint)))
        return ", ".join(parts[:-1]) + " or " + parts[-1] if len(parts) > 1 else parts[0]
    if origin is typing.Literal:
        return " or ".join(repr(v) for v in typing.get_args(hint))
    if hint is tuple or origin is tuple:
        items = typing.get_args(hint)
        a = "tuples" if plural else "a tuple"
        if not items:
            return a
        if len(items) == 2 and items[1] is Ellipsis:
            return f"{a} of {_in_words(items[0], plural=True)}"
        if len(set(items)) == 1:
            return f"{a} of {len(items)} {_in_words(items[0], plural=True)}"
        return f"{a} ({', '.join(_in_words(h) for h in items)})"
    one, many = _WORDS.get(hint, (str(hint), str(hint)))  # type: ignore[call-overload]
    return many if plural else one


def torchinfo_mult_adds(kind: str, params: int, out_shape: Sequence[int]) -> int:
    """torchinfo's mult-adds of a module's weights and biases for a batched output shape (N, ...).

    Convolutions count each parameter once per sample and output position (N x spatial); Linear once
    per sample and position it is applied at (every axis but the last, so a Linear over the positions of
    a map counts each of them, torchinfo >= 1.8.1); every other layer once per sample.
    """
    if not params or not out_shape:
        return 0
    if "Conv" in kind:
        return params * out_shape[0] * math.prod(out_shape[2:])
    if "Linear" in kind:
        return params * math.prod(out_shape[:-1])
    return params * out_shape[0]


# --------------------------------------------------------------------------------------------------
# Fixes
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Fix:
    """A change that makes a failing layer accept its input.

    `field` is the argument that changes ('in_features'), or 'type' when the layer becomes another kind
    (Conv1d -> Conv2d); `value` is the value that fits; `layers` replace the failing layer (usually
    one layer, or Flatten plus the layer); `text` says it in words.
    """

    field: str
    value: object
    layers: tuple[Layer, ...]
    text: str
    # What each new layer reads, when not a chain: < 0 the replaced node's inputs (-1 its first, -2 its
    # second, ...), >= 0 the fix's own earlier layers. None: the first reads what the replaced node read,
    # each next one the layer before it.
    inputs: tuple[tuple[int, ...], ...] | None = None


def _set(layer: Layer, text: str | None = None, **changes: object) -> Fix:
    """A Fix that changes some arguments of `layer`; the first change names the field."""
    name, value = next(iter(changes.items()))
    words = ", ".join(f"{k}={_fmt(v)}" for k, v in changes.items())
    return Fix(name, value, (replace(layer, **changes),), text or f"set {words}")


def _reset(layer: Layer, name: str) -> list[Fix]:
    """Setting argument `name` back to PyTorch's default, if it has one."""
    for f in fields(layer):
        if f.name == name and f.default is not MISSING and getattr(layer, name) != f.default:
            return [_set(layer, **{name: f.default})]
    return []


# Each 1d layer and its 2d twin, by either name: {"Conv1d": {"1d": "Conv1d", "2d": "Conv2d"}, ...}
_TWINS: dict[str, dict[str, str]] = {
    f"{base}{d}": {"1d": f"{base}1d", "2d": f"{base}2d"}
    for base in (
        "Conv",
        "ConvTranspose",
        "MaxPool",
        "AvgPool",
        "AdaptiveAvgPool",
        "AdaptiveMaxPool",
        "BatchNorm",
        "ZeroPad",
        "Dropout",
    )
    for d in ("1d", "2d")
}


def _other_dims(layer: Layer, shape: Shape) -> list[Fix]:
    """Replace a 1d layer by its 2d twin (or back) when the input has the other number of axes."""
    twins = _TWINS.get(layer.kind)
    if twins is None:
        return []
    want = {1: "1d", 2: "1d", 3: "2d"}.get(len(shape))
    target_name = twins.get(want) if want else None
    if target_name is None or target_name == layer.kind:
        return []
    target = _SPECS.get(target_name)
    if target is None:
        return []
    names = {f.name for f in fields(target)}
    kwargs = {f.name: getattr(layer, f.name) for f in fields(layer) if f.name in names}
    try:
        new = target(**kwargs)
    except TypeError:
        return []
    return [
        Fix("type", target_name, (new,), f"use {target_name} instead of {layer.kind} for {_describe(shape)}")
    ]


def _largest_groups(c_in: object, c_out: object, groups: object) -> int:
    """The largest groups <= `groups` that divides both channel counts (1 when none is larger)."""
    try:
        cin, cout, g = as_int(c_in, "in_channels"), as_int(c_out, "out_channels"), as_int(groups, "groups")
    except ConvConfigError:
        return 1
    common = math.gcd(max(cin, 1), max(cout, 1))
    return max((d for d in range(1, max(g, 1) + 1) if common % d == 0), default=1)


# --------------------------------------------------------------------------------------------------
# Layer specs
# --------------------------------------------------------------------------------------------------


class Layer:
    """Base of the layer specs: field names, order and defaults are PyTorch's.

    Every method takes per-sample shapes (no batch axis) and raises `ConvConfigError` where PyTorch
    would refuse the layer or its input.
    """

    ndim: ClassVar[int | None] = None  # spatial axes the layer slides over (None: any input)
    positional: ClassVar[int] = 0  # leading arguments written positionally in code

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        _SPECS[cls.__name__] = cls

    def __post_init__(self) -> None:
        for f in fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            canon = _canonical(value, self.ndim)
            if canon is not value:
                object.__setattr__(self, f.name, canon)

    @classmethod
    def wrong_argument(cls, name: str, value: object) -> str | None:
        """What argument `name` must be, when `value` is not of its type ('must be a whole number'); None
        when it fits (or the spec has no such argument). A list counts as a tuple, as in torch.nn."""
        hint = _argument_types(cls).get(name)
        if hint is None or _fits(value, hint):
            return None
        return f"`{name}` must be {_in_words(hint)}"

    @property
    def kind(self) -> str:
        """The class name, as in torch.nn: 'Conv2d'."""
        return type(self).__name__

    def check(self) -> None:
        """Check the arguments that do not depend on the input."""

    def output_shape(self, shape: Shape) -> Shape:
        """Per-sample output shape for per-sample input `shape`; pointwise layers keep it."""
        self.check()
        return shape

    def params(self) -> int:
        """Learnable parameters (weights and biases)."""
        return 0

    def macs(self, in_shape: Shape, out_shape: Shape, batch: int) -> int:
        """Multiply-accumulates for a batch of `batch` samples (0 for layers without weights)."""
        return 0

    def mult_adds(self, out_shape: Shape, batch: int) -> int:
        """torchinfo's count (bias included): see `torchinfo_mult_adds`."""
        return torchinfo_mult_adds(self.kind, self.params(), (batch, *out_shape))

    def receptive_field(self, field: ReceptiveField, in_shape: Shape, out_shape: Shape) -> ReceptiveField:
        """The field of this layer's units given the field of its input's units."""
        return field

    def back_project(self, mask: np.ndarray, in_shape: Shape, out_shape: Shape) -> np.ndarray:
        """Input cells (bool, `in_shape`) read by the True cells of `mask` (bool, `out_shape`).

        A map mask may have a single channel, standing for all channels alike.
        """
        return mask

    def fix_candidates(self, shape: Shape, error: ConvConfigError) -> list[Fix]:
        """Changes that might make the layer accept `shape`; `suggest_fix` keeps the first that works."""
        return _reset(self, error.argument) if error.argument else []

    def arguments(self) -> dict[str, object]:
        """The arguments as keyword arguments of the torch.nn class."""
        return {f.name: getattr(self, f.name) for f in fields(self)}  # type: ignore[arg-type]

    def code(self, prefix: str = "nn.") -> str:
        """The constructor call as PyTorch source: required arguments, then those not at their default."""
        parts = []
        for i, f in enumerate(fields(self)):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            if i < self.positional:
                parts.append(_fmt(value))
            elif f.default is MISSING or value != f.default or type(value) is not type(f.default):
                parts.append(f"{f.name}={_fmt(value)}")
        return f"{prefix}{self.kind}({', '.join(parts)})"

    def argument_text(self) -> str:
        """The arguments as keywords, required ones and those not at their default: 'in_channels=3, ...'.

        What goes between the parentheses of `code()`, every argument named (the network builder's table).
        """
        parts = []
        for f in fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            if f.default is MISSING or value != f.default or type(value) is not type(f.default):
                parts.append(f"{f.name}={_fmt(value)}")
        return ", ".join(parts)

    def to_torch(self) -> torch.nn.Module:
        """The matching torch.nn module, freshly initialised."""
        from torch import nn

        self.check()
        return getattr(nn, self.kind)(**self.arguments())


def _expect_maps(layer: Layer, shape: Shape) -> None:
    """Refuse input without exactly `layer.ndim` spatial axes, naming the layer that fits."""
    ndim = layer.ndim
    if len(shape) == ndim + 1:
        return
    want = "(C, L)" if ndim == 1 else "(C, H, W)"
    if len(shape) == 1:
        hint = "layers with a window (conv, pooling) must come before Flatten"
    else:
        twin = _TWINS.get(layer.kind, {}).get("1d" if len(shape) == 2 else "2d")
        hint = f"use {twin}" if twin else "change the layer"
    raise ConvConfigError(
        f"{layer.kind} works on {ndim}D maps {want} but gets {_describe(shape)}: {hint}", "input"
    )


def _passed_on(field: ReceptiveField, layer: Layer) -> ReceptiveField:
    """A windowed layer after a layer without a fixed window: no fixed window either."""
    if field.kind == "global":
        return field
    if field.kind == "flat":
        return ReceptiveField(
            "unsupported", None, f"{layer.kind} slides over flattened positions: no fixed window in the input"
        )
    return field


def _channel_mismatch(
    layer: Layer, name: str, expected: int, shape: Shape, torch_says: str
) -> ConvConfigError:
    return ConvConfigError(
        f"{layer.kind} expects {name}={expected} but its input has {shape[0]} channels "
        f"({_describe(shape)}): set {name}={shape[0]}, the channels the layer before makes. "
        f"(PyTorch says: {torch_says})",
        name,
    )
