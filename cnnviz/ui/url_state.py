"""Widgets whose values live in the page's URL, so that a copied link reopens exactly the same view.

Each function mirrors the Streamlit widget of the same name and takes the same arguments. When the
link carries a value for the widget's key (a new link, a lesson link, back/forward, a page switch), the
value is parsed and checked against the widget's options, range and type before the widget is created;
a value that does not fit falls back to the default with a note near the top of the page, never an
exception. After the widget is drawn its value is written back to the query string, but only when it
differs from the default, so links stay short. Uploaded files cannot travel in a link.

Converting a page (mechanical; keys stay the same, and every key becomes a name in the link):

    from cnnviz.ui import chart, url                           # once, at the top

    st.slider("Stride", 1, 4, 1, key="cx_stride")       ->  url.slider("Stride", 1, 4, 1, key="cx_stride")
    c1.number_input("Height", 1, 16, 6, key="pl_h")     ->  url.at(c1).number_input("Height", 1, 16, 6, key="pl_h")
    with controls: st.radio(...)                         ->  with controls: url.radio(...)
    st.plotly_chart(fig, key="pl_pool", config=C)       ->  chart(fig, key="pl_pool", config=C)
    left.plotly_chart(fig, key="cx_feeds")              ->  chart(fig, key="cx_feeds", where=left)

Bound: selectbox, radio, number_input, slider (numbers), select_slider, checkbox, toggle, text_input,
text_area, segmented_control, pills. Values that are not widgets (a typed grid, a network written as
text) bind with a parser that may raise and an encoder back to text:

    grid = url.value("cx_grid", default=DEFAULT, parse=parse_grid, encode=grid_text, label="Input")
    edited = st.data_editor(grid.get(), key=f"cx_grid_editor_{grid.revision}")  # new link -> new editor
    grid.set(edited)

Leave buttons, file uploaders and data editors as they are. A link sets a widget's value without calling
its `on_change`: a page that loads something in a callback (a preset) should also load it when the value
differs from what is loaded. `page_header` shows the notes and the "Share this view" link.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar
from urllib.parse import urlencode

import streamlit as st

from cnnviz.ui.messages import escape_markdown

if TYPE_CHECKING:  # pragma: no cover
    from streamlit.delta_generator import DeltaGenerator

__all__ = [
    "BoundValue",
    "UrlWidgets",
    "begin_run",
    "current_link",
    "notes_slot",
    "refresh_link",
    "share_slot",
    "url",
]

T = TypeVar("T")

_SEEN = "_url_seen"  # session key: {widget key: the query value last read from or written to the URL}
_VALUES = "_url_values"  # session key: {key: (value, revision)} for values that are not widgets
_RUN = "_url_run"  # session key: this run's note box, link box and notes
_PAGE = "_url_page"  # session key: the page this run draws (a page switch resets its widgets)
_DRAWN_BEFORE = "_url_drawn_before"  # session key: the widget keys the run before drew
_MAX_SHOWN = 40  # characters of a tampered value quoted back in a note
_MAX_INT = 2**53 - 1  # the largest integer a browser's number box holds exactly
_INT_TEXT = re.compile(r"[+-]?\d{1,16}")
_UNSAFE = re.compile(r"[\x00-\x1f\x7f`]")


class _InvalidLinkError(ValueError):
    """A link value that does not fit the widget."""


@dataclass
class _Run:
    """Per-run slots: where notes and the share link go, and what was shown already."""

    notes_box: DeltaGenerator | None = None
    link_box: DeltaGenerator | None = None
    link_shown: str | None = None
    link_stale: bool = True  # the query string may differ from the link shown
    notes: list[str] = field(default_factory=list)
    drawn: set[str] = field(default_factory=set)  # the bound widgets' keys drawn in this run
    # Read once per run by `begin_run` (None on a page that never called it: then read from the session):
    # a page binds ~30 widgets, and every read of session state costs ~15 us.
    page: str | None = None
    seen: dict[str, tuple[str, str | None]] | None = None
    drawn_before: set[str] | None = None

    def page_name(self) -> str:
        return self.page if self.page is not None else _page()

    def seen_values(self) -> dict[str, tuple[str, str | None]]:
        if self.seen is None:
            self.seen = _seen()
        return self.seen


def begin_run(page: str) -> None:
    """Start this script run's slots; `page` names the page drawn (`page_header` calls this first)."""
    before = st.session_state.get(_RUN)
    drawn_before = set() if before is None else before.drawn
    st.session_state[_DRAWN_BEFORE] = drawn_before
    st.session_state[_RUN] = _Run(page=page, seen=_seen(), drawn_before=drawn_before)
    st.session_state[_PAGE] = page


def _run() -> _Run:
    """This run's slots (those of the last `begin_run`, or fresh ones on a page that never called it)."""
    current = st.session_state.get(_RUN)
    if current is None:
        current = _Run()
        st.session_state[_RUN] = current
    return current


def notes_slot(box: DeltaGenerator) -> None:
    """Make `box` (an empty container near the top of the page) the place where link notes appear."""
    _run().notes_box = box


def share_slot(box: DeltaGenerator) -> None:
    """Make `box` (an `st.empty`) the place of the "Share this view" link, and draw it now."""
    run = _run()
    run.link_box = box
    _draw_link(run)


def current_link(query: str | None = None) -> str:
    """The full link to this view: the page's address as the browser sees it plus the query string."""
    if query is None:
        query = urlencode(st.query_params.to_dict())
    base = ""
    try:
        base = st.context.url or ""  # what the browser shows, so it holds behind a proxy too
    except Exception:  # no browser behind this run (AppTest, bare mode)
        base = ""
    return f"{base}?{query}" if query else (base or "?")


def refresh_link() -> None:
    """Redraw the share link after writing `st.query_params` directly (the bound widgets do it themselves)."""
    run = _run()
    run.link_stale = True
    _draw_link(run)


def _draw_link(run: _Run) -> None:
    """Redraw the share link if the query changed since it was last drawn in this run."""
    if run.link_box is None or not run.link_stale:
        return  # the query string is encoded only when a write may have changed it: a page has ~30 widgets
    run.link_stale = False
    query = urlencode(st.query_params.to_dict())
    if query != run.link_shown:
        run.link_shown = query
        run.link_box.code(current_link(query), language=None, wrap_lines=True)


def _note(label: str, raw: str, default_text: str) -> None:
    """Show that the link's value for `label` was rejected: near the top of the page, else in place."""
    shown = _UNSAFE.sub(" ", raw)  # one line, no backticks: the value stays inside its code span
    if len(shown) > _MAX_SHOWN:
        shown = shown[:_MAX_SHOWN] + "…"
    text = (
        f"The link's value for '{escape_markdown(label)}' (`{shown}`) is not valid; "
        f"using {escape_markdown(default_text)}."
    )
    run = _run()
    run.notes.append(text)
    target = run.notes_box if run.notes_box is not None else st
    target.warning(text, icon=":material/link_off:")


def _seen() -> dict[str, tuple[str, str | None]]:
    """Per session: {key: (page, query value)} last read from or written to the URL on that page."""
    seen = st.session_state.get(_SEEN)
    if seen is None:
        seen = {}
        st.session_state[_SEEN] = seen
    return seen


def _page() -> str:
    """The page this run draws (a page switch resets its widgets, so the link must seed them again)."""
    return str(st.session_state.get(_PAGE, ""))


def _link_changed(key: str, widget: bool = True, run: _Run | None = None) -> tuple[bool, str | None]:
    """Whether the URL's value for `key` must be applied (a new link, another page), and that value."""
    run = run or _run()
    raw = st.query_params.get(key)
    seen = run.seen_values().get(key)
    if seen is None or seen[0] != run.page_name():
        return raw is not None, raw
    if widget and raw is not None and key not in st.session_state:
        return True, raw  # the widget was hidden for a run and lost its state: the link still has it
    return raw != seen[1], raw


def _write_back(key: str, encoded: str | None, run: _Run | None = None) -> None:
    """Put `encoded` into the query string under `key` (None removes it) and redraw the share link."""
    params = st.query_params
    run = run or _run()
    if encoded is None:
        if key in params:
            del params[key]
            run.link_stale = True
    elif params.get(key) != encoded:
        params[key] = encoded
        run.link_stale = True
    run.seen_values()[key] = (run.page_name(), encoded)
    _draw_link(run)


def _text(value: Any, format_func: Callable[[Any], Any] | None = None) -> str:
    """How a default is named in a note."""
    if format_func is not None:
        try:
            return str(format_func(value))
        except Exception:
            return str(value)
    return "nothing" if value is None else str(value)


# ---- value codecs -------------------------------------------------------------------------------


def _number_kind(*values: Any) -> type:
    """int if every given number is an int (Streamlit's own rule for number boxes and sliders)."""
    given = [v for v in values if v is not None and not isinstance(v, str)]
    return int if all(isinstance(v, int) and not isinstance(v, bool) for v in given) else float


def _parse_number(raw: str, kind: type, low: float | None, high: float | None) -> int | float:
    """A finite number of the widget's kind inside [low, high]."""
    text = raw.strip()
    if kind is int:
        if not _INT_TEXT.fullmatch(text):
            raise _InvalidLinkError(raw)
        number: int | float = int(text)
        if abs(number) > _MAX_INT:
            raise _InvalidLinkError(raw)
    else:
        if len(text) > 40:
            raise _InvalidLinkError(raw)
        try:
            number = float(text)
        except ValueError as exc:
            raise _InvalidLinkError(raw) from exc
        if not math.isfinite(number):
            raise _InvalidLinkError(raw)
    if (low is not None and number < low) or (high is not None and number > high):
        raise _InvalidLinkError(raw)
    return number


def _encode_number(value: int | float) -> str:
    """Shortest text that reads back to the same number ("2", "0.1", "1e-05")."""
    if isinstance(value, float):
        text = repr(value)
        return text[:-2] if text.endswith(".0") else text
    return str(int(value))


def _parse_option(raw: str, options: Sequence[Any]) -> Any:
    """The option whose text is `raw`."""
    for option in options:
        if str(option) == raw:
            return option
    raise _InvalidLinkError(raw)


def _parse_options(raw: str, options: Sequence[Any]) -> list[Any]:
    """Options listed comma-separated in `raw` (empty text: none)."""
    if raw == "":
        return []
    return [_parse_option(part, options) for part in raw.split(",")]


def _parse_bool(raw: str) -> bool:
    """1/0 (also true/false)."""
    text = raw.strip().lower()
    if text in ("1", "true"):
        return True
    if text in ("0", "false"):
        return False
    raise _InvalidLinkError(raw)


class BoundValue(Generic[T]):
    """A value that is not a widget but travels in the link (`url.value(...)` makes one)."""

    def __init__(self, key: str, default: T, encode: Callable[[T], str], value: T, revision: int) -> None:
        self.key = key
        self.default = default
        self._encode = encode
        self._value = value
        self.revision = revision  # bumps when a link replaces the value: use it in an editor's key

    def get(self) -> T:
        """The current value: the link's on a new link, else the last one set (or the default)."""
        return self._value

    def set(self, value: T) -> None:
        """Remember `value` and write it into the link (removed when it equals the default)."""
        self._value = value
        store = st.session_state[_VALUES]
        store[self.key] = (value, self.revision)
        encoded = self._encode(value)
        _write_back(self.key, None if encoded == self._encode(self.default) else encoded)


@dataclass(frozen=True)
class UrlWidgets:
    """Streamlit's widgets, bound to the URL; `at(container)` draws them in a column, sidebar, expander."""

    where: Any = None  # a DeltaGenerator, or None for the current container (`st`)

    def at(self, container: DeltaGenerator) -> UrlWidgets:
        """The same widgets, drawn in `container` (`url.at(c1).number_input(...)`)."""
        return UrlWidgets(container)

    @property
    def _st(self) -> Any:
        return st if self.where is None else self.where

    # -- the binding, shared by every widget --

    def _bound(
        self,
        label: str,
        key: str,
        default: Any,
        parse: Callable[[str], Any],
        encode: Callable[[Any], str],
        draw: Callable[[], Any],
        fits: Callable[[Any], bool] | None = None,
        default_text: str | None = None,
    ) -> Any:
        """Seed the widget from a new link (or note why not), draw it, and write its value back."""
        if not isinstance(key, str) or not key:
            raise TypeError("URL-bound widgets need a key: it is the name of the value in the link")
        run = _run()
        changed, raw = _link_changed(key, run=run)
        if changed:
            if raw is None:
                st.session_state[key] = default
            else:
                try:
                    st.session_state[key] = parse(raw)
                except Exception:
                    st.session_state[key] = default
                    _note(label, raw, default_text if default_text is not None else _text(default))
        elif fits is not None and key in st.session_state and not fits(st.session_state[key]):
            st.session_state[key] = default  # the range moved under the kept value: never let it raise
        elif key in st.session_state and key not in (
            run.drawn_before if run.drawn_before is not None else st.session_state.get(_DRAWN_BEFORE, {key})
        ):
            # The run before did not draw this widget (it stopped early, or hid it): the browser forgot its
            # value and would show the default while the server keeps the old one, then send the default on
            # the next change. Setting it again sends the kept value with the widget.
            st.session_state[key] = st.session_state[key]
        value = draw()
        run.drawn.add(key)
        _write_back(key, None if value == default else encode(value), run)
        return value

    # -- widgets --

    def _choice(
        self, widget: str, label: str, options: Any, index: int | None, key: str, kwargs: dict
    ) -> Any:
        opts = list(options)
        default = opts[index] if index is not None and 0 <= index < len(opts) else None
        fmt = kwargs.get("format_func")
        return self._bound(
            label, key, default,
            parse=lambda raw: _parse_option(raw, opts),
            encode=lambda v: "" if v is None else str(v),
            draw=lambda: getattr(self._st, widget)(label, opts, index=index, key=key, **kwargs),
            fits=lambda v: v is None or v in opts,
            default_text=_text(default, fmt),
        )  # fmt: skip

    def selectbox(self, label: str, options: Any, index: int | None = 0, *, key: str, **kwargs: Any) -> Any:
        """`st.selectbox` bound to the link (the option's text is the link value)."""
        return self._choice("selectbox", label, options, index, key, kwargs)

    def radio(self, label: str, options: Any, index: int | None = 0, *, key: str, **kwargs: Any) -> Any:
        """`st.radio` bound to the link."""
        return self._choice("radio", label, options, index, key, kwargs)

    def _multi(self, widget: str, label: str, options: Any, default: Any, key: str, kwargs: dict) -> Any:
        """segmented_control / pills, single or multi selection."""
        opts = list(options)
        multi = kwargs.get("selection_mode", "single") == "multi"
        if multi:
            start = (
                [] if default is None else list(default if isinstance(default, (list, tuple)) else [default])
            )
            parse: Callable[[str], Any] = lambda raw: _parse_options(raw, opts)  # noqa: E731
            encode: Callable[[Any], str] = lambda v: ",".join(str(x) for x in v)  # noqa: E731
            fits = lambda v: all(x in opts for x in v)  # noqa: E731
        else:
            start = default
            parse = lambda raw: _parse_option(raw, opts)  # noqa: E731
            encode = lambda v: "" if v is None else str(v)  # noqa: E731
            fits = lambda v: v is None or v in opts  # noqa: E731

        def draw() -> Any:
            value = getattr(self._st, widget)(label, opts, default=default, key=key, **kwargs)
            return list(value) if multi and value is not None else value

        return self._bound(
            label, key, start, parse, encode, draw, fits, _text(start, kwargs.get("format_func"))
        )

    def segmented_control(
        self, label: str, options: Any, *, default: Any = None, key: str, **kwargs: Any
    ) -> Any:
        """`st.segmented_control` bound to the link (multi selection: options joined by commas)."""
        return self._multi("segmented_control", label, options, default, key, kwargs)

    def pills(self, label: str, options: Any, *, default: Any = None, key: str, **kwargs: Any) -> Any:
        """`st.pills` bound to the link (multi selection: options joined by commas)."""
        return self._multi("pills", label, options, default, key, kwargs)

    def select_slider(
        self, label: str, options: Any = (), value: Any = None, *, key: str, **kwargs: Any
    ) -> Any:
        """`st.select_slider` bound to the link (a range is two options joined by a comma)."""
        opts = list(options)
        is_range = isinstance(value, (list, tuple))
        default = (tuple(value) if is_range else value) if value is not None else (opts[0] if opts else None)

        def parse(raw: str) -> Any:
            if not is_range:
                return _parse_option(raw, opts)
            parts = _parse_options(raw, opts)
            if len(parts) != 2:
                raise _InvalidLinkError(raw)
            return tuple(parts)

        def encode(v: Any) -> str:
            return ",".join(str(x) for x in v) if is_range else str(v)

        def fits(v: Any) -> bool:
            return all(x in opts for x in v) if is_range else v in opts

        def draw() -> Any:
            result = self._st.select_slider(label, opts, value=value, key=key, **kwargs)
            return tuple(result) if is_range else result

        return self._bound(label, key, default, parse, encode, draw, fits)

    def number_input(
        self,
        label: str,
        min_value: int | float | None = None,
        max_value: int | float | None = None,
        value: Any = "min",
        step: int | float | None = None,
        *,
        key: str,
        **kwargs: Any,
    ) -> Any:
        """`st.number_input` bound to the link: the number must have the box's type and fit its range."""
        kind = _number_kind(min_value, max_value, value, step)
        if value == "min":
            default = min_value if min_value is not None else kind(0)
        else:
            default = value
        low = min_value if min_value is not None else (-_MAX_INT if kind is int else None)
        high = max_value if max_value is not None else (_MAX_INT if kind is int else None)

        def parse(raw: str) -> Any:
            if raw == "" and default is None:
                return None
            return _parse_number(raw, kind, low, high)

        def fits(v: Any) -> bool:
            return v is None or ((low is None or v >= low) and (high is None or v <= high))

        def draw() -> Any:
            return self._st.number_input(label, min_value, max_value, value, step, key=key, **kwargs)

        return self._bound(
            label, key, default, parse, lambda v: "" if v is None else _encode_number(v), draw, fits
        )

    def slider(
        self,
        label: str,
        min_value: int | float | None = None,
        max_value: int | float | None = None,
        value: Any = None,
        step: int | float | None = None,
        *,
        key: str,
        **kwargs: Any,
    ) -> Any:
        """`st.slider` for numbers bound to the link (a range is two numbers joined by a comma)."""
        is_range = isinstance(value, (list, tuple))
        parts = list(value) if is_range else [value]
        kind = _number_kind(min_value, max_value, step, *parts)
        low = min_value if min_value is not None else kind(0)
        high = max_value if max_value is not None else kind(100 if kind is int else 1)
        default = tuple(value) if is_range else (value if value is not None else low)

        def parse(raw: str) -> Any:
            if not is_range:
                return _parse_number(raw, kind, low, high)
            pieces = raw.split(",")
            if len(pieces) != 2:
                raise _InvalidLinkError(raw)
            a, b = (_parse_number(p, kind, low, high) for p in pieces)
            if a > b:
                raise _InvalidLinkError(raw)
            return (a, b)

        def encode(v: Any) -> str:
            return ",".join(_encode_number(x) for x in v) if is_range else _encode_number(v)

        def fits(v: Any) -> bool:
            values = v if is_range else [v]
            return all(isinstance(x, (int, float)) and low <= x <= high for x in values)

        def draw() -> Any:
            result = self._st.slider(label, min_value, max_value, value, step, key=key, **kwargs)
            return tuple(result) if is_range else result

        return self._bound(label, key, default, parse, encode, draw, fits)

    def _flag(self, widget: str, label: str, value: bool, key: str, kwargs: dict) -> bool:
        return self._bound(
            label, key, bool(value), _parse_bool, lambda v: "1" if v else "0",
            lambda: getattr(self._st, widget)(label, value=value, key=key, **kwargs),
            lambda v: isinstance(v, bool), "on" if value else "off",
        )  # fmt: skip

    def checkbox(self, label: str, value: bool = False, *, key: str, **kwargs: Any) -> bool:
        """`st.checkbox` bound to the link (1 or 0)."""
        return self._flag("checkbox", label, value, key, kwargs)

    def toggle(self, label: str, value: bool = False, *, key: str, **kwargs: Any) -> bool:
        """`st.toggle` bound to the link (1 or 0)."""
        return self._flag("toggle", label, value, key, kwargs)

    def _typed(self, widget: str, label: str, value: str | None, key: str, kwargs: dict) -> Any:
        limit = kwargs.get("max_chars")
        default = value if value is not None else ""

        def parse(raw: str) -> str:
            if limit is not None and len(raw) > limit:
                raise _InvalidLinkError(raw)
            return raw

        def fits(v: Any) -> bool:
            return isinstance(v, str) and (limit is None or len(v) <= limit)

        def draw() -> Any:
            return getattr(self._st, widget)(label, value=value, key=key, **kwargs)

        return self._bound(label, key, default, parse, str, draw, fits, repr(default))

    def text_input(self, label: str, value: str | None = "", *, key: str, **kwargs: Any) -> Any:
        """`st.text_input` bound to the link (the text itself)."""
        return self._typed("text_input", label, value, key, kwargs)

    def text_area(self, label: str, value: str | None = "", *, key: str, **kwargs: Any) -> Any:
        """`st.text_area` bound to the link (the text itself)."""
        return self._typed("text_area", label, value, key, kwargs)

    # -- values that are not widgets --

    def value(
        self,
        key: str,
        default: T,
        *,
        parse: Callable[[str], T],
        encode: Callable[[T], str] = str,
        label: str | None = None,
    ) -> BoundValue[T]:
        """A value kept in the link under `key`: `parse` turns link text into it (and may raise)."""
        store = st.session_state.get(_VALUES)
        if store is None:
            store = {}
            st.session_state[_VALUES] = store
        value, revision = store.get(key, (default, 0))
        changed, raw = _link_changed(key, widget=False)
        if changed:
            revision += 1
            value = default
            if raw is not None:
                try:
                    value = parse(raw)
                except Exception:
                    _note(label or key, raw, "the page's default")
            store[key] = (value, revision)
            encoded = encode(value)
            _write_back(key, None if encoded == encode(default) else encoded)
        return BoundValue(key, default, encode, value, revision)


url = UrlWidgets()
