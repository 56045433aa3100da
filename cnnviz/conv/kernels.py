"""Named kernels and input patterns, defined for any size where the idea allows it.

Kernels are cross-correlation weights (PyTorch's convention: not flipped). Patterns are small inputs
that make a convolution's behaviour easy to read on a grid of numbers.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from cnnviz.errors import ConvConfigError

__all__ = [
    "KERNEL_PRESETS",
    "INPUT_PATTERNS",
    "kernel_preset",
    "input_pattern",
    "gaussian_kernel",
    "LECTURE_SIGNAL",
    "TEMPLATE_MATCHING",
]

# Lecture 001's 1D example signal: three plateaus, so smoothing and edges are easy to see.
LECTURE_SIGNAL = (5.2, 5.3, 5.4, 5.1, 10.1, 10.3, 9.9, 10.3, 3.2, 3.4, 3.3, 3.1)
# Lecture 002's template matching: input, filter, and the output 1, -2, 2, 0 it produces.
TEMPLATE_MATCHING = ((0.0, 1.0, -1.0, 1.0, 1.0), (-1.0, 1.0))


def _centre(shape: tuple[int, int]) -> tuple[int, int]:
    """The centre cell; for an even size the one before the middle, where PyTorch's 'same' anchors."""
    return (shape[0] - 1) // 2, (shape[1] - 1) // 2


def _identity(shape: tuple[int, int]) -> np.ndarray:
    k = np.zeros(shape)
    k[_centre(shape)] = 1.0
    return k


def _box(shape: tuple[int, int]) -> np.ndarray:
    return np.full(shape, 1.0 / (shape[0] * shape[1]))


def gaussian_kernel(shape: tuple[int, int], sigma: float | None = None) -> np.ndarray:
    """Normalised Gaussian; sigma defaults to a sixth of the larger side (the bell fits the kernel)."""
    sigma = sigma if sigma is not None else max(shape) / 6.0
    if sigma <= 0:
        raise ConvConfigError(f"sigma must be positive (got {sigma})", "sigma")
    axes = [np.arange(n) - (n - 1) / 2.0 for n in shape]
    g = np.exp(-(axes[0][:, None] ** 2 + axes[1][None, :] ** 2) / (2.0 * sigma**2))
    return g / g.sum()


def _vertical_edge(shape: tuple[int, int]) -> np.ndarray:
    """+1 on the left column, -1 on the right: responds to a left-bright/right-dark edge."""
    if shape[1] < 2:
        raise ConvConfigError("a vertical-edge kernel needs at least 2 columns", "kernel_size")
    k = np.zeros(shape)
    k[:, 0], k[:, -1] = 1.0, -1.0
    return k


def _horizontal_edge(shape: tuple[int, int]) -> np.ndarray:
    if shape[0] < 2:
        raise ConvConfigError("a horizontal-edge kernel needs at least 2 rows", "kernel_size")
    return _vertical_edge(shape[::-1]).T


def _outline(shape: tuple[int, int]) -> np.ndarray:
    """-1 everywhere, the centre balances it: zero on flat regions (the lecture's edge detector)."""
    k = -np.ones(shape)
    k[_centre(shape)] = shape[0] * shape[1] - 1.0
    return k


def _sharpen(shape: tuple[int, int]) -> np.ndarray:
    """Identity plus the outline kernel scaled to the 3x3 sharpen of the lecture."""
    if shape == (3, 3):
        return np.array([[0.0, -1.0, 0.0], [-1.0, 5.0, -1.0], [0.0, -1.0, 0.0]])
    return _identity(shape) + _outline(shape) / (shape[0] * shape[1] - 1)


def _random_integers(shape: tuple[int, int], seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(-2, 3, size=shape).astype(float)


KERNEL_PRESETS: dict[str, Callable[..., np.ndarray]] = {
    "random integers": _random_integers,
    "identity": _identity,
    "box blur": _box,
    "gaussian blur": gaussian_kernel,
    "vertical edge": _vertical_edge,
    "horizontal edge": _horizontal_edge,
    "outline (edge detect)": _outline,
    "sharpen": _sharpen,
}


def kernel_preset(name: str, shape: tuple[int, int], seed: int = 0) -> np.ndarray:
    """The preset `name` at `shape` (kh, kw), as float64."""
    if name not in KERNEL_PRESETS:
        raise ConvConfigError(
            f"unknown kernel preset {name!r}; choose one of {list(KERNEL_PRESETS)}", "kernel"
        )
    kh, kw = shape
    if kh < 1 or kw < 1:
        raise ConvConfigError(f"kernel_size must be at least 1 (got {shape})", "kernel_size")
    if name == "random integers":
        return _random_integers((kh, kw), seed)
    return KERNEL_PRESETS[name]((kh, kw))


def _checker(shape: tuple[int, ...]) -> np.ndarray:
    return (np.indices(shape).sum(axis=0) % 2).astype(float)


def _edge(shape: tuple[int, ...]) -> np.ndarray:
    """Ones on the left half, zeros on the right: lecture 003's vertical edge."""
    x = np.zeros(shape)
    x[..., : max(1, shape[-1] // 2)] = 1.0
    return x


def _impulse(shape: tuple[int, ...]) -> np.ndarray:
    x = np.zeros(shape)
    x[tuple(n // 2 for n in shape)] = 1.0
    return x


def _ramp(shape: tuple[int, ...]) -> np.ndarray:
    return np.arange(int(np.prod(shape)), dtype=float).reshape(shape)


INPUT_PATTERNS: dict[str, Callable[[tuple[int, ...]], np.ndarray]] = {
    "ramp": _ramp,
    "checker": _checker,
    "edge": _edge,
    "impulse": _impulse,
}


def input_pattern(name: str, shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    """A readable input of `shape`: 'random' (integers 0..9, seeded), 'ramp', 'checker', 'edge', 'impulse'."""
    if any(n < 1 for n in shape):
        raise ConvConfigError(f"input size must be at least 1 (got {shape})", "input size")
    if name == "random":
        return np.random.default_rng(seed).integers(0, 10, size=shape).astype(float)
    if name not in INPUT_PATTERNS:
        raise ConvConfigError(
            f"unknown input pattern {name!r}; choose random or one of {list(INPUT_PATTERNS)}", "input"
        )
    return INPUT_PATTERNS[name](tuple(shape))
