"""The summary of any nn.Module, as torchinfo counts it, traced on the meta device (nothing allocated).

One dry run with forward hooks on every module and a `TorchFunctionMode` that sees the functions called
between them (`F.relu`, `x + identity`, `torch.cat`, `x.view`). The hooks give torchinfo's table: one
row per module call, nested by attribute path, with shapes, parameters (frozen ones apart) and
mult-adds; the totals count every parameter once, as `sum(p.numel() for p in model.parameters())`.
Where every leaf module and function has a layer spec, the same run also gives the network as a graph
of specs (`ModelSummary.network`), so receptive fields, the builder and the diagram work on it too.

The parameters are swapped for meta tensors through `torch.func.functional_call`, so the model itself
is left as it is; a model that cannot run on the meta device (data-dependent code) runs on the CPU on
zeros instead. torchinfo's conventions are accepted: `input_size` with the batch axis (or without it:
one sample, as the rest of cnnviz), `input_data`, `depth`, `col_names`.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cnnviz.errors import ConvConfigError
from cnnviz.network.layers import (
    ELU,
    GELU,
    INPUT,
    AdaptiveAvgPool1d,
    AdaptiveAvgPool2d,
    Add,
    AvgPool1d,
    AvgPool2d,
    Concat,
    Dropout,
    Dropout1d,
    Dropout2d,
    Flatten,
    Hardswish,
    Layer,
    LeakyReLU,
    LogSoftmax,
    MaxPool1d,
    MaxPool2d,
    Network,
    Node,
    PixelShuffle,
    ReLU,
    ReLU6,
    Shape,
    Sigmoid,
    SiLU,
    Softmax,
    Softplus,
    Tanh,
    Unflatten,
    Upsample,
    ZeroPad1d,
    ZeroPad2d,
)
from cnnviz.network.summary_table import (
    LayerRow,
    Summary,
    _megabytes,
    _scaled,
    summarize,
)

if TYPE_CHECKING:  # pragma: no cover
    import torch

__all__ = ["COLUMNS", "ModuleRow", "ModelSummary", "module_summary", "summary", "torchinfo_module_mult_adds"]

# torchinfo's column names, in its order; the default shows the first two it shows.
COLUMNS = ("input_size", "output_size", "num_params", "params_percent", "kernel_size", "groups", "mult_adds",
           "trainable")  # fmt: skip
DEFAULT_COLUMNS = ("output_size", "num_params")
_HEADERS = {
    "input_size": "Input Shape",
    "output_size": "Output Shape",
    "num_params": "Param #",
    "params_percent": "Param %",
    "kernel_size": "Kernel Shape",
    "groups": "Groups",
    "mult_adds": "Mult-Adds",
    "trainable": "Trainable",
}
# Modules whose class name says which input they take per sample: (C, H, W) = 3 axes, (C, L) = 2.
_SAMPLE_AXES = {"2d": 3, "1d": 2}


@dataclass(frozen=True)
class ModuleRow:
    """One module call as torchinfo lists it. Shapes include the batch axis; None where not run."""

    name: str  # attribute path: 'layer1.0.conv1' ('' for the model itself)
    kind: str  # class name: 'Conv2d'
    depth: int  # 0 for the model itself
    depth_index: int  # the row's number among the rows of its depth: torchinfo's '2-3'
    input_shape: tuple[int, ...] | None
    output_shape: tuple[int, ...] | None
    params: int  # every parameter of the module and its children, each once
    trainable_params: int
    mult_adds: int  # torchinfo's count for a leaf call; 0 for a container
    kernel_size: tuple[int, ...] | int | None
    groups: int | None
    is_leaf: bool  # no child modules
    recursive: bool  # the module was listed before (called again, or shared)
    executed: bool  # False for a container never called itself (a ModuleList)
    output_bytes: int

    @property
    def label(self) -> str:
        """'Conv2d: 2-1' (the model itself: its class name)."""
        return self.kind if self.depth == 0 else f"{self.kind}: {self.depth}-{self.depth_index}"


def torchinfo_module_mult_adds(module: torch.nn.Module, output_shape: Sequence[int]) -> int:
    """torchinfo's mult-adds of one leaf call: each 'weight' / 'bias' element once per sample and output
    position (convs), per position applied (Linear: every axis but the last), else per sample; other
    weight-like parameters (an RNN's weight_ih_l0) once per sample and step."""
    kind = type(module).__name__
    out = list(output_shape)
    if not out:
        return 0
    total = 0
    for name, param in module.named_parameters():
        n = param.numel()
        if name in ("weight", "bias"):
            if "Conv" in kind:
                total += n * math.prod(out[:1] + out[2:])
            elif "Linear" in kind:
                total += n * math.prod(out[:-1])
            else:
                total += out[0] * n
        elif "weight" in name or "bias" in name:
            total += math.prod(out[:2]) * n
    return total


@dataclass(frozen=True, eq=False)
class ModelSummary(Summary):
    """The Summary of an nn.Module: torchinfo's rows (`modules`) and totals, and where every leaf has a
    spec, the network's graph (`network`) with cnnviz's rows (`rows`: shapes, receptive fields, fixes)."""

    modules: tuple[ModuleRow, ...] = ()
    network: Network | None = None
    note: str = ""
    depth: int = 3
    columns: tuple[str, ...] = DEFAULT_COLUMNS
    module_params: int = 0
    module_trainable_params: int = 0
    module_param_bytes: int = 0
    module_input_bytes: int = 0
    traced_output_shape: tuple[int, ...] | None = None

    @property
    def ok(self) -> bool:
        return True  # it ran

    @property
    def output_shape(self) -> tuple[int, ...] | None:
        return self.traced_output_shape

    @property
    def total_params(self) -> int:
        return self.module_params

    @property
    def trainable_params(self) -> int:
        return self.module_trainable_params

    @property
    def total_mult_adds(self) -> int:
        return sum(r.mult_adds for r in self.modules if r.is_leaf)

    @property
    def forward_backward_bytes(self) -> int:
        return 2 * sum(r.output_bytes for r in self.modules if r.is_leaf and r.params)

    @property
    def params_bytes(self) -> int:
        return self.module_param_bytes

    @property
    def input_bytes(self) -> int:
        """The input tensors' bytes (torchinfo adds Python's object overhead of each storage, ~50 B)."""
        return self.module_input_bytes

    def __str__(self) -> str:
        return _format(self)


# --------------------------------------------------------------------------------------------------
# The dry run
# --------------------------------------------------------------------------------------------------


class _FirstLeafFoundError(Exception):
    pass


@dataclass
class _Call:
    module: Any
    name: str
    depth: int
    first: bool  # the first call of this module
    input_shape: tuple[int, ...] | None = None
    output_shape: tuple[int, ...] | None = None
    output_bytes: int = 0
    executed: bool = True


@dataclass
class _Op:
    """One step of the data flow: a leaf module call or a function between modules."""

    module: Any  # the leaf module, or None for a function
    function: str  # the function's name (for a module: '')
    call: Any  # the function object
    args: tuple
    kwargs: dict
    inputs: tuple[int, ...]  # producers of its tensor arguments (INPUT for the model's input)
    untracked: bool  # a tensor argument that no op produced (a parameter, a constant)
    output_shape: tuple[int, ...] | None
    outputs: int  # how many tensors it returned


_PASS_THROUGH = {"contiguous", "clone", "detach", "float", "to", "type_as", "cpu", "requires_grad_"}
_SHAPES_ONLY = {"size", "dim", "numel", "__get__", "__len__", "__bool__", "shape", "stride", "is_contiguous"}


def _tensors(value: Any) -> list:
    import torch

    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, (list, tuple)):
        return [t for v in value for t in _tensors(v)]
    if isinstance(value, dict):
        return [t for v in value.values() for t in _tensors(v)]
    return []


class _Tracer:
    """Hooks and a function mode that record module calls and the data flow between them."""

    def __init__(self, model: Any, stop_at_first_leaf: bool = False) -> None:
        self.model = model
        self.names = {}
        for name, module in model.named_modules(remove_duplicate=False):
            self.names.setdefault(id(module), name)
        self.calls: list[_Call] = []
        self.ops: list[_Op] = []
        self.stack: list[tuple[Any, _Call]] = []
        self.seen: set[int] = set()
        self.producer: dict[int, int] = {}
        self.alive: list = []  # keeps traced tensors alive, so their ids stay theirs
        self.stop = stop_at_first_leaf
        self.first_leaf: str | None = None

    def track(self, value: Any, index: int) -> None:
        for t in _tensors(value):
            self.producer[id(t)] = index
            self.alive.append(t)

    def sources(self, args: Any) -> tuple[tuple[int, ...], bool]:
        found, untracked = [], False
        for t in _tensors(args):
            if id(t) in self.producer:
                found.append(self.producer[id(t)])
            else:
                untracked = True
        return tuple(found), untracked

    def inside_leaf(self) -> bool:
        return bool(self.stack) and not any(True for _ in self.stack[-1][0].children())

    def pre_hook(self, module: Any, args: Any) -> None:
        is_leaf = not any(True for _ in module.children())
        if self.stop and is_leaf:
            self.first_leaf = type(module).__name__
            raise _FirstLeafFoundError
        name = self.names.get(id(module), "")
        call = _Call(
            module, name, 0 if module is self.model else name.count(".") + 1, id(module) not in self.seen
        )
        self.seen.add(id(module))
        shapes = [tuple(t.shape) for t in _tensors(args)]
        call.input_shape = shapes[0] if shapes else None
        self.calls.append(call)
        self.stack.append((module, call))

    def hook(self, module: Any, args: Any, output: Any) -> None:
        _, call = self.stack.pop()
        outs = _tensors(output)
        if outs:
            call.output_shape = tuple(outs[0].shape)
            call.output_bytes = outs[0].element_size() * outs[0].numel()
        if not any(True for _ in module.children()) and not self.inside_leaf():
            if type(module).__name__ in ("Sequential", "ModuleList", "ModuleDict"):
                return  # an empty container passes its input on: no layer
            inputs, untracked = self.sources(args)
            self.ops.append(_Op(module, "", None, (), {}, inputs, untracked, call.output_shape, len(outs)))
            self.track(output, len(self.ops) - 1)

    def function(self, func: Any, args: tuple, kwargs: dict, out: Any) -> None:
        if self.inside_leaf():
            return
        name = getattr(func, "__name__", str(func))
        inputs, untracked = self.sources((args, kwargs))
        if not inputs or name in _SHAPES_ONLY:
            return
        outs = _tensors(out)
        if not outs:
            return
        if name in _PASS_THROUGH and len(inputs) == 1:
            for t in outs:
                self.producer[id(t)] = inputs[0]
                self.alive.append(t)
            return
        shape = tuple(outs[0].shape)
        self.ops.append(_Op(None, name, func, args, kwargs, inputs, untracked, shape, len(outs)))
        self.track(out, len(self.ops) - 1)


def _run(model: Any, inputs: list, tracer: _Tracer, on_meta: bool) -> None:
    import torch
    from torch.overrides import TorchFunctionMode

    class Mode(TorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):  # type: ignore[no-untyped-def]
            kwargs = kwargs or {}
            out = func(*args, **kwargs)
            tracer.function(func, args, kwargs, out)
            return out

    handles = []
    for module in model.modules():
        handles.append(module.register_forward_pre_hook(tracer.pre_hook))
        handles.append(module.register_forward_hook(tracer.hook))
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            for i, x in enumerate(inputs):
                tracer.track(x, INPUT if i == 0 else -2 - i)
            with Mode():
                if on_meta:
                    state = {
                        **{n: torch.empty_like(p, device="meta") for n, p in model.named_parameters()},
                        **{n: torch.empty_like(b, device="meta") for n, b in model.named_buffers()},
                    }
                    torch.func.functional_call(model, state, tuple(inputs))
                else:
                    model(*inputs)
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)


def _traced(model: Any, inputs: list) -> _Tracer:
    """Trace on the meta device; on the CPU with zeros when the model cannot run there."""
    import torch

    tracer = _Tracer(model)
    try:
        _run(model, [torch.empty_like(x, device="meta") for x in inputs], tracer, on_meta=True)
        return tracer
    except _FirstLeafFoundError:
        raise
    except Exception:  # noqa: BLE001 - a model with data-dependent code: try for real on zeros
        pass
    tracer = _Tracer(model)
    try:
        _run(model, [torch.zeros_like(x, device="cpu") for x in inputs], tracer, on_meta=False)
    except Exception as error:  # noqa: BLE001 - the user's model failed: say so, never a traceback
        done = [type(c.module).__name__ for c in tracer.calls if c.output_shape is not None]
        raise ConvConfigError(
            f"the model fails on an input of shape {[tuple(x.shape) for x in inputs]}: "
            f"{type(error).__name__}: {str(error)[:300]}" + (f" (ran up to {done[-1]})" if done else ""),
            "input_size",
        ) from None
    return tracer


def _first_leaf_kind(model: Any, shape: Sequence[int]) -> str | None:
    import torch

    tracer = _Tracer(model, stop_at_first_leaf=True)
    try:
        _run(model, [torch.empty(*shape, device="meta")], tracer, on_meta=True)
    except _FirstLeafFoundError:
        return tracer.first_leaf
    except Exception:  # noqa: BLE001 - whatever fails here, the real run says it
        return tracer.first_leaf
    return tracer.first_leaf


def _inputs(
    model: Any,
    input_size: Sequence[int] | Sequence[Sequence[int]] | None,
    batch_size: int | None,
    input_data: Any,
) -> list:
    """The input tensors: `input_data` as given, or zeros of `input_size` with or without the batch axis."""
    import torch

    if input_data is not None:
        if input_size is not None:
            raise ConvConfigError("pass input_size or input_data, not both", "input_size")
        tensors = [input_data] if isinstance(input_data, torch.Tensor) else list(input_data)
        if not tensors or any(not isinstance(t, torch.Tensor) for t in tensors):
            raise ConvConfigError("input_data must be a tensor or a list of tensors", "input_data")
        return tensors
    if input_size is None:
        raise ConvConfigError(
            "summary of a module needs input_size, e.g. (1, 3, 32, 32) with the batch axis or (3, 32, 32) "
            "for one sample, or input_data",
            "input_size",
        )
    sizes = list(input_size) if input_size and isinstance(input_size[0], (list, tuple)) else [input_size]
    out = []
    for size in sizes:
        if isinstance(size, (str, bytes)) or not isinstance(size, (list, tuple)):
            raise ConvConfigError(
                f"input_size must be a shape such as (1, 3, 32, 32) (got {size!r})", "input_size"
            )
        if (
            any(isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in size)
            or not 1 <= len(size) <= 6
        ):
            raise ConvConfigError(f"input_size holds sizes of at least 1 (got {tuple(size)})", "input_size")
        if math.prod(size) > 10**10:
            raise ConvConfigError(
                f"input_size {tuple(size)} is larger than any input this counts", "input_size"
            )
        shape = tuple(size)
        if batch_size is not None:
            shape = (batch_size, *shape)  # cnnviz's convention: one sample's shape, the batch apart
        elif len(sizes) == 1:
            kind = _first_leaf_kind(model, shape)
            want = _SAMPLE_AXES.get((kind or "")[-2:])
            if (want is not None and len(shape) == want) or (want is None and len(shape) == 1):
                shape = (1, *shape)  # one sample's shape: add torchinfo's batch axis
        out.append(torch.zeros(shape, device="meta"))
    return out


# --------------------------------------------------------------------------------------------------
# Rows, and the graph of specs
# --------------------------------------------------------------------------------------------------


def _param_counts(module: Any) -> tuple[int, int]:
    total = trainable = 0
    for p in module.parameters():
        total += p.numel()
        trainable += p.numel() if p.requires_grad else 0
    return total, trainable


def _rows(tracer: _Tracer) -> list[ModuleRow]:
    """torchinfo's rows: each call in order, with the containers of a call that were never called
    themselves (a ModuleList) inserted above it; recursive where a module shows again."""
    by_name = dict(tracer.model.named_modules())
    listed: list[_Call] = []
    shown: set[int] = set()
    open_chain: dict[int, Any] = {}
    for call in tracer.calls:
        parts = call.name.split(".") if call.name else []
        for d in range(1, call.depth):
            ancestor = by_name.get(".".join(parts[:d]))
            if ancestor is not None and open_chain.get(d) is not ancestor:
                listed.append(
                    _Call(ancestor, ".".join(parts[:d]), d, id(ancestor) not in shown, executed=False)
                )
                shown.add(id(ancestor))
                open_chain[d] = ancestor
        listed.append(call)
        shown.add(id(call.module))
        open_chain[call.depth] = call.module
        for d in [k for k in open_chain if k > call.depth]:
            del open_chain[d]
    rows, counters, seen = [], {}, set()
    for call in listed:
        counters[call.depth] = counters.get(call.depth, 0) + 1
        module = call.module
        total, trainable = _param_counts(module)
        is_leaf = not any(True for _ in module.children())
        kernel = getattr(module, "kernel_size", None)
        groups = getattr(module, "groups", None)
        rows.append(
            ModuleRow(
                call.name, type(module).__name__, call.depth, counters[call.depth], call.input_shape,
                call.output_shape, total, trainable,
                torchinfo_module_mult_adds(module, call.output_shape) if is_leaf and call.output_shape else 0,
                tuple(kernel) if isinstance(kernel, (list, tuple)) else kernel,
                groups if isinstance(groups, int) else None, is_leaf, id(module) in seen and total > 0,
                call.executed, call.output_bytes,
            )
        )  # fmt: skip
        seen.add(id(module))
    return rows


def _bind(func: Any, args: tuple, kwargs: dict, names: Sequence[str]) -> dict[str, Any]:
    """The call's arguments by name: from the signature where Python has one, else by `names`."""
    try:
        signature = inspect.signature(func)
        if any(p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in signature.parameters.values()):
            raise ValueError("a dispatching wrapper: its arguments have no names")  # F.max_pool2d
        return dict(signature.bind(*args, **kwargs).arguments)
    except (TypeError, ValueError):
        return {**dict(zip(names, args, strict=False)), **kwargs}


def _pool(cls: type, a: dict, avg: bool) -> Layer:
    stride = a.get("stride")
    stride = None if stride in (None, [], ()) else stride
    extra = {}
    if avg:
        extra = {
            "ceil_mode": a.get("ceil_mode", False),
            "count_include_pad": a.get("count_include_pad", True),
        }
        if cls is AvgPool2d:
            extra["divisor_override"] = a.get("divisor_override")
    else:
        extra = {"dilation": a.get("dilation", 1), "ceil_mode": a.get("ceil_mode", False)}
    return cls(a["kernel_size"], stride=stride, padding=a.get("padding", 0), **extra)


def _function_spec(op: _Op, in_shapes: list[Shape]) -> Layer | None:
    """The layer spec a function call between modules stands for, or None if it has none."""
    name, func = (
        op.function.rstrip("_") if op.function not in ("__add__", "__iadd__", "__radd__") else "add",
        op.call,
    )
    x = ("input", "kernel_size", "stride", "padding")
    try:
        if name in ("relu", "relu6", "silu", "hardswish", "sigmoid", "tanh"):
            return {"relu": ReLU, "relu6": ReLU6, "silu": SiLU, "hardswish": Hardswish, "sigmoid": Sigmoid,
                    "tanh": Tanh}[name]()  # fmt: skip
        a = _bind(func, op.args, op.kwargs, ("input",))
        if name == "leaky_relu":
            return LeakyReLU(float(a.get("negative_slope", 0.01)))
        if name == "elu":
            return ELU(float(a.get("alpha", 1.0)))
        if name == "gelu":
            return GELU(a.get("approximate", "none"))
        if name == "softplus":
            return Softplus(float(a.get("beta", 1.0)), float(a.get("threshold", 20.0)))
        if name in ("softmax", "log_softmax"):
            dim = a.get("dim", op.args[1] if len(op.args) > 1 else None)
            return (Softmax if name == "softmax" else LogSoftmax)(dim=dim)
        if name in ("dropout", "dropout1d", "dropout2d", "feature_dropout"):
            cls = {"dropout": Dropout, "dropout1d": Dropout1d, "dropout2d": Dropout2d}.get(name, Dropout)
            return cls(float(a.get("p", 0.5)))
        if name in ("max_pool1d", "max_pool2d"):
            return _pool(
                MaxPool1d if name.endswith("1d") else MaxPool2d, _bind(func, op.args, op.kwargs, x), False
            )
        if name in ("avg_pool1d", "avg_pool2d"):
            return _pool(
                AvgPool1d if name.endswith("1d") else AvgPool2d, _bind(func, op.args, op.kwargs, x), True
            )
        if name in ("adaptive_avg_pool1d", "adaptive_avg_pool2d"):
            a = _bind(func, op.args, op.kwargs, ("input", "output_size"))
            size = a["output_size"]
            size = tuple(size) if isinstance(size, (list, tuple)) else size
            return (AdaptiveAvgPool1d if name.endswith("1d") else AdaptiveAvgPool2d)(size)
        if name == "flatten":
            a = _bind(func, op.args, op.kwargs, ("input", "start_dim", "end_dim"))
            start, end = int(a.get("start_dim", 0)), int(a.get("end_dim", -1))
            return Flatten(start, end) if start % (len(in_shapes[0]) + 1) != 0 else None
        if name in ("view", "reshape"):
            sample = in_shapes[0]
            out = tuple(op.output_shape[1:])  # type: ignore[index]
            if out == (math.prod(sample),):
                return Flatten()
            if len(sample) == 1 and math.prod(out) == sample[0]:
                return Unflatten(1, out)
            return None
        if name in ("cat", "concat", "concatenate"):
            a = _bind(func, op.args, op.kwargs, ("tensors", "dim"))
            return Concat(int(a.get("dim", 0)))
        if name == "add":
            if len(op.inputs) >= 2 and not op.untracked and float(op.kwargs.get("alpha", 1)) == 1:
                return Add()
            return None
        if name == "interpolate":
            a = _bind(func, op.args, op.kwargs, ("input", "size", "scale_factor", "mode", "align_corners"))
            size, scale = a.get("size"), a.get("scale_factor")
            size = tuple(size) if isinstance(size, (list, tuple)) else size
            scale = tuple(float(s) for s in scale) if isinstance(scale, (list, tuple)) else scale
            scale = float(scale) if isinstance(scale, (int, float)) else scale
            return Upsample(size, scale, a.get("mode", "nearest"), a.get("align_corners"),
                            a.get("recompute_scale_factor"))  # fmt: skip
        if name == "pad":
            a = _bind(func, op.args, op.kwargs, ("input", "pad", "mode", "value"))
            if a.get("mode", "constant") != "constant" or a.get("value") not in (None, 0, 0.0):
                return None
            pads = tuple(int(v) for v in a["pad"])
            return (ZeroPad1d if len(in_shapes[0]) == 2 else ZeroPad2d)(pads)
        if name == "pixel_shuffle":
            return PixelShuffle(
                int(_bind(func, op.args, op.kwargs, ("input", "upscale_factor"))["upscale_factor"])
            )
    except (TypeError, ValueError, KeyError, IndexError, ConvConfigError):
        return None
    return None


def _network(tracer: _Tracer, inputs: list) -> tuple[Network | None, str]:
    """The traced ops as a graph of specs, or None and what has no spec."""
    from cnnviz.network.torch_form import spec_of_module

    if len(inputs) != 1:
        return None, "a model with several inputs has no single network graph"
    sample = tuple(inputs[0].shape[1:])
    shapes: dict[int, Shape] = {INPUT: sample}
    nodes: list[Node] = []
    for i, op in enumerate(tracer.ops):
        what = type(op.module).__name__ if op.module is not None else f"{op.function}()"
        if op.untracked and not (op.module is not None):
            return None, f"{what} reads a tensor that no layer makes (a parameter or a constant)"
        if op.outputs != 1 or op.output_shape is None:
            return None, f"{what} returns {op.outputs} tensors"
        got = [shapes[j] for j in op.inputs if j in shapes]
        if len(got) != len(op.inputs) or any(j < INPUT for j in op.inputs):
            return None, f"{what} reads more than the model's first input"
        spec = spec_of_module(op.module) if op.module is not None else _function_spec(op, got)
        if spec is None:
            return None, f"{what} has no layer spec in cnnviz"
        nodes.append(Node(spec, op.inputs))
        shapes[i] = tuple(op.output_shape[1:])
    try:
        network = Network(tuple(nodes), sample, int(inputs[0].shape[0]))
        result = summarize(network.nodes, sample, network.batch_size)
    except ConvConfigError as error:
        return None, f"the traced graph does not check: {error}"
    for row, op in zip(result.rows, tracer.ops, strict=True):
        if row.output_shape != op.output_shape:
            return (
                None,
                f"row {row.index} ({row.layer.kind}) gives {row.output_shape}, PyTorch {op.output_shape}",
            )
    return network, ""


def module_summary(
    model: Any,
    input_size: Sequence[int] | Sequence[Sequence[int]] | None = None,
    *,
    batch_size: int | None = None,
    input_data: Any = None,
    depth: int = 3,
    col_names: Sequence[str] | None = None,
) -> ModelSummary:
    """torchinfo's summary of any nn.Module, traced on the meta device; see the module docstring."""
    import torch

    if not isinstance(model, torch.nn.Module):
        raise ConvConfigError(f"expected an nn.Module (got {type(model).__name__})", "model")
    if isinstance(depth, bool) or not isinstance(depth, int) or depth < 0:
        raise ConvConfigError(f"depth must be 0 or more (got {depth!r})", "depth")
    columns = tuple(col_names) if col_names is not None else DEFAULT_COLUMNS
    unknown = [c for c in columns if c not in COLUMNS]
    if unknown:
        raise ConvConfigError(f"unknown column {unknown[0]!r}; columns: {', '.join(COLUMNS)}", "col_names")
    if batch_size is not None and (
        isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1
    ):
        raise ConvConfigError(f"batch_size must be at least 1 (got {batch_size!r})", "batch_size")
    inputs = _inputs(model, input_size, batch_size, input_data)
    tracer = _traced(model, inputs)
    rows = _rows(tracer)
    network, note = _network(tracer, inputs)
    spec_rows: tuple[LayerRow, ...] = ()
    if network is not None:
        spec_rows = summarize(network.nodes, network.input_size, network.batch_size).rows
    total, trainable = _param_counts(model)
    param_bytes = sum(p.element_size() * p.numel() for p in model.parameters())
    first = inputs[0]
    out_shape = rows[0].output_shape if rows else tuple(first.shape)
    return ModelSummary(
        spec_rows,
        tuple(first.shape[1:]) if first.dim() > 0 else (),
        int(first.shape[0]) if first.dim() > 0 else 1,
        modules=tuple(rows),
        network=network,
        note=note,
        depth=depth,
        columns=columns,
        module_params=total,
        module_trainable_params=trainable,
        module_param_bytes=param_bytes,
        module_input_bytes=sum(x.element_size() * x.numel() for x in inputs),
        traced_output_shape=out_shape,
    )


# --------------------------------------------------------------------------------------------------
# torchinfo's table
# --------------------------------------------------------------------------------------------------


def _params_text(row: ModuleRow, rows: Sequence[ModuleRow], i: int, at_depth: bool) -> str:
    if row.params == 0:
        return "--"
    if row.recursive:
        return "(recursive)"
    if at_depth or row.is_leaf:
        text = f"{row.params:,}"
        return text if row.trainable_params else f"({text})"
    children = _children(rows, i)
    shown = sum(c.params for c in children if c.depth == row.depth + 1 and not c.recursive)
    left = row.params - shown
    return f"{left:,}" if left > 0 else "--"


def _children(rows: Sequence[ModuleRow], i: int) -> list[ModuleRow]:
    out = []
    for row in rows[i + 1 :]:
        if row.depth <= rows[i].depth:
            break
        out.append(row)
    return out


def _cell(column: str, row: ModuleRow, rows: Sequence[ModuleRow], i: int, at_depth: bool, total: int) -> str:
    if column == "input_size":
        return "--" if row.input_shape is None else str(list(row.input_shape))
    if column == "output_size":
        return "--" if row.output_shape is None else str(list(row.output_shape))
    if column == "num_params":
        return _params_text(row, rows, i, at_depth)
    if column == "params_percent":
        return f"{row.params / total:.2%}" if total and row.params and (row.is_leaf or at_depth) else "--"
    if column == "kernel_size":
        if row.kernel_size is None:
            return "--"
        return str(list(row.kernel_size) if isinstance(row.kernel_size, tuple) else row.kernel_size)
    if column == "groups":
        return "--" if row.groups is None else str(row.groups)
    if column == "mult_adds":
        if row.is_leaf:
            return f"{row.mult_adds:,}" if row.mult_adds else "--"
        if at_depth:
            adds = sum(c.mult_adds for c in _children(rows, i) if c.is_leaf)
            return f"{adds:,}" if adds else "--"
        return "--"
    if column == "trainable":
        if not row.params:
            return "--"
        return (
            "True"
            if row.trainable_params == row.params
            else "False"
            if not row.trainable_params
            else "Partial"
        )
    return ""


def _format(s: ModelSummary) -> str:
    columns = s.columns
    lines = []
    for i, row in enumerate(s.modules):
        if row.depth > s.depth:
            continue
        indent = "" if row.depth == 0 else "│    " * (row.depth - 1) + ("├─" if row.depth == 1 else "└─")
        cells = [_cell(c, row, s.modules, i, row.depth == s.depth, s.total_params) for c in columns]
        lines.append((indent + row.label, *cells))
    header = ("Layer (type:depth-idx)", *(_HEADERS[c] for c in columns))
    widths = [max(40, *(len(line[0]) + 1 for line in lines))] + [25] * len(columns)
    rule = "=" * sum(widths)

    def fmt(cells: Sequence[str]) -> str:
        return "".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    unit, value = _scaled(s.total_mult_adds)
    out = [rule, fmt(header), rule, *map(fmt, lines), rule]
    out += [
        f"Total params: {s.total_params:,}",
        f"Trainable params: {s.trainable_params:,}",
        f"Non-trainable params: {s.non_trainable_params:,}",
        f"Total mult-adds ({unit or 'units'}): {value:0.2f}",
        rule,
        f"Input size (MB): {_megabytes(s.input_bytes)}",
        f"Forward/backward pass size (MB): {_megabytes(s.forward_backward_bytes)}",
        f"Params size (MB): {_megabytes(s.params_bytes)}",
        f"Estimated Total Size (MB): {_megabytes(s.total_bytes)}",
        rule,
    ]
    if s.network is None and s.note:
        out.append(f"No network graph (so no receptive fields): {s.note}.")
    return "\n".join(out)


def summary(
    model: Network | Sequence[Layer | Node] | torch.nn.Module,
    input_size: Sequence[int] | None = None,
    *,
    batch_size: int | None = None,
    input_data: Any = None,
    depth: int = 3,
    col_names: Sequence[str] | None = None,
) -> Summary:
    """The Summary of a stack, a graph, a Network or any nn.Module; `print(...)` it for torchinfo's table.

    For specs, `input_size` is one sample's shape (C, H, W) and the batch size is separate. For an
    nn.Module (see `cnnviz.network.module_summary`), torchinfo's conventions also hold: `input_size`
    with the batch axis, `input_data`, `depth` and `col_names`.
    """
    if isinstance(model, Network):
        nodes: Sequence[Layer | Node] = model.nodes
        input_size = model.input_size if input_size is None else input_size
        batch_size = model.batch_size if batch_size is None else batch_size
    elif isinstance(model, (list, tuple)):
        nodes = model
    elif _is_module(model):
        return module_summary(
            model, input_size, batch_size=batch_size, input_data=input_data, depth=depth, col_names=col_names
        )
    else:
        raise ConvConfigError(
            f"summary takes a Network, a list of layer specs or an nn.Module (got {type(model).__name__}); "
            "for a preset, pass preset(name).network",
            "model",
        )
    if input_size is None:
        raise ConvConfigError(
            "summary needs input_size, the shape of one sample: (C, H, W) or (C, L)", "input_size"
        )
    return summarize(nodes, input_size, 1 if batch_size is None else batch_size)


def _is_module(model: object) -> bool:
    """True for a torch.nn.Module, checked without importing torch when it was never loaded."""
    import sys

    torch = sys.modules.get("torch")
    return torch is not None and isinstance(model, torch.nn.Module)
