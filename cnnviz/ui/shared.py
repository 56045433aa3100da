"""Values shared read-only between reruns and sessions, as `st.cache_resource` keeps them.

`st.cache_data` unpickles a fresh copy of its value on every rerun (a figure's dict, a walkthrough's arrays),
which costs more than the page's own work once the value is computed. A view that nothing changes can be
shared instead: `shared(value)` makes every NumPy array in it read-only, so that a write raises instead of
changing what another session sees. Dicts and lists are not frozen: their readers copy before they change
anything (`cnnviz.ui.presentation.present_figure` restyles a copy).

A page's cached views live in a module of their own (`cnnviz.ui.pooling_views` and the like), imported
once: decorated in the page script, each function would be decorated again on every rerun, and Streamlit
would read its source again to name its cache (~0.4 ms a function).
"""

from __future__ import annotations

import dataclasses
from typing import TypeVar

import numpy as np

__all__ = ["shared"]

T = TypeVar("T")


def shared(value: T) -> T:
    """`value`, with every array in it (in dataclass fields, dicts, lists and tuples) made read-only."""
    _freeze(value)
    return value


def _freeze(value: object) -> None:
    if isinstance(value, np.ndarray):
        value.setflags(write=False)
    elif isinstance(value, dict):
        for item in value.values():
            _freeze(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            _freeze(item)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            _freeze(getattr(value, f.name))
