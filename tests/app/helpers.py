"""What every AppTest of a page shares: opening a page on a link, reading its link, notes and figures back,
typing into a grid, and reopening a link in a fresh session. The fixtures are in conftest.py."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager

import plotly.io._json as plotly_json
import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import REPO_ROOT

PAGES_DIR = REPO_ROOT / "pages"
TIMEOUT = 120  # seconds for one run: a busy 2-core machine running the suite in parallel is slow
CONTROL_KINDS = (
    "number_input",
    "selectbox",
    "radio",
    "checkbox",
    "toggle",
    "slider",
    "select_slider",
    "text_input",
    "text_area",
)


def page_path(name: str) -> str:
    """The script of a page, by its file name ('1_Convolution_explorer.py') or its stem without number."""
    for path in PAGES_DIR.glob("*.py"):
        if name in (path.name, path.stem, path.stem.split("_", 1)[-1]):
            return str(path)
    if name == "app.py":
        return str(REPO_ROOT / "app.py")
    raise LookupError(f"no page {name!r} in {PAGES_DIR}")


def run(page: str, link: dict[str, str] | None = None, timeout: float = TIMEOUT) -> AppTest:
    """The page in a fresh session, opened on `link` (a query string's values); it must not raise."""
    at = AppTest.from_file(
        page if page.endswith(".py") and "/" in page else page_path(page), default_timeout=timeout
    )
    for key, value in (link or {}).items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def link_of(at: AppTest) -> dict[str, str]:
    """The page's query string as the share link carries it."""
    out = {}
    for key in at.query_params:
        value = at.query_params[key]
        out[key] = value[-1] if isinstance(value, list) else value
    return out


def controls(at: AppTest) -> dict[str, object]:
    """Every keyed control's value."""
    return {w.key: w.value for kind in CONTROL_KINDS for w in getattr(at, kind) if w.key}


def notes(at: AppTest) -> list[str]:
    """The notes about link values the page could not use."""
    return [w.value for w in at.warning if "link's value" in w.value]


def charts(at: AppTest) -> dict[str, dict]:
    """Plotly specs by chart key (what the browser would draw)."""
    return {c.proto.id.split("-")[-1]: json.loads(c.proto.spec) for c in at.get("plotly_chart")}


def reopen(at: AppTest, page: str) -> AppTest:
    """Open `at`'s link in a fresh session: it keeps the same link and gives no notes."""
    link = link_of(at)
    again = run(page, link)
    assert link_of(again) == link
    assert not notes(again), notes(again)
    return again


def grid_editor(at: AppTest, grid_key: str) -> str:
    """The key of the data editor of the typed grid `grid_key` (it carries the grid's shape and revision)."""
    keys = [e.key for e in at.data_editor if e.key and e.key.startswith(f"{grid_key}_editor_")]
    assert len(keys) == 1, (grid_key, [e.key for e in at.data_editor])
    return keys[0]


def edit_cell(at: AppTest, editor_key: str, row: int, col: int, value: object) -> None:
    """Type `value` into one cell of a data editor (what double-clicking a cell and typing does)."""
    at.session_state[editor_key] = {
        "edited_rows": {row: {str(col): value}},
        "added_rows": [],
        "deleted_rows": [],
    }


def type_into_grid(at: AppTest, grid_key: str, cells: dict[tuple[int, int], object]) -> AppTest:
    """Type values into cells of the typed grid `grid_key`, press its Apply button and run the page."""
    editor = grid_editor(at, grid_key)
    edited: dict[int, dict[str, object]] = {}
    for (row, col), value in cells.items():
        edited.setdefault(row, {})[str(col)] = value
    at.session_state[editor] = {"edited_rows": edited, "added_rows": [], "deleted_rows": []}
    at.button(key=f"{grid_key}_apply").click()
    return at.run()


# Streamlit renders message text as GitHub-flavoured Markdown. What makes a live link or a remote image:
# an unescaped [ or ] (links, images, references), < (HTML, <autolinks>), a bare URL or e-mail address.
_CODE_SPAN = re.compile(r"(?<!\\)`[^`]*`")
_LIVE = re.compile(r"(?<!\\)[\[\]<]|(?<!\\):(?=//)|(?i:\bwww)(?!\\)\.|(?<![\\\w])[\w.+-]+(?<!\\)@")


def live_markdown(text: str) -> list[str]:
    """What in `text` Markdown would turn into a link, an image or HTML (code spans are shown literally)."""
    return _LIVE.findall(_CODE_SPAN.sub("", text))


MESSAGE_KINDS = ("error", "warning", "info", "success", "caption", "markdown", "toast")


def shown_messages(at: AppTest) -> list[str]:
    """Every message box, caption and markdown text on the page, as the Markdown Streamlit renders."""
    return [element.value for kind in MESSAGE_KINDS for element in getattr(at, kind, [])]


def drawn_widgets(at: AppTest) -> set[str]:
    """The ids of the controls the last run drew: the ones whose value a browser keeps for the next run."""
    return {w.id for kind in CONTROL_KINDS for w in getattr(at, kind)}


def as_browser_mounts(at: AppTest, drawn_before: set[str]) -> dict[str, object]:
    """Make `at` hold what a browser holds after this run, and return those values by key.

    A browser forgets the value of a control that a run did not draw. When a later run draws it again, the
    browser shows the value the server sent with it (`set_value`), else the control's default, and sends
    that on the next change. AppTest keeps the server's value instead; this puts the browser's value back
    for the number boxes, checkboxes and toggles not in `drawn_before` (the ids the run before drew)."""
    shown: dict[str, object] = {}
    for kind in ("number_input", "checkbox", "toggle"):
        for w in getattr(at, kind):
            if w.id in drawn_before or not w.key:
                continue
            value = w.proto.value if w.proto.set_value else w.proto.default
            if kind == "number_input" and w.proto.data_type == w.proto.DataType.INT:
                value = int(value)
            if value != w.value:
                w.set_value(value)
            shown[w.key] = value
    return shown


@contextmanager
def plotly_cleaning_passes(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[object]]:
    """The figures Plotly had to walk value by value before orjson could write them (one entry each).

    orjson writes a figure's dict in one call unless something in it is not JSON to orjson (an object
    array, say); Plotly then cleans the whole figure in Python first, ~5 ms for a small animation."""
    cleaned: list[object] = []
    clean = plotly_json.clean_to_json_compatible

    def counted(obj: object, **kwargs: object) -> object:
        if not cleaned or cleaned[-1] is not obj:
            cleaned.append(obj)
        return clean(obj, **kwargs)

    monkeypatch.setattr(plotly_json, "clean_to_json_compatible", counted)
    yield cleaned
