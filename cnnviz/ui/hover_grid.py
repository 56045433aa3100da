"""The hover grid: cells that light up under the pointer in the browser, with no rerun.

`hover_grid(spec, key=...)` draws a `cnnviz.plots.hover_grid` spec with a Streamlit component (the public
`st.components.v2` API). Pointing at a cell outlines the cells its link names and writes the link's line
under the panels, all in the browser: hovering sends nothing to the server. A click on a cell is the one
thing that does: it reruns the page with `on_pick(panel, row, col)` called first, so the page's other views
can follow the picked cell.

Cells are sized to the width the page gives the grid (between `MIN_CELL` and `MAX_CELL` px, larger in
presentation mode), and their text to the cell.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

from cnnviz.ui.presentation import is_presenting

__all__ = ["hover_grid", "picked_from"]

MIN_CELL = 20  # px
MAX_CELL = 64  # px; presentation mode allows PRESENT_MAX_CELL
PRESENT_MAX_CELL = 96

_CSS = """
.hg-root{font-family:"Source Sans Pro",sans-serif;color:var(--st-text-color,#262730);user-select:none}
.hg-panels{display:flex;flex-wrap:wrap;align-items:flex-end;gap:var(--gap)}
.hg-panels.hg-stack{flex-direction:column;align-items:flex-start}
.hg-panel{max-width:100%;overflow-x:auto}
.hg-break{flex-basis:100%;height:0}
.hg-title{font-size:var(--title);margin-bottom:.25em;white-space:nowrap}
.hg-grid{display:grid;gap:1px;background:#c8ccd2;border:1px solid #c8ccd2;width:max-content}
.hg-cell{width:var(--cell);height:var(--cell);display:flex;align-items:center;justify-content:center;
 font-size:var(--digits);font-variant-numeric:tabular-nums;cursor:pointer;box-sizing:border-box;overflow:hidden}
.hg-cell.hg-on{box-shadow:inset 0 0 0 var(--ring) var(--hl)}
.hg-cell.hg-win{box-shadow:inset 0 0 0 var(--ring) var(--hl),inset 0 0 0 calc(var(--ring) * 2) #fff;font-weight:700}
.hg-cell.hg-src{box-shadow:inset 0 0 0 var(--ring) #111,inset 0 0 0 calc(var(--ring) * 2) #fff}
.hg-line{margin-top:.6em;font-family:"Source Code Pro",monospace;font-size:var(--line);min-height:2.6em;
 overflow-wrap:anywhere;line-height:1.3;white-space:pre-line}
"""

_JS = """
export default function (component) {
  const { data, parentElement, setTriggerValue } = component;
  if (!data || !Array.isArray(data.panels)) return;
  let root = parentElement.querySelector(':scope > .hg-root');
  if (root) root.remove();
  root = document.createElement('div');
  root.className = 'hg-root';
  root.dataset.testid = 'cnnviz-hover-grid';
  root.style.setProperty('--hl', data.highlight || '#00A651');
  const panels = document.createElement('div');
  panels.className = data.stack ? 'hg-panels hg-stack' : 'hg-panels';
  const line = document.createElement('div');
  line.className = 'hg-line';
  line.setAttribute('aria-live', 'polite');
  const cells = new Map();
  const links = new Map();
  const whole = new Map();
  const id = (p, r, c) => p + '|' + r + '|' + c;
  const ids = data.panels.map((panel) => panel.id);
  // Rows of panels (a panel with `br` starts a new one; `stack` puts each on its own): the widest row
  // decides the cell size.
  const rows = [];
  for (const panel of data.panels) {
    if (data.stack || panel.br || !rows.length) rows.push({cols: 0, n: 0});
    rows[rows.length - 1].cols += panel.cols;
    rows[rows.length - 1].n += 1;
  }
  for (const panel of data.panels) {
    const box = document.createElement('div');
    box.className = 'hg-panel';
    const title = document.createElement('div');
    title.className = 'hg-title';
    title.textContent = panel.title;
    const grid = document.createElement('div');
    grid.className = 'hg-grid';
    grid.style.gridTemplateColumns = 'repeat(' + panel.cols + ', var(--cell))';
    for (let r = 0; r < panel.rows; r++) {
      for (let c = 0; c < panel.cols; c++) {
        const cell = document.createElement('div');
        cell.className = 'hg-cell';
        cell.dataset.p = panel.id;
        cell.dataset.r = r;
        cell.dataset.c = c;
        cell.style.background = panel.fill[r][c];
        cell.style.color = panel.ink[r][c];
        cell.textContent = panel.text[r][c];
        cells.set(id(panel.id, r, c), cell);
        if (!whole.has(panel.id)) whole.set(panel.id, []);
        whole.get(panel.id).push(cell);
        grid.appendChild(cell);
      }
    }
    box.append(title, grid);
    if (panel.br) {
      const row = document.createElement('div');
      row.className = 'hg-break';
      panels.appendChild(row);
    }
    panels.appendChild(box);
  }
  for (const link of data.links || []) links.set(id(...link.o), link);
  root.append(panels, line);
  parentElement.appendChild(root);

  let lit = [];
  const show = (key) => {
    for (const cell of lit) cell.classList.remove('hg-on', 'hg-src', 'hg-win');
    lit = [];
    const link = key && links.get(key);
    if (!link) { line.textContent = data.idle || ''; return; }
    const src = cells.get(key);
    for (let i = 0; i < link.r.length; i += 3) {
      const cell = cells.get(id(ids[link.r[i]], link.r[i + 1], link.r[i + 2]));
      if (cell) { cell.classList.add('hg-on'); lit.push(cell); }
    }
    const special = link.s || [];
    for (let i = 0; i < special.length; i += 3) {
      const cell = cells.get(id(ids[special[i]], special[i + 1], special[i + 2]));
      if (cell) { cell.classList.add('hg-win'); lit.push(cell); }
    }
    for (const pid of link.a || []) {
      for (const cell of whole.get(pid) || []) { cell.classList.add('hg-on'); lit.push(cell); }
    }
    if (src) { src.classList.add('hg-src'); lit.push(src); }
    line.textContent = link.t;
  };
  const pinned = data.pinned ? id(...data.pinned) : null;
  const size = () => {
    const width = root.clientWidth || parentElement.clientWidth || 800;
    const gap = data.big ? 28 : 18;
    const fit = Math.min(...rows.map((row) => Math.floor(
      (width - gap * (row.n - 1) - 2 * row.n - row.cols) / Math.max(row.cols, 1))));
    const cell = Math.max(data.min_cell, Math.min(data.max_cell, fit));
    root.style.setProperty('--cell', cell + 'px');
    root.style.setProperty('--gap', gap + 'px');
    const digits = Math.max(11, Math.round(cell * 0.36));
    root.style.setProperty('--digits', digits + 'px');
    // A long number gets a smaller size of its own, so that it stays inside its cell.
    for (const el of cells.values()) {
      const n = el.textContent.length;
      el.style.fontSize = n > 3 ? Math.max(10, Math.min(digits, Math.floor((cell - 6) / (0.56 * n)))) + 'px' : '';
    }
    root.style.setProperty('--ring', Math.max(3, Math.round(cell * 0.09)) + 'px');
    root.style.setProperty('--title', (data.big ? 24 : 16) + 'px');
    root.style.setProperty('--line', (data.big ? 24 : 16) + 'px');
  };
  size();
  const observer = new ResizeObserver(size);
  observer.observe(parentElement);
  root.addEventListener('pointerover', (event) => {
    const cell = event.target.closest('.hg-cell');
    if (cell) show(id(cell.dataset.p, cell.dataset.r, cell.dataset.c));
  });
  root.addEventListener('pointerleave', () => show(pinned));
  root.addEventListener('click', (event) => {
    const cell = event.target.closest('.hg-cell');
    if (cell && (data.pickable || []).includes(cell.dataset.p)) {
      setTriggerValue('picked', [cell.dataset.p, Number(cell.dataset.r), Number(cell.dataset.c)]);
    }
  });
  show(pinned);
  return () => { observer.disconnect(); root.remove(); };
}
"""

_COMPONENT = st.components.v2.component("cnnviz_hover_grid", css=_CSS, js=_JS, isolate_styles=False)


def picked_from(value: Any, panels: list[dict]) -> tuple[str, int, int] | None:
    """The (panel, row, col) a click sent, checked against the panels; None for anything else.

    The value comes from the browser, so it is treated as untrusted: a list of a known panel id and two
    integers inside that panel.
    """
    if not isinstance(value, (list, tuple)) or len(value) != 3:
        return None
    pid, row, col = value
    sizes = {p["id"]: (p["rows"], p["cols"]) for p in panels}
    if not isinstance(pid, str) or pid not in sizes:
        return None
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in (row, col)):
        return None
    rows, cols = sizes[pid]
    if not (0 <= row < rows and 0 <= col < cols):
        return None
    return pid, row, col


def hover_grid(
    spec: dict,
    *,
    key: str,
    on_pick: Callable[[str, int, int], None] | None = None,
    pickable: tuple[str, ...] = (),
    idle: str = "Point at a cell.",
    stack: bool = False,
    where: Any = None,
) -> None:
    """Draw a hover grid spec; clicks on cells of the `pickable` panels call `on_pick(panel, row, col)`.

    `stack` puts the panels one under the other (a 1D signal's rows) instead of side by side.
    """
    big = is_presenting()
    data = {
        **spec,
        "pickable": list(pickable),
        "idle": idle,
        "stack": stack,
        "big": big,
        "min_cell": MIN_CELL,
        "max_cell": PRESENT_MAX_CELL if big else MAX_CELL,
    }

    def picked() -> None:
        state = st.session_state.get(key)
        value = state.get("picked") if hasattr(state, "get") else None
        cell = picked_from(value, spec["panels"])
        if cell is not None and on_pick is not None:
            on_pick(*cell)

    target = where if where is not None else st
    with target.container(key=f"{key}_box"):
        _COMPONENT(key=key, data=data, on_picked_change=picked)
