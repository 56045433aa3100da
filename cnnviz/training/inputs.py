"""A person's own input for a trained model: a picture they upload, or a small grid they fill in.

The data sets hold bright ink on a dark background with values in [0, 1] (digits, shapes) and raw signals
(MNIST-1D). These functions turn an RGB picture or an edited grid into one sample of the data set's
`input_shape` in that same convention, so the model sees what it was trained on.
"""

from __future__ import annotations

import re

import numpy as np
from PIL import Image

from cnnviz.errors import ConvConfigError

__all__ = [
    "INK_LEVELS",
    "MAX_TEXT",
    "grid_cell",
    "grid_from_drawing",
    "grid_from_input",
    "grid_shape",
    "grid_text",
    "ink_text",
    "image_to_input",
    "input_from_grid",
    "parse_grid_text",
]

INK_LEVELS = 9  # a grid cell holds 0 (background) to 9 (full ink): easy to type, fine enough for 8x8 digits


def _image_shape(input_shape: tuple[int, ...]) -> tuple[int, int]:
    if len(input_shape) != 3 or input_shape[0] != 1:
        raise ConvConfigError(
            f"this model takes {input_shape} signals, not pictures: edit the signal's values instead",
            argument="input",
        )
    return int(input_shape[1]), int(input_shape[2])


def image_to_input(rgb: np.ndarray, input_shape: tuple[int, ...], invert: bool | None = None) -> np.ndarray:
    """An (H, W, 3) uint8 picture as one sample (1, h, w) float32 in [0, 1]: grey, area-averaged, stretched.

    `invert` None inverts when the border is lighter than the middle (dark ink on white paper), so the ink
    ends up bright as in the training data.
    """
    h, w = _image_shape(input_shape)
    arr = np.asarray(rgb)
    if arr.ndim != 3 or arr.shape[2] != 3 or arr.dtype != np.uint8:
        raise ConvConfigError(f"expected an (H, W, 3) uint8 picture (got {arr.dtype} {arr.shape})")
    grey = Image.fromarray(arr, "RGB").convert("L").resize((w, h), Image.Resampling.BOX)
    x = np.asarray(grey, dtype=np.float32) / 255.0  # (h, w)
    if invert is None:
        border = np.concatenate([x[0], x[-1], x[:, 0], x[:, -1]])
        invert = bool(border.mean() > x.mean())
    if invert:
        x = 1.0 - x
    low, high = float(x.min()), float(x.max())
    x = (x - low) / (high - low) if high - low > 1e-6 else np.zeros_like(x)
    return x[None].astype(np.float32)


def grid_cell(input_shape: tuple[int, ...]) -> int:
    """How many input pixels one grid cell covers per side: 1 up to 16 pixels a side, else 2 (28 -> 14)."""
    if len(input_shape) == 2:
        return 1
    h, w = _image_shape(input_shape)
    return 1 if max(h, w) <= 16 else 2 if h % 2 == 0 and w % 2 == 0 else 1


def grid_shape(input_shape: tuple[int, ...]) -> tuple[int, int]:
    """The (rows, columns) of the ink grid a person edits for a picture input (28x28 -> 14x14)."""
    h, w = _image_shape(input_shape)
    c = grid_cell(input_shape)
    return h // c, w // c


def grid_from_input(x: np.ndarray, input_shape: tuple[int, ...]) -> np.ndarray:
    """A sample as the grid a person edits: images (1, H, W) -> ink levels (H/c, W/c) ints 0..9 (cell
    averages); signals (1, L) -> (L,) values rounded to 2 decimals."""
    arr = np.asarray(x, dtype=np.float64)
    if tuple(arr.shape) != tuple(input_shape):
        raise ConvConfigError(f"expected a sample of shape {input_shape} (got {arr.shape})")
    if len(input_shape) == 2:
        return np.round(arr[0], 2)
    c = grid_cell(input_shape)
    h, w = input_shape[1] // c, input_shape[2] // c
    cells = arr[0, : h * c, : w * c].reshape(h, c, w, c).mean(axis=(1, 3))
    return np.clip(np.rint(cells * INK_LEVELS), 0, INK_LEVELS).astype(np.int64)


def input_from_grid(grid: np.ndarray, input_shape: tuple[int, ...]) -> np.ndarray:
    """The inverse of `grid_from_input`: an edited grid as one float32 sample of `input_shape`.

    Empty cells count as 0; ink levels outside 0..9 are a ConvConfigError naming the cell.
    """
    g = np.asarray(grid, dtype=np.float64)
    if len(input_shape) == 2:
        if g.shape != (input_shape[1],):
            raise ConvConfigError(f"expected {input_shape[1]} values (got {g.size})", argument="input")
        g = np.nan_to_num(g, nan=0.0)
        if not np.all(np.isfinite(g)) or np.abs(g).max(initial=0) > 1e3:
            raise ConvConfigError("every value must be a number between -1000 and 1000", argument="input")
        return g[None].astype(np.float32)
    c = grid_cell(input_shape)
    h, w = input_shape[1] // c, input_shape[2] // c
    if g.shape != (h, w):
        raise ConvConfigError(f"expected a {h}x{w} grid (got {g.shape})", argument="input")
    g = np.nan_to_num(g, nan=0.0)
    bad = np.argwhere((g < 0) | (g > INK_LEVELS))
    if len(bad):
        r, col = (int(v) for v in bad[0])
        raise ConvConfigError(
            f"ink levels go from 0 to {INK_LEVELS}: row {r}, column {col} holds {g[r, col]:g}",
            argument="input",
        )
    x = np.kron(g / INK_LEVELS, np.ones((c, c)))  # (h*c, w*c): each cell becomes c x c pixels
    out = np.zeros(input_shape[1:], dtype=np.float64)
    out[: h * c, : w * c] = x
    return out[None].astype(np.float32)


def grid_text(x: np.ndarray, input_shape: tuple[int, ...]) -> str:
    """A sample as text a person can edit: one line of ink levels per image row ("." for 0, so the
    shape stands out), or a signal's values separated by commas."""
    grid = grid_from_input(x, input_shape)
    if len(input_shape) == 2:
        return ", ".join(f"{v:g}" for v in grid)
    return ink_text(grid)


def ink_text(grid: np.ndarray) -> str:
    """An (h, w) grid of ink levels 0..9 as the text grid: one line a row, "." for 0."""
    return "\n".join("".join("." if v == 0 else str(int(v)) for v in row) for row in np.asarray(grid))


def _ink_level(v: object, r: int, col: int) -> int:
    """One cell of a drawing: a JSON number from 0 to INK_LEVELS, rounded to a whole level."""
    where = f"row {r + 1}, column {col + 1}"
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise ConvConfigError(
            f"the drawing's {where} is not a number (got {type(v).__name__})", argument="input"
        )
    # Compared as given: a huge int never becomes a float (that could overflow); NaN fails every comparison.
    if not 0 <= v <= INK_LEVELS:
        shown = f"{v:g}" if isinstance(v, float) else (str(v) if abs(v) < 10**12 else "a huge number")
        raise ConvConfigError(
            f"ink levels go from 0 to {INK_LEVELS}: the drawing's {where} holds {shown}", argument="input"
        )
    return int(round(v))


def grid_from_drawing(value: object, input_shape: tuple[int, ...]) -> np.ndarray:
    """What the drawing pad sent (untrusted JSON: {"rows": [[level, ...], ...]}) as an (h, w) int64 grid of
    ink levels 0..9, the same grid as the text's; a ConvConfigError says what is off, never more."""
    h, w = grid_shape(input_shape)
    rows = value.get("rows") if isinstance(value, dict) else None
    if not isinstance(rows, list):
        raise ConvConfigError(
            f"the drawing pad's value is not a drawing (got {type(value).__name__}): draw again or press Clear",
            argument="input",
        )
    if len(rows) != h or not all(isinstance(row, list) and len(row) == w for row in rows):
        got = f"{len(rows)} rows" if len(rows) != h else "rows of another length"
        raise ConvConfigError(
            f"the drawing pad sent {got}; this model's grid is {h} rows of {w} cells", argument="input"
        )
    grid = [[_ink_level(v, r, col) for col, v in enumerate(row)] for r, row in enumerate(rows)]
    return np.array(grid, dtype=np.int64).reshape(h, w)


_NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d{1,3})?", re.ASCII)
_INK = "0123456789"  # ASCII digits only: '²' or '٣' pass str.isdigit() but are no ink level
MAX_TEXT = 20_000  # characters: a 14x14 grid is about 210, 40 values about 250


def parse_grid_text(text: str, input_shape: tuple[int, ...]) -> np.ndarray:
    """The inverse of `grid_text`: one float32 sample of `input_shape`; a ConvConfigError says what is off.

    Signals: numbers (plain decimals, optionally with an exponent) separated by commas or spaces. Images:
    one line per row, each cell "." or an ASCII digit 0 to 9.
    """
    if not isinstance(text, str):
        raise ConvConfigError(f"the drawing is text (got {type(text).__name__})", argument="input")
    if len(text) > MAX_TEXT:
        raise ConvConfigError(
            f"the drawing is {len(text):,} characters long; it needs far fewer (at most {MAX_TEXT:,})",
            argument="input",
        )
    if len(input_shape) == 2:
        parts = [p for p in text.replace(",", " ").split() if p]
        for i, part in enumerate(parts):
            if not _NUMBER.fullmatch(part):
                shown = part if len(part) <= 12 else part[:12] + "..."
                raise ConvConfigError(
                    f"value {i + 1} is {shown!r}: write the signal as numbers separated by commas or spaces",
                    argument="input",
                )
        return input_from_grid(np.array([float(p) for p in parts]), input_shape)
    c = grid_cell(input_shape)
    h, w = input_shape[1] // c, input_shape[2] // c
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    if len(lines) != h:
        raise ConvConfigError(
            f"the grid needs {h} rows of {w} cells (got {len(lines)} rows)", argument="input"
        )
    grid = np.zeros((h, w))
    for r, line in enumerate(lines):
        if len(line) != w:
            raise ConvConfigError(f"row {r + 1} has {len(line)} cells; every row needs {w}", argument="input")
        for col, ch in enumerate(line):
            if ch == ".":
                continue
            if ch not in _INK:
                raise ConvConfigError(
                    f"row {r + 1}, column {col + 1} holds {ch!r}: use . or 0 for background and 1 to "
                    f"{INK_LEVELS} for ink",
                    argument="input",
                )
            grid[r, col] = _INK.index(ch)
    return input_from_grid(grid, input_shape)
