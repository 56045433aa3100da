"""Every page in presentation mode: each figure it draws is restyled for the projector.

A page that drew a figure with `st.plotly_chart` instead of `cnnviz.ui.chart` would keep its small type
and its own colour scales here.
"""

from __future__ import annotations

import json

import plotly.graph_objects as go
import pytest
from streamlit.testing.v1 import AppTest

from cnnviz.ui.presentation import DIVERGING_SAFE, MIN_FONT, SEQUENTIAL_SAFE
from tests.conftest import page_files

TIMEOUT = 180
SAFE_FIRST_COLOURS = {
    str(go.Heatmap(colorscale=name).colorscale[0][1]).replace(" ", "").lower()
    for name in (SEQUENTIAL_SAFE, DIVERGING_SAFE)
}


def colour_scales(spec: dict) -> list[list]:
    """The colour scales of a figure's coloured traces and colour axes (frames included)."""
    traces = list(spec.get("data", []))
    for frame in spec.get("frames", []):
        traces.extend(frame.get("data", []))
    scales = [t["colorscale"] for t in traces if isinstance(t.get("colorscale"), list)]
    for name, value in spec.get("layout", {}).items():
        if (
            name.startswith("coloraxis")
            and isinstance(value, dict)
            and isinstance(value.get("colorscale"), list)
        ):
            scales.append(value["colorscale"])
    return scales


def is_one_colour(scale: list) -> bool:
    return len({str(colour).replace(" ", "").lower() for _, colour in scale}) == 1


@pytest.mark.parametrize("page", page_files(), ids=lambda p: p.stem)
def test_every_figure_is_restyled_in_presentation_mode(page) -> None:
    at = AppTest.from_file(str(page), default_timeout=TIMEOUT)
    at.query_params["present"] = "1"
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.toggle(key="present").value is True
    charts = at.get("plotly_chart")
    # The live-training page draws its figures once a run exists; every other page opens on figures.
    assert charts or page.stem.endswith("Live_training"), "no figure on the page"
    for chart in charts:
        spec = json.loads(chart.proto.spec)
        size = spec.get("layout", {}).get("font", {}).get("size")
        assert size is not None and size >= MIN_FONT, (chart.proto.id, size)
        for scale in colour_scales(spec):
            first = str(scale[0][1]).replace(" ", "").lower()
            assert is_one_colour(scale) or first in SAFE_FIRST_COLOURS, (chart.proto.id, scale[:2])
