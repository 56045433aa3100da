"""Where each output of a 1D convolution sits over its input: the centre of its window, against PyTorch."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from cnnviz.conv.shapes import window_centres

pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel:UserWarning")


@given(
    n=st.integers(1, 20),
    k=st.integers(1, 5),
    s=st.integers(1, 4),
    d=st.integers(1, 3),
    before=st.integers(0, 3),
    after=st.integers(0, 3),
)
@settings(max_examples=200, deadline=None, derandomize=True)
def test_centres_are_the_mean_position_torch_unfold_gathers(
    n: int, k: int, s: int, d: int, before: int, after: int
) -> None:
    if n + before + after < d * (k - 1) + 1:
        return
    # Padding cells get the positions they stand at (-1, -2, … before; n, n+1, … after).
    positions = torch.arange(-before, n + after, dtype=torch.float64)[None, None, None]
    windows = F.unfold(positions, (1, k), dilation=(1, d), stride=(1, s))[0]
    expected = windows.mean(dim=0).tolist()
    assert window_centres(n, k, s, (before, after), d) == pytest.approx(expected)
    if before == after:
        assert window_centres(n, k, s, before, d) == pytest.approx(expected)


@pytest.mark.parametrize(("k", "d"), [(3, 1), (4, 1), (2, 3), (5, 2)])
def test_same_padding_puts_output_i_over_input_i(k: int, d: int) -> None:
    # PyTorch's 'same' (odd total padding: the extra cell after): find where output i's first tap reads
    # by sliding an impulse, and check the centre that gives.
    n = 9
    first_tap = torch.zeros(1, 1, k, dtype=torch.float64)
    first_tap[0, 0, 0] = 1.0
    centres = window_centres(n, k, 1, "same", d)
    assert len(centres) == n
    for i in range(n):
        for j in range(n):
            impulse = torch.zeros(1, 1, n, dtype=torch.float64)
            impulse[0, 0, j] = 1.0
            if F.conv1d(impulse, first_tap, padding="same", dilation=d)[0, 0, i] != 0:
                assert centres[i] == j + d * (k - 1) / 2  # the window starts at j and spans d(k-1)+1
    assert centres == [i - (d * (k - 1)) // 2 + d * (k - 1) / 2 for i in range(n)]


def test_valid_stride_2_kernel_3() -> None:
    assert window_centres(12, 3, 2, "valid") == [1, 3, 5, 7, 9]
