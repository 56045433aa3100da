"""Every layer spec by name (`LAYER_TYPES`), and `Network`: a stack or graph with the input shape it runs on.

Import layer specs from here: `from cnnviz.network.layers import Conv2d, ReLU, Flatten, Linear`. The
specs live by family: conv, pool, elementwise (activations, dropout, batch norm, softmax), norm (layer,
group and local response norm), resample (padding, upsampling), dense (Flatten, Linear, Unflatten),
merge (Add, Concat); graph holds Node and Network.
"""

from __future__ import annotations

from cnnviz.network.layers.base import Fix, Layer, Shape
from cnnviz.network.layers.conv import Conv1d, Conv2d, ConvTranspose1d, ConvTranspose2d
from cnnviz.network.layers.dense import Flatten, Linear, Unflatten
from cnnviz.network.layers.elementwise import (
    ELU,
    GELU,
    BatchNorm1d,
    BatchNorm2d,
    Dropout,
    Dropout1d,
    Dropout2d,
    Hardswish,
    Identity,
    LeakyReLU,
    LogSoftmax,
    PReLU,
    ReLU,
    ReLU6,
    Sigmoid,
    SiLU,
    Softmax,
    Softplus,
    Tanh,
)
from cnnviz.network.layers.graph import INPUT, Network, Node, as_nodes, is_stack
from cnnviz.network.layers.merge import Add, Concat, Merge
from cnnviz.network.layers.norm import GroupNorm, LayerNorm, LocalResponseNorm
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
from cnnviz.network.layers.resample import PixelShuffle, Upsample, ZeroPad1d, ZeroPad2d

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
    "Dropout1d",
    "Dropout2d",
    "Identity",
    "ELU",
    "SiLU",
    "ReLU6",
    "Hardswish",
    "Softplus",
    "PReLU",
    "Softmax",
    "LogSoftmax",
    "LayerNorm",
    "GroupNorm",
    "LocalResponseNorm",
    "ZeroPad1d",
    "ZeroPad2d",
    "Upsample",
    "PixelShuffle",
    "Unflatten",
    "Merge",
    "Add",
    "Concat",
    "INPUT",
    "Node",
    "as_nodes",
    "is_stack",
    "LAYER_TYPES",
    "MERGE_TYPES",
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
        Softmax,
        LogSoftmax,
        Dropout1d,
        Dropout2d,
        Identity,
        ELU,
        SiLU,
        ReLU6,
        Hardswish,
        PReLU,
        Softplus,
        LayerNorm,
        GroupNorm,
        LocalResponseNorm,
        ZeroPad1d,
        ZeroPad2d,
        Upsample,
        PixelShuffle,
        Unflatten,
        Add,
        Concat,
    )
}
MERGE_TYPES = ("Add", "Concat")  # the specs that read two or more inputs (not torch.nn modules)


# More rows than this are no longer a network to read on one screen (VGG-16 has 39 layers, a full
# ResNet-18 with every batch norm and ReLU 69).
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
    if kind == "PReLU":
        return PReLU()
    if kind == "LayerNorm":
        return LayerNorm(last)
    if kind == "GroupNorm":
        return GroupNorm(1, channels)
    if kind == "LocalResponseNorm":
        return LocalResponseNorm(5)
    if kind in ("ZeroPad1d", "ZeroPad2d"):
        return cls(1)
    if kind == "Upsample":
        return Upsample(scale_factor=2)
    if kind == "PixelShuffle":
        return PixelShuffle(1)
    if kind == "Unflatten":
        return Unflatten(1, (channels,))
    if kind in ("Softmax", "LogSoftmax"):
        return cls(dim=1)
    return cls()
