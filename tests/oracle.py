"""PyTorch as the reference: run one configuration through torch and report what it did.

Every op test sends the same configuration to cnnviz and to the helpers here, then compares the two
`Outcome`s: both raise, or both succeed with the same shape, dtype and values. Arguments use cnnviz's
conventions (numpy arrays; padding may be per side), translated here into what PyTorch understands:

* int, per-axis, 'same' and 'valid' padding go to `F.conv1d/conv2d` unchanged (zeros) or to an
  `nn.Conv1d/Conv2d` built with that `padding_mode`;
* per-side padding ((before, after) per axis) is done the way PyTorch does an uneven 'same': `F.pad`
  adds the uneven part, the conv pads the symmetric part (zeros), or `F.pad(mode=padding_mode)` pads
  everything for the other modes.

Shape oracles run the op on zeros tensors with one channel, so a shape is what PyTorch really returns.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from hypothesis import HealthCheck, settings

from cnnviz.errors import ConvConfigError

torch.set_num_threads(1)

# --------------------------------------------------------------------------------------------------
# Hypothesis settings: reproducible by default; for a longer hunt, random examples and more of them:
#   CNNVIZ_HYPOTHESIS_PROFILE=explore CNNVIZ_HYPOTHESIS_SCALE=5 python -m pytest tests -n 2
# --------------------------------------------------------------------------------------------------

settings.register_profile(
    "cnnviz-ci",
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "cnnviz-explore",
    deadline=None,
    derandomize=False,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
_PROFILE = "cnnviz-" + os.environ.get("CNNVIZ_HYPOTHESIS_PROFILE", "ci")
_SCALE = max(1, int(os.environ.get("CNNVIZ_HYPOTHESIS_SCALE", "1")))


def examples(n: int) -> settings:
    """Hypothesis settings for a test that runs `n` examples (times the scale) under the chosen profile."""
    return settings(settings.get_profile(_PROFILE), max_examples=n * _SCALE)


# --------------------------------------------------------------------------------------------------
# Outcomes
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """What a call did: its value, or the exception it raised."""

    value: Any = None
    error: BaseException | None = None

    @property
    def raised(self) -> bool:
        return self.error is not None


def torch_outcome(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Outcome:
    """Run a PyTorch call; any exception counts as PyTorch refusing the configuration."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return Outcome(value=fn(*args, **kwargs))
    except Exception as error:  # RuntimeError, ValueError, TypeError...: all mean "refused"
        return Outcome(error=error)


def cnnviz_outcome(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Outcome:
    """Run a cnnviz call; only ConvConfigError counts as refusing, anything else fails the test."""
    try:
        return Outcome(value=fn(*args, **kwargs))
    except ConvConfigError as error:
        return Outcome(error=error)


def assert_same_verdict(ours: Outcome, theirs: Outcome, config: object) -> None:
    """cnnviz raises exactly when PyTorch does."""
    if theirs.raised and not ours.raised:
        raise AssertionError(f"PyTorch refuses {config!r} ({theirs.error!r}) but cnnviz returned a result")
    if ours.raised and not theirs.raised:
        raise AssertionError(f"cnnviz refuses {config!r} ({ours.error}) but PyTorch accepts it")


def assert_readable(error: BaseException) -> None:
    """A ConvConfigError names its argument, and the message mentions it."""
    assert isinstance(error, ConvConfigError), repr(error)
    assert error.argument, f"no argument named for: {error}"
    message = str(error).lower()
    spoken = error.argument.lower()
    assert spoken in message or spoken.replace("_", " ") in message, (error.argument, str(error))


def assert_close(ours: np.ndarray, theirs: np.ndarray) -> None:
    """Same shape, same dtype, values within the tolerance of that dtype."""
    assert isinstance(ours, np.ndarray), type(ours)
    assert ours.shape == theirs.shape, (ours.shape, theirs.shape)
    assert ours.dtype == theirs.dtype, (ours.dtype, theirs.dtype)
    if ours.dtype == np.float64:
        np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-10)
    else:
        np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-4)


# --------------------------------------------------------------------------------------------------
# Conversions
# --------------------------------------------------------------------------------------------------


def to_torch(a: np.ndarray | None) -> torch.Tensor | None:
    return None if a is None else torch.from_numpy(np.ascontiguousarray(a))


def to_numpy(t: torch.Tensor) -> np.ndarray:
    return t.detach().cpu().numpy()


def per_side_pairs(padding: object, ndim: int) -> tuple[tuple[int, int], ...] | None:
    """((before, after), ...) if `padding` is written per side (PyTorch's conv cannot take it), else None."""
    if isinstance(padding, str) or not isinstance(padding, (tuple, list)):
        return None
    items = list(padding)
    if ndim == 1 and len(items) == 2 and not any(isinstance(v, (tuple, list)) for v in items):
        return ((items[0], items[1]),)
    if not any(isinstance(v, (tuple, list)) for v in items):
        return None
    if len(items) == 1:
        items = items * ndim
    return tuple((v[0], v[1]) if isinstance(v, (tuple, list)) else (v, v) for v in items)


def _flat_pad(pairs: Sequence[tuple[int, int]]) -> list[int]:
    """F.pad's order: last axis first, (before, after) for each."""
    out: list[int] = []
    for before, after in reversed(pairs):
        out += [before, after]
    return out


# --------------------------------------------------------------------------------------------------
# Ops through PyTorch
# --------------------------------------------------------------------------------------------------

_CONV = {1: F.conv1d, 2: F.conv2d}
_CONV_LAYER = {1: torch.nn.Conv1d, 2: torch.nn.Conv2d}
_CONV_TRANSPOSE = {1: F.conv_transpose1d, 2: F.conv_transpose2d}
_MAX_POOL = {1: F.max_pool1d, 2: F.max_pool2d}


def _torch_conv(
    x: torch.Tensor,
    w: torch.Tensor,
    b: torch.Tensor | None,
    stride: Any,
    padding: Any,
    dilation: Any,
    groups: int,
    padding_mode: str,
) -> torch.Tensor:
    ndim = w.dim() - 2
    conv = _CONV[ndim]
    pairs = per_side_pairs(padding, ndim)
    if pairs is None:
        if padding_mode == "zeros":
            return conv(x, w, b, stride, padding, dilation, groups)
        layer = _CONV_LAYER[ndim](
            in_channels=x.shape[-ndim - 1],
            out_channels=w.shape[0],
            kernel_size=tuple(w.shape[2:]),
            stride=stride,
            padding=padding,
            dilation=dilation,
            groups=groups,
            bias=b is not None,
            padding_mode=padding_mode,
            dtype=x.dtype,
        )
        # Assigned, not copied: copy_ would broadcast a wrongly shaped weight instead of refusing it.
        layer.weight = torch.nn.Parameter(w.clone(), requires_grad=False)
        if b is not None:
            layer.bias = torch.nn.Parameter(b.clone(), requires_grad=False)
        return layer(x)
    if 0 in x.shape[-ndim:]:
        # PyTorch's conv refuses an empty spatial axis ("Only zero batch or zero channel inputs are
        # supported"); F.pad would hide that by padding it first, so the conv sees the input as given.
        return conv(x, w, b, stride, 0, dilation, groups)
    if padding_mode == "zeros":
        symmetric = tuple(min(before, after) for before, after in pairs)
        uneven = [(before - m, after - m) for (before, after), m in zip(pairs, symmetric, strict=True)]
        return conv(F.pad(x, _flat_pad(uneven)), w, b, stride, symmetric, dilation, groups)
    return conv(F.pad(x, _flat_pad(pairs), mode=padding_mode), w, b, stride, 0, dilation, groups)


def conv(
    x: np.ndarray,
    w: np.ndarray,
    b: np.ndarray | None = None,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    groups: int = 1,
    padding_mode: str = "zeros",
) -> Outcome:
    """conv1d/conv2d (picked from the weight's rank) in PyTorch; value as a numpy array."""

    def run() -> np.ndarray:
        with torch.no_grad():
            return to_numpy(
                _torch_conv(
                    to_torch(x), to_torch(w), to_torch(b), stride, padding, dilation, groups, padding_mode
                )
            )

    return torch_outcome(run)


def conv_transpose(
    x: np.ndarray,
    w: np.ndarray,
    b: np.ndarray | None = None,
    stride: Any = 1,
    padding: Any = 0,
    output_padding: Any = 0,
    groups: int = 1,
    dilation: Any = 1,
) -> Outcome:
    """conv_transpose1d/2d (picked from the weight's rank) in PyTorch."""
    op = _CONV_TRANSPOSE[w.ndim - 2]
    return torch_outcome(
        lambda: to_numpy(
            op(to_torch(x), to_torch(w), to_torch(b), stride, padding, output_padding, groups, dilation)
        )
    )


def max_pool(
    x: np.ndarray,
    ndim: int,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
) -> Outcome:
    """max_pool1d/2d in PyTorch, as (values, indices, values computed without return_indices).

    PyTorch's max_pool1d has a separate kernel when no indices are asked for, so both are returned.
    """
    op = _MAX_POOL[ndim]

    def run() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        t = to_torch(x)
        values, indices = op(t, kernel_size, stride, padding, dilation, ceil_mode, return_indices=True)
        plain = op(t, kernel_size, stride, padding, dilation, ceil_mode, return_indices=False)
        return to_numpy(values), to_numpy(indices), to_numpy(plain)

    return torch_outcome(run)


def avg_pool(
    x: np.ndarray,
    ndim: int,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> Outcome:
    """avg_pool1d/2d in PyTorch (divisor_override exists for 2D only)."""
    t = to_torch(x)
    if ndim == 1:
        return torch_outcome(
            lambda: to_numpy(F.avg_pool1d(t, kernel_size, stride, padding, ceil_mode, count_include_pad))
        )
    return torch_outcome(
        lambda: to_numpy(
            F.avg_pool2d(t, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override)
        )
    )


# --------------------------------------------------------------------------------------------------
# Shapes through PyTorch (ops on zeros, one channel)
# --------------------------------------------------------------------------------------------------


def _zeros(*shape: int) -> torch.Tensor:
    return torch.zeros(shape, dtype=torch.float64)


def conv_shape(
    size: Sequence[int], kernel: Sequence[int], stride: Any = 1, padding: Any = 0, dilation: Any = 1
) -> Outcome:
    """Spatial output shape of a conv1d/conv2d run by PyTorch (len(size) axes)."""

    def run() -> tuple[int, ...]:
        y = _torch_conv(
            _zeros(1, 1, *size), _zeros(1, 1, *kernel), None, stride, padding, dilation, 1, "zeros"
        )
        return tuple(y.shape[2:])

    return torch_outcome(run)


def conv_transpose_shape(
    size: Sequence[int],
    kernel: Sequence[int],
    stride: Any = 1,
    padding: Any = 0,
    output_padding: Any = 0,
    dilation: Any = 1,
) -> Outcome:
    """Spatial output shape of a conv_transpose1d/2d run by PyTorch."""
    op = _CONV_TRANSPOSE[len(size)]
    return torch_outcome(
        lambda: tuple(
            op(
                _zeros(1, 1, *size), _zeros(1, 1, *kernel), None, stride, padding, output_padding, 1, dilation
            ).shape[2:]
        )
    )


def pool_shape(
    kind: str,
    size: Sequence[int],
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
) -> Outcome:
    """Spatial output shape of PyTorch's max or avg pooling ('max' / 'avg'); avg has no dilation."""
    ndim = len(size)

    def run() -> tuple[int, ...]:
        x = _zeros(1, 1, *size)
        if kind == "max":
            y = _MAX_POOL[ndim](x, kernel_size, stride, padding, dilation, ceil_mode)
        elif ndim == 1:
            y = F.avg_pool1d(x, kernel_size, stride, padding, ceil_mode)
        else:
            y = F.avg_pool2d(x, kernel_size, stride, padding, ceil_mode)
        return tuple(y.shape[2:])

    return torch_outcome(run)
