"""The image-kernels page in Chromium: upload a photo, apply every preset, download the PNG, compare with the core.

Uses the shared server and browser of `tests/e2e/conftest.py` (`app_url`, `browser`, `screenshots_dir`).
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import Browser, Page, expect

from cnnviz.images.kernels import IMAGE_KERNELS, apply_image_kernel, image_kernel
from tests.e2e.actions import RUN_TIMEOUT_MS, plot_point, rerun_after, settle

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

VIEWPORT = {"width": 1440, "height": 900}
URL_PATH = "Image_kernels"


def photo() -> np.ndarray:
    """A small photo-like picture: smooth colour gradients, a bright disc and some noise."""
    y, x = np.mgrid[0:96, 0:128].astype(np.float64)
    disc = ((x - 80) ** 2 + (y - 40) ** 2 < 400) * 120
    rgb = np.stack([x * 1.5 + disc, y * 2.0, 200 - x + disc / 2], axis=-1)
    rgb += np.random.default_rng(0).normal(0, 8, rgb.shape)
    return np.clip(rgb, 0, 255).astype(np.uint8)


@pytest.fixture()
def tab(browser: Browser, app_url: str) -> Iterator[Page]:
    context = browser.new_context(
        viewport=VIEWPORT, device_scale_factor=1, locale="en-GB", accept_downloads=True
    )
    page = context.new_page()
    page.set_default_timeout(RUN_TIMEOUT_MS)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.js_errors = errors  # type: ignore[attr-defined]
    page.goto(f"{app_url}/{URL_PATH}")
    settle(page)
    expect(page.locator('[data-testid="stMain"] h1').first).to_have_text("Image kernels")
    try:
        yield page
    finally:
        context.close()


def no_exception(page: Page) -> None:
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)
    assert page.js_errors == []  # type: ignore[attr-defined]


def upload(page: Page, name: str, data: bytes, mime: str = "image/png") -> None:
    # Wait for the rerun each action causes: right after it the app still reads "notRunning".
    rerun_after(page, page.locator(".st-key-ik_source").get_by_text("Your picture").click)
    rerun_after(
        page,
        lambda: page.locator(".st-key-ik_upload input[type=file]").set_input_files(
            files=[{"name": name, "mimeType": mime, "buffer": data}]
        ),
    )


def pick_kernel(page: Page, name: str) -> None:
    page.locator(".st-key-ik_kernel").click()
    option = page.get_by_role("option", name=name, exact=True)
    if page.locator(".st-key-ik_kernel").get_by_text(name, exact=True).count():
        option.click()  # already chosen: no rerun follows
        settle(page)
    else:
        rerun_after(page, option.click)


def download(page: Page) -> np.ndarray:
    with page.expect_download() as info:
        page.locator(".st-key-ik_download button").click()
    return np.asarray(Image.open(Path(info.value.path())))


def test_every_preset_on_an_uploaded_photo_downloads_the_core_result(
    tab: Page, screenshots_dir: Path
) -> None:
    image = photo()
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, "PNG")
    upload(tab, "my photo.png", buffer.getvalue())
    no_exception(tab)
    expect(tab.locator('[data-testid="stAlertContentError"]')).to_have_count(0)
    for name in IMAGE_KERNELS:
        pick_kernel(tab, name)
        no_exception(tab)
        got = download(tab)
        size = 5 if name in ("box blur", "gaussian blur", "motion blur") else 3
        expected = apply_image_kernel(
            image, image_kernel(name, size, 1.0 if name == "gaussian blur" else None)
        )
        assert np.array_equal(got, expected.display), name
        if name in ("sobel x", "gaussian blur", "gradient magnitude (sobel)"):
            tab.screenshot(path=str(screenshots_dir / f"image_kernels_{name.split()[0]}.png"), full_page=True)


def test_bad_upload_shows_the_reason_and_samples_still_work(tab: Page, screenshots_dir: Path) -> None:
    upload(tab, "notes.png", b"this is text, not a picture\n" * 5)
    expect(tab.locator('[data-testid="stAlertContentError"]')).to_contain_text("not a picture")
    no_exception(tab)
    tab.screenshot(path=str(screenshots_dir / "image_kernels_bad_upload.png"))
    tab.locator(".st-key-ik_source").get_by_text("Sample").click()
    settle(tab)
    expect(tab.locator('[data-testid="stAlertContentError"]')).to_have_count(0)
    no_exception(tab)


def test_a_typed_kernel_size_survives_an_upload_and_a_click_on_the_crop_inspects_that_pixel(
    tab: Page, screenshots_dir: Path
) -> None:
    page = tab
    pick_kernel(page, "custom (type your own)")
    for key in ("ik_rows", "ik_cols"):
        field = page.locator(f".st-key-{key} input")
        field.fill("5")
        rerun_after(page, lambda field=field: field.press("Enter"))
    expect(page.get_by_text("Your kernel (5 × 5;", exact=False)).to_be_visible()
    buffer = io.BytesIO()
    Image.fromarray(photo()).save(buffer, "PNG")
    upload(page, "mine.png", buffer.getvalue())
    no_exception(page)
    # The boxes show the size the kernel has, and the next change keeps it (and the link says so).
    expect(page.locator(".st-key-ik_rows input")).to_have_value("5")
    expect(page.locator(".st-key-ik_cols input")).to_have_value("5")
    rerun_after(page, page.locator(".st-key-ik_mode").get_by_text("luminance (grey)").click)
    expect(page.locator(".st-key-ik_rows input")).to_have_value("5")
    expect(page.get_by_text("Your kernel (5 × 5;", exact=False)).to_be_visible()
    assert "ik_rows=5" in page.url and "ik_cols=5" in page.url
    # A click on the original's 1:1 crop (the whole 96×128 picture here) inspects the pixel clicked: one
    # that carries a click target (every 3rd row from row 1 and every 4th column from column 2 here).
    x, y = plot_point(page, "ik_crop_figure", "2", 40, 82)
    rerun_after(page, lambda: page.mouse.click(x, y))
    expect(page.locator(".st-key-ik_row input")).to_have_value("40")
    expect(page.locator(".st-key-ik_col input")).to_have_value("82")
    expect(page.get_by_text("Result pixel (40, 82)", exact=False)).to_be_visible()
    page.locator(".st-key-ik_crop_figure").screenshot(path=str(screenshots_dir / "image_kernels_crop.png"))
    no_exception(page)
