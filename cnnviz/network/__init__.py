"""Layer stacks: the computation behind the network builder, in one import.

A stack is a list of layer specs: frozen dataclasses named, ordered and defaulted like `torch.nn`
(`Conv2d(3, 15, kernel_size=3, stride=2, padding=1)`). `summarize` walks a stack over an input shape
and gives, per layer, the output shape, parameters, MACs, torchinfo's mult-adds, activation memory and
receptive field. A layer that cannot take its input does not raise: its row carries the
`ConvConfigError` message and, where one exists, a `Fix` (the argument and the value that fits);
`apply_fix` applies it. Shapes are per sample, (C, H, W), (C, L) or flat (F,); the batch size N is
separate and appears only in the summary's batched shapes and totals.

Where each part lives (all under `cnnviz/network/`):

    layers/            every spec by name (LAYER_TYPES) and Network; the specs themselves in
                       layers/conv, layers/pool, layers/elementwise, layers/dense (base: layers/base)
    summary_table      summarize / summary, LayerRow, Summary, suggest_fix, apply_fix
    receptive_field    the field of stacked sliding windows (size, stride, padding), exact connectivity
    regions            receptive_region (exact input cells), effective_receptive_field (gradients)
    torch_form         to_torch, from_module (torch imported only inside them)
    json_form          to_json / from_json, layer_to_dict / layer_from_dict
    code               to_pytorch_code / from_pytorch_code (read with `ast`, never executed)
    link               a stack as short URL-safe text
    presets            the lectures' networks; mlp_compare: the fully connected networks they replace
"""

from __future__ import annotations

from cnnviz.network.code import from_pytorch_code, to_pytorch_code
from cnnviz.network.json_form import from_json, layer_from_dict, layer_to_dict, to_json
from cnnviz.network.layers import (
    GELU,
    LAYER_TYPES,
    AdaptiveAvgPool1d,
    AdaptiveAvgPool2d,
    AdaptiveMaxPool1d,
    AdaptiveMaxPool2d,
    AvgPool1d,
    AvgPool2d,
    BatchNorm1d,
    BatchNorm2d,
    Conv1d,
    Conv2d,
    ConvTranspose1d,
    ConvTranspose2d,
    Dropout,
    Fix,
    Flatten,
    Layer,
    LeakyReLU,
    Linear,
    MaxPool1d,
    MaxPool2d,
    Network,
    ReLU,
    Shape,
    Sigmoid,
    Tanh,
)
from cnnviz.network.regions import Region, effective_receptive_field, receptive_region
from cnnviz.network.summary_table import (
    LayerRow,
    Summary,
    apply_all_fixes,
    apply_fix,
    suggest_fix,
    summarize,
    summary,
)
from cnnviz.network.torch_form import from_module, to_torch

__all__ = [
    "Shape",
    "Layer",
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
    "Network",
    "Fix",
    "LayerRow",
    "Summary",
    "Region",
    "summarize",
    "summary",
    "suggest_fix",
    "apply_fix",
    "apply_all_fixes",
    "receptive_region",
    "effective_receptive_field",
    "to_torch",
    "from_module",
    "layer_to_dict",
    "layer_from_dict",
    "to_json",
    "from_json",
    "to_pytorch_code",
    "from_pytorch_code",
]
