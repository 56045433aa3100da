"""The bundled and generated data sets: shapes, balance, determinism, the pixel shuffle, no network."""

from __future__ import annotations

import json
import subprocess
import sys
import threading

import numpy as np
import pytest

from cnnviz.errors import ConvConfigError
from cnnviz.training.datasets import (
    DATASETS,
    load_dataset,
    make_digits,
    make_mnist1d,
    make_shapes,
    permute_dataset,
    pixel_permutation,
)
from tests.conftest import REPO_ROOT

EXPECTED = {  # name: (train, test, sample shape, classes)
    "digits": (1438, 359, (1, 8, 8), 10),
    "mnist1d": (4000, 1000, (1, 40), 10),
    "shapes": (2000, 800, (1, 28, 28), 4),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_dataset_shapes_dtypes_and_labels(name):
    d = load_dataset(name)
    n_train, n_test, shape, k = EXPECTED[name]
    assert d.x_train.shape == (n_train, *shape) and d.x_test.shape == (n_test, *shape)
    assert d.y_train.shape == (n_train,) and d.y_test.shape == (n_test,)
    assert d.x_train.dtype == d.x_test.dtype == np.float32
    assert d.y_train.dtype == d.y_test.dtype == np.int64
    assert d.input_shape == shape == DATASETS[name].input_shape
    assert d.num_classes == k and d.class_names == DATASETS[name].class_names
    assert set(np.unique(d.y_train)) == set(np.unique(d.y_test)) == set(range(k))
    assert np.isfinite(d.x_train).all() and np.isfinite(d.x_test).all()
    assert not d.permuted and d.permutation is None


def test_digits_are_sklearns_images_scaled_to_unit_range_and_split_without_overlap():
    from sklearn.datasets import load_digits

    d = load_dataset("digits")
    assert d.x_train.min() == 0.0 and d.x_train.max() == 1.0
    # Every sklearn image lands in exactly one split, once.
    ours = np.concatenate([d.x_train, d.x_test]).reshape(-1, 64) * 16
    theirs = load_digits().data
    key = lambda a: sorted(map(bytes, np.rint(a).astype(np.uint8)))  # noqa: E731
    assert key(ours) == key(theirs)


def test_shapes_values_and_exact_balance():
    d = load_dataset("shapes")
    assert d.x_train.min() >= 0.0 and d.x_train.max() <= 1.0
    assert np.bincount(d.y_train).tolist() == [500] * 4
    assert np.bincount(d.y_test).tolist() == [200] * 4
    # Each image holds a shape brighter than its background: the top pixels stand out from the median.
    top = np.sort(d.x_train.reshape(len(d.x_train), -1), axis=1)[:, -20:].mean(1)
    median = np.median(d.x_train.reshape(len(d.x_train), -1), axis=1)
    assert (top - median > 0.25).mean() > 0.98


def test_shape_classes_differ_where_they_should():
    """Crosses leave the corners of their box dark; squares fill them: cross images are darker overall."""
    d = make_shapes(n_train_per_class=200, n_test_per_class=1, seed=3)
    mean_by_class = [d.x_train[d.y_train == c].mean() for c in range(4)]
    circle, square, triangle, cross = mean_by_class
    assert cross < min(circle, square)
    assert triangle < square


def test_digits_split_is_stratified():
    d = load_dataset("digits")
    per_class = np.bincount(d.y_test)
    totals = per_class + np.bincount(d.y_train)
    assert np.all(np.abs(per_class - 0.2 * totals) <= 0.5 + 1e-9)


def test_mnist1d_classes_are_balanced_in_both_splits():
    d = load_dataset("mnist1d")
    for y in (d.y_train, d.y_test):
        share = np.bincount(y, minlength=10) / len(y)
        assert share.min() > 0.08 and share.max() < 0.12


def test_mnist1d_is_centred_and_scaled_like_the_reference_generator():
    d = load_dataset("mnist1d")
    everything = np.concatenate([d.x_train, d.x_test])
    assert abs(float(everything.mean())) < 1e-3
    assert float(everything.std()) == pytest.approx(1.0, abs=1e-3)


def test_generation_is_deterministic_and_seeded():
    a, b = make_shapes(50, 10, seed=1), make_shapes(50, 10, seed=1)
    assert np.array_equal(a.x_train, b.x_train) and np.array_equal(a.y_test, b.y_test)
    assert not np.array_equal(a.x_train, make_shapes(50, 10, seed=2).x_train)
    m1, m2 = make_mnist1d(num_samples=500, seed=5), make_mnist1d(num_samples=500, seed=5)
    assert np.array_equal(m1.x_train, m2.x_train) and np.array_equal(m1.y_train, m2.y_train)
    assert not np.array_equal(m1.x_train, make_mnist1d(num_samples=500, seed=6).x_train)
    assert np.array_equal(make_digits().x_test, load_dataset("digits").x_test)


def test_mnist1d_generation_leaves_global_random_state_alone():
    import random

    np.random.seed(123)
    random.seed(123)
    expected = (np.random.rand(3), random.random())
    np.random.seed(123)
    random.seed(123)
    make_mnist1d(num_samples=100, seed=9)
    assert np.array_equal(np.random.rand(3), expected[0]) and random.random() == expected[1]


def test_cached_arrays_are_shared_and_read_only():
    d = load_dataset("digits")
    assert load_dataset("digits") is d
    for arr in (d.x_train, d.y_train, d.x_test, d.y_test):
        assert not arr.flags.writeable
        with pytest.raises(ValueError):
            arr[0] = 0


def test_concurrent_first_loads_generate_once_and_share_one_object():
    results: list[object] = []
    barrier = threading.Barrier(6)

    def load() -> None:
        barrier.wait()
        results.append(load_dataset("shapes", permute_pixels=True, permutation_seed=4242))

    threads = [threading.Thread(target=load) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(results) == 6 and all(r is results[0] for r in results)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_pixel_shuffle_is_one_fixed_permutation_for_every_sample(name):
    d, p = load_dataset(name), load_dataset(name, permute_pixels=True)
    assert p.permuted and p is load_dataset(name, permute_pixels=True)
    n_pos = int(np.prod(d.input_shape[1:]))
    perm = p.permutation
    assert sorted(perm.tolist()) == list(range(n_pos)) and not np.array_equal(perm, np.arange(n_pos))
    flat_d = d.x_train.reshape(len(d.x_train), d.input_shape[0], -1)
    flat_p = p.x_train.reshape(len(p.x_train), p.input_shape[0], -1)
    assert np.array_equal(flat_p, flat_d[:, :, perm])  # the same shuffle for every image
    assert np.array_equal(
        p.x_test.reshape(len(p.x_test), 1, -1), d.x_test.reshape(len(d.x_test), 1, -1)[:, :, perm]
    )
    assert np.array_equal(p.y_train, d.y_train) and np.array_equal(p.y_test, d.y_test)
    assert np.array_equal(p.unpermute(p.x_test), d.x_test)
    assert np.array_equal(p.prepare(d.x_test[7]), p.x_test[7])
    assert np.array_equal(p.prepare(d.x_test[:5]), p.x_test[:5])
    # Sorted pixel values per image are unchanged: a shuffle, not a new image.
    assert np.array_equal(np.sort(flat_p[:20], axis=-1), np.sort(flat_d[:20], axis=-1))


def test_permutation_is_seeded_and_not_applied_twice():
    assert np.array_equal(pixel_permutation(64, 3), pixel_permutation(64, 3))
    assert not np.array_equal(pixel_permutation(64, 3), pixel_permutation(64, 4))
    with pytest.raises(ConvConfigError, match="already permuted"):
        permute_dataset(load_dataset("digits", permute_pixels=True))


def test_prepare_rejects_wrong_shapes_and_unknown_names():
    d = load_dataset("digits")
    with pytest.raises(ConvConfigError, match=r"\(1, 8, 8\)") as err:
        d.prepare(np.zeros((8, 8)))
    assert err.value.argument == "x"
    with pytest.raises(ConvConfigError, match="unknown data set") as err:
        load_dataset("cifar10")
    assert err.value.argument == "dataset"
    with pytest.raises(ConvConfigError, match="12x12"):
        make_shapes(size=8)


NO_NETWORK_PROBE = """
import json, socket

def refuse(*args, **kwargs):
    raise OSError("network access attempted")

class NoSocket(socket.socket):
    def __init__(self, *args, **kwargs):
        raise OSError("network access attempted")

socket.socket = NoSocket
socket.create_connection = refuse
socket.getaddrinfo = refuse

from cnnviz.training.datasets import load_dataset, make_digits, make_mnist1d, make_shapes
sizes = {}
for name, make in (("digits", make_digits), ("mnist1d", make_mnist1d), ("shapes", make_shapes)):
    sizes[name] = [len(make().y_train), len(load_dataset(name, permute_pixels=True).y_test)]
print(json.dumps(sizes))
"""


def test_generation_needs_no_network():
    """In a fresh interpreter whose sockets all refuse, every data set still builds."""
    result = subprocess.run(
        [sys.executable, "-c", NO_NETWORK_PROBE],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    sizes = json.loads(result.stdout.strip().splitlines()[-1])
    assert sizes == {"digits": [1438, 359], "mnist1d": [4000, 1000], "shapes": [2000, 800]}
