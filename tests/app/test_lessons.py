"""Every lesson opens an existing page, names only that page's widget keys, and holds values they accept."""

from __future__ import annotations

import json
from typing import Any

import pytest
import torch
from streamlit.testing.v1 import AppTest

from cnnviz.topics.lessons import LESSONS, Lesson
from tests.conftest import REPO_ROOT
from tests.plotly_arrays import decode_array

TIMEOUT = 120
TOPICS = ("padding", "stride", "dilation", "transposed", "pooling", "receptive", "mlp")
WIDGET_KINDS = ("selectbox", "radio", "number_input", "slider", "select_slider", "checkbox", "toggle",
                "text_input", "button_group")  # fmt: skip


def widget(at: AppTest, key: str) -> tuple[str, Any]:
    """The widget with this key, and its kind."""
    for kind in WIDGET_KINDS:
        try:
            return kind, getattr(at, kind)(key=key)
        except KeyError:
            continue
    raise AssertionError(f"no widget with key {key!r} on the page")


def as_value(kind: str, text: str, current: Any) -> Any:
    """A link value read the way the URL-bound widget of this kind reads it."""
    if kind in ("checkbox", "toggle"):
        return text == "1"
    if kind in ("number_input", "slider"):
        return type(current)(float(text)) if isinstance(current, (int, float)) else float(text)
    if kind in ("selectbox", "radio", "select_slider") and isinstance(current, int):
        return int(text)
    return text


def test_lessons_cover_every_lecture_topic_once() -> None:
    titles = [lesson.title.lower() for lesson in LESSONS]
    assert [t for t in TOPICS if not any(t in title for title in titles)] == []
    assert len(set(titles)) == len(titles)
    assert all(lesson.goal and lesson.goal.endswith(".") for lesson in LESSONS)


@pytest.mark.parametrize("lesson", LESSONS, ids=[lesson.title for lesson in LESSONS])
def test_lesson_page_exists_and_uses_its_keys(lesson: Lesson) -> None:
    page = REPO_ROOT / lesson.page
    assert page.is_file(), lesson.page
    at = AppTest.from_file(str(page), default_timeout=TIMEOUT).run()
    assert not at.exception, [e.value for e in at.exception]
    for key, text in lesson.query.items():
        kind, box = widget(at, key)
        value = as_value(kind, text, box.value)
        box.set_value(value)
        at.run()
        assert not at.exception, (key, [e.value for e in at.exception])
        assert widget(at, key)[1].value == value, key


@pytest.mark.parametrize("lesson", LESSONS, ids=[lesson.title for lesson in LESSONS])
def test_lesson_link_opens_its_settings_without_notes(lesson: Lesson) -> None:
    at = AppTest.from_file(str(REPO_ROOT / lesson.page), default_timeout=TIMEOUT)
    for key, value in lesson.query.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert not [w.value for w in at.warning if "link's value" in w.value]  # every value fits its control
    bound = at.session_state["_url_seen"]  # {key: (page, link value)} for every control bound to the link
    for key, text in lesson.query.items():
        if key in bound:  # the page binds this control: it shows the lesson's value and keeps it in the link
            assert bound[key][1] in (text, None), key  # None: the lesson's value is the page's default
            kind, box = widget(at, key)
            assert box.value == as_value(kind, text, box.value), key


# The explorer lessons as PyTorch layers on the page's default 7×7 input (3×3 kernel unless the lesson says).
EXPLORER_LESSONS = {
    "Stride": {"kernel_size": 3, "stride": 2},
    "Dilation": {"kernel_size": 3, "dilation": 2},
    "Valid vs same padding": {"kernel_size": 5, "padding": "same"},
}


@pytest.mark.parametrize("title", list(EXPLORER_LESSONS))
def test_explorer_lesson_opens_without_a_warning_on_the_output_it_promises(title: str) -> None:
    (lesson,) = [lesson for lesson in LESSONS if lesson.title == title]
    at = AppTest.from_file(str(REPO_ROOT / lesson.page), default_timeout=TIMEOUT)
    for key, value in lesson.query.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert [w.value for w in at.warning] == []
    assert not at.error
    height, width = torch.nn.Conv2d(1, 1, **EXPLORER_LESSONS[title])(torch.zeros(1, 1, 7, 7)).shape[2:]
    layer = EXPLORER_LESSONS[title]
    reach = layer.get("dilation", 1) * (layer["kernel_size"] - 1) + 1
    # The lesson's line names PyTorch's output size (dilation's names the patch the kernel spans instead).
    assert (
        f"{reach}×{reach} patch" in lesson.goal if "dilation" in layer else f"{height}×{width}" in lesson.goal
    )
    (chart,) = [c for c in at.get("plotly_chart") if c.key == "cx_cell_figure"]
    output = decode_array(json.loads(chart.proto.spec)["data"][6]["z"])
    assert output.shape == (height, width)  # and the page draws it
