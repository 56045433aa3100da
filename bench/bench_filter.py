"""How fast is cnnviz's photo filter next to OpenCV, scipy and PyTorch? A printout, not a test.

Every contender does the same work on a 2048x2048 RGB float32 image (random, seeded): each channel
cross-correlated with the same kernel, PyTorch's geometry ('same' size at stride 1; padding k // 2
per side with stride 2), zeros or reflect padding, and must agree with cnnviz to 1e-4 of the
kernel's scale. Inputs are laid out for each library beforehand (planes for torch and scipy),
outside the timing; each contender is given the best way its library offers:

* cnnviz:  `correlate_image`, the float computation `filter_image` runs (the uint8 display mapping
           that follows is timed on its own, in the "with display" column).
* opencv:  cv2.filter2D, and for the separable (Gaussian) kernels also cv2.sepFilter2D; the faster counts.
* scipy:   scipy.ndimage.correlate (kernels up to 7x7; larger ones take seconds to minutes) and
           scipy.signal.oaconvolve (from 5x5 on, on a padded copy for reflect); the faster counts.
* torch:   F.conv2d with groups=3 on F.pad-ded planes (padding inside conv2d is up to 40x slower for
           large kernels), with its own stride and dilation.

Every library runs on the same number of threads, the one cnnviz uses per filter call on the
server (printed). Times are CPU seconds of this process (time.process_time), so that other work on
the machine counts as little as it can. The contenders take turns in rounds, in a new random order
each round, each called twice and the second call timed, after a warm-up (a contender whose first
call takes over a second is timed once): at least 7 rounds each, then up to 15 while a contender's
timed calls add up to less than 1.5 s. Times shown are medians. "vs fastest" compares cnnviz with
the fastest library (the lowest median) round by round, where both were timed within moments of each
other on the same machine load: the median of cnnviz's time over that library's in the same round,
which must be at most 1.00. Taking each side's best of many runs instead would favour whichever side
has more contenders (OpenCV has two for the Gaussians) and more runs, by chance alone. "quartiles"
are the lower and upper quartile of the same per-round ratios; the verdict is "yes" at most 1.00,
"tie" when the lower quartile is at most 1.00 (cnnviz was faster in at least a quarter of the
rounds: the difference is within what repeating the same call gives here), else "NO". Where the
rounds' median is above 1.00 or their quartiles straddle 1.00 (the rounds alone, at most 15
ratios, are too few to tell a 2% difference from noise here), cnnviz and the fastest library
are then timed again in up to 40 back-to-back pairs (alternating which goes first, each called
twice and the second call timed, while the faster of each pair has spent under 3 s), and those
pairs' ratios join the rounds' ones before the median, quartiles and verdict are taken
("ratios" counts them). "same call" marks the
cases where cnnviz runs the very OpenCV function the fastest library runs, with the same kernel
(filter2D for cnnviz's "opencv", sepFilter2D for "opencv_separable", every output computed and
the stride's kept): there the ratio is 1.00 by construction and any difference is timing noise.
The ratio columns are the other library's median time over cnnviz's (> 1: cnnviz faster).

A second table is the cost of the whole `filter_image` call (uint8 photo in, display image out, as
the server does it) against the photo's size, from 0.3 to 12 megapixels: it should grow in
proportion to the pixels.

Run from the repository root or anywhere: python bench/bench_filter.py
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import scipy  # noqa: E402
import scipy.ndimage  # noqa: E402
import scipy.signal  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from cnnviz.images.filtering import correlate_image, filter_image, filter_threads  # noqa: E402

SIZE = 2048
SIDES = (3, 5, 7, 15, 31)
ROUNDS = 15
MIN_ROUNDS = 7  # every contender that is not slow is timed in at least this many rounds
BUDGET_SECONDS = 1.5  # of timed calls per contender and case
SLOW_SECONDS = 1.0  # a contender whose first call takes longer is timed once
EXTRA_PAIRS = 40  # back-to-back pairs where the rounds' median is above 1.00 or quartiles straddle it...
EXTRA_SECONDS = 3.0  # ...while the faster side's timed calls add up to less than this
# cnnviz's backend -> the reference that runs the very same OpenCV call
SAME_CALL = {"opencv": "opencv filter2D", "opencv_separable": "opencv sepFilter2D"}
THREADS = filter_threads()
torch.set_num_threads(THREADS)
cv2.setNumThreads(THREADS)  # cnnviz already set this; said again so the comparison reads plainly


@dataclass(frozen=True)
class Case:
    label: str
    kernel: np.ndarray
    padding_mode: str = "zeros"
    stride: int = 1
    dilation: int = 1

    @property
    def separable(self) -> bool:
        return self.label.startswith("Gaussian")

    @property
    def span(self) -> int:
        return self.dilation * (self.kernel.shape[0] - 1) + 1


def gaussian(side: int) -> np.ndarray:
    """A normalised, separable Gaussian with sigma = side / 6."""
    x = np.arange(side) - (side - 1) / 2
    g = np.exp(-0.5 * (x / (side / 6)) ** 2)
    return np.outer(g, g) / np.outer(g, g).sum()


def cases() -> list[Case]:
    rng = np.random.default_rng(2024)
    out = []
    for side in SIDES:
        dense = rng.standard_normal((side, side))
        for mode in ("zeros", "reflect"):
            out.append(Case(f"random {side}x{side}", dense, mode))
            out.append(Case(f"Gaussian {side}x{side}", gaussian(side), mode))
    for side in (3, 7, 15):
        dense = rng.standard_normal((side, side))
        for kind, kernel in (("random", dense), ("Gaussian", gaussian(side))):
            out.append(Case(f"{kind} {side}x{side} stride 2", kernel, "zeros", stride=2))
            out.append(Case(f"{kind} {side}x{side} dilation 2", kernel, "zeros", dilation=2))
    return out


def contenders(image: np.ndarray, case: Case) -> dict[str, Callable[[], object]]:
    """Library -> zero-argument call returning that library's result in its own layout."""
    k = case.kernel
    s, d, p = case.stride, case.dilation, case.span // 2  # odd kernels: 'same' = span // 2 per side
    dilated = np.zeros((case.span, case.span))
    dilated[::d, ::d] = k
    k32 = dilated.astype(np.float32)
    padding = "same" if s == 1 else p
    border = {"zeros": cv2.BORDER_CONSTANT, "reflect": cv2.BORDER_REFLECT_101}[case.padding_mode]
    planes = [np.ascontiguousarray(image[:, :, c]) for c in range(3)]
    planes_t = torch.from_numpy(np.stack(planes))[None]  # (1, 3, H, W)
    weight = torch.from_numpy(k.astype(np.float32))[None, None].expand(3, 1, *k.shape).contiguous()
    torch_mode = {"zeros": "constant", "reflect": "reflect"}[case.padding_mode]
    ndimage_mode = {"zeros": "constant", "reflect": "mirror"}[case.padding_mode]

    def run_cnnviz():
        return correlate_image(
            image, k, padding=padding, padding_mode=case.padding_mode, stride=s, dilation=d
        )[0]

    def run_filter2d():
        return cv2.filter2D(image, -1, k32, anchor=(p, p), borderType=border)[::s, ::s]

    def run_sep():
        g = k[:, k.shape[1] // 2] / np.sqrt(k[k.shape[0] // 2, k.shape[1] // 2])  # column of a rank-1 kernel
        g_dilated = dilated[:, case.span // 2] / np.sqrt(dilated[case.span // 2, case.span // 2])
        g32 = (g_dilated if d > 1 else g).astype(np.float32)
        return cv2.sepFilter2D(image, -1, g32, g32, anchor=(p, p), borderType=border)[::s, ::s]

    def run_ndimage():
        return [scipy.ndimage.correlate(c, k32, mode=ndimage_mode)[::s, ::s] for c in planes]

    def run_oaconvolve():
        flipped = k32[::-1, ::-1]
        if case.padding_mode == "zeros":
            return [scipy.signal.oaconvolve(c, flipped, mode="same")[::s, ::s] for c in planes]
        return [
            scipy.signal.oaconvolve(np.pad(c, p, mode="reflect"), flipped, mode="valid")[::s, ::s]
            for c in planes
        ]

    def run_torch():
        with torch.inference_mode():
            return F.conv2d(
                F.pad(planes_t, (p,) * 4, mode=torch_mode), weight, stride=s, dilation=d, groups=3
            )

    calls = {"cnnviz": run_cnnviz, "opencv filter2D": run_filter2d}
    if case.separable:
        calls["opencv sepFilter2D"] = run_sep
    if k.shape[0] <= 7:
        calls["scipy ndimage"] = run_ndimage
    if k.shape[0] >= 5:
        calls["scipy oaconvolve"] = run_oaconvolve
    calls["torch"] = run_torch
    return calls


def as_hwc(result: object) -> np.ndarray:
    """Any contender's result as (H', W', 3) float64."""
    if isinstance(result, torch.Tensor):
        return np.moveaxis(result[0].numpy(), 0, 2).astype(np.float64)
    if isinstance(result, list):
        return np.stack(result, axis=2).astype(np.float64)
    return np.asarray(result, np.float64)


def cpu_seconds(call: Callable[[], object]) -> tuple[float, object]:
    start = time.process_time()
    out = call()
    return time.process_time() - start, out


def all_times(
    calls: dict[str, Callable[[], object]],
) -> tuple[dict[str, list[float | None]], dict[str, object]]:
    """CPU time of each call in each round (None where it was not timed), and what each returned first.

    In every round the contenders take turns in a new (seeded) random order, and each is called twice
    in a row with only the second call timed: what ran before (torch's large buffers, the display
    mapping) leaves the allocator and caches in some state, and that state should be the contender's
    own. After MIN_ROUNDS rounds a contender stops once its timed calls add up to BUDGET_SECONDS, so
    fast calls get many rounds and slow ones few; a contender slower than SLOW_SECONDS is timed once."""
    times: dict[str, list[float | None]] = {name: [] for name in calls}
    first = {}
    slow = set()
    for name, call in calls.items():
        elapsed, first[name] = cpu_seconds(call)  # warm-up
        if elapsed > SLOW_SECONDS:
            slow.add(name)
            times[name].append(elapsed)
    order = list(calls)
    shuffle = random.Random(len(order))
    for round_ in range(ROUNDS):
        shuffle.shuffle(order)
        timed = {}
        for name in order:
            spent = sum(t for t in times[name] if t is not None)
            if name in slow or (round_ >= MIN_ROUNDS and spent >= BUDGET_SECONDS):
                continue
            calls[name]()
            timed[name] = cpu_seconds(calls[name])[0]
        for name in calls:
            if name not in slow:
                times[name].append(timed.get(name))
    return times, first


def median_time(runs: list[float | None]) -> float:
    return statistics.median(t for t in runs if t is not None)


def median_times(calls: dict[str, Callable[[], object]]) -> tuple[dict[str, float], dict[str, object]]:
    """Median CPU time of each call (see `all_times`), and what each returned first."""
    times, first = all_times(calls)
    return {name: median_time(t) for name, t in times.items()}, first


def paired_ratios(ours: list[float | None], theirs: list[float | None]) -> list[float]:
    """ours / theirs in every round that timed both (a slow contender's single time pairs with each)."""
    if len(theirs) == 1:
        theirs = theirs * len(ours)
    return [a / b for a, b in zip(ours, theirs, strict=True) if a is not None and b is not None]


def extra_pairs(ours: Callable[[], object], theirs: Callable[[], object]) -> list[float]:
    """ours / theirs timed back to back, alternating which goes first (see EXTRA_PAIRS)."""
    ratios = []
    spent = 0.0
    for n in range(EXTRA_PAIRS):
        if spent >= EXTRA_SECONDS:
            break
        times = {}
        for name, call in (
            (("ours", ours), ("theirs", theirs)) if n % 2 == 0 else (("theirs", theirs), ("ours", ours))
        ):
            call()
            times[name] = cpu_seconds(call)[0]
        spent += min(times.values())
        ratios.append(times["ours"] / times["theirs"])
    return ratios


def run_case(image: np.ndarray, case: Case) -> tuple[str, ...]:
    calls = contenders(image, case)
    calls["with display"] = lambda: filter_image(
        image,
        case.kernel,
        padding="same" if case.stride == 1 else case.span // 2,
        padding_mode=case.padding_mode,
        stride=case.stride,
        dilation=case.dilation,
    )
    runs, results = all_times(calls)
    times = {name: median_time(t) for name, t in runs.items()}
    ours = as_hwc(results["cnnviz"])
    for name, result in results.items():
        if name == "with display":
            continue
        theirs = as_hwc(result)
        if theirs.shape != ours.shape:
            raise SystemExit(f"{case.label}: cnnviz gives {ours.shape}, {name} {theirs.shape}")
        error = float(np.abs(ours - theirs).max())
        if error > 1e-4 * float(np.abs(case.kernel).sum()):
            raise SystemExit(f"{case.label} ({case.padding_mode}): cnnviz and {name} differ by {error:.3g}")
    best = {
        lib: min((t, name) for name, t in times.items() if name.startswith(lib))
        for lib in ("opencv", "scipy", "torch")
    }
    ours_t = times["cnnviz"]
    _, fastest = min(best.values())
    ratios = paired_ratios(runs["cnnviz"], runs[fastest])
    low, _, high = statistics.quantiles(ratios, n=4, method="inclusive")
    pairs = 0
    if statistics.median(ratios) > 1.0 or low <= 1.0 < high:  # not "yes", or not settled by the rounds
        more = extra_pairs(calls["cnnviz"], calls[fastest])
        pairs = len(more)
        ratios += more
        low, _, high = statistics.quantiles(ratios, n=4, method="inclusive")
    vs_fastest = statistics.median(ratios)
    verdict = "yes" if vs_fastest <= 1.0 else "tie" if low <= 1.0 else "NO"
    backend = correlate_image(
        image[:64, :64],
        case.kernel,
        padding="same" if case.stride == 1 else case.span // 2,
        padding_mode=case.padding_mode,
        stride=case.stride,
        dilation=case.dilation,
    )[1]
    return (
        case.label,
        case.padding_mode,
        backend,
        f"{ours_t * 1e3:.1f}",
        f"{best['opencv'][0] * 1e3:.1f}",
        f"{best['scipy'][0] * 1e3:.0f}",
        f"{best['torch'][0] * 1e3:.0f}",
        f"{best['opencv'][0] / ours_t:.2f}",
        f"{best['scipy'][0] / ours_t:.2f}",
        f"{best['torch'][0] / ours_t:.2f}",
        fastest,
        "same call" if SAME_CALL.get(backend) == fastest else "",
        f"{vs_fastest:.3f}",
        f"{low:.2f}..{high:.2f}",
        f"{len(ratios)}" + (f" ({pairs} pairs)" if pairs else ""),
        verdict,
        f"{times['with display'] * 1e3:.0f}",
    )


def growth_table() -> list[tuple[str, ...]]:
    """Whole filter_image calls on uint8 photos (4:3) from 0.3 to 12 MP: ms, and ms per megapixel."""
    rng = np.random.default_rng(5)
    sobel = np.array([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])
    dense = rng.standard_normal((15, 15))
    settings = {
        "Sobel x 3x3, abs": (sobel, {"output": "abs"}),
        "Gaussian 15x15": (gaussian(15), {}),
        "random 15x15, normalize": (dense, {"output": "normalize"}),
        "random 3x3, dilation 8": (rng.standard_normal((3, 3)), {"dilation": 8}),
    }
    rows = []
    for megapixels in (0.3, 1, 3, 6, 12):
        width = int(round(np.sqrt(megapixels * 1e6 * 4 / 3)))
        height = int(round(width * 3 / 4))
        photo = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
        cells = [f"{megapixels:g} MP ({width}x{height})"]
        for kernel, options in settings.values():
            t = median_times({"x": partial(filter_image, photo, kernel, **options)})[0]["x"]
            cells.append(f"{t * 1e3:.0f} ({t * 1e3 / (width * height / 1e6):.0f}/MP)")
        rows.append(tuple(cells))
    return [("photo", *settings), *rows]


def print_table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for r in [header, ["-" * w for w in widths], *rows]:
        cells = zip(r, widths, strict=True)
        print(
            "  ".join(str(c).rjust(w) if i else str(c).ljust(w) for i, (c, w) in enumerate(cells)), flush=True
        )


def main() -> None:
    image = np.random.default_rng(2024).random((SIZE, SIZE, 3), dtype=np.float32)
    print(
        f"{SIZE}x{SIZE} RGB float32. Threads per library: cnnviz {filter_threads()}, OpenCV "
        f"{cv2.getNumThreads()}, torch {torch.get_num_threads()}, scipy 1 (ndimage and oaconvolve run on one)."
    )
    print(
        f"OpenCV {cv2.__version__}, torch {torch.__version__}, scipy {scipy.__version__}, numpy {np.__version__}. "
        f"CPU ms, median of {MIN_ROUNDS} to {ROUNDS} rounds. "
        "Ratio = library time / cnnviz time (> 1: cnnviz faster).\n",
        flush=True,
    )
    tiny = np.random.default_rng(1).random((4, 4, 3), dtype=np.float32)
    for label, kernel, options in (
        ("random 3x3", np.random.default_rng(2).standard_normal((3, 3)), {}),
        ("Gaussian 15x15, dilation 2", gaussian(15), {"dilation": 2}),
    ):
        n = 2000
        start = time.process_time()
        for _ in range(n):
            correlate_image(tiny, kernel, **options)
        micros = (time.process_time() - start) / n * 1e6
        print(f"cnnviz's work around the OpenCV call ({label}, 4x4 image): {micros:.0f} us")
    print(flush=True)
    header = (
        "kernel",
        "padding",
        "cnnviz backend",
        "cnnviz ms",
        "opencv ms",
        "scipy ms",
        "torch ms",
        "opencv/cnnviz",
        "scipy/cnnviz",
        "torch/cnnviz",
        "fastest",
        "same call?",
        "vs fastest",
        "quartiles",
        "ratios",
        "no slower",
        "with display ms",
    )
    rows = []
    for case in cases():
        rows.append(run_case(image, case))
        print(" | ".join(rows[-1]), flush=True)  # progress: the table follows
    print()
    print_table(header, rows)
    counts = {v: sum(r[-2] == v for r in rows) for v in ("yes", "tie", "NO")}
    worst = max(float(r[-5]) for r in rows)
    same = sum(r[-6] == "same call" for r in rows)
    print(
        f"\ncnnviz no slower than the fastest of OpenCV, scipy and torch: {counts['yes']} of {len(rows)} cases "
        f"faster or equal, {counts['tie']} ties within timing resolution, {counts['NO']} slower "
        f"(largest 'vs fastest' {worst:.3f}: median of the paired ratios). In {same} of them cnnviz "
        "runs the very OpenCV call of the fastest library ('same call'): its ratio is 1.00 by "
        "construction there.\n"
    )

    print("Server-side filter_image time (uint8 photo in, display image out) against photo size,")
    print("CPU ms (and ms per megapixel: flat if the cost grows in proportion to the pixels):")
    growth = growth_table()
    print_table(growth[0], growth[1:])


if __name__ == "__main__":
    main()
