"""Turn an uploaded file into a safe (H, W, 3) uint8 RGB array, and make sample images to try kernels on.

An upload is untrusted, so `load_image` is one boundary: whatever the file holds, it returns a
picture or raises `ConvConfigError` with a sentence a student can act on, never another exception.

* Only the decoders for PNG, JPEG, WebP, GIF, BMP and TIFF may run.
* The work is bounded before any pixel is decoded: the header's size and mode say how much memory
  decoding and converting will take (`decode_budget`); a picture that would need more than
  `MEMORY_BUDGET` is refused. Only the first frame of an animation or a multi-page TIFF is decoded.
* Conversions run on numpy arrays, in place or in row chunks, with the decoded picture released as
  soon as its pixels are copied out, so the peak stays near the decoded size plus one copy.
* Whatever the file's mode (palette, alpha, grey, 16-bit, float, CMYK, animated, rotated by EXIF),
  the result is plain RGB, with one note per change.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from cnnviz.conv.numbers import size_text
from cnnviz.errors import ConvConfigError

__all__ = [
    "ALLOWED_FORMATS",
    "COMPUTE_PIXELS",
    "MAX_FILE_BYTES",
    "MAX_PIXELS",
    "MEMORY_BUDGET",
    "SAMPLES",
    "UPLOAD_TYPES",
    "LoadedImage",
    "decode_budget",
    "downscale",
    "encode_png",
    "encode_preview",
    "load_image",
    "PREVIEW_SIDE",
    "preview_factor",
    "preview",
    "sample_image",
]

# Decoders allowed to run on an upload (Pillow format names) and the file extensions offered.
ALLOWED_FORMATS: tuple[str, ...] = ("PNG", "JPEG", "WEBP", "GIF", "BMP", "TIFF")
UPLOAD_TYPES: tuple[str, ...] = ("png", "jpg", "jpeg", "webp", "gif", "bmp", "tif", "tiff")
# Largest file accepted (bytes): the app's server.maxUploadSize is 25 MB.
MAX_FILE_BYTES = 25 * 1024 * 1024
# Largest picture decoded at all (a 40 MP photo is ~120 MB as RGB), whatever its mode.
MAX_PIXELS = 40_000_000
# Most memory one upload may take while it is decoded and converted, estimated from the header
# (`decode_budget`). Measured peaks of the worst legal file of every format and mode stay below
# ~1.25 times the estimate, so no upload raises the server's memory by more than ~500 MB.
MEMORY_BUDGET = 450 * 1024 * 1024
# Larger pictures are downscaled to about this many pixels before filtering (keeps a filter < 1 s).
COMPUTE_PIXELS = 12_000_000

# Pillow's own bomb guard (a warning above Image.MAX_IMAGE_PIXELS, ~89 MP, an error above twice that)
# is left as it is: MAX_PIXELS and MEMORY_BUDGET are stricter and are checked from the header before
# any pixel is decoded, so no process-wide warning filter is needed.

_MB = 1024 * 1024


@dataclass(frozen=True)
class LoadedImage:
    """A decoded picture ready for filtering.

    array:         (H, W, 3) uint8 RGB, after EXIF rotation and any downscaling.
    notes:         one sentence per conversion made (shown to the student).
    original_size: (height, width) of the picture as stored (after EXIF rotation).
    scale:         array height / original height (1.0 when not downscaled).
    """

    array: np.ndarray
    notes: list[str] = field(default_factory=list)
    original_size: tuple[int, int] = (0, 0)
    scale: float = 1.0


# ---------------------------------------------------------------------------------------------
# The budget, from the header alone
#
# Bytes per pixel while a picture is decoded and converted: Pillow's decoded image (1 byte for 1, L
# and P; 2 for 16-bit grey; 4 for every other mode, RGB included), plus the 8-bit result the pixels
# are converted into, band by band (1 byte for grey modes, 3 for colour), plus what the decoder
# holds itself: libwebp keeps the decoded canvas (4 bytes) and Pillow the frame's bytes (4 more)
# until the file is closed.
_PILLOW_BYTES = {"1": 1, "L": 1, "P": 1, "I;16": 2, "I;16L": 2, "I;16B": 2, "I;16N": 2}
_GREY_MODES = ("1", "L", "LA", "La", "I", "F", "I;16", "I;16L", "I;16B", "I;16N")
_DECODER_BYTES = {"WEBP": 8}


def decode_budget(size: tuple[int, int], mode: str, fmt: str | None) -> int:
    """Bytes of memory decoding and converting a (width, height) picture of this mode and format takes
    at its peak (first frame only), estimated before decoding; see `MEMORY_BUDGET`."""
    per_pixel = (
        _PILLOW_BYTES.get(mode, 4) + (1 if mode in _GREY_MODES else 3) + _DECODER_BYTES.get(fmt or "", 0)
    )
    return size[0] * size[1] * per_pixel


def _mb(n: float) -> str:
    return f"{n / _MB:.1f} MB"


def _file_too_large(name: str, size: int) -> ConvConfigError:
    # "26.2 MB; the limit is 25.0 MB" reads as true only when the two numbers differ as shown.
    said, limit = _mb(size), _mb(MAX_FILE_BYTES)
    if said == limit:
        said, limit = f"{size:,} bytes", f"{MAX_FILE_BYTES:,} bytes ({limit})"
    return ConvConfigError(
        f"{name} is {said}, more than the {limit} an upload may have. "
        "Save a smaller version (e.g. as JPEG) and upload that.",
        "image",
    )


def _too_big(name: str, size: tuple[int, int] | None) -> ConvConfigError:
    claimed = f" claims {size_text(size[1], size[0])} = {size[0] * size[1] / 1e6:.0f} MP and" if size else ""
    return ConvConfigError(
        f"{name}{claimed} is larger than the {MAX_PIXELS / 1e6:.0f} megapixel limit (or is built to "
        "expand enormously when decoded). Resize it below that and upload again.",
        "image",
    )


def _over_budget(name: str, size: tuple[int, int], mode: str, fmt: str | None, need: int) -> ConvConfigError:
    per_pixel = need / (size[0] * size[1])
    largest = MEMORY_BUDGET / per_pixel / 1e6
    kind = _MODE_NAMES.get(mode, mode)
    return ConvConfigError(
        f"{name} is {size_text(size[1], size[0])} pixels; decoding a {fmt or 'picture'} of this kind ({kind}) "
        f"would take about {need / _MB:.0f} MB of the server's memory, more than one upload may use "
        f"({MEMORY_BUDGET / _MB:.0f} MB). Pictures like it can have at most {largest:.0f} megapixels: "
        "resize it (or save it as an 8-bit JPEG or PNG) and upload again.",
        "image",
    )


def _broken(name: str) -> ConvConfigError:
    return ConvConfigError(
        f"{name} could not be decoded: the file is truncated or damaged. Export it again and re-upload.",
        "image",
    )


_MODE_NAMES = {
    "1": "black and white",
    "L": "grey",
    "P": "palette colours",
    "RGB": "RGB colour",
    "RGBA": "RGB colour with transparency",
    "LA": "grey with transparency",
    "I;16": "16-bit grey",
    "I;16B": "16-bit grey",
    "I": "32-bit integer values",
    "F": "32-bit float values",
    "CMYK": "CMYK print colours",
}


# ---------------------------------------------------------------------------------------------
# Loading


def load_image(data: bytes, name: str = "upload", *, compute_pixels: int = COMPUTE_PIXELS) -> LoadedImage:
    """Decode an uploaded file safely into RGB uint8; raise `ConvConfigError` with a reason if it cannot be."""
    if len(data) == 0:
        raise ConvConfigError(f"{name} is empty (0 bytes): upload the picture again", "image")
    if len(data) > MAX_FILE_BYTES:
        raise _file_too_large(name, len(data))
    try:
        return _load(data, name, compute_pixels)
    except ConvConfigError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise _too_big(name, None) from exc
    except MemoryError as exc:
        raise ConvConfigError(
            f"{name} could not be decoded within the server's memory: resize it and upload again.", "image"
        ) from exc
    except Exception as exc:  # noqa: BLE001 - the one boundary: a damaged file can make Pillow raise anything
        raise _broken(name) from exc


def _load(data: bytes, name: str, compute_pixels: int) -> LoadedImage:
    try:
        image = Image.open(io.BytesIO(data), formats=list(ALLOWED_FORMATS))
    except Image.UnidentifiedImageError as exc:
        raise ConvConfigError(
            f"{name} is not a picture this page can read: use PNG, JPEG, WebP, GIF, BMP or TIFF "
            "(renaming a file does not change what is inside).",
            "image",
        ) from exc
    notes: list[str] = []
    with image:
        size, mode, fmt = image.size, image.mode, image.format
        if size[0] < 1 or size[1] < 1:
            raise _broken(name)
        if size[0] * size[1] > MAX_PIXELS:
            raise _too_big(name, size)
        need = decode_budget(size, mode, fmt)
        if need > MEMORY_BUDGET:
            raise _over_budget(name, size, mode, fmt, need)
        frames = _frame_count(image)
        if frames > 1 and fmt == "TIFF":
            notes.append(f"TIFF with {frames} pages: only the first page is used.")
        elif frames > 1:
            notes.append(f"Animated {fmt} with {frames} frames: only the first frame is used.")
        orientation = _orientation(image)
        image.load()  # the first frame only: the file is opened there and never seeks further
        if image.size != size:  # a first frame that disagrees with its header
            raise _broken(name)
        pixels = _to_8bit(image, notes)  # (H, W) grey or (H, W, 3) RGB uint8; the image is released
    del image  # and with it the decoder (libwebp keeps its canvas until then)
    height, width = pixels.shape[:2]
    small, scale = downscale(pixels, compute_pixels)
    del pixels
    if scale < 1.0:
        notes.append(
            f"Downscaled from {size_text(height, width)} to {size_text(*small.shape[:2])} pixels "
            f"(computations use at most {compute_pixels / 1e6:.0f} MP); your file is unchanged."
        )
    upright = _transpose(small, orientation)
    if orientation != 1:
        notes.append("Rotated upright as the camera's EXIF orientation tag asks.")
    original = (height, width) if orientation < 5 else (width, height)
    if upright.ndim == 2:
        rgb = np.repeat(upright[:, :, None], 3, axis=2)
    else:
        rgb = np.ascontiguousarray(upright)
    return LoadedImage(rgb, notes, original, scale)


def _frame_count(image: Image.Image) -> int:
    """Frames in the file, as its header or frame index says (1 when a damaged index cannot tell), with
    the image left on the first frame.

    For GIF and TIFF, Pillow counts by walking the frames' headers (not decoding them); the walk is
    bounded by the file size. A damaged TIFF page or GIF block makes it raise anything from TypeError
    to IndexError: the first frame may still be fine, so the count is given up, not the picture."""
    try:
        frames = int(getattr(image, "n_frames", 1))
    except Exception:  # noqa: BLE001 - see above
        frames = 1
    if image.tell() != 0:
        image.seek(0)  # if even that fails, the file is damaged (the boundary in load_image says so)
    return max(1, frames)


def _orientation(image: Image.Image) -> int:
    """The EXIF orientation tag if it is a real rotation or mirror (2..8), else 1 (upright).

    Values outside 1..8 (0, 9, 65535, text) and damaged EXIF blocks are ignored, not guessed at."""
    try:
        value = image.getexif().get(0x0112, 1)
    except Exception:  # noqa: BLE001 - damaged EXIF: the pixels are still fine
        return 1
    if isinstance(value, bool) or not isinstance(value, int) or not 2 <= value <= 8:
        return 1
    return value


def _transpose(array: np.ndarray, orientation: int) -> np.ndarray:
    """The (H, W[, C]) array turned the way EXIF orientation 1..8 asks (a view; see the EXIF 2.3 spec)."""
    if orientation == 2:  # mirrored left-right
        return array[:, ::-1]
    if orientation == 3:  # upside down
        return array[::-1, ::-1]
    if orientation == 4:  # mirrored top-bottom
        return array[::-1]
    if orientation == 5:  # mirrored along the main diagonal
        return array.swapaxes(0, 1)
    if orientation == 6:  # turned a quarter anticlockwise: turn it clockwise
        return np.rot90(array, -1)
    if orientation == 7:  # mirrored along the other diagonal
        return array[::-1, ::-1].swapaxes(0, 1)
    if orientation == 8:  # turned a quarter clockwise: turn it anticlockwise
        return np.rot90(array, 1)
    return array


# ---------------------------------------------------------------------------------------------
# Any mode to 8 bits, memory-lean
#
# The pixels come out of Pillow in bands of rows (`_bands`), each converted straight into the 8-bit
# result, so the peak is Pillow's decoded image plus the result: `np.asarray` on the whole image
# would hold two more full copies for a moment (Pillow's tobytes joins its chunks into one string).

# Pixels per band: a few MB of temporaries (uint32 or float64 arithmetic) whatever the width.
_BAND_PIXELS = 1 << 18


def _band_rows(width: int) -> int:
    return max(1, _BAND_PIXELS // max(1, width))


def _bands(image: Image.Image) -> Iterator[tuple[slice, np.ndarray]]:
    """(rows, pixels of those rows as numpy) for the whole loaded image, one band of rows at a time."""
    width, height = image.size
    step = _band_rows(width)
    for top in range(0, height, step):
        bottom = min(height, top + step)
        yield slice(top, bottom), np.asarray(image.crop((0, top, width, bottom)))


def _to_8bit(image: Image.Image, notes: list[str]) -> np.ndarray:
    """The loaded first frame as (H, W) grey or (H, W, 3) RGB uint8: 16-bit rescaled, float and 32-bit
    stretched, alpha composited on white, palettes looked up, other colour models converted by Pillow."""
    mode = image.mode
    width, height = image.size
    out = np.empty((height, width) if mode in _GREY_MODES else (height, width, 3), np.uint8)
    if mode in ("1", "L"):
        notes.append("Grey picture: the three colour channels are equal.")
    if mode in ("1", "L", "RGB"):
        for rows, band in _bands(image):
            out[rows] = band  # bool (mode 1) becomes 0/1 here
        if mode == "1":
            out *= np.uint8(255)
    elif mode == "P":
        table, see_through = _palette_table(image)
        if see_through:
            notes.append(_TRANSPARENT_NOTE)
        for rows, band in _bands(image):
            out[rows] = table[band]
    elif mode.startswith("I;16"):
        notes.append("16-bit grey picture rescaled to 8 bits (0..65535 -> 0..255).")
        for rows, band in _bands(image):
            out[rows] = _rescale_16(band)
    elif mode in ("I", "F"):
        _stretch(image, out, notes)
    elif mode in ("RGBA", "LA"):
        see_through = False
        for rows, band in _bands(image):
            out[rows], clear = _on_white(band)
            see_through = see_through or clear
        if see_through:
            notes.append(_TRANSPARENT_NOTE)
    else:  # CMYK, YCbCr, LAB, HSV, RGBa, La, PA...: Pillow's own conversion, band by band
        target = "L" if out.ndim == 2 else ("RGBA" if "A" in mode or "a" in mode else "RGB")
        if mode == "CMYK":
            notes.append("CMYK (print) colours converted to RGB.")
        elif target != "RGBA":
            notes.append(f"{_MODE_NAMES.get(mode, mode)} colours converted to RGB.")
        see_through = False
        step = _band_rows(width)
        for top in range(0, height, step):
            rows = slice(top, min(height, top + step))
            band = _convert(image.crop((0, rows.start, width, rows.stop)), target)
            if target == "RGBA":
                out[rows], clear = _on_white(band)
                see_through = see_through or clear
            else:
                out[rows] = band
        if see_through:
            notes.append(_TRANSPARENT_NOTE)
    image.close()  # releases Pillow's copy of the pixels and the file
    return out


_TRANSPARENT_NOTE = "Transparent areas are shown on white (transparency is not filtered)."


def _convert(band: Image.Image, mode: str) -> np.ndarray:
    try:
        return np.asarray(band.convert(mode))
    except ValueError as exc:
        raise ConvConfigError(
            f"this picture stores its colours as {_MODE_NAMES.get(band.mode, band.mode)}, which cannot be "
            "converted to RGB here. Save it as an RGB PNG or JPEG and upload that.",
            "image",
        ) from exc


def _palette_table(image: Image.Image) -> tuple[np.ndarray, bool]:
    """(256, 3) uint8: each palette index's colour composited on white, and whether any is see-through.

    The table comes from Pillow's own conversion of one strip holding every index, so palettes,
    transparency indices and alpha tables mean exactly what they mean in Pillow."""
    strip = Image.frombytes("P", (256, 1), bytes(range(256)))
    if image.palette is not None:
        strip.putpalette(image.getpalette(image.palette.mode) or [], image.palette.mode)
    if "transparency" in image.info:
        strip.info["transparency"] = image.info["transparency"]
    table, see_through = _on_white(np.asarray(strip.convert("RGBA")))
    return table[0], see_through


def _rescale_16(values: np.ndarray) -> np.ndarray:
    """16-bit grey 0..65535 to 0..255 as round(v * 255 / 65535) (Pillow's convert("L") would clamp at 255)."""
    return ((values.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)


def _stretch(image: Image.Image, out: np.ndarray, notes: list[str]) -> None:
    """32-bit integer or float values stretched from their lowest to their highest finite value to 0..255.

    Integers within 0..65535 that exceed 255 are 16-bit data stored wide, rescaled as such. NaN and
    -inf are shown black, +inf white, and a note says how many there were. Two passes over the bands:
    the range first, then the values."""
    mode = image.mode
    lo, hi, bad = math.inf, -math.inf, 0
    for _, band in _bands(image):
        if mode == "F":
            good = np.isfinite(band)
            bad += int(band.size - np.count_nonzero(good))
            band = band[good]
        if band.size:
            lo, hi = min(lo, float(band.min())), max(hi, float(band.max()))
    if mode == "I" and 0 <= lo and 255 < hi <= 65535:
        notes.append("16-bit grey picture rescaled to 8 bits (0..65535 -> 0..255).")
        for rows, band in _bands(image):
            out[rows] = _rescale_16(band)
        return
    if lo > hi:
        notes.append(f"{mode} picture has no finite values: NaN and -inf are shown black, +inf white.")
        lo = hi = 0.0
    else:
        notes.append(f"{mode} picture stretched from {lo:g}..{hi:g} to 0..255.")
        if bad:
            notes.append(f"{bad:,} pixels are not finite numbers: NaN and -inf are shown black, +inf white.")
    scale = 255.0 / (hi - lo) if hi > lo else 0.0
    for rows, band in _bands(image):
        values = band.astype(np.float64)
        with np.errstate(invalid="ignore", over="ignore"):  # inf * 0 for a flat picture: replaced below
            grey = (values - lo) * scale
        if mode == "F":
            grey[np.isnan(values) | np.isneginf(values)] = 0.0
            grey[np.isposinf(values)] = 255.0
        np.clip(np.round(grey), 0.0, 255.0, out=grey)
        out[rows] = grey


def _on_white(pixels: np.ndarray) -> tuple[np.ndarray, bool]:
    """(..., 2) grey+alpha or (..., 4) RGBA composited on white as Pillow's alpha_composite does,
    round(colour * a / 255 + 255 * (1 - a / 255)); and whether any pixel was see-through."""
    colours = pixels.shape[-1] - 1
    alpha = pixels[..., colours:].astype(np.uint32)
    blended = (pixels[..., :colours].astype(np.uint32) * alpha + 255 * (255 - alpha) + 127) // 255
    out = blended[..., 0] if colours == 1 else blended
    return out.astype(np.uint8), bool((alpha < 255).any())


def downscale(pixels: np.ndarray, max_pixels: int) -> tuple[np.ndarray, float]:
    """The (H, W[, 3]) uint8 array shrunk (aspect kept) to at most `max_pixels`, and the scale applied.

    Area averaging (cv2.INTER_AREA): every source pixel counts, so fine detail does not alias."""
    height, width = pixels.shape[:2]
    if width * height <= max_pixels:
        return pixels, 1.0
    factor = math.sqrt(max_pixels / (width * height))
    size = (max(1, int(width * factor)), max(1, int(height * factor)))
    return cv2.resize(pixels, size, interpolation=cv2.INTER_AREA), size[1] / height


PREVIEW_SIDE = 1024  # pixels: the long side of a picture as a page shows it whole


def preview_factor(shape: tuple[int, ...], max_side: int = PREVIEW_SIDE) -> int:
    """The whole factor `preview` shrinks an image of this shape by (1: shown as it is)."""
    return max(1, math.ceil(max(shape[:2]) / max_side))


def preview(array: np.ndarray, max_side: int = PREVIEW_SIDE) -> np.ndarray:
    """A uint8 image (H, W) or (H, W, 3) shrunk by a whole factor so its long side is at most `max_side`
    (`preview_factor`): each shown pixel is the mean of a factor x factor block."""
    factor = preview_factor(array.shape, max_side)
    if factor <= 1:
        return array
    # Averaging factor x factor blocks keeps fine detail honest, and is the fastest way to shrink.
    return np.asarray(Image.fromarray(array).reduce(factor))


def encode_png(array: np.ndarray, compress_level: int = 1) -> bytes:
    """A uint8 (H, W) or (H, W, 3) array as PNG bytes (lossless; level 1 favours speed over size)."""
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(array)).save(buffer, format="PNG", compress_level=compress_level)
    return buffer.getvalue()


# ---------------------------------------------------------------------------------------------
# Samples: two photos shipped inside scikit-learn (BSD licence) and synthetic test patterns.

SAMPLE_SIZE = 512


def _checkerboard(n: int = SAMPLE_SIZE, cell: int = 32) -> np.ndarray:
    board = ((np.indices((n, n)) // cell).sum(axis=0) % 2).astype(np.uint8) * 255
    return np.repeat(board[:, :, None], 3, axis=2)


def _stripes(n: int = SAMPLE_SIZE, period: float = 16.0) -> np.ndarray:
    """Four quadrants of sine stripes at 0°, 45°, 90° and 135°: edge kernels answer only some."""
    half = n // 2
    y, x = np.indices((half, half), dtype=np.float64)
    tiles = []
    for degrees in (0.0, 45.0, 90.0, 135.0):
        t = math.radians(degrees)
        wave = 0.5 + 0.5 * np.sin(2 * math.pi * (x * math.cos(t) + y * math.sin(t)) / period)
        tiles.append(np.round(wave * 255).astype(np.uint8))
    grid = np.block([[tiles[0], tiles[1]], [tiles[2], tiles[3]]])
    return np.repeat(grid[:, :, None], 3, axis=2)


def _step_edge(n: int = SAMPLE_SIZE) -> np.ndarray:
    """Dark left half, bright right half, and a bright square: vertical and horizontal edges."""
    image = np.full((n, n, 3), 40, np.uint8)
    image[:, n // 2 :] = 215
    image[n // 4 : n // 2, n // 8 : n // 4] = (230, 80, 60)
    return image


def _text(n: int = SAMPLE_SIZE) -> np.ndarray:
    """Black words on white in Pillow's bundled default font."""
    canvas = Image.new("RGB", (n, n), "white")
    draw = ImageDraw.Draw(canvas)
    for row, (words, size) in enumerate((("Convolution", 64), ("edges & blur", 48), ("cnnviz 3x3", 40))):
        draw.text((24, 40 + row * 140), words, fill="black", font=ImageFont.load_default(size=size))
    return np.asarray(canvas).copy()


def _sklearn_photo(filename: str) -> Callable[[], np.ndarray]:
    def load() -> np.ndarray:
        from sklearn.datasets import load_sample_image  # optional dependency, imported when used

        return np.asarray(load_sample_image(filename), dtype=np.uint8)

    return load


SAMPLES: dict[str, Callable[[], np.ndarray]] = {
    "photo: temple (scikit-learn)": _sklearn_photo("china.jpg"),
    "photo: flower (scikit-learn)": _sklearn_photo("flower.jpg"),
    "checkerboard": _checkerboard,
    "stripes at four angles": _stripes,
    "step edge": _step_edge,
    "text": _text,
}


def sample_image(name: str) -> LoadedImage:
    """The sample called `name` (see `SAMPLES`) as a LoadedImage; photos need scikit-learn installed."""
    if name not in SAMPLES:
        raise ConvConfigError(f"unknown sample {name!r}; choose one of {list(SAMPLES)}", "sample")
    try:
        array = SAMPLES[name]()
    except ImportError as exc:
        raise ConvConfigError(
            "the sample photos come with scikit-learn, which is not installed: "
            "`pip install scikit-learn`, or pick a synthetic sample or upload a picture",
            "sample",
        ) from exc
    notes = ["Photo from scikit-learn's bundled sample images."] if name.startswith("photo") else []
    return LoadedImage(array, notes, array.shape[:2], 1.0)


def encode_preview(array: np.ndarray) -> bytes:
    """Display bytes for a uint8 preview: JPEG at quality 95 without chroma subsampling (crisp edges,
    ~10x smaller and ~40x faster to encode than PNG for a photo)."""
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(array)).save(buffer, format="JPEG", quality=95, subsampling=0)
    return buffer.getvalue()
