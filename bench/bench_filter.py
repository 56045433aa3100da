"""How fast is cnnviz.images.filtering.filter_image next to PyTorch and scipy.ndimage? A printout, not a test.

Every contender does the same work: a 2048x2048 RGB float32 image (random, seeded), each channel
cross-correlated with the same kernel, 'same' size with zero padding, stride 1. The cnnviz time is
the whole public call, so it also includes padding and the uint8 display mapping; the others only
compute the float result. Times are the best of a few runs (time.perf_counter), after one warm-up.

Run from the repository root or anywhere: python bench/bench_filter.py
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import scipy.ndimage  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402, N812

from cnnviz.images.filtering import filter_image  # noqa: E402

SIZE = 2048
KERNEL_SIDES = (3, 7, 15, 31)
MAX_RUNS = 5
# A contender stops repeating once it has used this many seconds (one 31x31 ndimage run takes ~7 s).
BUDGET_SECONDS = 2.0


def best_times(calls: dict[str, Callable[[], object]]) -> tuple[dict[str, float], dict[str, object]]:
    """Best wall time of each call over up to MAX_RUNS rounds, and what each call returned first.

    The contenders take turns within each round, so a burst of load from other processes on the
    machine slows all of them rather than just one. The first call of each is a warm-up, unless it
    alone is slow enough that first-call costs cannot matter; then it is the one timing.
    """
    best = dict.fromkeys(calls, float("inf"))
    spent = dict.fromkeys(calls, 0.0)
    first = {}
    for name, call in calls.items():
        start = time.perf_counter()
        first[name] = call()
        elapsed = time.perf_counter() - start
        if elapsed > BUDGET_SECONDS / 2:
            best[name], spent[name] = elapsed, BUDGET_SECONDS
    for _ in range(MAX_RUNS):
        for name, call in calls.items():
            if spent[name] >= BUDGET_SECONDS:
                continue
            start = time.perf_counter()
            call()
            elapsed = time.perf_counter() - start
            best[name], spent[name] = min(best[name], elapsed), spent[name] + elapsed
    return best, first


def gaussian(side: int) -> np.ndarray:
    """A normalised, separable Gaussian with sigma = side / 6."""
    x = np.arange(side) - (side - 1) / 2
    g = np.exp(-0.5 * (x / (side / 6)) ** 2)
    return np.outer(g, g) / np.outer(g, g).sum()


def contenders(image: np.ndarray, kernel: np.ndarray) -> dict[str, Callable[[], np.ndarray]]:
    """Name -> zero-argument call computing the (3, H, W) result in that library.

    Inputs are converted to each library's own layout beforehand, outside the timing.
    PyTorch's depthwise conv is much slower with the padding inside conv2d once kernels grow
    (13 s instead of 1 s for 15x15 here), so it pads with F.pad first; for small kernels both ways
    are timed and the faster one counts.
    """
    side_h, side_w = kernel.shape
    planes = torch.from_numpy(np.ascontiguousarray(np.moveaxis(image, 2, 0)))[None]  # (1, 3, H, W)
    weight = torch.from_numpy(kernel.astype(np.float32))[None, None].expand(3, 1, side_h, side_w).contiguous()
    pads = (side_w // 2, (side_w - 1) - side_w // 2, side_h // 2, (side_h - 1) - side_h // 2)
    kernel32 = kernel.astype(np.float32)
    channels = [np.ascontiguousarray(image[:, :, c]) for c in range(3)]

    def torch_pad_then_conv() -> np.ndarray:
        with torch.inference_mode():
            return F.conv2d(F.pad(planes, pads), weight, groups=3)[0].numpy()

    def torch_same() -> np.ndarray:
        with torch.inference_mode():
            return F.conv2d(planes, weight, padding="same", groups=3)[0].numpy()

    def run_ndimage() -> np.ndarray:
        return np.stack([scipy.ndimage.correlate(c, kernel32, mode="constant") for c in channels])

    def run_cnnviz() -> np.ndarray:
        return np.moveaxis(filter_image(image, kernel, padding="same", padding_mode="zeros").raw, 2, 0)

    calls = {"cnnviz": run_cnnviz, "torch": torch_pad_then_conv, "ndimage": run_ndimage}
    if max(kernel.shape) <= 7:
        calls["torch same"] = torch_same
    return calls


def compare(image: np.ndarray, label: str, kernel: np.ndarray) -> tuple[str, ...]:
    times, results = best_times(contenders(image, kernel))
    # Same work: the results must agree, or the times mean nothing.
    for name, result in results.items():
        error = float(np.abs(results["cnnviz"] - result).max())
        if error > 1e-4 * float(np.abs(kernel).sum()):
            raise SystemExit(f"{label}: cnnviz and {name} disagree by {error:.3g}")
    torch_time = min(t for name, t in times.items() if name.startswith("torch"))
    fastest_other = min(torch_time, times["ndimage"])
    return (
        label,
        _backend(image, kernel),
        f"{times['cnnviz']:.3f}",
        f"{torch_time:.3f}",
        f"{times['ndimage']:.3f}",
        f"{torch_time / times['cnnviz']:.2f}",
        f"{times['ndimage'] / times['cnnviz']:.2f}",
        "yes" if times["cnnviz"] <= fastest_other else "NO",
    )


def _backend(image: np.ndarray, kernel: np.ndarray) -> str:
    return filter_image(image, kernel, padding="same").backend


def backends_alone(image: np.ndarray) -> list[tuple[str, ...]]:
    """Each backend forced (whole filter_image call), to show where 'auto' should switch.

    The direct backend is left out at 31x31, where one call takes several seconds (961 taps).
    """
    rows = []
    for side in KERNEL_SIDES:
        dense = np.random.default_rng(side).standard_normal((side, side))
        for label, kernel in ((f"dense {side}x{side}", dense), (f"Gaussian {side}x{side}", gaussian(side))):
            names = ["direct", "fft"] if label.startswith("dense") else ["direct", "separable", "fft"]
            if side > 15:
                names.remove("direct")
            times, _ = best_times({b: partial(filter_image, image, kernel, backend=b) for b in names})
            cells = [f"{times[b]:.3f}" if b in times else "-" for b in ("direct", "separable", "fft")]
            rows.append((label, *cells, _backend(image, kernel)))
    return rows


def print_table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for r in [header, ["-" * w for w in widths], *rows]:
        cells = zip(r, widths, strict=True)
        print("  ".join(str(c).rjust(w) if i else str(c).ljust(w) for i, (c, w) in enumerate(cells)))


def main() -> None:
    rng = np.random.default_rng(2024)
    image = rng.random((SIZE, SIZE, 3), dtype=np.float32)
    print(
        f"{SIZE}x{SIZE} RGB float32, 'same' zero padding, stride 1; best of up to {MAX_RUNS} runs "
        f"(fewer once a contender has used {BUDGET_SECONDS} s)."
    )
    print(
        f"torch {torch.__version__} with {torch.get_num_threads()} threads; numpy {np.__version__}; "
        f"scipy {scipy.__version__}. Ratio = contender time / cnnviz time (>1: cnnviz faster).\n"
    )

    rows = []
    for side in KERNEL_SIDES:
        rows.append(compare(image, f"dense {side}x{side}", rng.standard_normal((side, side))))
    for side in (7, 31):
        rows.append(compare(image, f"Gaussian {side}x{side}", gaussian(side)))
    header = (
        "kernel",
        "backend",
        "cnnviz s",
        "torch s",
        "ndimage s",
        "torch/cnnviz",
        "ndimage/cnnviz",
        "cnnviz no slower",
    )
    print_table(header, rows)
    verdict = all(r[-1] == "yes" for r in rows)
    print(f"\ncnnviz no slower than the fastest other at every size: {'yes' if verdict else 'NO'}\n")

    print("Each backend forced (seconds, whole filter_image call), and what 'auto' picks:")
    print_table(("kernel", "direct", "separable", "fft", "auto picks"), backends_alone(image))

    photo = rng.integers(0, 256, (3000, 4000, 3), dtype=np.uint8)
    print("\n12-megapixel uint8 RGB photo (4000x3000), 3x3 kernel, whole filter_image call:")
    sharpen = np.array([[0.0, -1.0, 0.0], [-1.0, 5.0, -1.0], [0.0, -1.0, 0.0]])
    box = np.ones((3, 3)) / 9
    for label, kernel in (("box blur (separable)", box), ("sharpen (not separable)", sharpen)):
        t = best_times({"cnnviz": partial(filter_image, photo, kernel)})[0]["cnnviz"]
        print(f"  {label}: {t:.3f} s ({filter_image(photo, kernel).backend})")


if __name__ == "__main__":
    main()
