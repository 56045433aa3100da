"""Find the app's pages in `pages/`, in the order and under the names Streamlit gives them."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx
from streamlit.source_util import page_icon_and_name, page_sort_key

__all__ = ["PageInfo", "REPO_ROOT", "app_root", "discover_pages", "page_summary"]

REPO_ROOT: Path = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class PageInfo:
    """One page of the app: its file, its title and icon as Streamlit shows them, its URL path, a summary."""

    path: Path
    rel_path: str
    title: str
    icon: str
    url_path: str
    summary: str


def app_root() -> Path:
    """The folder of the script given to `streamlit run` (the repository when run outside Streamlit)."""
    ctx = get_script_run_ctx(suppress_warning=True)
    if ctx is not None and ctx.main_script_path:
        return Path(ctx.main_script_path).resolve().parent
    return REPO_ROOT


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
    base = (root if root is not None else app_root()).resolve()
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
