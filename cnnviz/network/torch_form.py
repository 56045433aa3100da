"""To and from torch: `to_torch` builds an nn.Sequential of a stack, `from_module` reads one back.

torch is imported inside the functions, so importing cnnviz stays light.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields
from typing import TYPE_CHECKING

from cnnviz.errors import ConvConfigError
from cnnviz.network.layers import LAYER_TYPES, Layer
from cnnviz.network.layers.base import _canonical
from cnnviz.network.layers.pool import _Pooling

if TYPE_CHECKING:  # pragma: no cover
    import torch

__all__ = ["to_torch", "from_module"]


def to_torch(layers: Sequence[Layer]) -> torch.nn.Sequential:
    """nn.Sequential of the stack's modules (default PyTorch initialisation)."""
    from torch import nn

    modules = []
    for i, layer in enumerate(layers):
        try:
            modules.append(layer.to_torch())
        except ConvConfigError as error:
            raise ConvConfigError(f"layer {i} ({layer.kind}): {error}", error.argument) from error
    return nn.Sequential(*modules)


def from_module(module: torch.nn.Module) -> list[Layer]:
    """The layer specs of an nn.Sequential (nested ones flattened) or of one supported module."""
    from torch import nn

    if isinstance(module, nn.Sequential):
        return [layer for child in module for layer in from_module(child)]
    name = type(module).__name__
    cls = LAYER_TYPES.get(name)
    if cls is None or type(module) is not getattr(nn, name, None):
        inner = [n for n, m in module.named_children() if isinstance(m, nn.Sequential)]
        hint = f"; try model.{inner[0]}" if inner else ""
        raise ConvConfigError(
            f"{name} is not a layer the network builder follows (supported: {', '.join(LAYER_TYPES)}). "
            f"For a model class, pass the nn.Sequential inside it{hint}",
            "model",
        )
    kwargs = {}
    for f in fields(cls):  # type: ignore[arg-type]
        kwargs[f.name] = (module.bias is not None) if f.name == "bias" else getattr(module, f.name)
    if issubclass(cls, _Pooling) and _canonical(kwargs["stride"], cls.ndim) == _canonical(
        kwargs["kernel_size"], cls.ndim
    ):
        kwargs["stride"] = None  # torch stores the default stride as the kernel size
    return [cls(**kwargs)]
