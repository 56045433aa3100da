"""`cnnviz.conv.explain` against PyTorch: every output cell's taps, values, weights and total.

The oracle is PyTorch itself. The total of an explanation is compared with `torch.nn.Conv1d/Conv2d`
(or `F.pad` + a valid convolution for per-side padding, which torch modules do not take). Which cells a
window reads, and with which weight, comes from autograd: the Jacobian of a valid convolution with
respect to the padded input holds, for output cell y, exactly the weight each padded cell meets.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from cnnviz.conv.explain import explain_conv_output, outputs_reading_input, unread_input_reason
from cnnviz.conv.numbers import number_text
from cnnviz.errors import ConvConfigError

pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel:UserWarning")

MODES = ("zeros", "reflect", "replicate", "circular")
TORCH_PAD_MODE = {"zeros": "constant", "reflect": "reflect", "replicate": "replicate", "circular": "circular"}
SETTINGS = settings(deadline=None, max_examples=120, derandomize=True, database=None)


# --------------------------------------------------------------------------------------------------
# Random configurations that PyTorch accepts
# --------------------------------------------------------------------------------------------------


@st.composite
def conv_configs(draw, channels: bool = True):
    """A convolution PyTorch can run: geometry, padding in one of five spellings, a fitting input size.

    Returns a dict with the padding argument for cnnviz (`padding`), the resolved (before, after) pairs
    (`pads`), and the argument for a torch module (`module_padding`, None when torch has no spelling).
    """
    ndim = draw(st.sampled_from([1, 2]))
    groups = draw(st.integers(1, 3)) if channels else 1
    cin = groups * (draw(st.integers(1, 2)) if channels else 1)
    cout = groups * (draw(st.integers(1, 2)) if channels else 1)
    k = tuple(draw(st.integers(1, 3)) for _ in range(ndim))
    d = tuple(draw(st.integers(1, 3)) for _ in range(ndim))
    mode = draw(st.sampled_from(MODES))
    kind = draw(st.sampled_from(["int", "axes", "sides", "same", "valid"]))
    if kind == "same":
        stride = (1,) * ndim
    else:
        stride = tuple(draw(st.integers(1, 3)) for _ in range(ndim))
    if kind == "int":
        p = draw(st.integers(0, 3))
        pads = ((p, p),) * ndim
        padding, module_padding = p, p
    elif kind == "axes":
        ps = tuple(draw(st.integers(0, 3)) for _ in range(ndim))
        pads = tuple((p, p) for p in ps)
        padding, module_padding = ps, ps
    elif kind == "sides":
        pads = tuple((draw(st.integers(0, 3)), draw(st.integers(0, 3))) for _ in range(ndim))
        padding = pads[0] if ndim == 1 else pads
        module_padding = None
    elif kind == "same":
        # PyTorch's split of d(k-1) cells: the odd one goes after; checked against torch's 'same' below.
        pads = tuple(
            (dd * (kk - 1) // 2, dd * (kk - 1) - dd * (kk - 1) // 2) for kk, dd in zip(k, d, strict=True)
        )
        padding, module_padding = "same", "same"
    else:
        pads = ((0, 0),) * ndim
        padding, module_padding = "valid", "valid"
    sizes = []
    for kk, dd, (before, after) in zip(k, d, pads, strict=True):
        low = max(1, dd * (kk - 1) + 1 - before - after)
        if mode == "reflect":
            low = max(low, max(before, after) + 1)
        elif mode == "circular":
            low = max(low, max(before, after))
        sizes.append(draw(st.integers(low, low + 3)))
    return {
        "ndim": ndim,
        "groups": groups,
        "cin": cin,
        "cout": cout,
        "kernel": k,
        "dilation": d,
        "stride": stride,
        "mode": mode,
        "padding": padding,
        "pads": pads,
        "module_padding": module_padding,
        "sizes": tuple(sizes),
    }


def pad_torch(x: torch.Tensor, pads, mode: str) -> torch.Tensor:
    """F.pad with per-axis (before, after) pairs (F.pad lists the last axis first)."""
    flat = [v for pair in reversed(pads) for v in pair]
    if not any(flat):
        return x
    return F.pad(x, flat, mode=TORCH_PAD_MODE[mode])


def valid_conv(ndim: int):
    return F.conv1d if ndim == 1 else F.conv2d


def torch_output(cfg, x: np.ndarray, w: np.ndarray, b: np.ndarray | None) -> np.ndarray:
    """PyTorch's output: an nn.ConvNd module when torch can spell the padding, else F.pad + conv."""
    xt, wt = torch.from_numpy(x), torch.from_numpy(w)
    bt = None if b is None else torch.from_numpy(b)
    if cfg["module_padding"] is None:
        xp = pad_torch(xt, cfg["pads"], cfg["mode"])
        y = valid_conv(cfg["ndim"])(xp, wt, bt, cfg["stride"], 0, cfg["dilation"], cfg["groups"])
        return y.numpy()
    cls = torch.nn.Conv1d if cfg["ndim"] == 1 else torch.nn.Conv2d
    module = cls(
        cfg["cin"],
        cfg["cout"],
        cfg["kernel"],
        stride=cfg["stride"],
        padding=cfg["module_padding"],
        dilation=cfg["dilation"],
        groups=cfg["groups"],
        bias=b is not None,
        padding_mode=cfg["mode"],
    ).double()
    with torch.no_grad():
        module.weight.copy_(wt)
        if b is not None:
            module.bias.copy_(bt)
        return module(xt).numpy()


def window_jacobian(cfg, w: np.ndarray, padded_shape) -> np.ndarray:
    """d y / d x_padded of a valid convolution: (C_out, *out, C_in, *padded) for one image."""
    conv = valid_conv(cfg["ndim"])
    wt = torch.from_numpy(w)

    def f(xp):
        return conv(xp[None], wt, None, cfg["stride"], 0, cfg["dilation"], cfg["groups"])[0]

    return torch.autograd.functional.jacobian(
        f, torch.zeros(padded_shape, dtype=torch.float64), vectorize=True
    ).numpy()


# --------------------------------------------------------------------------------------------------
# Every output cell of random convolutions
# --------------------------------------------------------------------------------------------------


@SETTINGS
@given(
    cfg=conv_configs(),
    batch=st.integers(1, 2),
    use_bias=st.booleans(),
    batched=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_every_output_cell_matches_pytorch(cfg, batch, use_bias, batched, seed):
    rng = np.random.default_rng(seed)
    ndim, groups, cin, cout = cfg["ndim"], cfg["groups"], cfg["cin"], cfg["cout"]
    x = rng.normal(size=(batch, cin, *cfg["sizes"]))
    w = rng.normal(size=(cout, cin // groups, *cfg["kernel"]))
    b = rng.normal(size=cout) if use_bias else None
    if not batched:
        x = x[:1]
    batch_index = int(rng.integers(0, x.shape[0]))
    y = torch_output(cfg, x, w, b)
    x_padded = pad_torch(torch.from_numpy(x), cfg["pads"], cfg["mode"]).numpy()
    jac = window_jacobian(cfg, w, x_padded.shape[1:])
    befores = tuple(before for before, _ in cfg["pads"])
    span = tuple(dd * (kk - 1) + 1 for kk, dd in zip(cfg["kernel"], cfg["dilation"], strict=True))
    n_taps = (cin // groups) * math.prod(cfg["kernel"])
    scale = 1.0 + np.abs(y).max()

    for oc in range(cout):
        for pos in itertools.product(*(range(o) for o in y.shape[2:])):
            e = explain_conv_output(
                x if batched else x[0],
                w,
                pos if ndim == 2 else pos[0],
                out_channel=oc,
                bias=b,
                stride=cfg["stride"],
                padding=cfg["padding"],
                dilation=cfg["dilation"],
                groups=groups,
                padding_mode=cfg["mode"],
                batch_index=batch_index,
            )
            assert e.position == pos and e.out_channel == oc
            assert abs(e.total - y[(batch_index, oc, *pos)]) <= 1e-10 * scale

            # The window: exactly the padded cells autograd says y reads, each with its weight.
            assert len(e.taps) == n_taps
            read = jac[(oc, *pos)]
            expected = {
                (idx[0], tuple(q - bf for q, bf in zip(idx[1:], befores, strict=True))): read[idx]
                for idx in zip(*np.nonzero(read), strict=True)
            }
            got = {(t.channel, t.position): t.weight for t in e.taps}
            assert len(got) == n_taps  # no cell is read twice
            assert got.keys() == expected.keys()
            for key, weight in got.items():
                assert weight == pytest.approx(expected[key], abs=1e-12)

            for t in e.taps:
                inside = all(0 <= q < n for q, n in zip(t.position, cfg["sizes"], strict=True))
                assert t.is_padding == (not inside)
                padded_value = x_padded[
                    (batch_index, t.channel, *(q + bf for q, bf in zip(t.position, befores, strict=True)))
                ]
                assert t.value == padded_value
                if cfg["mode"] == "zeros" and not inside:
                    assert t.source is None and t.value == 0.0
                else:
                    assert t.source is not None
                    assert t.value == x[(batch_index, t.channel, *t.source)]
                assert t.product == t.value * t.weight
                assert (
                    t.weight
                    == w[(oc, t.channel - (oc // (cout // groups)) * (cin // groups), *t.kernel_index)]
                )

            # Dilation gaps: the cells of the window's bounding box that no tap reads.
            tap_cells = {t.position for t in e.taps}
            lows = [min(p[a] for p in tap_cells) for a in range(ndim)]
            box = set(itertools.product(*(range(lo, lo + s) for lo, s in zip(lows, span, strict=True))))
            assert tap_cells <= box
            gaps = e.gap_positions()
            assert len(gaps) == len(set(gaps)) == math.prod(span) - math.prod(cfg["kernel"])
            assert set(gaps) == box - tap_cells
            assert e.equation().endswith(f"= {number_text(e.total, fractions=False)}")


@SETTINGS
@given(cfg=conv_configs(channels=False))
def test_outputs_reading_input_agrees_with_autograd(cfg):
    """With an all-ones kernel, d y[o] / d x[i] counts the taps of window o that read cell i."""
    ndim = cfg["ndim"]
    w = torch.ones((1, 1, *cfg["kernel"]), dtype=torch.float64)

    def f(x):
        xp = pad_torch(x[None, None], cfg["pads"], cfg["mode"])
        return valid_conv(ndim)(xp, w, None, cfg["stride"], 0, cfg["dilation"])[0, 0]

    jac = torch.autograd.functional.jacobian(
        f, torch.ones(cfg["sizes"], dtype=torch.float64), vectorize=True
    ).numpy()
    out_shape = jac.shape[:ndim]
    for cell in itertools.product(*(range(n) for n in cfg["sizes"])):
        hits = outputs_reading_input(
            cfg["sizes"] if ndim == 2 else cfg["sizes"][0],
            cell if ndim == 2 else cell[0],
            cfg["kernel"],
            cfg["stride"],
            cfg["padding"],
            cfg["dilation"],
            cfg["mode"],
        )
        got = Counter(o for o, _ in hits)
        column = jac[(Ellipsis, *cell)]
        expected = {o: int(column[o]) for o in itertools.product(*(range(n) for n in out_shape)) if column[o]}
        assert dict(got) == expected
        assert len(set(hits)) == len(hits)
        assert all(0 <= a < k for _, ka in hits for a, k in zip(ka, cfg["kernel"], strict=True))
        # Each (output, kernel index) pair names a tap of that output's window that reads this cell.
        for o, ka in hits:
            e = explain_conv_output(
                np.ones((1, *cfg["sizes"])),
                np.ones((1, 1, *cfg["kernel"])),
                o,
                stride=cfg["stride"],
                padding=cfg["padding"],
                dilation=cfg["dilation"],
                padding_mode=cfg["mode"],
            )
            assert {t.kernel_index: t.source for t in e.taps}[ka] == cell


# --------------------------------------------------------------------------------------------------
# Hand-checked cases and errors
# --------------------------------------------------------------------------------------------------


def test_zero_padding_corner_of_a_3x3_input():
    """Output (0, 0) of a 2x2 kernel with padding 1 reads three padding zeros and x[0, 0]."""
    x = np.arange(9.0).reshape(1, 3, 3)
    w = np.array([[[[0.0, 1.0], [2.0, 3.0]]]])
    e = explain_conv_output(x, w, (0, 0), padding=1)
    assert [t.position for t in e.taps] == [(-1, -1), (-1, 0), (0, -1), (0, 0)]
    assert [t.is_padding for t in e.taps] == [True, True, True, False]
    assert [t.value for t in e.taps] == [0.0, 0.0, 0.0, 0.0]
    assert e.total == 0.0
    assert explain_conv_output(x, w, (1, 1), padding=1).total == 0 * 0 + 1 * 1 + 3 * 2 + 4 * 3


def test_reflect_padding_reads_the_mirrored_cell():
    x = np.array([[10.0, 20.0, 30.0, 40.0]])
    e = explain_conv_output(x, np.ones((1, 1, 3)), 0, padding=2, padding_mode="reflect")
    # Padded row: 30 20 | 10 20 30 40 | 30 20
    assert [t.position for t in e.taps] == [(-2,), (-1,), (0,)]
    assert [t.source for t in e.taps] == [(2,), (1,), (0,)]
    assert [t.value for t in e.taps] == [30.0, 20.0, 10.0]
    assert e.total == 60.0


def test_dilated_window_gaps():
    x = np.arange(25.0).reshape(1, 5, 5)
    e = explain_conv_output(x, np.ones((1, 1, 2, 2)), (0, 0), dilation=(2, 3))
    assert {t.position for t in e.taps} == {(0, 0), (0, 3), (2, 0), (2, 3)}
    assert sorted(e.gap_positions()) == sorted(
        (r, c) for r in range(3) for c in range(4) if (r, c) not in {(0, 0), (0, 3), (2, 0), (2, 3)}
    )
    assert e.total == 0 + 3 + 10 + 13


def test_groups_read_only_their_channels():
    x = np.arange(4 * 5, dtype=float).reshape(4, 5)
    w = np.ones((6, 2, 1))
    for oc in range(6):
        e = explain_conv_output(x, w, 2, out_channel=oc, groups=2)
        assert {t.channel for t in e.taps} == ({0, 1} if oc < 3 else {2, 3})


def test_equation_shows_bias_and_negative_numbers():
    e = explain_conv_output(np.array([[1.0, 2.0]]), np.array([[[0.5, -1.0]]]), 0, bias=np.array([0.1]))
    assert e.equation() == "1×0.5 + 2×(-1) + 0.1 = -1.4"


def test_an_average_kernel_is_written_as_the_fraction_it_is_so_the_sum_adds_up():
    # 5.2×0.33 + 5.4×0.33 + 10.1×0.33 would be 6.83, but the output is 6.9.
    e = explain_conv_output(np.array([[5.2, 5.4, 10.1]]), np.full((1, 1, 3), 1 / 3), 0)
    assert e.equation() == "5.2×(1/3) + 5.4×(1/3) + 10.1×(1/3) = 6.9"
    assert e.total == pytest.approx((5.2 + 5.4 + 10.1) / 3)


def test_integers_are_written_as_integers():
    e = explain_conv_output(np.array([[8.0, 3.0]]), np.array([[[2.0, -1.0]]]), 0)
    assert e.equation() == "8×2 + 3×(-1) = 13"


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"position": (3,)}, "position"),
        ({"position": (-1,)}, "position"),
        ({"position": (0, 0)}, "position"),
        ({"position": 0, "out_channel": 2}, "out_channel"),
        ({"position": 0, "batch_index": 1}, "batch_index"),
        ({"position": 0, "groups": 2}, "in_channels"),
        ({"position": 0, "padding_mode": "mirror", "padding": 1}, "padding_mode"),
        ({"position": 0, "padding_mode": "reflect", "padding": 5}, "padding"),
    ],
)
def test_explain_rejects_bad_arguments(kwargs, argument):
    x = np.zeros((1, 5))
    w = np.zeros((2, 1, 3))
    with pytest.raises(ConvConfigError) as info:
        explain_conv_output(x, w, **kwargs)
    assert info.value.argument == argument


def test_outputs_reading_input_rejects_a_cell_outside_the_input():
    with pytest.raises(ConvConfigError) as info:
        outputs_reading_input(5, 5, 3)
    assert info.value.argument == "position"
    with pytest.raises(ConvConfigError):
        outputs_reading_input((4, 4), (1, 4), 3)


@given(
    n=st.integers(1, 12),
    k=st.integers(1, 4),
    s=st.integers(1, 5),
    d=st.integers(1, 3),
    p=st.integers(0, 2),
    mode=st.sampled_from(["zeros", "reflect", "replicate", "circular"]),
    data=st.data(),
)
@settings(max_examples=200, deadline=None, derandomize=True)
def test_unread_reason_matches_torch_and_names_the_stride_only_past_the_span(
    n: int, k: int, s: int, d: int, p: int, mode: str, data: st.DataObject
) -> None:
    span = d * (k - 1) + 1
    if n + 2 * p < span or (mode == "reflect" and p >= n) or (mode == "circular" and p > n):
        return
    i = data.draw(st.integers(0, n - 1))
    # PyTorch's oracle: an input cell is read iff the output's gradient reaches it.
    x = torch.zeros(1, 1, n, dtype=torch.float64, requires_grad=True)
    xp = F.pad(x, (p, p), mode="constant" if mode == "zeros" else mode)
    F.conv1d(xp, torch.ones(1, 1, k, dtype=torch.float64), stride=s, dilation=d).sum().backward()
    read = bool(x.grad[0, 0, i] != 0)
    reason = unread_input_reason(n, i, k, s, p, d, mode, axis_names=("position",))
    assert (reason is None) == read
    if reason is not None and "larger than the kernel's span" in reason:
        assert s > span


def test_unread_reason_on_both_sides_of_stride_equal_span() -> None:
    # k=3, d=1: span 3. Stride 3 tiles 9 cells exactly: every cell read. Stride 4 leaves 3 and 7 between.
    assert all(unread_input_reason(9, i, 3, 3) is None for i in range(9))
    assert unread_input_reason(9, 3, 3, 4, axis_names=("position",)) == (
        "along the positions the stride (4) is larger than the kernel's span d(k-1)+1 = 3, "
        "so the windows leave gaps between them"
    )
    # Dilation 2, k=2: span 3; stride 3 = span reads cells 0, 2, 3, 5 of 6 and skips 1 and 4 in the gaps.
    reason = unread_input_reason(6, 1, 2, 3, 0, 2, axis_names=("position",))
    assert reason is not None and "dilation 2" in reason and "larger" not in reason
