"""Messages on the page: errors, warnings and notes whose text may hold what a visitor typed or linked.

Streamlit renders message text as Markdown, so text from a link or a file could otherwise become a live
link or a remote image inside an error box. Every such text goes through `escape_markdown` first; the
helpers here do it for you.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import streamlit as st

from cnnviz.errors import ConvConfigError

__all__ = ["config_errors_shown", "escape_markdown", "show_error", "show_warning"]

# What can turn text into Markdown structure: code, emphasis, strike-through, LaTeX ($), HTML and <...>
# autolinks, links and images ([...]), Streamlit's coloured spans (:red[...]). Escaped, each shows as itself.
_ALWAYS = re.compile(r"[\\`*$~<>\[\]]")
_UNDERSCORE = re.compile(r"(?<![0-9A-Za-z])_|_(?![0-9A-Za-z])")  # inside a word (in_channels) it is plain
_LINE_START = re.compile(r"^(\s*)([#>+=|-]|\d+[.)])")  # a heading, quote, list or table at the start
_BARE_LINK = re.compile(r"(?i)(://|\bwww\.|@)")  # bare URLs and e-mail addresses that would become links
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
MAX_MESSAGE = 600  # characters: a message quotes a visitor's text, it does not reprint it


def escape_markdown(text: object, limit: int = MAX_MESSAGE) -> str:
    """`text` as Markdown that renders exactly as these characters, on one line, at most `limit` long.

    Ordinary sentences come back unchanged; only what Markdown would act on is backslash-escaped.
    """
    plain = _CONTROL.sub(" ", str(text))
    if len(plain) > limit:
        plain = plain[: limit - 1] + "…"
    out = _ALWAYS.sub(lambda m: "\\" + m.group(0), plain)
    out = _UNDERSCORE.sub(r"\\_", out)
    out = _BARE_LINK.sub(
        lambda m: m.group(0).replace(":", "\\:").replace(".", "\\.").replace("@", "\\@"), out
    )
    return _LINE_START.sub(lambda m: m.group(1) + _escape_marker(m.group(2)), out)


def _escape_marker(marker: str) -> str:
    """'#' -> '\\#', '1.' -> '1\\.': the list, heading or quote marker made literal."""
    return marker[:-1] + "\\" + marker[-1] if marker[0].isdigit() else "\\" + marker


def show_error(exc: BaseException, where: Any = None) -> None:
    """An error as a red box with its message only: never a traceback, never live Markdown."""
    target = st if where is None else where
    if isinstance(exc, ConvConfigError):
        target.error(escape_markdown(exc), icon=":material/error:")
    else:
        target.error(
            f"This could not be computed ({type(exc).__name__}). Try other settings.",
            icon=":material/error:",
        )


def show_warning(text: str, where: Any = None, icon: str = ":material/warning:") -> None:
    """A yellow box with `text` shown literally (it may quote a visitor's input)."""
    (st if where is None else where).warning(escape_markdown(text), icon=icon)


@contextmanager
def config_errors_shown(where: Any = None) -> Iterator[None]:
    """Run the block; if it raises a `ConvConfigError`, show it with `show_error` and carry on after it."""
    try:
        yield
    except ConvConfigError as exc:
        show_error(exc, where)
