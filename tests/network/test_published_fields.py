"""Receptive fields of published networks: Araujo, Norris & Sim (Distill 2019), Table 1, and the
google-research/receptive_field README and RECEPTIVE_FIELD_TABLE.md, at 224x224 input.

The networks are built as TF-slim defines them (nets/alexnet.py, vgg.py, resnet_v1.py, mobilenet_v1.py):
TensorFlow's 'SAME' padding with stride 2 on an even size pads 0 before and 1 after, which the builder
expresses as a ZeroPad2d((0, 1, 0, 1)) before an unpadded layer; resnet's conv2d_same pads explicitly
and symmetrically. Batch norm and ReLU leave fields as they are and are left out. Effective padding is
minus the first input cell unit 0 reads (the field's start).
"""

from __future__ import annotations

import pytest

from cnnviz.network import (
    Add,
    Conv2d,
    MaxPool2d,
    Network,
    ReLU,
    ZeroPad2d,
    from_json,
    summarize,
    to_json,
)
from cnnviz.network.link import stack_from_link, stack_to_link
from cnnviz.network.presets import GraphBuilder, preset, vgg

SAME_STRIDE_2 = ZeroPad2d((0, 1, 0, 1))  # TF 'SAME', stride 2, even input


def alexnet_v2() -> list:
    """slim alexnet_v2 up to pool5: VALID 11x11/4 conv1, 3x3/2 pools, 'SAME' stride-1 convs."""
    return [
        Conv2d(3, 64, 11, stride=4), ReLU(), MaxPool2d(3, stride=2),
        Conv2d(64, 192, 5, padding=2), ReLU(), MaxPool2d(3, stride=2),
        Conv2d(192, 384, 3, padding=1), ReLU(), Conv2d(384, 384, 3, padding=1), ReLU(),
        Conv2d(384, 256, 3, padding=1), ReLU(), MaxPool2d(3, stride=2),
    ]  # fmt: skip


def resnet_v1(units: tuple[int, int, int, int]) -> list:
    """slim resnet_v1 up to block4: bottleneck units, each block's stride in its last unit (on the 3x3)."""
    g = GraphBuilder()
    g.add(Conv2d(3, 64, 7, stride=2, padding=3), -1)  # conv2d_same: explicit symmetric padding
    g.add(ReLU())
    g.add(SAME_STRIDE_2)
    g.add(MaxPool2d(3, stride=2))
    channels = 64
    for base, count, stride in zip((64, 128, 256, 512), units, (2, 2, 2, 1), strict=True):
        for unit in range(count):
            s = stride if unit == count - 1 else 1
            block_in, depth = g.last, 4 * base
            g.add(Conv2d(channels, base, 1))
            g.add(ReLU())
            g.add(Conv2d(base, base, 3, stride=s, padding=1))  # conv2d_same pads 1 and 1 for 3x3
            g.add(ReLU())
            residual = g.add(Conv2d(base, depth, 1))
            if depth == channels:
                shortcut = g.add(MaxPool2d(1, stride=s), block_in) if s > 1 else block_in
            else:
                shortcut = g.add(Conv2d(channels, depth, 1, stride=s), block_in)
            g.add(Add(), residual, shortcut)
            g.add(ReLU())
            channels = depth
    return g.nodes


def mobilenet_v1() -> list:
    """slim mobilenet_v1 up to Conv2d_13_pointwise: a 3x3/2 conv, then 13 depthwise 3x3 + pointwise 1x1."""
    layers = [SAME_STRIDE_2, Conv2d(3, 32, 3, stride=2), ReLU()]
    channels = 32
    for depth, stride in ((64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2), (512, 1), (512, 1),
                          (512, 1), (512, 1), (512, 1), (1024, 2), (1024, 1)):  # fmt: skip
        layers += (
            [SAME_STRIDE_2, Conv2d(channels, channels, 3, stride=2, groups=channels)]
            if stride == 2
            else [Conv2d(channels, channels, 3, padding=1, groups=channels)]
        )
        layers += [ReLU(), Conv2d(channels, depth, 1), ReLU()]
        channels = depth
    return layers


# (name, network, published receptive field, effective stride, effective padding)
TABLE_1 = [
    ("alexnet_v2", alexnet_v2, 195, 32, 64),
    ("vgg_16", lambda: vgg(16)[:31], 212, 32, 90),  # up to pool5
    ("mobilenet_v1", mobilenet_v1, 315, 32, 126),
    ("resnet_v1_50", lambda: resnet_v1((3, 4, 6, 3)), 483, 32, 239),
    ("resnet_v1_101", lambda: resnet_v1((3, 4, 23, 3)), 1027, 32, 511),
    ("resnet_v1_152", lambda: resnet_v1((3, 8, 36, 3)), 1507, 32, 751),
    ("resnet_v1_200", lambda: resnet_v1((3, 24, 36, 3)), 1763, 32, 879),
]


@pytest.mark.parametrize(("name", "build", "size", "stride", "padding"), TABLE_1, ids=[t[0] for t in TABLE_1])
def test_table_1_receptive_fields(name, build, size, stride, padding) -> None:
    result = summarize(build(), (3, 224, 224))
    assert result.ok
    field = result.rows[-1].receptive_field
    assert field.kind == "local", field.note
    assert (
        field.size == (size, size) and field.jump == (stride, stride) and field.start == (-padding, -padding)
    )


def test_resnet_v1_50_block_ends_match_the_table() -> None:
    nodes = resnet_v1((3, 4, 6, 3))
    result = summarize(nodes, (3, 224, 224))
    ends = [r for r in result.rows if r.layer.kind == "Add"]
    block_ends = [ends[2], ends[6], ends[12], ends[15]]  # after 3, 4, 6 and 3 units
    published = [(35, 8, 15), (99, 16, 47), (291, 32, 143), (483, 32, 239)]
    for row, (r, j, p) in zip(block_ends, published, strict=True):
        field = row.receptive_field
        assert (field.size[0], field.jump[0], -field.start[0]) == (r, j, p)


def test_vgg_16_preset_has_the_tables_field_at_pool5() -> None:
    layers = preset("VGG-16").layers
    result = summarize(layers, (3, 224, 224))
    field = result.rows[30].receptive_field
    assert layers[30] == MaxPool2d(2, stride=2) and field.size == (212, 212) and field.start == (-90, -90)


def test_the_published_networks_travel_as_json_and_link_text() -> None:
    for build in (alexnet_v2, mobilenet_v1, lambda: resnet_v1((3, 4, 6, 3))):
        network = Network(tuple(build()), (3, 224, 224))
        assert from_json(to_json(network)) == network
        assert Network(stack_from_link(stack_to_link(network.nodes)), (3, 224, 224)) == network
