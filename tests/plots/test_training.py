"""The live-training figures, built from made-up metrics, filters and confusion matrices."""

from __future__ import annotations

import numpy as np
import pytest

from cnnviz.plots.training import (
    MAX_POINTS,
    accuracy_figure,
    compare_figure,
    confusion_figure,
    curves_figure,
    feature_maps_figure,
    filters_figure,
    loss_figure,
    probabilities_figure,
    samples_figure,
    thinned,
)
from cnnviz.training.trainer import Metrics


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


def test_a_long_history_is_drawn_thinned_evenly_keeping_its_ends() -> None:
    metrics = _metrics(20_000)  # a loaded run's many points: the figure stays a few hundred kilobytes
    for fig in (loss_figure(metrics), accuracy_figure(metrics), compare_figure([("run", metrics)])):
        xs = list(fig.data[0].x)
        assert len(xs) == MAX_POINTS
        assert xs[0] == metrics[0].epoch and xs[-1] == metrics[-1].epoch and xs == sorted(xs)
    gaps = np.diff([m.step for m in thinned(metrics)])
    assert gaps.max() - gaps.min() <= 10  # evenly spaced (steps 10 apart, rounding moves one)
    assert thinned(_metrics(7)) == _metrics(7)


def _tiles(fig) -> dict[int, np.ndarray]:
    """Each filter's tile of the one heatmap, found through the (filter, row, column) each cell carries."""
    z = np.asarray(fig.data[0].z, dtype=np.float64)
    where = np.asarray(fig.data[0].customdata)
    tiles = {}
    for f in sorted(set(where[..., 0].ravel()) - {-1}):
        rows, cols = np.nonzero(where[..., 0] == f)
        tile = z[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]
        assert (where[rows, cols, 1] == rows - rows.min()).all() or (where[rows, cols, 1] == 0).all()
        assert (where[rows, cols, 2] == cols - cols.min()).all()
        tiles[int(f)] = tile
    return tiles


def test_2d_filters_become_one_tiled_heatmap_on_one_symmetric_scale() -> None:
    rng = np.random.default_rng(0)
    w = rng.normal(size=(8, 3, 3, 3)).astype(np.float32)
    fig = filters_figure(w, columns=4)
    assert len(fig.data) == 1  # one trace, one pair of axes: the browser draws it several times faster
    limit = float(np.abs(w[:, 0]).max())
    assert fig.data[0].zmin == pytest.approx(-limit) and fig.data[0].zmax == pytest.approx(limit)
    assert fig.data[0].showscale
    tiles = _tiles(fig)
    assert sorted(tiles) == list(range(8))
    for i, tile in tiles.items():
        np.testing.assert_allclose(tile, w[i, 0], rtol=1e-6)
    z = np.asarray(fig.data[0].z, dtype=np.float64)
    assert np.isnan(z[np.asarray(fig.data[0].customdata)[..., 0] == -1]).all()  # gaps are blank
    assert fig.layout.yaxis.scaleanchor == "x"  # square cells
    assert [a.text for a in fig.layout.annotations] == [str(i) for i in range(8)]


def test_1d_filters_are_one_band_each_and_the_count_is_capped() -> None:
    w = np.arange(20 * 1 * 3, dtype=np.float32).reshape(20, 1, 3)
    fig = filters_figure(w, max_filters=16)
    tiles = _tiles(fig)
    assert sorted(tiles) == list(range(16))
    for i, tile in tiles.items():
        assert (tile == w[i, 0]).all() and tile.shape[1] == 3  # every row of the band is the filter


def test_1d_filters_fill_a_band_not_a_strip_one_weight_high() -> None:
    fig = filters_figure(np.ones((8, 1, 5), dtype=np.float32), cell_px=150)
    assert fig.layout.yaxis.scaleanchor is None  # a 1 x 5 filter is not drawn 5 times wider than high
    assert _tiles(fig)[0].shape[0] >= 4  # the band, against one row of gap for the title above it
    assert fig.layout.height >= 60 + 150


def test_tile_titles_get_room_in_proportion_to_their_type() -> None:
    images = [np.zeros((1, 28, 28), dtype=np.float32)] * 8
    small = np.asarray(samples_figure(images, ["t"] * 8, "worst", cell_px=110, title_size=10).data[0].z)
    large = np.asarray(samples_figure(images, ["t"] * 8, "worst", cell_px=110, title_size=20).data[0].z)
    gap = small.shape[0] - 2 * 28  # two rows of tiles and the NaN rows between them
    assert gap == round(28 * 14 / 110) and np.isnan(small[28 : 28 + gap]).all()
    assert large.shape[0] - 2 * 28 == round(28 * 28 / 110) > gap


def test_mlp_units_show_as_images() -> None:
    w = np.zeros((512, 1, 8, 8), dtype=np.float32)
    w[0, 0, 2, 3] = 1.0
    fig = filters_figure(w)
    tiles = _tiles(fig)
    assert len(tiles) == 16
    assert tiles[0][2, 3] == 1.0 and tiles[1].shape == (8, 8)
    assert fig.data[0].zmax == pytest.approx(1.0)


def test_filters_reject_bad_shapes() -> None:
    with pytest.raises(ValueError, match="shape"):
        filters_figure(np.zeros((4, 4)))
    with pytest.raises(ValueError, match="no filters"):
        filters_figure(np.zeros((0, 1, 3, 3)))


def test_confusion_matrix_counts_and_class_names() -> None:
    counts = np.array([[5, 1, 0], [0, 6, 2], [1, 0, 7]])
    fig = confusion_figure(counts, ["circle", "square", "triangle"])
    trace, *ink = fig.data  # the colours, then the counts in black and in white
    np.testing.assert_array_equal(np.asarray(trace.z), counts)
    assert list(trace.x) == ["circle", "square", "triangle"] == list(trace.y)
    assert [layer.texttemplate for layer in ink] == ["%{z}", "%{z}"]
    assert fig.layout.yaxis.autorange == "reversed"
    assert list(confusion_figure(counts).data[0].x) == ["0", "1", "2"]


def test_confusion_matrix_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="square"):
        confusion_figure(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="class names"):
        confusion_figure(np.zeros((2, 2)), ["a"])


# ---------------------------------------------------------------------------------------------------
# Feature maps, samples, probabilities, runs compared
# ---------------------------------------------------------------------------------------------------


def _z(fig) -> np.ndarray:
    return np.asarray(fig.data[0].z, dtype=np.float64)


def test_feature_maps_tile_the_channels_into_one_heatmap_with_gaps() -> None:
    values = np.random.default_rng(0).random((10, 4, 5)).astype(np.float32)
    fig = feature_maps_figure(values, "layer 0", max_channels=6, columns=4)
    assert len(fig.data) == 1  # one trace, however many channels
    z = _z(fig)
    assert z.shape == (2 * 4 + 1, 4 * 5 + 3)  # 6 channels: 2 rows of 4 tiles, one NaN gap between
    for ch in range(6):
        r, c = (ch // 4) * 5, (ch % 4) * 6
        assert np.allclose(z[r : r + 4, c : c + 5], values[ch])
    assert np.isnan(z[4]).all() and np.isnan(z[:, 5]).all()
    assert np.isnan(z[5:, 12:]).all()  # the two empty tiles of the second row
    assert [a.text for a in fig.layout.annotations] == [f"ch {i}" for i in range(6)]
    assert fig.data[0].zmin == 0.0 and fig.data[0].zmax == pytest.approx(values[:].max())


def test_1d_feature_maps_are_one_heatmap_of_channels_by_positions() -> None:
    values = np.arange(15 * 9, dtype=np.float32).reshape(15, 9) - 20
    fig = feature_maps_figure(values, "layer 0")
    assert np.array_equal(_z(fig), values) and fig.data[0].zmin == -20
    with pytest.raises(ValueError, match="feature maps"):
        feature_maps_figure(np.zeros((2, 3, 4, 5)), "bad")


def test_samples_figure_draws_images_in_grey_and_signals_as_lines() -> None:
    images = [np.full((1, 3, 3), v, dtype=np.float32) for v in (0.0, 0.5, 1.0)]
    fig = samples_figure(images, ["a", "b", "c"], "worst", columns=2)
    assert len(fig.data) == 1 and _z(fig).shape == (7, 7)
    assert [a.text for a in fig.layout.annotations] == ["a", "b", "c"]
    assert (fig.data[0].zmin, fig.data[0].zmax) == (0.0, 1.0)
    lines = samples_figure([np.arange(40, dtype=np.float32)[None]] * 2, ["x", "y"], "signals")
    assert [t.type for t in lines.data] == ["scatter", "scatter"] and list(lines.data[1].y) == list(range(40))
    with pytest.raises(ValueError, match="titles"):
        samples_figure(images, ["a"], "bad")
    with pytest.raises(ValueError, match="no samples"):
        samples_figure([], [], "bad")


def test_probabilities_are_percent_bars_with_the_winner_highlighted() -> None:
    fig = probabilities_figure(np.array([0.1, 0.7, 0.2]), ["a", "b", "c"], "Prediction")
    bar = fig.data[0]
    assert list(bar.x) == pytest.approx([10, 70, 20]) and list(bar.y) == ["a", "b", "c"]
    assert bar.marker.color[1] != bar.marker.color[0] == bar.marker.color[2]
    with pytest.raises(ValueError, match="class names"):
        probabilities_figure(np.array([0.5, 0.5]), ["a", "b", "c"], "bad")


def test_compare_overlays_each_runs_test_accuracy_and_loss() -> None:
    a, b = _metrics(4), _metrics(6)
    fig = compare_figure([("run a", a), ("run b", b)])
    assert len(fig.data) == 4
    acc_a, loss_a, acc_b, loss_b = fig.data
    assert list(acc_b.y) == pytest.approx([100 * m.test_acc for m in b])
    assert list(loss_a.y) == [m.test_loss for m in a]
    assert acc_a.line.color == loss_a.line.color != acc_b.line.color
    assert [t.showlegend for t in fig.data] == [None, False, None, False]
