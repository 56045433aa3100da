"""URL-bound widgets in Chromium: the address bar follows the controls, a copied link reopens the same view
in a fresh browser, a tampered link shows a note; presentation mode travels in the link on the real app."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.conftest import REPO_ROOT
from tests.e2e.actions import RUN_TIMEOUT_MS, rerun_after, set_number, settle, share_link
from tests.e2e.conftest import free_port, stop, wait_until_healthy

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

BOUND_APP = """
import streamlit as st
from cnnviz.ui import page_header, url

controls = page_header("Bound", "Every control is in the link.")
with controls:
    stride = url.number_input("Stride", 1, 8, 2, key="b_stride")
    mode = url.selectbox("Padding mode", ["zeros", "reflect", "circular"], key="b_mode")
kind = url.radio("Kind", ["max", "avg"], key="b_kind", horizontal=True)
ceil = url.checkbox("ceil_mode", key="b_ceil")
st.markdown(f"state: stride={stride} mode={mode} kind={kind} ceil={ceil}")
"""


@pytest.fixture(scope="module")
def bound_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A one-page app built from URL-bound widgets, served by `streamlit run` on a free port."""
    folder = tmp_path_factory.mktemp("bound_app")
    (folder / "bound.py").write_text(textwrap.dedent(BOUND_APP))
    port, log = free_port(), folder / "server.log"
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "bound.py", "--server.headless", "true",
             "--server.fileWatcherType", "none", "--server.address", "127.0.0.1", "--server.port", str(port),
             "--browser.gatherUsageStats", "false"],
            cwd=folder, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip
    try:
        wait_until_healthy(f"http://127.0.0.1:{port}", proc, log)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(proc)


def fresh(browser: Browser, address: str) -> Page:
    """A new browser context (no shared session or cookies) on `address`."""
    context = browser.new_context(viewport={"width": 1400, "height": 1200})
    page = context.new_page()
    page.set_default_timeout(RUN_TIMEOUT_MS)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.js_errors = errors  # type: ignore[attr-defined]
    page.goto(address)
    settle(page)
    return page


def query(page: Page) -> dict[str, list[str]]:
    return parse_qs(urlsplit(page.url).query)


def clean(page: Page) -> None:
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)
    assert page.js_errors == []  # type: ignore[attr-defined]


def choose_option(page: Page, key: str, option: str) -> None:
    page.locator(f".st-key-{key} input").click()
    rerun_after(page, page.get_by_role("listbox").get_by_role("option", name=option, exact=True).click)


def test_copied_link_reopens_the_same_view(bound_url: str, browser: Browser, screenshots_dir: Path) -> None:
    page = fresh(browser, bound_url)
    state = page.get_by_text("state:")
    expect(state).to_have_text("state: stride=2 mode=zeros kind=max ceil=False")
    assert query(page) == {}  # defaults keep the link bare
    set_number(page, "b_stride", 5)
    choose_option(page, "b_mode", "circular")
    rerun_after(page, page.locator(".st-key-b_kind").get_by_text("avg").click)
    rerun_after(page, page.locator(".st-key-b_ceil").get_by_text("ceil_mode").click)
    expect(state).to_have_text("state: stride=5 mode=circular kind=avg ceil=True")
    page.wait_for_function("() => location.search.includes('b_ceil=1')")
    assert query(page) == {"b_stride": ["5"], "b_mode": ["circular"], "b_kind": ["avg"], "b_ceil": ["1"]}
    link = share_link(page).inner_text().strip()
    assert link.startswith(bound_url) and parse_qs(urlsplit(link).query) == query(page)
    page.screenshot(path=str(screenshots_dir / "url_state_set.png"))
    clean(page)

    again = fresh(browser, link)
    expect(again.get_by_text("state:")).to_have_text("state: stride=5 mode=circular kind=avg ceil=True")
    expect(again.locator(".st-key-b_stride input")).to_have_value("5")
    expect(again.locator('[data-testid="stAlert"]')).to_have_count(0)
    # Back to the default: the key leaves the link.
    set_number(again, "b_stride", 2)
    again.wait_for_function("() => !location.search.includes('b_stride')")
    clean(again)
    page.context.close()
    again.context.close()


def test_tampered_link_shows_notes_and_defaults(
    bound_url: str, browser: Browser, screenshots_dir: Path
) -> None:
    page = fresh(browser, f"{bound_url}/?b_stride=999&b_mode=%3Cscript%3E&b_kind=avg&b_ceil=perhaps")
    expect(page.get_by_text("state:")).to_have_text("state: stride=2 mode=zeros kind=avg ceil=False")
    notes = page.locator('[data-testid="stMain"] [data-testid="stAlert"]')
    expect(notes).to_have_count(3)
    expect(notes.first).to_contain_text("The link's value for 'Stride'")
    expect(notes.first).to_contain_text("is not valid; using 2.")
    page.wait_for_function("() => location.search === '?b_kind=avg'")
    page.screenshot(path=str(screenshots_dir / "url_state_tampered.png"))
    clean(page)
    page.context.close()


def test_presentation_mode_travels_in_the_link(app_url: str, browser: Browser, screenshots_dir: Path) -> None:
    page = fresh(browser, f"{app_url}/Pooling")
    rerun_after(page, page.locator(".st-key-present").get_by_text("Presentation mode").click)
    page.wait_for_function("() => location.search.includes('present=1')")
    expect(page.locator('[data-testid="stSidebar"] [data-testid="stExpander"]')).to_have_count(1)
    size = page.evaluate("() => getComputedStyle(document.documentElement).fontSize")
    assert size == "22px"
    page.screenshot(path=str(screenshots_dir / "presentation_pooling.png"))
    # The page links carry the mode to the next page.
    nav = page.locator('[data-testid="stSidebar"] a[href*="Convolution_1D"]')
    assert nav.get_attribute("href").endswith("?present=1")
    nav.click()
    page.wait_for_function("() => location.pathname.endsWith('Convolution_1D')")
    settle(page)
    expect(page.locator(".st-key-present input")).to_be_checked()
    clean(page)
    link = page.url
    page.context.close()

    other = fresh(browser, link)
    expect(other.locator(".st-key-present input")).to_be_checked()
    assert other.evaluate("() => getComputedStyle(document.documentElement).fontSize") == "22px"
    clean(other)
    other.context.close()
