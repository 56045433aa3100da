"""Train a small network and watch it learn: curves, filters, feature maps and mistakes; compare runs."""

from __future__ import annotations

import streamlit as st

from cnnviz.training.datasets import DATASETS
from cnnviz.training.models import MODEL_SPECS
from cnnviz.training.runs import shared_scheduler
from cnnviz.ui import page_header
from cnnviz.ui.training_compare import compare_view, keep_ended_run, load_view
from cnnviz.ui.training_inspect import prediction_view
from cnnviz.ui.training_view import (
    live_view,
    lr_control,
    remember_link,
    restore_link,
    run_buttons,
    session_key,
    settings_controls,
    view_selector,
)

PREFIX = "lt"

controls = page_header(
    "Live training",
    "Train a small network on the server and watch it learn: the loss falls, the filters take shape, "
    "and the confusion matrix fills its diagonal.",
)
restore_link(PREFIX)
with controls:
    settings = settings_controls(PREFIX)

scheduler = shared_scheduler()
key = session_key(PREFIX)

spec = MODEL_SPECS[settings.dataset][settings.model]
st.caption(
    f"Next run: **{spec.title}** on **{DATASETS[settings.dataset].title}**, {spec.params:,} parameters. "
    "Runs train on a shared CPU, at most two at a time, for at most two minutes. "
    "Your run keeps going while you visit other pages and stops when you close the tab."
)
st.caption(
    "**Share this view** (in the sidebar) links to these settings and the chosen view, ready to start: "
    "the run itself, kept runs and uploaded files stay in this session."
)

run_buttons(scheduler, key, settings, PREFIX)
lr_control(scheduler, key, PREFIX)
keep_ended_run(scheduler, key, PREFIX)
view = view_selector(PREFIX)
live_view(scheduler, key, PREFIX, view)
if view == "try":
    prediction_view(scheduler.get(key), PREFIX)
elif view == "compare":
    compare_view(PREFIX)
elif view == "load":
    load_view(scheduler, key, PREFIX)
remember_link(PREFIX)
