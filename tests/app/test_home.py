"""The home page runs, says what cnnviz is, and links to every page in pages/ (and to nothing else)."""

from __future__ import annotations

import shutil
from pathlib import Path
from urllib.parse import parse_qs

import pytest
from streamlit.source_util import page_icon_and_name, page_sort_key
from streamlit.testing.v1 import AppTest

from tests.conftest import REPO_ROOT, page_files

APP = REPO_ROOT / "app.py"
TIMEOUT = 60
LESSON_ICON = ":material/school:"


def page_links(at: AppTest) -> list:
    """The main area's links to pages (the lesson links aside)."""
    return [link for link in at.main.page_link if link.proto.icon != LESSON_ICON]


def run_home(app: Path = APP) -> AppTest:
    """Run the home page once and check that it raised nothing."""
    at = AppTest.from_file(str(app), default_timeout=TIMEOUT).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def expected_links(root: Path) -> list[tuple[str, str]]:
    """(url path, label) for each page file under root/pages, in Streamlit's sidebar order."""
    links = []
    for path in sorted(page_files(root), key=page_sort_key):
        _icon, name = page_icon_and_name(path)
        links.append((name, name.replace("_", " ")))
    return links


def test_home_runs_and_shows_title() -> None:
    at = run_home()
    assert [t.value for t in at.title] == ["cnnviz"]
    text = " ".join(m.value for m in at.markdown)
    topics = ("Shapes", "dot product", "Pooling", "Transposed convolution", "Receptive fields", "training")
    assert [t for t in topics if t not in text] == []
    assert not at.error


def test_home_links_every_page_in_pages_folder() -> None:
    at = run_home()
    links = [(link.proto.page, link.value) for link in page_links(at)]
    assert links == expected_links(REPO_ROOT)
    assert all(link.proto.page_script_hash for link in page_links(at))
    headers = [h.value for h in at.subheader]
    assert ("Pages" in headers) == bool(links)
    sidebar = [(link.proto.page, link.value) for link in at.sidebar.page_link]
    assert sidebar == ([("", "Home"), *links] if links else [])


@pytest.fixture()
def home_with_pages(tmp_path: Path) -> Path:
    """A copy of app.py next to a pages/ folder with awkward names, hidden files and a broken file."""
    shutil.copy(APP, tmp_path / "app.py")
    pages = tmp_path / "pages"
    pages.mkdir()
    (pages / "10_Receptive_fields.py").write_text('"""Which inputs an output sees."""\nimport streamlit\n')
    (pages / "2_🔍_Dot_products.py").write_text('"""Every multiply and add.\n\nMore text."""\n')
    (pages / "1_Shapes.py").write_text("# no docstring\n")
    (pages / "Training.py").write_text("def broken(:\n")
    (pages / "__init__.py").write_text("")
    (pages / ".hidden.py").write_text("")
    (pages / "notes.txt").write_text("not a page")
    return tmp_path / "app.py"


def test_home_lists_pages_found_at_run_time(home_with_pages: Path) -> None:
    at = run_home(home_with_pages)
    links = [(link.proto.page, link.value, link.proto.icon) for link in page_links(at)]
    assert len(page_links(at)) == len(at.main.page_link)  # no lesson's page exists here: no lesson links
    assert "Lessons" not in [h.value for h in at.subheader]
    assert links == [
        ("Shapes", "Shapes", ":material/article:"),
        ("Dot_products", "Dot products", "🔍"),
        ("Receptive_fields", "Receptive fields", ":material/article:"),
        ("Training", "Training", ":material/article:"),
    ]
    assert [(u, lbl) for u, lbl, _ in links] == expected_links(home_with_pages.parent)
    captions = [c.value for c in at.caption]
    assert "Every multiply and add." in captions
    assert "Which inputs an output sees." in captions
    assert not any("More text" in c for c in captions)
    assert "Pages" in [h.value for h in at.subheader]
    sidebar = [(link.proto.page, link.value) for link in at.sidebar.page_link]
    assert sidebar == [("", "Home"), *[(u, lbl) for u, lbl, _ in links]]


def test_home_without_pages_has_no_pages_section(tmp_path: Path) -> None:
    shutil.copy(APP, tmp_path / "app.py")
    at = run_home(tmp_path / "app.py")
    assert len(at.page_link) == 0  # neither in the main area nor in the sidebar
    assert "Pages" not in [h.value for h in at.subheader]
    assert not at.error


def test_home_links_every_lesson_with_its_query() -> None:
    from cnnviz.topics.lessons import LESSONS

    at = run_home()
    lessons = [link for link in at.main.page_link if link.proto.icon == LESSON_ICON]
    assert [link.value for link in lessons] == [lesson.title for lesson in LESSONS]
    for link, lesson in zip(lessons, LESSONS, strict=True):
        assert link.proto.page == Path(lesson.page).stem.split("_", 1)[1]
        assert parse_qs(link.proto.query_string) == {k: [v] for k, v in lesson.query.items()}
    assert "Lessons" in [h.value for h in at.subheader]
    assert all(lesson.goal in [c.value for c in at.caption] for lesson in LESSONS)


def test_home_links_keep_presentation_mode() -> None:
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.query_params["present"] = "1"
    at.run()
    assert not at.exception
    assert at.main.page_link and all("present=1" in link.proto.query_string for link in at.main.page_link)
