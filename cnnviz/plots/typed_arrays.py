"""Numpy arrays as Plotly's typed-array specs: what every prebuilt figure sends instead of JSON lists."""

from __future__ import annotations

import base64

import numpy as np

__all__ = ["typed_array"]


def typed_array(values: np.ndarray) -> dict:
    """A numpy array as Plotly's base64 typed-array spec (what plotly.py >= 6 sends), float32 for floats."""
    arr = np.ascontiguousarray(values, dtype=np.float32 if values.dtype.kind == "f" else values.dtype)
    spec = {"dtype": arr.dtype.str[1:], "bdata": base64.b64encode(arr).decode()}
    if arr.ndim > 1:
        spec["shape"] = ", ".join(str(n) for n in arr.shape)
    return spec
