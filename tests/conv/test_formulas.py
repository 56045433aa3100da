"""`cnnviz.conv.formulas` against PyTorch's output sizes, and the notes a student reads.

Each explanation's `result` must equal the matching `cnnviz.conv.shapes` function and the size PyTorch
produces (or both must refuse the configuration). The LaTeX must render: non-empty, balanced braces,
with the user's numbers in it. Notes must appear exactly when what they describe happens.
"""

from __future__ import annotations

import re

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from cnnviz.conv.formulas import (
    explain_conv_output_size,
    explain_conv_transpose_output_size,
    explain_pool_output_size,
)
from cnnviz.conv.shapes import conv_output_size, conv_transpose_output_size, pool_output_size, unread_cells
from cnnviz.errors import ConvConfigError

SETTINGS = settings(deadline=None, max_examples=150, derandomize=True, database=None)

pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel:UserWarning")


def check_latex(latex: str, numbers, result: int) -> None:
    assert isinstance(latex, str) and latex.strip()
    assert latex.startswith("\\begin{aligned}") and latex.endswith(f"&= {result}\\end{{aligned}}")
    depth = 0
    for ch in latex:
        depth += {"{": 1, "}": -1}.get(ch, 0)
        assert depth >= 0
    assert depth == 0
    found = {int(v) for v in re.findall(r"\d+", latex)}
    assert set(numbers) <= found


def torch_size(fn, *args, **kwargs) -> int | None:
    """The last dimension PyTorch produces, or None when it refuses the configuration."""
    try:
        return fn(*args, **kwargs).shape[-1]
    except (RuntimeError, ValueError):
        return None


# --------------------------------------------------------------------------------------------------
# Convolution
# --------------------------------------------------------------------------------------------------


@st.composite
def conv_cases(draw):
    n = draw(st.integers(1, 14))
    k = draw(st.integers(1, 5))
    s = draw(st.integers(1, 4))
    d = draw(st.integers(1, 3))
    kind = draw(st.sampled_from(["int", "sides", "same", "valid"]))
    if kind == "int":
        padding = draw(st.integers(0, 3))
    elif kind == "sides":
        padding = (draw(st.integers(0, 3)), draw(st.integers(0, 3)))
    else:
        padding = kind
    return n, k, s, padding, d


def torch_conv_size(n, k, s, padding, d) -> int | None:
    x = torch.zeros(1, 1, n)
    w = torch.zeros(1, 1, k)
    if isinstance(padding, tuple):
        return torch_size(lambda: F.conv1d(F.pad(x, padding), w, None, s, 0, d))
    return torch_size(F.conv1d, x, w, None, s, padding, d)


@SETTINGS
@given(case=conv_cases())
def test_conv_result_matches_pytorch(case):
    n, k, s, padding, d = case
    expected = torch_conv_size(n, k, s, padding, d)
    if expected is None or expected < 1:
        with pytest.raises(ConvConfigError):
            explain_conv_output_size(n, k, s, padding, d)
        return
    e = explain_conv_output_size(n, k, s, padding, d)
    assert e.result == expected == conv_output_size(n, k, s, padding, d)

    if padding == "same":
        pb = d * (k - 1) // 2  # only used for the numbers; the note's own split is checked below
        pads = (pb, d * (k - 1) - pb)
    elif padding == "valid":
        pads = (0, 0)
    elif isinstance(padding, tuple):
        pads = padding
    else:
        pads = (padding, padding)
    numerator = n + pads[0] + pads[1] - d * (k - 1) - 1
    assert numerator // s + 1 == expected
    check_latex(e.to_latex(), [n, k, s, d, *pads, numerator], expected)
    assert str(e) == f"Convolution output size: {expected}"


@SETTINGS
@given(case=conv_cases())
def test_unread_cells_note_appears_exactly_when_cells_are_left(case):
    n, k, s, padding, d = case
    size = torch_conv_size(n, k, s, padding, d)
    if size is None or size < 1:
        return
    e = explain_conv_output_size(n, k, s, padding, d)
    left = unread_cells(n, k, s, padding, d)
    notes = [note for note in e.notes if "unread" in note]
    assert len(notes) == (1 if left else 0)
    if left:
        assert f"last {left} input cell" in notes[0]

    # Independently: the last window PyTorch computes ends at this input cell ...
    before = (
        {"same": d * (k - 1) // 2, "valid": 0}.get(padding)
        if isinstance(padding, str)
        else (padding[0] if isinstance(padding, tuple) else padding)
    )
    last_end = (size - 1) * s - before + d * (k - 1)
    assert left == max(0, n - 1 - last_end)
    # ... and autograd agrees: that cell is read, every cell after it is not.
    if left:
        x = torch.ones(1, 1, n, requires_grad=True)
        pads = padding if isinstance(padding, tuple) else None
        xp = F.pad(x, pads) if pads else x
        y = F.conv1d(xp, torch.ones(1, 1, k), None, s, 0 if pads else padding, d)
        y.sum().backward()
        grad = x.grad[0, 0]
        assert torch.all(grad[n - left :] == 0)
        if last_end >= 0:  # (the last window may hold only left padding)
            assert grad[last_end] != 0


@settings(deadline=None, max_examples=60, derandomize=True, database=None)
@given(n=st.integers(1, 12), k=st.integers(1, 6), d=st.integers(1, 3))
def test_same_note_states_pytorchs_split(n, k, d):
    if n + d * (k - 1) < d * (k - 1) + 1:
        return
    e = explain_conv_output_size(n, k, 1, "same", d)
    assert e.result == n
    total = d * (k - 1)
    (note,) = [note for note in e.notes if "'same'" in note]
    if total % 2:
        match = re.search(r"puts (\d+) before and (\d+) after", note)
        assert match, note
        before, after = int(match.group(1)), int(match.group(2))
        assert before + after == total
        # PyTorch's own 'same' is exactly this (before, after) zero padding.
        x = torch.randn(1, 1, n, dtype=torch.float64)
        w = torch.randn(1, 1, k, dtype=torch.float64)
        torch.testing.assert_close(
            F.conv1d(x, w, padding="same", dilation=d), F.conv1d(F.pad(x, (before, after)), w, dilation=d)
        )
    else:
        assert f"= {total // 2} on each side" in note


def test_conv_explanation_by_hand():
    e = explain_conv_output_size(12, 3, 2)
    assert e.result == 5
    assert e.substituted == r"n_{out} = \left\lfloor \frac{12 + 2 \cdot 0 - 1(3-1) - 1}{2} \right\rfloor + 1"
    assert e.steps == (r"\left\lfloor \frac{9}{2} \right\rfloor + 1", "4 + 1", "5")
    assert any("last 1 input cell" in note for note in e.notes)
    assert explain_conv_output_size(12, 3, 1, dilation=3).notes[0].startswith("Dilation 3 spreads the 3 taps")


# --------------------------------------------------------------------------------------------------
# Transposed convolution
# --------------------------------------------------------------------------------------------------


@SETTINGS
@given(
    n=st.integers(1, 8),
    k=st.integers(1, 4),
    s=st.integers(1, 4),
    p=st.integers(0, 3),
    op=st.integers(0, 3),
    d=st.integers(1, 3),
)
def test_conv_transpose_result_matches_pytorch(n, k, s, p, op, d):
    expected = torch_size(
        F.conv_transpose1d, torch.zeros(1, 1, n), torch.zeros(1, 1, k), None, s, p, op, 1, d
    )
    if expected is None or expected < 1:
        with pytest.raises(ConvConfigError):
            explain_conv_transpose_output_size(n, k, s, p, op, d)
        return
    e = explain_conv_transpose_output_size(n, k, s, p, op, d)
    assert e.result == expected == conv_transpose_output_size(n, k, s, p, op, d)
    check_latex(e.to_latex(), [n, k, s, p, op, d], expected)
    op_notes = [note for note in e.notes if "output_padding" in note]
    assert len(op_notes) == (1 if op else 0)
    if op:
        # The note's claim: with op < s the result is one of the s input sizes a stride-s conv maps to n.
        back = conv_output_size(expected, k, s, p, d)
        assert (back == n) == (op < s)
        assert (f"which of the {s} input sizes" in op_notes[0]) == (op < s)


# --------------------------------------------------------------------------------------------------
# Pooling
# --------------------------------------------------------------------------------------------------


@SETTINGS
@given(
    n=st.integers(1, 12),
    k=st.integers(1, 4),
    s=st.none() | st.integers(1, 4),
    p=st.integers(0, 2),
    d=st.integers(1, 3),
    ceil=st.booleans(),
)
def test_pool_result_and_ceil_notes_match_pytorch(n, k, s, p, d, ceil):
    x = torch.zeros(1, 1, n)
    expected = torch_size(F.max_pool1d, x, k, s, p, d, ceil)
    if expected is None or expected < 1:
        with pytest.raises(ConvConfigError):
            explain_pool_output_size(n, k, s, p, d, ceil)
        return
    e = explain_pool_output_size(n, k, s, p, d, ceil)
    assert e.result == expected == pool_output_size(n, k, s, p, d, ceil)
    stride = k if s is None else s
    numerator = n + 2 * p - d * (k - 1) - 1
    check_latex(e.to_latex(), [n, k, stride, p, d], expected)

    # PyTorch drops a window exactly when its size is one less than the plain ceil formula.
    plain_ceil = -(-numerator // stride) + 1
    dropped = ceil and expected == plain_ceil - 1
    assert any("drops it" in note for note in e.notes) == dropped
    floor_size = torch_size(F.max_pool1d, x, k, s, p, d, False) or 0  # floor may find no window
    partial = ceil and expected > floor_size
    assert any("partial window" in note for note in e.notes) == partial
    assert any("No stride given" in note for note in e.notes) == (s is None)
    if not ceil:
        assert expected == numerator // stride + 1


def test_pool_dropped_window_by_hand():
    """Length 5, kernel 2, stride 2, padding 1, ceil: the 4th window would start in the right padding."""
    assert F.max_pool1d(torch.zeros(1, 1, 5), 2, 2, 1, ceil_mode=True).shape[-1] == 3
    e = explain_pool_output_size(5, 2, 2, 1, ceil_mode=True)
    assert e.result == 3
    assert e.steps[-2:] == ("4 - 1", "3")
    assert any("drops it" in note for note in e.notes)


@pytest.mark.parametrize(
    ("call", "argument"),
    [
        (lambda: explain_conv_output_size(2, 5), "kernel_size"),
        (lambda: explain_conv_output_size(8, 3, 2, "same"), "padding"),
        (lambda: explain_conv_output_size(8, 3, 0), "stride"),
        (lambda: explain_conv_output_size(8, 3, padding=-1), "padding"),
        (lambda: explain_conv_transpose_output_size(4, 3, 2, output_padding=2), "output_padding"),
        (lambda: explain_pool_output_size(8, 2, padding=2), "padding"),
    ],
)
def test_impossible_configurations_name_the_argument(call, argument):
    with pytest.raises(ConvConfigError) as info:
        call()
    assert info.value.argument == argument
