"""Metrics in the browser: a value is drawn larger than its label (presentation mode too, whose larger type
must not shrink values to label size), and the network builder's VGG-16 headline reads whole: its
parameter count 138,357,544 and every label, on a 1400 px laptop and on a 1920x1080 projector.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.actions import RUN_TIMEOUT_MS, choose, settle

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

MODES = {
    "normal": ({"width": 1400, "height": 1000}, ""),
    "present": ({"width": 1920, "height": 1080}, "?present=1"),
}

# Each drawn metric of the main area: its label's and value's text, their font sizes (of the element that
# holds the text), and the texts the metric cuts (an element whose content is wider than its box, or a
# text that runs past the metric's border).
METRICS_JS = """() => Array.from(document.querySelectorAll('[data-testid=stMain] [data-testid=stMetric]'))
    .filter(m => m.getBoundingClientRect().width > 0).map(m => {
        const holder = part => {
            let found = part;
            for (const el of part.querySelectorAll('*')) {
                const texts = Array.from(el.childNodes).filter(n => n.nodeType === Node.TEXT_NODE);
                if (texts.some(n => n.textContent.trim())) found = el;
            }
            return found;
        };
        const label = holder(m.querySelector('[data-testid=stMetricLabel]'));
        const value = holder(m.querySelector('[data-testid=stMetricValue]'));
        const edge = m.getBoundingClientRect().right;
        const cut = Array.from(m.querySelectorAll('*')).filter(el => el.textContent.trim()
            && (el.scrollWidth > el.clientWidth + 1 || el.getBoundingClientRect().right > edge + 1))
            .map(el => el.textContent.trim());
        return {label: label.textContent.trim(), value: value.textContent.trim(),
                labelPx: parseFloat(getComputedStyle(label).fontSize),
                valuePx: parseFloat(getComputedStyle(value).fontSize), cut};
    })"""


@pytest.fixture(params=list(MODES))
def mode(request: pytest.FixtureRequest) -> str:
    return request.param


@contextmanager
def open_at(browser: Browser, url: str, viewport: dict) -> Iterator[Page]:
    context = browser.new_context(viewport=viewport, device_scale_factor=1)
    page = context.new_page()
    page.set_default_timeout(RUN_TIMEOUT_MS)
    try:
        page.goto(url)
        expect(page.locator('[data-testid="stMain"] h1').first).to_be_visible(timeout=RUN_TIMEOUT_MS)
        settle(page)
        yield page
    finally:
        context.close()


def metrics(page: Page) -> list[dict]:
    shown = page.evaluate(METRICS_JS)
    assert shown
    return shown


def test_explorer_metric_values_are_larger_than_their_labels(
    browser: Browser, app_url: str, screenshots_dir: Path, mode: str
) -> None:
    viewport, query = MODES[mode]
    with open_at(browser, f"{app_url}/Convolution_explorer{query}", viewport) as page:
        cell = page.locator('[data-testid="stMetric"]').filter(has_text="output value")
        cell.scroll_into_view_if_needed()
        page.screenshot(path=str(screenshots_dir / f"metrics-explorer-{mode}.png"))
        shown = {m["label"]: m for m in metrics(page)}
        assert "output value" in shown
        for m in shown.values():
            assert m["valuePx"] >= 1.3 * m["labelPx"], m
            assert m["cut"] == [], m


def test_builder_headline_shows_vgg16_whole(
    browser: Browser, app_url: str, screenshots_dir: Path, mode: str
) -> None:
    viewport, query = MODES[mode]
    with open_at(browser, f"{app_url}/Network_builder{query}", viewport) as page:
        choose(page, "nb_preset", "VGG-16")
        headline = page.locator(".st-key-nb_headline")
        expect(headline).to_contain_text("138,357,544")
        headline.scroll_into_view_if_needed()
        headline.screenshot(path=str(screenshots_dir / f"metrics-builder-vgg16-{mode}.png"))
        shown = metrics(page)
        params = [m for m in shown if m["label"] == "Parameters"]
        assert [m["value"] for m in params] == ["138,357,544"]
        for m in shown:
            assert m["cut"] == [], m
            assert m["valuePx"] > m["labelPx"], m
