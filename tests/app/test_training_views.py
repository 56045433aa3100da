"""AppTest of the live-training page's views: feature maps, worst samples, trying the model on a drawing or a
picture, comparing kept runs, and loading a saved run; every bad input gives a message, never a traceback."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from cnnviz.training.datasets import load_dataset
from cnnviz.training.inputs import grid_from_input, grid_text, image_to_input, ink_text, parse_grid_text
from cnnviz.training.runs import RunStatus, TrainingRun, shared_scheduler
from tests.app.helpers import link_of
from tests.plotly_arrays import decode_array

PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "7_Live_training.py")
P = "lt"


@pytest.fixture
def at() -> Iterator[AppTest]:
    app = AppTest.from_file(PAGE, default_timeout=60)
    app.run()
    assert not app.exception
    yield app
    scheduler = shared_scheduler()
    runs = [scheduler.get(app.session_state[f"{P}_session"])] if f"{P}_session" in app.session_state else []
    scheduler.shutdown(timeout=10)
    for run in runs:
        if run is not None:
            assert run.join(10)


def _finished_run(
    at: AppTest, model: str = "convnet", dataset: str = "digits", epochs: int = 1
) -> TrainingRun:
    """Start a short run with the page's buttons and wait for it to finish."""
    at.selectbox(key=f"{P}_dataset").set_value(dataset).run()
    at.radio(key=f"{P}_model").set_value(model).run()
    at.number_input(key=f"{P}_epochs").set_value(epochs).run()
    at.button(key=f"{P}_start").click().run()
    assert not at.exception and not at.error
    run = shared_scheduler().get(at.session_state[f"{P}_session"])
    assert run is not None
    state = run.wait_for(lambda s: s.status.done, timeout=120)
    assert state.status is RunStatus.FINISHED, state.message
    at.run()
    assert not at.exception
    return run


def _view(at: AppTest, view: str) -> None:
    at.radio(key=f"{P}_view").set_value(view).run()
    assert not at.exception


def _charts(at: AppTest) -> dict[str, dict]:
    """The page's Plotly figures by title."""
    figures = [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]
    return {f["layout"].get("title", {}).get("text", ""): f for f in figures}


def _subtitle(figure: dict) -> str:
    """The first subplot title of a figure, or ''."""
    notes = figure["layout"].get("annotations") or [{}]
    return notes[0].get("text", "")


def _pad(at: AppTest) -> dict:
    """What the page hands the drawing pad (its data), or {} when it shows none."""
    pads = [e for e in at.get("bidi_component") if e.proto.component_name == "cnnviz_drawing_pad"]
    assert len(pads) <= 1
    return json.loads(pads[0].proto.json) if pads else {}


def _png(image: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()


def test_the_view_choice_lists_every_view_and_starts_on_filters(at: AppTest) -> None:
    view = at.radio(key=f"{P}_view")
    assert view.options == [
        "Filters and confusion",
        "Feature maps",
        "Worst samples",
        "Try it",
        "Compare runs",
        "Load a run",
    ]
    assert view.value == "filters"


def test_feature_maps_follow_the_chosen_test_sample(at: AppTest) -> None:
    run = _finished_run(at)
    _view(at, "maps")
    titles = [t for t in _charts(at) if t.startswith("layer")]
    assert len(titles) == 2 and titles[0].startswith("layer 0: Conv2d(1, 8") and "(16, 8, 8)" in titles[1]
    data = load_dataset("digits")
    at.number_input(key=f"{P}_sample").set_value(5).run()
    assert not at.exception
    assert f"test sample 5: {int(data.y_test[5])}" in [c.value for c in at.caption]
    expected = run.sample_view(5).feature_maps[0].values  # (8, 8, 8)
    z = decode_array(_charts(at)[titles[0]]["data"][0]["z"])
    assert np.allclose(z[:8, :8], expected[0], atol=1e-6)  # the mosaic's first tile is channel 0
    assert np.allclose(z[:8, 9:17], expected[1], atol=1e-6)  # one NaN column between tiles
    assert np.isnan(z[:8, 8]).all()


def test_an_mlp_has_no_feature_maps_and_says_so(at: AppTest) -> None:
    _finished_run(at, model="mlp")
    _view(at, "maps")
    assert any("no conv layers" in i.value for i in at.info)
    assert not [t for t in _charts(at) if t.startswith("layer")]


def test_worst_samples_show_true_and_predicted_class_and_confidence(at: AppTest) -> None:
    run = _finished_run(at)
    _view(at, "worst")
    charts = _charts(at)
    title = next(t for t in charts if t.startswith("The 8 worst test samples"))
    notes = [a["text"] for a in charts[title]["layout"]["annotations"]]
    snap = run.state().snapshot
    assert len(notes) == 8
    for note, worst in zip(notes, snap.worst, strict=True):
        assert note == f"#{worst.index}: {worst.label} → {worst.predicted} ({100 * worst.p_predicted:.0f} %)"
    losses = [w.loss for w in snap.worst]
    assert losses == sorted(losses, reverse=True)
    assert any("misclassified" in c.value for c in at.caption)


def test_try_it_predicts_the_drawing_and_refills_it_from_another_sample(at: AppTest) -> None:
    run = _finished_run(at)
    _view(at, "try")
    data = load_dataset("digits")
    grid = at.text_area(key=f"{P}_grid")
    assert grid.value == grid_text(data.x_test[0], (1, 8, 8))
    probs = run.predict(parse_grid_text(grid.value, (1, 8, 8)))
    best = int(np.argmax(probs))
    assert f"Prediction: {best} ({100 * probs[best]:.1f} %)" in _charts(at)

    at.number_input(key=f"{P}_try_start").set_value(3).run()
    assert at.text_area(key=f"{P}_grid").value == grid_text(data.x_test[3], (1, 8, 8))

    one = "...99...\n..999...\n...99...\n...99...\n...99...\n...99...\n...99...\n..9999..\n"
    at.text_area(key=f"{P}_grid").set_value(one).run()
    probs = run.predict(parse_grid_text(one, (1, 8, 8)))
    assert any(t.startswith(f"Prediction: {int(np.argmax(probs))} ") for t in _charts(at))
    assert not at.exception


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("........\n..99....\n", "needs 8 rows of 8 cells"),
        ("........\n" * 7 + ".......\n", "row 8 has 7 cells"),
        ("........\n" * 7 + "...x....\n", "row 8, column 4 holds 'x'"),
        ("........\n" * 7 + "...²....\n", "row 8, column 4 holds '²'"),  # isdigit() is True for it
    ],
)
def test_a_bad_drawing_is_an_error_and_no_prediction(at: AppTest, text: str, message: str) -> None:
    _finished_run(at)
    _view(at, "try")
    at.text_area(key=f"{P}_grid").set_value(text).run()
    assert at.error and message in at.error[0].value
    assert not any(t.startswith("Prediction") for t in _charts(at))
    assert not at.exception


def test_the_drawing_pad_shows_the_text_grids_cells_and_follows_its_edits(at: AppTest) -> None:
    _finished_run(at)
    _view(at, "try")
    sample = load_dataset("digits").x_test[0]
    pad = _pad(at)
    assert pad["rows"] == grid_from_input(sample, (1, 8, 8)).tolist()
    assert (pad["shape"], pad["ink"], pad["max_px"], pad["stroke"]) == ([8, 8], 9, 480, 0)
    one = "...99...\n..999...\n...99...\n...99...\n...99...\n...99...\n...99...\n..9999..\n"
    at.text_area(key=f"{P}_grid").set_value(one).run()
    assert ink_text(_pad(at)["rows"]) == one.strip()  # the pad redraws from the edited text
    at.text_area(key=f"{P}_grid").set_value("..9..").run()
    assert at.error and "needs 8 rows" in at.error[0].value
    assert _pad(at)["rows"] is None  # a text it cannot read: the pad keeps what it shows
    assert not at.exception


@pytest.mark.parametrize(
    "state",
    [
        {"drawing": {"rows": "junk", "stroke": "x"}},
        {"drawing": [[1e308] * 8] * 8},
        {"drawing": None},
        {"drawing": {"rows": [[0] * 8] * 8, "stroke": 10**30}},
    ],
)
def test_a_tampered_pad_state_in_the_session_breaks_nothing(at: AppTest, state: dict) -> None:
    _finished_run(at)
    _view(at, "try")
    text = at.text_area(key=f"{P}_grid").value
    at.session_state[f"{P}_pad"] = state
    at.run()
    assert not at.exception
    assert at.text_area(key=f"{P}_grid").value == text
    assert _pad(at)["stroke"] == 0  # no stroke number that makes sense goes back to the pad
    assert any(t.startswith("Prediction") for t in _charts(at))


def _pad_page() -> None:
    """The drawing half of Try it, and after a stroke (the test sets the pad's state as the browser would,
    and "stroke_ended") the pad's callback, which the browser's state change would have run."""
    import streamlit as st

    from cnnviz.ui import training_inspect

    if st.session_state.pop("stroke_ended", False):
        training_inspect._take_drawing("lt_pad", "lt_grid", (1, 8, 8))
    training_inspect._drawn_input("digits", (1, 8, 8), "lt")


def _stroke(app: AppTest, drawing: object) -> AppTest:
    app.session_state[f"{P}_pad"] = {"drawing": drawing}
    app.session_state["stroke_ended"] = True
    return app.run()


def test_a_stroke_becomes_the_text_grid_and_a_tampered_one_a_message() -> None:
    app = AppTest.from_function(_pad_page, default_timeout=30).run()
    sample_text = app.text_area(key=f"{P}_grid").value
    for drawing, message in [
        ({"rows": [[0] * 8] * 7, "stroke": 1}, "sent 7 rows; this model's grid is 8 rows of 8 cells"),
        ({"rows": [[0] * 7 + [1e308]] + [[0] * 8] * 7, "stroke": 2}, "row 1, column 8 holds 1e+308"),
        ({"rows": [["9"] * 8] * 8, "stroke": 3}, "is not a number (got str)"),
        ("rows", "not a drawing (got str)"),
    ]:
        _stroke(app, drawing)
        assert not app.exception
        assert app.error and message in app.error[0].value
        assert app.text_area(key=f"{P}_grid").value == sample_text  # left as it was
    grid = np.zeros((8, 8), dtype=np.int64)
    grid[1:7, 3:5] = 9
    grid[1:7, 2] = 4
    _stroke(app, {"rows": grid.tolist(), "stroke": 5})
    assert not app.exception and not app.error  # the message went with the bad stroke
    assert app.text_area(key=f"{P}_grid").value == ink_text(grid)
    assert _pad(app)["rows"] == grid.tolist() and _pad(app)["stroke"] == 5
    assert link_of(app)[f"{P}_grid"] == ink_text(grid)  # the drawing travels in the link
    shared = AppTest.from_function(_pad_page, default_timeout=30)
    shared.query_params[f"{P}_grid"] = ink_text(grid)
    shared.run()
    assert not shared.exception and _pad(shared)["rows"] == grid.tolist()  # and opens on the pad


def test_try_it_on_an_uploaded_picture_and_a_broken_file(at: AppTest) -> None:
    run = _finished_run(at)
    _view(at, "try")
    at.radio(key=f"{P}_try_source").set_value("upload").run()
    assert any("Upload a picture" in i.value for i in at.info)
    digit = load_dataset("digits").x_test[7][0]  # (8, 8) bright ink on black
    paper = (255 - np.kron(digit, np.ones((16, 16))) * 255).astype(np.uint8)  # dark ink on white, 128x128
    at.file_uploader(key=f"{P}_try_upload").set_value(
        ("seven.png", _png(np.stack([paper] * 3, -1)), "image/png")
    )
    at.run()
    assert not at.exception and not at.error
    probs = run.predict(load_dataset("digits").x_test[7])
    label = int(load_dataset("digits").y_test[7])
    title = next(t for t in _charts(at) if t.startswith("Prediction"))
    assert title.startswith(f"Prediction: {label} ") and int(np.argmax(probs)) == label

    at.radio(key=f"{P}_try_ink").set_value("light").run()  # taken as light ink: not inverted
    as_is = run.predict(image_to_input(np.stack([paper] * 3, -1), (1, 8, 8), invert=False))
    best = int(np.argmax(as_is))
    assert f"Prediction: {best} ({100 * as_is[best]:.1f} %)" in _charts(at)

    at.file_uploader(key=f"{P}_try_upload").set_value(("broken.png", b"not a picture at all", "image/png"))
    at.run()
    assert at.error and "broken.png" in at.error[0].value
    assert not at.exception


def test_try_it_without_a_run_asks_for_one(at: AppTest) -> None:
    _view(at, "try")
    assert any("Start a run" in i.value for i in at.info)
    assert not at.exception


def test_mnist1d_takes_a_drawn_signal_and_refuses_pictures(at: AppTest) -> None:
    run = _finished_run(at, dataset="mnist1d")
    _view(at, "try")
    values = ", ".join(["0.5"] * 40)
    at.text_area(key=f"{P}_grid").set_value(values).run()
    probs = run.predict(np.full((1, 40), 0.5, dtype=np.float32))
    assert any(t.startswith(f"Prediction: {int(np.argmax(probs))} ") for t in _charts(at))
    at.text_area(key=f"{P}_grid").set_value("1, 2, three").run()
    assert at.error and "numbers separated by commas" in at.error[0].value
    assert _pad(at) == {}  # a signal is typed, not drawn
    at.radio(key=f"{P}_try_source").set_value("upload").run()
    assert any("1-D signals" in i.value for i in at.info)
    assert not at.exception


def test_compare_keeps_ended_runs_overlays_them_and_forgets_them(at: AppTest) -> None:
    _view(at, "compare")
    assert any("Ended runs are kept here" in i.value for i in at.info)
    first = _finished_run(at, model="convnet")
    second = _finished_run(at, model="mlp")
    assert first.serial != second.serial
    charts = _charts(at)
    figure = next(
        f
        for f in charts.values()
        if f["layout"].get("annotations", [{}])[0].get("text") == "Test accuracy (%)"
    )
    names = [trace["name"] for trace in figure["data"] if trace.get("showlegend", True)]
    assert len(figure["data"]) == 4 and len(names) == 2
    assert names[0].startswith(f"#{first.serial} ConvNet") and names[1].startswith(f"#{second.serial} MLP")
    table = at.dataframe[0].value
    assert list(table["parameters"]) == [3818, 105854]
    assert list(table["test acc %"]) == [
        round(100 * r.state().metrics[-1].test_acc, 1) for r in (first, second)
    ]
    at.button(key=f"{P}_forget").click().run()
    assert any("Ended runs are kept here" in i.value for i in at.info)
    assert not at.exception


def test_load_a_saved_run_waits_paused_and_a_bad_file_is_an_error(at: AppTest) -> None:
    run = _finished_run(at)
    saved, step = run.save(), run.state().step
    _view(at, "load")
    assert at.button(key=f"{P}_load").disabled
    assert any("at most 25 MB" in c.value for c in at.caption)  # the upload limit, and what load_run takes

    at.file_uploader(key=f"{P}_run_file").set_value(("junk.pt", b"junk" * 100, "application/octet-stream"))
    at.run()
    at.button(key=f"{P}_load").click().run()
    assert at.error and "not a saved cnnviz training run" in at.error[0].value
    assert shared_scheduler().get(at.session_state[f"{P}_session"]) is run  # nothing replaced

    at.file_uploader(key=f"{P}_run_file").set_value(("run.pt", saved, "application/octet-stream"))
    at.run()
    at.button(key=f"{P}_load").click().run()
    assert not at.exception and not at.error
    loaded = shared_scheduler().get(at.session_state[f"{P}_session"])
    assert loaded is not run and loaded.config == run.config
    state = loaded.wait_for(lambda s: s.status.done or s.snapshot is not None, timeout=30)
    # A run saved at its last epoch has nothing left to train: it ends at once, its numbers intact.
    assert state.step == step and state.metrics == run.state().metrics
    assert state.status in (RunStatus.PAUSED, RunStatus.FINISHED)


def test_a_failed_runs_message_is_shown_as_text(at: AppTest) -> None:
    """A run's failure message can quote a loaded file (a key, a value): it must not become a link."""
    from cnnviz.training.trainer import recommended_config
    from tests.app.helpers import live_markdown

    key = at.session_state[f"{P}_session"]
    run = TrainingRun(recommended_config("digits", "convnet"), name=key)
    run._end(RunStatus.FAILED, "damaged ([click](http://www.example.com) ![x](https://example.com/a.png))")
    scheduler = shared_scheduler()
    with scheduler._lock:
        scheduler._runs[key] = run  # as if its worker had failed
    at.run()
    assert not at.exception
    (error,) = [e.value for e in at.error if "damaged" in e.value]
    assert "example.com" in error and not live_markdown(error), error
