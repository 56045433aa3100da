"""Streamlit helpers shared by the app's pages: the only part of cnnviz that imports streamlit."""

from __future__ import annotations

from cnnviz.ui.layout import (
    ABOUT,
    APP_ICON,
    APP_NAME,
    HOME_ICON,
    PAGE_ICON,
    config_errors_shown,
    page_header,
    show_error,
    sidebar_nav,
)
from cnnviz.ui.pages import PageInfo, app_root, discover_pages

__all__ = [
    "ABOUT",
    "APP_ICON",
    "APP_NAME",
    "HOME_ICON",
    "PAGE_ICON",
    "PageInfo",
    "app_root",
    "config_errors_shown",
    "discover_pages",
    "page_header",
    "show_error",
    "sidebar_nav",
]
