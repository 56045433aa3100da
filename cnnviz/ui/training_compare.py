"""Keep the session's ended runs to compare their curves, and load a saved run to inspect or continue it.

Kept runs are `RunRecord`s (plain numbers, no model) in `st.session_state`, so they go when the session
goes. A loaded run replaces the session's run and starts paused: Resume continues training, the views
inspect it as it was saved.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from cnnviz.plots.training import compare_figure
from cnnviz.training.compare import RunRecord, comparison_rows, record_run
from cnnviz.training.runs import RunScheduler
from cnnviz.training.trainer import MAX_RUN_BYTES, TrainingError, load_run
from cnnviz.ui.layout import show_error
from cnnviz.ui.presentation import chart, table
from cnnviz.ui.training_session import session_liveness

__all__ = ["MAX_KEPT", "compare_view", "keep_ended_run", "kept_runs", "load_view"]

MAX_KEPT = 8  # runs kept per session for comparison; the oldest goes first
_PLOT_CONFIG = {"displayModeBar": False}


def kept_runs(prefix: str) -> list[RunRecord]:
    """This session's kept runs, oldest first."""
    return list(st.session_state.get(f"{prefix}_kept", {}).values())


def keep_ended_run(scheduler: RunScheduler, key: str, prefix: str) -> None:
    """Add the session's run to the kept runs once it has ended with at least one point on its curves."""
    run = scheduler.get(key)
    if run is None:
        return
    state = run.state()
    kept: dict[int, RunRecord] = st.session_state.setdefault(f"{prefix}_kept", {})
    seen: set[int] = st.session_state.setdefault(f"{prefix}_kept_seen", set())  # survives "forget"
    if not state.status.done or not state.metrics or run.serial in seen:
        return
    seen.add(run.serial)
    kept[run.serial] = record_run(
        run.serial, state.config, state.metrics, state.step, state.status.value, state.elapsed
    )
    while len(kept) > MAX_KEPT:
        kept.pop(next(iter(kept)))


def _forget(prefix: str) -> None:
    st.session_state[f"{prefix}_kept"] = {}


def compare_view(prefix: str) -> None:
    """The kept runs' test curves overlaid, and a table of settings, parameters, accuracies and time."""
    records = kept_runs(prefix)
    if not records:
        st.info(
            "Ended runs are kept here to compare. Try an MLP against the conv net, shuffled pixels against "
            "plain ones, or two learning rates: start a run, let it finish (or stop it), start the next.",
            icon=":material/compare_arrows:",
        )
        return
    fig = compare_figure([(r.label, r.metrics) for r in records])
    chart(fig, key=f"{prefix}_compare", config=_PLOT_CONFIG)
    table(pd.DataFrame(comparison_rows(records)), hide_index=True, key=f"{prefix}_compare_table")
    st.button("Forget these runs", key=f"{prefix}_forget", on_click=_forget, args=(prefix,))


def load_view(scheduler: RunScheduler, key: str, prefix: str) -> None:
    """Upload a run saved with the download button; it replaces this session's run, paused."""
    st.caption(
        "A file from **Download the trained model** holds the weights, the optimizer's state, the curves "
        f"and the settings (at most {MAX_RUN_BYTES // 2**20} MB). Loading it replaces your current run; it "
        "waits paused, so you can inspect it, or press Resume to train on. A run does not travel in a link: "
        "share the file instead."
    )
    uploaded = st.file_uploader("A saved run (.pt)", type=["pt"], key=f"{prefix}_run_file")
    if not st.button(
        "Load the run", key=f"{prefix}_load", disabled=uploaded is None, icon=":material/upload:"
    ):
        return
    if uploaded is None:
        return
    try:
        trainer = load_run(uploaded.getvalue())
        scheduler.submit(key, trainer.config, trainer=trainer, alive=session_liveness(), paused=True)
    except TrainingError as exc:
        show_error(exc)
        return
    st.rerun()
