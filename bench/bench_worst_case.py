"""The worst legal setting of every page: how long one run takes and how much memory it adds.

A visitor may set every control to its largest legal value; the page must still answer within a few
seconds and without holding much more memory. For each page this opens it in Streamlit's AppTest (the
same script run the server does, without the network), pushes every number box and slider to its
maximum and picks the last option of every select box, one control at a time, keeping each change the
page still accepts (a few passes, since settings reveal more controls); then, with the caches cleared,
times one more run of those settings and reads how much the process's peak memory grew. Each page runs in a
process of its own, so one page's caches do not help or hurt another.

    python bench/bench_worst_case.py              # every page
    python bench/bench_worst_case.py --page 4_Image_kernels.py --json
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUDGET_S = 5.0  # server time for one run at the worst legal setting
BUDGET_MB = 500.0  # memory one run may add
PASSES = 3


def _controls(at: object) -> list[tuple[str, object, object]]:
    """(kind, key, largest value) of every enabled number box, slider and select box on the page now."""
    found = []
    for box in at.number_input:  # type: ignore[attr-defined]
        proto = box.proto
        if box.key and not proto.disabled and proto.has_max:
            found.append(
                ("number_input", box.key, int(proto.max) if proto.data_type == proto.INT else proto.max)
            )
    for slider in at.slider:  # type: ignore[attr-defined]
        if slider.key and not slider.proto.disabled and not isinstance(slider.value, tuple):
            found.append(("slider", slider.key, type(slider.value)(slider.proto.max)))
    for select in at.selectbox:  # type: ignore[attr-defined]
        if select.key and not select.proto.disabled and select.options:
            found.append(("selectbox", select.key, len(select.options) - 1))
    return found


def _set(widget: object, kind: str, value: object) -> None:
    """A select box is set by position (its options may be shown through a format function)."""
    if kind == "selectbox":
        widget.select_index(value)  # type: ignore[attr-defined]
    else:
        widget.set_value(value)  # type: ignore[attr-defined]


def _fine(at: object) -> bool:
    return not at.exception and not at.error  # type: ignore[attr-defined]


def worst_legal(at: object) -> list[str]:
    """Push controls one at a time to their largest value, keeping each change the page still accepts."""
    kept: list[str] = []
    for _ in range(PASSES):
        progressed = False
        for kind, key, largest in _controls(at):
            widget = getattr(at, kind)(key=key)
            old = widget.index if kind == "selectbox" else widget.value
            if old == largest:
                continue
            _set(widget, kind, largest)
            at.run()  # type: ignore[attr-defined]
            if _fine(at):
                kept.append(f"{key}={largest}")
                progressed = True
            else:
                _set(getattr(at, kind)(key=key), kind, old)
                at.run()  # type: ignore[attr-defined]
        if not progressed:
            break
    return kept


def measure(page: str) -> dict:
    """One page at its worst legal setting (runs inside its own process)."""
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "pages" / page), default_timeout=600)
    at.run()
    settings = worst_legal(at)
    st.cache_data.clear()  # time the work itself, not a cache hit
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    start = time.perf_counter()
    at.run()
    seconds = time.perf_counter() - start
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "page": page,
        "seconds": round(seconds, 3),
        "peak_rss_growth_mb": round(rss_after - rss_before, 1),
        "exceptions": [str(e.value)[:200] for e in at.exception],
        "errors": [e.value[:120] for e in at.error],
        "settings": settings,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--page", help="one page file name (default: every page)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # internal: measure one page in this process
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(args.one)))
        return
    pages = [args.page] if args.page else sorted(p.name for p in (ROOT / "pages").glob("*.py"))
    results = []
    for page in pages:
        out = subprocess.run(
            [sys.executable, __file__, "--one", page],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            capture_output=True,
            text=True,
            timeout=1800,
        )
        lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
        results.append(json.loads(lines[-1]) if lines else {"page": page, "failed": out.stderr[-800:]})
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(f"Worst legal setting per page (budget: {BUDGET_S:g} s of server time, {BUDGET_MB:g} MB)")
    print(f"{'page':32} {'run s':>7} {'x budget':>9} {'+MB':>7}  errors/exceptions")
    for r in results:
        if "failed" in r:
            print(f"{r['page']:32} failed: {r['failed'][-200:]}")
            continue
        problems = len(r["exceptions"]) + len(r["errors"])
        print(
            f"{r['page']:32} {r['seconds']:7.2f} {r['seconds'] / BUDGET_S:9.2f} "
            f"{r['peak_rss_growth_mb']:7.0f}  {problems} ({'; '.join(r['exceptions'] + r['errors'])[:80]})"
        )


if __name__ == "__main__":
    main()
