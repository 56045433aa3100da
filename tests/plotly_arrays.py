"""Read arrays back from a Plotly figure as the browser receives it (plotly >= 6 sends typed arrays)."""

from __future__ import annotations

import base64

import numpy as np


def decode_array(z: object) -> np.ndarray:
    """A base64 typed array ({'bdata', 'dtype', 'shape'}) or a plain list, as a numpy array."""
    if isinstance(z, dict) and "bdata" in z:
        arr = np.frombuffer(base64.b64decode(z["bdata"]), dtype=np.dtype(z["dtype"]))
        shape = z.get("shape")
        if shape is None:
            return arr
        dims = [int(n) for n in shape.split(",")] if isinstance(shape, str) else list(shape)
        return arr.reshape(dims)
    return np.asarray(z)
