"""Runs side by side (records, table rows) and the trainer's per-sample view, checked against PyTorch."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from cnnviz.training.compare import comparison_rows, record_run
from cnnviz.training.models import build_model
from cnnviz.training.trainer import Trainer, TrainingError, recommended_config


@pytest.fixture(scope="module")
def trained() -> Trainer:
    torch.set_num_threads(1)
    trainer = Trainer(recommended_config("digits", "convnet", epochs=2))
    trainer.run_epoch()
    return trainer


@pytest.mark.parametrize(
    ("dataset", "model"), [("digits", "mlp"), ("mnist1d", "convnet"), ("shapes", "convnet")]
)
def test_a_record_counts_the_models_parameters_like_torch(dataset, model) -> None:
    config = recommended_config(dataset, model, permute_pixels=True)
    record = record_run(7, config, (), 0, "stopped", 1.25)
    assert record.params == sum(p.numel() for p in build_model(dataset, model).parameters())
    assert record.final is None
    assert (
        record.label.startswith("#7 ") and "shuffled" in record.label and f"lr {config.lr:g}" in record.label
    )
    row = comparison_rows([record])[0]
    assert row["test acc %"] is None and row["epochs"] == 0.0 and row["time s"] == 1.2


def test_table_rows_hold_final_and_best_accuracy_in_percent(trained: Trainer) -> None:
    history = tuple(trained.history)
    record = record_run(3, trained.config, history, trained.step_count, "finished", 2.0)
    row = comparison_rows([record])[0]
    assert row["run"] == "#3" and row["model"] == "ConvNet" and row["shuffled"] is False
    assert row["test acc %"] == round(100 * history[-1].test_acc, 1)
    assert row["best test acc %"] == round(100 * max(m.test_acc for m in history), 1)
    assert row["train acc %"] == round(100 * history[-1].train_acc, 1)
    assert row["epochs"] == 1.0 and row["parameters"] == 3818 and row["ended"] == "finished"


def test_sample_view_feature_maps_match_the_torch_layers(trained: Trainer) -> None:
    view = trained.sample_view(11)
    x = torch.tensor(trained.dataset.x_test[11])[None]
    assert view.index == 11 and view.label == int(trained.dataset.y_test[11])
    assert np.array_equal(view.sample, trained.dataset.x_test[11])  # no shuffle: the same pixels
    conv_at = [i for i, m in enumerate(trained.model) if isinstance(m, nn.Conv2d)]
    assert [m.index for m in view.feature_maps] == conv_at
    with torch.no_grad():
        for fmap in view.feature_maps:  # each map is the output of the conv and its ReLU
            expected = trained.model[: fmap.index + 2](x)[0].numpy()
            assert np.allclose(fmap.values, expected, atol=1e-6)
    with pytest.raises(TrainingError, match="sample index"):
        trained.sample_view(len(trained.dataset.y_test))


def test_worst_samples_carry_the_confidence_of_the_chosen_class(trained: Trainer) -> None:
    snap = trained.snapshot()
    ev = trained.evaluate()
    for w in snap.worst:
        assert w.predicted == int(ev.probabilities[w.index].argmax())
        assert w.p_predicted == pytest.approx(float(ev.probabilities[w.index].max()))
        assert w.p_predicted >= w.p_label
