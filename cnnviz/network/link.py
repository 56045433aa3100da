"""A stack of layers as short, URL-safe text, so a link can carry a whole network.

`stack_to_link((Conv2d(3, 16, 3, padding=1), ReLU(), MaxPool2d(2)))` is `c2_3_16_3__1-r-m2_2`: layers are
joined by `-`, each is a short type code followed by its arguments in PyTorch's order, joined by `_`
(an empty slot keeps that argument's default; trailing defaults are left out). Only letters, digits and
`.`, `_`, `-` appear, so the text passes through a query string unchanged. `stack_from_link` reads it back
through the same parser as the builder's table (literals only, never run) and refuses text longer than
`MAX_LINK_CHARS` or stacks longer than `MAX_LAYERS`.

Values: `12`, `m3` (minus 3), `0.5`, `1em05` (1e-05), `3x5` (a tuple of ints), `T`/`F`/`N` (True, False,
None), `zeros` (a lowercase word), and `X` + hex of the Python source for anything else.

A graph's node that does not read the row before it ends in `_I` + its inputs joined by `x` (`m1` for the
network's input): `ad_I5x2` is an Add of rows 5 and 2. A stack has no such token, so its text is as it was.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import MISSING, fields

from cnnviz.errors import ConvConfigError
from cnnviz.network.code import layer_from_arguments
from cnnviz.network.layers import LAYER_TYPES, MAX_LAYERS, Layer, Node, as_nodes
from cnnviz.network.layers.graph import simplest

__all__ = ["KIND_CODES", "MAX_LINK_CHARS", "stack_from_link", "stack_to_link"]

MAX_LINK_CHARS = 8_000  # a link this long still opens in every browser; VGG-16 takes about 400
KIND_CODES: dict[str, str] = {
    "Conv1d": "c1",
    "Conv2d": "c2",
    "ConvTranspose1d": "t1",
    "ConvTranspose2d": "t2",
    "MaxPool1d": "m1",
    "MaxPool2d": "m2",
    "AvgPool1d": "a1",
    "AvgPool2d": "a2",
    "AdaptiveAvgPool1d": "g1",
    "AdaptiveAvgPool2d": "g2",
    "AdaptiveMaxPool1d": "gm1",
    "AdaptiveMaxPool2d": "gm2",
    "BatchNorm1d": "b1",
    "BatchNorm2d": "b2",
    "ReLU": "r",
    "Tanh": "th",
    "Sigmoid": "sg",
    "LeakyReLU": "lr",
    "GELU": "ge",
    "Dropout": "d",
    "Flatten": "f",
    "Linear": "l",
    "Softmax": "sm",
    "LogSoftmax": "ls",
    "Dropout1d": "d1",
    "Dropout2d": "d2",
    "Identity": "id",
    "ELU": "el",
    "SiLU": "si",
    "ReLU6": "r6",
    "Hardswish": "hs",
    "PReLU": "pr",
    "Softplus": "sp",
    "LayerNorm": "ln",
    "GroupNorm": "gn",
    "LocalResponseNorm": "lrn",
    "ZeroPad1d": "z1",
    "ZeroPad2d": "z2",
    "Upsample": "up",
    "PixelShuffle": "ps",
    "Unflatten": "uf",
    "Add": "ad",
    "Concat": "cat",
}
_KINDS = {code: kind for kind, code in KIND_CODES.items()}
_INT = re.compile(r"m?\d{1,18}")
_FLOAT = re.compile(r"m?\d+(\.\d+)?(em?\d+)?")
_TUPLE = re.compile(r"m?\d{1,18}(xm?\d{1,18})+")
_WORD = re.compile(r"[a-z]{1,40}")
_HEX = re.compile(r"X([0-9a-f]{2}){1,400}")
_FLAGS = {"T": "True", "F": "False", "N": "None"}


def _number(value: int | float) -> str:
    """'12', 'm3', '0.5', '1em05' (minus written as m: the dash joins layers)."""
    return repr(value).replace("+", "").replace("-", "m")


def _hex(source: str) -> str:
    return "X" + source.encode().hex()


def _value(value: object) -> str:
    """One argument as link text."""
    if isinstance(value, bool) or value is None:
        return {True: "T", False: "F", None: "N"}[value]
    if isinstance(value, int):
        return _number(value) if abs(value) < 10**18 else _hex(repr(value))
    if isinstance(value, float):
        if math.isfinite(value):
            return _number(value)
        return _hex("1e999" if value > 0 else "-1e999")
    if isinstance(value, str) and _WORD.fullmatch(value):
        return value
    if isinstance(value, tuple) and len(value) > 1 and all(type(v) is int and abs(v) < 10**18 for v in value):
        return "x".join(_number(v) for v in value)
    if isinstance(value, tuple):
        inner = ", ".join(_source(v) for v in value)
        return _hex(f"({inner},)" if len(value) == 1 else f"({inner})")
    return _hex(repr(value))


def _source(value: object) -> str:
    """A value as Python source (for the hex fallback of a tuple's items)."""
    if isinstance(value, float) and not math.isfinite(value):
        return "1e999" if value > 0 else "-1e999"
    return repr(value)


def layer_to_link(layer: Layer) -> str:
    """One layer: its code, then its arguments in order (empty: the default; trailing defaults dropped)."""
    slots = []
    for f in fields(layer):  # type: ignore[arg-type]
        value = getattr(layer, f.name)
        at_default = f.default is not MISSING and value == f.default and type(value) is type(f.default)
        slots.append("" if at_default else _value(value))
    while slots and slots[-1] == "":
        slots.pop()
    return "_".join([KIND_CODES[layer.kind], *slots])


def _inputs_token(inputs: tuple[int, ...]) -> str:
    return "I" + "x".join(_number(j) for j in inputs)


def stack_to_link(layers: Sequence[Layer | Node]) -> str:
    """The stack or graph as link text ('' for no layers)."""
    parts = []
    for i, node in enumerate(as_nodes(layers)):
        text = layer_to_link(node.layer)
        parts.append(text if node.inputs == (i - 1,) else f"{text}_{_inputs_token(node.inputs)}")
    return "-".join(parts)


_INPUTS = re.compile(r"I(m?\d{1,4})(xm?\d{1,4}){0,63}")


def _source_of(token: str, where: str) -> str:
    """The Python source a value token stands for."""
    if token in _FLAGS:
        return _FLAGS[token]
    if _INT.fullmatch(token) or _FLOAT.fullmatch(token):
        return token.replace("m", "-")
    if _TUPLE.fullmatch(token):
        return "(" + ", ".join(part.replace("m", "-") for part in token.split("x")) + ")"
    if _WORD.fullmatch(token):
        return repr(token)
    if _HEX.fullmatch(token):
        try:
            return bytes.fromhex(token[1:]).decode()
        except UnicodeDecodeError:
            pass
    raise ConvConfigError(f"{where}: cannot read the value {token[:20]!r}", "link")


def layer_from_link(text: str, where: str = "layer") -> Layer:
    """One layer from `layer_to_link`'s text, read by the table's parser (so it is checked the same way)."""
    code, *tokens = text.split("_")
    kind = _KINDS.get(code)
    if kind is None:
        raise ConvConfigError(f"{where}: unknown layer code {code[:10]!r}", "link")
    names = [f.name for f in fields(LAYER_TYPES[kind])]  # type: ignore[arg-type]
    if len(tokens) > len(names):
        raise ConvConfigError(f"{where}: {kind} takes at most {len(names)} arguments", "link")
    arguments = [
        f"{name}={_source_of(token, where)}"
        for name, token in zip(names, tokens, strict=False)
        if token != ""
    ]
    return layer_from_arguments(kind, ", ".join(arguments))


def stack_from_link(text: str) -> tuple[Layer, ...] | tuple[Node, ...]:
    """The stack (layers) or graph (nodes) in `stack_to_link`'s text; bad, oversized or overlong text
    raises ConvConfigError."""
    if not isinstance(text, str) or len(text) > MAX_LINK_CHARS:
        raise ConvConfigError(f"a network in a link has at most {MAX_LINK_CHARS:,} characters", "link")
    if text == "":
        return ()
    parts = text.split("-")
    if len(parts) > MAX_LAYERS:
        raise ConvConfigError(f"a network in a link has at most {MAX_LAYERS} layers", "link")
    nodes = []
    for i, part in enumerate(parts):
        where = f"layer {i}"
        head, _, last = part.rpartition("_")
        if head and _INPUTS.fullmatch(last):
            inputs = tuple(int(v.replace("m", "-")) for v in last[1:].split("x"))
            nodes.append(Node(layer_from_link(head, where), inputs))
        else:
            nodes.append(Node(layer_from_link(part, where), (i - 1,)))
    return tuple(simplest(as_nodes(nodes)))
