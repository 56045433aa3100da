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
    presentation_query,
    show_error,
    sidebar_nav,
)
from cnnviz.ui.pages import PageInfo, app_root, discover_pages
from cnnviz.ui.presentation import chart, is_presenting, present_figure
from cnnviz.ui.url_state import BoundValue, UrlWidgets, current_link, url

__all__ = [
    "ABOUT",
    "BoundValue",
    "APP_ICON",
    "APP_NAME",
    "HOME_ICON",
    "PAGE_ICON",
    "PageInfo",
    "UrlWidgets",
    "app_root",
    "chart",
    "config_errors_shown",
    "current_link",
    "discover_pages",
    "is_presenting",
    "page_header",
    "present_figure",
    "presentation_query",
    "show_error",
    "sidebar_nav",
    "url",
]
