"""A drawing pad for the model's input: a square grid of cells painted with the mouse, a pen or a finger.

A custom component (Streamlit's components v2: inline HTML, CSS and JavaScript, shipped with the app, no
iframe). Python hands it the current grid of ink levels (`data=`); the pad paints with a soft round brush and,
when the stroke ends (pointer up, never on every move), sends the whole grid back as its `drawing` state:
`{"rows": [[level, ...], ...], "stroke": n}`. That one state change reruns the page once. What the browser
sends is untrusted: `cnnviz.training.inputs.grid_from_drawing` checks it before anything uses it.

`stroke` numbers the strokes (increasing): the page passes the newest one it has seen back in `data`, so a
pad that has already sent a later stroke ignores the older grid of a rerun still on its way.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import streamlit as st

from cnnviz.ui.presentation import is_presenting

__all__ = ["MAX_PX", "MIN_PX", "PRESENT_MAX_PX", "drawing", "drawing_pad", "stroke_of"]

MIN_PX = 280  # the pad's side: large enough to draw on with a finger...
MAX_PX = 480  # ...and no larger than the column needs on a laptop
PRESENT_MAX_PX = 720  # a projector: the back of the room sees the strokes

_HTML = """
<div class="pad">
  <div class="tools" role="toolbar" aria-label="Drawing tools">
    <button type="button" class="pen" aria-pressed="true">Pen</button>
    <button type="button" class="eraser" aria-pressed="false">Eraser</button>
    <button type="button" class="clear">Clear</button>
  </div>
  <canvas class="sheet" role="img"></canvas>
</div>
"""

_CSS = """
.pad { font-family: var(--st-font); color: var(--st-text-color); }
.tools { display: flex; gap: 0.5rem; margin-bottom: 0.5rem; }
.tools button {
  font: inherit; font-size: 0.9rem; padding: 0.25rem 0.8rem; cursor: pointer;
  color: var(--st-text-color); background: var(--st-background-color);
  border: 1px solid var(--st-border-color, rgba(128, 128, 128, 0.4)); border-radius: 0.5rem;
}
.tools button:hover { border-color: var(--st-primary-color); color: var(--st-primary-color); }
.tools button:focus-visible { outline: 2px solid var(--st-primary-color); outline-offset: 2px; }
.tools button[aria-pressed="true"] { border-color: var(--st-primary-color); color: var(--st-primary-color); }
.tools .clear { margin-left: auto; }
.sheet {
  display: block; width: 100%; min-width: 280px; max-width: var(--pad-max, 480px); aspect-ratio: 1;
  touch-action: none; cursor: crosshair; border-radius: 0.25rem; background: #000;
}
"""

# The pad keeps its grid of ink levels (floats while painting, shown and sent rounded) on its root element,
# so a new call of this function (new data after a rerun) finds the stroke in progress and carries on.
_JS = """
export default function (component) {
  const { data, parentElement, setStateValue } = component;
  const root = parentElement.querySelector(".pad");
  const sheet = root.querySelector(".sheet");
  const pad = root.__pad || (root.__pad = { grid: null, rows: 0, cols: 0, painting: false, erase: false,
                                            sent: 0, last: null });
  if (pad.listeners) pad.listeners.abort();  // the call before this one: its listeners go
  const listeners = new AbortController();
  pad.listeners = listeners;
  const on = { signal: listeners.signal };

  const [rows, cols] = data.shape;
  const ink = data.ink;
  root.style.setProperty("--pad-max", `${data.max_px}px`);
  sheet.setAttribute("aria-label", data.label);
  const fresh = pad.rows !== rows || pad.cols !== cols;
  if (fresh) { pad.rows = rows; pad.cols = cols; pad.grid = new Float32Array(rows * cols); }
  // The page's grid wins unless a stroke is under way or a later one is still on its way to the server.
  if (Array.isArray(data.rows) && !pad.painting && (fresh || data.stroke >= pad.sent)) {
    data.rows.forEach((row, r) => row.forEach((v, c) => { pad.grid[r * cols + c] = v; }));
  }
  const radius = 1.4 * Math.max(1, cols / 8);  // in cells: a stroke about two cells wide on the 8x8 digits

  function draw() {
    const side = sheet.width;
    const g = sheet.getContext("2d");
    g.fillStyle = "#000";
    g.fillRect(0, 0, side, side);
    const cw = side / cols, ch = side / rows;
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) {
        const level = Math.round(pad.grid[r * cols + c]);
        if (level === 0) continue;
        const grey = Math.round((255 * level) / ink);
        g.fillStyle = `rgb(${grey},${grey},${grey})`;
        g.fillRect(Math.floor(c * cw), Math.floor(r * ch), Math.ceil(cw), Math.ceil(ch));
      }
    }
    g.strokeStyle = "rgba(128,128,128,0.35)";
    g.lineWidth = Math.max(1, window.devicePixelRatio || 1);
    g.beginPath();
    for (let i = 1; i < cols; i++) { const x = Math.round(i * cw) + 0.5; g.moveTo(x, 0); g.lineTo(x, side); }
    for (let i = 1; i < rows; i++) { const y = Math.round(i * ch) + 0.5; g.moveTo(0, y); g.lineTo(side, y); }
    g.stroke();
  }

  function fit() {
    const side = Math.max(1, Math.round(sheet.clientWidth * (window.devicePixelRatio || 1)));
    if (sheet.width !== side || sheet.height !== side) { sheet.width = side; sheet.height = side; }
    draw();
  }

  // A soft round brush: full ink within half the radius, fading to none at the radius.
  function dab(x, y) {
    for (let r = Math.max(0, Math.floor(y - radius)); r < Math.min(rows, Math.ceil(y + radius)); r++) {
      for (let c = Math.max(0, Math.floor(x - radius)); c < Math.min(cols, Math.ceil(x + radius)); c++) {
        const d = Math.hypot(c + 0.5 - x, r + 0.5 - y);
        const strength = Math.min(1, Math.max(0, (radius - d) / (0.5 * radius)));
        if (strength <= 0) continue;
        const i = r * cols + c;
        pad.grid[i] = pad.erase ? Math.min(pad.grid[i], ink * (1 - strength))
                                : Math.max(pad.grid[i], ink * strength);
      }
    }
  }

  function cellPoint(event) {
    const box = sheet.getBoundingClientRect();
    return [((event.clientX - box.left) / box.width) * cols, ((event.clientY - box.top) / box.height) * rows];
  }

  function paintTo(point) {
    const [x0, y0] = pad.last || point;
    const steps = Math.max(1, Math.ceil(Math.hypot(point[0] - x0, point[1] - y0) / 0.25));
    for (let s = 1; s <= steps; s++) dab(x0 + ((point[0] - x0) * s) / steps, y0 + ((point[1] - y0) * s) / steps);
    pad.last = point;
    draw();
  }

  function send() {
    pad.sent = Math.max(Date.now(), pad.sent + 1);
    const out = [];
    for (let r = 0; r < rows; r++) {
      const row = [];
      for (let c = 0; c < cols; c++) row.push(Math.round(pad.grid[r * cols + c]));
      out.push(row);
    }
    setStateValue("drawing", { rows: out, stroke: pad.sent });
  }

  sheet.addEventListener("pointerdown", (event) => {
    if (event.button !== 0) return;
    event.preventDefault();
    sheet.setPointerCapture(event.pointerId);
    pad.painting = true;
    pad.last = null;
    paintTo(cellPoint(event));
  }, on);
  sheet.addEventListener("pointermove", (event) => {
    if (!pad.painting) return;
    const moves = event.getCoalescedEvents ? event.getCoalescedEvents() : [event];
    for (const move of moves.length ? moves : [event]) paintTo(cellPoint(move));
  }, on);
  const end = () => {
    if (!pad.painting) return;
    pad.painting = false;
    pad.last = null;
    send();
  };
  sheet.addEventListener("pointerup", end, on);
  sheet.addEventListener("pointercancel", end, on);
  sheet.addEventListener("lostpointercapture", end, on);

  const pen = root.querySelector(".pen"), eraser = root.querySelector(".eraser");
  const choose = (erase) => {
    pad.erase = erase;
    pen.setAttribute("aria-pressed", String(!erase));
    eraser.setAttribute("aria-pressed", String(erase));
  };
  choose(pad.erase);
  pen.addEventListener("click", () => choose(false), on);
  eraser.addEventListener("click", () => choose(true), on);
  root.querySelector(".clear").addEventListener("click", () => { pad.grid.fill(0); draw(); send(); }, on);

  const resized = new ResizeObserver(fit);
  resized.observe(sheet);
  listeners.signal.addEventListener("abort", () => resized.disconnect());
  fit();
  return () => listeners.abort();
}
"""

_PAD = st.components.v2.component("cnnviz_drawing_pad", html=_HTML, css=_CSS, js=_JS)


def drawing(key: str) -> object:
    """The pad's last drawing as the browser sent it (untrusted), or None before the first stroke."""
    state = st.session_state.get(key)
    return state.get("drawing") if hasattr(state, "get") else None


def stroke_of(value: object) -> int:
    """The stroke number of a drawing the pad sent, 0 when it has none that makes sense."""
    stroke = value.get("stroke") if isinstance(value, dict) else None
    return stroke if isinstance(stroke, int) and not isinstance(stroke, bool) and 0 <= stroke < 2**53 else 0


def drawing_pad(
    grid: np.ndarray | None,
    shape: tuple[int, int],
    *,
    key: str,
    max_level: int,
    on_drawn: Callable[[], None],
    label: str,
) -> None:
    """The pad for an (rows, cols) grid of ink levels 0..max_level showing `grid` (None: keep what it shows);
    `on_drawn` runs (as a widget callback) after each stroke, with the stroke in `drawing(key)`."""
    data = {
        "rows": None if grid is None else np.asarray(grid, dtype=np.int64).tolist(),
        "shape": [int(shape[0]), int(shape[1])],
        "ink": int(max_level),
        "stroke": stroke_of(drawing(key)),
        "max_px": PRESENT_MAX_PX if is_presenting() else MAX_PX,
        "label": label,
    }
    _PAD(key=key, data=data, on_drawing_change=on_drawn, width="stretch", height="content")
