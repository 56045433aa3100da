"""The live-training figures, built from made-up metrics, filters and confusion matrices."""

from __future__ import annotations

import numpy as np
import pytest

from cnnviz.plots_training import (
    accuracy_figure,
    confusion_figure,
    curves_figure,
    filters_figure,
    loss_figure,
)
from cnnviz.training import Metrics


def _metrics(n: int = 5) -> list[Metrics]:
    return [
        Metrics(
            step=10 * i,
            epoch=0.5 * i,
            train_loss=2.0 / (i + 1),
            train_acc=0.1 + 0.15 * i,
            test_loss=2.2 / (i + 1),
            test_acc=0.1 + 0.12 * i,
            lr=1e-2,
            seconds=0.3 * i,
        )
        for i in range(n)
    ]


def test_loss_curves_have_train_and_test_against_epochs() -> None:
    metrics = _metrics()
    fig = loss_figure(metrics)
    assert [t.name for t in fig.data] == ["train", "test"]
    assert list(fig.data[0].x) == [m.epoch for m in metrics]
    assert list(fig.data[0].y) == [m.train_loss for m in metrics]
    assert list(fig.data[1].y) == [m.test_loss for m in metrics]
    assert fig.layout.title.text.startswith("Loss")


def test_accuracy_curves_are_percentages() -> None:
    metrics = _metrics()
    fig = accuracy_figure(metrics)
    assert list(fig.data[1].y) == pytest.approx([100 * m.test_acc for m in metrics])
    assert tuple(fig.layout.yaxis.range) == (0, 100)


def test_curves_accept_no_metrics_and_reject_unknown_kinds() -> None:
    assert len(curves_figure([], "loss").data) == 2
    with pytest.raises(ValueError, match="kind"):
        curves_figure(_metrics(), "speed")


def test_many_points_draw_lines_without_markers() -> None:
    assert loss_figure(_metrics(100)).data[0].mode == "lines"
    assert loss_figure(_metrics(3)).data[0].mode == "lines+markers"


def test_2d_filters_become_a_grid_on_one_symmetric_scale() -> None:
    rng = np.random.default_rng(0)
    w = rng.normal(size=(8, 3, 3, 3)).astype(np.float32)
    fig = filters_figure(w, columns=4)
    assert len(fig.data) == 8
    limit = float(np.abs(w[:, 0]).max())
    for i, trace in enumerate(fig.data):
        np.testing.assert_allclose(np.asarray(trace.z), w[i, 0], rtol=1e-6)
        assert trace.zmin == pytest.approx(-limit) and trace.zmax == pytest.approx(limit)
    assert [t.showscale for t in fig.data].count(True) == 1
    assert fig.data[5].xaxis == "x6"  # row 2, column 2 of a 2 x 4 grid
    assert fig.layout.yaxis6.scaleanchor == "x6"  # square cells


def test_1d_filters_are_one_row_each_and_the_count_is_capped() -> None:
    w = np.arange(20 * 1 * 3, dtype=np.float32).reshape(20, 1, 3)
    fig = filters_figure(w, max_filters=16)
    assert len(fig.data) == 16
    assert np.asarray(fig.data[2].z).shape == (1, 3)


def test_mlp_units_show_as_images() -> None:
    w = np.zeros((512, 1, 8, 8), dtype=np.float32)
    w[0, 0, 2, 3] = 1.0
    fig = filters_figure(w)
    assert len(fig.data) == 16
    assert np.asarray(fig.data[0].z)[2, 3] == 1.0
    assert fig.data[1].zmax == pytest.approx(1.0)


def test_filters_reject_bad_shapes() -> None:
    with pytest.raises(ValueError, match="shape"):
        filters_figure(np.zeros((4, 4)))
    with pytest.raises(ValueError, match="no filters"):
        filters_figure(np.zeros((0, 1, 3, 3)))


def test_confusion_matrix_counts_and_class_names() -> None:
    counts = np.array([[5, 1, 0], [0, 6, 2], [1, 0, 7]])
    fig = confusion_figure(counts, ["circle", "square", "triangle"])
    (trace,) = fig.data
    np.testing.assert_array_equal(np.asarray(trace.z), counts)
    assert list(trace.x) == ["circle", "square", "triangle"] == list(trace.y)
    assert trace.texttemplate == "%{z}"
    assert fig.layout.yaxis.autorange == "reversed"
    assert list(confusion_figure(counts).data[0].x) == ["0", "1", "2"]


def test_confusion_matrix_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="square"):
        confusion_figure(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="class names"):
        confusion_figure(np.zeros((2, 2)), ["a"])
