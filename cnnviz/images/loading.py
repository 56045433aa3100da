"""Turn an uploaded file into a safe (H, W, 3) uint8 RGB array, and make sample images to try kernels on.

An upload is untrusted: only the decoders for PNG, JPEG, WebP, GIF, BMP and TIFF may run, the pixel
count is checked from the header before any pixel is decoded, and every failure becomes a
`ConvConfigError` whose message a student can act on. Whatever the file's mode (palette, alpha,
grey, 16-bit, CMYK, animated, rotated by EXIF), the result is plain RGB, with one note per change.
"""

from __future__ import annotations

import io
import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from PIL import Image, ImageDraw, ImageFont, ImageOps, UnidentifiedImageError

from cnnviz.errors import ConvConfigError

__all__ = [
    "ALLOWED_FORMATS",
    "COMPUTE_PIXELS",
    "MAX_FILE_BYTES",
    "MAX_PIXELS",
    "SAMPLES",
    "UPLOAD_TYPES",
    "LoadedImage",
    "downscale",
    "encode_png",
    "encode_preview",
    "load_image",
    "preview",
    "sample_image",
]

# Decoders allowed to run on an upload (Pillow format names) and the file extensions offered.
ALLOWED_FORMATS: tuple[str, ...] = ("PNG", "JPEG", "WEBP", "GIF", "BMP", "TIFF")
UPLOAD_TYPES: tuple[str, ...] = ("png", "jpg", "jpeg", "webp", "gif", "bmp", "tif", "tiff")
# Largest file accepted (bytes): the app's server.maxUploadSize is 25 MB.
MAX_FILE_BYTES = 25 * 1024 * 1024
# Largest picture decoded at all (a 40 MP photo is ~120 MB as RGB). Checked from the header,
# before any pixel is decoded, so a small file claiming a huge size never allocates memory.
MAX_PIXELS = 40_000_000
# Larger pictures are downscaled to about this many pixels before filtering (keeps a filter < 1 s).
COMPUTE_PIXELS = 12_000_000

# Pillow warns (DecompressionBombWarning) above Image.MAX_IMAGE_PIXELS and only raises above twice
# that; a warning must never let a bomb through, so it is an error in this process. The global
# MAX_IMAGE_PIXELS is left alone: the stricter MAX_PIXELS check below runs per call.
warnings.filterwarnings("error", category=Image.DecompressionBombWarning)


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


def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MB"


def load_image(data: bytes, name: str = "upload", *, compute_pixels: int = COMPUTE_PIXELS) -> LoadedImage:
    """Decode an uploaded file safely into RGB uint8; raise `ConvConfigError` with a reason if it cannot be."""
    if len(data) == 0:
        raise ConvConfigError(f"{name} is empty (0 bytes): upload the picture again", "image")
    if len(data) > MAX_FILE_BYTES:
        raise ConvConfigError(
            f"{name} is {_mb(len(data))}; the limit is {_mb(MAX_FILE_BYTES)}. "
            "Save a smaller version (e.g. as JPEG) and upload that.",
            "image",
        )
    try:
        image = Image.open(io.BytesIO(data), formats=list(ALLOWED_FORMATS))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise _too_big(name, None) from exc
    except UnidentifiedImageError as exc:
        raise ConvConfigError(
            f"{name} is not a picture this page can read: use PNG, JPEG, WebP, GIF, BMP or TIFF "
            "(renaming a file does not change what is inside).",
            "image",
        ) from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise _broken(name) from exc
    with image:
        width, height = image.size
        if width * height > MAX_PIXELS:
            raise _too_big(name, (width, height))
        notes: list[str] = []
        try:
            frames = int(getattr(image, "n_frames", 1))
            if frames > 1:
                image.seek(0)
                notes.append(f"Animated {image.format} with {frames} frames: only the first frame is used.")
            image.load()
            orientation = image.getexif().get(0x0112, 1)  # EXIF Orientation: 1 is upright
            rgb = _to_rgb(ImageOps.exif_transpose(image) or image, notes)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise _too_big(name, (width, height)) from exc
        except (OSError, SyntaxError, ValueError, EOFError) as exc:
            raise _broken(name) from exc
    if orientation not in (1, None):
        notes.append("Rotated upright as the camera's EXIF orientation tag asks.")
    original = (rgb.height, rgb.width)
    small, scale = downscale(rgb, compute_pixels)
    if scale < 1.0:
        notes.append(
            f"Downscaled from {rgb.width}×{rgb.height} to {small.width}×{small.height} pixels "
            f"(computations use at most {compute_pixels / 1e6:.0f} MP); your file is unchanged."
        )
    return LoadedImage(np.asarray(small, dtype=np.uint8).copy(), notes, original, scale)


def _too_big(name: str, size: tuple[int, int] | None) -> ConvConfigError:
    claimed = f" claims {size[0]}×{size[1]} = {size[0] * size[1] / 1e6:.0f} MP and" if size else ""
    return ConvConfigError(
        f"{name}{claimed} is larger than the {MAX_PIXELS / 1e6:.0f} megapixel limit (or is built to "
        "expand enormously when decoded). Resize it below that and upload again.",
        "image",
    )


def _broken(name: str) -> ConvConfigError:
    return ConvConfigError(
        f"{name} could not be decoded: the file is truncated or damaged. Export it again and re-upload.",
        "image",
    )


def _to_rgb(image: Image.Image, notes: list[str]) -> Image.Image:
    """Any Pillow mode as 8-bit RGB: 16-bit rescaled, alpha composited on white, CMYK converted."""
    mode = image.mode
    if mode == "RGB":
        return image
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        values = np.asarray(image, dtype=np.float64)
        if mode.startswith("I;16") or (values.size and values.max() > 255 and values.max() <= 65535):
            # Pillow's convert("L") clamps 16-bit values at 255 (all white); rescale the full range.
            grey = np.round(values * (255.0 / 65535.0))
            notes.append("16-bit grey picture rescaled to 8 bits (0..65535 -> 0..255).")
        else:
            lo, hi = (float(values.min()), float(values.max())) if values.size else (0.0, 0.0)
            grey = (values - lo) * (255.0 / (hi - lo)) if hi > lo else np.zeros_like(values)
            notes.append(f"{mode} picture stretched from {lo:g}..{hi:g} to 0..255.")
        return Image.fromarray(np.clip(grey, 0, 255).astype(np.uint8)).convert("RGB")
    if mode == "P" and "transparency" in image.info:
        image, mode = image.convert("RGBA"), "RGBA"
    if mode in ("RGBA", "LA", "PA", "La", "RGBa"):
        rgba = image.convert("RGBA")
        if rgba.getextrema()[3][0] < 255:
            notes.append("Transparent areas are shown on white (transparency is not filtered).")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    if mode == "CMYK":
        notes.append("CMYK (print) colours converted to RGB.")
    elif mode in ("1", "L"):
        notes.append("Grey picture: the three colour channels are equal.")
    return image.convert("RGB")


def downscale(image: Image.Image, max_pixels: int) -> tuple[Image.Image, float]:
    """The image shrunk (aspect kept) to at most `max_pixels`, and the scale applied (1.0: unchanged)."""
    width, height = image.size
    if width * height <= max_pixels:
        return image, 1.0
    factor = math.sqrt(max_pixels / (width * height))
    size = (max(1, int(width * factor)), max(1, int(height * factor)))
    return image.resize(size, Image.Resampling.LANCZOS, reducing_gap=2.0), size[1] / height


def preview(array: np.ndarray, max_side: int = 1024) -> np.ndarray:
    """A uint8 image (H, W) or (H, W, 3) shrunk by a whole factor so its long side is at most `max_side`."""
    factor = math.ceil(max(array.shape[:2]) / max_side)
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
