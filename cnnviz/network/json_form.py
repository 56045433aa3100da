"""A network as JSON: `to_json` / `from_json`, and one layer as a dict. Bad text names where and what.

A stack's layers are objects such as {"type": "Conv2d", "in_channels": 3, ...}; in a graph, a layer that
does not read the row before it also has "inputs": [5, 2] (-1: the network's input).
"""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import MISSING, fields

from cnnviz.conv.args import as_int
from cnnviz.errors import ConvConfigError
from cnnviz.network.layers import LAYER_TYPES, Layer, Network, Node
from cnnviz.network.summary_table import check_input_size

MAX_JSON_CHARS = 200_000
MAX_JSON_DEPTH = 8
_LONG_NUMBER = re.compile(r"\d{19,}")

__all__ = ["layer_to_dict", "layer_from_dict", "node_to_dict", "to_json", "to_json_lines", "from_json"]


def _jsonable(value: object) -> object:
    return [_jsonable(v) for v in value] if isinstance(value, tuple) else value


def layer_to_dict(layer: Layer) -> dict[str, object]:
    """{'type': 'Conv2d', 'in_channels': 3, ...}: every argument, tuples as lists."""
    return {"type": layer.kind, **{k: _jsonable(v) for k, v in layer.arguments().items()}}


def layer_from_dict(data: dict[str, object], where: str = "layer") -> Layer:
    """The spec described by a dict from `layer_to_dict` (missing arguments take PyTorch's defaults)."""
    if not isinstance(data, dict):
        raise ConvConfigError(f'{where} must be an object such as {{"type": "ReLU"}} (got {data!r})', "json")
    kind = data.get("type")
    cls = LAYER_TYPES.get(kind) if isinstance(kind, str) else None
    if cls is None:
        close = difflib.get_close_matches(str(kind), LAYER_TYPES, n=1)
        raise ConvConfigError(
            f"{where}: unknown type {kind!r}"
            + (f" (did you mean {close[0]!r}?)" if close else "")
            + f"; known types: {', '.join(LAYER_TYPES)}",
            "json",
        )
    names = [f.name for f in fields(cls)]  # type: ignore[arg-type]
    kwargs = {k: v for k, v in data.items() if k != "type"}
    unknown = [k for k in kwargs if k not in names]
    if unknown:
        raise ConvConfigError(
            f"{where}: {kind} has no argument {unknown[0]!r}; its arguments: {', '.join(names) or 'none'}",
            "json",
        )
    missing = [f.name for f in fields(cls) if f.default is MISSING and f.name not in kwargs]  # type: ignore[arg-type]
    if missing:
        raise ConvConfigError(f"{where}: {kind} needs {', '.join(missing)}", "json")
    for name, value in kwargs.items():
        if not _plain(value):
            raise ConvConfigError(
                f"{where}: {name} must be a number, a string, true/false/null or a list of them "
                f"(got {value!r})",
                "json",
            )
    return cls(**kwargs)


def _node_from_dict(data: object, index: int) -> Node:
    where = f"layers[{index}]"
    if not isinstance(data, dict):
        return Node(layer_from_dict(data, where), (index - 1,))  # type: ignore[arg-type]
    rest = {k: v for k, v in data.items() if k != "inputs"}
    inputs = data.get("inputs", [index - 1])
    if (
        not isinstance(inputs, list)
        or not inputs
        or len(inputs) > 64
        or any(isinstance(j, bool) or not isinstance(j, int) or not -1 <= j < index for j in inputs)
    ):
        raise ConvConfigError(
            f'{where}: "inputs" must list rows above it (0 to {index - 1}) or -1 for the input (got {inputs!r})',
            "json",
        )
    return Node(layer_from_dict(rest, where), tuple(inputs))


def _plain(value: object) -> bool:
    """A JSON scalar, or a list of them (a per-axis value)."""
    if isinstance(value, list):
        return all(_plain(v) and not isinstance(v, list) for v in value)
    return value is None or isinstance(value, (bool, int, float, str))


def node_to_dict(node: Node, index: int) -> dict[str, object]:
    """A node's layer as a dict, with "inputs" when it does not read the row before it."""
    data = layer_to_dict(node.layer)
    if node.inputs != (index - 1,):
        data["inputs"] = list(node.inputs)
    return data


def to_json(network: Network, indent: int | None = 2) -> str:
    """{'input_size': [...], 'batch_size': N, 'layers': [{'type': ...}, ...]} as text."""
    return json.dumps(
        {
            "input_size": list(network.input_size),
            "batch_size": network.batch_size,
            "layers": [node_to_dict(node, i) for i, node in enumerate(network.nodes)],
        },
        indent=indent,
    )


def to_json_lines(network: Network) -> str:
    """`to_json`'s format with one layer per line: short enough to read on a slide."""
    layers = ",\n".join("    " + json.dumps(node_to_dict(node, i)) for i, node in enumerate(network.nodes))
    head = f'"input_size": {json.dumps(list(network.input_size))}, "batch_size": {network.batch_size}'
    return "{\n  " + head + ',\n  "layers": [\n' + layers + ("\n" if layers else "") + "  ]\n}"


def check_json_text(text: str) -> None:
    """Refuse pasted JSON over MAX_JSON_CHARS, nested deeper than MAX_JSON_DEPTH or with a number of more
    than 18 digits, before any parsing (the work a stranger's text can cause stays small)."""
    if not isinstance(text, str) or len(text) > MAX_JSON_CHARS:
        raise ConvConfigError(f"the JSON is too long (over {MAX_JSON_CHARS:,} characters)", "json")
    depth = deepest = 0
    for char in text:
        if char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    if deepest > MAX_JSON_DEPTH:
        raise ConvConfigError(f"the JSON nests {deepest} deep (a network needs 3): not a network", "json")
    if _LONG_NUMBER.search(text):
        raise ConvConfigError("the JSON holds a number of more than 18 digits: not a layer size", "json")


def from_json(text: str) -> Network:
    """The Network in `to_json`'s format; bad text raises ConvConfigError naming where and what is wanted.

    Text that json cannot read (too deep, numbers too long) is a ConvConfigError too; pasted text goes
    through `check_json_text` first, which refuses it before parsing.
    """
    try:
        data = json.loads(text)
    except (RecursionError, ValueError) as error:
        if not isinstance(error, json.JSONDecodeError):
            raise ConvConfigError("not valid JSON: it cannot be read", "json") from None
        raise ConvConfigError(
            f"not valid JSON at line {error.lineno}, column {error.colno}: {error.msg}; expected "
            '{"input_size": [3, 32, 32], "layers": [{"type": "Conv2d", ...}]}',
            "json",
        ) from error
    except TypeError as error:
        where = (
            f" at line {error.lineno}, column {error.colno}: {error.msg}"
            if isinstance(error, json.JSONDecodeError)
            else ""
        )
        raise ConvConfigError(
            f"not valid JSON{where}; expected "
            '{"input_size": [3, 32, 32], "layers": [{"type": "Conv2d", ...}]}',
            "json",
        ) from error
    if not isinstance(data, dict) or "layers" not in data or "input_size" not in data:
        raise ConvConfigError(
            'expected a JSON object with "input_size" (one sample\'s shape, e.g. [3, 32, 32]) and "layers" '
            f"(a list of layer objects); got {type(data).__name__}"
            + (f" with keys {sorted(data)}" if isinstance(data, dict) else ""),
            "json",
        )
    if not isinstance(data["layers"], list):
        raise ConvConfigError('"layers" must be a list of layer objects', "json")
    layers = tuple(_node_from_dict(d, i) for i, d in enumerate(data["layers"]))
    if not isinstance(data["input_size"], list):
        raise ConvConfigError(
            f'"input_size" must be a list such as [3, 32, 32] (got {data["input_size"]!r})', "json"
        )
    input_size = check_input_size(data["input_size"])
    batch = as_int(data.get("batch_size", 1), "batch_size")
    if batch < 1:
        raise ConvConfigError(f'"batch_size" must be at least 1 (got {batch})', "batch_size")
    return Network(layers, input_size, batch)
