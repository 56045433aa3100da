"""Server time of the image-kernels page on a 12-megapixel upload with a 3x3 kernel, stage by stage.

Prints decode, filter, display downscale + encoding, and full-resolution PNG encoding (done only when
the student clicks download), and the bytes the browser receives for the two displayed images.
Run: python bench/bench_image_page.py
"""

from __future__ import annotations

import io
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cnnviz.images.kernels import apply_image_kernel, image_kernel
from cnnviz.images.loading import encode_png, encode_preview, load_image, preview


def synthetic_photo(height: int = 3000, width: int = 4000) -> bytes:
    """A 12 MP JPEG with photo-like smooth structure plus noise (random noise alone is atypical)."""
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    base = 128 + 60 * np.sin(x / 170) * np.cos(y / 230)
    channels = [base + 40 * np.sin((x + 300 * c) / (90 + 40 * c)) for c in range(3)]
    image = np.stack(channels, axis=-1) + rng.normal(0, 6, (height, width, 1)).astype(np.float32)
    buffer = io.BytesIO()
    Image.fromarray(np.clip(image, 0, 255).astype(np.uint8)).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def best_of(repeats: int, job):  # type: ignore[no-untyped-def]
    times, out = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        out = job()
        times.append(time.perf_counter() - start)
    return min(times), out


def main() -> None:
    data = synthetic_photo()
    print(f"upload: 4000x3000 JPEG, {len(data) / 1e6:.1f} MB")
    t_decode, loaded = best_of(3, lambda: load_image(data, "photo.jpg"))
    kernel = image_kernel("sobel x")
    t_filter, result = best_of(3, lambda: apply_image_kernel(loaded.array, kernel, output="abs"))

    def shown() -> tuple[bytes, bytes]:
        return encode_preview(preview(loaded.array)), encode_preview(preview(result.display))

    t_display, (original_bytes, result_bytes) = best_of(3, shown)
    t_png, png = best_of(2, lambda: encode_png(result.display))
    total = t_decode + t_filter + t_display
    print(f"decode            {t_decode * 1000:7.0f} ms  -> {loaded.array.shape}")
    print(f"filter 3x3        {t_filter * 1000:7.0f} ms  (backend {result.backend})")
    print(f"display previews  {t_display * 1000:7.0f} ms  (downscale to 1024 px + encode, both images)")
    print(f"result on screen  {total * 1000:7.0f} ms  (decode + filter + display)")
    print(f"download PNG      {t_png * 1000:7.0f} ms  ({len(png) / 1e6:.1f} MB, only when clicked)")
    print(f"all stages        {(total + t_png) * 1000:7.0f} ms")
    print(
        f"bytes to browser for display: original {len(original_bytes) / 1e3:.0f} kB + "
        f"result {len(result_bytes) / 1e3:.0f} kB = {(len(original_bytes) + len(result_bytes)) / 1e6:.2f} MB"
    )


if __name__ == "__main__":
    main()
