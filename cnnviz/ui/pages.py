"""Find the app's pages in `pages/`, in the order and under the names Streamlit gives them.

Streamlit's documented rules for a `pages/` folder: files sort by their leading number (files without one
come last), then by name; the label is the file name without that number and the separators after it,
with underscores shown as spaces; a leading emoji becomes the page's icon. The URL path keeps underscores.
"""

from __future__ import annotations

import ast
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

__all__ = ["MAIN_SCRIPT", "PageInfo", "REPO_ROOT", "discover_pages", "page_summary"]

REPO_ROOT: Path = Path(__file__).resolve().parents[2]
MAIN_SCRIPT = "app.py"  # the script given to `streamlit run`, next to `pages/`
_PAGE_NAME = re.compile(r"([0-9]*)[_ -]*(.*)\.py")
# Characters that continue an emoji: variation selectors, zero-width joiner, skin tones, keycaps, tags.
_KEYCAP = re.compile("[0-9#*]\ufe0f?\u20e3")
_EMOJI_PARTS = re.compile(r"[\ufe0e\ufe0f\u200d\u20e3\U0001f3fb-\U0001f3ff\U000e0020-\U000e007f]")


@dataclass(frozen=True)
class PageInfo:
    """One page of the app: its file, its title and icon as Streamlit shows them, its URL path, a summary."""

    path: Path
    rel_path: str
    title: str
    icon: str
    url_path: str
    summary: str


def page_sort_key(path: Path) -> tuple[float, str]:
    """Streamlit's page order: by the leading number (none: last), then by the name, ignoring case."""
    number, name = _PAGE_NAME.fullmatch(path.name).groups()  # type: ignore[union-attr]
    return (float(number) if number else float("inf"), name.lower())


def _leading_emoji(name: str) -> tuple[str, str]:
    """('🔍', 'Dot_products') for '🔍_Dot_products'; ('', name) when the name starts with no emoji."""
    keycap = _KEYCAP.match(name)
    if keycap:
        end = keycap.end()
    elif len(name) >= 2 and all(_is_regional(ch) for ch in name[:2]):
        end = 2  # a flag: two regional indicator letters
    elif name and unicodedata.category(name[0]) == "So":
        end = 1
        while end < len(name) and (
            _EMOJI_PARTS.match(name[end])
            or (name[end - 1] == "\u200d" and unicodedata.category(name[end]) == "So")
        ):
            end += 1
    else:
        return "", name
    return name[:end], name[end:].lstrip("_- ")


def _is_regional(ch: str) -> bool:
    return "\U0001f1e6" <= ch <= "\U0001f1ff"


def page_icon_and_name(path: Path) -> tuple[str, str]:
    """A page file's icon (a leading emoji, or '') and its URL name ('Dot_products')."""
    match = _PAGE_NAME.fullmatch(path.name)
    if match is None:
        return "", ""
    number, rest = match.groups()
    name = re.sub(r"[_ ]+", "_", rest).strip() or number
    return _leading_emoji(name)


@lru_cache(maxsize=256)
def _summary(path: Path, mtime_ns: int) -> str:
    """First docstring line of one version of a file (the mtime is part of the cache key)."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
        return ""
    doc = ast.get_docstring(tree)
    return doc.strip().splitlines()[0].strip() if doc and doc.strip() else ""


def page_summary(path: Path) -> str:
    """The first line of a page file's module docstring, or "" (the file is parsed, never run)."""
    try:
        mtime_ns = path.stat().st_mtime_ns
    except OSError:
        return ""
    return _summary(path, mtime_ns)


def discover_pages(root: Path | None = None) -> list[PageInfo]:
    """Every page script in `root/pages/`, sorted and named exactly as Streamlit names them."""
    base = (root if root is not None else REPO_ROOT).resolve()
    folder = base / "pages"
    if not folder.is_dir():
        return []
    files = sorted(
        (
            p
            for p in folder.glob("*.py")
            if p.is_file() and not p.name.startswith(".") and p.name != "__init__.py"
        ),
        key=page_sort_key,
    )
    pages = []
    for path in files:
        icon, name = page_icon_and_name(path)
        pages.append(
            PageInfo(
                path=path,
                rel_path=f"pages/{path.name}",
                title=name.replace("_", " ").strip(),
                icon=icon,
                url_path=name,
                summary=page_summary(path),
            )
        )
    return pages
