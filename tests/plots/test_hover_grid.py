"""The hover grid's links against PyTorch: each output's outlined cells and line make its value."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import assume, given
from hypothesis import strategies as st

from cnnviz import ConvConfigError, conv2d_walkthrough
from cnnviz.conv.numbers import number_text
from cnnviz.plots.hover_grid import MAX_HOVER_READS, cell_colours, conv_hover_spec, pool_hover_spec, reads
from cnnviz.ui.hover_grid import picked_from
from tests.oracle import examples

MODES = ("zeros", "reflect", "replicate", "circular")


def _made(make, *args):  # noqa: ANN001, ANN002, ANN202
    """make(*args), or this example dropped when the settings are impossible (PyTorch refuses them too)."""
    try:
        return make(*args)
    except ConvConfigError:
        assume(False)


def _torch_output(
    x: np.ndarray, k: np.ndarray, bias: float, stride, padding, dilation, mode: str
) -> np.ndarray:
    t = torch.tensor(x, dtype=torch.float64)[None, None]
    if mode != "zeros":
        (pt, pb), (pl, pr) = padding
        t = F.pad(t, (pl, pr, pt, pb), mode=mode)
        padding = 0
    else:
        (pt, _), (pl, _) = padding
        padding = (pt, pl)
    out = F.conv2d(t, torch.tensor(k, dtype=torch.float64)[None, None], torch.tensor([bias], dtype=torch.float64),
                   stride=stride, padding=padding, dilation=dilation)  # fmt: skip
    return out[0, 0].numpy()


@st.composite
def layers(draw):  # noqa: ANN201
    h, w = draw(st.integers(1, 8)), draw(st.integers(1, 8))
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    pad = draw(st.integers(0, 2)), draw(st.integers(0, 2))
    stride = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    dilation = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    mode = draw(st.sampled_from(MODES))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    x = rng.integers(-9, 10, (h, w)).astype(float)
    k = rng.integers(-3, 4, (kh, kw)).astype(float)
    bias = float(draw(st.integers(-2, 2)))
    return x, k, bias, stride, pad, dilation, mode


@given(layers())
@examples(300)
def test_every_output_link_reads_the_window_torch_reads(layer) -> None:  # noqa: ANN001
    x, k, bias, stride, pad, dilation, mode = layer
    w = _made(conv2d_walkthrough, x, k, bias, stride, pad, dilation, mode)
    spec = conv_hover_spec(w)
    assume(spec is not None)
    expected = _torch_output(x, k, bias, stride, ((pad[0],) * 2, (pad[1],) * 2), dilation, mode)
    assert w.output.shape == expected.shape
    by_source = {tuple(link["o"]): link for link in spec["links"]}
    panels = {p["id"]: p for p in spec["panels"]}
    assert (panels["input"]["rows"], panels["input"]["cols"]) == w.padded.shape
    for (r, c), want in np.ndenumerate(expected):
        link = by_source[("output", r, c)]
        inputs = [list(cell) for cell in reads(spec, link) if cell[0] == "input"]
        kernel = [["kernel", i, j] for i in range(k.shape[0]) for j in range(k.shape[1])]
        assert link["a"] == ["kernel"] and len(inputs) == len(link["r"]) // 3 == k.size
        # The outlined input cells times the kernel, tap by tap, plus the bias: torch's output.
        total = bias + sum(
            w.padded[a, b] * k[i, j] for (_, a, b), (_, i, j) in zip(inputs, kernel, strict=True)
        )
        assert total == pytest.approx(want)
        # Stride and dilation place the window: its first tap at (r*s, c*s) of the padded grid.
        assert inputs[0][1:] == [r * stride[0], c * stride[1]]
        assert link["t"].startswith(f"output[{r}, {c}] = ")
        assert link["t"].endswith(f"= {number_text(want, 4, fractions=False)}")
    # The reverse links are the forward ones turned around.
    readers = {}
    for (r, c), _ in np.ndenumerate(expected):
        for cell in reads(spec, by_source[("output", r, c)]):
            readers.setdefault(cell[1:], set()).add(("output", r, c))
    for (a, b), _ in np.ndenumerate(w.padded):
        assert set(reads(spec, by_source[("input", a, b)])) == readers.get((a, b), set())


def test_a_padded_cell_is_named_and_greyed() -> None:
    w = conv2d_walkthrough(np.arange(9.0).reshape(3, 3), np.ones((3, 3)), 0.0, 1, 1)
    spec = conv_hover_spec(w, pinned=(1, 2))
    by_source = {tuple(link["o"]): link for link in spec["links"]}
    assert by_source[("input", 0, 0)]["t"] == "padding[-1, -1] = 0, read by 1 output: (0, 0)"
    assert by_source[("input", 2, 2)]["t"].startswith("input[1, 1] = 4, read by 9 outputs")
    assert (
        by_source[("output", 1, 1)]["t"]
        == "output[1, 1] = 0×1 + 1×1 + 2×1 + 3×1 + 4×1 + 5×1 + 6×1 + 7×1 + 8×1 = 36"
    )
    assert spec["pinned"] == ["output", 1, 2]
    inputs = spec["panels"][0]
    assert inputs["title"] == "input, padded" and (inputs["row0"], inputs["col0"]) == (-1, -1)
    assert inputs["fill"][0][0] == inputs["fill"][4][4] != inputs["fill"][2][2]


def test_one_d_links_name_positions() -> None:
    w = conv2d_walkthrough(np.array([[1.0, 2.0, 3.0, 4.0]]), np.array([[1.0, -1.0]]))
    spec = conv_hover_spec(w, one_d=True)
    texts = [link["t"] for link in spec["links"]]
    assert "output[2] = 3×1 + 4×(-1) = -1" in texts
    assert "input[0] = 1, read by 1 output: (0)" in texts


def test_a_layer_too_large_to_link_gives_none() -> None:
    side = 40
    w = conv2d_walkthrough(np.zeros((side, side)), np.ones((5, 5)))
    assert (side - 4) ** 2 * 2 * 25 > MAX_HOVER_READS
    assert conv_hover_spec(w) is None


@given(st.lists(st.floats(-50, 50), min_size=1, max_size=40))
@examples(100)
def test_cell_ink_reads_on_its_fill(values: list[float]) -> None:
    fill, ink = cell_colours(np.array([values]))
    for f, i in zip(fill[0], ink[0], strict=True):
        rgb = [int(v) / 255 for v in f[4:-1].split(",")]
        lin = [v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4 for v in rgb]
        lum = 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]
        other = 0.0 if i == "#000000" else 1.0
        contrast = (max(lum, other) + 0.05) / (min(lum, other) + 0.05)
        assert contrast >= 4.5


PANELS = [{"id": "input", "rows": 4, "cols": 5}, {"id": "output", "rows": 2, "cols": 3}]


@pytest.mark.parametrize(
    "value",
    [None, "output", [], ["output", 1], ["output", 1, 2, 3], ["nope", 0, 0], ["output", 2, 0], ["output", -1, 0],
     ["output", 0, 3], ["output", 0.5, 0], ["output", True, 0], ["output", "1", 0], [3, 0, 0], {"p": "output"}],
)  # fmt: skip
def test_a_tampered_click_is_ignored(value: object) -> None:
    assert picked_from(value, PANELS) is None


def test_a_click_inside_a_panel_is_taken() -> None:
    assert picked_from(["output", 1, 2], PANELS) == ("output", 1, 2)
    assert picked_from(("input", 3, 4), PANELS) == ("input", 3, 4)


@st.composite
def poolings(draw):  # noqa: ANN201
    h, w = draw(st.integers(1, 8)), draw(st.integers(1, 8))
    k = draw(st.integers(1, 4))
    kind = draw(st.sampled_from(("max", "avg")))
    stride = draw(st.integers(1, 3))
    padding = draw(st.integers(0, k // 2))
    dilation = draw(st.integers(1, 2)) if kind == "max" else 1
    ceil, include = draw(st.booleans()), draw(st.booleans())
    x = np.random.default_rng(draw(st.integers(0, 2**16))).integers(-9, 10, (h, w)).astype(float)
    return x, kind, k, stride, padding, dilation, ceil, include


@given(poolings())
@examples(300)
def test_every_pooled_cell_link_makes_torch_s_value(pooling) -> None:  # noqa: ANN001
    from cnnviz.topics.pooling import pool_walkthrough

    x, kind, k, stride, padding, dilation, ceil, include = pooling
    w = _made(pool_walkthrough, x, kind, k, stride, padding, dilation, ceil, include)
    t = torch.tensor(x)[None, None]
    if kind == "max":
        want = F.max_pool2d(t, k, stride, padding, dilation, ceil)[0, 0].numpy()
    else:
        want = F.avg_pool2d(t, k, stride, padding, ceil, include)[0, 0].numpy()
    spec = pool_hover_spec(w)
    assume(spec is not None)
    padded = np.pad(x, padding, constant_values=np.nan)
    by_source = {tuple(link["o"]): link for link in spec["links"]}
    for (r, c), value in np.ndenumerate(want):
        link = by_source[("output", r, c)]
        cells = [padded[a, b] for _, a, b in reads(spec, link)]
        real = [v for v in cells if not np.isnan(v)]
        if kind == "max" and not real:
            assert value == -np.inf and "only padding" in link["t"]
        elif kind == "max":
            assert max(real) == value
            wr, wc = (int(v) for v in w.winners[r, c])
            assert link["t"].endswith(f"= {number_text(value, 4, fractions=False)}, at input[{wr}, {wc}]")
            assert x[wr, wc] == value
        else:
            divisor = int(link["t"].rsplit("/ ", 1)[1].split(" ")[0])
            assert sum(real) / divisor == pytest.approx(value)
            assert divisor == (len(cells) if include else len(real))


def test_max_pooling_marks_each_window_s_winner() -> None:
    from cnnviz.topics.pooling import pool_walkthrough

    x = np.array([[1.0, 5.0, 2.0, 0.0], [3.0, 4.0, 9.0, 1.0]])
    spec = pool_hover_spec(pool_walkthrough(x, "max", 2))
    by_source = {tuple(link["o"]): link for link in spec["links"]}
    assert by_source[("output", 0, 0)]["s"] == [0, 0, 1]  # 5 at input (0, 1)
    assert by_source[("output", 0, 1)]["s"] == [0, 1, 2]  # 9 at input (1, 2)
    assert by_source[("output", 0, 1)]["t"] == "output[0, 1] = max(2, 0, 9, 1) = 9, at input[1, 2]"
    # Input and output share one colour scale: a pooled 9 is drawn as the input's 9.
    inputs, outputs = spec["panels"]
    assert outputs["fill"][0][1] == inputs["fill"][1][2]


@st.composite
def transposed_layers(draw):  # noqa: ANN201
    h, w = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    k = draw(st.integers(1, 4))
    stride, dilation = draw(st.integers(1, 3)), draw(st.integers(1, 2))
    padding = draw(st.integers(0, 3))
    output_padding = draw(st.integers(0, max(stride, dilation) - 1))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    return (
        rng.integers(-5, 6, (h, w)).astype(float),
        rng.integers(-3, 4, (k, k)).astype(float),
        stride,
        padding,
        output_padding,
        dilation,
    )


@given(transposed_layers())
@examples(300)
def test_every_transposed_output_link_sums_to_torch_s_value(layer) -> None:  # noqa: ANN001
    from cnnviz.plots.hover_grid import transposed_hover_spec
    from cnnviz.topics.transposed import transposed_view

    x, k, stride, padding, output_padding, dilation = layer
    view = _made(transposed_view, x, k, stride, padding, output_padding, dilation)
    want = F.conv_transpose2d(torch.tensor(x)[None, None], torch.tensor(k)[None, None], None, stride, padding,
                              output_padding, 1, dilation)[0, 0].numpy()  # fmt: skip
    spec = transposed_hover_spec(view)
    assume(spec is not None)
    by_source = {tuple(link["o"]): link for link in spec["links"]}
    for (r, c), value in np.ndenumerate(want):
        cells = reads(spec, by_source[("output", r, c)])
        inputs, taps = cells[0::2], cells[1::2]
        assert all(p == "input" for p, _, _ in inputs) and all(p == "kernel" for p, _, _ in taps)
        assert sum(
            x[i, j] * k[a, b] for (_, i, j), (_, a, b) in zip(inputs, taps, strict=True)
        ) == pytest.approx(value)
        assert by_source[("output", r, c)]["t"].split(" = ")[-1].split(":")[0] in (
            number_text(value, 4, fractions=False),
            "0",
        )
    # Each input cell's stamp lands on the outputs whose links name it.
    for (i, j), _ in np.ndenumerate(x):
        lands = {cell for cell in reads(spec, by_source[("input", i, j)])}
        named = {
            ("output", r, c)
            for (r, c), _ in np.ndenumerate(want)
            if ("input", i, j) in reads(spec, by_source[("output", r, c)])
        }
        assert lands == named


@st.composite
def channel_layers(draw):  # noqa: ANN201
    groups = draw(st.sampled_from((1, 2)))
    c_in, c_out = groups * draw(st.integers(1, 2)), groups * draw(st.integers(1, 2))
    h, w, k = draw(st.integers(1, 5)), draw(st.integers(1, 5)), draw(st.integers(1, 3))
    stride, padding = draw(st.integers(1, 2)), draw(st.integers(0, 1))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    x = rng.integers(-5, 6, (c_in, h, w)).astype(float)
    weight = rng.integers(-3, 4, (c_out, c_in // groups, k, k)).astype(float)
    bias = rng.integers(-2, 3, c_out).astype(float) if draw(st.booleans()) else None
    return x, weight, bias, stride, padding, groups


@given(channel_layers())
@examples(200)
def test_every_channel_link_reads_the_cells_torch_sums(layer) -> None:  # noqa: ANN001
    from cnnviz.plots.hover_grid import channels_hover_spec
    from cnnviz.topics.channels import explain_channels

    x, weight, bias, stride, padding, groups = layer
    view = _made(explain_channels, x, weight, bias, stride, padding, groups)
    want = F.conv2d(torch.tensor(x)[None], torch.tensor(weight), None if bias is None else torch.tensor(bias),
                    stride, padding, 1, groups)[0].numpy()  # fmt: skip
    spec = channels_hover_spec(view)
    assume(spec is not None)
    per_group = weight.shape[1]
    by_source = {tuple(link["o"]): link for link in spec["links"]}
    for (o, r, c), value in np.ndenumerate(want):
        link = by_source[(f"y{o}", r, c)]
        total = 0.0 if bias is None else bias[o]
        for p, a, b in reads(spec, link):
            ch = int(p[1:])
            assert p.startswith("x") and ch // per_group == o // (weight.shape[0] // groups)
            total += (
                x[ch, a, b]
                * weight[o, ch % per_group, a - (r * stride - padding), b - (c * stride - padding)]
            )
        assert total == pytest.approx(value)
        assert f"= {number_text(value, 4, fractions=False)}" in link["t"].splitlines()[-1]
