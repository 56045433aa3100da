"""The trainable networks: lecture 001's MNIST-1D conv net exactly, parameter counts, seeded init."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from cnnviz.conv.counts import conv_params, linear_params
from cnnviz.errors import ConvConfigError
from cnnviz.training.models import (
    MODEL_SPECS,
    build_model,
    conv_layer_indices,
    get_model_spec,
    init_parameters,
    layer_summary,
    model_names,
    parameter_count,
)

ALL = [(d, n) for d, names in MODEL_SPECS.items() for n in names]


@pytest.mark.parametrize(("dataset", "name"), ALL)
def test_every_model_builds_counts_and_classifies(dataset, name):
    spec = get_model_spec(dataset, name)
    model = build_model(dataset, name)
    assert isinstance(model, nn.Sequential)
    assert parameter_count(model) == spec.params
    assert sum(row.params for row in layer_summary(model, spec.input_shape)) == spec.params
    classes = {"digits": 10, "mnist1d": 10, "shapes": 4}[dataset]
    assert model(torch.zeros(3, *spec.input_shape)).shape == (3, classes)
    assert all(p.device.type == "cpu" and p.dtype == torch.float32 for p in model.parameters())
    assert bool(conv_layer_indices(model)) == (name == "convnet")


def test_mnist1d_convnet_is_lecture_001s_network():
    """Conv1d(1,15,3,s2), ReLU, Conv1d(15,15,3,s2), ReLU, Conv1d(15,15,3,s2), ReLU, Flatten, Linear(60,10)."""
    model = build_model("mnist1d", "convnet")
    reference = nn.Sequential(
        nn.Conv1d(1, 15, 3, stride=2),
        nn.ReLU(),
        nn.Conv1d(15, 15, 3, stride=2),
        nn.ReLU(),
        nn.Conv1d(15, 15, 3, stride=2),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(60, 10),
    )
    assert [repr(m) for m in model] == [repr(m) for m in reference]
    rows = layer_summary(model, (1, 40))
    assert [r.output_shape for r in rows if "Conv1d" in r.layer] == [(15, 19), (15, 9), (15, 4)]
    assert [r.params for r in rows if r.params] == [60, 690, 690, 610]
    assert [conv_params(1, 15, 3), conv_params(15, 15, 3), linear_params(60, 10)] == [60, 690, 610]
    assert parameter_count(model) == 2_050


def test_digits_mlp_uses_lecture_000s_baseline_widths():
    model = build_model("digits", "mlp")
    linears = [m for m in model if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(64, 512), (512, 120), (120, 84), (84, 10)]
    assert parameter_count(model) == sum(linear_params(m.in_features, m.out_features) for m in linears)


@pytest.mark.parametrize("dataset", sorted(MODEL_SPECS))
def test_conv_nets_are_more_than_an_order_of_magnitude_smaller_than_the_mlps(dataset):
    ratio = get_model_spec(dataset, "mlp").params / get_model_spec(dataset, "convnet").params
    assert ratio > 25


def test_same_seed_same_weights_other_seed_other_weights():
    a, b, c = (build_model("shapes", "convnet", seed) for seed in (4, 4, 5))
    assert all(torch.equal(x, y) for x, y in zip(a.parameters(), b.parameters(), strict=True))
    assert not any(torch.equal(x, z) for x, z in zip(a.parameters(), c.parameters(), strict=True))


@pytest.mark.parametrize(
    "make", [lambda: nn.Linear(7, 5), lambda: nn.Conv2d(3, 4, 3), lambda: nn.Conv1d(2, 3, 5, stride=2)]
)
def test_seeded_init_draws_exactly_what_pytorchs_default_reset_draws(make):
    torch.manual_seed(11)
    reference = make()  # PyTorch's reset_parameters, from the global generator seeded 11
    ours = init_parameters(make(), 11)
    assert all(torch.equal(x, y) for x, y in zip(reference.parameters(), ours.parameters(), strict=True))


def test_building_does_not_touch_the_global_generator():
    torch.manual_seed(0)
    before = torch.random.get_rng_state()
    build_model("digits", "mlp", seed=3)
    assert torch.equal(before, torch.random.get_rng_state())


def test_unknown_names_are_explained():
    assert model_names("digits") == ["mlp", "convnet"]
    with pytest.raises(ConvConfigError, match="choose one of mlp, convnet") as err:
        get_model_spec("digits", "resnet")
    assert err.value.argument == "model"
    with pytest.raises(ConvConfigError, match="unknown data set") as err:
        build_model("imagenet", "mlp")
    assert err.value.argument == "dataset"
