"""Presentation mode: larger type, safe colour scales on figures, foldable controls, kept in the link."""

from __future__ import annotations

import json

import numpy as np
import plotly.express as px
import plotly.graph_objects as go
from streamlit.testing.v1 import AppTest

from cnnviz.ui.presentation import DIVERGING_SAFE, MIN_FONT, SEQUENTIAL_SAFE, present_figure
from tests.conftest import REPO_ROOT

TIMEOUT = 30


def scale_name(scale: object) -> tuple:
    """A colour scale as comparable stops (Plotly expands names into stops on assignment)."""
    return tuple((round(float(p), 4), str(c)) for p, c in scale)


def named(name: str) -> tuple:
    return scale_name(go.Heatmap(colorscale=name).colorscale)


def test_signed_heatmap_gets_diverging_safe_scale_centred_on_zero() -> None:
    fig = go.Figure(go.Heatmap(z=np.array([[-2.0, 1.0], [0.5, 3.0]]), colorscale="RdBu"))
    out = present_figure(fig)
    assert scale_name(out.data[0].colorscale) == named(DIVERGING_SAFE)
    assert out.data[0].zmid == 0
    assert scale_name(fig.data[0].colorscale) == named("RdBu")  # the page's own figure is untouched


def test_non_negative_heatmap_gets_sequential_safe_scale() -> None:
    out = present_figure(go.Figure(go.Heatmap(z=[[0, 1], [2, 3]], colorscale="Viridis")))
    assert scale_name(out.data[0].colorscale) == named(SEQUENTIAL_SAFE)


def test_explicit_colour_range_decides_signedness() -> None:
    out = present_figure(go.Figure(go.Heatmap(z=[[0, 1]], zmin=-1, zmax=1, colorscale="Greys")))
    assert scale_name(out.data[0].colorscale) == named(DIVERGING_SAFE)


def test_one_colour_overlays_keep_their_colour() -> None:
    grey = [[0, "#d9dce1"], [1, "#d9dce1"]]
    out = present_figure(go.Figure(go.Heatmap(z=[[1, 1]], colorscale=grey, showscale=False)))
    assert scale_name(out.data[0].colorscale) == scale_name(grey)


def test_fonts_cells_and_height_grow() -> None:
    fig = go.Figure(go.Heatmap(z=[[1, 2]], texttemplate="%{z}", textfont={"size": 13}))
    fig.update_layout(height=400, font={"size": 14})
    fig.add_annotation(text="note", x=0, y=0, font={"size": 10})
    out = present_figure(fig)
    assert out.layout.font.size >= MIN_FONT and out.layout.font.size > 14
    assert out.data[0].textfont.size > 13
    assert out.layout.annotations[0].font.size >= MIN_FONT
    assert out.layout.height > 400


def test_animation_frames_and_shared_colour_axis_are_recoloured() -> None:
    fig = px.imshow(np.array([[-1.0, 2.0], [3.0, -4.0]]), color_continuous_scale="RdBu")
    out = present_figure(fig)
    assert scale_name(out.layout.coloraxis.colorscale) == named(DIVERGING_SAFE)
    frames = go.Figure(
        data=[go.Heatmap(z=[[0, 1]], colorscale="Viridis")],
        frames=[go.Frame(data=[go.Heatmap(z=[[0, 2]], colorscale="Viridis")])],
    )
    out = present_figure(frames)
    assert scale_name(out.frames[0].data[0].colorscale) == named(SEQUENTIAL_SAFE)


def chart_page() -> None:
    """A page with one control and one heatmap drawn through `chart`."""
    import numpy as np
    import plotly.graph_objects as go

    from cnnviz.ui import chart, page_header, url

    controls = page_header("Figure", "One heatmap.")
    with controls:
        k = url.slider("Kernel", 1, 5, 3, key="f_k")
    fig = go.Figure(go.Heatmap(z=np.arange(k * k, dtype=float).reshape(k, k) - 2, colorscale="RdBu"))
    chart(fig, key="f_chart")


def spec(at: AppTest) -> dict:
    return json.loads(at.get("plotly_chart")[0].proto.spec)


def styles(at: AppTest) -> str:
    return " ".join(h.proto.body for h in at.get("html"))


def test_presentation_toggle_restyles_charts_and_folds_controls() -> None:
    at = AppTest.from_function(chart_page, default_timeout=TIMEOUT).run()
    assert not at.exception
    assert spec(at)["data"][0]["colorscale"][0][1] == named("RdBu")[0][1]
    assert "font-size:22px" not in styles(at)
    assert len(at.sidebar.expander) == 0
    at.toggle(key="present").set_value(True).run()
    assert not at.exception
    assert spec(at)["data"][0]["colorscale"][0][1] == named(DIVERGING_SAFE)[0][1]
    assert spec(at)["layout"]["font"]["size"] >= MIN_FONT
    assert "font-size:22px" in styles(at)
    assert [e.label for e in at.sidebar.expander] == ["Controls"]
    assert [s.label for s in at.sidebar.expander[0].slider] == ["Kernel"]
    assert at.query_params["present"] in ("1", ["1"])
    # The control keeps its value when it moves into the folding box.
    at.slider(key="f_k").set_value(4).run()
    at.toggle(key="present").set_value(False).run()
    assert at.slider(key="f_k").value == 4 and "present" not in at.query_params


def test_presentation_link_opens_in_presentation_mode_and_keeps_it_across_pages() -> None:
    at = AppTest.from_file(str(REPO_ROOT / "app.py"), default_timeout=60)
    at.query_params["present"] = "1"
    at.run()
    assert not at.exception
    assert at.toggle(key="present").value is True
    links = at.sidebar.page_link
    assert len(links) > 1 and all(link.proto.query_string == "present=1" for link in links)


def test_tampered_presentation_value_is_a_note_not_an_error() -> None:
    at = AppTest.from_function(chart_page, default_timeout=TIMEOUT)
    at.query_params["present"] = "yes please"
    at.run()
    assert not at.exception
    assert at.toggle(key="present").value is False
    assert any("Presentation mode" in w.value for w in at.warning)


def test_ready_specs_are_restyled_without_plotly_objects() -> None:
    from cnnviz.plots import PrebuiltFigure, typed_array

    signed = {"type": "heatmap", "z": typed_array(np.array([[-1.0, 2.0]])), "colorscale": [[0, "red"], [1, "blue"]],
              "texttemplate": "%{z}", "textfont": {"size": 12}}  # fmt: skip
    grey = {"type": "heatmap", "z": [[1, 1]], "colorscale": [[0, "#ddd"], [1, "#ddd"]]}
    positive = {
        "type": "heatmap",
        "z": typed_array(np.array([[0.0, 3.0]])),
        "colorscale": [[0, "white"], [1, "k"]],
    }
    spec = {"data": [signed, grey, positive], "layout": {"height": 300, "font": {"size": 14}},
            "frames": [{"data": [dict(positive)]}]}  # fmt: skip
    out = present_figure(PrebuiltFigure(spec))
    assert isinstance(out, PrebuiltFigure)
    data = out.to_dict()["data"]
    assert scale_name(data[0]["colorscale"]) == named(DIVERGING_SAFE) and data[0]["zmid"] == 0
    assert data[0]["textfont"]["size"] >= MIN_FONT
    assert data[1]["colorscale"] == grey["colorscale"]
    assert scale_name(data[2]["colorscale"]) == named(SEQUENTIAL_SAFE)
    assert scale_name(out.to_dict()["frames"][0]["data"][0]["colorscale"]) == named(SEQUENTIAL_SAFE)
    assert out.to_dict()["layout"]["height"] > 300 and out.to_dict()["layout"]["font"]["size"] >= MIN_FONT
    assert spec["data"][0]["colorscale"] == [[0, "red"], [1, "blue"]]  # the cached spec is untouched
    assert isinstance(present_figure({"data": [dict(positive)]}), dict)


def _small_print_figure() -> go.Figure:
    """Two heatmap panels with tick labels on top, titles lifted above them, a slider, buttons, a legend."""
    from plotly.subplots import make_subplots

    fig = make_subplots(rows=1, cols=2, subplot_titles=("input", "output"))
    fig.add_trace(go.Heatmap(z=[[1, 2]], showscale=False), 1, 1)
    fig.add_trace(go.Scatter(x=[0, 1], y=[1, 2], name="line"), 1, 2)
    fig.update_xaxes(side="top", tickfont={"size": 11})
    fig.update_annotations(yshift=20)
    fig.update_layout(
        height=300,
        margin={"t": 60},
        font={"size": 14},
        title={"text": "C<br><sup>columns: inputs</sup>"},
        legend={"font": {"size": 12}},
        updatemenus=[{"type": "buttons", "buttons": [{"label": "play", "method": "animate", "args": [None]}]}],
        sliders=[{"steps": [{"label": "0", "method": "animate", "args": [["0"]]}],
                  "currentvalue": {"prefix": "cell: ", "font": {"size": 14}}}],
    )  # fmt: skip
    return fig


def _assert_small_print_grown(layout: dict) -> None:
    axes = [name for name in layout if name.startswith(("xaxis", "yaxis"))]
    assert {"xaxis", "xaxis2", "yaxis", "yaxis2"} <= set(axes)
    for name in axes:
        assert layout[name]["tickfont"]["size"] >= MIN_FONT, name
        assert layout[name]["title"]["font"]["size"] >= MIN_FONT, name
    assert layout["xaxis"]["tickfont"]["size"] > 11 * 1.4  # an explicit tick size grows, as the font does
    assert layout["sliders"][0]["font"]["size"] >= MIN_FONT
    assert layout["sliders"][0]["currentvalue"]["font"]["size"] >= MIN_FONT
    assert layout["sliders"][0]["currentvalue"]["prefix"] == "cell: "  # the rest of the slider is kept
    assert len(layout["sliders"][0]["steps"]) == 1
    assert layout["updatemenus"][0]["font"]["size"] >= MIN_FONT
    assert layout["legend"]["font"]["size"] >= MIN_FONT
    # The <sup> line of the title is drawn at 70 % of the title's size: that part is 18 px or more too.
    assert layout["title"]["font"]["size"] * 0.7 >= 18
    # Titles lifted over top tick labels are lifted further, as those labels grow; the top margin makes room.
    assert all(a["yshift"] > 20 for a in layout["annotations"])
    assert layout["margin"]["t"] >= 60 + (layout["annotations"][0]["yshift"] - 20)


def test_ticks_sliders_buttons_legend_and_title_grow_with_the_font() -> None:
    fig = _small_print_figure()
    _assert_small_print_grown(present_figure(fig).layout.to_plotly_json())
    assert fig.layout.xaxis.tickfont.size == 11 and fig.layout.annotations[0].yshift == 20  # untouched


def test_ready_specs_get_the_same_larger_small_print() -> None:
    from cnnviz.plots import PrebuiltFigure

    spec = json.loads(_small_print_figure().to_json())
    _assert_small_print_grown(present_figure(PrebuiltFigure(spec))._spec["layout"])
    assert spec["layout"]["xaxis"]["tickfont"]["size"] == 11  # the cached spec is not changed in place


def test_bar_labels_are_not_shrunk_below_the_smallest_font() -> None:
    out = present_figure(go.Figure(go.Bar(x=[1.0, 2.0], y=["a", "b"], orientation="h", text=["1", "2"])))
    assert out.layout.uniformtext.minsize == MIN_FONT and out.layout.uniformtext.mode == "show"
