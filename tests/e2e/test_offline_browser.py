"""A classroom may have no internet: every page loads everything it needs (scripts, fonts, icons, the
favicon) from the app itself, and asks no other host for anything."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Request, expect

from tests.conftest import page_files
from tests.e2e.actions import RUN_TIMEOUT_MS

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


def page_paths() -> list[str]:
    from cnnviz.ui.pages import page_icon_and_name

    return ["", *(page_icon_and_name(p)[1] for p in page_files())]


@pytest.mark.parametrize("path", page_paths(), ids=lambda p: p or "Home")
def test_a_page_asks_no_other_host_for_anything(browser: Browser, app_url: str, path: str) -> None:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    requested: list[str] = []

    def note(request: Request) -> None:
        requested.append(request.url)

    try:
        page = context.new_page()
        page.on("request", note)
        page.goto(f"{app_url}/{path}")
        expect(page.locator("[data-testid=stApp][data-test-script-state=notRunning]")).to_be_attached(
            timeout=RUN_TIMEOUT_MS
        )
        expect(page.locator("h1").first).to_be_visible(timeout=RUN_TIMEOUT_MS)
        # The favicon is the app's own picture: a data URL in the page, or a file of this server.
        icon = page.locator("link[rel*='icon']").first
        expect(icon).to_have_attribute("href", re.compile(r".+"))
        href = icon.get_attribute("href") or ""
        page.wait_for_load_state("networkidle")
    finally:
        context.close()
    here = urlsplit(app_url).netloc
    elsewhere = sorted(
        {
            url
            for url in requested
            if urlsplit(url).scheme in ("http", "https") and urlsplit(url).netloc != here
        }
    )
    assert elsewhere == []
    assert href and (href.startswith("/") or urlsplit(href).netloc in ("", here) or href.startswith("data:"))
