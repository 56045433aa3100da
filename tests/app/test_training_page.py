"""AppTest of the live-training page: start a tiny run, drive it with the buttons, leave no thread."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from cnnviz.training.runs import RunState, RunStatus, TrainingRun, shared_scheduler
from cnnviz.training.trainer import recommended_config

PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "7_Live_training.py")
P = "lt"


@pytest.fixture
def at() -> Iterator[AppTest]:
    app = AppTest.from_file(PAGE, default_timeout=60)
    app.run()
    assert not app.exception
    yield app
    key = app.session_state[f"{P}_session"] if f"{P}_session" in app.session_state else None
    scheduler = shared_scheduler()
    run = scheduler.get(key) if key else None
    scheduler.shutdown(timeout=10)
    if run is not None and run.thread is not None:
        run.thread.join(10)
        assert not run.thread.is_alive()


def _settings(at: AppTest, epochs: int = 1, **numbers: object) -> None:
    at.selectbox(key=f"{P}_dataset").set_value("digits")
    at.radio(key=f"{P}_model").set_value("convnet")
    at.number_input(key=f"{P}_epochs").set_value(epochs)
    for name, value in numbers.items():
        at.number_input(key=f"{P}_{name}").set_value(value)
    at.run()


def _run(at: AppTest) -> TrainingRun:
    run = shared_scheduler().get(at.session_state[f"{P}_session"])
    assert run is not None
    return run


def _click(at: AppTest, name: str) -> None:
    at.button(key=f"{P}_{name}").click()
    at.run()
    assert not at.exception


def _wait(run: TrainingRun, predicate, timeout: float = 30.0) -> RunState:
    state = run.wait_for(predicate, timeout)
    assert predicate(state), f"timed out: {state.status} {state.message} step {state.step}"
    return state


def _markdown(at: AppTest) -> str:
    return "\n".join(m.value for m in at.markdown)


def _charts(at: AppTest) -> list[dict]:
    return [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]


def test_page_loads_with_settings_and_no_run(at: AppTest) -> None:
    assert not at.error
    assert [b.label for b in at.button] == ["Start", "Pause", "Resume", "Step", "Stop"]
    assert at.button(key=f"{P}_pause").disabled and at.button(key=f"{P}_stop").disabled
    assert "No run yet" in _markdown(at)
    assert at.number_input(key=f"{P}_lr").value == pytest.approx(1e-2)  # the digits conv net's recipe


def test_choosing_a_model_loads_its_recommended_settings(at: AppTest) -> None:
    at.radio(key=f"{P}_model").set_value("mlp").run()
    assert at.number_input(key=f"{P}_lr").value == pytest.approx(3e-3)
    assert at.number_input(key=f"{P}_batch").value == 64
    at.selectbox(key=f"{P}_dataset").set_value("mnist1d").run()
    assert at.selectbox(key=f"{P}_optimizer").value == "adam"
    assert not at.exception


def test_the_paper_cnn_loads_its_whole_recipe_the_others_a_short_one(at: AppTest) -> None:
    at.selectbox(key=f"{P}_dataset").set_value("mnist1d").run()
    assert at.radio(key=f"{P}_model").options == ["MLP", "ConvNet", "Paper CNN"]
    assert at.number_input(key=f"{P}_epochs").value == 20  # the lecture conv net's 30, capped for a class
    at.radio(key=f"{P}_model").set_value("cnn").run()
    paper = recommended_config("mnist1d", "cnn")
    assert at.number_input(key=f"{P}_epochs").value == paper.epochs == 40  # whole: it reaches 94 %
    assert at.number_input(key=f"{P}_lr").value == pytest.approx(paper.lr)
    assert at.selectbox(key=f"{P}_optimizer").value == "sgd"
    assert any("5,210 parameters" in c.value for c in at.caption)
    assert not at.exception


def test_start_trains_and_draws_curves_filters_and_confusion(at: AppTest) -> None:
    _settings(at, epochs=1)
    _click(at, "start")
    run = _run(at)
    assert run.config.epochs == 1 and run.config.dataset == "digits"
    state = _wait(run, lambda s: s.status.done, timeout=60)
    assert state.status is RunStatus.FINISHED, state.message
    assert state.metrics and state.snapshot is not None
    at.run()
    assert not at.exception and not at.error
    charts = _charts(at)
    assert len(charts) == 4  # loss, accuracy, filters, confusion
    titles = [c["layout"]["title"]["text"] for c in charts]
    assert titles[0].startswith("Loss") and titles[1] == "Accuracy"
    assert titles[2].startswith("First-layer filters") and titles[3].startswith("Confusion")
    assert "Finished" in _markdown(at)
    assert at.get("download_button")
    assert run.save()[:2] == b"PK"  # torch.save's zip container


def test_pause_step_resume_stop_change_the_status(at: AppTest) -> None:
    _settings(at, epochs=50)
    _click(at, "start")
    run = _run(at)
    _wait(run, lambda s: s.total_steps is not None and s.step > 0)
    at.run()
    assert not at.button(key=f"{P}_pause").disabled

    _click(at, "pause")
    assert run.status is RunStatus.PAUSED
    assert "Paused" in _markdown(at)
    before = run.state().step
    _click(at, "step")
    assert run.status is RunStatus.PAUSED
    assert run.state().step == before + 1

    _click(at, "resume")
    assert run.status is RunStatus.RUNNING
    _wait(run, lambda s: s.step > before + 1)

    _click(at, "stop")
    assert run.status is RunStatus.STOPPED
    assert run.thread is not None
    run.thread.join(10)
    assert not run.thread.is_alive()
    assert "Stopped" in _markdown(at)
    assert at.button(key=f"{P}_stop").disabled


def test_learning_rate_changes_mid_run_and_a_bad_one_is_an_error(at: AppTest) -> None:
    _settings(at, epochs=50)
    _click(at, "start")
    run = _run(at)
    _click(at, "pause")
    at.number_input(key=f"{P}_new_lr").set_value(0.005)
    _click(at, "apply_lr")
    assert run.state().lr == pytest.approx(0.005)
    assert not at.error

    at.number_input(key=f"{P}_new_lr").set_value(0.0)
    _click(at, "apply_lr")
    assert at.error and "learning rate" in at.error[0].value
    assert run.state().lr == pytest.approx(0.005)
    _click(at, "stop")
    assert run.join(10)


def test_a_bad_setting_shows_an_error_and_starts_nothing(at: AppTest) -> None:
    _settings(at, epochs=1, lr=0.0)
    _click(at, "start")
    assert at.error and "learning rate" in at.error[0].value
    assert shared_scheduler().get(at.session_state[f"{P}_session"]) is None


def test_the_run_survives_a_rerun_and_a_new_start_replaces_it(at: AppTest) -> None:
    _settings(at, epochs=50)
    _click(at, "start")
    first = _run(at)
    key = at.session_state[f"{P}_session"]
    at.run()
    at.run()
    assert _run(at) is first and at.session_state[f"{P}_session"] == key
    _click(at, "start")
    second = _run(at)
    assert second is not first
    assert first.status is RunStatus.STOPPED and first.join(10)
    assert _wait(second, lambda s: s.step > 0).step > 0  # the new run trains
    _click(at, "stop")
    assert second.join(10)


def test_presentation_mode_restyles_the_live_figures(at: AppTest) -> None:
    from cnnviz.ui.presentation import MIN_FONT

    _settings(at, epochs=1)
    _click(at, "start")
    state = _wait(_run(at), lambda s: s.status.done, timeout=60)
    assert state.status is RunStatus.FINISHED, state.message
    at.run()
    plain = _charts(at)
    at.toggle(key="present").set_value(True).run()
    assert not at.exception
    shown = _charts(at)
    assert len(shown) == len(plain) == 4
    for before, after in zip(plain, shown, strict=True):
        assert after["layout"]["font"]["size"] >= MIN_FONT > before["layout"].get("font", {}).get("size", 12)
