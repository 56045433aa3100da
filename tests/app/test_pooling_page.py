"""AppTest of the pooling page: every control, every error message, figures checked against PyTorch."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image
from streamlit.runtime.memory_media_file_storage import _calculate_file_id
from streamlit.testing.v1 import AppTest

from cnnviz.conv.kernels import LECTURE_SIGNAL, input_pattern
from cnnviz.images.loading import encode_png, sample_image
from cnnviz.topics.downsampling import (
    downsample_compare,
    enlarge_nearest,
    fine_stripes,
    gaussian_1d,
    to_uint8,
    zone_plate,
)
from tests.app.helpers import page_path
from tests.plotly_arrays import decode_array as _decode

PAGE = page_path("5_Pooling.py")
P = "pl"


def _chart(at: AppTest, key: str) -> dict:
    """The figure of the chart with widget key `key` (as the browser gets it, frames included)."""
    (chart,) = [c for c in at.get("plotly_chart") if c.key == f"{P}_{key}"]
    return json.loads(chart.proto.spec)


def _chart_keys(at: AppTest) -> list[str]:
    return [c.key for c in at.get("plotly_chart")]


def _t(a: np.ndarray) -> torch.Tensor:
    return torch.tensor(a, dtype=torch.float64)[None, None]


def _errors(at: AppTest) -> list[str]:
    return [e.value for e in at.error]


def test_default_page_renders_all_sections(at: AppTest) -> None:
    assert not at.error
    assert _chart_keys(at) == [
        f"{P}_{k}" for k in ("pool", "anim", "1d", "inv_maps", "inv_plot", "up_source", "up")
    ]
    latex = " ".join(e.value for e in at.latex)
    assert "H_{out}" in latex and "W_{out}" in latex
    text = " ".join(m.value for m in at.markdown)
    assert "equivariant" in text and "approximately invariant" in text
    x = input_pattern("random", (6, 6), 0)
    assert at.metric[0].value == f"{x.mean():.4g}"


def test_max_pool_figure_equals_torch_with_winners(at: AppTest) -> None:
    at.selectbox(key=f"{P}_pattern").set_value("ramp")
    at.number_input(key=f"{P}_height").set_value(5)
    at.number_input(key=f"{P}_width").set_value(7)
    at.number_input(key=f"{P}_kernel").set_value(3)
    at.checkbox(key=f"{P}_same_stride").uncheck().run()
    at.number_input(key=f"{P}_stride").set_value(2)
    at.number_input(key=f"{P}_padding").set_value(1)
    at.number_input(key=f"{P}_dilation").set_value(2)
    at.checkbox(key=f"{P}_ceil").check()
    at.run()
    assert not at.exception and not at.error
    fig = _chart(at, "pool")
    x = input_pattern("ramp", (5, 7))
    np.testing.assert_array_equal(_decode(fig["data"][0]["z"]).astype(float), x)
    ref, idx = F.max_pool2d(_t(x), 3, 2, 1, 2, ceil_mode=True, return_indices=True)
    np.testing.assert_array_equal(_decode(fig["data"][1]["z"]).astype(float), ref[0, 0].numpy())
    rows, cols = np.divmod(idx[0, 0].numpy().ravel(), 7)
    marked = set(
        zip(_decode(fig["data"][2]["y"]).astype(int), _decode(fig["data"][2]["x"]).astype(int), strict=True)
    )
    assert marked == set(zip(rows.tolist(), cols.tolist(), strict=True))


def test_avg_pool_figure_equals_torch(at: AppTest) -> None:
    at.selectbox(key=f"{P}_pattern").set_value("random")
    at.number_input(key=f"{P}_seed").set_value(7)
    at.radio(key=f"{P}_kind").set_value("avg").run()
    at.number_input(key=f"{P}_padding").set_value(1)
    at.checkbox(key=f"{P}_count_pad").uncheck()
    at.run()
    assert not at.exception and not at.error
    fig = _chart(at, "pool")
    x = input_pattern("random", (6, 6), 7)
    ref = F.avg_pool2d(_t(x), 2, 2, 1, count_include_pad=False)[0, 0].numpy()
    np.testing.assert_allclose(_decode(fig["data"][1]["z"]).astype(float), ref)
    assert not [t for t in fig["data"] if t["type"] == "scatter"]  # no winners for an average


@pytest.mark.parametrize(
    ("settings", "words", "gone"),
    [
        ({"padding": 2}, "at most half the kernel size", {"pool", "anim", "1d"}),  # 2D and 1D both refuse
        ({"kernel": 8}, "padded input", {"pool", "anim"}),  # 8 > the 6-wide grid, not the 12-long signal
    ],
)
def test_bad_settings_show_a_message_not_a_traceback(
    at: AppTest, settings: dict, words: str, gone: set
) -> None:
    for key, value in settings.items():
        at.number_input(key=f"{P}_{key}").set_value(value)
    at.run()
    assert not at.exception
    assert sum(words in e for e in _errors(at)) == (2 if "1d" in gone else 1)
    everything = {"pool", "anim", "1d", "inv_maps", "inv_plot", "up_source", "up"}
    assert set(_chart_keys(at)) == {f"{P}_{k}" for k in everything - gone}  # the rest still render


def test_invariance_controls_and_plot(at: AppTest) -> None:
    at.slider(key=f"{P}_shift").set_value(2)
    at.number_input(key=f"{P}_inv_kernel").set_value(3)
    at.number_input(key=f"{P}_inv_stride").set_value(2)
    at.run()
    assert not at.exception and not at.error
    maps, plot = _chart(at, "inv_maps"), _chart(at, "inv_plot")
    image = np.zeros((4, 8))
    image[:, :4] = 1
    np.testing.assert_array_equal(_decode(maps["data"][0]["z"]).astype(float), image)
    conv = F.conv2d(_t(image), torch.tensor([[[[1.0, -1.0]]]], dtype=torch.float64))
    np.testing.assert_array_equal(_decode(maps["data"][1]["z"]).astype(float), conv[0, 0].numpy())
    np.testing.assert_array_equal(
        _decode(maps["data"][2]["z"]).astype(float), F.max_pool2d(conv, 3, 2)[0, 0].numpy()
    )
    assert _decode(plot["data"][0]["y"]).tolist() == pytest.approx([0, 8 / 28, 8 / 28, 8 / 28])
    assert _decode(plot["data"][0]["x"]).tolist() == [0, 1, 2, 3]


def test_upsampling_controls_and_values(at: AppTest) -> None:
    at.selectbox(key=f"{P}_up_pattern").set_value("random")
    at.number_input(key=f"{P}_up_kernel").set_value(3)
    at.run()
    assert not at.exception and not at.error
    fig = _chart(at, "up")
    src = input_pattern("random", (4, 4), 0)
    pooled, idx = F.max_pool2d(_t(src), 2, return_indices=True)
    got = [_decode(trace["z"]).astype(float) for trace in fig["data"]]
    np.testing.assert_array_equal(got[0], F.interpolate(pooled, scale_factor=2)[0, 0].numpy())
    np.testing.assert_array_equal(got[1], F.max_unpool2d(pooled, idx, 2)[0, 0].numpy())
    np.testing.assert_allclose(
        got[2], F.interpolate(pooled, scale_factor=2, mode="bilinear", align_corners=False)[0, 0].numpy()
    )
    ref_t = F.conv_transpose2d(pooled, torch.ones(1, 1, 3, 3, dtype=torch.float64), stride=2)
    np.testing.assert_allclose(got[3], ref_t[0, 0].numpy())
    assert got[3].shape == (5, 5)
    sizes = at.dataframe[-1].value
    assert sizes["output size"].tolist() == ["4×4", "4×4", "4×4", "5×5"]


# --- the window animation --------------------------------------------------------------------------


def _frame_cell(frame: dict) -> tuple[int, int, float]:
    """Row, column and value of the output cell a frame has just filled in."""
    out = _decode(frame["data"][3]["z"]).astype(float)
    flat = out.ravel()
    last = int(np.isfinite(flat).sum()) - 1
    i, j = divmod(last, out.shape[1])
    return i, j, float(flat[last])


def test_animation_frames_follow_the_sidebar_settings(at: AppTest) -> None:
    at.selectbox(key=f"{P}_pattern").set_value("ramp")
    at.number_input(key=f"{P}_width").set_value(7)
    at.number_input(key=f"{P}_kernel").set_value(3)
    at.checkbox(key=f"{P}_same_stride").uncheck().run()
    at.number_input(key=f"{P}_stride").set_value(2)
    at.number_input(key=f"{P}_padding").set_value(1)
    at.number_input(key=f"{P}_dilation").set_value(2).run()
    assert not at.exception and not at.error
    fig = _chart(at, "anim")
    x = input_pattern("ramp", (6, 7))
    ref, idx = F.max_pool2d(_t(x), 3, 2, 1, 2, return_indices=True)
    ref, idx = ref[0, 0].numpy(), idx[0, 0].numpy()
    assert len(fig["frames"]) == ref.size  # one frame per output cell
    for frame in fig["frames"]:
        i, j, value = _frame_cell(frame)
        assert value == pytest.approx(ref[i, j])
        ring = frame["data"][2]
        assert (ring["y"][0], ring["x"][0]) == divmod(int(idx[i, j]), 7)
        assert frame["layout"]["title"]["text"].startswith(f"output ({i}, {j}) = max(")


def test_animation_of_average_pooling_has_no_winner(at: AppTest) -> None:
    at.radio(key=f"{P}_kind").set_value("avg").run()
    at.checkbox(key=f"{P}_count_pad").uncheck()
    at.number_input(key=f"{P}_padding").set_value(1).run()
    assert not at.exception and not at.error
    fig = _chart(at, "anim")
    x = input_pattern("random", (6, 6), 0)
    ref = F.avg_pool2d(_t(x), 2, 2, 1, count_include_pad=False)[0, 0].numpy()
    for frame in fig["frames"]:
        i, j, value = _frame_cell(frame)
        assert value == pytest.approx(ref[i, j], rel=1e-6)
        assert frame["data"][2]["x"] == []
    assert "padding counts as 0" in " ".join(c.value for c in at.caption)


@pytest.mark.parametrize(("speed", "ms"), [("slow", 900), ("medium", 450), ("fast", 150)])
def test_speed_sets_the_frame_duration(at: AppTest, speed: str, ms: int) -> None:
    at.select_slider(key=f"{P}_speed").set_value(speed).run()
    assert not at.exception
    play = _chart(at, "anim")["layout"]["updatemenus"][0]["buttons"][0]
    assert play["args"][1]["frame"]["duration"] == ms


# --- 1D pooling ------------------------------------------------------------------------------------


def test_1d_view_pools_the_lecture_signal_like_torch(at: AppTest) -> None:
    fig = _chart(at, "1d")
    x = torch.tensor(LECTURE_SIGNAL, dtype=torch.float64)[None, None]
    ref, idx = F.max_pool1d(x, 2, return_indices=True)
    np.testing.assert_allclose(_decode(fig["data"][1]["z"])[0], ref[0, 0].numpy())
    assert sorted(_decode(fig["data"][2]["x"]).astype(int).tolist()) == idx[0, 0].tolist()
    assert any("L_{out}" in e.value for e in at.latex)
    assert at.number_input(key=f"{P}_1d_length").disabled


@pytest.mark.parametrize("signal", ["random", "ramp", "edge", "impulse"])
def test_1d_signal_and_length_controls(at: AppTest, signal: str) -> None:
    at.selectbox(key=f"{P}_1d_signal").set_value(signal).run()
    at.number_input(key=f"{P}_1d_length").set_value(9)
    at.radio(key=f"{P}_kind").set_value("avg").run()
    at.number_input(key=f"{P}_kernel").set_value(3).run()
    assert not at.exception and not at.error
    fig = _chart(at, "1d")
    x = input_pattern(signal, (9,))
    np.testing.assert_array_equal(_decode(fig["data"][0]["z"])[0], x)
    ref = F.avg_pool1d(torch.tensor(x)[None, None], 3)[0, 0].numpy()
    np.testing.assert_allclose(_decode(fig["data"][1]["z"])[0], ref)


def test_1d_error_is_shown_while_2d_still_renders(at: AppTest) -> None:
    at.selectbox(key=f"{P}_1d_signal").set_value("ramp").run()
    at.number_input(key=f"{P}_1d_length").set_value(3)
    at.number_input(key=f"{P}_kernel").set_value(5).run()
    assert not at.exception
    assert any("padded input" in e for e in _errors(at))
    assert f"{P}_1d" not in _chart_keys(at) and f"{P}_pool" in _chart_keys(at)


# --- downsampling ----------------------------------------------------------------------------------

METHODS = ["subsample", "max pool", "average pool", "blur, then subsample"]


def _shown_images(at: AppTest) -> dict[str, str]:
    """Caption -> media URL of every picture on the page."""
    return {img.caption: img.url for el in at.get("image") for img in el.proto.imgs}


def _torch_down(x: np.ndarray, f: int) -> dict[str, np.ndarray]:
    """The four ways down with torch only, (H, W[, C]) in and out."""
    chw = x[None] if x.ndim == 2 else np.moveaxis(x, -1, 0)
    t = torch.tensor(chw, dtype=torch.float64)[:, None]
    g = torch.tensor(gaussian_1d(f / 2), dtype=torch.float64)
    r = g.numel() // 2
    ways = {
        "subsample": t[:, :, ::f, ::f],
        "max pool": F.max_pool2d(t, f),
        "average pool": F.avg_pool2d(t, f),
        "blur, then subsample": F.conv2d(
            F.pad(t, (r,) * 4, mode="replicate"), torch.outer(g, g)[None, None], stride=f
        ),
    }
    out = {}
    for name, y in ways.items():
        a = y[:, 0].numpy()
        out[name] = a[0] if x.ndim == 2 else np.moveaxis(a, 0, -1)
    return out


def _assert_pictures(at: AppTest, source: np.ndarray, f: int) -> None:
    """The page shows the source and each way down, enlarged f times, as lossless PNG; the pixels are the
    core's values, which equal torch's (rounding to 0..255 is left to one function, so a value that torch
    puts a hair on the other side of a .5 tie cannot flip a pixel in this comparison)."""
    shown = _shown_images(at)
    h, w = source.shape[:2]
    assert shown[f"input {h}×{w}"].endswith(
        _calculate_file_id(encode_png(to_uint8(source)), "image/png") + ".png"
    )
    ours = downsample_compare(source, f).methods
    for name, y in _torch_down(source, f).items():
        np.testing.assert_allclose(ours[name], y, rtol=1e-12, atol=1e-12, err_msg=name)
        caption = f"{name}: {y.shape[0]}×{y.shape[1]}"
        png = encode_png(to_uint8(enlarge_nearest(ours[name], f)))
        assert shown[caption].endswith(_calculate_file_id(png, "image/png") + ".png"), caption


@pytest.mark.parametrize("f", [2, 3, 4])
def test_zone_plate_is_shrunk_four_ways_like_torch(at: AppTest, f: int) -> None:
    at.radio(key=f"{P}_ds_factor").set_value(f).run()
    assert not at.exception and not at.error
    _assert_pictures(at, zone_plate(240), f)
    text = " ".join(m.value for m in at.markdown)
    assert (
        f"every {({2: '2nd', 3: '3rd', 4: '4th'})[f]} pixel" in text and f"every {2 * f} input pixels" in text
    )


def test_fine_stripes_alias_into_wide_stripes_unless_blurred_first(at: AppTest) -> None:
    at.radio(key=f"{P}_ds_input").set_value("fine stripes").run()
    assert not at.exception and not at.error
    # Vertical stripes 2.2 pixels apart, built here: finer than the 4 pixels that every 2nd pixel can show.
    stripes = np.repeat((0.5 + 0.5 * np.cos(2 * np.pi * np.arange(240) / 2.2))[None, :], 240, axis=0)
    np.testing.assert_allclose(fine_stripes(240), stripes, atol=1e-12)
    _assert_pictures(at, stripes, 2)
    down = _torch_down(stripes, 2)
    row = down["subsample"][0]
    # Kept every 2nd pixel, the stripes come back as false ones 1 / |1/1.1 − 1| = 11 pixels apart, at full contrast.
    spectrum = np.abs(np.fft.rfft(row - row.mean()))
    assert len(row) / np.argmax(spectrum) == pytest.approx(11, rel=0.05)
    assert np.ptp(row) > 0.9
    # Blurring first leaves almost flat grey (away from the replicated border); the average of 2 keeps a trace.
    blurred, averaged = down["blur, then subsample"][0, 3:-3], down["average pool"][0]
    assert np.ptp(blurred) < 0.05 < np.ptp(averaged) < 0.4, (np.ptp(blurred), np.ptp(averaged))
    text = " ".join(m.value for m in at.markdown)
    assert "**Why subsampling aliases:** keeping every 2nd pixel" in text and "wide stripes" in text


def test_sample_photo_is_shrunk_for_display_then_compared(at: AppTest) -> None:
    at.radio(key=f"{P}_ds_input").set_value("photo or your picture").run()
    at.selectbox(key=f"{P}_ds_sample").set_value("photo: flower (scikit-learn)").run()
    at.radio(key=f"{P}_ds_factor").set_value(3).run()
    assert not at.exception and not at.error
    photo = sample_image("photo: flower (scikit-learn)").array  # 427 × 640
    small = np.asarray(Image.fromarray(photo).reduce(3)).astype(float) / 255  # 640 / 240 -> blocks of 3
    _assert_pictures(at, small, 3)
    assert "Photo from scikit-learn's bundled sample images." in [c.value for c in at.caption]


def _png_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, "PNG")
    return buffer.getvalue()


def _upload(at: AppTest, name: str, data: bytes) -> None:
    at.radio(key=f"{P}_ds_input").set_value("photo or your picture").run()
    at.radio(key=f"{P}_ds_source").set_value("upload").run()
    at.file_uploader(key=f"{P}_ds_upload").set_value((name, data, "image/png")).run()


def test_upload_with_odd_size_shows_pooling_dropping_the_partial_block(at: AppTest) -> None:
    at.radio(key=f"{P}_ds_input").set_value("photo or your picture").run()
    at.radio(key=f"{P}_ds_source").set_value("upload").run()
    assert any("Upload a picture" in i.value for i in at.info)  # nothing uploaded yet: a hint, no error
    photo = np.random.default_rng(5).integers(0, 256, (50, 37, 3), dtype=np.uint8)
    at.file_uploader(key=f"{P}_ds_upload").set_value(("mine.png", _png_bytes(photo), "image/png")).run()
    at.radio(key=f"{P}_ds_factor").set_value(4).run()
    assert not at.exception and not at.error
    _assert_pictures(at, photo.astype(float) / 255, 4)
    captions = set(_shown_images(at))
    assert {
        "subsample: 13×10",
        "max pool: 12×9",
        "average pool: 12×9",
        "blur, then subsample: 13×10",
    } <= captions


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("notes.png", b"just some text\n" * 20, "not a picture"),
        ("empty.png", b"", "empty"),
        ("cut.png", _png_bytes(np.zeros((40, 40, 3), np.uint8))[:60], "truncated or damaged"),
        ("tiny.png", _png_bytes(np.zeros((3, 3, 3), np.uint8)), "smaller than the factor 4"),
    ],
)
def test_bad_upload_shows_a_message_and_the_page_keeps_serving(
    at: AppTest, name: str, data: bytes, message: str
) -> None:
    at.radio(key=f"{P}_ds_factor").set_value(4).run()
    _upload(at, name, data)
    assert not at.exception
    assert [e for e in _errors(at) if message in e]
    assert not [c for c in _shown_images(at) if c.startswith("subsample")]
    assert len(at.get("plotly_chart")) == 7  # every other section still renders
    at.radio(key=f"{P}_ds_input").set_value("zone plate").run()
    assert not at.exception and not at.error


def _torch_shift_maps(shift: int, kernel: int, stride: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Lecture 003's vertical edge (ones in the first 2 + shift of 8 columns, 4 rows), its [[1, -1]] edge map
    and that map max pooled, computed with PyTorch."""
    image = torch.zeros(1, 1, 4, 8, dtype=torch.float64)
    image[..., : 2 + shift] = 1.0
    conv = F.conv2d(image, torch.tensor([[[[1.0, -1.0]]]], dtype=torch.float64))
    return conv[0, 0], F.max_pool2d(conv, kernel, stride)[0, 0]


def _changed_and_kept(
    maps: list[tuple[torch.Tensor, torch.Tensor]], shift: int, which: int
) -> tuple[int, int, float]:
    base, moved = maps[0][which], maps[shift][which]
    on = base > 0
    return int((moved != base).sum()), base.numel(), float((moved[on] > 0).double().mean())


def test_the_shift_chart_compares_shares_of_each_maps_cells(at: AppTest) -> None:
    # Defaults: pool kernel 2, stride 1: a 4×7 edge map and a 3×6 pooled map.
    plot = _chart(at, "inv_plot")
    maps = [_torch_shift_maps(s, 2, 1) for s in range(4)]
    for trace, which in zip(plot["data"], (0, 1), strict=True):
        expected = [_changed_and_kept(maps, s, which)[0] / maps[0][which].numel() for s in range(4)]
        assert _decode(trace["y"]).tolist() == pytest.approx(expected)
    assert plot["layout"]["yaxis"]["tickformat"] == ".0%"


def test_the_shift_lesson_says_what_its_settings_show() -> None:
    from cnnviz.topics.lessons import LESSONS
    from tests.app.helpers import run

    lesson = next(item for item in LESSONS if item.title == "Pooling and small shifts")
    at = run(lesson.page.split("/")[-1], lesson.query)
    shift = at.slider(key=f"{P}_shift").value
    kernel, stride = (
        at.number_input(key=f"{P}_inv_kernel").value,
        at.number_input(key=f"{P}_inv_stride").value,
    )
    maps = [_torch_shift_maps(s, kernel, stride) for s in range(4)]
    conv_n, conv_total, conv_kept = _changed_and_kept(maps, shift, 0)
    pool_n, pool_total, pool_kept = _changed_and_kept(maps, shift, 1)
    text = next(m.value for m in at.markdown if m.value.startswith(f"At shift {shift}:"))
    assert f"**{conv_n} of {conv_total} ({conv_n / conv_total:.0%})** cells of the edge map changed" in text
    assert f"**{pool_n} of {pool_total} ({pool_n / pool_total:.0%})** of the pooled map" in text
    assert f"{conv_kept:.0%} of the cells that fired at shift 0 still fire" in text
    assert f"{pool_kept:.0%} of the pooled cells that fired at shift 0 still fire" in text
    # The lesson's one line is true of these numbers: the edge map moves, the pooled map stays.
    assert "the conv map moves" in lesson.goal and conv_n > 0 and conv_kept == 0
    if "does not change" in lesson.goal:
        assert pool_n == 0 and "the pooled map does not change at all" in text
    else:
        assert "barely changes" in lesson.goal and pool_n / pool_total <= 0.25 and pool_kept >= 0.5


def test_the_hover_grid_links_each_pooled_cell_to_its_window(at: AppTest) -> None:
    import json

    grids = [e for e in at.get("bidi_component") if e.proto.component_name == "cnnviz_hover_grid"]
    assert len(grids) == 1
    data = json.loads(grids[0].proto.json)
    ids = [p["id"] for p in data["panels"]]
    assert ids == ["input", "output"]
    outputs = [link for link in data["links"] if link["o"][0] == "output"]
    (output,) = [p for p in data["panels"] if p["id"] == "output"]
    assert len(outputs) == output["rows"] * output["cols"]
    assert all(link["t"].startswith(f"output[{link['o'][1]}, {link['o'][2]}] = max(") for link in outputs)


def test_every_figure_is_written_by_orjson_without_plotly_cleaning_it(
    at: AppTest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No figure on the page holds a value orjson cannot write (the animation's padding labels were an
    object array): Plotly would clean the figure value by value on every rerun first."""
    from tests.app.helpers import plotly_cleaning_passes

    with plotly_cleaning_passes(monkeypatch) as cleaned:
        at.number_input(key=f"{P}_padding").set_value(1).run()
        at.radio(key=f"{P}_kind").set_value("avg").run()
    assert not at.exception and len(_chart_keys(at)) == 7
    assert cleaned == []


def test_walkthroughs_and_views_are_shared_read_only_not_copied_per_rerun(at: AppTest) -> None:
    """A rerun reads each cached view from one shared copy (a data cache would unpickle a new one every
    time); its arrays are read-only, so no session can change another's."""
    import importlib

    views = importlib.import_module("cnnviz.ui.pooling_views")
    x = input_pattern("random", (6, 6), 0)
    pooling = {"kind": "max", "kernel_size": 2, "stride": None, "padding": 0, "dilation": 1,
               "ceil_mode": False, "count_include_pad": True}  # fmt: skip
    w = views.walkthrough(x, pooling)
    assert views.walkthrough(x.copy(), dict(pooling)) is w
    assert views.animation(x, pooling, 450) is views.animation(x, pooling, 450)
    assert views.pool_views(x, pooling) is views.pool_views(x, pooling)
    with pytest.raises(ValueError):
        w.output[0, 0] = 0
    up = views.upsampled("ramp", 2)
    assert up is views.upsampled("ramp", 2) and not up.methods["nearest"].flags.writeable
    assert views.invariance_table(2, 1) is views.invariance_table(2, 1)
