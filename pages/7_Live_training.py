"""Train a small network and watch it learn: curves, filters, feature maps and mistakes; compare runs."""

from __future__ import annotations

import streamlit as st

from cnnviz.ui import page_header
from cnnviz.ui.training_compare import compare_view, keep_ended_run, load_view
from cnnviz.ui.training_inspect import prediction_view
from cnnviz.ui.training_view import (
    live_view,
    lr_control,
    next_run_caption,
    remember_link,
    restore_link,
    run_buttons,
    scheduler,
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

runs = scheduler()
key = session_key(PREFIX)

next_run_caption(settings, runs)
st.caption(
    "**Share this view** (in the sidebar) links to these settings and the chosen view, ready to start: "
    "the run itself, kept runs and uploaded files stay in this session."
)

run_buttons(runs, key, settings, PREFIX)
lr_control(runs, key, PREFIX)
keep_ended_run(runs, key, PREFIX)
view = view_selector(PREFIX)
live_view(runs, key, PREFIX, view)
if view == "try":
    prediction_view(runs.get(key), PREFIX)
elif view == "compare":
    compare_view(PREFIX)
elif view == "load":
    load_view(runs, key, PREFIX)
remember_link(PREFIX)
