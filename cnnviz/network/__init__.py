"""Networks of layer specs: the computation behind the network builder, in one import.

A stack is a list of layer specs: frozen dataclasses named, ordered and defaulted like `torch.nn`
(`Conv2d(3, 15, kernel_size=3, stride=2, padding=1)`). A graph (a ResNet shortcut, a U-Net skip) is a
list of `Node(layer, inputs)`: each node names the earlier nodes it reads (-1: the input), and `Add` /
`Concat` merge two or more. `summarize` walks either over an input shape and gives, per node, the
output shape, parameters, MACs, torchinfo's mult-adds, activation memory and receptive field. A layer
that cannot take its input does not raise: its row carries the `ConvConfigError` message and, where
one exists, a `Fix` (the argument and the value that fits); `apply_fix` applies it. Shapes are per
sample, (C, H, W), (C, L) or flat (F,); the batch size N is separate and appears only in the summary's
batched shapes and totals.

Where each part lives (all under `cnnviz/network/`):

    layers/            every spec by name (LAYER_TYPES); the specs themselves in layers/conv, pool,
                       elementwise, norm, resample, dense, merge (base: layers/base); Node and Network
                       and the graph edits in layers/graph
    summary_table      summarize, LayerRow, Summary, suggest_fix, apply_fix
    receptive_field    the field of stacked sliding windows (size, stride, padding), exact connectivity
    regions            receptive_region (exact input cells), effective_receptive_field (gradients)
    torch_form         to_torch, from_module (torch imported only inside them; torch_graph: GraphModule)
    module_summary     summary: of a stack, a graph or any nn.Module (traced with forward hooks on the
                       meta device)
    json_form          to_json / from_json, layer_to_dict / layer_from_dict
    code               to_pytorch_code / from_pytorch_code (read with `ast`, never executed)
    link               a stack as short URL-safe text
    presets            the lectures' networks; mlp_compare: the fully connected networks they replace
"""

from __future__ import annotations

from cnnviz.network.code import from_pytorch_code, read_import, to_pytorch_code
from cnnviz.network.diagram import Diagram, clicked_node, diagram
from cnnviz.network.json_form import from_json, layer_from_dict, layer_to_dict, to_json, to_json_lines
from cnnviz.network.layers import (
    ELU,
    GELU,
    INPUT,
    LAYER_TYPES,
    MERGE_TYPES,
    AdaptiveAvgPool1d,
    AdaptiveAvgPool2d,
    AdaptiveMaxPool1d,
    AdaptiveMaxPool2d,
    Add,
    AvgPool1d,
    AvgPool2d,
    BatchNorm1d,
    BatchNorm2d,
    Concat,
    Conv1d,
    Conv2d,
    ConvTranspose1d,
    ConvTranspose2d,
    Dropout,
    Dropout1d,
    Dropout2d,
    Fix,
    Flatten,
    GroupNorm,
    Hardswish,
    Identity,
    Layer,
    LayerNorm,
    LeakyReLU,
    Linear,
    LocalResponseNorm,
    LogSoftmax,
    MaxPool1d,
    MaxPool2d,
    Network,
    Node,
    PixelShuffle,
    PReLU,
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
from cnnviz.network.mlp_compare import Baseline, comparable_mlps
from cnnviz.network.module_summary import summary
from cnnviz.network.regions import (
    Region,
    check_erf_cost,
    check_region_cost,
    describe_region,
    effective_receptive_field,
    field_sample_image,
    field_sample_signal,
    field_steps,
    receptive_region,
)
from cnnviz.network.summary_table import (
    LayerRow,
    Summary,
    apply_all_fixes,
    apply_fix,
    format_count,
    parse_input_size,
    suggest_fix,
    summarize,
)
from cnnviz.network.torch_form import from_module, to_torch

__all__ = [
    "read_import",
    "Diagram",
    "clicked_node",
    "diagram",
    "to_json_lines",
    "Baseline",
    "comparable_mlps",
    "check_erf_cost",
    "check_region_cost",
    "describe_region",
    "field_sample_image",
    "field_sample_signal",
    "field_steps",
    "format_count",
    "parse_input_size",
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
    "Add",
    "Concat",
    "Dropout1d",
    "Dropout2d",
    "ELU",
    "GroupNorm",
    "Hardswish",
    "INPUT",
    "Identity",
    "LayerNorm",
    "LocalResponseNorm",
    "LogSoftmax",
    "MERGE_TYPES",
    "Node",
    "PReLU",
    "PixelShuffle",
    "ReLU6",
    "SiLU",
    "Softmax",
    "Softplus",
    "Unflatten",
    "Upsample",
    "ZeroPad1d",
    "ZeroPad2d",
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
