"""Small classification data sets that need no download: 8x8 digits, MNIST-1D and generated shapes.

Every array is float32, images as (N, C, H, W) and signals as (N, C, L), labels int64 (N,). Generation is
seeded, so every machine gets the same numbers. `load_dataset` caches each set once per process and hands
out read-only arrays shared by every caller (and every browser session): copy before you change one.

Lecture 000's thought experiment, "shuffle all the pixels of every image the same way", is
`load_dataset(name, permute_pixels=True)`: one fixed permutation of the positions, applied to every
sample, train and test alike.
"""

from __future__ import annotations

import functools
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from cnnviz.errors import ConvConfigError

__all__ = [
    "DATASETS",
    "Dataset",
    "DatasetInfo",
    "load_dataset",
    "make_digits",
    "make_mnist1d",
    "make_shapes",
    "permute_dataset",
    "pixel_permutation",
]


@dataclass(frozen=True, eq=False)
class Dataset:
    """A train/test split: x_* float32 (N, C, H, W) or (N, C, L), y_* int64 (N,) in [0, len(class_names))."""

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: tuple[str, ...]
    # The fixed position permutation applied to every sample (flat indices over the spatial axes), or None.
    permutation: np.ndarray | None = field(default=None)

    @property
    def input_shape(self) -> tuple[int, ...]:
        """One sample's shape: (C, H, W) or (C, L)."""
        return tuple(self.x_train.shape[1:])

    @property
    def num_classes(self) -> int:
        """How many classes the labels name."""
        return len(self.class_names)

    @property
    def permuted(self) -> bool:
        """True when every sample's positions are shuffled by `permutation`."""
        return self.permutation is not None

    def prepare(self, x: np.ndarray) -> np.ndarray:
        """A user's input as the model sees it: (C, ...) or (N, C, ...) -> float32, permuted like the data."""
        arr = np.asarray(x, dtype=np.float32)
        single = arr.ndim == len(self.input_shape)
        batch = arr[None] if single else arr
        if batch.ndim != len(self.input_shape) + 1 or tuple(batch.shape[1:]) != self.input_shape:
            raise ConvConfigError(
                f"{self.name} takes inputs of shape {self.input_shape} (or a batch of them); got {arr.shape}",
                argument="x",
            )
        if self.permutation is not None:
            batch = _apply_permutation(batch, self.permutation, len(self.input_shape) - 1)
        return np.ascontiguousarray(batch[0] if single else batch)

    def unpermute(self, x: np.ndarray) -> np.ndarray:
        """Undo the pixel shuffle for display: (..., C, *spatial) as stored -> the original layout."""
        arr = np.asarray(x)
        if self.permutation is None:
            return arr
        return _apply_permutation(arr, np.argsort(self.permutation), len(self.input_shape) - 1)


@dataclass(frozen=True)
class DatasetInfo:
    """What a data set is before it is generated: for menus and captions."""

    name: str
    title: str
    description: str
    input_shape: tuple[int, ...]
    class_names: tuple[str, ...]


DIGIT_NAMES: tuple[str, ...] = tuple(str(d) for d in range(10))
SHAPE_NAMES: tuple[str, ...] = ("circle", "square", "triangle", "cross")

DATASETS: dict[str, DatasetInfo] = {
    info.name: info
    for info in (
        DatasetInfo(
            "digits",
            "8x8 digits",
            "scikit-learn's 1,797 handwritten digits at 8x8 pixels (bundled, no download); "
            "1,438 train / 359 test, stratified.",
            (1, 8, 8),
            DIGIT_NAMES,
        ),
        DatasetInfo(
            "mnist1d",
            "MNIST-1D",
            "Greydanus's 1D digits: ten templates shifted, scaled, sheared and noised into length-40 "
            "signals; 4,000 train / 1,000 test (lecture 001).",
            (1, 40),
            DIGIT_NAMES,
        ),
        DatasetInfo(
            "shapes",
            "Shapes",
            "28x28 circles, squares, triangles and crosses at random positions, sizes, angles and "
            "brightness on a noisy background; 2,000 train / 800 test.",
            (1, 28, 28),
            SHAPE_NAMES,
        ),
    )
}


# ---------------------------------------------------------------------------------------------------
# Permutation
# ---------------------------------------------------------------------------------------------------


def pixel_permutation(n_positions: int, seed: int = 0) -> np.ndarray:
    """A fixed shuffle of `n_positions` flat positions (int64 (n_positions,)), the same for a given seed."""
    return np.random.default_rng(seed).permutation(n_positions)


def _apply_permutation(x: np.ndarray, perm: np.ndarray, spatial_ndim: int) -> np.ndarray:
    """x (..., *spatial) with the last `spatial_ndim` axes' flat positions reordered by perm."""
    flat = x.reshape(*x.shape[: x.ndim - spatial_ndim], -1)
    return flat[..., perm].reshape(x.shape)


def permute_dataset(data: Dataset, seed: int = 0) -> Dataset:
    """`data` with every sample's positions shuffled by one fixed permutation (same for train and test)."""
    if data.permuted:
        raise ConvConfigError(f"{data.name} is already permuted", argument="permute_pixels")
    spatial_ndim = len(data.input_shape) - 1
    perm = _read_only(pixel_permutation(int(np.prod(data.input_shape[1:])), seed))
    return Dataset(
        name=data.name,
        x_train=_read_only(np.ascontiguousarray(_apply_permutation(data.x_train, perm, spatial_ndim))),
        y_train=data.y_train,
        x_test=_read_only(np.ascontiguousarray(_apply_permutation(data.x_test, perm, spatial_ndim))),
        y_test=data.y_test,
        class_names=data.class_names,
        permutation=perm,
    )


# ---------------------------------------------------------------------------------------------------
# Generators (uncached, pure given their arguments)
# ---------------------------------------------------------------------------------------------------


def _read_only(a: np.ndarray) -> np.ndarray:
    """Mark `a` read-only so a cached array cannot be changed by one caller under another's feet."""
    a.flags.writeable = False
    return a


def _finish(name: str, xtr, ytr, xte, yte, class_names: tuple[str, ...]) -> Dataset:
    """Cast to float32/int64, make contiguous and read-only, and wrap as a Dataset."""

    def arr(a: np.ndarray, dtype: type) -> np.ndarray:
        return _read_only(np.ascontiguousarray(a, dtype=dtype))

    return Dataset(
        name, arr(xtr, np.float32), arr(ytr, np.int64), arr(xte, np.float32), arr(yte, np.int64), class_names
    )


def make_digits(test_fraction: float = 0.2, seed: int = 0) -> Dataset:
    """scikit-learn's bundled 8x8 digits scaled to [0, 1]: (N, 1, 8, 8), split stratified per class."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    x = (np.asarray(bunch.images, dtype=np.float64) / 16.0)[:, None]  # (1797, 1, 8, 8), values 0..16
    y = np.asarray(bunch.target, dtype=np.int64)
    rng = np.random.default_rng(seed)
    train_idx, test_idx = [], []
    for c in range(10):
        idx = rng.permutation(np.flatnonzero(y == c))
        n_test = int(round(len(idx) * test_fraction))
        test_idx.append(idx[:n_test])
        train_idx.append(idx[n_test:])
    tr = rng.permutation(np.concatenate(train_idx))
    te = rng.permutation(np.concatenate(test_idx))
    return _finish("digits", x[tr], y[tr], x[te], y[te], DIGIT_NAMES)


# mnist1d seeds and draws from numpy's global random state: one generation at a time, state put back.
_MNIST1D_LOCK = threading.Lock()


def make_mnist1d(
    num_samples: int = 5000, train_split: float = 0.8, length: int = 40, seed: int = 42
) -> Dataset:
    """MNIST-1D generated locally with `mnist1d.data.make_dataset`: (N, 1, length), split train_split.

    The defaults are the package's (and lecture 001's): 4,000 train / 1,000 test of length 40, seed 42.
    """
    from mnist1d.data import get_dataset_args, make_dataset

    args = get_dataset_args()
    args.num_samples, args.train_split, args.final_seq_length, args.seed = (
        num_samples,
        train_split,
        length,
        seed,
    )
    args.url = None  # make_dataset never reads it; no code path here may fetch anything
    with _MNIST1D_LOCK:
        np_state, py_state = np.random.get_state(), random.getstate()
        try:
            d = make_dataset(args)
        finally:
            np.random.set_state(np_state)
            random.setstate(py_state)
    return _finish("mnist1d", d["x"][:, None], d["y"], d["x_test"][:, None], d["y_test"], DIGIT_NAMES)


def _shape_images(kind: int, n: int, size: int, rng: np.random.Generator) -> np.ndarray:
    """n float64 (n, size, size) images of shape class `kind` (index into SHAPE_NAMES), values in [0, 1].

    Each shape is drawn from a signed distance (negative inside), so edges are anti-aliased over a pixel.
    """
    r = rng.uniform(0.16, 0.38, n) * size  # circumradius-like half extent, in pixels
    cx = rng.uniform(r + 0.5, size - 1.5 - r)
    cy = rng.uniform(r + 0.5, size - 1.5 - r)
    theta = rng.uniform(0, 2 * np.pi, n)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64)
    dx = xx[None] - cx[:, None, None]  # (n, size, size)
    dy = cy[:, None, None] - yy[None]  # y up
    c, s = np.cos(theta)[:, None, None], np.sin(theta)[:, None, None]
    u, v = c * dx + s * dy, -s * dx + c * dy
    rr = r[:, None, None]
    if SHAPE_NAMES[kind] == "circle":
        sdf = np.hypot(u, v) - rr
    elif SHAPE_NAMES[kind] == "square":
        half = 0.8 * rr
        sdf = np.maximum(np.abs(u) - half, np.abs(v) - half)
    elif SHAPE_NAMES[kind] == "triangle":
        # Equilateral, circumradius 1.15 r: inside when every outward edge normal's projection <= inradius.
        normals = [np.pi * 1.5, np.pi / 6, np.pi * 5 / 6]
        sdf = np.max([u * np.cos(a) + v * np.sin(a) for a in normals], axis=0) - 0.575 * rr
    else:  # cross: two bars of half-width t
        t = np.maximum(1.0, 0.28 * rr)
        sdf = np.minimum(np.maximum(np.abs(u) - t, np.abs(v) - rr), np.maximum(np.abs(v) - t, np.abs(u) - rr))
    shape = np.clip(0.5 - sdf, 0.0, 1.0)
    brightness = rng.uniform(0.55, 1.0, n)[:, None, None]
    background = rng.uniform(0.0, 0.2, n)[:, None, None]
    noise = rng.normal(0.0, 0.12, (n, size, size))
    return np.clip(background + (brightness - background) * shape + noise, 0.0, 1.0)


def make_shapes(
    n_train_per_class: int = 500, n_test_per_class: int = 200, size: int = 28, seed: int = 0
) -> Dataset:
    """Generated shapes (circle, square, triangle, cross): (N, 1, size, size) in [0, 1], balanced classes."""
    if size < 12:
        raise ConvConfigError(
            f"shapes need at least 12x12 pixels to be told apart (got {size})", argument="size"
        )
    rng = np.random.default_rng(seed)
    n_per = n_train_per_class + n_test_per_class
    parts_x, parts_y = [], []
    for kind in range(len(SHAPE_NAMES)):
        parts_x.append(_shape_images(kind, n_per, size, rng))
        parts_y.append(np.full(n_per, kind, dtype=np.int64))
    x_all, y_all = np.stack(parts_x), np.stack(parts_y)  # (K, n_per, size, size), (K, n_per)
    x_tr = x_all[:, :n_train_per_class].reshape(-1, 1, size, size)
    y_tr = y_all[:, :n_train_per_class].reshape(-1)
    x_te = x_all[:, n_train_per_class:].reshape(-1, 1, size, size)
    y_te = y_all[:, n_train_per_class:].reshape(-1)
    tr, te = rng.permutation(len(y_tr)), rng.permutation(len(y_te))
    return _finish("shapes", x_tr[tr], y_tr[tr], x_te[te], y_te[te], SHAPE_NAMES)


_MAKERS: dict[str, Callable[[], Dataset]] = {
    "digits": make_digits,
    "mnist1d": make_mnist1d,
    "shapes": make_shapes,
}


# ---------------------------------------------------------------------------------------------------
# Cached access
# ---------------------------------------------------------------------------------------------------

# lru_cache alone is thread-safe for its own bookkeeping but may run a missing entry twice at once. One
# lock per data set makes each (name, shuffle) generate exactly once, and every caller share that object,
# without making a page that wants the digits wait while MNIST-1D is being generated.
_NAME_LOCKS: dict[str, threading.Lock] = {name: threading.Lock() for name in _MAKERS}


@functools.lru_cache(maxsize=32)
def _cached(name: str, permute_pixels: bool, permutation_seed: int) -> Dataset:
    if not permute_pixels:
        return _MAKERS[name]()
    return permute_dataset(_cached(name, False, 0), permutation_seed)


def load_dataset(name: str, permute_pixels: bool = False, permutation_seed: int = 0) -> Dataset:
    """The named data set with its default size, generated once per process; arrays are read-only."""
    if name not in _MAKERS:
        raise ConvConfigError(
            f"unknown data set {name!r}: choose one of {', '.join(sorted(_MAKERS))}", argument="dataset"
        )
    seed = int(permutation_seed) if permute_pixels else 0
    with _NAME_LOCKS[name]:
        return _cached(name, bool(permute_pixels), seed)
