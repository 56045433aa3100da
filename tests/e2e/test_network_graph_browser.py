"""The network builder's graphs in Chromium: ResNet-18 and a U-Net as diagrams, a click on a block that
selects its layer for the receptive field, the PNG download, a lecture class pasted as written, and the
diagram on the first screen at 1400x1000 and in presentation mode (labels of 18 px or more).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.actions import choose, rerun_after, settle

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

RUN_TIMEOUT_MS = 90_000


def open_builder(browser: Browser, app_url: str, width: int, height: int, query: str = "") -> Page:
    context = browser.new_context(viewport={"width": width, "height": height}, device_scale_factor=1,
                                  accept_downloads=True)  # fmt: skip
    page = context.new_page()
    page.set_default_timeout(RUN_TIMEOUT_MS)
    page.js_errors = []  # type: ignore[attr-defined]
    page.on("pageerror", lambda exc: page.js_errors.append(str(exc)))  # type: ignore[attr-defined]
    page.goto(f"{app_url}/Network_builder{query}")
    expect(page.locator('[data-testid="stMain"] h1').first).to_have_text("Network builder")
    settle(page)
    return page


def diagram(page: Page):
    return page.locator(".st-key-nb_diagram .js-plotly-plot").first


def assert_on_first_screen(page: Page, height: int) -> None:
    box = diagram(page).bounding_box()
    assert box is not None and box["y"] >= 0 and box["y"] + box["height"] <= height, box


def assert_starts_on_first_screen(page: Page, height: int) -> None:
    """In presentation mode the diagram's rows are taller than the screen: its first lane is on it."""
    first = (
        page.locator(".st-key-nb_diagram .scatterlayer .trace").last.locator(".point").first.bounding_box()
    )
    assert first is not None and 0 <= first["y"] and first["y"] + first["height"] <= height, first


def resnet18_blocks():
    """ResNet-18's diagram blocks, and the unit picker's label of each block's layer (its last node)."""
    from cnnviz.network import diagram, summarize
    from cnnviz.network.presets import preset

    net = preset("ResNet-18").network
    result = summarize(net.nodes, net.input_size)
    picture = diagram(result)

    def label(index: int) -> str:
        row = result.rows[index]
        return f"{index} · {row.layer.kind} → ({', '.join(map(str, row.output_shape))})"

    return picture, label


def click_block(page: Page, position: int) -> None:
    """Click the middle of the diagram's block number `position` (0: the input) and wait for the rerun."""
    points = page.locator(".st-key-nb_diagram .scatterlayer .trace").last.locator(".point")
    diagram(page).scroll_into_view_if_needed()  # after using the picker below, the page is scrolled down
    spot = points.nth(position).bounding_box()
    assert spot is not None
    x, y = spot["x"] + spot["width"] / 2, spot["y"] + spot["height"] / 2
    rerun_after(page, lambda: page.mouse.click(x, y))


def unit_layer(page: Page):
    """The receptive-field view's layer picker (its value: the layer's label)."""
    return page.locator(".st-key-nb_unit_layer input")


def outlined(page: Page):
    """The diagram's boxes drawn with the highlight outline of the selected layer (palette.HIGHLIGHT)."""
    return page.locator(".st-key-nb_diagram path[style*='stroke: rgb(0, 166, 81)']")


def assert_outlined(page: Page, position: int) -> None:
    """Exactly one box is outlined, and it is block number `position`'s."""
    expect(outlined(page)).to_have_count(1)
    box = outlined(page).bounding_box()
    points = page.locator(".st-key-nb_diagram .scatterlayer .trace").last.locator(".point")
    spot = points.nth(position).bounding_box()
    assert box is not None and spot is not None
    x, y = spot["x"] + spot["width"] / 2, spot["y"] + spot["height"] / 2
    assert box["x"] <= x <= box["x"] + box["width"] and box["y"] <= y <= box["y"] + box["height"], (box, spot)


def test_resnet18_diagram_click_selects_that_layer_for_the_receptive_field(browser: Browser, app_url: str,
                                                                           screenshots_dir: Path) -> None:  # fmt: skip
    picture, label = resnet18_blocks()
    first_add = next(i for i, b in enumerate(picture.blocks) if b.title.startswith("Add"))
    stem = 1
    page = open_builder(browser, app_url, 1400, 1000)
    try:
        choose(page, "nb_preset", "ResNet-18")
        expect(page.locator(".st-key-nb_headline")).to_contain_text("11,689,512")
        expect(diagram(page)).to_be_visible()
        page.screenshot(path=str(screenshots_dir / "network_resnet18_1400x1000.png"))
        assert_on_first_screen(page, 1000)
        deepest = unit_layer(page).input_value()
        add = picture.blocks[first_add].index
        assert label(add) not in deepest

        click_block(page, first_add)
        expect(unit_layer(page)).to_have_value(label(add))
        expect(
            page.locator("[data-testid='stMarkdownContainer']", has_text=f"of layer {add}.")
        ).to_be_visible()
        assert_outlined(page, first_add)
        assert "nb_unit_layer=" + str(add) in page.url  # the share link names the clicked layer
        assert page.evaluate("() => new URL(location.href).searchParams.get('nb_unit_layer')") == label(add)

        click_block(page, stem)  # another block
        expect(unit_layer(page)).to_have_value(label(picture.blocks[stem].index))
        assert_outlined(page, stem)
        choose(page, "nb_unit_layer", label(add))  # the picker moves the outline too ...
        choose(page, "nb_unit_layer", label(picture.blocks[stem].index))
        for _ in range(2):  # ... and a block clicked before still selects on a new click, every time
            click_block(page, first_add)
            expect(unit_layer(page)).to_have_value(label(add))
            assert_outlined(page, first_add)
            choose(page, "nb_unit_layer", label(picture.blocks[stem].index))
            expect(unit_layer(page)).to_have_value(label(picture.blocks[stem].index))

        diagram(page).hover()
        expect(page.locator(".st-key-nb_diagram .modebar-btn").first).to_be_attached()  # the camera
        assert not page.locator('[data-testid="stException"]').count()
        assert not page.js_errors  # type: ignore[attr-defined]
    finally:
        page.context.close()


def test_the_diagram_downloads_as_a_png_of_its_layout(browser: Browser, app_url: str) -> None:
    from PIL import Image

    picture, _ = resnet18_blocks()
    page = open_builder(browser, app_url, 1400, 1000, "?nb_preset=ResNet-18")
    try:
        expect(page.locator(".st-key-nb_headline")).to_contain_text("11,689,512")
        page.get_by_role("tab", name="Diagram (PNG, SVG)").click()
        with page.expect_download() as info:
            page.locator(".st-key-nb_download_png button").filter(visible=True).click()
        assert info.value.suggested_filename == "network.png"
        image = Image.open(info.value.path())
        assert image.format == "PNG"
        assert image.size == (240 * picture.columns + 20, 120 * picture.rows + 20)
        colours = {colour for _, colour in image.convert("RGB").getcolors(1 << 20)}
        assert {(0xBC, 0xD9, 0xF2), (0xB9, 0xE4, 0xD6), (0xF7, 0xD8, 0xA8)} <= colours  # conv, merge, pool
        assert not page.js_errors  # type: ignore[attr-defined]
    finally:
        page.context.close()


@pytest.mark.parametrize(
    ("file", "cls", "size"),
    [("lecture000_deepconvnet.py", "DeepConvNet", "3, 32, 32"), ("functional_net.py", "FunctionalNet", "3, 32, 32"),
     ("resnet18.py", None, "3, 224, 224"), ("unet.py", "UNet", "1, 64, 64")],
)  # fmt: skip
def test_pasted_class_gives_pytorchs_total(browser: Browser, app_url: str, file: str, cls: str | None,
                                           size: str) -> None:  # fmt: skip
    """Code pasted as written (a lecture class, a functional forward, ResNet-18, a U-Net) totals as PyTorch."""
    import torch

    from tests.network.test_code_import import CODE, run_file

    model = run_file(file, cls).eval()
    shape = tuple(int(n) for n in size.split(", "))
    with torch.no_grad():
        out = tuple(model(torch.zeros(1, *shape)).shape)
    total = sum(p.numel() for p in model.parameters())
    page = open_builder(browser, app_url, 1400, 1000)
    try:
        field = page.locator(".st-key-nb_input input")
        field.fill(size)
        rerun_after(page, lambda: field.press("Enter"))
        page.get_by_text("Import PyTorch code or JSON").click()
        page.locator(".st-key-nb_import_text textarea").fill((CODE / file).read_text())
        rerun_after(page, page.locator(".st-key-nb_import button").filter(visible=True).click)
        expect(page.locator('[data-testid="stAlertContentSuccess"]')).to_contain_text("Imported")
        expect(page.locator(".st-key-nb_headline")).to_contain_text(f"{total:,}")
        expect(page.locator(".st-key-nb_headline")).to_contain_text(str(out))
        assert not page.locator('[data-testid="stException"]').count()
        assert not page.js_errors  # type: ignore[attr-defined]
    finally:
        page.context.close()


@pytest.mark.parametrize(("width", "height"), [(1920, 1080), (1400, 1000)])
def test_presentation_mode_shows_the_diagram_first_in_large_type(browser: Browser, app_url: str,
                                                                 screenshots_dir: Path, width: int,
                                                                 height: int) -> None:  # fmt: skip
    page = open_builder(browser, app_url, width, height, "?present=1&nb_preset=ResNet-18")
    try:
        expect(page.locator(".st-key-nb_headline")).to_contain_text("11,689,512")
        expect(diagram(page)).to_be_visible()
        page.screenshot(path=str(screenshots_dir / f"network_resnet18_present_{width}x{height}.png"))
        assert_starts_on_first_screen(page, height)
        assert min(label_sizes(page)) >= 18
        assert_labels_inside_boxes(page)
        choose(page, "nb_preset", "U-Net (small)")
        expect(diagram(page)).to_contain_text("Concat")
        page.screenshot(path=str(screenshots_dir / f"network_unet_present_{width}x{height}.png"))
        assert_starts_on_first_screen(page, height)
        assert min(label_sizes(page)) >= 18
        assert not page.js_errors  # type: ignore[attr-defined]
    finally:
        page.context.close()


def label_sizes(page: Page) -> list[float]:
    """The font size in pixels of every piece of text in the diagram's block labels, as drawn."""
    return page.evaluate(
        """() => Array.from(document.querySelectorAll('.st-key-nb_diagram .annotation-text, '
                + '.st-key-nb_diagram .annotation-text tspan'))
            .filter(el => el.textContent.trim())
            .map(el => parseFloat(getComputedStyle(el).fontSize))"""
    )


def assert_labels_inside_boxes(page: Page) -> None:
    """Every block's label is drawn inside its box (large type must not spill over the arrows)."""
    spill = page.evaluate(
        """() => {
            const root = document.querySelector('.st-key-nb_diagram');
            const boxes = Array.from(root.querySelectorAll('.shapelayer path')).map(p => p.getBoundingClientRect())
                .filter(r => r.width > 20 && r.height > 20);
            return Array.from(root.querySelectorAll('.annotation-text')).map(el => el.getBoundingClientRect())
                .filter(t => !boxes.some(b => t.left >= b.left - 1 && t.right <= b.right + 1
                                             && t.top >= b.top - 1 && t.bottom <= b.bottom + 1))
                .map(t => [t.left, t.top, t.width, t.height]);
        }"""
    )
    assert spill == [], spill
