"""The optimizer state inside a saved run is read strictly: crafted files that change its structure, its
settings or its buffers are refused with a message saying what does not fit; real saved runs still load,
and the settings in the file never replace the run's own."""

from __future__ import annotations

import copy
import io
import math
from functools import cache

import pytest
import torch

from cnnviz.errors import ConvConfigError
from cnnviz.training.trainer import Trainer, TrainingError, load_run, recommended_config, save_run

STEPS = 5


@cache
def saved(optimizer: str) -> bytes:
    t = Trainer(recommended_config("digits", "convnet", optimizer=optimizer, epochs=2, eval_every=2))
    t.train_for(10.0, max_steps=STEPS)
    return save_run(t)


def state_of(optimizer: str) -> dict:
    return torch.load(io.BytesIO(saved(optimizer)), weights_only=True)


def with_optimizer(optimizer: str, change) -> bytes:
    """A real saved run whose optimizer state `change(optimizer_state)` has edited (in place or returned)."""
    state = state_of(optimizer)
    edited = change(state["optimizer"])
    if edited is not None:
        state["optimizer"] = edited
    buffer = io.BytesIO()
    torch.save(state, buffer)
    return buffer.getvalue()


def refused(data: bytes) -> str:
    with pytest.raises(ConvConfigError) as info:
        load_run(data)
    assert isinstance(info.value, TrainingError) and info.value.argument == "file"
    message = str(info.value)
    assert message.startswith("this saved run cannot be loaded: ") and len(message) < 300, message
    return message


def _set(path: tuple, value: object):
    def change(opt: dict) -> None:
        target = opt
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return change


def _group(name: str, value: object):
    return _set(("param_groups", 0, name), value)


def _state(index: object, name: str, value: object):
    return _set(("state", index, name), value)


def _without(name: str):
    def change(opt: dict) -> None:
        del opt["param_groups"][0][name]

    return change


def _second_group(opt: dict) -> None:
    opt["param_groups"].append(copy.deepcopy(opt["param_groups"][0]))


def _drop_state(*indices: int):
    def change(opt: dict) -> None:
        for i in indices:
            del opt["state"][i]

    return change


def _rekey(old: int, new: object):
    def change(opt: dict) -> None:
        opt["state"][new] = opt["state"].pop(old)

    return change


CRAFTED = [
    # structure
    ("adam", _set(("extra",), torch.zeros(3)), "optimizer state is damaged"),
    ("adam", lambda opt: {"state": opt["state"]}, "optimizer state is damaged"),
    ("adam", lambda opt: [opt], "optimizer state is damaged"),
    ("adam", _second_group, "optimizer state is damaged"),
    ("adam", _set(("param_groups",), {"lr": 0.1}), "optimizer state is damaged"),
    # the parameter group: known keys only, each the kind of value torch keeps there
    ("adam", _group("evil", 1), "settings hold 'evil', which adam does not have"),
    # an SGD run whose file holds Adam's state names the optimizer the file was saved with
    ("sgd", lambda opt: state_of("adam")["optimizer"], "the saved optimizer state is adam's, not sgd's"),
    ("sgd", _group("betas", (0.9, 0.999)), "settings hold 'betas', which sgd does not have"),
    ("adam", _group("lr", math.nan), "setting 'lr' is nan, not a value adam takes"),
    ("adam", _group("lr", math.inf), "setting 'lr' is inf"),
    ("adam", _group("lr", -0.1), "setting 'lr' is -0.1"),
    ("adam", _group("lr", "0.1"), "setting 'lr' is '0.1'"),
    ("adam", _group("lr", 10**400), "setting 'lr' is a huge number"),
    ("adam", _group("eps", True), "setting 'eps' is True"),
    ("adam", _group("betas", (0.9, 1.5)), "setting 'betas' is (0.9, 1.5)"),
    ("adam", _group("betas", ("a", "b")), "setting 'betas'"),
    ("adam", _group("betas", (0.9, 0.99, 0.9)), "setting 'betas'"),
    ("adam", _group("amsgrad", "yes"), "setting 'amsgrad' is 'yes'"),
    ("adam", _group("foreach", 1), "setting 'foreach' is 1"),
    ("sgd", _group("momentum", -0.9), "setting 'momentum' is -0.9, not a value sgd takes"),
    ("sgd", _group("nesterov", None), "setting 'nesterov' is None"),
    ("adam", _group("params", [0, 1, 2]), "does not fit the model's weights"),
    ("adam", _group("params", [0, 0, 1, 2, 3, 4]), "does not fit the model's weights"),
    ("adam", _group("params", [True, 1, 2, 3, 4, 5]), "does not fit the model's weights"),
    ("adam", _without("lr"), "settings are incomplete"),
    ("adam", _without("params"), "settings are incomplete"),
    # the buffers: one entry per weight, the optimizer's keys, float32 of the weight's shape, finite
    ("adam", _rekey(0, "0"), "does not fit the model's weights"),
    ("adam", _rekey(0, 99), "does not fit the model's weights"),
    ("adam", _drop_state(3, 4, 5), "buffers for 3 of the model's 6 weights, which a run of 5 steps"),
    ("adam", _state(0, "max_exp_avg_sq", torch.zeros(8, 1, 3, 3)), "is not adam's"),
    ("adam", _state(0, "exp_avg", torch.zeros(8, 1, 3, 4)), "does not fit the model's weights"),
    ("adam", _state(0, "exp_avg", torch.zeros(8, 1, 3, 3, dtype=torch.float64)), "does not fit"),
    ("adam", _state(0, "exp_avg", [0.0] * 72), "does not fit the model's weights"),
    ("adam", _state(1, "exp_avg_sq", torch.full((8,), math.inf)), "not a finite number"),
    ("adam", _state(2, "step", torch.tensor(1e9)), "has counted 1000000000.0 steps, but the run has taken 5"),
    ("adam", _state(2, "step", torch.tensor(4.0)), "has counted 4.0 steps, but the run has taken 5"),
    ("adam", _state(2, "step", torch.tensor([5.0, 5.0])), "does not fit the model's weights"),
    ("sgd", _state(0, "momentum_buffer", torch.full((8, 1, 3, 3), math.nan)), "not a finite number"),
    ("sgd", _drop_state(0, 1, 2, 3, 4, 5), "buffers for 0 of the model's 6 weights"),
]


@pytest.mark.parametrize(("optimizer", "change", "says"), CRAFTED)
def test_a_crafted_optimizer_state_is_refused_saying_what_does_not_fit(optimizer, change, says) -> None:
    assert says in refused(with_optimizer(optimizer, change))


def test_the_settings_in_the_file_are_checked_but_the_runs_own_are_used() -> None:
    """A legal learning rate, momentum or betas in the file changes nothing: the config rules."""
    data = with_optimizer("adam", lambda opt: opt["param_groups"][0].update(lr=5.0, betas=(0.5, 0.5)))
    trainer, original = load_run(data), load_run(saved("adam"))
    group, expected = trainer.optimizer.param_groups[0], original.optimizer.param_groups[0]
    assert group["betas"] == expected["betas"] == (0.9, 0.999)
    assert group["lr"] == expected["lr"] != 5.0


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_real_saved_runs_load_with_their_buffers_and_train_on(optimizer: str) -> None:
    trainer = load_run(saved(optimizer))
    assert trainer.step_count == STEPS
    buffers = trainer.optimizer.state_dict()["state"]
    assert len(buffers) == len(list(trainer.model.parameters()))
    if optimizer == "adam":
        assert {float(entry["step"]) for entry in buffers.values()} == {float(STEPS)}
    trainer.step()
    assert trainer.step_count == STEPS + 1


def test_a_run_without_momentum_keeps_no_buffers_and_loads() -> None:
    t = Trainer(recommended_config("digits", "convnet", optimizer="sgd", momentum=0.0, epochs=1))
    t.train_for(10.0, max_steps=3)
    assert load_run(save_run(t)).optimizer.state_dict()["state"] == {}
