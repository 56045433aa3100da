"""Play/pause buttons and a scrubber slider for Plotly frame animations, as plain layout dicts.

Every animated figure names its frames "0", "1", ... in order; these controls drive them in the browser,
so playing and scrubbing cost no server round trip.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["play_buttons", "scrubber"]


def _still() -> dict:
    """Animate options that jump to a frame at once, without tweening (a fresh dict: figures get cached)."""
    return {"frame": {"duration": 0, "redraw": True}, "mode": "immediate", "transition": {"duration": 0}}


def play_buttons(frame_ms: int, y: float) -> dict:
    """An updatemenus entry with '▶ play' (from the current frame, `frame_ms` per frame) and '❚❚ pause'."""
    return {
        "type": "buttons",
        "direction": "left",
        "x": 0.0,
        "y": y,
        "xanchor": "left",
        "yanchor": "top",
        "showactive": False,
        "buttons": [
            {
                "label": "▶ play",
                "method": "animate",
                "args": [
                    None,
                    {
                        "frame": {"duration": frame_ms, "redraw": True},
                        "fromcurrent": True,
                        "transition": {"duration": 0},
                    },
                ],
            },
            {
                "label": "❚❚ pause",
                "method": "animate",
                "args": [[None], {**_still(), "frame": {"duration": 0, "redraw": False}}],
            },
        ],
    }


def scrubber(labels: Sequence[str], prefix: str, x: float, y: float, active: int = 0) -> dict:
    """A sliders entry with one step per frame (step n shows frame "n", labelled `labels[n]`).

    It starts at `x` (right of the play buttons) and fills the rest of the row; `prefix` names what the
    current label is, e.g. "output cell (row, col): ".
    """
    still = _still()
    return {
        "active": active,
        "x": x,
        "len": round(1.0 - x, 6),
        "y": y,
        "yanchor": "top",
        "currentvalue": {"prefix": prefix, "font": {"size": 14}},
        "pad": {"t": 30},
        "steps": [
            {"args": [[str(n)], still], "label": label, "method": "animate"} for n, label in enumerate(labels)
        ],
    }
