"""Branching networks against PyTorch: shapes, parameters, fixes, regions, and the graph edits.

Random graphs branch from any earlier node and merge equal shapes with Add or maps alike but for their
channels with Concat. The oracle runs each node's torch.nn module (or `+` / `torch.cat`) on the
outputs of the nodes it reads, as a hand-written `forward` would.
"""

from __future__ import annotations

import warnings

import hypothesis.strategies as st
import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, assume, given, settings
from torch import nn

from cnnviz.errors import ConvConfigError
from cnnviz.network import (
    INPUT,
    Add,
    BatchNorm2d,
    Concat,
    Conv1d,
    Conv2d,
    GroupNorm,
    LayerNorm,
    LocalResponseNorm,
    MaxPool2d,
    Network,
    Node,
    PixelShuffle,
    ReLU,
    Softmax,
    Upsample,
    ZeroPad2d,
    apply_all_fixes,
    apply_fix,
    effective_receptive_field,
    from_json,
    receptive_region,
    summarize,
    to_json,
    to_torch,
)
from cnnviz.network.layers.graph import delete_node, insert_after, swap_layers
from cnnviz.network.link import stack_from_link, stack_to_link
from tests.network.test_network import map_layer, torch_module
from tests.network.test_receptive_field import WindowOnes, bounding_box

GRAPHS = settings(
    max_examples=250,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
WINDOW_KINDS = ("conv", "conv", "maxpool", "avgpool", "bn", "act")


@st.composite
def graphs(draw, kinds=WINDOW_KINDS, max_nodes: int = 7, extra: bool = False):
    """(nodes, input_size): a random graph that runs; branches read any earlier map, merges join them."""
    ndim = draw(st.sampled_from([1, 2]))
    input_size = (draw(st.integers(1, 3)), *(draw(st.integers(3, 9)) for _ in range(ndim)))
    shapes = {INPUT: input_size}
    nodes: list[Node] = []
    for _ in range(draw(st.integers(2, max_nodes))):
        i = len(nodes)
        same = [(a, b) for a in shapes for b in shapes if a < b and shapes[a] == shapes[b]]
        alike = [
            (a, b) for a in shapes for b in shapes if a < b and shapes[a][1:] == shapes[b][1:] and a != b
        ]
        choice = draw(st.integers(0, 5))
        if choice == 0 and same:
            node = Node(Add(), draw(st.sampled_from(same)))
        elif choice == 1 and alike:
            node = Node(Concat(1), draw(st.sampled_from(alike)))
        else:
            source = draw(st.sampled_from(sorted(shapes)))
            shape = shapes[source]
            if extra and len(shape) == 3 and draw(st.integers(0, 3)) == 0:
                layer = draw(
                    st.sampled_from(
                        [
                            ZeroPad2d((1, 0, 2, 1)),
                            Upsample(scale_factor=2.0),
                            Upsample(size=(shape[1] + 1, 2 * shape[2]), mode="bilinear", align_corners=False),
                            Upsample(scale_factor=2.0, mode="bilinear", align_corners=True),
                            LocalResponseNorm(3),
                            Softmax(dim=1),
                        ]
                    )
                )
            else:
                layer = draw(map_layer(shape, kinds))
            node = Node(layer, (source,))
        row = summarize([*nodes, node], input_size).rows[-1]
        if row.status != "ok":
            continue
        nodes.append(node)
        shapes[i] = row.output_shape[1:]
    return nodes, input_size


def torch_forward(modules, nodes, x):
    """Every node's output, running each module on the outputs it reads (as a model's forward does)."""
    outputs = {INPUT: x}
    for i, (module, node) in enumerate(zip(modules, nodes, strict=True)):
        got = [outputs[j] for j in node.inputs]
        if isinstance(node.layer, Add):
            outputs[i] = sum(got[1:], got[0])
        elif isinstance(node.layer, Concat):
            outputs[i] = torch.cat(got, dim=node.layer.dim)
        else:
            outputs[i] = module(got[0])
    return outputs


@pytest.mark.slow
@GRAPHS
@given(
    graphs(kinds=("conv", "conv", "convT", "maxpool", "avgpool", "adaptive", "bn", "act")), st.integers(1, 2)
)
def test_random_graphs_match_pytorch(graph, batch: int) -> None:
    nodes, input_size = graph
    result = summarize(nodes, input_size, batch_size=batch)
    assert result.ok
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        modules = [
            None if isinstance(n.layer, (Add, Concat)) else torch_module(n.layer).eval() for n in nodes
        ]
        with torch.no_grad():
            outputs = torch_forward(modules, nodes, torch.zeros(batch, *input_size))
    for row, module in zip(result.rows, modules, strict=True):
        assert row.output_shape == tuple(outputs[row.index].shape)
        assert row.params == (sum(p.numel() for p in module.parameters()) if module is not None else 0)
        assert row.inputs == nodes[row.index].inputs
    model = to_torch(nodes)
    assert result.total_params == sum(p.numel() for p in model.parameters())
    with torch.no_grad():
        assert tuple(model.eval()(torch.zeros(batch, *input_size)).shape) == result.output_shape


def positive_modules(nodes, input_size):
    """Per node, a float64 module whose every path is positive (see test_receptive_field's twin)."""
    gen = torch.Generator().manual_seed(0)
    shapes = {INPUT: torch.zeros(1, *input_size)}
    modules = []
    for i, node in enumerate(nodes):
        layer = node.layer
        if isinstance(layer, (Add, Concat)):
            modules.append(None)
            got = [shapes[j] for j in node.inputs]
            shapes[i] = sum(got[1:], got[0]) if isinstance(layer, Add) else torch.cat(got, dim=layer.dim)
            continue
        x = shapes[node.inputs[0]]
        real = layer.to_torch().eval()
        with torch.no_grad():
            y = real(x)
        name = layer.kind
        if "Pool" in name and "Adaptive" not in name:
            g = layer.geometry()
            module = WindowOnes(
                x.shape[1], g.kernel_size, g.stride, layer.pads(), g.dilation, tuple(y.shape[2:])
            )
        elif name in ("ReLU", "Tanh", "Sigmoid", "LeakyReLU", "GELU", "Dropout"):
            module = nn.Identity()
        else:
            with torch.no_grad():
                for p in real.parameters():
                    p.copy_(
                        torch.rand(p.shape, generator=gen) * 0.9 + 0.1
                        if p.dim() > 1
                        else torch.zeros(p.shape)
                    )
                if name.startswith("BatchNorm") and real.weight is not None:
                    real.weight.fill_(1.0)
            module = real
        modules.append(module.double().eval())
        shapes[i] = y
    return modules


@pytest.mark.slow
@GRAPHS
@given(graphs(extra=True), st.data())
def test_region_of_a_graph_is_the_support_of_the_input_gradient(graph, data) -> None:
    nodes, input_size = graph
    assume(nodes)
    result = summarize(nodes, input_size)
    index = data.draw(st.integers(0, len(nodes) - 1))
    shape = result.rows[index].output_shape[1:]
    position = tuple(data.draw(st.integers(0, n - 1)) for n in shape[1:])
    region = receptive_region(nodes, input_size, index, position)
    modules = positive_modules(nodes, input_size)
    x = torch.rand(1, *input_size, dtype=torch.float64, requires_grad=True)
    y = torch_forward(modules, nodes, x)[index]
    grad = torch.zeros_like(y)  # random channel weights: a softmax's channels sum to a constant
    grad[(0, slice(None), *position)] = torch.rand(y.shape[1], dtype=torch.float64) + 0.5
    y.backward(grad)
    support = x.grad[0].abs().sum(0).numpy() > 0
    assert np.array_equal(region.mask, support)
    assert region.clipped == bounding_box(support)


# --------------------------------------------------------------------------------------------------
# Receptive fields by Araujo et al.'s rule
# --------------------------------------------------------------------------------------------------


def test_a_residual_block_keeps_the_field_of_its_longest_path() -> None:
    nodes = [
        Conv2d(3, 8, 3, padding=1),
        Node(Conv2d(8, 8, 3, padding=1), (0,)),
        Node(Conv2d(8, 8, 3, padding=1), (1,)),
        Node(Add(), (2, 0)),  # the shortcut skips two 3x3 convs
    ]
    result = summarize(nodes, (3, 16, 16))
    field = result.rows[-1].receptive_field
    assert field.kind == "local" and field.size == (7, 7) and field.jump == (1, 1) and field.start == (-3, -3)


def test_paths_that_disagree_on_stride_or_centre_have_no_single_window() -> None:
    strided = [Conv2d(1, 2, 3, stride=2, padding=1), Node(MaxPool2d(1, stride=4), (INPUT,))]
    shapes = summarize(strided, (1, 16, 16)).rows
    assert shapes[0].output_shape != shapes[1].output_shape  # 8x8 and 4x4 cannot merge; a shift can:
    shifted = [Conv2d(1, 2, 3), Node(Conv2d(1, 2, 3, padding=1), (INPUT,)), Node(ZeroPad2d(-1), (1,))]
    shifted.append(Node(Add(), (0, 2)))
    result = summarize(shifted, (1, 9, 9))
    assert result.ok  # same shapes, but the padded path is centred like the valid one: aligned
    assert result.rows[-1].receptive_field.kind == "local"
    off = [Conv2d(1, 2, 3), Node(ZeroPad2d((-2, 0, -2, 0)), (INPUT,)), Node(Conv2d(1, 2, 1), (1,))]
    off.append(Node(Add(), (0, 2)))
    field = summarize(off, (1, 9, 9)).rows[-1].receptive_field
    assert field.kind == "unsupported" and "not aligned" in field.note
    stride = [Conv2d(1, 2, 2, stride=2), Node(Conv2d(1, 2, 1), (INPUT,)), Node(MaxPool2d(2), (1,))]
    stride += [Node(Upsample(scale_factor=1.0), (2,)), Node(Add(), (0, 3))]
    assert summarize(stride, (1, 8, 8)).rows[-1].receptive_field.kind == "local"


# --------------------------------------------------------------------------------------------------
# Break points and their fixes on graphs
# --------------------------------------------------------------------------------------------------


def test_a_shortcut_that_does_not_match_gets_a_projection_as_resnet_does() -> None:
    nodes = [
        Conv2d(8, 16, 3, stride=2, padding=1),
        BatchNorm2d(16),
        Node(Add(), (1, INPUT)),  # (16, 8, 8) + (8, 16, 16)
        ReLU(),
    ]
    result = summarize(nodes, (8, 16, 16))
    row = result.first_error
    assert row.index == 2 and row.argument == "inputs" and "1x1 convolution" in row.error
    assert result.rows[3].status == "not computed"
    fixed = apply_fix(nodes, (8, 16, 16))
    assert [n.layer for n in fixed[2:5]] == [Conv2d(8, 16, 1, stride=2, bias=False), BatchNorm2d(16), Add()]
    assert fixed[4].inputs == (1, 3) and fixed[2].inputs == (INPUT,) and fixed[5].inputs == (4,)
    again = summarize(fixed, (8, 16, 16))
    assert again.ok and again.total_params == result.total_params + 8 * 16 + 2 * 16
    model = to_torch(fixed)
    assert tuple(model.eval()(torch.zeros(1, 8, 16, 16)).shape) == again.output_shape


def test_a_skip_of_another_size_is_cropped_as_in_u_net() -> None:
    nodes = [Conv2d(2, 4, 3), Node(Conv2d(2, 4, 1), (INPUT,)), Node(Concat(1), (0, 1)), Conv2d(8, 2, 1)]
    fixed = apply_all_fixes(nodes, (2, 10, 10))
    result = summarize(fixed, (2, 10, 10))
    assert result.ok and ZeroPad2d((-1, -1, -1, -1)) in [n.layer for n in fixed]
    assert result.output_shape == (1, 2, 8, 8)


def test_a_branch_past_a_broken_row_still_runs() -> None:
    nodes = [Conv2d(5, 4, 3), Node(Conv2d(3, 4, 3), (INPUT,)), Node(ReLU(), (0,))]
    result = summarize(nodes, (3, 8, 8))
    assert [r.status for r in result.rows] == ["error", "ok", "not computed"]


def test_wiring_mistakes_are_rows_with_a_message() -> None:
    result = summarize([Conv2d(3, 4, 3), Node(Add(), (0,))], (3, 8, 8))
    assert result.rows[1].status == "error" and "two or more" in result.rows[1].error
    result = summarize([Conv2d(3, 4, 3), Node(ReLU(), (0, INPUT))], (3, 8, 8))
    assert "Add or a Concat" in result.rows[1].error
    for bad in ((5,), (1,), (-2,), ()):
        with pytest.raises(ConvConfigError):
            Network((Conv2d(3, 4, 3), Node(ReLU(), bad)), (3, 8, 8))


# --------------------------------------------------------------------------------------------------
# Forms and edits
# --------------------------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])  # fmt: skip
@given(graphs(extra=True))
def test_graphs_round_trip_through_json_and_link_text(graph) -> None:
    nodes, input_size = graph
    network = Network(tuple(nodes), input_size, 2)
    assert from_json(to_json(network)) == network
    assert Network(stack_from_link(stack_to_link(nodes)), input_size, 2) == network


def test_a_stack_keeps_its_forms_exactly() -> None:
    stack = [Conv2d(3, 16, 3, padding=1), ReLU(), MaxPool2d(2)]
    assert stack_to_link(stack) == "c2_3_16_3__1-r-m2_2"
    assert '"inputs"' not in to_json(Network(stack, (3, 8, 8)))
    assert stack_from_link("c2_3_16_3__1-r-m2_2") == tuple(stack)
    graph = [Conv2d(3, 3, 3, padding=1), Node(Add(), (0, INPUT))]
    assert stack_to_link(graph) == "c2_3_3_3__1-ad_I0xm1"


def test_edits_keep_the_wiring_of_a_graph() -> None:
    block = [Conv2d(4, 4, 3, padding=1), ReLU(), Node(Add(), (1, INPUT)), ReLU()]
    nodes = Network(block, (4, 8, 8)).nodes
    inserted = insert_after(nodes, 0, BatchNorm2d(4))
    assert [n.inputs for n in inserted] == [(INPUT,), (0,), (1,), (2, INPUT), (3,)]
    deleted = delete_node(inserted, 2)  # the ReLU: the Add now reads the batch norm
    assert [n.inputs for n in deleted] == [(INPUT,), (0,), (1, INPUT), (2,)]
    swapped = swap_layers(nodes, 0, 1)
    assert swapped[0].layer == ReLU() and swapped[1].layer == Conv2d(4, 4, 3, padding=1)
    assert [n.inputs for n in swapped] == [n.inputs for n in nodes]


def test_effective_field_of_a_branch_runs_only_what_it_needs() -> None:
    nodes = [Conv2d(1, 2, 3, padding=1), Node(Conv2d(1, 2, 5, padding=2), (INPUT,)), Node(Add(), (0, 1))]
    erf = effective_receptive_field(nodes, (1, 11, 11), 2, (5, 5), runs=2)
    assert erf.shape == (11, 11) and (erf[3:8, 3:8] > 0).all() and erf[0, 0] == 0
    only = effective_receptive_field(nodes, (1, 11, 11), 0, (5, 5))
    assert (only > 0).sum() == 9


def test_norms_that_mix_a_sample_read_what_they_normalise() -> None:
    for layer, reads in ((GroupNorm(2, 4), 36), (LayerNorm((6, 6)), 36), (LocalResponseNorm(3), 1)):
        nodes = [Conv2d(1, 4, 1), layer]
        region = receptive_region(nodes, (1, 6, 6), 1, (2, 3))
        assert int(region.mask.sum()) == reads, layer
    shuffle = [Conv2d(1, 4, 1), PixelShuffle(2)]
    assert summarize(shuffle, (1, 3, 3)).output_shape == (1, 1, 6, 6)
    region = receptive_region(shuffle, (1, 3, 3), 1, (5, 2))
    assert np.argwhere(region.mask).tolist() == [[2, 1]]


def test_conv1d_graphs_run_in_torch() -> None:
    nodes = [Conv1d(1, 3, 3, padding=1), Node(Conv1d(1, 3, 1), (INPUT,)), Node(Concat(), (0, 1))]
    result = summarize(nodes, (1, 12))
    assert result.output_shape == (1, 6, 12)
    assert tuple(to_torch(nodes)(torch.zeros(1, 1, 12)).shape) == (1, 6, 12)
