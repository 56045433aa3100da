"""The networks trained live: an MLP baseline and a small conv net for each data set in `cnnviz.training.datasets`.

Each is a `torch.nn.Sequential` built from a named spec, so a page can list them, count their
parameters and walk their layers. Initialisation is seeded with a private `torch.Generator` and matches
PyTorch's defaults in distribution (uniform in +-1/sqrt(fan_in)), so it neither reads nor moves torch's
global random state: two sessions building models at once get the same weights for the same seed.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from cnnviz.errors import ConvConfigError

__all__ = [
    "MODEL_SPECS",
    "LayerRow",
    "ModelSpec",
    "build_model",
    "conv_layer_indices",
    "get_model_spec",
    "init_parameters",
    "layer_summary",
    "model_names",
    "parameter_count",
]


@dataclass(frozen=True)
class ModelSpec:
    """A network for one data set: `build()` returns fresh (uninitialised) layers for (N, *input_shape)."""

    dataset: str
    name: str  # "mlp" or "convnet"
    title: str
    description: str
    input_shape: tuple[int, ...]
    build: Callable[[], list[nn.Module]]
    params: int  # pinned by tests: the count the description promises


def _digits_mlp() -> list[nn.Module]:
    # Lecture 000's baseline widths (512, 120, 84) and ReLU placement, on 8x8 = 64 inputs.
    return [
        nn.Flatten(),
        nn.Linear(64, 512),
        nn.ReLU(),
        nn.Linear(512, 120),
        nn.ReLU(),
        nn.Linear(120, 84),
        nn.Linear(84, 10),
    ]


def _digits_convnet() -> list[nn.Module]:
    # (1, 8, 8) -> (8, 8, 8) -> (16, 8, 8) -> pool (16, 4, 4) -> 256 -> 10
    return [
        nn.Conv2d(1, 8, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(8, 16, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(256, 10),
    ]


def _mnist1d_mlp() -> list[nn.Module]:
    return [nn.Flatten(), nn.Linear(40, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 10)]


def _mnist1d_convnet() -> list[nn.Module]:
    # Lecture 001: lengths 40 -> 19 -> 9 -> 4, 15 channels, valid padding; 60 + 690 + 690 + 610 weights.
    return [
        nn.Conv1d(1, 15, 3, stride=2),
        nn.ReLU(),
        nn.Conv1d(15, 15, 3, stride=2),
        nn.ReLU(),
        nn.Conv1d(15, 15, 3, stride=2),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(60, 10),
    ]


def _shapes_mlp() -> list[nn.Module]:
    return [nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 4)]


def _shapes_convnet() -> list[nn.Module]:
    # (1, 28, 28) -> (8, 14, 14) -> (16, 7, 7) -> (32, 4, 4) -> global max (32,) -> 4
    return [
        nn.Conv2d(1, 8, 5, stride=2, padding=2),
        nn.ReLU(),
        nn.Conv2d(8, 16, 3, stride=2, padding=1),
        nn.ReLU(),
        nn.Conv2d(16, 32, 3, stride=2, padding=1),
        nn.ReLU(),
        nn.AdaptiveMaxPool2d(1),
        nn.Flatten(),
        nn.Linear(32, 4),
    ]


MODEL_SPECS: dict[str, dict[str, ModelSpec]] = {}
for _spec in (
    ModelSpec(
        "digits",
        "mlp",
        "MLP",
        "Flatten 64 pixels, then Linear 512, 120, 84, 10 (lecture 000's widths).",
        (1, 8, 8),
        _digits_mlp,
        105_854,
    ),
    ModelSpec(
        "digits",
        "convnet",
        "ConvNet",
        "Two 3x3 convs (8, 16 channels), 2x2 max pool, Linear(256, 10).",
        (1, 8, 8),
        _digits_convnet,
        3_818,
    ),
    ModelSpec(
        "mnist1d",
        "mlp",
        "MLP",
        "Flatten 40 samples, then Linear 256, 256, 10.",
        (1, 40),
        _mnist1d_mlp,
        78_858,
    ),
    ModelSpec(
        "mnist1d",
        "convnet",
        "ConvNet",
        "Lecture 001: three Conv1d(k=3, stride 2) of 15 channels, lengths 40, 19, 9, 4, then Linear(60, 10).",
        (1, 40),
        _mnist1d_convnet,
        2_050,
    ),
    ModelSpec(
        "shapes",
        "mlp",
        "MLP",
        "Flatten 784 pixels, then Linear 256, 128, 4.",
        (1, 28, 28),
        _shapes_mlp,
        234_372,
    ),
    ModelSpec(
        "shapes",
        "convnet",
        "ConvNet",
        "Three stride-2 convs (8, 16, 32 channels), global max pool, "
        "Linear(32, 4): finds a shape wherever it is.",
        (1, 28, 28),
        _shapes_convnet,
        6_148,
    ),
):
    MODEL_SPECS.setdefault(_spec.dataset, {})[_spec.name] = _spec


def model_names(dataset: str) -> list[str]:
    """The model names available for `dataset`, baseline first."""
    if dataset not in MODEL_SPECS:
        raise ConvConfigError(
            f"unknown data set {dataset!r}: choose one of {', '.join(sorted(MODEL_SPECS))}",
            argument="dataset",
        )
    return list(MODEL_SPECS[dataset])


def get_model_spec(dataset: str, name: str) -> ModelSpec:
    """The spec for `name` on `dataset`, or a ConvConfigError naming the choices."""
    names = model_names(dataset)
    if name not in names:
        raise ConvConfigError(
            f"unknown model {name!r} for {dataset}: choose one of {', '.join(names)}", argument="model"
        )
    return MODEL_SPECS[dataset][name]


def init_parameters(model: nn.Module, seed: int) -> nn.Module:
    """Re-draw every Linear/Conv weight and bias from U(+-1/sqrt(fan_in)) with a seeded generator.

    That is PyTorch's default reset (kaiming_uniform_ with a=sqrt(5)), drawn from a private generator.
    """
    gen = torch.Generator().manual_seed(int(seed))
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, (nn.Linear, nn.Conv1d, nn.Conv2d)):
                nn.init.kaiming_uniform_(module.weight, a=math.sqrt(5), generator=gen)
                if module.bias is not None:
                    fan_in = module.weight[0].numel()
                    bound = 1.0 / math.sqrt(fan_in)
                    nn.init.uniform_(module.bias, -bound, bound, generator=gen)
    return model


def build_model(dataset: str, name: str, seed: int = 0) -> nn.Sequential:
    """A freshly initialised network for `dataset`; the same seed always gives the same weights."""
    spec = get_model_spec(dataset, name)
    # Built on the meta device, so construction draws nothing from torch's global generator.
    with torch.device("meta"):
        model = nn.Sequential(*spec.build())
    model = model.to_empty(device="cpu")
    return init_parameters(model, seed)


def parameter_count(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def conv_layer_indices(model: nn.Sequential) -> list[int]:
    """Positions of the Conv1d/Conv2d layers in `model`."""
    return [i for i, m in enumerate(model) if isinstance(m, (nn.Conv1d, nn.Conv2d))]


@dataclass(frozen=True)
class LayerRow:
    """One row of a model summary: position, the layer as PyTorch prints it, output shape, parameters."""

    index: int
    layer: str
    output_shape: tuple[int, ...]
    params: int


def layer_summary(model: nn.Sequential, input_shape: tuple[int, ...]) -> list[LayerRow]:
    """The torchinfo-style table of `model` for one sample of `input_shape` ((C, H, W) or (C, L))."""
    rows: list[LayerRow] = []
    with torch.no_grad():
        h = torch.zeros(1, *input_shape)
        for i, layer in enumerate(model):
            h = layer(h)
            rows.append(LayerRow(i, repr(layer), tuple(h.shape[1:]), parameter_count(layer)))
    return rows
