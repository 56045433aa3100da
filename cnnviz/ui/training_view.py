"""Widgets for the live-training page: settings, run buttons, and a timed fragment that draws the run.

The run itself lives in the process-wide `RunScheduler` under this session's key (a uuid kept in
`st.session_state`), so it survives reruns and page switches. Nothing here trains: a worker process does,
and the fragment only polls `RunState` copies and draws them.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import streamlit as st

from cnnviz.plots.training import accuracy_figure, confusion_figure, filters_figure, loss_figure
from cnnviz.training.datasets import DATASETS
from cnnviz.training.models import MODEL_SPECS, model_names
from cnnviz.training.runs import RunScheduler, RunState, RunStatus, TrainingRun, shared_scheduler
from cnnviz.training.trainer import OPTIMIZERS, TrainConfig, TrainingError, recommended_config
from cnnviz.ui.layout import show_error
from cnnviz.ui.messages import escape_markdown
from cnnviz.ui.presentation import chart, is_presenting
from cnnviz.ui.training_inspect import cached_figure, feature_maps_view, worst_samples_view
from cnnviz.ui.training_session import session_liveness
from cnnviz.ui.url_state import refresh_link, url

if TYPE_CHECKING:
    import plotly.graph_objects as go

__all__ = [
    "LIVE_VIEWS",
    "VIEWS",
    "LiveSettings",
    "capacity_text",
    "lr_control",
    "live_view",
    "next_run_caption",
    "remember_link",
    "restore_link",
    "run_buttons",
    "scheduler",
    "session_key",
    "settings_controls",
    "status_text",
    "view_selector",
]

# Also record test metrics every this many steps, so the curves move within an epoch.
EVAL_EVERY = 20
VIEWS: dict[str, str] = {
    "filters": "Filters and confusion",
    "maps": "Feature maps",
    "worst": "Worst samples",
    "try": "Try it",
    "compare": "Compare runs",
    "load": "Load a run",
}
LIVE_VIEWS = ("filters", "maps", "worst")  # drawn in the timed fragment, from the run's snapshots
_PLOT_CONFIG = {"displayModeBar": False}


def scheduler() -> RunScheduler:
    """The server's scheduler: every session's runs, one training per core."""
    return shared_scheduler()


def capacity_text(runs: RunScheduler) -> str:
    """How many runs this server trains at once, and how many train and wait now."""
    active, waiting = runs.counts()
    n = runs.capacity
    return (
        f"This server trains **{n} run{'s' if n != 1 else ''} at once** (one per core); "
        f"now {active} training, {waiting} waiting."
    )


def next_run_caption(settings: LiveSettings, runs: RunScheduler) -> None:
    """What Start will train, and how the server shares its cores."""
    spec = MODEL_SPECS[settings.dataset][settings.model]
    st.caption(
        f"Next run: **{spec.title}** on **{DATASETS[settings.dataset].title}**, {spec.params:,} parameters. "
        f"{capacity_text(runs)} A run trains for at most two minutes, keeps going while you visit other "
        "pages and stops when you close the tab."
    )


def session_key(prefix: str) -> str:
    """This browser session's run key: a uuid made once and kept in `st.session_state`."""
    name = f"{prefix}_session"
    if name not in st.session_state:
        st.session_state[name] = uuid.uuid4().hex
    return st.session_state[name]


def _link_name(prefix: str) -> str:
    """Session key of the page's last link values."""
    return f"{prefix}_link"


def restore_link(prefix: str) -> None:
    """Coming back to the page through a plain page link (no settings in it): put this session's last
    settings back into the link, so the kept settings stay (a link with any of them wins)."""
    kept: dict[str, str] = st.session_state.get(_link_name(prefix), {})
    if kept and not any(name.startswith(f"{prefix}_") for name in st.query_params):
        for name, value in kept.items():
            st.query_params[name] = value
        refresh_link()


def remember_link(prefix: str) -> None:
    """Note the page's part of the link (cheap: a few short strings), for `restore_link`."""
    st.session_state[_link_name(prefix)] = {
        name: st.query_params[name] for name in st.query_params if name.startswith(f"{prefix}_")
    }


@dataclass(frozen=True)
class LiveSettings:
    """The sidebar's raw values; `config()` validates them (TrainingError names the bad field)."""

    dataset: str
    model: str
    permute_pixels: bool
    optimizer: str
    lr: float
    batch_size: int
    epochs: int
    seed: int

    def config(self) -> TrainConfig:
        return TrainConfig(
            dataset=self.dataset,
            model=self.model,
            permute_pixels=self.permute_pixels,
            optimizer=self.optimizer,
            lr=float(self.lr),
            batch_size=int(self.batch_size),
            epochs=int(self.epochs),
            seed=int(self.seed),
            eval_every=EVAL_EVERY,
        )


_DEFAULT_DATASET = "digits"
_DEFAULT_MODEL = "convnet"  # else the data set's last model
_RECIPE_KEYS = ("optimizer", "lr", "batch", "epochs")  # what choosing a data set or model loads


def _default_model(models: list[str]) -> str:
    """The model a data set opens with when nothing chose one."""
    return _DEFAULT_MODEL if _DEFAULT_MODEL in models else models[-1]


# Short runs for a class: a recipe's epochs are capped at 20, except the paper recipe's, which runs whole
# (40 epochs, under 10 s) to reach the paper's 94 %.
PAGE_EPOCHS = 20
_WHOLE_RECIPES = {("mnist1d", "cnn")}


def _recipe_values(dataset: str, model: str) -> dict[str, Any]:
    """The recommended recipe for `dataset` and `model`, by widget name (short runs: see PAGE_EPOCHS)."""
    recipe = recommended_config(dataset, model)
    epochs = recipe.epochs if (dataset, model) in _WHOLE_RECIPES else min(recipe.epochs, PAGE_EPOCHS)
    return {"optimizer": recipe.optimizer, "lr": recipe.lr, "batch": recipe.batch_size, "epochs": epochs}


def _load_recipe(prefix: str, dataset: str, model: str, keep: tuple[str, ...] = ()) -> None:
    """Put the recipe into the settings widgets (except `keep`) and remember which one is loaded."""
    for name, value in _recipe_values(dataset, model).items():
        if f"{prefix}_{name}" not in keep:
            st.session_state[f"{prefix}_{name}"] = value
    st.session_state[f"{prefix}_recipe"] = (dataset, model)


def _recommended(prefix: str) -> None:
    """Put the recommended recipe for the chosen data set and model into the settings widgets."""
    dataset = st.session_state[f"{prefix}_dataset"]
    models = model_names(dataset)
    model = st.session_state.get(f"{prefix}_model")
    if model not in models:
        model = models[-1]
        st.session_state[f"{prefix}_model"] = model
    _load_recipe(prefix, dataset, model)


def settings_controls(prefix: str) -> LiveSettings:
    """Data set, model, pixel shuffle, optimizer, learning rate, batch size, epochs and seed, in the link.

    The recipe's values are the defaults, so a link names only what differs from the recommended
    settings. A link that picks the data set or model loads its recipe as choosing it by hand does,
    except for the values the link sets itself."""
    names = list(DATASETS)
    dataset = url.selectbox(
        "Data set",
        names,
        index=names.index(_DEFAULT_DATASET),
        format_func=lambda name: DATASETS[name].title,
        key=f"{prefix}_dataset",
        persist_state="session",
        on_change=_recommended,
        args=(prefix,),
    )
    st.caption(DATASETS[dataset].description)
    models = model_names(dataset)
    model = url.radio(
        "Model",
        models,
        index=models.index(_default_model(models)),
        format_func=lambda name: MODEL_SPECS[dataset][name].title,
        key=f"{prefix}_model",
        persist_state="session",
        horizontal=True,
        on_change=_recommended,
        args=(prefix,),
    )
    st.caption(MODEL_SPECS[dataset][model].description)
    if st.session_state.get(f"{prefix}_recipe") != (dataset, model):  # a link chose them, or a first visit
        _load_recipe(prefix, dataset, model, keep=tuple(st.query_params))
    recipe = _recipe_values(dataset, model)
    permute = url.toggle(
        "Shuffle the pixels",
        key=f"{prefix}_permute",
        persist_state="session",
        help="The same fixed shuffle for every image: an MLP does not care, a conv net loses its edge.",
    )
    optimizer = url.selectbox(
        "Optimizer",
        OPTIMIZERS,
        index=OPTIMIZERS.index(recipe["optimizer"]),
        key=f"{prefix}_optimizer",
        persist_state="session",
    )
    lr = url.number_input(
        "Learning rate",
        min_value=0.0,
        max_value=100.0,
        value=float(recipe["lr"]),
        step=1e-3,
        format="%g",
        key=f"{prefix}_lr",
        persist_state="session",
    )
    batch = url.number_input(
        "Batch size",
        min_value=1,
        max_value=4096,
        value=int(recipe["batch"]),
        step=16,
        key=f"{prefix}_batch",
        persist_state="session",
    )
    epochs = url.number_input(
        "Epochs",
        min_value=1,
        max_value=200,
        value=int(recipe["epochs"]),
        step=1,
        key=f"{prefix}_epochs",
        persist_state="session",
    )
    seed = url.number_input(
        "Seed",
        min_value=0,
        max_value=2**31 - 1,
        value=0,
        step=1,
        key=f"{prefix}_seed",
        persist_state="session",
    )
    st.caption("Start applies these settings to a new run; a running run keeps its own.")
    return LiveSettings(dataset, model, bool(permute), optimizer, lr, batch, epochs, seed)


def status_text(state: RunState | None, capacity: int | None = None) -> str:
    """One line for people: what the run is doing, how far it is, and its place in the queue."""
    if state is None:
        return "No run yet: choose the settings in the sidebar and press **Start**."
    if state.status is RunStatus.QUEUED:
        where = f"number {state.queue_position} in the queue" if state.queue_position else "waiting to start"
        held = f"this server trains {capacity} runs at once, " if capacity else ""
        return f"**Queued**: {where}. Other people's runs are training: {held}yours starts when one ends."
    progress = f"step {state.step}"
    if state.total_steps:
        progress += f" of {state.total_steps}"
    progress += f" · epoch {state.epoch:.2f} · {state.elapsed:.0f} s · learning rate {state.lr:g}"
    return f"**{state.status.value.capitalize()}** ({state.message}): {progress}"


_NOT_NOW = {
    "pause": "The run is not training, so there is nothing to pause.",
    "resume": "The run is not paused.",
    "step": "The run has ended: start a new one to take more steps.",
}


def _press(scheduler: RunScheduler, key: str, settings: LiveSettings, prefix: str, action: str) -> None:
    """A run button's callback: it runs before the page's rerun, so that one rerun shows the new status
    (a click costs one script run, not two). A message to show is kept for the rerun."""
    run = scheduler.get(key)
    st.session_state[f"{prefix}_hold_charts"] = action != "start"
    try:
        if action == "start":
            scheduler.submit(key, settings.config(), alive=session_liveness())
        elif run is None:
            return
        elif action == "stop":
            run.stop()
        elif not getattr(run, action)():
            st.session_state[f"{prefix}_note"] = _NOT_NOW[action]
    except TrainingError as exc:
        st.session_state[f"{prefix}_note"] = exc


def run_buttons(scheduler: RunScheduler, key: str, settings: LiveSettings, prefix: str) -> None:
    """Start / Pause / Resume / Step / Stop for this session's run; errors are shown, not raised."""
    run = scheduler.get(key)
    status = run.status if run is not None else None
    live = status is not None and not status.done
    cols = st.columns(5)
    buttons = (
        ("start", "Start", False, ":material/play_arrow:", None),
        ("pause", "Pause", status is not RunStatus.RUNNING, ":material/pause:", None),
        ("resume", "Resume", status is not RunStatus.PAUSED, ":material/resume:", None),
        (
            "step",
            "Step",
            status not in (RunStatus.RUNNING, RunStatus.PAUSED),
            ":material/skip_next:",
            "Pause and take exactly one minibatch step.",
        ),
        ("stop", "Stop", not live, ":material/stop:", None),
    )
    for col, (action, label, disabled, icon, help_text) in zip(cols, buttons, strict=True):
        col.button(
            label,
            key=f"{prefix}_{action}",
            type="primary" if action == "start" else "secondary",
            disabled=disabled,
            icon=icon,
            help=help_text,
            on_click=_press,
            args=(scheduler, key, settings, prefix, action),
        )
    note = st.session_state.pop(f"{prefix}_note", None)
    if isinstance(note, TrainingError):
        show_error(note)
    elif note:
        st.info(note)


def lr_control(scheduler: RunScheduler, key: str, prefix: str) -> None:
    """Change the learning rate of the run while it trains (it applies before the next step)."""
    run = scheduler.get(key)
    if run is None or run.status.done:
        return
    left, right = st.columns([2, 1], vertical_alignment="bottom")
    new_lr = left.number_input(
        "Change the learning rate now",
        min_value=0.0,
        max_value=100.0,
        value=float(run.state().lr),
        step=1e-3,
        format="%g",
        key=f"{prefix}_new_lr",
        help="The schedule still scales it: cosine decay multiplies this base rate.",
    )
    if right.button("Apply", key=f"{prefix}_apply_lr"):
        try:
            run.set_lr(new_lr)
        except TrainingError as exc:
            show_error(exc)
        else:
            st.toast(f"Learning rate set to {new_lr:g}")


def view_selector(prefix: str) -> str:
    """Which picture of the run to show under the curves (the live ones redraw while it trains)."""
    return url.radio(
        "Look at",
        list(VIEWS),
        format_func=VIEWS.get,
        horizontal=True,
        key=f"{prefix}_view",
        persist_state="session",
        help="Filters, feature maps and worst samples follow the run live; the others are drawn on demand.",
    )


# Seconds between two drawings of a chart while the run trains (the status and numbers: every second).
CURVES_EVERY = 2.0
SNAPSHOT_CHART_EVERY = 3.0  # the filters and the confusion matrix


def _live_chart(
    prefix: str,
    name: str,
    build: Callable[[], go.Figure],
    where: Any,
    hold: bool,
    every: float = 0.0,
    of: tuple = (),
) -> None:
    """Chart `{prefix}_{name}`: the figure it showed last with `hold`, or if that is under `every` seconds
    old, when it was drawn for the same `of` (the run, the layout); else a new one from `build`.

    The browser draws a Plotly chart whose figure changed from scratch (80-150 ms for a heatmap), before
    it paints anything else of that rerun. Held figures let the rerun of a button press paint its new
    status at once, even when the renderer is starved of CPU, and `every` keeps the timed redraws light."""
    shown: dict[str, tuple[go.Figure, float, tuple]] = st.session_state.setdefault(
        f"{prefix}_shown_figures", {}
    )
    now = time.monotonic()
    last = shown.get(name)
    if last is not None and last[2] == of and (hold or now - last[1] < every):
        fig = last[0]
    else:
        fig = build()
        shown[name] = (fig, now, of)
    chart(fig, where=where, key=f"{prefix}_{name}", config=_PLOT_CONFIG)


def _draw(state: RunState, run: TrainingRun, prefix: str, view: str, capacity: int, hold: bool) -> None:
    with st.container(key=f"{prefix}_status"):
        st.markdown(status_text(state, capacity))
        st.caption(f"{len(state.metrics)} points on the curves")
    if state.total_steps:
        st.progress(min(1.0, state.step / state.total_steps))
    if state.status is RunStatus.FAILED:
        st.error(escape_markdown(state.message), icon=":material/error:")  # may quote a loaded file
    if state.metrics:
        last = state.metrics[-1]
        m1, m2, m3, m4 = st.columns(4)
        m1.metric("train loss", f"{last.train_loss:.4f}")
        m2.metric("test loss", f"{last.test_loss:.4f}")
        m3.metric("train accuracy", f"{100 * last.train_acc:.1f} %")
        m4.metric("test accuracy", f"{100 * last.test_acc:.1f} %")
        left, right = st.columns(2)
        curves_every = CURVES_EVERY if state.status is RunStatus.RUNNING else 0.0
        of = (run.serial,)
        _live_chart(prefix, "loss", lambda: loss_figure(state.metrics), left, hold, curves_every, of)
        _live_chart(prefix, "acc", lambda: accuracy_figure(state.metrics), right, hold, curves_every, of)
    elif not state.status.done:
        st.caption(f"The curves appear after the first evaluation (every {EVAL_EVERY} steps).")
    snap = state.snapshot
    every = SNAPSHOT_CHART_EVERY if state.status is RunStatus.RUNNING else 0.0
    if view == "maps":
        feature_maps_view(run, state, prefix)
    elif view == "worst":
        worst_samples_view(run, state, prefix)
    elif view == "filters" and snap is not None:
        big = is_presenting()
        # On a projector the filters take the whole width (each one large enough to see from the back),
        # the confusion matrix goes under them.
        left, right = (st.container(), st.columns(2)[0]) if big else st.columns([3, 2])
        _live_chart(
            prefix,
            "filters",
            lambda: cached_figure(
                prefix,
                ("filters", run.serial, snap.step, big),
                lambda: filters_figure(
                    snap.filters, f"First-layer filters at step {snap.step}", cell_px=150 if big else 110
                ),
            ),
            left,
            hold,
            every,
            (run.serial, big),
        )
        left.caption(
            f"`{snap.filters_layer}`: weights of input channel 0, zero in the middle of the colour scale."
        )
        _live_chart(
            prefix,
            "confusion",
            lambda: confusion_figure(snap.confusion, DATASETS[state.config.dataset].class_names),
            right,
            hold,
            every,
            (run.serial,),
        )
    if state.step > 0 and state.status is not RunStatus.QUEUED:
        st.download_button(
            "Download the trained model",
            data=run.save,
            file_name=f"cnnviz-{state.config.dataset}-{state.config.model}-step{state.step}.pt",
            mime="application/octet-stream",
            on_click="ignore",
            key=f"{prefix}_download",
            icon=":material/download:",
            help="The whole run (weights, optimizer, metrics) for cnnviz.training.trainer.load_run.",
        )


def live_view(scheduler: RunScheduler, key: str, prefix: str, view: str, every: float = 1.0) -> None:
    """The session's run, redrawn every `every` seconds by a fragment while the run is queued, training or
    paused (only the fragment reruns); an ended run is drawn once.

    Once a second, not faster: the browser draws every changed chart afresh (Streamlit remounts a Plotly
    chart whose figure changed), 40-150 ms each on a free core, so at two redraws a second the tab's
    main thread was busy 60% of the time and, with the cores taken by training, a click on Pause waited
    seconds for it. A button's own rerun still shows its effect at once."""
    shown: dict[str, Any] = {"status": None}
    run = scheduler.get(key)
    if run is not None:
        shown["status"] = run.status
    live = run is not None and not run.status.done
    if run is not None and run.status is RunStatus.PAUSED:
        every = max(every, 2.0)  # nothing moves but a time limit or the snapshot after a step
    elif run is not None and (run.status is RunStatus.QUEUED or run.state().total_steps is None):
        every = max(every, 1.0)  # waiting or loading the data: leave the CPU to that

    @st.fragment(run_every=every if live else None)
    def _live() -> None:
        run = scheduler.get(key)
        state = run.state() if run is not None else None
        if run is None or state is None:
            st.markdown(status_text(None))
            return
        if state.status is not shown["status"] and shown["status"] is not None:
            # The buttons above show the status of the last full run: refresh them when it changes.
            shown["status"] = state.status
            st.rerun(scope="app")
        hold = st.session_state.pop(f"{prefix}_hold_charts", False)  # only in the rerun of a button press
        _draw(state, run, prefix, view if view in LIVE_VIEWS else "", scheduler.capacity, hold)
        remember_link(prefix)  # the test sample is chosen in here

    _live()
