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
from tests.app.helpers import page_path, type_into_grid

PAGE = page_path("4_Image_kernels.py")
P = "ik"


def _png(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def _metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


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
                assert _metric(at, f"{channel} shown as") == f"{int(shown)} / 255"
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
