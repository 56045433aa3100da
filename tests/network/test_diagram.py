"""The network diagram's blocks, and which layer a click on a block selects.

A click reaches the page as a chart selection event ({"points": [{"customdata": ..., ...}]}); the figure
puts each block's node in its point's customdata. The mapping is checked against the figure itself: the
value a block's point carries must come back as that block's node.
"""

from __future__ import annotations

import json

import plotly.io
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cnnviz.network import clicked_node, diagram, summarize
from cnnviz.network.presets import preset
from cnnviz.plots import network_diagram_figure


def resnet18_picture():
    net = preset("ResNet-18").network
    return diagram(summarize(net.nodes, net.input_size))


def block_points(picture) -> list[dict]:
    """What a click on each block sends: the blocks trace's point, as the browser gets the figure."""
    spec = json.loads(plotly.io.to_json(network_diagram_figure(picture)))
    trace = next(t for t in spec["data"] if t.get("name") == "blocks")
    curve = spec["data"].index(trace)
    return [
        {"curve_number": curve, "point_number": i, "point_index": i, "x": x, "y": y, "customdata": data}
        for i, (x, y, data) in enumerate(zip(trace["x"], trace["y"], trace["customdata"], strict=True))
    ]


def test_a_click_on_each_block_selects_its_last_node() -> None:
    picture = resnet18_picture()
    points = block_points(picture)
    assert len(points) == len(picture.blocks)
    for block, point in zip(picture.blocks[1:], points[1:], strict=True):
        assert clicked_node(picture, {"points": [point], "point_indices": [point["point_index"]]}) == (
            block.index
        )
        assert block.index == block.nodes[-1]
    # ResNet-18's first Add block (stem conv·BN·ReLU, pool, conv·BN·ReLU, conv·BN, then the Add)
    add = next(b for b in picture.blocks if b.title == "Add · ReLU")
    assert clicked_node(picture, {"points": [points[picture.blocks.index(add)]]}) == add.index


def test_customdata_as_a_list_as_plotly_express_sends_it() -> None:
    picture = resnet18_picture()
    conv = picture.blocks[1]
    assert clicked_node(picture, {"points": [{"customdata": [conv.index]}]}) == conv.index
    assert clicked_node(picture, {"points": [{"customdata": [float(conv.index)]}]}) == conv.index


@pytest.mark.parametrize(
    "selection",
    [
        None,
        {},
        {"points": []},
        {"points": "3"},
        {"points": [{"curve_number": 1, "point_index": 3}]},  # an arrowhead: no customdata
        {"points": [{"customdata": -1}]},  # the input block
        {"points": [{"customdata": 10_000}]},
        {"points": [{"customdata": 2.5}]},
        {"points": [{"customdata": float("nan")}]},
        {"points": [{"customdata": float("inf")}]},
        {"points": [{"customdata": True}]},
        {"points": [{"customdata": "3"}]},
        {"points": [{"customdata": []}]},
        {"points": [None, 4]},
    ],
)
def test_what_names_no_block_selects_nothing(selection) -> None:
    assert clicked_node(resnet18_picture(), selection) is None


def test_a_folded_node_is_not_a_block_and_the_first_block_point_wins() -> None:
    picture = resnet18_picture()
    stem = picture.blocks[1]  # Conv 7×7 /2 · BN · ReLU: rows 0, 1, 2
    assert stem.nodes == (0, 1, 2) and stem.title == "Conv 7×7 /2 · BN · ReLU"
    assert clicked_node(picture, {"points": [{"customdata": 0}]}) is None  # inside the block, not its output
    second = picture.blocks[2].index
    got = clicked_node(picture, {"points": [{"customdata": -1}, {"customdata": second}, {"customdata": 2}]})
    assert got == second


@settings(max_examples=50, deadline=None, derandomize=True, database=None)
@given(st.data())
def test_every_block_of_every_preset_maps_back(data) -> None:
    from cnnviz.network.presets import PRESETS

    net = preset(data.draw(st.sampled_from(sorted(PRESETS)))).network
    picture = diagram(summarize(net.nodes, net.input_size), per_lane=data.draw(st.integers(2, 10)))
    point = data.draw(st.sampled_from(block_points(picture)))
    block = next(b for b in picture.blocks if b.index == point["customdata"])
    assert clicked_node(picture, {"points": [point]}) == (None if block.index < 0 else block.index)
