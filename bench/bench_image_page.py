"""Server time of the image-kernels page, stage by stage, and its worst legal setting. A printout, not a test.

Part 1: a 12-megapixel JPEG upload with a 3x3 kernel: decode, filter, display downscale + encoding,
and full-resolution PNG encoding (done only when the student clicks download), and the bytes the
browser receives for the two displayed images.

Part 2: the worst legal settings. The largest upload the loader accepts (40 MP; computations then use
12 MP) is decoded once per upload; every option of the page is swept over its costliest values
(the largest kernel, 15x15 of random weights, with dilation up to 8, every padding mode and width,
both channel modes, the two-kernel gradient magnitude) and the same calls the page makes for one
change are timed: filter, display previews, difference image and histograms. Each must stay under
5 s of server time on this machine (one thread, as the server runs).
Run: python bench/bench_image_page.py
"""

from __future__ import annotations

import io
import itertools
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cnnviz.images.filtering import filter_threads
from cnnviz.images.kernels import (
    MAX_KERNEL_SIDE,
    apply_image_kernel,
    custom_kernel,
    difference_image,
    histograms,
    image_kernel,
)
from cnnviz.images.loading import encode_png, encode_preview, load_image, preview

BUDGET_SECONDS = 5.0


def synthetic_photo(height: int = 3000, width: int = 4000, fmt: str = "JPEG", noise: float = 6.0) -> bytes:
    """A photo-like picture (smooth structure plus noise; random noise alone is atypical) as a file."""
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    base = 128 + 60 * np.sin(x / 170) * np.cos(y / 230)
    channels = [base + 40 * np.sin((x + 300 * c) / (90 + 40 * c)) for c in range(3)]
    image = np.stack(channels, axis=-1) + rng.normal(0, noise, (height, width, 1)).astype(np.float32)
    buffer = io.BytesIO()
    Image.fromarray(np.clip(image, 0, 255).astype(np.uint8)).save(buffer, fmt, quality=90)
    return buffer.getvalue()


def best_of(repeats: int, job):  # type: ignore[no-untyped-def]
    times, out = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        out = job()
        times.append(time.perf_counter() - start)
    return min(times), out


def page_change(image: np.ndarray, kernel, options: dict) -> float:  # type: ignore[no-untyped-def]
    """CPU seconds for what the page computes after one control change (its cached `filtered` function).

    CPU time, not wall time, so that other work on a shared machine does not count: the server does
    this on one thread, so on an otherwise idle core the two agree."""
    start = time.process_time()
    result = apply_image_kernel(image, kernel, **options)
    small = preview(result.display)
    encode_preview(small)
    difference_image(preview(image), small)
    histograms(small)
    return time.process_time() - start


def typical() -> None:
    data = synthetic_photo()
    print(f"upload: 4000x3000 JPEG, {len(data) / 1e6:.1f} MB; filter threads: {filter_threads()}")
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


def worst() -> None:
    print("\nWorst legal settings (CPU seconds of server time, one run each):")
    uploads, decode_seconds = {}, []
    for fmt in ("JPEG", "PNG"):
        # PNG: noise-free, so that 40 MP fit in an upload (25 MB); the decoder still inflates every pixel.
        data = synthetic_photo(5000, 8000, fmt, noise=6.0 if fmt == "JPEG" else 0.0)
        start = time.process_time()
        loaded = load_image(data, f"big.{fmt.lower()}")
        seconds = time.process_time() - start
        uploads[fmt] = loaded
        decode_seconds.append(seconds)
        print(f"decode a 40 MP {fmt} ({len(data) / 1e6:.1f} MB) to {loaded.array.shape}: {seconds:.2f} s")
    image = uploads["JPEG"].array
    rng = np.random.default_rng(1)
    dense = custom_kernel(rng.standard_normal((MAX_KERNEL_SIDE, MAX_KERNEL_SIDE)))
    kernels = {
        "random 15x15": dense,
        "Gaussian 15x15": image_kernel("gaussian blur", MAX_KERNEL_SIDE, 10.0),
        "gradient magnitude": image_kernel("gradient magnitude (sobel)"),
    }
    rows = []
    sweep = itertools.product(kernels, (1, 8), ("same", 32, "valid"), ("zeros", "reflect", "circular"))
    for name, dilation, padding, padding_mode in sweep:
        for mode in (
            ("per_channel", "luminance") if name == "random 15x15" and dilation == 8 else ("per_channel",)
        ):
            options = {
                "mode": mode,
                "stride": 1,
                "padding": padding,
                "padding_mode": padding_mode,
                "dilation": dilation,
                "output": "normalize",
            }
            seconds = page_change(image, kernels[name], options)
            rows.append((seconds, name, dilation, padding, padding_mode, mode))
    rows.sort(reverse=True)
    print(f"{len(rows)} settings on the 12 MP result of the upload; the five slowest:")
    for seconds, name, dilation, padding, padding_mode, mode in rows[:5]:
        print(f"  {seconds:5.2f} s  {name}, dilation {dilation}, padding {padding!r} {padding_mode}, {mode}")
    slowest = rows[0][0]
    verdict = "under" if slowest < BUDGET_SECONDS and max(decode_seconds) < BUDGET_SECONDS else "OVER"
    print(
        f"slowest change {slowest:.2f} s, slowest decode {max(decode_seconds):.2f} s (once per upload; "
        f"both together {slowest + max(decode_seconds):.2f} s): {verdict} the {BUDGET_SECONDS:.0f} s budget"
    )


def main() -> None:
    typical()
    worst()


if __name__ == "__main__":
    main()
