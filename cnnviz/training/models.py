"""The networks trained live: an MLP baseline and a small conv net for each data set in `cnnviz.training.datasets`.

Each is a stack of the layer specs the network builder uses (`cnnviz.network.layers`), so the page can show
its summary, count its parameters and draw its receptive fields with the builder's own code, and the
lectures' networks are defined once, in `cnnviz.network.presets`. `build_model` turns a stack into a
`torch.nn.Sequential` through `Layer.to_torch()` and draws its weights with a private, seeded
`torch.Generator`, matching PyTorch's defaults in distribution (uniform in +-1/sqrt(fan_in)), so it neither
reads nor moves torch's global random state: two sessions building models at once get the same weights
for the same seed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import torch
from torch import nn

from cnnviz.errors import ConvConfigError
from cnnviz.network.layers import AdaptiveMaxPool2d, Conv1d, Conv2d, Flatten, Layer, Linear, MaxPool2d, ReLU
from cnnviz.network.mlp_compare import mlp
from cnnviz.network.presets import PRESETS
from cnnviz.network.summary_table import Summary, summarize
from cnnviz.network.torch_form import to_torch

__all__ = [
    "MODEL_SPECS",
    "ModelSpec",
    "build_model",
    "get_model_spec",
    "init_parameters",
    "model_names",
]


@dataclass(frozen=True)
class ModelSpec:
    """A network for one data set: its layer specs for one sample of `input_shape`."""

    dataset: str
    name: str  # "mlp" or "convnet"
    title: str
    description: str
    input_shape: tuple[int, ...]
    layers: tuple[Layer, ...]

    def summary(self) -> Summary:
        """The network builder's table of this network: shapes, parameters, MACs, receptive fields."""
        return summarize(self.layers, self.input_shape)

    @property
    def params(self) -> int:
        """Trainable parameters, as the builder counts them."""
        return self.summary().total_params


def _on_inputs(layers: tuple[Layer, ...], features: int) -> tuple[Layer, ...]:
    """`layers` with its first Linear reading `features` inputs: a lecture's MLP on another data set."""
    first = next(i for i, layer in enumerate(layers) if isinstance(layer, Linear))
    return (*layers[:first], replace(layers[first], in_features=features), *layers[first + 1 :])


# Lecture 000's baseline (preset "CIFAR-10 MLP": widths 512, 120, 84 and its ReLU placement) on 8x8 = 64 inputs.
_DIGITS_MLP = _on_inputs(PRESETS["CIFAR-10 MLP"].layers, 64)
# (1, 8, 8) -> (8, 8, 8) -> (16, 8, 8) -> pool (16, 4, 4) -> 256 -> 10
_DIGITS_CONVNET = (
    Conv2d(1, 8, 3, padding=1),
    ReLU(),
    Conv2d(8, 16, 3, padding=1),
    ReLU(),
    MaxPool2d(2),
    Flatten(),
    Linear(256, 10),
)
# Lecture 001: lengths 40 -> 19 -> 9 -> 4, 15 channels, valid padding; 60 + 690 + 690 + 610 weights.
_MNIST1D = PRESETS["MNIST-1D ConvNet"]
# Greydanus, "Scaling down deep learning" (2020), the MNIST-1D paper's CNN (its models.ConvBase): three
# Conv1d of 25 channels, kernels 5, 3, 3, stride 2, padding 1; lengths 40 -> 19 -> 10 -> 5, 125 features.
_MNIST1D_PAPER_CNN = (
    Conv1d(1, 25, 5, stride=2, padding=1),
    ReLU(),
    Conv1d(25, 25, 3, stride=2, padding=1),
    ReLU(),
    Conv1d(25, 25, 3, stride=2, padding=1),
    ReLU(),
    Flatten(),
    Linear(125, 10),
)
# (1, 28, 28) -> (8, 14, 14) -> (16, 7, 7) -> (32, 4, 4) -> global max (32,) -> 4
_SHAPES_CONVNET = (
    Conv2d(1, 8, 5, stride=2, padding=2),
    ReLU(),
    Conv2d(8, 16, 3, stride=2, padding=1),
    ReLU(),
    Conv2d(16, 32, 3, stride=2, padding=1),
    ReLU(),
    AdaptiveMaxPool2d(1),
    Flatten(),
    Linear(32, 4),
)

MODEL_SPECS: dict[str, dict[str, ModelSpec]] = {}
for _spec in (
    ModelSpec(
        "digits",
        "mlp",
        "MLP",
        "Flatten 64 pixels, then Linear 512, 120, 84, 10 (lecture 000's widths).",
        (1, 8, 8),
        _DIGITS_MLP,
    ),
    ModelSpec(
        "digits",
        "convnet",
        "ConvNet",
        "Two 3x3 convs (8, 16 channels), 2x2 max pool, Linear(256, 10).",
        (1, 8, 8),
        _DIGITS_CONVNET,
    ),
    ModelSpec(
        "mnist1d",
        "mlp",
        "MLP",
        "Flatten 40 samples, then Linear 256, 256, 10.",
        (1, 40),
        tuple(mlp(40, (256, 256), 10)),
    ),
    ModelSpec(
        "mnist1d",
        "convnet",
        "ConvNet",
        "Lecture 001: three Conv1d(k=3, stride 2) of 15 channels, lengths 40, 19, 9, 4, then Linear(60, 10).",
        _MNIST1D.input_size,
        _MNIST1D.layers,
    ),
    ModelSpec(
        "mnist1d",
        "cnn",
        "Paper CNN",
        "Greydanus's MNIST-1D CNN (the paper reports 94 %): three Conv1d of 25 channels (kernels 5, 3, 3, "
        "stride 2), lengths 40, 19, 10, 5, then Linear(125, 10).",
        (1, 40),
        _MNIST1D_PAPER_CNN,
    ),
    ModelSpec(
        "shapes",
        "mlp",
        "MLP",
        "Flatten 784 pixels, then Linear 256, 128, 4.",
        (1, 28, 28),
        tuple(mlp(784, (256, 128), 4)),
    ),
    ModelSpec(
        "shapes",
        "convnet",
        "ConvNet",
        "Three stride-2 convs (8, 16, 32 channels), global max pool, "
        "Linear(32, 4): finds a shape wherever it is.",
        (1, 28, 28),
        _SHAPES_CONVNET,
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
        model = to_torch(spec.layers)
    model = model.to_empty(device="cpu")
    return init_parameters(model, seed)
