"""Shared test settings: where the repository is, and the app's page files as Streamlit finds them."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT: Path = Path(__file__).resolve().parents[1]


def page_files(root: Path = REPO_ROOT) -> list[Path]:
    """The page scripts Streamlit serves from `root/pages/` (hidden files and `__init__.py` excluded)."""
    folder = root / "pages"
    if not folder.is_dir():
        return []
    return sorted(
        p
        for p in folder.glob("*.py")
        if p.is_file() and not p.name.startswith(".") and p.name != "__init__.py"
    )


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The repository's root folder (where app.py is)."""
    return REPO_ROOT


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test that is neither a browser test nor slow as `quick` (`pytest -m quick`)."""
    for item in items:
        if not item.get_closest_marker("browser") and not item.get_closest_marker("slow"):
            item.add_marker(pytest.mark.quick)
