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

__all__ = [
    "ABOUT",
    "APP_ICON",
    "APP_NAME",
    "HOME_ICON",
    "PAGE_ICON",
    "config_errors_shown",
    "page_header",
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
    between the page list and the sidebar's "About".
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
    sidebar_nav()
    controls = st.sidebar.container()
    with st.sidebar.container():
        st.markdown("**About**")
        st.caption(ABOUT)
    return controls


def sidebar_nav() -> None:
    """Links to Home and to every page in `pages/`, at the top of the sidebar (nothing if there are none)."""
    root = app_root()
    pages = discover_pages(root)
    if not pages:
        return
    with st.sidebar.container(key="cnnviz-nav"):
        st.page_link(_main_script(root), label="Home", icon=HOME_ICON)
        for page in pages:
            st.page_link(page.rel_path, label=page.title, icon=page.icon or PAGE_ICON)
    st.sidebar.divider()


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
