"""Open every page of the running app in Chromium: it renders, shows no exception and no error box."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Locator, Page, expect
from streamlit.source_util import page_icon_and_name, page_sort_key

from tests.conftest import REPO_ROOT, page_files

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

RUN_TIMEOUT_MS = 90_000
VIEWPORT = {"width": 1440, "height": 900}
README_SCREENSHOT = REPO_ROOT / "assets" / "screenshot-home.png"
# url path -> number of st.error boxes a page shows on first load on purpose (none so far).
EXPECTED_ERRORS: dict[str, int] = {}


@dataclass(frozen=True)
class Target:
    """One page to open: its URL path ("" for Home), its file, and its sidebar title."""

    url_path: str
    file: str
    title: str


def targets() -> list[Target]:
    """Home, then every page in pages/ in sidebar order, named the way Streamlit 1.67 names them."""
    found = [Target("", "app.py", "Home")]
    for path in sorted(page_files(), key=page_sort_key):
        _icon, name = page_icon_and_name(path)
        found.append(Target(name, f"pages/{path.name}", name.replace("_", " ")))
    return found


TARGETS = targets()


@pytest.fixture()
def page(browser: Browser) -> Iterator[Page]:
    """A fresh browser context and tab per test, with JavaScript errors collected."""
    context = browser.new_context(viewport=VIEWPORT, device_scale_factor=1, locale="en-GB")
    tab = context.new_page()
    tab.set_default_timeout(RUN_TIMEOUT_MS)
    js_errors: list[str] = []
    tab.on("pageerror", lambda exc: js_errors.append(str(exc)))
    tab.js_errors = js_errors  # type: ignore[attr-defined]
    try:
        yield tab
    finally:
        context.close()


def wait_for_run(page: Page) -> None:
    """Wait until the app is connected, its script has finished, and the page's content is on screen.

    After an in-app page switch, first wait for something the new page's run changes (its URL and
    browser title), since the script state still reads "notRunning" until the new run starts.
    """
    app = page.locator('[data-testid="stApp"]')
    expect(app).to_have_attribute("data-test-connection-state", "CONNECTED", timeout=RUN_TIMEOUT_MS)
    expect(app).to_have_attribute("data-test-script-state", "notRunning", timeout=RUN_TIMEOUT_MS)
    expect(page.locator('[data-testid="stMain"] h1').first).to_be_visible(timeout=RUN_TIMEOUT_MS)
    expect(page.locator('[data-testid="stSkeleton"]')).to_have_count(0, timeout=RUN_TIMEOUT_MS)


def assert_no_errors(page: Page, url_path: str) -> None:
    """No exception block, no error box beyond the expected ones, no JavaScript error."""
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)
    errors = page.locator('[data-testid="stAlertContentError"]')
    expect(errors).to_have_count(EXPECTED_ERRORS.get(url_path, 0))
    assert page.js_errors == []  # type: ignore[attr-defined]


def screenshot_whole_page(page: Page, path: Path) -> None:
    """Screenshot everything on the page: Streamlit scrolls inside its own panes, so grow the viewport."""
    height = page.evaluate(
        """() => Math.max(...['[data-testid="stMain"]', '[data-testid="stSidebarContent"]']
            .map(s => document.querySelector(s)?.scrollHeight ?? 0))"""
    )
    tall = max(VIEWPORT["height"], min(int(height), 12_000))
    page.set_viewport_size({"width": VIEWPORT["width"], "height": tall})
    expect(page.locator('[data-testid="stApp"]')).to_have_attribute("data-test-script-state", "notRunning")
    page.screenshot(path=str(path))
    page.set_viewport_size(VIEWPORT)


def link_paths(links: Locator) -> list[str]:
    """The URL path each link points to, resolved by the browser, without slashes around it."""
    hrefs = links.evaluate_all("els => els.map(a => new URL(a.href, document.baseURI).pathname)")
    return [h.strip("/") for h in hrefs]


@pytest.mark.parametrize("target", TARGETS, ids=[t.title for t in TARGETS])
def test_page_renders_without_errors(target: Target, page: Page, app_url: str, screenshots_dir: Path) -> None:
    page.goto(f"{app_url}/{target.url_path}")
    wait_for_run(page)
    assert_no_errors(page, target.url_path)
    # Still on the page asked for: an unknown path falls back to Home with a "Page not found" dialog.
    expect(page).to_have_url(f"{app_url}/{target.url_path}")
    expect(page.get_by_role("dialog")).to_have_count(0)
    if target.url_path:
        expect(page).not_to_have_title("cnnviz")
    else:
        expect(page).to_have_title("cnnviz")
        expect(page.locator('[data-testid="stMain"] h1').first).to_have_text("cnnviz")
    if not target.url_path and os.environ.get("CNNVIZ_UPDATE_SCREENSHOTS") == "1":
        README_SCREENSHOT.parent.mkdir(exist_ok=True)
        page.screenshot(path=str(README_SCREENSHOT))
    shot = screenshots_dir / f"{target.url_path or 'Home'}.png"
    screenshot_whole_page(page, shot)
    assert shot.stat().st_size > 10_000


def test_home_links_and_sidebar_match_pages_folder(page: Page, app_url: str) -> None:
    page.goto(app_url)
    wait_for_run(page)
    pages = [t.url_path for t in TARGETS[1:]]
    main_links = page.locator('.st-key-cnnviz-pages [data-testid="stPageLink"] a')
    expect(main_links).to_have_count(len(pages))
    assert link_paths(main_links) == pages
    # Streamlit's own page list is hidden; the shared sidebar lists Home and every page, in order.
    expect(page.locator('[data-testid="stSidebarNav"]')).to_have_count(0)
    nav = page.locator('[data-testid="stSidebar"] [data-testid="stPageLink"] a')
    if pages:
        expect(nav).to_have_count(len(TARGETS))
        assert link_paths(nav) == ["", *pages]
        expect(nav.first).to_have_accessible_name("Home")
    else:
        expect(nav).to_have_count(0)


def test_page_links_switch_pages(page: Page, app_url: str) -> None:
    page.goto(app_url)
    wait_for_run(page)
    for target in TARGETS[1:]:
        grid = page.locator(".st-key-cnnviz-pages")
        link = grid.locator('[data-testid="stPageLink"] a').filter(has_text=target.title)
        expect(link).to_have_count(1)
        link.click()
        expect(page).to_have_url(f"{app_url}/{target.url_path}")
        expect(page).not_to_have_title("cnnviz", timeout=RUN_TIMEOUT_MS)
        wait_for_run(page)
        assert_no_errors(page, target.url_path)
        page.locator('[data-testid="stSidebar"] [data-testid="stPageLink"] a').first.click()
        expect(page).to_have_url(re.compile(rf"^{re.escape(app_url)}/?$"))
        expect(page).to_have_title("cnnviz", timeout=RUN_TIMEOUT_MS)
        wait_for_run(page)
        expect(page.locator('[data-testid="stMain"] h1').first).to_have_text("cnnviz")
