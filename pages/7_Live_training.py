"""Train a small network and watch it learn: curves, filters, feature maps and mistakes; compare runs."""

from __future__ import annotations

import streamlit as st

from cnnviz.ui import page_header, training_compare, training_inspect, training_view

PREFIX = "lt"

controls = page_header(
    "Live training",
    "Train a small network on the server and watch it learn: the loss falls, the filters take shape, "
    "and the confusion matrix fills its diagonal.",
)
training_view.restore_link(PREFIX)
with controls:
    settings = training_view.settings_controls(PREFIX)
# The run's status and curves come first, right under the title; the buttons and views follow them.
main_figure = st.container(key="cnnviz-main-figure")

runs = training_view.scheduler()
key = training_view.session_key(PREFIX)

training_view.next_run_caption(settings, runs)
st.caption(
    "**Share this view** (in the sidebar) links to these settings and the chosen view, ready to start: "
    "the run itself, kept runs and uploaded files stay in this session."
)

training_view.run_buttons(runs, key, settings, PREFIX)
training_view.lr_control(runs, key, PREFIX)
training_compare.keep_ended_run(runs, key, PREFIX)
view = training_view.view_selector(PREFIX)
with main_figure:
    training_view.live_view(runs, key, PREFIX, view)
if view == "try":
    training_inspect.prediction_view(runs.get(key), PREFIX)
elif view == "compare":
    training_compare.compare_view(PREFIX)
elif view == "load":
    training_compare.load_view(runs, key, PREFIX)
training_view.remember_link(PREFIX)
