"""Safe loading of uploads: every bad file is refused with a readable message; every odd mode becomes RGB."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from cnnviz.errors import ConvConfigError
from cnnviz.images.loading import MAX_FILE_BYTES, SAMPLES, encode_png, load_image, preview, sample_image


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


def test_oversized_file_is_refused() -> None:
    with pytest.raises(ConvConfigError, match="limit is 25.0 MB"):
        load_image(b"\0" * (MAX_FILE_BYTES + 1), "huge.png")


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
    assert any("Downscaled from 400×300" in n and "unchanged" in n for n in loaded.notes)


def test_preview_bounds_the_long_side_and_png_round_trips() -> None:
    array = np.random.default_rng(1).integers(0, 256, (300, 2000, 3), dtype=np.uint8)
    assert preview(array, 1024).shape == (150, 1000, 3)  # 2x2 blocks averaged
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(encode_png(array)))), array)


@pytest.mark.parametrize("name", list(SAMPLES))
def test_every_sample_is_rgb_uint8(name: str) -> None:
    array = sample_image(name).array
    assert array.ndim == 3 and array.shape[2] == 3 and array.dtype == np.uint8 and array.std() > 10
