"""The frame every page shares: page config, title, one-line "why", and the standard sidebar."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import streamlit as st
from streamlit.delta_generator import DeltaGenerator
from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

from cnnviz.errors import ConvConfigError
from cnnviz.ui.pages import app_root, discover_pages
from cnnviz.ui.presentation import PRESENT_KEY, PRESENT_STYLE
from cnnviz.ui.url_state import notes_slot, share_slot, url

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
    "sidebar_nav",
]

APP_NAME = "cnnviz"
APP_ICON = ":material/grid_on:"
HOME_ICON = ":material/home:"
PAGE_ICON = ":material/article:"  # for pages whose file name starts with no emoji
ABOUT = (
    "**cnnviz** computes convolutions and explains every number: shapes, dot products, pooling, "
    "transposed convolutions, receptive fields. Every result comes from the `cnnviz` Python "
    "package, so it can be checked from Python too."
)

# Larger type for the one-line "why" under the title, kept to a readable line length.
_STYLE = (
    "<style>.st-key-cnnviz-why p{font-size:1.3rem;line-height:1.45;max-width:62rem;"
    "margin-top:-0.5rem}</style>"
)


def page_header(title: str, why: str, icon: str = APP_ICON) -> DeltaGenerator:
    """Configure the page, show its title and one-line why, and return the sidebar box for its controls.

    Call it first on every page, then put the page's controls in the returned container
    (``controls = page_header(...)``, then ``with controls: st.slider(...)``) so that they sit
    between the page list and the sidebar's "About". Below the why, notes about a link's rejected
    values appear; the sidebar ends with the presentation-mode switch and this view's link.
    """
    st.set_page_config(
        page_title=f"{title} · {APP_NAME}" if title != APP_NAME else APP_NAME,
        page_icon=icon,
        layout="wide",
        initial_sidebar_state="expanded",
        menu_items={"About": ABOUT},
    )
    st.title(title, anchor=False)
    st.html(_STYLE)
    st.container(key="cnnviz-why").markdown(why)
    notes_slot(st.container())
    pages = discover_pages(app_root())
    nav = st.sidebar.container(key="cnnviz-nav") if pages else None
    holder = st.sidebar.container()
    with st.sidebar.container(key="cnnviz-view"):
        st.divider()
        present = url.toggle(
            "Presentation mode", key=PRESENT_KEY,
            help="Large type and cells, colour-blind-safe colour scales, controls that fold away.",
        )  # fmt: skip
        st.markdown("**Share this view**")
        share_slot(st.empty())
        st.caption("The link holds every setting (an uploaded picture excepted: upload it again).")
    with st.sidebar.container():
        st.markdown("**About**")
        st.caption(ABOUT)
    if present:
        st.html(PRESENT_STYLE)
    if nav is not None:
        with nav:
            _nav_links(present, pages)
            st.divider()
    return holder.expander("Controls", expanded=True) if present else holder


def presentation_query() -> dict[str, str]:
    """Query parameters that keep presentation mode on across a page link (empty when it is off)."""
    return {PRESENT_KEY: "1"} if st.session_state.get(PRESENT_KEY) else {}


def sidebar_nav(present: bool | None = None) -> None:
    """Links to Home and to every page in `pages/`, at the top of the sidebar (nothing if there are none).

    In presentation mode the links carry `?present=1`, so the mode follows the class from page to page.
    """
    if not discover_pages(app_root()):
        return
    with st.sidebar.container(key="cnnviz-nav"):
        _nav_links(present)
    st.sidebar.divider()


def _nav_links(present: bool | None = None, pages: list | None = None) -> None:
    """The page links themselves, drawn in the current container."""
    root = app_root()
    on = present if present is not None else bool(st.session_state.get(PRESENT_KEY))
    query = {PRESENT_KEY: "1"} if on else None
    st.page_link(_main_script(root), label="Home", icon=HOME_ICON, query_params=query)
    for page in pages if pages is not None else discover_pages(root):
        st.page_link(page.rel_path, label=page.title, icon=page.icon or PAGE_ICON, query_params=query)


def show_error(exc: BaseException) -> None:
    """Show an error as a red box with its message only: no traceback ever reaches the page."""
    if isinstance(exc, ConvConfigError):
        st.error(str(exc), icon=":material/error:")
    else:
        st.error(
            f"This could not be computed ({type(exc).__name__}). Try other settings.",
            icon=":material/error:",
        )


@contextmanager
def config_errors_shown() -> Iterator[None]:
    """Run the block; if it raises a `ConvConfigError`, show it with `show_error` and carry on after it."""
    try:
        yield
    except ConvConfigError as exc:
        show_error(exc)


def _main_script(root: Path) -> str:
    """The entry script's path as `st.page_link` accepts it (relative to the app's folder)."""
    ctx = get_script_run_ctx(suppress_warning=True)
    if ctx is not None and ctx.main_script_path:
        return Path(ctx.main_script_path).name
    return str(root / "app.py")
