"""The trainable networks: built from the builder's layer specs, lecture 001's MNIST-1D conv net exactly,
parameter counts against PyTorch, and seeded initialisation that never changes."""

from __future__ import annotations

import hashlib

import pytest
import torch
from torch import nn

from cnnviz.conv.counts import conv_params, linear_params
from cnnviz.errors import ConvConfigError
from cnnviz.network.presets import PRESETS
from cnnviz.training.models import MODEL_SPECS, build_model, get_model_spec, init_parameters, model_names

ALL = [(d, n) for d, names in MODEL_SPECS.items() for n in names]
PARAMS = {
    ("digits", "mlp"): 105_854,
    ("digits", "convnet"): 3_818,
    ("mnist1d", "mlp"): 78_858,
    ("mnist1d", "convnet"): 2_050,
    ("mnist1d", "cnn"): 5_210,
    ("shapes", "mlp"): 234_372,
    ("shapes", "convnet"): 6_148,
}


def torch_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


@pytest.mark.parametrize(("dataset", "name"), ALL)
def test_every_model_is_its_layer_specs_in_torch_and_the_builder_counts_it(dataset, name):
    spec = get_model_spec(dataset, name)
    model = build_model(dataset, name)
    assert isinstance(model, nn.Sequential)
    assert [repr(m) for m in model] == [repr(layer.to_torch()) for layer in spec.layers]
    assert spec.params == torch_params(model) == PARAMS[dataset, name]
    summary = spec.summary()
    assert summary.ok and summary.total_params == spec.params
    x = torch.zeros(3, *spec.input_shape)
    for row, module in zip(summary.rows, model, strict=True):  # the builder's shapes are torch's
        x = module(x)
        assert row.output_shape[1:] == tuple(x.shape[1:])
        assert row.params == torch_params(module)
    classes = {"digits": 10, "mnist1d": 10, "shapes": 4}[dataset]
    assert x.shape == (3, classes)
    assert all(p.device.type == "cpu" and p.dtype == torch.float32 for p in model.parameters())
    assert any(isinstance(m, (nn.Conv1d, nn.Conv2d)) for m in model) == (name != "mlp")


def test_mnist1d_convnet_is_lecture_001s_network_defined_once():
    """Conv1d(1,15,3,s2), ReLU, Conv1d(15,15,3,s2), ReLU, Conv1d(15,15,3,s2), ReLU, Flatten, Linear(60,10)."""
    spec = get_model_spec("mnist1d", "convnet")
    assert spec.layers is PRESETS["MNIST-1D ConvNet"].layers  # the builder's preset, not a copy
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
    assert [repr(m) for m in build_model("mnist1d", "convnet")] == [repr(m) for m in reference]
    rows = spec.summary().rows
    assert [r.output_shape[1:] for r in rows if r.layer.kind == "Conv1d"] == [(15, 19), (15, 9), (15, 4)]
    assert [r.params for r in rows if r.params] == [60, 690, 690, 610]
    assert [conv_params(1, 15, 3), conv_params(15, 15, 3), linear_params(60, 10)] == [60, 690, 610]
    assert spec.params == PRESETS["MNIST-1D ConvNet"].expected_params == 2_050


def test_mnist1d_paper_cnn_is_greydanus_convbase():
    """Greydanus's models.ConvBase for length 40: Conv1d(1,25,5,s2,p1), two Conv1d(25,25,3,s2,p1), ReLUs,
    Linear(125, 10)."""
    spec = get_model_spec("mnist1d", "cnn")
    rows = spec.summary().rows
    assert [r.output_shape[1:] for r in rows if r.layer.kind == "Conv1d"] == [(25, 19), (25, 10), (25, 5)]
    assert [r.params for r in rows if r.params] == [150, 1_900, 1_900, 1_260]
    assert spec.params == 5_210


def test_digits_mlp_is_lecture_000s_mlp_on_64_inputs():
    lecture = PRESETS["CIFAR-10 MLP"].layers
    ours = get_model_spec("digits", "mlp").layers
    assert [layer.kind for layer in ours] == [layer.kind for layer in lecture]  # the lecture's ReLU placement
    linears = [m for m in build_model("digits", "mlp") if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(64, 512), (512, 120), (120, 84), (84, 10)]


@pytest.mark.parametrize("dataset", sorted(MODEL_SPECS))
def test_conv_nets_are_more_than_an_order_of_magnitude_smaller_than_the_mlps(dataset):
    ratio = get_model_spec(dataset, "mlp").params / get_model_spec(dataset, "convnet").params
    assert ratio > 25


def test_same_seed_same_weights_other_seed_other_weights():
    a, b, c = (build_model("shapes", "convnet", seed) for seed in (4, 4, 5))
    assert all(torch.equal(x, y) for x, y in zip(a.parameters(), b.parameters(), strict=True))
    assert not any(torch.equal(x, z) for x, z in zip(a.parameters(), c.parameters(), strict=True))


# The weights every seed has given since the first release: saved runs, lessons and the lectures' numbers
# rely on them, so a change in how models are built must not move a single bit (sha256 of the state dict).
WEIGHTS = {
    ("digits", "mlp", 0): "31bdd8a48c47653f",
    ("digits", "mlp", 7): "977e729852d7f2c9",
    ("digits", "convnet", 0): "ea5fe547bdb68962",
    ("digits", "convnet", 2**40 + 3): "fd97df3452f28490",
    ("mnist1d", "mlp", 0): "5fc6b9c1939d293c",
    ("mnist1d", "convnet", 0): "147c2124daede447",
    ("mnist1d", "convnet", 7): "4c69c7d88e6640ac",
    ("mnist1d", "cnn", 0): "b084022915c36537",
    ("shapes", "mlp", 0): "e7c42c034a37efa9",
    ("shapes", "convnet", 0): "f54c447d5358c1bb",
    ("shapes", "convnet", 7): "70ae508d74858ae7",
}


@pytest.mark.parametrize(("dataset", "name", "seed"), sorted(WEIGHTS))
def test_seeded_weights_are_bit_identical_to_every_earlier_build(dataset, name, seed):
    digest = hashlib.sha256()
    for key, value in build_model(dataset, name, seed).state_dict().items():
        digest.update(key.encode())
        digest.update(value.numpy().tobytes())
    assert digest.hexdigest()[:16] == WEIGHTS[dataset, name, seed]


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
