"""Links in Chromium on the real app: set controls on the network builder and the image-kernels page, read
the address bar, open it in a new browser context, and find the same values and the same results on screen.

Uses the shared server and browser of `tests/e2e/conftest.py` (`app_url`, `browser`, `screenshots_dir`).
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from cnnviz.network.layers import Tanh
from cnnviz.network.link import stack_to_link
from cnnviz.network.presets import PRESETS
from tests.e2e.actions import RUN_TIMEOUT_MS, choose, rerun_after, set_number, settle

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

VIEWPORT = {"width": 1440, "height": 1400}  # tall: the main pane scrolls


def fresh(browser: Browser, address: str, title: str) -> Page:
    """A new browser context (no shared session or cookies) on `address`, its script run to the end."""
    context = browser.new_context(viewport=VIEWPORT, device_scale_factor=1)
    page = context.new_page()
    page.set_default_timeout(RUN_TIMEOUT_MS)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.js_errors = errors  # type: ignore[attr-defined]
    page.goto(address)
    expect(page.locator('[data-testid="stMain"] h1').first).to_have_text(title)
    settle(page)
    return page


def clean(page: Page) -> None:
    """No traceback, no JavaScript error, no note about a rejected link value."""
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)
    expect(page.get_by_text("is not valid; using")).to_have_count(0)
    assert page.js_errors == []  # type: ignore[attr-defined]


def query(page: Page) -> dict[str, list[str]]:
    return parse_qs(urlsplit(page.url).query)


def value_of(page: Page, key: str) -> str:
    """What the text or number box with widget key `key` shows."""
    return page.locator(f".st-key-{key} input").input_value()


def shows(page: Page, key: str, option: str) -> None:
    """The select box with widget key `key` shows `option`."""
    expect(page.locator(f".st-key-{key} input")).to_have_value(option)


def metric(page: Page, label: str) -> Locator:
    card = page.locator('[data-testid="stMetric"]').filter(
        has=page.locator('[data-testid="stMetricLabel"]', has_text=label)
    )
    return card.first.locator('[data-testid="stMetricValue"]')


def exported_json(page: Page) -> str:
    """The stack as the Export section's JSON tab holds it."""
    return page.locator('[data-testid="stTabs"] [data-testid="stCode"] code').nth(1).text_content() or ""


def test_network_builder_link_reopens_the_same_network(
    app_url: str, browser: Browser, screenshots_dir: Path
) -> None:
    page = fresh(browser, f"{app_url}/Network_builder", "Network builder")
    choose(page, "nb_preset", "LeNet-5")
    set_number(page, "nb_row", 1)
    choose(page, "nb_new_type", "Tanh")
    rerun_after(page, page.locator(".st-key-nb_insert button").filter(visible=True).click)
    box = page.locator(".st-key-nb_input input")
    box.fill("1, 36, 36")
    rerun_after(page, lambda: box.press("Enter"))
    set_number(page, "nb_batch", 3)
    clean(page)
    layers = list(PRESETS["LeNet-5"].layers)
    layers.insert(2, Tanh())
    link = query(page)
    assert link["nb_preset"] == ["LeNet-5"] and link["nb_net"] == [stack_to_link(layers)]
    assert link["nb_input"] == ["1, 36, 36"] and link["nb_batch"] == ["3"]
    shown = {label: metric(page, label).inner_text() for label in ("Parameters", "Output shape")}
    exported = exported_json(page)
    page.screenshot(path=str(screenshots_dir / "url_link_network_set.png"), full_page=True)

    again = fresh(browser, page.url, "Network builder")
    clean(again)
    shows(again, "nb_preset", "LeNet-5")
    assert value_of(again, "nb_input") == "1, 36, 36" and value_of(again, "nb_batch") == "3"
    for label, value in shown.items():
        expect(metric(again, label)).to_have_text(value)
    again_exported = (
        again.locator('[data-testid="stCode"]').filter(has_text='"input_size"').first.inner_text()
    )
    assert again_exported == exported and '"Tanh"' in exported
    assert query(again) == link
    again.screenshot(path=str(screenshots_dir / "url_link_network_reopened.png"), full_page=True)
    page.context.close()
    again.context.close()


def result_image(page: Page) -> str:
    """The address of the filtered picture (a media file named by its content)."""
    images = page.locator('[data-testid="stMain"] img[src*="/media/"]')
    expect(images.nth(1)).to_be_visible()
    return images.nth(1).get_attribute("src") or ""


def test_image_kernels_link_reopens_the_same_result(
    app_url: str, browser: Browser, screenshots_dir: Path
) -> None:
    page = fresh(browser, f"{app_url}/Image_kernels", "Image kernels")
    before = result_image(page)
    choose(page, "ik_sample", "checkerboard")
    choose(page, "ik_kernel", "box blur")
    set_number(page, "ik_size", 7)
    rerun_after(page, page.locator(".st-key-ik_padding").get_by_text("valid", exact=True).click)
    set_number(page, "ik_stride", 2)  # 'same' padding needs stride 1
    choose(page, "ik_padding_mode", "reflect")
    rerun_after(page, page.locator(".st-key-ik_mode").get_by_text("luminance (grey)").click)
    clean(page)
    link = query(page)
    assert link["ik_sample"] == ["checkerboard"] and link["ik_kernel"] == ["box blur"]
    assert link["ik_size"] == ["7"] and link["ik_stride"] == ["2"] and link["ik_mode"] == ["luminance"]
    assert link["ik_padding"] == ["valid"]
    page.screenshot(path=str(screenshots_dir / "url_link_kernels_set.png"), full_page=True)
    result = result_image(page)
    assert result != before
    grey = metric(page, "grey result").inner_text()

    again = fresh(browser, page.url, "Image kernels")
    clean(again)
    shows(again, "ik_sample", "checkerboard")
    shows(again, "ik_kernel", "box blur")
    assert value_of(again, "ik_size") == "7" and value_of(again, "ik_stride") == "2"
    shows(again, "ik_padding_mode", "reflect")
    expect(again.locator(".st-key-ik_mode input[type=radio]").nth(1)).to_be_checked()
    expect(again.locator(".st-key-ik_padding input[type=radio]").nth(1)).to_be_checked()
    assert result_image(again) == result
    expect(metric(again, "grey result")).to_have_text(grey)
    assert query(again) == link
    again.screenshot(path=str(screenshots_dir / "url_link_kernels_reopened.png"), full_page=True)
    page.context.close()
    again.context.close()
