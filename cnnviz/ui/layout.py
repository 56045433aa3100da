"""The frame every page shares: page config, title, one-line "why", and the standard sidebar."""

from __future__ import annotations

import base64
import gc
import importlib
import logging
import threading
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

import streamlit as st
from streamlit.errors import StreamlitPageNotFoundError

if TYPE_CHECKING:  # pragma: no cover
    from streamlit.delta_generator import DeltaGenerator

from cnnviz.ui.messages import config_errors_shown, show_error
from cnnviz.ui.pages import MAIN_SCRIPT, REPO_ROOT, discover_pages
from cnnviz.ui.presentation import PRESENT_KEY, PRESENT_STYLE
from cnnviz.ui.training_session import keep_alive
from cnnviz.ui.url_state import begin_run, notes_slot, share_slot, url

__all__ = [
    "ABOUT",
    "APP_ICON",
    "APP_NAME",
    "HOME_ICON",
    "PAGE_ICON",
    "config_errors_shown",
    "page_header",
    "presentation_query",
    "show_error",
    "side_by_side",
]

APP_NAME = "cnnviz"
# The favicon as a data URL, read once: no font host is asked, and a file path would be read, hashed and
# registered with the media store again on every run.
APP_ICON = (
    "data:image/png;base64," + base64.b64encode((REPO_ROOT / "assets" / "favicon.png").read_bytes()).decode()
)
HOME_ICON = ":material/home:"
PAGE_ICON = ":material/article:"  # for pages whose file name starts with no emoji
SHARE_KEY = "cnnviz-share"  # the "Share this view" popover
ABOUT = (
    "**cnnviz** computes convolutions and explains every number: shapes, dot products, pooling, "
    "transposed convolutions, receptive fields. Every result comes from the `cnnviz` Python "
    "package, so it can be checked from Python too."
)

# Larger type for the one-line "why" under the title (not for a link's notes under it), kept to a readable
# line length; thin rules under the page list and under the page's controls. Rules drawn by CSS, not
# `st.divider()`: every element a run draws is a websocket message, ~0.2 ms of server time each, and this
# frame is on every page.
_STYLE = (
    "<style>.st-key-cnnviz-why p{font-size:1.3rem;line-height:1.45;max-width:62rem;"
    "margin-top:-0.5rem}"
    ".st-key-cnnviz-why [data-testid=stAlert] p{font-size:inherit;line-height:inherit;max-width:none;"
    "margin-top:0}"
    ".st-key-cnnviz-nav{border-bottom:1px solid #c5cad3;padding-bottom:1rem;margin-bottom:.5rem}"
    ".st-key-cnnviz-controls{border-bottom:1px solid #c5cad3;padding-bottom:1.5rem;margin-bottom:.5rem}"
    "</style>"
)


# Python's cycle collector walks every object it tracks in a full collection: with Streamlit, Plotly, SciPy
# and torch loaded, some 200,000 objects, so each full collection stopped every session of the process for
# 80-115 ms, and collections took ~5 ms of a control change's server time on average. The objects loaded
# by then (modules, functions, classes) live as long as the process, so after a page's first runs they are
# moved out of the collector's sight (`gc.freeze`); objects made later are collected as usual, and frozen
# ones are still freed when nothing refers to them. Only garbage in reference cycles among frozen objects
# stays: at most what a few runs per page left, once per process.
HEAP_SETTLING_RUNS = 2  # runs of each page, in a process, that end with a collection and a freeze
_heap_runs: Counter[str] = Counter()
_heap_lock = threading.Lock()


def settle_heap(page: str) -> bool:
    """On each of a page's first `HEAP_SETTLING_RUNS` runs in this process, collect the garbage there is
    and freeze what is left (see above). Returns whether it did."""
    with _heap_lock:
        if _heap_runs[page] >= HEAP_SETTLING_RUNS:
            return False
        _heap_runs[page] += 1
    gc.collect()
    gc.freeze()
    return True


# Modules a page needs that take long to import: torch, for live training, takes 1.4 s. The first run of any
# page in a process starts importing them in a background thread, so that the first visit to that page
# does not wait for them. It waits PRELOAD_DELAY_S first: the import holds the GIL and a core for most of
# its 1.4 s, which cost the first page's own first load ~0.3 s when it began at once (medians of 4 cold
# starts in Chromium: Home 3.19 s against 2.86 s without preloading; Live training, visited next, 1.95
# against 3.02 s). With the delay, in another 4 pairs: Home 2.25 against 2.40 s, Live training visited
# at once after Home 2.34 against 2.47 s. A person reads the page they opened for longer than that.
PRELOADED = ("cnnviz.ui.training_view",)
PRELOAD_DELAY_S = 2.0
_preload: threading.Thread | None = None
_preload_lock = threading.Lock()


def preload(modules: tuple[str, ...] = PRELOADED, delay: float = PRELOAD_DELAY_S) -> threading.Thread:
    """Import `modules` in a daemon thread after `delay` seconds, once per process; the thread (started by
    the first call)."""
    global _preload
    with _preload_lock:
        if _preload is None:
            _preload = threading.Timer(delay, _import_all, args=(modules,))
            _preload.name, _preload.daemon = "cnnviz-preload", True
            _preload.start()
        return _preload


def _import_all(modules: tuple[str, ...]) -> None:
    for name in modules:
        try:
            importlib.import_module(name)
        except Exception:  # the page that imports it will fail the same way, and say so in the page
            logging.getLogger(__name__).exception("preloading %s failed", name)


def page_header(title: str, why: str, root: Path | None = None) -> DeltaGenerator:
    """Configure the page, show its title and one-line why, and return the sidebar box for its controls.

    Call it first on every page, then put the page's controls in the returned container
    (``controls = page_header(...)``, then ``with controls: st.slider(...)``) so that they sit
    between the page list and the sidebar's "About". Below the why, notes about a link's rejected
    values appear; the sidebar ends with the presentation-mode switch and this view's link. `root` is
    the folder of `app.py` and `pages/` (the repository's, unless the app is run from a copy).
    """
    settle_heap(title)  # the page's modules are loaded by now: its imports ran before this call
    preload()
    begin_run(title)
    st.set_page_config(
        page_title=f"{title} · {APP_NAME}" if title != APP_NAME else APP_NAME,
        page_icon=APP_ICON,
        layout="wide",
        initial_sidebar_state="expanded",
        menu_items={"About": ABOUT},
    )
    st.title(title, anchor=False)
    why_box = st.container(key="cnnviz-why")
    why_box.markdown(why)
    notes_slot(why_box)  # a link's rejected values are said right under the why
    pages = discover_pages(root or REPO_ROOT)
    nav = st.sidebar.container(key="cnnviz-nav") if pages else None
    holder = st.sidebar.container(key="cnnviz-controls")
    present = url.at(st.sidebar).toggle(
        "Presentation mode", key=PRESENT_KEY,
        help="Large type and cells, colour-blind-safe colour scales, controls that fold away.",
    )  # fmt: skip
    # The link sits in a popover: a popover's body is only drawn in the browser when it opens, so a page
    # whose only code block is this link never loads the code highlighter (1.5 MB of script, ~0.3 s of a
    # first load's main thread).
    share = st.sidebar.popover("Share this view", icon=":material/link:", key=SHARE_KEY, width="stretch")
    share.caption("The link holds every setting (an uploaded picture excepted: upload it again).")
    share_slot(share.empty())
    st.sidebar.caption(f"**About.** {ABOUT}")
    keep_alive()  # a training run lives while its tab is open, on whatever page
    st.html(_STYLE + PRESENT_STYLE if present else _STYLE)  # one element: styles apply wherever they sit
    if nav is not None:
        with nav:
            _nav_links(present, pages)
    return holder.expander("Controls", expanded=True) if present else holder


def side_by_side(where: DeltaGenerator | None = None, *, wrap: bool = False) -> DeltaGenerator:
    """A row for elements side by side: `st.columns` without the columns, their boxes level at the bottom.

    One block, where `st.columns(n)` sends n + 1: every element a run draws is a websocket message, about
    0.2 ms of server time each, and a page draws 70 to 140 of them. Its elements share the row's width
    (a widget's own `width` still applies). `wrap`: let them flow onto another line when the row is too
    narrow (for a main-area row that may meet a narrow window); in the sidebar's fixed width they never
    need to.
    """
    return (where or st).container(horizontal=True, wrap=wrap, vertical_alignment="bottom")


def presentation_query() -> dict[str, str]:
    """Query parameters that keep presentation mode on across a page link (empty when it is off)."""
    return {PRESENT_KEY: "1"} if st.session_state.get(PRESENT_KEY) else {}


def _nav_links(present: bool, pages: list) -> None:
    """Links to Home and to every page in `pages/`, drawn in the current container; in presentation mode
    they carry `?present=1`, so that the mode follows the class from page to page. Nothing is drawn when
    there is no app around.

    A page run on its own (`streamlit run pages/x.py`, or a test of one page) is its own entry script:
    Streamlit then knows no Home or other pages to link to, and says so by raising.
    """
    query = {PRESENT_KEY: "1"} if present else None
    try:
        st.page_link(MAIN_SCRIPT, label="Home", icon=HOME_ICON, query_params=query)
    except StreamlitPageNotFoundError:
        return
    for page in pages:
        st.page_link(page.rel_path, label=page.title, icon=page.icon or PAGE_ICON, query_params=query)
