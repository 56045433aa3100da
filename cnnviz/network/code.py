"""A network as PyTorch source: `to_pytorch_code` writes it, `from_pytorch_code` reads it back.

A stack is written as a runnable nn.Sequential, a graph as an nn.Module class whose forward names every
node's output. Reading uses `ast` and never runs the text: an nn.Sequential or layer calls are read as
literals (4*240 is fine), and model classes as written (`self.conv1 = nn.Conv2d(...)` and a forward,
constructor arguments, helper functions, loops) go through `code_import`'s interpreter.
"""

from __future__ import annotations

import ast
import difflib
import math
import re
from collections.abc import Sequence
from dataclasses import MISSING, fields

from cnnviz.errors import ConvConfigError
from cnnviz.network.code_import import interpret, uses_classes
from cnnviz.network.json_form import check_json_text, from_json
from cnnviz.network.layers import (
    LAYER_TYPES,
    MAX_LAYERS,
    MERGE_TYPES,
    Add,
    Concat,
    Layer,
    Merge,
    Network,
    Node,
    Shape,
    as_nodes,
    is_stack,
)
from cnnviz.network.layers.graph import simplest
from cnnviz.network.summary_table import summarize

__all__ = [
    "to_pytorch_code",
    "from_pytorch_code",
    "import_code",
    "read_import",
    "layer_from_arguments",
    "LAYER_EXAMPLES",
    "input_size_for",
    "read_network",
]


def _comment(row) -> str:  # type: ignore[no-untyped-def]
    if row.status == "ok":
        return f"# -> {row.output_shape}"
    if row.status == "error":
        return "# ERROR: " + " ".join(str(row.error).split())
    return "# not computed: a layer above fails"


def _graph_code(nodes: Sequence[Node], input_size: Sequence[int], batch_size: int) -> str:
    """A graph as an nn.Module class: one attribute per layer, a forward naming each node's output."""
    result = summarize(nodes, input_size, batch_size)
    names = [f"{node.layer.kind.lower()}_{i}" for i, node in enumerate(nodes)]
    lines = ["import torch", "from torch import nn", "", "", "class Model(nn.Module):", "    def __init__(self):",
             "        super().__init__()"]  # fmt: skip
    for name, node in zip(names, nodes, strict=True):
        if not isinstance(node.layer, Merge):
            lines.append(f"        self.{name} = {node.layer.code()}")
    lines += ["", "    def forward(self, x):"]
    for i, (name, node, row) in enumerate(zip(names, nodes, result.rows, strict=True)):
        got = ["x" if j < 0 else f"x{j}" for j in node.inputs]
        if isinstance(node.layer, Add):
            value = " + ".join(got)
        elif isinstance(node.layer, Concat):
            value = f"torch.cat([{', '.join(got)}], dim={node.layer.dim})"
        else:
            value = f"self.{name}({', '.join(got)})"
        lines.append(f"        x{i} = {value}  {_comment(row)}")
    lines += [f"        return x{len(nodes) - 1}" if nodes else "        return x", "", "",
              "model = Model()", f"x = torch.zeros{(batch_size, *result.input_size)}"]  # fmt: skip
    if result.ok:
        lines.append(f"assert tuple(model(x).shape) == {result.output_shape}")
    else:
        row = result.first_error
        lines.append(f"# model(x) fails at layer {row.index} ({row.layer.kind}): fix it first")  # type: ignore[union-attr]
    return "\n".join(lines) + "\n"


def to_pytorch_code(layers: Sequence[Layer | Node], input_size: Sequence[int], batch_size: int = 1) -> str:
    """Runnable PyTorch: an nn.Sequential for a stack, an nn.Module class for a graph, each layer's output
    shape in a comment and an assert on the last one."""
    nodes = as_nodes(layers)
    if not is_stack(nodes) or any(isinstance(n.layer, Merge) for n in nodes):
        return _graph_code(nodes, input_size, batch_size)
    layers = [n.layer for n in nodes]
    result = summarize(layers, input_size, batch_size)
    lines = ["import torch", "from torch import nn", "", "model = nn.Sequential("]
    for row in result.rows:
        if row.status == "ok":
            comment = f"# -> {row.output_shape}"
        elif row.status == "error":
            comment = "# ERROR: " + " ".join(str(row.error).split())
        else:
            comment = "# not computed: a layer above fails"
        lines.append(f"    {row.layer.code()},  {comment}")
    lines += [")", "", f"x = torch.zeros{(batch_size, *result.input_size)}"]
    if result.ok:
        lines.append(f"assert tuple(model(x).shape) == {result.output_shape}")
    else:
        row = result.first_error
        lines.append(f"# model(x) fails at layer {row.index} ({row.layer.kind}): fix it first")  # type: ignore[union-attr]
    return "\n".join(lines) + "\n"


_CODE_EXAMPLE = (
    "nn.Sequential(nn.Conv2d(3, 16, kernel_size=3), nn.ReLU(), nn.Flatten(), nn.Linear(14400, 10))"
)
_BINARY = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.FloorDiv: lambda a, b: a // b,
    ast.Div: lambda a, b: a / b,
    ast.Mod: lambda a, b: a % b,
}
_IGNORED_KEYWORDS = ("device", "dtype")


def _code_error(node: ast.AST, offset: int | None, message: str) -> ConvConfigError:
    """The message, after the line it concerns (none when `offset` is None: a one-line text)."""
    if offset is None:
        return ConvConfigError(message, "code")
    return ConvConfigError(f"line {getattr(node, 'lineno', 1) - offset}: {message}", "code")


def _literal(node: ast.AST, offset: int | None) -> object:
    """A constant, a tuple of constants or integer arithmetic such as 4*240; names are refused."""
    if isinstance(node, ast.Constant) and (
        node.value is None or isinstance(node.value, (bool, int, float, str))
    ):
        return node.value
    if isinstance(node, (ast.Tuple, ast.List)):
        return tuple(_literal(e, offset) for e in node.elts)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        value = _literal(node.operand, offset)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _code_error(node, offset, f"cannot negate {ast.unparse(node.operand)}")
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        a, b = _literal(node.left, offset), _literal(node.right, offset)
        if any(isinstance(v, bool) or not isinstance(v, (int, float)) for v in (a, b)):
            raise _code_error(node, offset, f"`{ast.unparse(node)}`: arithmetic works on numbers only")
        if abs(a) > 1e15 or abs(b) > 1e15:
            raise _code_error(node, offset, f"`{ast.unparse(node)}`: numbers this large are not layer sizes")
        try:
            return _BINARY[type(node.op)](a, b)
        except ZeroDivisionError:
            raise _code_error(node, offset, f"`{ast.unparse(node)}` divides by zero") from None
    if isinstance(node, ast.Starred):
        raise _code_error(node, offset, "*args is not supported: write each argument")
    if isinstance(node, ast.Name):
        raise _code_error(
            node,
            offset,
            f"`{node.id}` is a variable; the code is read, not run, so write its value "
            "(e.g. 10 for num_classes)",
        )
    raise _code_error(
        node,
        offset,
        f"cannot read `{ast.unparse(node)}`: expected a number, a string, True/False/None or a tuple",
    )


def _shorten(text: str, width: int = 60) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def _callee(node: ast.expr) -> str | None:
    """'Conv2d' for nn.Conv2d, torch.nn.Conv2d or Conv2d; None for anything else."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    parts.reverse()
    return parts[-1] if parts[:-1] in ([], ["nn"], ["torch", "nn"]) else None


def _layers_from_node(node: ast.expr, offset: int | None, typed: bool = True) -> list[Layer]:
    """The layers of one call (a layer, or an nn.Sequential of them). `typed`: refuse arguments not of the
    spec's type (pasted code); a table row keeps them, and the row's own check says what is wrong."""
    if isinstance(node, ast.Starred):
        raise _code_error(node, offset, "*args is not supported: list the layers one by one")
    if not isinstance(node, ast.Call):
        raise _code_error(
            node, offset, f"expected a layer such as nn.Conv2d(3, 16, 3), got `{ast.unparse(node)}`"
        )
    name = _callee(node.func)
    if name == "Sequential":
        return [layer for arg in node.args for layer in _layers_from_node(arg, offset, typed)]
    if name in MERGE_TYPES and isinstance(node.func, ast.Attribute):
        raise _code_error(
            node,
            offset,
            f"nn.{name} is not a torch.nn module: merge in a forward (a + b, torch.cat([a, b], 1))",
        )
    cls = LAYER_TYPES.get(name or "")
    if cls is None:
        close = difflib.get_close_matches(name or ast.unparse(node.func), LAYER_TYPES, n=1)
        raise _code_error(
            node,
            offset,
            f"`{ast.unparse(node.func)}(...)` is not a layer the network builder knows"
            + (f" (did you mean nn.{close[0]}?)" if close else "")
            + f"; expected one of: {', '.join('nn.' + n for n in LAYER_TYPES)}",
        )
    names = [f.name for f in fields(cls)]  # type: ignore[arg-type]
    positional = [f.name for f in fields(cls) if not f.kw_only]  # type: ignore[arg-type]
    if len(node.args) > len(positional):
        raise _code_error(
            node,
            offset,
            f"nn.{name} takes at most {len(positional)} positional argument(s) ({', '.join(positional)}), "
            f"got {len(node.args)}",
        )
    kwargs = {n: _literal(a, offset) for n, a in zip(positional, node.args, strict=False)}
    written = dict(zip(positional, node.args, strict=False))
    for kw in node.keywords:
        if kw.arg is None:
            raise _code_error(node, offset, "**kwargs is not supported: write each argument")
        if kw.arg in _IGNORED_KEYWORDS:
            continue
        if kw.arg not in names:
            raise _code_error(
                node, offset, f"nn.{name} has no argument `{kw.arg}`; its arguments: {', '.join(names)}"
            )
        if kw.arg in kwargs:
            raise _code_error(node, offset, f"nn.{name} gets `{kw.arg}` twice")
        kwargs[kw.arg] = _literal(kw.value, offset)
        written[kw.arg] = kw.value
    for key, value in kwargs.items() if typed else ():
        arg = written[key]
        problem = cls.wrong_argument(key, value)
        if problem:
            raise _code_error(arg, offset, f"nn.{name}: {problem}, not `{_shorten(ast.unparse(arg))}`")
    missing = [f.name for f in fields(cls) if f.default is MISSING and f.name not in kwargs]  # type: ignore[arg-type]
    if missing:
        raise _code_error(node, offset, f"nn.{name} needs {', '.join(missing)}")
    return [cls(**kwargs)]


def _is_sequential(node: ast.AST) -> bool:
    return isinstance(node, ast.Call) and _callee(node.func) == "Sequential"


MAX_CODE_CHARS = 200_000  # a full ResNet written out is about 6,000
MAX_NESTING = 60  # brackets inside brackets: lecture code nests 4 or 5 deep
# Calls (opening parentheses) in one paste: the builder's largest network (MAX_LAYERS layers) exported as
# code has about 2 a layer. 200,000 characters of "nn.ReLU()," would be 18,000 layers, seconds to read.
MAX_CALLS = 10 * MAX_LAYERS
# Digits in one whole number: more is no layer size, even a deliberately huge one (Python's parser refuses
# past 4,300 with a message about its own settings). Digits after a letter, an underscore or a point are
# left alone: names, hex and fractions.
MAX_DIGITS = 100
_LONG_NUMBER = re.compile(rf"(?<![\w.])\d(?:_?\d){{{MAX_DIGITS}}}")


def _check_size(text: str) -> str:
    """Refuse text too long or too deeply nested before any parsing; drop markdown code fences."""
    if not isinstance(text, str):
        raise ConvConfigError(f"expected PyTorch code as text (got {type(text).__name__})", "code")
    if len(text) > MAX_CODE_CHARS:
        raise ConvConfigError(f"the code is too long (over {MAX_CODE_CHARS:,} characters)", "code")
    calls = text.count("(")
    if calls > MAX_CALLS:
        raise ConvConfigError(
            f"the code makes {calls:,} calls; a network of the builder's {MAX_LAYERS} layers takes far "
            f"fewer (at most {MAX_CALLS:,}): paste one model",
            "code",
        )
    depth = deepest = 0
    for char in text:
        if char in "([{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in ")]}":
            depth -= 1
    if deepest > MAX_NESTING:
        raise ConvConfigError(
            f"the code nests brackets {deepest} deep (at most {MAX_NESTING}): no model needs that", "code"
        )
    # A fence line becomes an empty one, so that line numbers in messages are those of the paste.
    lines = ["" if line.lstrip().startswith("```") else line for line in text.splitlines()]
    text = "\n".join(lines)
    long_number = _LONG_NUMBER.search(text)
    if long_number:
        line = text.count("\n", 0, long_number.start()) + 1
        raise ConvConfigError(
            f"line {line}: a number with more than {MAX_DIGITS} digits; layer sizes are small whole numbers",
            "code",
        )
    return text


def _parse(text: str) -> tuple[ast.Module, int]:
    try:
        return ast.parse(text), 0
    except SyntaxError as error:
        try:  # the inside of a Sequential: layers separated by commas
            return ast.parse("[\n" + text + "\n]"), 1
        except (SyntaxError, RecursionError, MemoryError, ValueError):
            raise ConvConfigError(
                f"line {error.lineno}: {error.msg}; expected Python such as {_CODE_EXAMPLE}", "code"
            ) from None
    except (RecursionError, MemoryError, ValueError):
        raise ConvConfigError("the code is nested too deeply to read", "code") from None


def import_code(text: str) -> tuple[list[Layer] | list[Node], list[str]]:
    """The network of PyTorch source and notes on what was assumed (see `from_pytorch_code`)."""
    tree, offset = _parse(_check_size(text))
    try:
        if uses_classes(tree):
            nodes, notes = interpret(tree, offset)
            return simplest(nodes), notes
        return _sequential_layers(tree, offset), []
    except RecursionError:
        raise ConvConfigError("the code is nested too deeply to read", "code") from None


def from_pytorch_code(text: str) -> list[Layer] | list[Node]:
    """The network of PyTorch source, read with `ast` and never run.

    An nn.Sequential(...) or layer calls one per line give a stack; a model class (layers set in
    __init__, a forward that calls them, functions such as F.relu between) gives its stack or graph, in
    the order the forward computes it. A graph comes back as nodes, a stack as layers.
    """
    return import_code(text)[0]


def _sequential_layers(tree: ast.Module, offset: int) -> list[Layer]:
    sequentials = [n for n in ast.walk(tree) if _is_sequential(n)]
    inner = {id(c) for s in sequentials for c in ast.walk(s) if c is not s and _is_sequential(c)}
    outer = sorted((s for s in sequentials if id(s) not in inner), key=lambda n: (n.lineno, n.col_offset))
    if len(outer) > 1:
        lines = ", ".join(str(s.lineno - offset) for s in outer)
        raise ConvConfigError(
            f"found {len(outer)} nn.Sequential blocks (lines {lines}); paste the one to build", "code"
        )
    if outer:
        return _layers_from_node(outer[0], offset)  # nn.Sequential() is an empty stack
    nodes: list[ast.expr] = []
    for statement in tree.body:
        if isinstance(statement, ast.Expr):
            value = statement.value
            nodes.extend(value.elts if isinstance(value, (ast.Tuple, ast.List)) else [value])
    layers = [layer for node in nodes for layer in _layers_from_node(node, offset)]
    if not layers:
        raise ConvConfigError(
            f"no layers found; expected {_CODE_EXAMPLE}, or one layer call per line", "code"
        )
    return layers


def layer_from_arguments(kind: str, arguments: str | None) -> Layer:
    """One layer from its type and its arguments as written inside the call.

    `layer_from_arguments("Conv2d", "in_channels=3, out_channels=16, kernel_size=3")` is
    `Conv2d(3, 16, 3)`. Read like `from_pytorch_code` (never run); `Layer.argument_text` writes it back.
    """
    cls = LAYER_TYPES.get(kind) if isinstance(kind, str) else None
    if cls is None:
        close = difflib.get_close_matches(str(kind), LAYER_TYPES, n=1)
        raise ConvConfigError(
            f"{kind!r} is not a layer type"
            + (f" (did you mean {close[0]}?)" if close else "")
            + f"; pick one of: {', '.join(LAYER_TYPES)}",
            "type",
        )
    text = (arguments or "").strip()
    if len(text) > 2_000:
        raise ConvConfigError(f"{kind}: the arguments are too long (over 2,000 characters)", "arguments")
    example = LAYER_EXAMPLES.get(kind, "")
    try:
        tree = ast.parse(f"{kind}({text})", mode="eval")
    except SyntaxError as error:
        raise ConvConfigError(
            f"{kind}: cannot read `{text}` ({error.msg}); write the arguments as in Python"
            + (f", e.g. {example}" if example else ""),
            "arguments",
        ) from None
    call = tree.body
    if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == kind):
        raise ConvConfigError(
            f"{kind}: `{text}` is more than one call's arguments; write name=value pairs separated by commas"
            + (f", e.g. {example}" if example else ""),
            "arguments",
        )
    return _layers_from_node(call, None, typed=False)[0]


# One line of arguments per layer type, for messages and for a new row in the network builder.
LAYER_EXAMPLES: dict[str, str] = {
    "Conv1d": "in_channels=1, out_channels=16, kernel_size=3",
    "Conv2d": "in_channels=3, out_channels=16, kernel_size=3, padding=1",
    "ConvTranspose1d": "in_channels=16, out_channels=8, kernel_size=2, stride=2",
    "ConvTranspose2d": "in_channels=16, out_channels=8, kernel_size=2, stride=2",
    "MaxPool1d": "kernel_size=2",
    "MaxPool2d": "kernel_size=2",
    "AvgPool1d": "kernel_size=2",
    "AvgPool2d": "kernel_size=2",
    "AdaptiveAvgPool1d": "output_size=1",
    "AdaptiveAvgPool2d": "output_size=1",
    "AdaptiveMaxPool1d": "output_size=1",
    "AdaptiveMaxPool2d": "output_size=1",
    "BatchNorm1d": "num_features=16",
    "BatchNorm2d": "num_features=16",
    "Dropout": "p=0.5",
    "LeakyReLU": "negative_slope=0.01",
    "Linear": "in_features=240, out_features=10",
}


def input_size_for(layers: Sequence[Layer], current: Sequence[int]) -> Shape:
    """An input shape the first layer of `layers` takes, keeping `current` where it already fits.

    Channels come from the first layer's in_channels / num_features; a window layer whose number of
    axes differs from `current` gets 32x32 (2D) or 40 (1D, MNIST-1D's length); a first Linear gets
    (in_features,), or the square image (C, S, S) with C = 3 or 1 and C*S*S = in_features after Flatten.
    """
    shape = tuple(current)
    first = next((layer for layer in layers if layer.kind not in (*_SHAPELESS, "Flatten")), None)
    if first is None:
        return shape
    after_flatten = any(layer.kind == "Flatten" for layer in layers[: list(layers).index(first)])
    if first.kind == "Linear":
        features = first.in_features  # type: ignore[attr-defined]
        if not isinstance(features, int) or features < 1:
            return shape
        if math.prod(shape) == features and (after_flatten or len(shape) == 1):
            return shape
        if after_flatten:
            for c in (3, 1):
                side = math.isqrt(features // c)
                if features % c == 0 and side * side * c == features:
                    return (c, side, side)
        return (features,)
    ndim = getattr(first, "ndim", None)  # spatial axes: 1 or 2 for window layers
    if first.kind == "BatchNorm2d":
        ndim = 2
    if first.kind == "BatchNorm1d":  # (C,) or (C, L): keep whichever the current input has
        ndim = len(shape) - 1 if len(shape) in (1, 2) else 1
    channels = next(
        (getattr(first, name) for name in ("in_channels", "num_features") if hasattr(first, name)), shape[0]
    )
    if not isinstance(channels, int) or channels < 1:
        channels = shape[0]
    if ndim is None:
        return shape
    spatial = shape[1:] if len(shape) == ndim + 1 else ((32, 32) if ndim == 2 else (40,) if ndim == 1 else ())
    return (channels, *spatial)


_SHAPELESS = ("ReLU", "Tanh", "Sigmoid", "LeakyReLU", "GELU", "Dropout")


def read_network(text: str, input_size: Sequence[int], batch_size: int = 1) -> Network:
    """A Network from pasted text: JSON in `to_json`'s format (starts with '{'), else PyTorch code.

    Code carries no input shape: `input_size` is kept where the first layer takes it, else adapted
    (`input_size_for`). Raises ConvConfigError with a message for a person.
    """
    return read_import(text, input_size, batch_size)[0]


def read_import(text: str, input_size: Sequence[int], batch_size: int = 1) -> tuple[Network, list[str]]:
    """`read_network`, with the notes on what reading the code assumed (an undefined num_classes...)."""
    if not isinstance(text, str) or not text.strip():
        raise ConvConfigError(
            "nothing to import: paste PyTorch code such as nn.Sequential(nn.Conv2d(3, 16, 3), ...) "
            'or JSON such as {"input_size": [3, 32, 32], "layers": [...]}',
            "code",
        )
    if len(text) > MAX_CODE_CHARS:  # before any parsing: a million pasted layers are refused at once
        raise ConvConfigError(
            f"the text is too long (over {MAX_CODE_CHARS:,} characters): paste one model", "code"
        )
    notes: list[str] = []
    if text.lstrip().startswith("{"):
        check_json_text(text)
        network = from_json(text)
    else:
        found, notes = import_code(text)
        layers = [n.layer if isinstance(n, Node) else n for n in found]
        network = Network(tuple(found), input_size_for(layers, input_size), batch_size)
    if len(network.layers) > MAX_LAYERS:
        raise ConvConfigError(
            f"{len(network.layers)} layers is more than the builder shows ({MAX_LAYERS}); "
            "paste a shorter network",
            "layers",
        )
    for i, layer in enumerate(network.layers):  # what the table cannot read back, it must not accept
        try:
            same = layer_from_arguments(layer.kind, layer.argument_text()) == layer
        except ConvConfigError:
            same = False
        if not same:
            raise ConvConfigError(
                f"layer {i} ({layer.code()[:80]}) has arguments the builder's table cannot hold", "code"
            )
    return network, notes
