"""Streamlit helpers shared by the app's pages: the only part of cnnviz that imports streamlit.

A page starts with `controls = page_header(title, why)`, draws its controls in `controls` with the
URL-bound widgets of `url`, figures with `chart`, typed grids with `typed_grid`, and errors with
`show_error` (text a visitor typed or linked always goes through `escape_markdown`).
"""

from __future__ import annotations

from cnnviz.ui.channel_values import typed_channel_values
from cnnviz.ui.conv_controls import ConvSettings, clamp_state, conv_controls, take_cell_click, typed_values
from cnnviz.ui.grids import typed_grid
from cnnviz.ui.hover_grid import hover_grid
from cnnviz.ui.image_picker import image_picker, upload_link_note
from cnnviz.ui.layout import (
    ABOUT,
    APP_ICON,
    APP_NAME,
    HOME_ICON,
    PAGE_ICON,
    page_header,
    presentation_query,
    side_by_side,
)
from cnnviz.ui.messages import config_errors_shown, escape_markdown, show_error, show_warning
from cnnviz.ui.pages import PageInfo, discover_pages
from cnnviz.ui.presentation import chart, is_presenting, present_figure, table
from cnnviz.ui.sections import size_steps
from cnnviz.ui.url_state import BoundValue, UrlWidgets, current_link, url

__all__ = [
    "upload_link_note",
    "image_picker",
    "typed_values",
    "take_cell_click",
    "conv_controls",
    "clamp_state",
    "ConvSettings",
    "ABOUT",
    "APP_ICON",
    "APP_NAME",
    "BoundValue",
    "HOME_ICON",
    "PAGE_ICON",
    "PageInfo",
    "UrlWidgets",
    "chart",
    "config_errors_shown",
    "current_link",
    "discover_pages",
    "escape_markdown",
    "is_presenting",
    "page_header",
    "present_figure",
    "presentation_query",
    "show_error",
    "show_warning",
    "side_by_side",
    "table",
    "typed_channel_values",
    "size_steps",
    "typed_grid",
    "hover_grid",
    "url",
]
