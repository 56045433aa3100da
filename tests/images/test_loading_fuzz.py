"""Fuzzing the upload boundary: mutated real files of every accepted format, made here with Pillow.

Whatever bytes arrive, `load_image` returns a (H, W, 3) uint8 picture or raises `ConvConfigError`;
any other exception would reach the page as a traceback. The seeds cover every format and the modes
the loader converts (palette with transparency, grey+alpha, 16-bit, float, CMYK, animations,
multi-page TIFF, EXIF); the mutations flip bits, insert, delete, copy and truncate bytes and set header
fields to extremes, and PNG chunks get their checksums fixed half the time so the mutation reaches the
decoder instead of stopping at the CRC check.
"""

from __future__ import annotations

import io
import random
import struct
import subprocess
import sys
import textwrap
import zlib
from functools import cache

import hypothesis.strategies as st
import numpy as np
import pytest
from hypothesis import given
from PIL import Image

from cnnviz.errors import ConvConfigError
from cnnviz.images.loading import load_image
from tests.conftest import REPO_ROOT
from tests.oracle import examples

EXTREMES = (0, 1, 0x7F, 0x80, 0xFF, 0x7FFF, 0x8000, 0xFFFF, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF)


def _save(image: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


@cache
def seeds() -> dict[str, bytes]:
    """One small valid file per format and mode the loader handles differently."""
    rng = np.random.default_rng(0)
    photo = Image.fromarray(rng.integers(0, 256, (12, 16, 3), dtype=np.uint8))
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x011A] = 72.0
    exif_bytes = exif.tobytes()
    frames = [Image.new("RGB", (16, 12), c) for c in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
    wide = Image.fromarray(rng.integers(0, 65535, (12, 16), dtype=np.uint16))
    return {
        "png": _save(photo, "PNG"),
        "png 16-bit": _save(wide, "PNG"),
        "png palette+transparency": _save(photo.convert("P"), "PNG", transparency=3),
        "png grey+alpha": _save(photo.convert("LA"), "PNG"),
        "png animated": _save(frames[0], "PNG", save_all=True, append_images=frames[1:]),
        "png exif": _save(photo, "PNG", exif=exif_bytes),
        "jpeg exif": _save(photo, "JPEG", exif=exif_bytes),
        "jpeg cmyk": _save(photo.convert("CMYK"), "JPEG"),
        "jpeg grey": _save(photo.convert("L"), "JPEG"),
        "webp exif": _save(photo, "WEBP", exif=exif_bytes),
        "webp alpha": _save(photo.convert("RGBA"), "WEBP", lossless=True),
        "webp animated": _save(frames[0], "WEBP", save_all=True, append_images=frames[1:]),
        "gif": _save(photo, "GIF"),
        "gif animated": _save(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=50),
        "bmp": _save(photo, "BMP"),
        "bmp palette": _save(photo.convert("P"), "BMP"),
        "bmp 1-bit": _save(photo.convert("1"), "BMP"),
        "tiff exif": _save(photo, "TIFF", exif=exif_bytes),
        "tiff float": _save(Image.fromarray(rng.random((12, 16)).astype(np.float32)), "TIFF"),
        "tiff 16-bit": _save(wide, "TIFF"),
        "tiff pages": _save(frames[0], "TIFF", save_all=True, append_images=frames[1:]),
        "tiff lzw": _save(photo, "TIFF", compression="tiff_lzw"),
        "tiff deflate rgba": _save(photo.convert("RGBA"), "TIFF", compression="tiff_adobe_deflate"),
        "tiff cmyk": _save(photo.convert("CMYK"), "TIFF"),
    }


def fix_png_checksums(data: bytes) -> bytes:
    """The same bytes with every complete PNG chunk's CRC recomputed (non-PNG data unchanged)."""
    if not data.startswith(b"\x89PNG\r\n\x1a\n"):
        return data
    out, at = bytearray(data[:8]), 8
    while at + 12 <= len(data):
        length = struct.unpack_from(">I", data, at)[0]
        if at + 12 + length > len(data):
            break
        kind_and_body = data[at + 4 : at + 8 + length]
        out += data[at : at + 8 + length] + struct.pack(">I", zlib.crc32(kind_and_body) & 0xFFFFFFFF)
        at += 12 + length
    return bytes(out + data[at:])


def mutate(data: bytes, rng: random.Random) -> bytes:
    """One random mutation of a file: bit flips, insertion, deletion, truncation, an extreme header
    field (1, 2 or 4 bytes, either byte order, in the first 200 bytes), a run of 0x00/0xFF, or a copy."""
    out = bytearray(data)
    kind = rng.randrange(7)
    at = rng.randrange(len(out))
    if kind == 0:
        for _ in range(rng.randint(1, 8)):
            out[rng.randrange(len(out))] ^= 1 << rng.randrange(8)
    elif kind == 1:
        out[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
    elif kind == 2:
        del out[at : at + rng.randint(1, 32)]
    elif kind == 3:
        out = out[: max(1, at)]
    elif kind == 4:
        width = rng.choice((1, 2, 4))
        value = rng.choice(EXTREMES) & ((1 << (8 * width)) - 1)
        at = rng.randrange(min(len(out), 200))
        out[at : at + width] = value.to_bytes(width, rng.choice(("little", "big")))
    elif kind == 5:
        out[at : at + rng.randint(1, 8)] = bytes([rng.choice((0, 255))]) * rng.randint(1, 8)
    else:
        source, size = rng.randrange(len(out)), rng.randint(1, 32)
        out[at : at + size] = out[source : source + size]
    mutated = bytes(out)
    return fix_png_checksums(mutated) if rng.random() < 0.5 else mutated


def assert_clean(data: bytes, label: str) -> None:
    """load_image either gives a valid RGB picture or a ConvConfigError: never anything else."""
    try:
        loaded = load_image(data, "fuzzed")
    except ConvConfigError as error:
        assert str(error) and error.argument == "image"
        return
    except Exception as error:  # noqa: BLE001 - the point of the test
        pytest.fail(f"{label}: {type(error).__name__} escaped load_image: {error}")
    array = loaded.array
    assert array.dtype == np.uint8 and array.ndim == 3 and array.shape[2] == 3, label
    assert array.shape[0] >= 1 and array.shape[1] >= 1 and array.flags.c_contiguous, label


def test_seeds_are_valid_files_of_every_accepted_format() -> None:
    formats = {Image.open(io.BytesIO(data)).format for data in seeds().values()}
    assert formats == {"PNG", "JPEG", "WEBP", "GIF", "BMP", "TIFF"}
    for label, data in seeds().items():
        assert load_image(data, label).array.dtype == np.uint8


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_thousands_of_mutated_files_give_a_picture_or_a_clean_error() -> None:
    """6,000 seeded mutations (250 per seed); a few seconds, longer when a mutation claims a big picture."""
    rng = random.Random(20240516)
    outcomes = {"picture": 0, "refused": 0}
    for label, data in seeds().items():
        for case in range(250):
            mutated = mutate(data, rng)
            try:
                load_image(mutated, "fuzzed")
                outcomes["picture"] += 1
            except ConvConfigError:
                outcomes["refused"] += 1
            except Exception:  # noqa: BLE001 - reported with its bytes below
                assert_clean(mutated, f"{label} mutation {case} ({mutated[:64].hex()}...)")
    # Both outcomes occur in numbers, so the mutations neither all break nor all miss the files.
    assert outcomes["picture"] > 600 and outcomes["refused"] > 600, outcomes


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
@examples(300)
@given(
    seed=st.sampled_from(sorted(seeds())),
    edits=st.lists(
        st.tuples(st.integers(0, 10**6), st.integers(0, 255), st.booleans()), min_size=1, max_size=6
    ),
    cut=st.one_of(st.none(), st.integers(1, 10**6)),
    fix_crc=st.booleans(),
)
def test_hypothesis_edited_files_give_a_picture_or_a_clean_error(seed, edits, cut, fix_crc) -> None:
    """Hypothesis picks bytes to overwrite or insert and where to cut; it shrinks any escape to a small edit."""
    data = bytearray(seeds()[seed])
    for position, value, insert in edits:
        at = position % len(data)
        if insert:
            data.insert(at, value)
        else:
            data[at] = value
    if cut is not None:
        data = data[: max(1, cut % len(data))]
    mutated = fix_png_checksums(bytes(data)) if fix_crc else bytes(data)
    assert_clean(mutated, seed)


MEMORY_PROBE = textwrap.dedent(
    """
    import io, re, sys
    import numpy as np
    from PIL import Image
    from cnnviz.errors import ConvConfigError
    from cnnviz.images.loading import load_image

    def status(key):
        text = open("/proc/self/status").read()
        return int(re.search(key + r":\\s+(\\d+) kB", text).group(1)) * 1024

    def save(image, fmt, **options):
        buffer = io.BytesIO()
        image.save(buffer, format=fmt, **options)
        return buffer.getvalue()

    files = {
        "RGB JPEG, 40 MP": lambda: save(Image.new("RGB", (8000, 5000), (10, 200, 30)), "JPEG"),
        "16-bit PNG, 40 MP": lambda: save(Image.fromarray(np.full((5000, 8000), 1000, np.uint16)), "PNG"),
        "RGBA PNG, 40 MP": lambda: save(Image.new("RGBA", (8000, 5000), (10, 200, 30, 128)), "PNG"),
        "float TIFF, 40 MP": lambda: save(
            Image.fromarray(np.full((5000, 8000), 0.5, np.float32)), "TIFF", compression="tiff_adobe_deflate"
        ),
        "RGBA WebP, 31 MP": lambda: save(Image.new("RGBA", (6400, 4900), (1, 2, 3, 128)), "WEBP", lossless=True),
        "RGBA WebP, 40 MP": lambda: save(Image.new("RGBA", (8000, 5000), (1, 2, 3, 128)), "WEBP", lossless=True),
    }
    label = sys.argv[1]
    load_image(save(Image.new("RGB", (8, 8)), "PNG"), "warm-up")
    data = files[label]()
    open("/proc/self/clear_refs", "w").write("5")  # reset the peak to the present size
    before = status("VmRSS")
    try:
        load_image(data, label)
        outcome = "loaded"
    except ConvConfigError:
        outcome = "refused"
    print(outcome, (status("VmHWM") - before) // (1024 * 1024))
    """
)
WORST_LEGAL = (
    "RGB JPEG, 40 MP",
    "16-bit PNG, 40 MP",
    "RGBA PNG, 40 MP",
    "float TIFF, 40 MP",
    "RGBA WebP, 31 MP",
)


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads the peak size from /proc")
@pytest.mark.parametrize("label", [*WORST_LEGAL, "RGBA WebP, 40 MP"])
def test_worst_legal_uploads_raise_the_memory_by_less_than_500_mb(label: str) -> None:
    """Peak resident memory (VmHWM, reset just before the load) of a fresh process: the kinds of file that
    used to take 0.8-1.2 GB, each at the largest size still accepted; a 40 MP WebP with alpha is refused."""
    done = subprocess.run(
        [sys.executable, "-c", MEMORY_PROBE, label],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=300,
        check=True,
    )
    outcome, megabytes = done.stdout.split()
    assert outcome == ("loaded" if label in WORST_LEGAL else "refused"), done.stdout
    assert int(megabytes) < 500, f"{label}: {outcome}, peak +{megabytes} MB"
