"""Safe loading of uploads: every bad file is refused with a readable message; every odd mode becomes RGB."""

from __future__ import annotations

import io
import struct
import zlib

import hypothesis.strategies as st
import numpy as np
import pytest
from hypothesis import given
from PIL import Image, ImageOps

from cnnviz.errors import ConvConfigError
from cnnviz.images.loading import (
    MAX_FILE_BYTES,
    MEMORY_BUDGET,
    SAMPLES,
    decode_budget,
    encode_png,
    load_image,
    preview,
    sample_image,
)
from tests.oracle import examples


def _save(image: Image.Image, fmt: str, **kwargs: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **kwargs)
    return buffer.getvalue()


def _chunk(kind: bytes, body: bytes) -> bytes:
    return (
        struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
    )


def _png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims width x height (its data is a few bytes)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", ihdr)
        + _chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + _chunk(b"IEND", b"")
    )


def test_png_header_claiming_a_huge_size_is_refused_before_decoding() -> None:
    with pytest.raises(ConvConfigError, match="megapixel limit"):
        load_image(_png_claiming(100_000, 100_000), "bomb.png")


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_claim_between_pillows_warning_and_error_is_refused_before_decoding() -> None:
    """100 MP: Pillow only warns (it raises from 179 MP on); the header check refuses it."""
    with pytest.raises(ConvConfigError, match="claims 10000×10000 = 100 MP"):
        load_image(_png_claiming(10_000, 10_000), "bomb.png")


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_claimed_size_is_written_height_by_width() -> None:
    with pytest.raises(ConvConfigError, match="claims 9000×12000 = 108 MP"):  # 12,000 wide, 9,000 high
        load_image(_png_claiming(12_000, 9_000), "bomb.png")


def test_solid_image_just_above_the_pixel_limit_is_refused() -> None:
    data = _save(Image.new("L", (8000, 5001)), "PNG")  # 40.008 MP, a few kB compressed
    with pytest.raises(ConvConfigError, match="40 megapixel"):
        load_image(data, "solid.png")


def test_truncated_jpeg_is_refused() -> None:
    rng = np.random.default_rng(0)
    data = _save(Image.fromarray(rng.integers(0, 255, (200, 200, 3), dtype=np.uint8)), "JPEG")
    with pytest.raises(ConvConfigError, match="truncated or damaged"):
        load_image(data[: len(data) // 2], "cut.jpg")


def test_zero_byte_file_is_refused() -> None:
    with pytest.raises(ConvConfigError, match="empty"):
        load_image(b"", "empty.png")


def test_text_renamed_png_is_refused() -> None:
    with pytest.raises(ConvConfigError, match="not a picture"):
        load_image(b"hello, this is a text file\n" * 10, "notes.png")


def test_file_one_byte_over_the_limit_is_refused_with_sizes_that_differ() -> None:
    """'is 25.0 MB; the limit is 25.0 MB' was not true-looking: in bytes the two sizes differ."""
    with pytest.raises(ConvConfigError) as info:
        load_image(b"\0" * (MAX_FILE_BYTES + 1), "huge.png")
    assert "26,214,401 bytes, more than the 26,214,400 bytes (25.0 MB)" in str(info.value)


def test_file_well_over_the_limit_is_refused_in_megabytes() -> None:
    with pytest.raises(ConvConfigError) as info:
        load_image(b"\0" * (MAX_FILE_BYTES + 3 * 1024 * 1024), "huge.png")
    assert "huge.png is 28.0 MB, more than the 25.0 MB an upload may have" in str(info.value)


def test_formats_outside_the_list_are_not_decoded() -> None:
    data = _save(Image.new("RGB", (4, 4)), "PPM")  # Pillow reads PPM, but it is not allowed here
    with pytest.raises(ConvConfigError, match="not a picture"):
        load_image(data, "x.ppm")


def test_exif_rotated_jpeg_comes_out_upright() -> None:
    image = Image.new("RGB", (40, 20), (255, 0, 0))
    image.paste((0, 0, 255), (0, 0, 10, 20))  # blue band on the left as stored
    exif = Image.Exif()
    exif[0x0112] = 6  # stored rotated: display after rotating 90° clockwise
    loaded = load_image(_save(image, "JPEG", exif=exif.tobytes(), quality=95), "phone.jpg")
    assert loaded.array.shape == (40, 20, 3)
    assert loaded.original_size == (40, 20)
    top = loaded.array[2, 10]
    assert top[2] > 200 and top[0] < 60  # left band is now at the top
    assert any("EXIF" in n for n in loaded.notes)


def test_palette_with_transparency_is_composited_on_white() -> None:
    image = Image.new("P", (8, 8), 0)
    image.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    image.paste(1, (0, 0, 4, 8))
    loaded = load_image(_save(image, "PNG", transparency=0), "logo.png")
    assert loaded.array[0, 0].tolist() == [255, 0, 0]
    assert loaded.array[0, 7].tolist() == [255, 255, 255]
    assert any("white" in n for n in loaded.notes)


def test_rgba_half_transparent_is_blended_with_white() -> None:
    loaded = load_image(_save(Image.new("RGBA", (4, 4), (0, 0, 0, 128)), "PNG"), "a.png")
    assert 120 <= int(loaded.array[0, 0, 0]) <= 130


def test_16_bit_grey_is_rescaled_not_clamped() -> None:
    values = np.array([[0, 257 * 100, 65535, 1000]], dtype=np.uint16)
    loaded = load_image(_save(Image.fromarray(values), "PNG"), "depth.png")  # 16-bit grey PNG
    assert loaded.array[0, :, 0].tolist() == [0, 100, 255, 4]
    assert any("16-bit" in n for n in loaded.notes)


def test_cmyk_jpeg_becomes_rgb() -> None:
    loaded = load_image(_save(Image.new("CMYK", (8, 8), (0, 255, 255, 0)), "JPEG", quality=100), "print.jpg")
    r, g, b = loaded.array[4, 4].tolist()
    assert r > 200 and g < 50 and b < 50
    assert any("CMYK" in n for n in loaded.notes)


def test_animated_gif_uses_the_first_frame() -> None:
    frames = [Image.new("RGB", (8, 8), c) for c in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
    data = _save(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100)
    loaded = load_image(data, "anim.gif")
    assert loaded.array[0, 0].tolist() == [255, 0, 0]
    assert any("first frame" in n and "3 frames" in n for n in loaded.notes)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP", "GIF", "BMP", "TIFF"])
def test_every_allowed_format_loads_as_rgb_uint8(fmt: str) -> None:
    loaded = load_image(_save(Image.new("RGB", (12, 9), (10, 200, 30)), fmt), f"x.{fmt.lower()}")
    assert loaded.array.shape == (9, 12, 3) and loaded.array.dtype == np.uint8


def test_large_picture_is_downscaled_with_a_note_and_its_size_kept() -> None:
    loaded = load_image(
        _save(Image.new("RGB", (400, 300), (9, 9, 9)), "PNG"), "big.png", compute_pixels=30_000
    )
    assert loaded.array.shape[0] * loaded.array.shape[1] <= 30_000
    assert loaded.original_size == (300, 400)
    assert loaded.scale == pytest.approx(loaded.array.shape[0] / 300)
    assert any("Downscaled from 300×400" in n and "unchanged" in n for n in loaded.notes)  # height × width


def test_preview_bounds_the_long_side_and_png_round_trips() -> None:
    array = np.random.default_rng(1).integers(0, 256, (300, 2000, 3), dtype=np.uint8)
    assert preview(array, 1024).shape == (150, 1000, 3)  # 2x2 blocks averaged
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(encode_png(array)))), array)


@pytest.mark.parametrize("name", list(SAMPLES))
def test_every_sample_is_rgb_uint8(name: str) -> None:
    array = sample_image(name).array
    assert array.ndim == 3 and array.shape[2] == 3 and array.dtype == np.uint8 and array.std() > 10


def test_animated_webp_and_png_use_the_first_frame() -> None:
    frames = [Image.new("RGB", (8, 8), c) for c in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
    for fmt, options in (("WEBP", {"lossless": True}), ("PNG", {})):
        data = _save(frames[0], fmt, save_all=True, append_images=frames[1:], duration=100, **options)
        loaded = load_image(data, f"anim.{fmt.lower()}")
        assert loaded.array[4, 4].tolist() == [255, 0, 0]
        assert any("3 frames" in n for n in loaded.notes)


def test_multi_page_tiff_uses_the_first_page() -> None:
    pages = [Image.new("RGB", (8, 8), c) for c in ((255, 0, 0), (0, 255, 0))]
    loaded = load_image(_save(pages[0], "TIFF", save_all=True, append_images=pages[1:]), "scan.tiff")
    assert loaded.array[0, 0].tolist() == [255, 0, 0]
    assert any("2 pages" in n for n in loaded.notes)


# ---------------------------------------------------------------------------------------------
# Attacks that used to escape load_image as TypeError, KeyError or IndexError


def _tiff_with_second_page_missing_its_width() -> bytes:
    """A 3-page little-endian TIFF whose second page has no ImageWidth tag (256 renamed 255)."""
    pages = [Image.new("RGB", (8, 8), c) for c in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
    data = bytearray(_save(pages[0], "TIFF", save_all=True, append_images=pages[1:]))
    assert data[:4] == b"II*\x00"
    first = struct.unpack_from("<I", data, 4)[0]
    count = struct.unpack_from("<H", data, first)[0]
    second = struct.unpack_from("<I", data, first + 2 + 12 * count)[0]
    for entry in range(struct.unpack_from("<H", data, second)[0]):
        at = second + 2 + 12 * entry
        if struct.unpack_from("<H", data, at)[0] == 256:
            struct.pack_into("<H", data, at, 255)
    return bytes(data)


def test_tiff_whose_later_page_is_damaged_still_gives_its_first_page() -> None:
    data = _tiff_with_second_page_missing_its_width()
    with pytest.raises(TypeError):  # what Pillow does when counting the pages: the attack is real
        Image.open(io.BytesIO(data)).n_frames  # noqa: B018
    loaded = load_image(data, "scan.tiff")
    assert loaded.array.shape == (8, 8, 3) and loaded.array[0, 0].tolist() == [255, 0, 0]


def _gif_with_a_cut_second_control_block() -> bytes:
    """An animated GIF whose second graphic control block says it holds 1 byte (it needs 4)."""
    frames = [Image.new("RGB", (8, 8), c) for c in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
    data = _save(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100)
    second = data.find(b"\x21\xf9\x04", data.find(b"\x21\xf9\x04") + 1)
    assert second > 0
    return data[:second] + b"\x21\xf9\x01\x01" + data[second + 4 :]


def test_damaged_gif_frame_after_the_first_still_gives_the_first() -> None:
    data = _gif_with_a_cut_second_control_block()
    with pytest.raises(IndexError):  # Pillow, counting frames
        Image.open(io.BytesIO(data)).n_frames  # noqa: B018
    loaded = load_image(data, "anim.gif")
    assert loaded.array[0, 0].tolist() == [255, 0, 0]


def _exif(entries: list[tuple[int, int, int, bytes]]) -> bytes:
    """A little-endian EXIF block with one IFD of (tag, type, count, 4-byte value) entries."""
    body = b"II*\x00" + struct.pack("<IH", 8, len(entries))
    for tag, kind, count, value in entries:
        body += struct.pack("<HHI", tag, kind, count) + value
    return b"Exif\x00\x00" + body + struct.pack("<I", 0)


def test_exif_rational_holding_text_does_not_break_loading() -> None:
    """XResolution (a rational) stored as the text 'abc', next to orientation 6: Pillow's exif_transpose
    raised TypeError writing it back; the rotation alone is applied here."""
    exif = _exif([(0x0112, 3, 1, struct.pack("<HH", 6, 0)), (282, 2, 4, b"abc\x00")])
    loaded = load_image(_save(Image.new("RGB", (8, 6), (200, 10, 10)), "JPEG", exif=exif), "phone.jpg")
    assert loaded.array.shape == (8, 6, 3)
    assert any("Rotated upright" in n for n in loaded.notes)


@pytest.mark.parametrize("orientation", [0, 1, 9, 65535])
def test_orientation_that_is_no_rotation_rotates_nothing_and_says_nothing(orientation: int) -> None:
    exif = _exif([(0x0112, 3, 1, struct.pack("<HH", orientation, 0))])
    loaded = load_image(_save(Image.new("RGB", (8, 6), (200, 10, 10)), "JPEG", exif=exif), "phone.jpg")
    assert loaded.array.shape == (6, 8, 3)
    assert not any("Rotated" in n for n in loaded.notes)


def test_orientation_given_as_text_is_ignored() -> None:
    exif = _exif([(0x0112, 2, 4, b"six\x00")])
    loaded = load_image(_save(Image.new("RGB", (8, 6)), "JPEG", exif=exif), "phone.jpg")
    assert loaded.array.shape == (6, 8, 3) and loaded.notes == []


@examples(40)
@given(
    orientation=st.integers(1, 8), height=st.integers(1, 9), width=st.integers(1, 9), seed=st.integers(0, 99)
)
def test_every_orientation_turns_the_picture_as_pillow_does(orientation, height, width, seed) -> None:
    pixels = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    exif = Image.Exif()
    exif[0x0112] = orientation
    stored = Image.fromarray(pixels)
    loaded = load_image(_save(stored, "PNG", exif=exif.tobytes()), "turned.png")
    stored.info["exif"] = exif.tobytes()
    stored.getexif()[0x0112] = orientation
    expected = np.asarray(ImageOps.exif_transpose(stored))
    np.testing.assert_array_equal(loaded.array, expected)
    assert loaded.original_size == expected.shape[:2]


def test_float_tiff_with_infinities_and_nan_is_stretched_over_its_finite_values() -> None:
    values = np.array([[0.5, 1.5, np.inf, -np.inf, np.nan, 1.0]], np.float32)
    loaded = load_image(_save(Image.fromarray(values), "TIFF"), "depth.tiff")
    assert loaded.array[0, :, 0].tolist() == [0, 255, 255, 0, 0, 128]
    assert "F picture stretched from 0.5..1.5 to 0..255." in loaded.notes
    assert any("3 pixels are not finite" in n for n in loaded.notes)
    assert not any("nan" in n for n in loaded.notes)


def test_float_tiff_with_no_finite_value_says_so() -> None:
    values = np.array([[np.nan, np.inf]], np.float32)
    loaded = load_image(_save(Image.fromarray(values), "TIFF"), "depth.tiff")
    assert loaded.array[0, :, 0].tolist() == [0, 255]
    assert any("no finite values" in n for n in loaded.notes)


def test_32_bit_integers_are_stretched_and_16_bit_data_stored_wide_is_rescaled() -> None:
    wide = load_image(_save(Image.fromarray(np.array([[0, 65535, 257 * 10]], np.int32)), "TIFF"), "a.tiff")
    assert wide.array[0, :, 0].tolist() == [0, 255, 10]
    signed = load_image(_save(Image.fromarray(np.array([[-10, 0, 10]], np.int32)), "TIFF"), "b.tiff")
    assert signed.array[0, :, 0].tolist() == [0, 128, 255]


def test_tiny_webp_claiming_40_megapixels_with_alpha_is_refused_before_decoding() -> None:
    """A 1.5 KB lossless WebP of one colour at 8000x5000 with alpha used to take 0.8-1.2 GB to decode."""
    data = _save(Image.new("RGBA", (8000, 5000), (10, 200, 30, 128)), "WEBP", lossless=True)
    assert len(data) < 2000
    with pytest.raises(ConvConfigError, match="at most 31 megapixels") as info:
        load_image(data, "tiny.webp")
    assert "memory" in str(info.value)
    assert decode_budget((8000, 5000), "RGBA", "WEBP") > MEMORY_BUDGET


def test_budget_counts_bytes_per_pixel_by_mode_and_format() -> None:
    size = (1000, 1000)
    assert decode_budget(size, "L", "PNG") == 2_000_000  # Pillow 1 + grey result 1
    assert decode_budget(size, "I;16", "PNG") == 3_000_000  # 2 + 1
    assert decode_budget(size, "RGB", "JPEG") == 7_000_000  # Pillow keeps RGB in 4 bytes, + 3
    assert decode_budget(size, "RGBA", "WEBP") == 15_000_000  # + libwebp's canvas and Pillow's frame bytes
    assert decode_budget((8000, 5000), "RGBA", "PNG") < MEMORY_BUDGET  # 40 MP of any other kind fits


def test_77_kb_16_bit_png_at_40_megapixels_loads_within_its_budget() -> None:
    """Used to take 1.2 GB (float64 copies of the whole picture); now 3 bytes per pixel."""
    data = _save(Image.fromarray(np.full((5000, 8000), 1000, np.uint16)), "PNG")
    assert len(data) < 100_000
    loaded = load_image(data, "depth.png")
    assert loaded.array.shape == (2738, 4381, 3) and int(loaded.array[0, 0, 0]) == 4
