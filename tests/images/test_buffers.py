"""Recycled arrays: handed out again only once nothing refers to them, and filters stay exact through them."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

import hypothesis.strategies as st
import numpy as np
import pytest
from hypothesis import given

from cnnviz.images import buffers
from cnnviz.images.filtering import correlate_image, filter_image
from tests.images.test_filtering import (
    PADDING_MODES,
    colour01,
    images,
    kernels,
    tolerance,
    torch_result_or_error,
)
from tests.oracle import examples

BIG = (1024, 1024)  # float32: 4 MB, the smallest kept


@pytest.fixture(autouse=True)
def empty_pool() -> Iterator[None]:
    """Every test starts with nothing kept, and leaves nothing kept."""
    with buffers._lock:
        buffers._kept.clear()
    yield
    with buffers._lock:
        buffers._kept.clear()


@contextlib.contextmanager
def every_array_recycled() -> Iterator[None]:
    """Keep arrays of any size, so that the tiny images of property tests go through the pool."""
    saved = buffers.MIN_BYTES
    buffers.MIN_BYTES = 0
    try:
        yield
    finally:
        buffers.MIN_BYTES = saved


def test_an_array_nobody_holds_is_handed_out_again():
    first = buffers.empty(BIG, np.float32)
    address = first.__array_interface__["data"][0]
    del first
    again = buffers.empty(BIG, np.float32)
    assert again.__array_interface__["data"][0] == address
    assert again.shape == BIG and again.dtype == np.float32 and again.flags.c_contiguous


def test_an_array_still_held_is_not_handed_out():
    held = buffers.empty(BIG, np.float32)
    other = buffers.empty(BIG, np.float32)
    assert not np.shares_memory(held, other)


def test_an_array_seen_through_a_view_is_not_handed_out():
    view = buffers.empty(BIG, np.float32)[10:20, ::3]
    other = buffers.empty(BIG, np.float32)
    assert not np.shares_memory(view, other)
    del view
    assert buffers.kept_bytes() == 2 * 4 * BIG[0] * BIG[1]


def test_shape_and_dtype_must_match():
    first = buffers.empty(BIG, np.float32)
    address = first.__array_interface__["data"][0]
    del first
    for shape, dtype in ((BIG, np.int32), ((BIG[1], BIG[0] + 1), np.float32), ((*BIG, 1), np.float32)):
        assert buffers.empty(shape, dtype).__array_interface__["data"][0] != address


def test_small_arrays_are_left_to_numpy():
    small = buffers.empty((100, 100), np.float32)
    assert small.shape == (100, 100)
    assert buffers.kept_bytes() == 0


def test_the_pool_keeps_at_most_its_budget_and_forgets_the_oldest():
    side = int((buffers.MAX_BYTES // 3 // 4) ** 0.5)
    held = [buffers.empty((side, side + i), np.float32) for i in range(5)]
    assert buffers.kept_bytes() <= buffers.MAX_BYTES
    assert all(h.shape == (side, side + i) for i, h in enumerate(held))  # forgotten ones stay usable
    held[0][:] = 1.0
    assert float(held[0].sum()) == side * side


def test_threads_never_share_an_array():
    got: list[np.ndarray] = []
    barrier = threading.Barrier(8)

    def take() -> None:
        barrier.wait()
        got.append(buffers.empty(BIG, np.uint8))

    for _ in range(3):
        threads = [threading.Thread(target=take) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        addresses = {a.__array_interface__["data"][0] for a in got}
        assert len(addresses) == len(got)
        got.clear()


def test_a_held_photo_result_survives_later_filters():
    rng = np.random.default_rng(7)
    image = rng.random((1024, 1024, 3), dtype=np.float32)
    kernel = rng.standard_normal((3, 3))
    held = filter_image(image, kernel)
    expected_raw, expected_display = held.raw.copy(), held.display.copy()
    for _ in range(3):  # the same shapes: only arrays nobody holds may be reused
        other = filter_image(rng.random(image.shape, dtype=np.float32), kernel)
        assert not np.shares_memory(other.raw, held.raw)
        assert not np.shares_memory(other.display, held.display)
    np.testing.assert_array_equal(held.raw, expected_raw)
    np.testing.assert_array_equal(held.display, expected_display)


@examples(600)
@given(
    image=images(max_side=16),
    kernel=kernels(max_side=5),
    stride=st.integers(1, 3),
    dilation=st.integers(1, 2),
    padding=st.sampled_from(["valid", 0, 1, 2, (1, 2)]),
    padding_mode=st.sampled_from(PADDING_MODES),
    backend=st.sampled_from(["auto", "opencv", "opencv_phases", "opencv_strided", "opencv_bands"]),
)
def test_results_kept_across_calls_through_the_pool_stay_equal_to_torch(
    image, kernel, stride, dilation, padding, padding_mode, backend
):
    """Two results held while a third call runs, every array recycled: all three still equal PyTorch's."""
    geometry = {"stride": stride, "padding": padding, "padding_mode": padding_mode, "dilation": dilation}
    x01 = colour01(image)
    expected = torch_result_or_error(x01, kernel, **geometry)
    if expected is None or (backend == "opencv_bands" and (stride, dilation) != (1, 1)):
        return
    atol = tolerance(kernel, x01)
    with every_array_recycled():
        results = [correlate_image(image, kernel, backend=backend, **geometry)[0] for _ in range(2)]
        assert not np.shares_memory(results[0], results[1])
        correlate_image(image[::-1].copy(), kernel, backend=backend, **geometry)  # dropped at once
        results.append(correlate_image(image, kernel, backend=backend, **geometry)[0])
    for raw in results:
        np.testing.assert_allclose(raw, expected, rtol=0, atol=atol)
