"""To and from torch: `to_torch` builds the network as modules, `from_module` reads specs back.

A stack becomes an nn.Sequential (as always); a graph becomes a `GraphModule` whose `layers` hold one
module per node and whose forward follows each node's inputs (Add and Concat are `+` and `torch.cat`).
torch is imported inside the functions, so importing cnnviz stays light.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields
from typing import TYPE_CHECKING

from cnnviz.errors import ConvConfigError
from cnnviz.network.layers import LAYER_TYPES, Layer, Merge, Node, as_nodes, is_stack
from cnnviz.network.layers.base import _canonical
from cnnviz.network.layers.graph import ancestors
from cnnviz.network.layers.pool import _Pooling

if TYPE_CHECKING:  # pragma: no cover
    import torch

__all__ = ["to_torch", "from_module", "spec_of_module"]


def to_torch(layers: Sequence[Layer | Node], output: int | None = None) -> torch.nn.Module:
    """The network's modules (default PyTorch initialisation): nn.Sequential for a stack, else a
    GraphModule. `output` stops at that node (only the nodes it depends on run)."""
    from torch import nn

    from cnnviz.network.torch_graph import GraphModule

    nodes = as_nodes(layers)
    if output is not None:
        nodes = nodes[: output + 1]
    modules = []
    for i, node in enumerate(nodes):
        if isinstance(node.layer, Merge):
            modules.append(nn.Identity())  # a placeholder: the graph merges in its forward
            continue
        try:
            modules.append(node.layer.to_torch())
        except ConvConfigError as error:
            raise ConvConfigError(f"layer {i} ({node.layer.kind}): {error}", error.argument) from error
    if is_stack(nodes) and not any(isinstance(n.layer, Merge) for n in nodes):
        return nn.Sequential(*modules)
    needed = ancestors(nodes, len(nodes) - 1) if nodes else []
    return GraphModule(modules, [n.inputs for n in nodes], [n.layer for n in nodes], needed)


def spec_of_module(module: torch.nn.Module) -> Layer | None:
    """The spec of one torch.nn module of a known class (its arguments read back), else None."""
    from torch import nn

    name = type(module).__name__
    cls = LAYER_TYPES.get(name)
    if cls is None or type(module) is not getattr(nn, name, None):
        return None
    kwargs = {}
    for f in fields(cls):  # type: ignore[arg-type]
        if f.name == "bias":
            kwargs["bias"] = getattr(module, "bias", None) is not None
        elif name == "PReLU" and f.name == "num_parameters":
            kwargs[f.name] = module.num_parameters
        elif name == "PReLU" and f.name == "init":
            kwargs[f.name] = 0.25  # the learned slopes replace it; the spec keeps PyTorch's default
        elif name in ("GroupNorm", "LayerNorm") and f.name == "bias":
            kwargs[f.name] = module.bias is not None
        else:
            value = getattr(module, f.name)
            kwargs[f.name] = tuple(value) if isinstance(value, (list, tuple)) else value
    if issubclass(cls, _Pooling) and _canonical(kwargs["stride"], cls.ndim) == _canonical(
        kwargs["kernel_size"], cls.ndim
    ):
        kwargs["stride"] = None  # torch stores the default stride as the kernel size
    if name == "LayerNorm":
        kwargs["bias"] = module.bias is not None if module.elementwise_affine else True
    if name in ("GroupNorm",):
        kwargs["bias"] = module.bias is not None if module.affine else True
    try:
        return cls(**kwargs)
    except (TypeError, ValueError):
        return None


def from_module(module: torch.nn.Module) -> list[Layer]:
    """The layer specs of an nn.Sequential (nested ones flattened) or of one supported module.

    For any other module, trace it: `cnnviz.summary(model, input_size).network` holds its graph.
    """
    from torch import nn

    if isinstance(module, nn.Sequential):
        return [layer for child in module for layer in from_module(child)]
    spec = spec_of_module(module)
    if spec is None:
        name = type(module).__name__
        raise ConvConfigError(
            f"{name} is not a layer the network builder follows (supported: {', '.join(LAYER_TYPES)}). "
            "For a model class, trace it: cnnviz.summary(model, input_size).network",
            "model",
        )
    return [spec]
