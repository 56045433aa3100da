"""Every layer spec by name (`LAYER_TYPES`), and `Network`: a stack with the input shape it runs on.

Import layer specs from here: `from cnnviz.network.layers import Conv2d, ReLU, Flatten, Linear`.
"""

from __future__ import annotations

from dataclasses import dataclass

from cnnviz.network.layers.base import Fix, Layer, Shape
from cnnviz.network.layers.conv import Conv1d, Conv2d, ConvTranspose1d, ConvTranspose2d
from cnnviz.network.layers.dense import Flatten, Linear
from cnnviz.network.layers.elementwise import (
    GELU,
    BatchNorm1d,
    BatchNorm2d,
    Dropout,
    LeakyReLU,
    ReLU,
    Sigmoid,
    Tanh,
)
from cnnviz.network.layers.pool import (
    AdaptiveAvgPool1d,
    AdaptiveAvgPool2d,
    AdaptiveMaxPool1d,
    AdaptiveMaxPool2d,
    AvgPool1d,
    AvgPool2d,
    MaxPool1d,
    MaxPool2d,
)

__all__ = [
    "Shape",
    "Layer",
    "Fix",
    "Conv1d",
    "Conv2d",
    "ConvTranspose1d",
    "ConvTranspose2d",
    "MaxPool1d",
    "MaxPool2d",
    "AvgPool1d",
    "AvgPool2d",
    "AdaptiveAvgPool1d",
    "AdaptiveAvgPool2d",
    "AdaptiveMaxPool1d",
    "AdaptiveMaxPool2d",
    "BatchNorm1d",
    "BatchNorm2d",
    "ReLU",
    "Tanh",
    "Sigmoid",
    "LeakyReLU",
    "GELU",
    "Dropout",
    "Flatten",
    "Linear",
    "LAYER_TYPES",
    "MAX_LAYERS",
    "Network",
    "layer_for",
]


LAYER_TYPES: dict[str, type[Layer]] = {
    cls.__name__: cls
    for cls in (
        Conv1d,
        Conv2d,
        ConvTranspose1d,
        ConvTranspose2d,
        MaxPool1d,
        MaxPool2d,
        AvgPool1d,
        AvgPool2d,
        AdaptiveAvgPool1d,
        AdaptiveAvgPool2d,
        AdaptiveMaxPool1d,
        AdaptiveMaxPool2d,
        BatchNorm1d,
        BatchNorm2d,
        ReLU,
        Tanh,
        Sigmoid,
        LeakyReLU,
        GELU,
        Dropout,
        Flatten,
        Linear,
    )
}


@dataclass(frozen=True)
class Network:
    """A stack of layer specs and the per-sample input shape it runs on; batch size separate."""

    layers: tuple[Layer, ...]
    input_size: Shape
    batch_size: int = 1

    def __post_init__(self) -> None:
        object.__setattr__(self, "layers", tuple(self.layers))
        object.__setattr__(self, "input_size", tuple(self.input_size))


# More rows than this are no longer a stack to read on one screen (VGG-16 has 39 layers).
MAX_LAYERS = 300


def layer_for(kind: str, shape: Shape | None) -> Layer:
    """A `kind` layer that takes per-sample input `shape` and, where it can, keeps it.

    What "add a layer" inserts: convs keep channels and size (3-wide, padding 1), BatchNorm and Linear
    take the channels or features they get, pooling halves (kernel 2); None means the shape is unknown.
    """
    cls = LAYER_TYPES[kind]
    channels = shape[0] if shape else 1
    last = shape[-1] if shape else 1
    if kind in ("Conv1d", "Conv2d", "ConvTranspose1d", "ConvTranspose2d"):
        return cls(channels, channels, kernel_size=3, padding=1)
    if kind in ("MaxPool1d", "MaxPool2d", "AvgPool1d", "AvgPool2d"):
        return cls(2)
    if kind in ("AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AdaptiveMaxPool1d", "AdaptiveMaxPool2d"):
        return cls(1)
    if kind in ("BatchNorm1d", "BatchNorm2d"):
        return cls(channels)
    if kind == "Linear":
        return Linear(last, last)
    return cls()
