"""Read a PyTorch model class as written, never running it: a small interpreter over its `ast`.

Lecture code defines models as classes: layers assigned in `__init__` (`self.conv1 = nn.Conv2d(3, 32,
3)`, an `nn.Sequential`, a `nonlinearity()` passed as a constructor argument, a helper that builds
blocks in a loop) and a `forward` that calls them, with functions between (`F.relu`, `F.max_pool2d`,
`x.view(x.shape[0], -1)`, `out += identity`, `torch.cat([a, b], dim=1)`). The interpreter evaluates
exactly that subset on stand-in values: numbers and tuples are computed, `nn.*` calls make layer specs,
and `forward` runs on a symbolic tensor that records one node per layer call, so the result is the
network's graph in the order the code computes it.

Nothing is executed: no import is performed, no attribute of a real object is read, and every loop,
call and list is bounded (`MAX_STEPS`, `MAX_CALL_DEPTH`, `MAX_ITEMS`). Anything outside the subset is
refused with its line number.
"""

from __future__ import annotations

import ast
import difflib
from collections.abc import Sequence
from dataclasses import MISSING, dataclass, field, fields

from cnnviz.errors import ConvConfigError
from cnnviz.network.layers import (
    INPUT,
    LAYER_TYPES,
    MAX_LAYERS,
    MERGE_TYPES,
    Add,
    Concat,
    Flatten,
    Layer,
    Node,
    Unflatten,
)

__all__ = ["MAX_STEPS", "interpret", "uses_classes"]

MAX_STEPS = 200_000  # expressions and statements evaluated, loops included
MAX_CALL_DEPTH = 40  # nested calls of the code's own functions and methods
MAX_ITEMS = 10_000  # items of a list, a tuple or a loop
MAX_NUMBER = 10**15
# Names a lecture leaves undefined that stand for a number of classes.
CLASS_COUNT_NAMES = ("num_classes", "n_classes", "classes", "num_class", "nclasses", "output_size")
# Constructor arguments without a default, guessed from their name when no `model = Net(...)` line says.
GUESSES = {
    "in_planes": 64, "inplanes": 64, "planes": 64, "in_channels": 64, "out_channels": 64, "channels": 64,
    "in_ch": 64, "out_ch": 64, "stride": 1, "num_classes": 10, "classes": 10, "n_classes": 10,
}  # fmt: skip

# torch.nn.functional (and torch.*) calls that stand for a layer: (spec name, its positional arguments).
FUNCTIONAL: dict[str, tuple[str, tuple[str, ...]]] = {
    "relu": ("ReLU", ()),
    "relu6": ("ReLU6", ()),
    "elu": ("ELU", ("alpha",)),
    "leaky_relu": ("LeakyReLU", ("negative_slope",)),
    "gelu": ("GELU", ()),
    "silu": ("SiLU", ()),
    "hardswish": ("Hardswish", ()),
    "sigmoid": ("Sigmoid", ()),
    "tanh": ("Tanh", ()),
    "softplus": ("Softplus", ("beta", "threshold")),
    "softmax": ("Softmax", ("dim",)),
    "log_softmax": ("LogSoftmax", ("dim",)),
    "dropout": ("Dropout", ("p",)),
    "dropout1d": ("Dropout1d", ("p",)),
    "dropout2d": ("Dropout2d", ("p",)),
    "max_pool1d": ("MaxPool1d", ("kernel_size", "stride", "padding", "dilation", "ceil_mode")),
    "max_pool2d": ("MaxPool2d", ("kernel_size", "stride", "padding", "dilation", "ceil_mode")),
    "avg_pool1d": ("AvgPool1d", ("kernel_size", "stride", "padding", "ceil_mode", "count_include_pad")),
    "avg_pool2d": ("AvgPool2d", ("kernel_size", "stride", "padding", "ceil_mode", "count_include_pad")),
    "adaptive_avg_pool1d": ("AdaptiveAvgPool1d", ("output_size",)),
    "adaptive_avg_pool2d": ("AdaptiveAvgPool2d", ("output_size",)),
    "interpolate": ("Upsample", ("size", "scale_factor", "mode", "align_corners")),
    "pixel_shuffle": ("PixelShuffle", ("upscale_factor",)),
    "local_response_norm": ("LocalResponseNorm", ("size", "alpha", "beta", "k")),
}
_IGNORED_KEYWORDS = ("inplace", "training", "device", "dtype", "antialias")
_TENSOR_METHODS = {"relu", "sigmoid", "tanh", "softmax", "log_softmax", "relu_"}
_PASS_THROUGH = {"contiguous", "clone", "float", "detach"}


_COMPARE = {
    ast.Eq: lambda a, b: a == b,
    ast.NotEq: lambda a, b: a != b,
    ast.Lt: lambda a, b: a < b,
    ast.LtE: lambda a, b: a <= b,
    ast.Gt: lambda a, b: a > b,
    ast.GtE: lambda a, b: a >= b,
    ast.In: lambda a, b: a in b,
    ast.NotIn: lambda a, b: a not in b,
}


class _ReturnError(Exception):
    """A `return`: carries the value up to the call."""

    def __init__(self, value: object) -> None:
        self.value = value


@dataclass
class _Tensor:
    node: int  # the node that makes it (INPUT: the model's input)


@dataclass
class _Dim:
    """A size read off a tensor (x.shape[0], x.size(0)): only good for x.view(n, -1)."""


@dataclass
class _Shape:
    tensor: _Tensor


@dataclass
class _Torch:
    """torch, torch.nn, torch.nn.functional or a name inside them."""

    path: str


@dataclass
class _Spec:
    layer: Layer


@dataclass
class _Container:
    kind: str  # 'Sequential' or 'ModuleList'
    items: list


@dataclass
class _Function:
    node: ast.FunctionDef
    owner: _Instance | None = None


@dataclass
class _Class:
    node: ast.ClassDef
    attrs: dict = field(default_factory=dict)
    bases: list = field(default_factory=list)
    forward: ast.FunctionDef | None = None

    def method(self, name: str) -> ast.FunctionDef | None:
        for item in self.node.body:
            if isinstance(item, ast.FunctionDef) and item.name == name:
                return item
        if name == "forward" and self.forward is not None:
            return self.forward
        for base in self.bases:
            if isinstance(base, _Class):
                found = base.method(name)
                if found is not None:
                    return found
        return None


@dataclass
class _Instance:
    cls: _Class | None
    attrs: dict = field(default_factory=dict)
    order: list = field(default_factory=list)  # module attributes in the order assigned


@dataclass
class _Method:
    target: object
    name: str


@dataclass
class _Builtin:
    name: str


def _error(node: ast.AST | None, offset: int, message: str) -> ConvConfigError:
    line = getattr(node, "lineno", None)
    return ConvConfigError(f"line {line - offset}: {message}" if line else message, "code")


def _plain(value: object) -> object:
    """A layer argument as the specs hold it: lists become tuples."""
    if isinstance(value, list):
        return tuple(_plain(v) for v in value)
    if isinstance(value, tuple):
        return tuple(_plain(v) for v in value)
    return value


def _is_plain(value: object) -> bool:
    if isinstance(value, tuple):
        return all(_is_plain(v) for v in value)
    return value is None or isinstance(value, (bool, int, float, str))


def uses_classes(tree: ast.Module) -> bool:
    """True when the code defines a class or a function, or assigns `self.<name>` at the top level."""
    for statement in tree.body:
        if isinstance(statement, (ast.ClassDef, ast.FunctionDef)):
            return True
        if isinstance(statement, ast.Assign) and any(_is_self_attr(t) for t in statement.targets):
            return True
    return False


def _is_self_attr(node: ast.AST) -> bool:
    return isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "self"


class _Interpreter:
    def __init__(self, offset: int) -> None:
        self.offset = offset
        self.steps = 0
        self.depth = 0
        self.nodes: list[Node] = []
        self.notes: list[str] = []
        self.globals: dict[str, object] = {
            "torch": _Torch("torch"),
            "nn": _Torch("torch.nn"),
            "F": _Torch("torch.nn.functional"),
            "True": True,
            "False": False,
            "None": None,
            **{name: _Builtin(name) for name in ("range", "len", "int", "float", "min", "max", "abs", "list",
                                                  "tuple", "super", "print", "isinstance", "round", "sum")},
        }  # fmt: skip

    # -- limits and errors --

    def tick(self, node: ast.AST) -> None:
        self.steps += 1
        if self.steps > MAX_STEPS:
            raise _error(
                node, self.offset, f"the code takes more than {MAX_STEPS:,} steps to read: simplify it"
            )

    def fail(self, node: ast.AST | None, message: str) -> ConvConfigError:
        return _error(node, self.offset, message)

    # -- nodes --

    def emit(self, layer: Layer, inputs: Sequence[_Tensor], where: ast.AST) -> _Tensor:
        if len(self.nodes) >= MAX_LAYERS:
            raise self.fail(
                where, f"the model has more than {MAX_LAYERS} layers: more than the builder shows"
            )
        self.nodes.append(Node(layer, tuple(t.node for t in inputs)))
        return _Tensor(len(self.nodes) - 1)

    # -- statements --

    def run(self, body: Sequence[ast.stmt], env: dict[str, object]) -> None:
        for statement in body:
            self.statement(statement, env)

    def statement(self, node: ast.stmt, env: dict[str, object]) -> None:
        self.tick(node)
        if isinstance(node, ast.Expr):
            if isinstance(node.value, ast.Constant):
                return  # a docstring
            if isinstance(node.value, ast.Call) and self._ignored_call(node.value.func, env):
                return
            self.eval(node.value, env)
        elif isinstance(node, ast.Assign):
            value = self.eval(node.value, env)
            for target in node.targets:
                self.assign(target, value, env)
        elif isinstance(node, ast.AnnAssign):
            if node.value is not None:
                self.assign(node.target, self.eval(node.value, env), env)
        elif isinstance(node, ast.AugAssign):
            current = self.eval(node.target if not isinstance(node.target, ast.Name) else node.target, env)
            self.assign(node.target, self.binary(node.op, current, self.eval(node.value, env), node), env)
        elif isinstance(node, ast.Return):
            raise _ReturnError(None if node.value is None else self.eval(node.value, env))
        elif isinstance(node, ast.If):
            self.run(node.body if self.truth(self.eval(node.test, env), node.test) else node.orelse, env)
        elif isinstance(node, ast.For):
            items = self.iterate(self.eval(node.iter, env), node.iter)
            for item in items:
                self.assign(node.target, item, env)
                self.run(node.body, env)
            if node.orelse:
                self.run(node.orelse, env)
        elif isinstance(node, (ast.Pass, ast.Assert, ast.Import, ast.ImportFrom, ast.Global, ast.Nonlocal)):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                self.imports(node, env)
        elif isinstance(node, ast.FunctionDef):
            env[node.name] = _Function(node)
        elif isinstance(node, ast.ClassDef):
            self.define(node, env)
        elif isinstance(node, ast.Raise):
            raise self.fail(node, f"the code raises here: `{ast.unparse(node)[:80]}`")
        else:
            raise self.fail(node, f"`{type(node).__name__.lower()}` statements are not read here")

    def imports(self, node: ast.Import | ast.ImportFrom, env: dict[str, object]) -> None:
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "torch":
                    env[alias.asname or alias.name.split(".")[0]] = _Torch(
                        alias.name if alias.asname else "torch"
                    )
            return
        module = node.module or ""
        if module.split(".")[0] != "torch":
            return
        for alias in node.names:
            env[alias.asname or alias.name] = _Torch(f"{module}.{alias.name}")

    def define(self, node: ast.ClassDef, env: dict[str, object]) -> None:
        cls = _Class(node, bases=[self.eval(b, env) if isinstance(b, ast.Name) and b.id in env else None
                                  for b in node.bases])  # fmt: skip
        for item in node.body:
            if isinstance(item, ast.Assign) and all(isinstance(t, ast.Name) for t in item.targets):
                value = self.eval(item.value, env)
                for t in item.targets:
                    cls.attrs[t.id] = value  # type: ignore[union-attr]
        env[node.name] = cls

    def assign(self, target: ast.AST, value: object, env: dict[str, object]) -> None:
        if isinstance(target, ast.Name):
            env[target.id] = value
        elif isinstance(target, ast.Attribute):
            owner = self.eval(target.value, env)
            if not isinstance(owner, _Instance):
                raise self.fail(target, f"cannot set `{ast.unparse(target)}` here")
            if target.attr not in owner.attrs and isinstance(value, (_Spec, _Container, _Instance)):
                owner.order.append(target.attr)
            owner.attrs[target.attr] = value
        elif isinstance(target, (ast.Tuple, ast.List)):
            items = self.iterate(value, target)
            if len(items) != len(target.elts):
                raise self.fail(target, f"cannot unpack {len(items)} values into {len(target.elts)} names")
            for t, v in zip(target.elts, items, strict=True):
                self.assign(t, v, env)
        else:
            raise self.fail(target, f"cannot assign to `{ast.unparse(target)[:60]}` here")

    # -- values --

    def truth(self, value: object, node: ast.AST) -> bool:
        if isinstance(value, (_Tensor, _Dim, _Shape)):
            raise self.fail(
                node, "a condition on a tensor's values or size cannot be decided without running"
            )
        return bool(value)

    def iterate(self, value: object, node: ast.AST) -> list:
        if isinstance(value, _Container):
            items = list(value.items)
        elif isinstance(value, (list, tuple, range)):
            items = list(value)
        else:
            raise self.fail(node, f"cannot loop over `{ast.unparse(node)[:60]}` without running the code")
        if len(items) > MAX_ITEMS:
            raise self.fail(node, f"a loop of more than {MAX_ITEMS:,} items")
        self.steps += len(items)
        return items

    def eval(self, node: ast.expr, env: dict[str, object]) -> object:
        self.tick(node)
        if isinstance(node, ast.Constant):
            if (
                isinstance(node.value, int)
                and not isinstance(node.value, bool)
                and abs(node.value) > MAX_NUMBER
            ):
                raise self.fail(node, "numbers this large are not layer sizes")
            return node.value
        if isinstance(node, ast.Name):
            return self.lookup(node, env)
        if isinstance(node, (ast.Tuple, ast.List)):
            items = []
            for e in node.elts:
                if isinstance(e, ast.Starred):
                    items += self.iterate(self.eval(e.value, env), e)
                else:
                    items.append(self.eval(e, env))
            if len(items) > MAX_ITEMS:
                raise self.fail(node, f"more than {MAX_ITEMS:,} items")
            return tuple(items) if isinstance(node, ast.Tuple) else items
        if isinstance(node, ast.Attribute):
            return self.attribute(self.eval(node.value, env), node)
        if isinstance(node, ast.Subscript):
            return self.subscript(self.eval(node.value, env), node, env)
        if isinstance(node, ast.Call):
            return self.call(node, env)
        if isinstance(node, ast.BinOp):
            return self.binary(node.op, self.eval(node.left, env), self.eval(node.right, env), node)
        if isinstance(node, ast.UnaryOp):
            value = self.eval(node.operand, env)
            if isinstance(node.op, ast.Not):
                return not self.truth(value, node)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise self.fail(node, f"cannot negate `{ast.unparse(node.operand)[:60]}`")
            return -value if isinstance(node.op, ast.USub) else +value
        if isinstance(node, ast.BoolOp):
            result: object = isinstance(node.op, ast.And)
            for v in node.values:
                result = self.eval(v, env)
                if self.truth(result, v) != isinstance(node.op, ast.And):
                    return result
            return result
        if isinstance(node, ast.Compare):
            return self.compare(node, env)
        if isinstance(node, ast.IfExp):
            return self.eval(
                node.body if self.truth(self.eval(node.test, env), node.test) else node.orelse, env
            )
        if isinstance(node, ast.ListComp) and len(node.generators) == 1 and not node.generators[0].ifs:
            gen = node.generators[0]
            out = []
            local = dict(env)
            for item in self.iterate(self.eval(gen.iter, env), gen.iter):
                self.assign(gen.target, item, local)
                out.append(self.eval(node.elt, local))
            return out
        raise self.fail(node, f"cannot read `{ast.unparse(node)[:60]}` without running the code")

    def lookup(self, node: ast.Name, env: dict[str, object]) -> object:
        if node.id in env:
            return env[node.id]
        if node.id in self.globals:
            return self.globals[node.id]
        if node.id in CLASS_COUNT_NAMES:
            self.notes.append(f"`{node.id}` is not defined in the code: taken as 10")
            self.globals[node.id] = 10
            return 10
        raise self.fail(
            node,
            f"`{node.id}` is not defined in the code; the code is read, not run, so define it "
            f"(e.g. {node.id} = 10) or write its value",
        )

    def attribute(self, value: object, node: ast.Attribute) -> object:
        name = node.attr
        if isinstance(value, _Torch):
            return _Torch(f"{value.path}.{name}")
        if isinstance(value, _Instance):
            if name in value.attrs:
                return value.attrs[name]
            if name == "training":
                return False  # read as in eval mode
            if value.cls is not None:
                if value.cls.method(name) is not None:
                    return _Function(value.cls.method(name), value)  # type: ignore[arg-type]
                for cls in self.lineage(value.cls):
                    if name in cls.attrs:
                        return cls.attrs[name]
            if name in ("modules", "parameters", "children", "named_modules", "named_parameters", "apply"):
                return _Method(value, name)
            raise self.fail(node, f"`self.{name}` is used before it is set")
        if isinstance(value, _Class):
            for cls in self.lineage(value):
                if name in cls.attrs:
                    return cls.attrs[name]
            raise self.fail(node, f"class {value.node.name} has no attribute `{name}`")
        if isinstance(value, _Tensor):
            if name == "shape":
                return _Shape(value)
            return _Method(value, name)
        if isinstance(value, (list, _Container, _Spec, _Shape)):
            return _Method(value, name)
        raise self.fail(node, f"cannot read `{ast.unparse(node)[:60]}` without running the code")

    def lineage(self, cls: _Class) -> list[_Class]:
        out, todo = [], [cls]
        while todo and len(out) < 50:
            current = todo.pop(0)
            out.append(current)
            todo += [b for b in current.bases if isinstance(b, _Class)]
        return out

    def subscript(self, value: object, node: ast.Subscript, env: dict[str, object]) -> object:
        index = self.eval(node.slice, env)
        if isinstance(value, _Shape) and isinstance(index, int):
            return _Dim()
        if isinstance(value, _Container):
            value = value.items
        if isinstance(value, (list, tuple)) and isinstance(index, int) and not isinstance(index, bool):
            try:
                return value[index]
            except IndexError:
                raise self.fail(node, f"index {index} is out of range") from None
        raise self.fail(node, f"cannot index `{ast.unparse(node)[:60]}` without running the code")

    def compare(self, node: ast.Compare, env: dict[str, object]) -> bool:
        left = self.eval(node.left, env)
        for op, right_node in zip(node.ops, node.comparators, strict=True):
            right = self.eval(right_node, env)
            if isinstance(op, (ast.Is, ast.IsNot)):
                same = left is right or (left is None and right is None)
                ok = same if isinstance(op, ast.Is) else not same
            else:
                if any(isinstance(v, (_Tensor, _Dim, _Shape)) for v in (left, right)):
                    raise self.fail(node, "a comparison of tensors cannot be decided without running")
                try:
                    ok = _COMPARE[type(op)](left, right)
                except (TypeError, KeyError):
                    raise self.fail(node, f"cannot compare `{ast.unparse(node)[:60]}`") from None
            if not ok:
                return False
            left = right
        return True

    def binary(self, op: ast.operator, a: object, b: object, node: ast.AST) -> object:
        if isinstance(a, _Tensor) and isinstance(b, _Tensor):
            if isinstance(op, ast.Add):
                return self.emit(Add(), [a, b], node)
            raise self.fail(node, f"`{ast.unparse(node)[:60]}`: only + joins two tensors here (a shortcut)")
        if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)) and isinstance(op, ast.Add):
            if len(a) + len(b) > MAX_ITEMS:
                raise self.fail(node, f"more than {MAX_ITEMS:,} items")
            return type(a)([*a, *b])
        if isinstance(a, (list, tuple)) and isinstance(b, int) and isinstance(op, ast.Mult):
            if len(a) * b > MAX_ITEMS:
                raise self.fail(node, f"more than {MAX_ITEMS:,} items")
            return a * b
        if any(isinstance(v, bool) or not isinstance(v, (int, float)) for v in (a, b)):
            raise self.fail(node, f"`{ast.unparse(node)[:60]}`: arithmetic works on numbers only")
        if abs(a) > MAX_NUMBER or abs(b) > MAX_NUMBER:  # type: ignore[arg-type]
            raise self.fail(node, f"`{ast.unparse(node)[:60]}`: numbers this large are not layer sizes")
        try:
            ops = {ast.Add: lambda: a + b, ast.Sub: lambda: a - b, ast.Mult: lambda: a * b, ast.Div: lambda: a / b,
                   ast.FloorDiv: lambda: a // b, ast.Mod: lambda: a % b}  # type: ignore[operator]  # fmt: skip
            if isinstance(op, ast.Pow) and isinstance(b, int) and 0 <= b <= 64 and abs(a) < 2**20:  # type: ignore[arg-type]
                return a**b  # type: ignore[operator]
            return ops[type(op)]()
        except ZeroDivisionError:
            raise self.fail(node, f"`{ast.unparse(node)[:60]}` divides by zero") from None
        except KeyError:
            raise self.fail(node, f"`{ast.unparse(node)[:60]}`: this operator is not read here") from None

    # -- calls --

    def _ignored_call(self, func: ast.expr, env: dict[str, object]) -> bool:
        """Calls whose only effect is on weights or printing (init, print): skipped without reading."""
        text = ast.unparse(func)
        return (
            ".init." in f".{text}."
            or text in ("print", "torch.manual_seed")
            or text.endswith(("weight.data.normal_", "weight.data.fill_", "bias.data.zero_", ".apply"))
        )

    def arguments(self, node: ast.Call, env: dict[str, object]) -> tuple[list, dict]:
        args: list = []
        for a in node.args:
            if isinstance(a, ast.Starred):
                args += self.iterate(self.eval(a.value, env), a)
            else:
                args.append(self.eval(a, env))
        kwargs: dict = {}
        for kw in node.keywords:
            if kw.arg is None:
                raise self.fail(node, "**kwargs is not read here: write each argument")
            kwargs[kw.arg] = self.eval(kw.value, env)
        return args, kwargs

    def call(self, node: ast.Call, env: dict[str, object]) -> object:
        if self._ignored_call(node.func, env):
            return None
        func = node.func
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Call):
            inner = func.value.func
            if (
                isinstance(inner, ast.Name) and inner.id == "super"
            ):  # super().__init__(...), super(Net, self)...
                owner = env.get("self")
                base = (
                    next((b for b in owner.cls.bases if isinstance(b, _Class)), None)
                    if isinstance(owner, _Instance) and owner.cls
                    else None
                )
                method = base.method(func.attr) if base is not None else None
                if method is None:
                    return None  # nn.Module's own __init__: nothing to read
                args, kwargs = self.arguments(node, env)
                return self.invoke(_Function(method, owner), args, kwargs, node)  # type: ignore[arg-type]
        callee = self.eval(node.func, env)
        args, kwargs = self.arguments(node, env)
        if isinstance(callee, _Torch):
            return self.torch_call(callee.path, args, kwargs, node)
        if isinstance(callee, _Builtin):
            return self.builtin(callee.name, args, node)
        if isinstance(callee, _Class):
            return self.instantiate(callee, args, kwargs, node)
        if isinstance(callee, _Function):
            return self.invoke(callee, args, kwargs, node)
        if isinstance(callee, _Method):
            return self.method(callee, args, kwargs, node)
        if isinstance(callee, (_Spec, _Container, _Instance)):
            return self.apply(callee, args, kwargs, node)
        raise self.fail(node, f"cannot call `{ast.unparse(node.func)[:60]}` without running the code")

    def builtin(self, name: str, args: list, node: ast.Call) -> object:
        try:
            if name == "range":
                values = range(*args)
                if len(values) > MAX_ITEMS:
                    raise self.fail(node, f"range of more than {MAX_ITEMS:,} values")
                return values
            if name in ("len", "int", "float", "min", "max", "abs", "round", "sum"):
                return {"len": len, "int": int, "float": float, "min": min, "max": max, "abs": abs, "round": round,
                        "sum": sum}[name](*args)  # fmt: skip
            if name in ("list", "tuple"):
                items = self.iterate(args[0], node) if args else []
                return list(items) if name == "list" else tuple(items)
            if name == "super":
                return _Method(None, "super")
            if name == "isinstance":
                return False
            if name == "print":
                return None
        except (TypeError, ValueError, IndexError) as error:
            raise self.fail(node, f"`{ast.unparse(node)[:60]}`: {error}") from None
        raise self.fail(node, f"`{name}(...)` is not read here")

    def torch_call(self, path: str, args: list, kwargs: dict, node: ast.Call) -> object:
        name = path.rsplit(".", 1)[-1]
        tensors = [a for a in args if isinstance(a, _Tensor)]
        if path.startswith("torch.nn.") and not path.startswith("torch.nn.functional") and name[:1].isupper():
            return self.module(name, args, kwargs, node)
        if name in ("cat", "concat", "concatenate") and args:
            parts = args[0] if isinstance(args[0], (list, tuple)) else []
            if not parts or not all(isinstance(p, _Tensor) for p in parts):
                raise self.fail(node, "torch.cat takes a list of tensors")
            dim = kwargs.get("dim", args[1] if len(args) > 1 else 0)
            return self.emit(Concat(dim), parts, node)
        if name == "add" and len(tensors) == 2:
            return self.emit(Add(), tensors, node)
        if name == "flatten" and tensors:
            start = kwargs.get("start_dim", args[1] if len(args) > 1 else 0)
            end = kwargs.get("end_dim", args[2] if len(args) > 2 else -1)
            if start == 0:
                raise self.fail(node, "torch.flatten(x) merges the batch axis too: write torch.flatten(x, 1)")
            return self.emit(Flatten(start, end), tensors[:1], node)
        if name in FUNCTIONAL and tensors:
            kind, names = FUNCTIONAL[name]
            rest = [a for a in args if a is not tensors[0]]
            extra = {k: v for k, v in kwargs.items() if k not in _IGNORED_KEYWORDS and k != "input"}
            if name == "interpolate" and "recompute_scale_factor" in kwargs:
                extra["recompute_scale_factor"] = kwargs["recompute_scale_factor"]
            positional = dict(zip(names, rest, strict=False))
            return self.emit(self.layer(kind, [], {**positional, **extra}, node), tensors[:1], node)
        if name == "pad" and tensors:
            pads = kwargs.get("pad", args[1] if len(args) > 1 else None)
            mode = kwargs.get("mode", args[2] if len(args) > 2 else "constant")
            value = kwargs.get("value", args[3] if len(args) > 3 else None)
            if mode != "constant" or value not in (None, 0, 0.0) or not isinstance(pads, (list, tuple)):
                raise self.fail(node, "F.pad is read as zero padding only (mode='constant', value 0)")
            kind = "ZeroPad1d" if len(pads) == 2 else "ZeroPad2d"
            return self.emit(self.layer(kind, [tuple(pads)], {}, node), tensors[:1], node)
        if tensors:
            raise self.fail(
                node, f"`{path.replace('torch.nn.functional', 'F')}(...)` has no layer in the builder"
            )
        raise self.fail(node, f"`{path}(...)` is not read here")

    def module(self, name: str, args: list, kwargs: dict, node: ast.Call) -> object:
        if name == "Sequential":
            return _Container("Sequential", list(args))
        if name == "ModuleList":
            items = list(self.iterate(args[0], node)) if args else []
            return _Container("ModuleList", items)
        if name == "Identity":
            return _Spec(LAYER_TYPES["Identity"]())
        if name == "Module":
            return _Instance(None)
        return _Spec(self.layer(name, args, kwargs, node))

    def layer(self, name: str, args: list, kwargs: dict, node: ast.AST) -> Layer:
        """A spec from evaluated arguments, checked like torch.nn's constructor would."""
        cls = LAYER_TYPES.get(name)
        if cls is None or name in MERGE_TYPES:
            close = difflib.get_close_matches(name, [n for n in LAYER_TYPES if n not in MERGE_TYPES], n=1)
            raise self.fail(
                node,
                f"`nn.{name}(...)` is not a layer the network builder knows"
                + (f" (did you mean nn.{close[0]}?)" if close else ""),
            )
        names = [f.name for f in fields(cls)]  # type: ignore[arg-type]
        positional = [f.name for f in fields(cls) if not f.kw_only]  # type: ignore[arg-type]
        if len(args) > len(positional):
            raise self.fail(node, f"nn.{name} takes at most {len(positional)} positional argument(s)")
        values = dict(zip(positional, args, strict=False))
        for key, value in kwargs.items():
            if key in ("device", "dtype"):
                continue
            if key not in names:
                raise self.fail(node, f"nn.{name} has no argument `{key}`; its arguments: {', '.join(names)}")
            if key in values:
                raise self.fail(node, f"nn.{name} gets `{key}` twice")
            values[key] = value
        written, values = values, {k: _plain(v) for k, v in values.items()}
        for key, value in values.items():
            if not _is_plain(value):
                raise self.fail(node, f"nn.{name}: `{key}` must be a number, a string or a tuple of them")
            problem = cls.wrong_argument(key, written[key])
            if problem:
                shown = repr(written[key])
                shown = shown if len(shown) <= 60 else shown[:57] + "..."
                raise self.fail(node, f"nn.{name}: {problem}, not `{shown}`")
        missing = [f.name for f in fields(cls) if f.default is MISSING and f.name not in values]  # type: ignore[arg-type]
        if missing:
            raise self.fail(node, f"nn.{name} needs {', '.join(missing)}")
        return cls(**values)

    def instantiate(self, cls: _Class, args: list, kwargs: dict, node: ast.AST) -> _Instance:
        instance = _Instance(cls)
        init = cls.method("__init__")
        if init is not None:
            self.invoke(_Function(init, instance), args, kwargs, node)
        return instance

    def invoke(self, function: _Function, args: list, kwargs: dict, node: ast.AST) -> object:
        fn = function.node
        self.depth += 1
        if self.depth > MAX_CALL_DEPTH:
            raise self.fail(node, f"calls nest more than {MAX_CALL_DEPTH} deep")
        try:
            env: dict[str, object] = dict(self.module_env)
            params = fn.args.args
            given = list(args)
            if function.owner is not None and params:
                env[params[0].arg] = function.owner
                params = params[1:]
            defaults = fn.args.defaults
            first_default = len(params) - len(defaults)
            for k, param in enumerate(params):
                if k < len(given):
                    env[param.arg] = given[k]
                elif param.arg in kwargs:
                    env[param.arg] = kwargs.pop(param.arg)
                elif k >= first_default:
                    env[param.arg] = self.eval(defaults[k - first_default], self.module_env)
                else:
                    raise self.fail(node, f"{fn.name}() needs `{param.arg}`")
            for param, default in zip(fn.args.kwonlyargs, fn.args.kw_defaults, strict=True):
                if param.arg in kwargs:
                    env[param.arg] = kwargs.pop(param.arg)
                elif default is not None:
                    env[param.arg] = self.eval(default, self.module_env)
                else:
                    raise self.fail(node, f"{fn.name}() needs `{param.arg}`")
            if fn.args.vararg is not None:
                env[fn.args.vararg.arg] = tuple(given[len(params) :])
            if fn.args.kwarg is not None:
                env[fn.args.kwarg.arg] = dict(kwargs)
            try:
                self.run(fn.body, env)
            except _ReturnError as stop:
                return stop.value
            return None
        finally:
            self.depth -= 1

    def method(self, m: _Method, args: list, kwargs: dict, node: ast.Call) -> object:
        target, name = m.target, m.name
        if name == "super":
            return _Method(None, "super-object")
        if target is None and name == "__init__":
            return None
        if isinstance(target, list):
            if name == "append" and len(args) == 1:
                if len(target) >= MAX_ITEMS:
                    raise self.fail(node, f"a list of more than {MAX_ITEMS:,} items")
                target.append(args[0])
                return None
            if name == "extend" and len(args) == 1:
                target.extend(self.iterate(args[0], node))
                return None
        if isinstance(target, _Container) and name in ("append", "add_module") and args:
            target.items.append(args[-1])
            return None
        if isinstance(target, _Instance) and name in ("modules", "parameters", "children", "named_modules",
                                                       "named_parameters", "apply"):  # fmt: skip
            return []  # used to initialise weights: nothing to read
        if isinstance(target, _Tensor):
            return self.tensor_method(target, name, args, kwargs, node)
        if isinstance(target, _Shape) and name == "__getitem__":
            return _Dim()
        raise self.fail(node, f"`{ast.unparse(node.func)[:60]}(...)` is not read here")

    def tensor_method(self, x: _Tensor, name: str, args: list, kwargs: dict, node: ast.Call) -> object:
        if name == "size":
            return _Dim() if args else _Shape(x)
        if name in _PASS_THROUGH:
            return x
        if name in ("view", "reshape"):
            sizes = list(args[0]) if len(args) == 1 and isinstance(args[0], (list, tuple)) else list(args)
            if (
                len(sizes) == 2
                and (isinstance(sizes[0], _Dim) or sizes[0] == -1)
                and (sizes[1] == -1 or isinstance(sizes[1], int))
            ):
                return self.emit(Flatten(), [x], node)
            if (
                len(sizes) >= 3
                and isinstance(sizes[0], (_Dim,))
                or (sizes and sizes[0] == -1 and len(sizes) >= 3)
            ):
                rest = tuple(sizes[1:])
                if all(isinstance(v, int) for v in rest):
                    return self.emit(Unflatten(1, rest), [x], node)
            raise self.fail(node, f"`x.{name}(...)` is read as x.view(x.size(0), -1) only (a flatten)")
        if name == "flatten":
            start = kwargs.get("start_dim", args[0] if args else 0)
            end = kwargs.get("end_dim", args[1] if len(args) > 1 else -1)
            if start == 0:
                raise self.fail(node, "x.flatten() merges the batch axis too: write x.flatten(1)")
            return self.emit(Flatten(start, end), [x], node)
        if name.rstrip("_") in _TENSOR_METHODS:
            kind = FUNCTIONAL[name.rstrip("_")][0]
            dim = kwargs.get("dim", args[0] if args else None)
            extra = {"dim": dim} if kind in ("Softmax", "LogSoftmax") else {}
            return self.emit(self.layer(kind, [], extra, node), [x], node)
        if name == "add" and args and isinstance(args[0], _Tensor):
            return self.emit(Add(), [x, args[0]], node)
        raise self.fail(node, f"`x.{name}(...)` has no layer in the builder")

    def apply(self, module: object, args: list, kwargs: dict, node: ast.AST) -> object:
        """Run a module on tensors: a spec is one node, a Sequential a chain, a class its forward."""
        if isinstance(module, _Spec):
            if len(args) != 1 or not isinstance(args[0], _Tensor):
                raise self.fail(node, f"{module.layer.kind} is called on one tensor here")
            return self.emit(module.layer, [args[0]], node)
        if isinstance(module, _Container):
            if module.kind != "Sequential":
                raise self.fail(node, "an nn.ModuleList is not called: loop over it")
            out = args[0] if args else None
            for item in module.items:
                out = self.apply(item, [out], {}, node)
            return out
        if isinstance(module, _Instance):
            forward = module.cls.method("forward") if module.cls is not None else None
            if forward is None:
                return self.chain(module, args, node)
            return self.invoke(_Function(forward, module), args, kwargs, node)
        raise self.fail(node, "cannot call this")

    def chain(self, instance: _Instance, args: list, node: ast.AST) -> object:
        """A model without forward: its modules in the order __init__ assigns them."""
        if not instance.order:
            raise self.fail(node, "the class has no forward and no layers")
        self.notes.append("no forward() in the code: the layers follow in the order __init__ sets them")
        out = args[0]
        for name in instance.order:
            out = self.apply(instance.attrs[name], [out], {}, node)
        return out


def _guess(cls: _Class, interpreter: _Interpreter) -> tuple[list, str]:
    """Arguments for a model class's constructor: its defaults, else a guess from each name (noted)."""
    init = cls.method("__init__")
    if init is None:
        return [], ""
    params = init.args.args[1:]
    needed = params[: len(params) - len(init.args.defaults)]
    args, said = [], []
    for p in needed:
        if p.arg not in GUESSES:
            raise ConvConfigError(
                f"{cls.node.name}() needs `{p.arg}`: add a line such as model = {cls.node.name}(...) with its "
                "values",
                "code",
            )
        args.append(GUESSES[p.arg])
        said.append(f"{p.arg}={GUESSES[p.arg]}")
    note = (
        f"{cls.node.name}({', '.join(said)}): values not in the code, guessed from their names"
        if said
        else ""
    )
    return args, note


def _makes_a_tensor(statement: ast.stmt) -> bool:
    """`x = torch.zeros(1, 3, 32, 32)` and the like at the top level: an example input, not the model."""
    if not isinstance(statement, ast.Assign) or not isinstance(statement.value, ast.Call):
        return False
    func = statement.value.func
    return isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == "torch"


def interpret(tree: ast.Module, offset: int = 0) -> tuple[list[Node], list[str]]:
    """The graph a model class in `tree` computes, and notes on what was assumed."""
    it = _Interpreter(offset)
    env: dict[str, object] = {}
    it.module_env = env  # type: ignore[attr-defined]
    implicit = _Instance(None)
    forwards: list[ast.FunctionDef] = []
    chosen: object = None
    for statement in tree.body:
        if isinstance(statement, ast.FunctionDef) and statement.name == "forward":
            forwards.append(statement)
            continue
        if isinstance(statement, ast.Assign) and any(_is_self_attr(t) for t in statement.targets):
            value = it.eval(statement.value, env)
            for t in statement.targets:
                it.assign(t, value, {"self": implicit})
            continue
        if isinstance(statement, ast.Expr) or _makes_a_tensor(statement):
            continue  # print(model), x = torch.zeros(...): not part of the model
        it.statement(statement, env)
        if isinstance(statement, ast.Assign):
            value = env.get(statement.targets[0].id) if isinstance(statement.targets[0], ast.Name) else None
            if isinstance(value, (_Instance, _Container, _Spec)):
                chosen = value
    classes = [v for v in env.values() if isinstance(v, _Class)]
    for fwd in forwards:  # a forward pasted on its own belongs to the class that has none
        for cls in reversed(classes):
            if cls.method("forward") is None:
                cls.forward = fwd
                break
        else:
            implicit.cls = _Class(ast.ClassDef("Model", [], [], [], []), forward=fwd)  # type: ignore[call-arg]
    if chosen is None and implicit.attrs:
        if implicit.cls is None:
            implicit.cls = _Class(ast.ClassDef("Model", [], [], [], []))  # type: ignore[call-arg]
        chosen = implicit
    if chosen is None:
        used = {n.id for cls in classes for n in ast.walk(cls.node) if isinstance(n, ast.Name)}
        models = [c for c in classes if c.node.name not in used] or classes
        if not models:
            raise ConvConfigError("no model class found", "code")
        cls = models[-1]
        args, note = _guess(cls, it)
        if note:
            it.notes.append(note)
        chosen = it.instantiate(cls, args, {}, cls.node)
    out = it.apply(chosen, [_Tensor(INPUT)], {}, tree)
    if not isinstance(out, _Tensor):
        raise ConvConfigError("the model's forward does not return a tensor", "code")
    if out.node == INPUT:
        raise ConvConfigError("the model's forward returns its input unchanged: no layers", "code")
    nodes = it.nodes
    if out.node != len(nodes) - 1:  # the output is the last node: what comes after it is never used
        nodes = nodes[: out.node + 1]
        it.notes.append("layers computed after the forward's result are left out")
    return nodes, list(dict.fromkeys(it.notes))
