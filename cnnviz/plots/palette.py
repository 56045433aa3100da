"""Colours every figure shares, chosen so that no two meanings share a colour.

Data scales: RdBu and PuOr (diverging: red/orange negative, blue/purple positive, white zero), Blues,
Oranges and cividis (sequential), greys for padding. The 1D page draws its input in Okabe-Ito blue and
its output in Okabe-Ito orange. The highlight (the cells a window reads, the picked cell) is a green
that none of those uses, drawn as a thick outline so the cell's own colour and digits stay visible.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["HIGHLIGHT", "HIGHLIGHT_FILL", "HIGHLIGHT_WIDTH", "ink_for", "ring_cells", "ring_path"]

HIGHLIGHT = "#00A651"  # outline of a highlighted cell or window
HIGHLIGHT_FILL = "rgba(0, 166, 81, 0.22)"  # a light wash where an outline alone would be too thin
HIGHLIGHT_WIDTH = 4  # px: thick enough to see from the back of a room


def _linear(channel: float) -> float:
    """One sRGB channel (0-1) in linear light (WCAG 2 relative-luminance formula)."""
    return channel / 12.92 if channel <= 0.04045 else ((channel + 0.055) / 1.055) ** 2.4


def ink_for(red: float, green: float, blue: float) -> str:
    """The text colour, black or white, that reads best on a cell of this colour (channels 0-255).

    Picks the one with the higher WCAG contrast ratio against the cell's relative luminance.
    """
    lum = 0.2126 * _linear(red / 255) + 0.7152 * _linear(green / 255) + 0.0722 * _linear(blue / 255)
    on_black = (lum + 0.05) / 0.05
    on_white = 1.05 / (lum + 0.05)
    return "#000000" if on_black >= on_white else "#ffffff"


def ring_path(cells: Iterable[tuple[float, float]], inset: float = 0.1) -> tuple[list, list]:
    """x, y of one outline per (row, col) cell, inset so that neighbouring rings stay apart.

    The rings are separated by None, so one scatter trace (mode "lines") draws them all.
    """
    xs: list = []
    ys: list = []
    lo, hi = -0.5 + inset, 0.5 - inset
    for r, c in cells:
        xs += [c + lo, c + hi, c + hi, c + lo, c + lo, None]
        ys += [r + lo, r + lo, r + hi, r + hi, r + lo, None]
    return xs, ys


def ring_cells(xs: list, ys: list) -> set[tuple[int, int]]:
    """The (row, col) cells a `ring_path` outlines: its inverse, for reading a figure back."""
    corners = [(x, y) for x, y in zip(xs, ys, strict=True) if x is not None]
    return {
        (round(sum(y for _, y in corners[i : i + 4]) / 4), round(sum(x for x, _ in corners[i : i + 4]) / 4))
        for i in range(0, len(corners), 5)
    }
