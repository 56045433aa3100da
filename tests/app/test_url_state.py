"""URL-bound widgets: a link reopens the same values, tampered values fall back with a note, never a traceback."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

TIMEOUT = 30


def every_widget() -> None:
    """One URL-bound widget of each kind, in the main area, a column and the sidebar, plus a typed grid."""
    import streamlit as st

    from cnnviz.ui import page_header, url

    def parse_grid(text: str) -> tuple[tuple[int, ...], ...]:
        """Rows separated by ';', numbers by ','; every row as long as the first."""
        rows = tuple(tuple(int(x) for x in row.split(",")) for row in text.split(";"))
        if len({len(r) for r in rows}) != 1:
            raise ValueError("ragged grid")
        return rows

    def grid_text(grid: tuple[tuple[int, ...], ...]) -> str:
        return ";".join(",".join(str(x) for x in row) for row in grid)

    controls = page_header("Bound", "Every kind of widget, bound to the link.")
    with controls:
        mode = url.selectbox("Padding mode", ["zeros", "reflect", "circular"], key="t_mode")
        kind = url.radio("Kind", ["max", "avg"], key="t_kind", horizontal=True)
        stride = url.number_input("Stride", 1, 8, 2, key="t_stride")
    left, right = st.columns(2)
    lr = url.at(left).number_input("Learning rate", 0.0, 1.0, 0.1, step=0.01, key="t_lr")
    shift = url.at(right).slider("Shift", 0, 3, 1, key="t_shift")
    band = url.slider("Band", 0.0, 1.0, (0.2, 0.8), key="t_band")
    speed = url.select_slider("Speed", ["slow", "medium", "fast"], value="medium", key="t_speed")
    runs = url.select_slider("Runs", [1, 2, 4, 8], value=4, key="t_runs")
    ceil = url.checkbox("ceil_mode", key="t_ceil")
    erf = url.toggle("Compute it", value=True, key="t_erf")
    name = url.text_input("Name", "net", max_chars=12, key="t_name")
    pad = url.segmented_control("Conv padding", [0, 1], default=0, key="t_pad")
    show = url.pills(
        "Show", ["loss", "accuracy", "filters"], selection_mode="multi", default=["loss"], key="t_show"
    )
    grid = url.value("t_grid", ((1, 2), (3, 4)), parse=parse_grid, encode=grid_text, label="Input grid")
    values = dict(
        mode=mode, kind=kind, stride=stride, lr=lr, shift=shift, band=band, speed=speed, runs=runs, ceil=ceil,
        erf=erf, name=name, pad=pad, show=show, grid=grid.get(), revision=grid.revision,
    )  # fmt: skip
    st.text(repr(values))


DEFAULTS = dict(
    mode="zeros", kind="max", stride=2, lr=0.1, shift=1, band=(0.2, 0.8), speed="medium", runs=4, ceil=False,
    erf=True, name="net", pad=0, show=["loss"], grid=((1, 2), (3, 4)),
)  # fmt: skip


def open_link(query: dict[str, str] | None = None) -> AppTest:
    """A fresh session opened on `?query`."""
    at = AppTest.from_function(every_widget, default_timeout=TIMEOUT)
    for key, value in (query or {}).items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def shown(at: AppTest) -> dict:
    """The values the page computed, as it printed them."""
    return eval(at.text[-1].value)  # the page prints a repr of plain Python values


def notes(at: AppTest) -> list[str]:
    return [w.value for w in at.warning]


def link_query(at: AppTest) -> dict[str, str]:
    return {k: at.query_params[k][-1] if isinstance(at.query_params[k], list) else at.query_params[k]
            for k in at.query_params}  # fmt: skip


def test_defaults_leave_the_link_empty() -> None:
    at = open_link()
    values = shown(at)
    assert {k: values[k] for k in DEFAULTS} == DEFAULTS
    assert link_query(at) == {}
    assert notes(at) == []


def test_round_trip_every_widget_kind() -> None:
    at = open_link()
    at.selectbox(key="t_mode").set_value("circular")
    at.radio(key="t_kind").set_value("avg")
    at.number_input(key="t_stride").set_value(5)
    at.number_input(key="t_lr").set_value(0.25)
    at.slider(key="t_shift").set_value(3)
    at.slider(key="t_band").set_value((0.1, 0.5))
    at.select_slider(key="t_speed").set_value("fast")
    at.select_slider(key="t_runs").set_value(8)
    at.checkbox(key="t_ceil").check()
    at.toggle(key="t_erf").set_value(False)
    at.text_input(key="t_name").input("lenet")
    at.button_group(key="t_pad").set_value(1)
    at.button_group(key="t_show").set_value(["accuracy", "filters"])
    at.run()
    set_values = shown(at)
    query = link_query(at)
    assert query["t_mode"] == "circular" and query["t_stride"] == "5" and query["t_band"] == "0.1,0.5"
    assert query["t_ceil"] == "1" and query["t_erf"] == "0" and query["t_show"] == "accuracy,filters"
    # The share link in the sidebar is this very query.
    assert at.sidebar.code[0].value.endswith(
        "?" + "&".join(f"{k}={v}" for k, v in query.items()).replace(",", "%2C")
    )

    fresh = open_link(query)
    again = shown(fresh)
    assert {k: again[k] for k in DEFAULTS} == {k: set_values[k] for k in DEFAULTS}
    assert again["stride"] == 5 and again["band"] == (0.1, 0.5) and again["show"] == ["accuracy", "filters"]
    assert notes(fresh) == []
    assert link_query(fresh) == query


def test_moving_back_to_the_default_removes_the_key() -> None:
    at = open_link({"t_stride": "4", "t_mode": "reflect"})
    assert shown(at)["stride"] == 4
    at.number_input(key="t_stride").set_value(2).run()
    assert link_query(at) == {"t_mode": "reflect"}


TAMPERED = [
    ("t_stride", "abc", "Stride", "stride"),  # garbage
    ("t_stride", "9", "Stride", "stride"),  # above the maximum
    ("t_stride", "0", "Stride", "stride"),  # below the minimum
    ("t_stride", "2.5", "Stride", "stride"),  # wrong type for an integer box
    ("t_stride", "99999999999999999999999999", "Stride", "stride"),  # huge
    ("t_stride", "", "Stride", "stride"),  # empty
    ("t_lr", "1e400", "Learning rate", "lr"),  # overflows to inf
    ("t_lr", "nan", "Learning rate", "lr"),
    ("t_lr", "-0.5", "Learning rate", "lr"),
    ("t_shift", "7", "Shift", "shift"),  # a slider would raise on this
    ("t_shift", "-1", "Shift", "shift"),
    ("t_band", "0.9,0.1", "Band", "band"),  # reversed range
    ("t_band", "0.5", "Band", "band"),  # one end only
    ("t_mode", "bogus", "Padding mode", "mode"),  # unknown option
    ("t_kind", "MAX", "Kind", "kind"),
    ("t_speed", "warp", "Speed", "speed"),
    ("t_runs", "3", "Runs", "runs"),
    ("t_ceil", "maybe", "ceil_mode", "ceil"),
    ("t_erf", "", "Compute it", "erf"),
    ("t_name", "x" * 200, "Name", "name"),  # longer than max_chars
    ("t_pad", "2", "Conv padding", "pad"),
    ("t_show", "loss,nope", "Show", "show"),
    ("t_grid", "1,2;3", "Input grid", "grid"),  # ragged
    ("t_grid", "a,b;c,d", "Input grid", "grid"),
]


@pytest.mark.parametrize(("key", "raw", "label", "field"), TAMPERED)
def test_tampered_value_falls_back_to_default_with_a_note(key: str, raw: str, label: str, field: str) -> None:
    other, value, other_field, kept = ("t_runs", "8", "runs", 8)
    if key == "t_runs":
        other, value, other_field, kept = ("t_kind", "avg", "kind", "avg")
    at = open_link({key: raw, other: value})
    values = shown(at)
    assert values[field] == DEFAULTS[field]
    assert values[other_field] == kept  # the valid value next to it is kept
    messages = notes(at)
    assert len(messages) == 1 and f"'{label}'" in messages[0] and "not valid" in messages[0]
    assert key not in link_query(at)  # the bad value is dropped from the link
    # The note sits in the main area near the top, not in the sidebar.
    assert [w.value for w in at.main.warning] == messages


def test_quoted_value_is_shortened_and_cannot_inject_markdown() -> None:
    at = open_link({"t_mode": "`[click](http://example.com)`" + "y" * 100})
    (message,) = notes(at)
    assert message.count("`") == 2  # the link's own backticks are removed: the value stays one code span
    assert "(` [click](http://example.com) y" in message
    assert len(message) < 150 and "…" in message


def test_line_breaks_in_a_value_cannot_end_the_note_early() -> None:
    at = open_link({"t_mode": "a\n\n[click](http://example.com)\r\n# big"})
    (message,) = notes(at)
    assert "\n" not in message and "\r" not in message and message.count("`") == 2


def test_several_tampered_values_each_get_a_note_and_the_page_still_runs() -> None:
    at = open_link({"t_stride": "-3", "t_shift": "1e9", "t_mode": "x", "t_ceil": "2"})
    assert len(notes(at)) == 4
    assert {k: shown(at)[k] for k in DEFAULTS} == DEFAULTS


def test_note_goes_away_after_the_next_interaction_and_link_stays_clean() -> None:
    at = open_link({"t_stride": "abc"})
    assert notes(at)
    at.slider(key="t_shift").set_value(2).run()
    assert notes(at) == []
    assert link_query(at) == {"t_shift": "2"}


def test_widgets_keep_their_own_state_between_reruns() -> None:
    at = open_link({"t_stride": "3"})
    at.number_input(key="t_stride").set_value(6).run()
    at.run()
    assert shown(at)["stride"] == 6
    assert link_query(at) == {"t_stride": "6"}


def test_bound_value_revision_changes_only_for_a_new_link() -> None:
    at = open_link({"t_grid": "5,6;7,8"})
    assert shown(at)["grid"] == ((5, 6), (7, 8))
    first = shown(at)["revision"]
    at.run()
    assert shown(at)["revision"] == first
    assert link_query(at) == {"t_grid": "5,6;7,8"}


def setter_page() -> None:
    """A bound value the page changes itself (as an edited grid would)."""
    import streamlit as st

    from cnnviz.ui import url

    grid = url.value("g", "1,2", parse=str, label="Grid")
    if st.button("double", key="g_double"):
        grid.set(",".join(str(2 * int(x)) for x in grid.get().split(",")))
    if st.button("reset", key="g_reset"):
        grid.set("1,2")
    st.text(grid.get())


def test_bound_value_set_writes_the_link_and_default_clears_it() -> None:
    at = AppTest.from_function(setter_page, default_timeout=TIMEOUT).run()
    at.button(key="g_double").click().run()
    assert at.text[0].value == "2,4" and at.query_params["g"] in ("2,4", ["2,4"])
    at.run()
    assert at.text[0].value == "2,4"
    at.button(key="g_reset").click().run()
    assert "g" not in at.query_params


def shrinking_page() -> None:
    """A slider and a number box whose range depends on another widget (like an output size)."""
    import streamlit as st

    from cnnviz.ui import url

    size = url.number_input("Size", 1, 10, 10, key="r_size")
    row = url.slider("Row", 0, size - 1, 0, key="r_row")
    col = url.number_input("Column", 0, size - 1, 0, key="r_col")
    st.text(f"{row},{col}")


def test_range_shrinking_under_a_kept_value_resets_instead_of_raising() -> None:
    at = AppTest.from_function(shrinking_page, default_timeout=TIMEOUT)
    at.query_params["r_row"] = "8"
    at.query_params["r_col"] = "9"
    at.run()
    assert at.text[0].value == "8,9"
    at.number_input(key="r_size").set_value(3).run()
    assert not at.exception
    assert at.text[0].value == "0,0"


def test_widget_without_key_is_a_programming_error() -> None:
    def page() -> None:
        from cnnviz.ui import url

        url.slider("No key", 0, 3, 1, key="")

    at = AppTest.from_function(page, default_timeout=TIMEOUT).run()
    assert len(at.exception) == 1  # the message itself is redacted by the app's showErrorDetails setting
    assert len(at.slider) == 0


def hiding_page() -> None:
    """A number box shown only while a check box is ticked, and a select box in the sidebar."""
    import streamlit as st

    from cnnviz.ui import url

    show = url.checkbox("Show seed", value=True, key="h_show")
    seed = url.number_input("Seed", 0, 99, 0, key="h_seed") if show else None
    kind = url.at(st.sidebar).selectbox("Kind", ["a", "b"], key="h_kind")
    st.text(f"{seed},{kind}")


def test_hidden_widget_takes_the_link_value_again_when_shown() -> None:
    at = AppTest.from_function(hiding_page, default_timeout=TIMEOUT)
    at.query_params["h_seed"] = "7"
    at.query_params["h_kind"] = "b"
    at.run()
    assert at.text[0].value == "7,b"
    assert [s.label for s in at.sidebar.selectbox] == ["Kind"]
    at.checkbox(key="h_show").uncheck().run()
    assert at.text[0].value == "None,b"
    at.checkbox(key="h_show").check().run()
    assert at.text[0].value == "7,b"
    assert not at.exception


def stopping_page() -> None:
    """A page that stops before its last widget while a checkbox is off (as a page waiting for an upload)."""
    import streamlit as st

    from cnnviz.ui import page_header, url

    with page_header("Stops", "Stops early."):
        ready = url.checkbox("Ready", value=True, key="s_ready")
    if not ready:
        st.stop()
    size = url.number_input("Size", 1, 9, 3, key="s_size")
    st.text(str(size))


def test_widget_after_an_early_stop_is_sent_with_its_kept_value() -> None:
    from tests.app.helpers import as_browser_mounts, drawn_widgets

    at = AppTest.from_function(stopping_page, default_timeout=TIMEOUT).run()
    at.number_input(key="s_size").set_value(5).run()
    at.checkbox(key="s_ready").uncheck().run()
    drawn = drawn_widgets(at)
    at.checkbox(key="s_ready").check().run()
    # The browser shows what the server sent with the box again, and sends it back on the next change.
    assert as_browser_mounts(at, drawn) == {"s_size": 5}
    at.run()
    assert at.text[0].value == "5" and link_query(at) == {"s_size": "5"}
    assert not at.exception
