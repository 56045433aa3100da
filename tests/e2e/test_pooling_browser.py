"""The pooling page in Chromium: every control once, each with what it must change, and no traceback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.actions import choose, open_page, rerun_after, set_number

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


@pytest.fixture()
def tab(browser: Browser, app_url: str) -> Iterator[Page]:
    yield from open_page(browser, app_url, "Pooling", "Pooling")


def click_label(page: Page, key: str, label: str) -> None:
    rerun_after(page, page.locator(f".st-key-{key}").get_by_text(label).first.click)


def clean(page: Page) -> None:
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)
    assert page.js_errors == []  # type: ignore[attr-defined]


def errors(page: Page):
    return page.locator('[data-testid="stAlertContentError"]')


def test_every_control(tab: Page, screenshots_dir: Path) -> None:
    page = tab
    pool = page.locator(".st-key-pl_pool")
    expect(pool.get_by_text("max pooled 3×3")).to_be_visible()
    choose(page, "pl_pattern", "ramp")
    expect(pool.get_by_text("max pooled 3×3")).to_be_visible()
    choose(page, "pl_pattern", "random")  # the seed box shows for random inputs only

    set_number(page, "pl_height", 8)
    expect(pool.get_by_text("max pooled 4×3")).to_be_visible()
    set_number(page, "pl_width", 5)
    expect(pool.get_by_text("max pooled 4×2")).to_be_visible()
    set_number(page, "pl_seed", 7)
    clean(page)

    click_label(page, "pl_ceil", "ceil_mode")
    expect(pool.get_by_text("max pooled 4×3")).to_be_visible()  # ceil keeps the partial last column
    click_label(page, "pl_ceil", "ceil_mode")

    set_number(page, "pl_kernel", 3)  # stride follows the kernel while the box is ticked
    expect(pool.get_by_text("max pooled 2×1")).to_be_visible()
    click_label(page, "pl_same_stride", "Stride = kernel size (PyTorch's default)")
    set_number(page, "pl_stride", 1)
    expect(pool.get_by_text("max pooled 6×3")).to_be_visible()

    set_number(page, "pl_padding", 1)
    expect(pool.get_by_text("max pooled 8×5")).to_be_visible()
    set_number(page, "pl_padding", 2)  # more than half the kernel
    expect(errors(page).first).to_contain_text("at most half the kernel")
    set_number(page, "pl_padding", 0)
    expect(errors(page)).to_have_count(0)

    set_number(page, "pl_dilation", 2)
    expect(pool.get_by_text("max pooled 4×1")).to_be_visible()
    set_number(page, "pl_dilation", 1)

    click_label(page, "pl_kind", "avg")
    expect(pool.get_by_text("avg pooled 6×3")).to_be_visible()
    click_label(page, "pl_count_pad", "count_include_pad")
    clean(page)

    set_number(page, "pl_kernel", 8)  # larger than the 5-wide input
    expect(errors(page).first).to_contain_text("kernel")
    set_number(page, "pl_kernel", 2)
    expect(errors(page)).to_have_count(0)

    # The invariance demo: the slider, pool kernel and stride.
    shift = page.locator(".st-key-pl_shift input")
    shift.focus()
    rerun_after(page, lambda: shift.press("ArrowRight"))
    expect(page.get_by_text("At shift 2:")).to_be_visible()
    set_number(page, "pl_inv_kernel", 3)
    set_number(page, "pl_inv_stride", 2)
    expect(
        page.locator(".st-key-pl_inv_maps").get_by_text("max pooled 3×3, stride 2", exact=False)
    ).to_be_visible()

    # Upsampling: the source and the transposed-conv kernel.
    choose(page, "pl_up_pattern", "checker")
    set_number(page, "pl_up_kernel", 3)
    clean(page)
    page.screenshot(path=str(screenshots_dir / "pooling-controls.png"), full_page=True)
