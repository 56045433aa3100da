"""Numpy arrays as Plotly's typed-array specs: what every prebuilt figure sends instead of JSON lists."""

from __future__ import annotations

import base64

import numpy as np

__all__ = ["typed_array", "typed_array_values"]


def typed_array(values: np.ndarray) -> dict:
    """A numpy array as Plotly's base64 typed-array spec (what plotly.py >= 6 sends), float32 for floats."""
    arr = np.ascontiguousarray(values, dtype=np.float32 if values.dtype.kind == "f" else values.dtype)
    spec = {"dtype": arr.dtype.str[1:], "bdata": base64.b64encode(arr).decode()}
    if arr.ndim > 1:
        spec["shape"] = ", ".join(str(n) for n in arr.shape)
    return spec


def typed_array_values(spec: dict) -> np.ndarray:
    """The array behind a typed-array spec (`typed_array`'s inverse), in its shape if it has one.

    Raises KeyError, TypeError or ValueError for a spec that is not one."""
    flat = np.frombuffer(base64.b64decode(spec["bdata"]), dtype=np.dtype(spec["dtype"]))
    shape = spec.get("shape")
    return flat if shape is None else flat.reshape(tuple(int(n) for n in str(shape).split(",")))
