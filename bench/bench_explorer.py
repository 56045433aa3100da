"""Server time of a control change on the convolution explorer, and the Plotly payload it sends.

Runs the page headless with Streamlit's AppTest on a 16x16 input with a 3x3 kernel and changes one
control at a time (new settings each time, so nothing is served from the cache), next to the same
number of reruns of a page that draws nothing: the ratio is the explorer's cost over a bare rerun.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from streamlit.testing.v1 import AppTest  # noqa: E402

PAGE = ROOT / "pages" / "1_Convolution_explorer.py"
ROUNDS = 20


def timed_reruns(at: AppTest, change) -> list[float]:
    times = []
    for i in range(ROUNDS):
        change(at, i)
        start = time.perf_counter()
        at.run()
        times.append(time.perf_counter() - start)
        assert not at.exception
    return times


def main() -> None:
    at = AppTest.from_file(str(PAGE), default_timeout=120)
    at.run()
    for key, value in (("cx_in_h", 16), ("cx_in_w", 16), ("cx_k_h", 3), ("cx_k_w", 3)):
        at.number_input(key=key).set_value(value)
    at.run()

    def change(app: AppTest, i: int) -> None:
        # Seed and stride alternate so every rerun recomputes the convolution and its figures.
        app.number_input(key="cx_seed").set_value(1000 + i)
        app.number_input(key="cx_s_w").set_value(1 + i % 2)

    ours = timed_reruns(at, change)
    payload = sum(len(chart.proto.spec) for chart in at.get("plotly_chart"))
    frames = len(json.loads(at.get("plotly_chart")[0].proto.spec)["frames"])

    with tempfile.TemporaryDirectory() as folder:
        bare_page = Path(folder) / "bare.py"
        bare_page.write_text("import streamlit as st\nst.number_input('x', key='x')\n")
        bare = AppTest.from_file(str(bare_page), default_timeout=60)
        bare.run()
        baseline = timed_reruns(bare, lambda app, i: app.number_input(key="x").set_value(float(i + 1)))

    ours_ms, bare_ms = statistics.median(ours) * 1000, statistics.median(baseline) * 1000
    print(f"explorer, 16x16 input, 3x3 kernel: median rerun {ours_ms:.1f} ms over {ROUNDS} control changes")
    print(f"bare page with one widget:          median rerun {bare_ms:.1f} ms")
    print(f"ratio explorer / bare rerun: {ours_ms / bare_ms:.1f}x   (goal: explorer under 150 ms)")
    print(
        f"Plotly payload of the page: {payload / 1e6:.2f} MB, animation frames: {frames}   (goal: under 1.5 MB)"
    )


if __name__ == "__main__":
    main()
