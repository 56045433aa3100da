"""The saved-run parser under attack: mutated real saved runs, damaged structures, random bytes, oversized
curves. `load_run` either gives back a trainer that trains, or says what is wrong in a ConvConfigError;
nothing else ever escapes (the page shows the message, never a traceback)."""

from __future__ import annotations

import io
import math
import tomllib
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cnnviz.errors import ConvConfigError
from cnnviz.training.trainer import (
    MAX_RECORDS,
    MAX_RUN_BYTES,
    Trainer,
    TrainingError,
    load_run,
    recommended_config,
    save_run,
)

FUZZ = settings(
    max_examples=120,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
RECORD = {
    "step": 1,
    "epoch": 0.5,
    "train_loss": 1.0,
    "train_acc": 0.5,
    "test_loss": 1.0,
    "test_acc": 0.5,
    "lr": 0.01,
    "seconds": 0.1,
}


def _trainer(optimizer: str) -> Trainer:
    t = Trainer(recommended_config("digits", "convnet", optimizer=optimizer, epochs=2, eval_every=2))
    t.train_for(10.0, max_steps=5)  # mid-epoch: a sample order, optimizer buffers, two points on the curves
    return t


SAVED = {name: save_run(_trainer(name)) for name in ("adam", "sgd")}


def _bytes(state: object) -> bytes:
    buffer = io.BytesIO()
    torch.save(state, buffer)
    return buffer.getvalue()


def _state(optimizer: str = "adam") -> dict:
    return torch.load(io.BytesIO(SAVED[optimizer]), weights_only=True)


def loads_cleanly(data: bytes) -> None:
    """load_run(data) gives a trainer that can step, or raises a ConvConfigError; nothing else."""
    try:
        trainer = load_run(data)
    except ConvConfigError as exc:
        assert str(exc) and exc.argument == "file"
        assert len(str(exc)) < 400  # a message, not the file's contents
        return
    if not trainer.finished:
        try:
            trainer.step()
        except ConvConfigError:  # e.g. a loss that became infinite: a message for people
            pass


# ---------------------------------------------------------------------------------------------------
# Bytes
# ---------------------------------------------------------------------------------------------------


@FUZZ
@given(
    optimizer=st.sampled_from(["adam", "sgd"]),
    edits=st.lists(
        st.tuples(st.sampled_from(["flip", "insert", "delete", "cut"]), st.floats(0, 1), st.integers(0, 255)),
        min_size=1,
        max_size=4,
    ),
)
def test_mutated_saved_runs_load_or_fail_with_a_clean_error(optimizer: str, edits) -> None:
    data = bytearray(SAVED[optimizer])
    for kind, where, value in edits:
        if not data:
            break
        i = min(int(where * len(data)), len(data) - 1)
        if kind == "flip":
            data[i] ^= value or 1
        elif kind == "insert":
            data[i:i] = bytes([value]) * (value % 7 + 1)
        elif kind == "delete":
            del data[i : i + value % 9 + 1]
        else:
            del data[max(i, 1) :]
    loads_cleanly(bytes(data))


@FUZZ
@given(st.binary(max_size=4096))
def test_random_bytes_are_refused_cleanly(data: bytes) -> None:
    with pytest.raises(ConvConfigError):
        load_run(data)


@FUZZ
@given(st.binary(max_size=512), st.binary(max_size=512))
def test_random_bytes_inside_a_zip_are_refused_cleanly(pickled: bytes, extra: bytes) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("archive/data.pkl", pickled)
        archive.writestr("archive/data/0", extra)
    with pytest.raises(ConvConfigError):
        load_run(buffer.getvalue())


# ---------------------------------------------------------------------------------------------------
# Structure: a real run's state with one part replaced by something else
# ---------------------------------------------------------------------------------------------------

junk = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.sampled_from([10**400, -(10**5000)]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(["x" * 100_000]),
    st.lists(st.integers(-3, 3), max_size=4),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
    st.builds(
        lambda shape, dtype: torch.zeros(shape, dtype=dtype),
        st.lists(st.integers(0, 4), max_size=3).map(tuple),
        st.sampled_from([torch.float32, torch.int64, torch.uint8, torch.float64, torch.bool]),
    ),
)


def _paths(value: object, prefix: tuple = ()) -> list[tuple]:
    """Every path to a part of a nested state (dict keys, list indices)."""
    out = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            out += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            out += _paths(item, (*prefix, i))
    return out


def _replace(state: object, path: tuple, value: object) -> object:
    if not path:
        return value
    parent = state
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = value
    return state


@FUZZ
@given(optimizer=st.sampled_from(["adam", "sgd"]), data=st.data())
def test_a_saved_run_with_any_part_replaced_loads_or_fails_cleanly(optimizer: str, data) -> None:
    state = _state(optimizer)
    for _ in range(data.draw(st.integers(1, 3))):
        paths = _paths(state)
        path = data.draw(st.sampled_from(paths))
        if path and data.draw(st.booleans()) and isinstance(_parent(state, path), dict):
            del _parent(state, path)[path[-1]]
        else:
            state = _replace(state, path, data.draw(junk))
    loads_cleanly(_bytes(state))


def _parent(state: object, path: tuple) -> object:
    for key in path[:-1]:
        state = state[key]
    return state


# ---------------------------------------------------------------------------------------------------
# Sizes: checked against the run itself, before the work they would cost
# ---------------------------------------------------------------------------------------------------


def test_a_22_mb_run_of_200000_records_is_refused_before_it_is_unpickled(monkeypatch) -> None:
    state = _state()
    state["history"] = [dict(RECORD, step=i + 1) for i in range(200_000)]
    data = _bytes(state)
    assert 20 * 2**20 < len(data) <= MAX_RUN_BYTES  # it fits the upload limit

    def never(*args, **kwargs):
        raise AssertionError("the file was unpickled")

    monkeypatch.setattr(torch, "load", never)
    with pytest.raises(TrainingError, match=r"records take 2\d\.\d MB; a saved run's take at most") as err:
        load_run(data)
    assert err.value.argument == "file"


def test_more_points_than_the_runs_own_steps_make_are_refused() -> None:
    state = _state()  # 5 steps, a test pass every 2: at most 2 points
    state["history"] = [dict(RECORD, step=i + 1) for i in range(3)]
    with pytest.raises(TrainingError, match="hold 3 points, but a run of 5 steps records at most 2"):
        load_run(_bytes(state))
    state["history"] = [dict(RECORD, step=4), dict(RECORD, step=2)]  # out of order
    with pytest.raises(TrainingError, match="do not fit the run's steps"):
        load_run(_bytes(state))
    assert MAX_RECORDS >= 6_000  # two minutes of a page's run, a test pass every 20 steps


def test_a_compressed_archive_is_not_what_save_writes() -> None:
    original = zipfile.ZipFile(io.BytesIO(SAVED["adam"]))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for info in original.infolist():
            archive.writestr(info.filename, original.read(info))
    with pytest.raises(TrainingError, match="not the layout the Save button writes"):
        load_run(buffer.getvalue())


def test_the_size_limit_is_the_servers_upload_limit() -> None:
    config = tomllib.loads((Path(__file__).resolve().parents[2] / ".streamlit" / "config.toml").read_text())
    assert MAX_RUN_BYTES == config["server"]["maxUploadSize"] * 2**20


def test_a_real_saved_run_still_loads_and_continues() -> None:
    trainer = load_run(SAVED["sgd"])
    assert trainer.step_count == 5 and len(trainer.history) == 2
    trainer.step()
    assert trainer.step_count == 6 and math.isfinite(trainer.history[-1].test_loss)
    assert np.isfinite(trainer.snapshot().filters).all()
