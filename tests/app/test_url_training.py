"""The live-training page's link: settings and view choices travel in it, the run does not.

Set controls, take the query string, open it in a fresh session and find the same configuration; a
lesson's link loads the recommended settings exactly as choosing the data set and model by hand does;
tampered links give notes and the defaults, never an exception.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from cnnviz.topics.lessons import LESSONS
from cnnviz.training.datasets import load_dataset
from cnnviz.training.inputs import grid_text
from cnnviz.training.runs import RunStatus, TrainingRun, shared_scheduler
from cnnviz.training.trainer import recommended_config

PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "7_Live_training.py")
P = "lt"
SETTINGS = ("dataset", "model", "permute", "optimizer", "lr", "batch", "epochs", "seed", "view")
KINDS = ("number_input", "selectbox", "radio", "toggle", "text_area")

_apps: list[AppTest] = []


@pytest.fixture(autouse=True)
def _stop_runs() -> Iterator[None]:
    """Stop every run the test's sessions started and check that no training thread is left."""
    _apps.clear()
    yield
    scheduler = shared_scheduler()
    runs = [
        scheduler.get(a.session_state[f"{P}_session"]) for a in _apps if f"{P}_session" in a.session_state
    ]
    scheduler.shutdown(timeout=10)
    for run in runs:
        if run is not None:
            assert run.join(10)


def _open(query: dict[str, str] | None = None) -> AppTest:
    """A fresh session on the page, opened with `query` as its link."""
    app = AppTest.from_file(PAGE, default_timeout=60)
    for key, value in (query or {}).items():
        app.query_params[key] = value
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    _apps.append(app)
    return app


def _link(at: AppTest) -> dict[str, str]:
    out = {}
    for key in at.query_params:
        value = at.query_params[key]
        out[key] = value[-1] if isinstance(value, list) else value
    return out


def _values(at: AppTest) -> dict[str, Any]:
    """Every keyed control of the page by its name without the prefix."""
    return {w.key[len(P) + 1 :]: w.value for kind in KINDS for w in getattr(at, kind) if w.key.startswith(P)}


def _settings(at: AppTest) -> dict[str, Any]:
    values = _values(at)
    return {name: values[name] for name in SETTINGS}


def _recipe(dataset: str, model: str) -> dict[str, Any]:
    recipe = recommended_config(dataset, model)
    epochs = recipe.epochs if (dataset, model) == ("mnist1d", "cnn") else min(recipe.epochs, 20)
    return {"optimizer": recipe.optimizer, "lr": recipe.lr, "batch": recipe.batch_size, "epochs": epochs}


def _notes(at: AppTest) -> list[str]:
    return [w.value for w in at.warning if "link's value" in w.value]


def _finish_a_run(at: AppTest, errors: bool = False) -> TrainingRun:
    """Press Start (the page's own settings) and wait for the run to finish."""
    at.button(key=f"{P}_start").click().run()
    assert not at.exception and (errors or not at.error)
    run = shared_scheduler().get(at.session_state[f"{P}_session"])
    assert run is not None
    state = run.wait_for(lambda s: s.status.done, timeout=120)
    assert state.status is RunStatus.FINISHED, state.message
    at.run()
    assert not at.exception
    return run


def test_a_link_reopens_the_same_settings_and_view() -> None:
    at = _open()
    at.selectbox(key=f"{P}_dataset").set_value("shapes").run()
    at.radio(key=f"{P}_model").set_value("mlp").run()
    at.toggle(key=f"{P}_permute").set_value(True)
    at.selectbox(key=f"{P}_optimizer").set_value("sgd")
    at.number_input(key=f"{P}_lr").set_value(0.025)
    at.number_input(key=f"{P}_batch").set_value(48)
    at.number_input(key=f"{P}_epochs").set_value(3)
    at.number_input(key=f"{P}_seed").set_value(7)
    at.radio(key=f"{P}_view").set_value("worst")
    at.run()
    assert not at.exception
    before = _settings(at)
    assert before == {"dataset": "shapes", "model": "mlp", "permute": True, "optimizer": "sgd", "lr": 0.025,
                      "batch": 48, "epochs": 3, "seed": 7, "view": "worst"}  # fmt: skip
    link = _link(at)
    assert {f"{P}_{name}" for name in SETTINGS} <= set(link)

    fresh = _open(link)
    assert _settings(fresh) == before
    assert _link(fresh) == link
    assert not _notes(fresh)
    assert shared_scheduler().get(fresh.session_state[f"{P}_session"]) is None  # ready to start, not started
    assert any("ready to start" in c.value for c in fresh.caption)


def test_a_link_holds_only_what_differs_from_the_recommended_settings() -> None:
    at = _open()
    assert set(_link(at)) == set()
    at.radio(key=f"{P}_model").set_value("mlp").run()
    assert _link(at) == {f"{P}_model": "mlp"}  # the MLP's recipe is loaded, and is its default
    at.number_input(key=f"{P}_lr").set_value(0.02).run()
    assert _link(at) == {f"{P}_model": "mlp", f"{P}_lr": "0.02"}
    at.selectbox(key=f"{P}_dataset").set_value("mnist1d").run()
    settings = _settings(at)
    assert {k: settings[k] for k in ("optimizer", "lr", "batch", "epochs")} == _recipe("mnist1d", "mlp")
    assert _link(at) == {f"{P}_model": "mlp", f"{P}_dataset": "mnist1d"}


def test_the_lesson_link_opens_the_mlp_on_mnist1d_with_its_recommended_settings() -> None:
    lesson = next(lesson for lesson in LESSONS if lesson.page == "pages/7_Live_training.py")
    assert lesson.query == {f"{P}_dataset": "mnist1d", f"{P}_model": "mlp"}
    fresh = _open(lesson.query)
    settings = _settings(fresh)
    assert settings["dataset"] == "mnist1d" and settings["model"] == "mlp"
    assert {k: settings[k] for k in ("optimizer", "lr", "batch", "epochs")} == _recipe("mnist1d", "mlp")
    assert not _notes(fresh)
    # The same as choosing them by hand in a fresh session.
    by_hand = _open()
    by_hand.selectbox(key=f"{P}_dataset").set_value("mnist1d").run()
    by_hand.radio(key=f"{P}_model").set_value("mlp").run()
    assert _settings(by_hand) == settings
    assert _link(by_hand) == _link(fresh) == lesson.query


def test_a_link_setting_the_data_set_and_a_value_keeps_the_value_and_loads_the_rest() -> None:
    fresh = _open({f"{P}_dataset": "mnist1d", f"{P}_model": "convnet", f"{P}_lr": "0.2", f"{P}_epochs": "2"})
    settings = _settings(fresh)
    recipe = _recipe("mnist1d", "convnet")
    assert settings["lr"] == pytest.approx(0.2) and settings["epochs"] == 2
    assert settings["optimizer"] == recipe["optimizer"] == "sgd"
    assert settings["batch"] == recipe["batch"]
    # The run starts with exactly what the link says.
    fresh.number_input(key=f"{P}_epochs").set_value(1).run()
    fresh.button(key=f"{P}_start").click().run()
    run = shared_scheduler().get(fresh.session_state[f"{P}_session"])
    assert run is not None
    config = run.config
    assert (config.dataset, config.model, config.optimizer, config.lr) == ("mnist1d", "convnet", "sgd", 0.2)
    run.stop()


def test_a_link_to_the_paper_cnn_opens_its_whole_recipe() -> None:
    at = _open({f"{P}_dataset": "mnist1d", f"{P}_model": "cnn"})
    settings = _settings(at)
    assert (settings["dataset"], settings["model"]) == ("mnist1d", "cnn")
    assert {k: settings[k] for k in ("optimizer", "lr", "batch", "epochs")} == _recipe("mnist1d", "cnn")
    assert settings["epochs"] == 40 and not _notes(at)


def test_a_new_link_in_the_same_session_loads_its_recipe() -> None:
    at = _open()
    at.number_input(key=f"{P}_lr").set_value(0.5).run()
    for key in list(at.query_params):
        del at.query_params[key]
    at.query_params[f"{P}_dataset"] = "shapes"
    at.query_params[f"{P}_model"] = "mlp"
    at.run()
    assert not at.exception
    settings = _settings(at)
    assert (settings["dataset"], settings["model"]) == ("shapes", "mlp")
    assert {k: settings[k] for k in ("optimizer", "lr", "batch", "epochs")} == _recipe("shapes", "mlp")


@pytest.mark.parametrize(
    ("key", "value", "label"),
    [
        ("dataset", "imagenet", "Data set"),
        ("model", "resnet", "Model"),
        ("permute", "maybe", "Shuffle the pixels"),
        ("optimizer", "lbfgs", "Optimizer"),
        ("lr", "-1", "Learning rate"),
        ("lr", "nan", "Learning rate"),
        ("batch", "5000", "Batch size"),
        ("batch", "1.5", "Batch size"),
        ("epochs", "0", "Epochs"),
        ("seed", str(2**40), "Seed"),
        ("view", "<script>", "Look at"),
    ],
)
def test_a_tampered_value_is_a_note_and_the_default(key: str, value: str, label: str) -> None:
    fresh = _open({f"{P}_{key}": value})
    notes = _notes(fresh)
    assert len(notes) == 1 and f"'{label}'" in notes[0]
    assert _settings(fresh) == _settings(_open())  # every setting at its default
    assert f"{P}_{key}" not in _link(fresh)


def test_a_link_full_of_garbage_gives_a_note_for_each_and_the_defaults() -> None:
    fresh = _open({f"{P}_{name}": "%%garbage%%" for name in SETTINGS})
    notes = _notes(fresh)
    assert len(notes) == len(SETTINGS)
    assert _settings(fresh) == _settings(_open())
    assert _settings(fresh)["dataset"] == "digits" and _settings(fresh)["model"] == "convnet"
    assert _link(fresh) == {}


def test_a_model_of_another_data_set_in_the_link_falls_back_with_a_note() -> None:
    fresh = _open({f"{P}_dataset": "mnist1d", f"{P}_model": "digits"})
    assert len(_notes(fresh)) == 1 and "'Model'" in _notes(fresh)[0]
    settings = _settings(fresh)
    assert (settings["dataset"], settings["model"]) == ("mnist1d", "convnet")
    assert {k: settings[k] for k in ("optimizer", "lr", "batch", "epochs")} == _recipe("mnist1d", "convnet")


def test_view_choices_travel_and_apply_once_the_new_session_has_a_run() -> None:
    at = _open({f"{P}_epochs": "1"})
    _finish_a_run(at)
    at.radio(key=f"{P}_view").set_value("maps").run()
    at.number_input(key=f"{P}_sample").set_value(5).run()
    assert not at.exception
    at.radio(key=f"{P}_view").set_value("try").run()
    at.radio(key=f"{P}_try_source").set_value("upload").run()
    at.radio(key=f"{P}_try_ink").set_value("dark").run()
    at.radio(key=f"{P}_try_source").set_value("draw").run()
    at.number_input(key=f"{P}_try_start").set_value(3).run()
    drawing = "...99...\n..999...\n...99...\n...99...\n...99...\n...99...\n...99...\n..9999..\n"
    at.text_area(key=f"{P}_grid").set_value(drawing).run()
    assert not at.exception
    link = _link(at)
    assert link[f"{P}_sample"] == "5" and link[f"{P}_try_start"] == "3" and link[f"{P}_try_ink"] == "dark"
    assert link[f"{P}_grid"] == drawing

    fresh = _open(link)
    assert _settings(fresh)["view"] == "try"
    assert any("Start a run" in i.value for i in fresh.info)  # the link carries no run
    _finish_a_run(fresh)
    assert fresh.number_input(key=f"{P}_try_start").value == 3
    assert fresh.text_area(key=f"{P}_grid").value == drawing
    assert fresh.radio(key=f"{P}_try_source").value == "draw"
    fresh.radio(key=f"{P}_view").set_value("maps").run()
    assert fresh.number_input(key=f"{P}_sample").value == 5
    label = int(load_dataset("digits").y_test[5])
    assert f"test sample 5: {label}" in [c.value for c in fresh.caption]
    fresh.radio(key=f"{P}_view").set_value("try").run()
    fresh.radio(key=f"{P}_try_source").set_value("upload").run()
    assert fresh.radio(key=f"{P}_try_ink").value == "dark"
    assert not _notes(fresh)


def test_an_unedited_drawing_stays_out_of_the_link_and_a_bad_one_is_an_error() -> None:
    at = _open({f"{P}_epochs": "1", f"{P}_view": "try"})
    _finish_a_run(at)  # "Try it" right after Start says the model is being built, never an error
    assert not at.error
    data = load_dataset("digits")
    assert at.text_area(key=f"{P}_grid").value == grid_text(data.x_test[0], (1, 8, 8))
    assert f"{P}_grid" not in _link(at)
    fresh = _open({f"{P}_epochs": "1", f"{P}_view": "try", f"{P}_grid": "..9..\nxx"})
    _finish_a_run(fresh, errors=True)
    assert fresh.error and "needs 8 rows of 8 cells" in fresh.error[0].value
    assert fresh.text_area(key=f"{P}_grid").value == "..9..\nxx"  # kept to fix by hand, not dropped
    assert not fresh.get("plotly_chart") or all(
        "Prediction" not in (c.proto.spec or "") for c in fresh.get("plotly_chart")
    )


def test_coming_back_through_a_plain_page_link_keeps_the_settings() -> None:
    at = AppTest.from_file(str(Path(PAGE).parents[1] / "app.py"), default_timeout=60).run()
    _apps.append(at)
    at.switch_page("pages/7_Live_training.py").run()
    at.selectbox(key=f"{P}_dataset").set_value("shapes").run()
    at.number_input(key=f"{P}_batch").set_value(4).run()
    at.radio(key=f"{P}_view").set_value("worst").run()
    before, link = _settings(at), _link(at)
    at.switch_page("pages/5_Pooling.py").run()
    assert not at.exception and at.title[0].value == "Pooling"
    at.query_params.clear()  # the sidebar's page links carry no settings
    at.switch_page("pages/7_Live_training.py").run()
    assert not at.exception
    assert _settings(at) == before
    assert _link(at) == link  # and the link shows them again
    # A link that names settings wins over the kept ones.
    at.query_params.clear()
    at.query_params[f"{P}_model"] = "mlp"
    at.run()
    settings = _settings(at)
    assert (settings["dataset"], settings["model"], settings["view"]) == ("digits", "mlp", "filters")
    assert settings["batch"] == _recipe("digits", "mlp")["batch"]


@pytest.mark.parametrize(
    ("view", "key", "value", "label", "default"),
    [
        ("maps", "sample", "99999", "Test sample", 0),
        ("try", "try_start", "-3", "Start from test sample", 0),
        ("try", "try_source", "camera", "Input", "draw"),
    ],
)
def test_a_tampered_view_choice_is_a_note_once_the_run_draws_it(
    view: str, key: str, value: str, label: str, default: object
) -> None:
    fresh = _open({f"{P}_epochs": "1", f"{P}_view": view})
    _finish_a_run(fresh, errors=True)
    fresh.query_params[f"{P}_{key}"] = value  # a tampered link, opened once the run can draw the view
    fresh.run()
    assert not fresh.exception
    notes = _notes(fresh)
    assert len(notes) == 1 and f"'{label}'" in notes[0]
    widget = fresh.radio(key=f"{P}_{key}") if key == "try_source" else fresh.number_input(key=f"{P}_{key}")
    assert widget.value == default
    assert f"{P}_{key}" not in _link(fresh)
