"""AppTest of the image-kernels page: every option, every bad upload, the pixel inspector and the typed grid."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image
from streamlit.testing.v1 import AppTest

from cnnviz.images.filtering import filter_image
from cnnviz.images.kernels import IMAGE_KERNELS, apply_image_kernel, image_kernel
from cnnviz.images.loading import sample_image
from tests.app.helpers import as_browser_mounts, charts, drawn_widgets, link_of, page_path, type_into_grid

PAGE = page_path("4_Image_kernels.py")
P = "ik"


def _png(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def _metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def _shown_as(at: AppTest, channel: str) -> str:
    """What the result pixel of `channel` is shown as, said under its result ("shown as 31 / 255")."""
    return next(m.delta for m in at.metric if m.label == f"{channel} result")


def _upload(at: AppTest, name: str, data: bytes, mime: str = "image/png") -> None:
    at.radio(key=f"{P}_source").set_value("upload").run()
    at.file_uploader(key=f"{P}_upload").set_value((name, data, mime)).run()


def test_default_page_shows_original_result_matrix_and_download(at: AppTest) -> None:
    assert len(at.get("image")) + len(at.get("imgs")) >= 1  # original and result images
    assert at.selectbox(key=f"{P}_kernel").value == "sobel x"
    assert any("positive where it gets brighter" in c.value for c in at.caption)
    assert at.get("download_button")
    assert not at.error


def _torch_pixel(channel: np.ndarray, kernel: np.ndarray, row: int, col: int) -> float:
    """One pixel of PyTorch's 'same' (zero-padded) cross-correlation of a 0..1 channel with `kernel`."""
    x = torch.tensor(channel, dtype=torch.float64)[None, None]
    k = torch.tensor(kernel, dtype=torch.float64)[None, None]
    return float(F.conv2d(x, k, padding="same")[0, 0, row, col])


@pytest.mark.parametrize("name", IMAGE_KERNELS)
def test_every_preset_filters_with_the_kernel_it_shows(at: AppTest, name: str) -> None:
    """Each preset: the result keeps the picture's size, and the inspected pixel is PyTorch's result with
    the kernel the page shows (two shown kernels: the length of the two results)."""
    image = sample_image("checkerboard").array
    red = image[..., 0] / 255.0
    # A corner of the checkerboard's squares: the window there sees a change down and across.
    row = int(np.flatnonzero(np.diff(red[:, 0]))[0]) + 1
    col = int(np.flatnonzero(np.diff(red[0, :]))[0]) + 1
    at.selectbox(key=f"{P}_sample").set_value("checkerboard").run()
    at.selectbox(key=f"{P}_kernel").set_value(name).run()
    at.number_input(key=f"{P}_row").set_value(row).run()
    at.number_input(key=f"{P}_col").set_value(col).run()
    assert not at.exception and not at.error
    height, width = red.shape
    captions = [img.caption for el in at.get("image") for img in el.proto.imgs]
    assert f"{name}: {height}×{width}" in captions, captions

    two = name == "gradient magnitude (sobel)"
    shown = [frame.value.to_numpy(dtype=float) for frame in at.dataframe[: 2 if two else 1]]
    assert all(k.ndim == 2 and k.shape[0] % 2 == k.shape[1] % 2 == 1 for k in shown)  # odd: 'same' fits
    assert f"Sum of weights: {shown[0].sum():.4g}." in " ".join(c.value for c in at.caption)
    results = [_torch_pixel(red, k, row, col) for k in shown]
    expected = float(np.hypot(*results)) if two else results[0]
    assert float(_metric(at, "R result")) == pytest.approx(expected, abs=1e-4)


def test_every_option_runs_and_the_inspector_matches_the_core(at: AppTest) -> None:
    image = sample_image("step edge").array
    at.selectbox(key=f"{P}_sample").set_value("step edge").run()
    at.selectbox(key=f"{P}_kernel").set_value("gaussian blur").run()
    at.number_input(key=f"{P}_size").set_value(7).run()
    at.number_input(key=f"{P}_sigma").set_value(2.0).run()
    for mode in ("per_channel", "luminance"):
        for padding_mode in ("zeros", "reflect", "replicate", "circular"):
            for output in ("clip", "normalize", "abs"):
                at.radio(key=f"{P}_mode").set_value(mode)
                at.selectbox(key=f"{P}_padding_mode").set_value(padding_mode)
                at.radio(key=f"{P}_output").set_value(output)
                at.radio(key=f"{P}_padding").set_value("pixels")
                at.run()
                at.number_input(key=f"{P}_pad_px").set_value(2)
                at.number_input(key=f"{P}_stride").set_value(2)
                at.number_input(key=f"{P}_dilation").set_value(2)
                at.run()
                at.number_input(key=f"{P}_row").set_value(3)
                at.number_input(key=f"{P}_col").set_value(130)
                at.run()
                assert not at.exception and not at.error
                result = apply_image_kernel(
                    image,
                    image_kernel("gaussian blur", 7, 2.0),
                    mode=mode,
                    stride=2,
                    padding=2,
                    padding_mode=padding_mode,
                    dilation=2,
                    output=output,
                )
                channel = "grey" if mode == "luminance" else "R"
                raw = result.raw[3, 130] if result.raw.ndim == 2 else result.raw[3, 130, 0]
                shown = result.display[3, 130] if result.display.ndim == 2 else result.display[3, 130, 0]
                assert float(_metric(at, f"{channel} result")) == pytest.approx(float(raw), abs=1e-4)
                assert _shown_as(at, channel) == f"shown as {int(shown)} / 255"
                assert any(result.note == i.value for i in at.info)


def test_same_padding_with_stride_shows_an_error_and_keeps_serving(at: AppTest) -> None:
    at.number_input(key=f"{P}_stride").set_value(2).run()
    assert not at.exception
    assert at.error and "same" in at.error[0].value
    at.number_input(key=f"{P}_stride").set_value(1).run()
    assert not at.error


def test_output_size_is_explained_per_axis(at: AppTest) -> None:
    at.radio(key=f"{P}_padding").set_value("valid").run()
    latex = [e.value for e in at.get("latex")]
    assert any("425" in t for t in latex) and any("638" in t for t in latex)  # 427x640 photo, 3x3 valid


def test_upload_is_filtered_and_inspected(at: AppTest) -> None:
    photo = np.random.default_rng(3).integers(0, 256, (60, 80, 3), dtype=np.uint8)
    _upload(at, "mine.png", _png(photo))
    assert not at.exception and not at.error
    at.number_input(key=f"{P}_row").set_value(0).run()
    at.number_input(key=f"{P}_col").set_value(79).run()
    expected = apply_image_kernel(photo, image_kernel("sobel x")).raw[0, 79]
    for c, channel in enumerate("RGB"):
        assert float(_metric(at, f"{channel} result")) == pytest.approx(float(expected[c]), abs=1e-4)


def test_sizes_are_written_height_by_width(at: AppTest) -> None:
    # 60 rows, 80 columns: PyTorch's (H, W) order reads 60×80; a 3×3 valid kernel leaves 58×78.
    photo = np.random.default_rng(4).integers(0, 256, (60, 80, 3), dtype=np.uint8)
    _upload(at, "wide.png", _png(photo))
    at.radio(key=f"{P}_padding").set_value("valid").run()
    captions = [img.caption for el in at.get("image") for img in el.proto.imgs]
    assert any(c.endswith(": 60×80") for c in captions), captions
    assert any(c.endswith(": 58×78") for c in captions), captions
    assert any("result (58×78) is not the size of the input (60×80)" in c.value for c in at.caption)


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("empty.png", b"", "empty"),
        ("notes.png", b"just some text\n" * 20, "not a picture"),
        ("cut.jpg", None, "truncated or damaged"),
        ("bomb.png", None, "megapixel limit"),
    ],
)
def test_bad_upload_shows_a_message_and_the_page_keeps_serving(
    at: AppTest, name: str, data: bytes | None, message: str
) -> None:
    if name == "cut.jpg":
        buffer = io.BytesIO()
        Image.fromarray(np.random.default_rng(0).integers(0, 255, (80, 80, 3), dtype=np.uint8)).save(
            buffer, "JPEG"
        )
        data = buffer.getvalue()[:900]
    if name == "bomb.png":
        buffer = io.BytesIO()
        Image.new("1", (9000, 5000)).save(buffer, "PNG")
        data = buffer.getvalue()
    _upload(at, name, data)
    assert not at.exception
    assert at.error and message in at.error[0].value
    at.radio(key=f"{P}_source").set_value("sample").run()
    assert not at.exception and not at.error


def test_typed_kernel_grid_is_used(at: AppTest) -> None:
    at.selectbox(key=f"{P}_sample").set_value("checkerboard").run()
    at.selectbox(key=f"{P}_kernel").set_value("custom (type your own)").run()
    at.number_input(key=f"{P}_rows").set_value(1).run()
    at.number_input(key=f"{P}_cols").set_value(2).run()
    assert not at.exception
    # The grid starts as identity [[1, 0]]; type -1 into cell (0, 1): a horizontal difference.
    type_into_grid(at, f"{P}_grid", {(0, 1): "-1"})
    at.number_input(key=f"{P}_row").set_value(10).run()
    at.number_input(key=f"{P}_col").set_value(31).run()
    assert not at.exception and not at.error
    image = sample_image("checkerboard").array
    raw = filter_image(image, np.array([[1.0, -1.0]]), padding="same").raw[10, 31, 0]
    assert float(_metric(at, "R result")) == pytest.approx(float(raw), abs=1e-4)
    assert raw != 0


def test_zoom_both_together_shares_the_axes() -> None:
    import json

    from streamlit.testing.v1 import AppTest as _AppTest

    at = _AppTest.from_file(PAGE, default_timeout=120).run()
    charts_before = len(at.get("plotly_chart"))
    at.toggle(key="ik_synced").set_value(True).run()
    assert not at.exception
    charts = at.get("plotly_chart")
    assert len(charts) == charts_before + 1
    spec = json.loads(charts[0].proto.spec)
    assert [t["type"] for t in spec["data"]] == ["image", "image"]
    assert spec["layout"]["xaxis2"]["matches"] == "x" and spec["layout"]["yaxis2"]["matches"] == "y"


def test_an_uploaded_files_name_is_shown_literally_in_the_figure_titles(at: AppTest) -> None:
    """Plotly reads <a href> in a title: a file named like a link must show as its characters."""
    import json

    from tests.app.helpers import live_markdown, shown_messages

    name = '<a href="https:example.com">click</a>.png'
    _upload(at, name, _png(np.zeros((20, 30, 3), np.uint8)))
    at.toggle(key=f"{P}_synced").set_value(True).run()
    assert not at.exception and not at.error
    titles = [
        a["text"]
        for chart in at.get("plotly_chart")
        for a in json.loads(chart.proto.spec)["layout"].get("annotations", [])
        if "click" in str(a.get("text"))
    ]
    assert titles == ['&lt;a href="https:example.com"&gt;click&lt;/a&gt;.png']
    assert all(not live_markdown(text) for text in shown_messages(at))


def test_typed_kernel_and_its_size_survive_an_upload(at: AppTest) -> None:
    at.selectbox(key=f"{P}_kernel").set_value("custom (type your own)").run()
    at.number_input(key=f"{P}_rows").set_value(5).run()
    at.number_input(key=f"{P}_cols").set_value(5).run()
    type_into_grid(at, f"{P}_grid", {(0, 0): "2", (4, 4): "-1", (1, 3): "0.5"})
    typed = link_of(at)[f"{P}_grid"]
    assert typed == "2,0,0,0,0;0,0,0,0.5,0;0,0,1,0,0;0,0,0,0,0;0,0,0,0,-1"
    # Choosing "Your picture" draws no kernel until a file arrives; then the file arrives.
    drawn = drawn_widgets(at)
    at.radio(key=f"{P}_source").set_value("upload").run()
    drawn = drawn_widgets(at)
    photo = np.random.default_rng(5).integers(0, 256, (40, 50, 3), dtype=np.uint8)
    at.file_uploader(key=f"{P}_upload").set_value(("mine.png", _png(photo), "image/png")).run()
    shown = as_browser_mounts(at, drawn)
    assert not at.exception and not at.error
    assert (shown.get(f"{P}_rows", 5), shown.get(f"{P}_cols", 5)) == (5, 5)  # what the boxes show
    # The next change keeps the kernel: in the link and in the result.
    drawn = drawn_widgets(at)
    at.radio(key=f"{P}_mode").set_value("luminance").run()
    as_browser_mounts(at, drawn)
    link = link_of(at)
    assert (link[f"{P}_rows"], link[f"{P}_cols"], link[f"{P}_grid"]) == ("5", "5", typed)
    assert any(c.value.startswith("Sum of weights: 2.5.") for c in at.caption)
    at.number_input(key=f"{P}_row").set_value(2).run()
    at.number_input(key=f"{P}_col").set_value(2).run()
    kernel = np.zeros((5, 5))
    kernel[2, 2], kernel[0, 0], kernel[4, 4], kernel[1, 3] = 1, 2, -1, 0.5
    raw = filter_image(photo, kernel, mode="luminance", output="clip").raw[2, 2]
    assert float(_metric(at, "grey result")) == pytest.approx(float(np.ravel(raw)[0]), abs=1e-4)


# Lecture 003, "Examples": the Gaussian blur written as 1/16 · [[1, 2, 1], [2, 4, 2], [1, 2, 1]].
GAUSSIAN_003 = [[1, 2, 1], [2, 4, 2], [1, 2, 1]]


def _kernel_shown(at: AppTest) -> np.ndarray:
    """The kernel's matrix as the page shows it: its first table that is not an editor."""
    frame = next(d.value for d in at.dataframe if "_editor_" not in d.proto.id)
    return frame.to_numpy(dtype=float)


def test_lecture_gaussian_typed_as_written_sums_to_one(at: AppTest) -> None:
    at.selectbox(key=f"{P}_kernel").set_value("custom (type your own)").run()
    type_into_grid(
        at, f"{P}_grid", {(r, c): str(v) for r, row in enumerate(GAUSSIAN_003) for c, v in enumerate(row)}
    )
    at.text_input(key=f"{P}_scale").input("1/16").run()
    assert not at.error
    assert any(c.value.startswith("Sum of weights: 1.") for c in at.caption)
    np.testing.assert_allclose(_kernel_shown(at), np.array(GAUSSIAN_003) / 16)
    assert link_of(at)[f"{P}_scale"] == "1/16"


def test_lecture_gaussian_typed_cell_by_cell_as_fractions(at: AppTest) -> None:
    at.selectbox(key=f"{P}_kernel").set_value("custom (type your own)").run()
    cells = {(r, c): f"{v}/16" for r, row in enumerate(GAUSSIAN_003) for c, v in enumerate(row)}
    type_into_grid(at, f"{P}_grid", cells)
    assert not at.error
    assert any(c.value.startswith("Sum of weights: 1.") for c in at.caption)
    np.testing.assert_allclose(_kernel_shown(at), np.array(GAUSSIAN_003) / 16)


def test_a_factor_that_is_not_a_number_says_so_and_uses_one(at: AppTest) -> None:
    at.selectbox(key=f"{P}_kernel").set_value("custom (type your own)").run()
    at.text_input(key=f"{P}_scale").input("1/0").run()
    assert at.error and "divides by zero" in at.error[0].value and "using 1" in at.error[0].value
    assert any(c.value.startswith("Sum of weights: 1.") for c in at.caption)


def _decode_source(trace: dict) -> np.ndarray:
    import base64

    data = base64.b64decode(trace["source"].split(",", 1)[1])
    return np.asarray(Image.open(io.BytesIO(data)))


def _image_captions(at: AppTest) -> list[str]:
    """The captions under the pictures (st.image), whichever element kind AppTest files them under."""
    captions = []
    for element in [*at.get("imgs"), *at.get("image")]:
        proto = element.proto
        captions += [i.caption for i in proto.imgs] if hasattr(proto, "imgs") else [proto.caption]
    return captions


def _crop_panels(at: AppTest) -> list[np.ndarray]:
    spec = charts(at)[f"{P}_crop_figure"]
    return [_decode_source(t) for t in spec["data"] if t["type"] == "image"]


@pytest.mark.slow
def test_a_big_photo_says_it_is_scaled_and_shows_a_full_resolution_crop(at: AppTest) -> None:
    # 3000×4000 (height × width) of one-pixel stripes: at 1/4 scale both the photo and its blur are a flat grey.
    photo = np.zeros((3000, 4000, 3), np.uint8)
    photo[:, ::2] = 255
    photo[1000:1200, 1500:1700] = (200, 30, 30)
    _upload(at, "big.png", _png(photo))
    at.selectbox(key=f"{P}_kernel").set_value("box blur").run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert "big.png: 3000×4000, shown at 1/4 scale" in _image_captions(at)
    assert "box blur: 3000×4000, shown at 1/4 scale" in _image_captions(at)
    captions = [c.value for c in at.caption]
    assert any(
        c.startswith("Shown at 1/4 scale: each screen pixel is the mean of a 4×4 block") for c in captions
    )
    # The crop is the original's own pixels around the centre, before and after the kernel.
    whole, before, after = _crop_panels(at)
    assert whole.shape[:2] == (375, 500)  # the overview is 1/8 scale
    np.testing.assert_array_equal(before, photo[1372:1628, 1872:2128])
    expected = apply_image_kernel(photo, image_kernel("box blur", 5)).display
    np.testing.assert_array_equal(after, expected[1372:1628, 1872:2128])
    assert np.abs(before.astype(int) - after).mean() > 50  # the blur shows at 1:1
    # Moving the crop shows another part, still at full resolution.
    at.number_input(key=f"{P}_crop_row").set_value(1100).run()
    at.number_input(key=f"{P}_crop_col").set_value(1600).run()
    _, before, after = _crop_panels(at)
    np.testing.assert_array_equal(before, photo[972:1228, 1472:1728])
    np.testing.assert_array_equal(after, expected[972:1228, 1472:1728])


def test_a_small_photo_is_shown_whole_and_says_nothing_about_scale(at: AppTest) -> None:
    photo = np.random.default_rng(4).integers(0, 256, (60, 80, 3), dtype=np.uint8)
    _upload(at, "small.png", _png(photo))
    assert not any("shown at 1/" in c.lower() for c in [c.value for c in at.caption] + _image_captions(at))
    assert "small.png: 60×80" in _image_captions(at)
    whole, before, after = _crop_panels(at)
    np.testing.assert_array_equal(before, photo)
    np.testing.assert_array_equal(after, apply_image_kernel(photo, image_kernel("sobel x")).display)


def test_same_padding_with_stride_offers_fixes_that_bring_the_result_back(at: AppTest) -> None:
    at.number_input(key=f"{P}_stride").set_value(2).run()
    assert at.error and "'same' needs stride 1" in at.error[0].value
    assert not _image_captions(at)
    at.button(key=f"{P}_fix_stride").click().run()
    assert not at.error
    assert at.number_input(key=f"{P}_stride").value == 1
    assert "sobel x: 427×640" in _image_captions(at)
    # The other way out keeps stride 2 and pads as 'same' would at stride 1: (427 + 2 - 3) // 2 + 1 = 214.
    at.number_input(key=f"{P}_stride").set_value(2).run()
    assert at.button(key=f"{P}_fix_padding").label == "Keep stride 2, pad 1 per side"
    at.button(key=f"{P}_fix_padding").click().run()
    assert not at.error
    assert (at.radio(key=f"{P}_padding").value, at.number_input(key=f"{P}_pad_px").value) == ("pixels", 1)
    assert "sobel x: 214×320" in _image_captions(at)
    assert link_of(at)[f"{P}_padding"] == "pixels" and link_of(at)[f"{P}_stride"] == "2"


def test_the_kernel_table_has_narrow_columns_and_no_index_so_three_columns_fit(at: AppTest) -> None:
    import json

    for name in ("sobel x", "gradient magnitude (sobel)", "gaussian blur"):
        at.selectbox(key=f"{P}_kernel").set_value(name).run()
        tables = [d for d in at.dataframe if "_editor_" not in d.proto.id][: 2 if "magnitude" in name else 1]
        for table in tables:
            columns = json.loads(table.proto.columns)
            shown = [c for c in table.value.columns]
            assert columns["_index"] == {"hidden": True}
            widths = [columns[c]["width"] for c in shown]
            # The column beside the pictures is 3/13 of the page: about 210 pixels of a 900-pixel page.
            assert all(isinstance(w, int) for w in widths) and sum(widths[:3]) <= 200, widths


def test_every_table_carries_its_decimals_as_column_configuration_not_a_styler(at: AppTest) -> None:
    """The kernel, the neighbourhood and the products are plain frames whose float columns the data frame
    formats itself: a Styler would render every cell in Python on every rerun."""
    import json

    at.selectbox(key=f"{P}_kernel").set_value("gradient magnitude (sobel)").run()
    tables = list(at.dataframe)
    assert len(tables) == 2 + 3 * 3  # two kernels; per channel the neighbourhood and two products
    for table in tables:
        columns = json.loads(table.proto.columns)
        formats = {c: columns[str(c)]["type_config"]["format"] for c in table.value.columns}
        assert set(formats.values()) <= {"%.4g", "%.3f"} and formats, formats
    widths = json.loads(tables[0].proto.columns)
    assert all(isinstance(widths[str(c)]["width"], int) for c in tables[0].value.columns)  # widths kept


def test_pictures_and_results_are_shared_read_only_not_copied_per_rerun(at: AppTest) -> None:
    """A rerun reads the decoded picture and the filtered result from one shared, read-only copy."""
    import importlib

    image_picker = importlib.import_module("cnnviz.ui.image_picker")
    name = at.selectbox(key=f"{P}_sample").value
    first, second = image_picker._sample(name), image_picker._sample(name)
    assert first is second and not first.array.flags.writeable
    with pytest.raises(ValueError):
        first.array[0, 0] = 0
    data = _png(np.zeros((4, 4, 3), np.uint8))
    assert image_picker._decoded(data, "a.png") is image_picker._decoded(data, "a.png")
