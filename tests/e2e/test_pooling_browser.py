"""The pooling page in Chromium: every control once, each with what it must change, and no traceback."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import Browser, Page, expect

from tests.e2e.actions import choose, open_page, rerun_after, set_number, settle

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


@pytest.fixture()
def tab(browser: Browser, app_url: str) -> Iterator[Page]:
    warm_up(browser, app_url)
    yield from open_page(browser, app_url, "Pooling", "Pooling")


def warm_up(browser: Browser, app_url: str) -> None:
    """Load the page once and let its first run finish: on a busy machine the first run (imports, caches)
    can outlast the title check in `open_page`."""
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    try:
        page = context.new_page()
        page.goto(f"{app_url}/Pooling")
        expect(page.locator('[data-testid="stMain"] h1').first).to_have_text("Pooling", timeout=120_000)
        settle(page)
    finally:
        context.close()


def click_label(page: Page, key: str, label: str) -> None:
    rerun_after(page, page.locator(f".st-key-{key}").get_by_text(label).first.click)


def clean(page: Page) -> None:
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)
    # Pausing interrupts Plotly's running animate() call, whose promise then rejects with no reason
    # ("undefined"): Plotly's way of cancelling. Anything else is a real error.
    assert [e for e in page.js_errors if e != "undefined"] == []  # type: ignore[attr-defined]


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


def press_slider(page: Page, key: str, presses: int) -> None:
    """Move the slider (or select slider) with widget key `key` right by `presses` steps, one rerun."""
    handle = page.locator(f".st-key-{key} input")
    handle.focus()
    for _ in range(presses - 1):
        handle.press("ArrowRight")
    rerun_after(page, lambda: handle.press("ArrowRight"))


def figure_title(page: Page, key: str) -> str:
    return page.locator(f".st-key-{key} .gtitle").first.text_content() or ""


def photo_png(height: int, width: int) -> bytes:
    """A generated photo-like picture: smooth colours with fine diagonal stripes that alias when shrunk."""
    y, x = np.mgrid[0:height, 0:width]
    stripes = 0.5 + 0.5 * np.cos(2 * np.pi * (x + y) / 2.3)
    rgb = np.stack([stripes, 0.3 + 0.5 * y / height, 0.8 - 0.6 * x / width], axis=-1)
    buffer = io.BytesIO()
    Image.fromarray((np.clip(rgb, 0, 1) * 255).astype(np.uint8)).save(buffer, "PNG")
    return buffer.getvalue()


def test_animation_1d_view_and_downsampling(tab: Page, screenshots_dir: Path, tmp_path: Path) -> None:
    page = tab
    anim = page.locator(".st-key-pl_anim")
    expect(anim.locator(".gtitle")).to_have_text("output (0, 0) = max(8, 6, 0, 0) = 8")

    # Play at the fast speed: the window walks on by itself, then pause holds it still.
    press_slider(page, "pl_speed", 1)  # medium -> fast
    anim = page.locator(".st-key-pl_anim")
    anim.get_by_text("▶ play").click()
    expect(anim.locator(".gtitle")).to_contain_text("output (2, 2)", timeout=15_000)  # the last of 3×3
    anim.get_by_text("❚❚ pause").click()
    held = figure_title(page, "pl_anim")
    # Nothing to wait for: the check is that the title stays put for four frames of the fast speed (150 ms).
    page.wait_for_timeout(600)
    assert figure_title(page, "pl_anim") == held
    # Scrub: a click on the slider's rail jumps to another output cell without a rerun.
    rail = anim.locator(".slider-rail-touch-rect").first
    rail.scroll_into_view_if_needed()  # the main pane scrolls: a click must land on screen
    box = rail.bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + box["width"] * 0.45, box["y"] + box["height"] / 2)
    expect(anim.locator(".gtitle")).to_contain_text("output (1, ")
    clean(page)
    anim.screenshot(path=str(screenshots_dir / "pooling-animation.png"))

    # 1D view: signal and length, with the sidebar's kernel.
    choose(page, "pl_1d_signal", "ramp")
    set_number(page, "pl_1d_length", 9)
    one_d = page.locator(".st-key-pl_1d")
    expect(one_d.get_by_text("max pooled, length 4")).to_be_visible()
    set_number(page, "pl_kernel", 3)
    expect(one_d.get_by_text("max pooled, length 3")).to_be_visible()
    set_number(page, "pl_1d_length", 2)  # shorter than the kernel
    expect(errors(page).first).to_contain_text("padded input")
    set_number(page, "pl_1d_length", 9)
    set_number(page, "pl_kernel", 2)
    expect(errors(page)).to_have_count(0)

    # Downsampling: patterns and factors.
    images = page.locator(".st-key-pl_ds_images")
    expect(images.get_by_text("subsample: 120×120", exact=True)).to_be_visible()
    click_label(page, "pl_ds_factor", "3")
    expect(images.get_by_text("blur, then subsample: 80×80", exact=True)).to_be_visible()
    images.scroll_into_view_if_needed()
    images.screenshot(path=str(screenshots_dir / "pooling-zone-plate-by-3.png"))
    click_label(page, "pl_ds_input", "fine stripes")
    expect(images.get_by_text("max pool: 80×80", exact=True)).to_be_visible()
    # Shown at pixel size: the browser does not rescale the enlarged results.
    first = images.locator("img").nth(1)
    # The image element is drawn before its bytes arrive: wait until it has decoded them.
    first.page.wait_for_function("i => i.complete && i.naturalWidth > 0", arg=first.element_handle())
    natural, shown = first.evaluate("i => [i.naturalWidth, i.getBoundingClientRect().width]")
    assert natural == 240 and abs(shown - natural) < 1

    # A sample photo, then an upload, then a broken upload.
    click_label(page, "pl_ds_input", "photo or your picture")
    expect(images.get_by_text("input 143×214", exact=True)).to_be_visible()  # 427×640 shrunk by 3
    choose(page, "pl_ds_sample", "checkerboard")
    expect(images.get_by_text("input 171×171", exact=True)).to_be_visible()  # 512×512 shrunk by 3
    click_label(page, "pl_ds_source", "Your picture")
    picture = tmp_path / "stripes.png"
    picture.write_bytes(photo_png(200, 150))
    uploader = page.locator(".st-key-pl_ds_upload input[type=file]")
    rerun_after(page, lambda: uploader.set_input_files(str(picture)))
    expect(images.get_by_text("input 200×150", exact=True)).to_be_visible()
    click_label(page, "pl_ds_factor", "4")
    expect(images.get_by_text("subsample: 50×38", exact=True)).to_be_visible()
    expect(images.get_by_text("max pool: 50×37", exact=True)).to_be_visible()
    clean(page)
    images.screenshot(path=str(screenshots_dir / "pooling-upload-by-4.png"))
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"this is not a picture\n" * 10)
    rerun_after(page, lambda: uploader.set_input_files(str(broken)))
    expect(errors(page).first).to_contain_text("not a picture this page can read")
    expect(images).to_have_count(0)
    clean(page)
    page.set_viewport_size({"width": 1440, "height": 6000})  # the main pane scrolls: show all of it
    settle(page)
    page.screenshot(path=str(screenshots_dir / "pooling-downsampling.png"))
