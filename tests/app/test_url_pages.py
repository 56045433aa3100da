"""Every page: change its controls, take the link, open it in a fresh session, find the same values.

Each page binds at least presentation mode (through `page_header`); every other control a page binds to
the URL is checked the same way, so converting a page to `cnnviz.ui.url` needs no new test here. A
tampered link on each page gives notes, never an exception.
"""

from __future__ import annotations

from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import page_files

TIMEOUT = 120
CHANGED = ("number_input", "selectbox", "radio", "checkbox", "toggle", "slider", "select_slider")
# Controls whose change starts heavy work or a dialog unrelated to links.
LEFT_ALONE = {"nb_erf"}


def change_controls(at: AppTest) -> None:
    """Move every keyed number box, check box, switch and select box of the page to another valid value."""
    for box in at.number_input:
        if not box.key or box.key in LEFT_ALONE or box.proto.disabled:
            continue
        if box.value is None:  # an empty box (the quiz's answers): type its smallest value
            box.set_value(box.min)
            continue
        step = box.step or 1
        for candidate in (box.value + step, box.value - step):
            if box.min <= candidate <= box.max:
                box.set_value(candidate)
                break
    for flag in [*at.checkbox, *at.toggle]:
        if flag.key and flag.key not in LEFT_ALONE and flag.key != "present" and not flag.proto.disabled:
            flag.set_value(not flag.value)
    for select in at.selectbox:
        if (
            select.key
            and select.key not in LEFT_ALONE
            and not select.proto.disabled
            and len(select.options) > 1
        ):
            select.select_index(1 if select.index != 1 else 0)


def values_by_key(at: AppTest) -> dict[str, Any]:
    return {w.key: w.value for kind in CHANGED for w in getattr(at, kind) if w.key}


def link_of(at: AppTest) -> dict[str, str]:
    out = {}
    for key in at.query_params:
        value = at.query_params[key]
        out[key] = value[-1] if isinstance(value, list) else value
    return out


@pytest.mark.parametrize("page", page_files(), ids=lambda p: p.stem)
def test_link_reopens_the_same_state(page) -> None:
    at = AppTest.from_file(str(page), default_timeout=TIMEOUT).run()
    assert not at.exception, [e.value for e in at.exception]
    change_controls(at)
    at.toggle(key="present").set_value(True)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    before = values_by_key(at)
    link = link_of(at)
    assert link.get("present") == "1"
    fresh = AppTest.from_file(str(page), default_timeout=TIMEOUT)
    for key, value in link.items():
        fresh.query_params[key] = value
    fresh.run()
    assert not fresh.exception, [e.value for e in fresh.exception]
    after = values_by_key(fresh)
    bound = [key for key in link if key in before]
    assert "present" in bound
    assert {k: after.get(k) for k in bound} == {k: before[k] for k in bound}
    assert link_of(fresh) == link
    assert not fresh.warning or all("link's value" not in w.value for w in fresh.warning)


@pytest.mark.parametrize("page", page_files(), ids=lambda p: p.stem)
def test_tampered_link_gives_notes_not_exceptions(page) -> None:
    at = AppTest.from_file(str(page), default_timeout=TIMEOUT).run()
    keys = [k for k in values_by_key(at) if k not in LEFT_ALONE]
    fresh = AppTest.from_file(str(page), default_timeout=TIMEOUT)
    for key in keys:
        fresh.query_params[key] = "%%garbage%%"
    fresh.query_params["present"] = "-1e999"
    fresh.run()
    assert not fresh.exception, [e.value for e in fresh.exception]
    notes = [w.value for w in fresh.warning if "link's value" in w.value]
    assert any("'Presentation mode'" in n for n in notes)
    assert "present" not in link_of(fresh)
