from __future__ import annotations

import numpy as np
import pytest
import torch

from emotion.ml.inference import average_sequences, tag_tracks
from emotion.ml.presets import PRESETS
from emotion.ml.training import config_from_dict, train_mood_model
from tests.emotion.ml.synthetic import TINY_CONFIG, make_synthetic


def test_overfits_a_tiny_synthetic_set():
    sequences, labels, groups = make_synthetic(8)
    seen = []
    config = TINY_CONFIG.with_overrides(max_epochs=100)
    model = train_mood_model(
        sequences,
        labels,
        groups,
        preset=config,
        seed=0,
        on_epoch=lambda epoch, metrics: seen.append((epoch, metrics)),
    )
    assert model.labels == ["Q1", "Q2", "Q3", "Q4"]
    assert model.predict(sequences) == labels
    assert model.metrics["train"]["accuracy"] == 1.0
    assert [epoch for epoch, _ in seen] == list(range(1, config.max_epochs + 1))
    assert seen[0][1]["train_loss"] > seen[-1][1]["train_loss"]
    probabilities = model.predict_proba(sequences)
    assert probabilities.shape == (len(sequences), 4)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)


def test_same_seed_gives_identical_weights_and_other_seed_differs():
    sequences, labels, groups = make_synthetic(6)
    config = TINY_CONFIG.with_overrides(max_epochs=5, augmentation__enabled=True)
    first = train_mood_model(sequences, labels, groups, preset=config, seed=3)
    second = train_mood_model(sequences, labels, groups, preset=config, seed=3)
    other = train_mood_model(sequences, labels, groups, preset=config, seed=4)
    for name, tensor in first.module.state_dict().items():
        assert torch.equal(tensor, second.module.state_dict()[name]), name
    assert any(
        not torch.equal(tensor, other.module.state_dict()[name])
        for name, tensor in first.module.state_dict().items()
    )


def test_early_stopping_uses_artist_grouped_validation():
    sequences, labels, groups = make_synthetic(20)
    config = TINY_CONFIG.with_overrides(validation_fraction=0.2, patience=3, max_epochs=60)
    model = train_mood_model(sequences, labels, groups, preset=config, seed=0)
    assert model.metrics["n_validation"] > 0
    assert model.metrics["epochs_run"] <= 60
    assert model.metrics["best_epoch"] <= model.metrics["epochs_run"]
    assert {"val_loss", "val_macro_f1", "val_accuracy"} <= set(model.metrics["history"][0])


def test_labels_are_free_strings_and_order_can_be_fixed():
    paper_labels = ("happy", "fresh", "relaxed", "sad")
    sequences, labels, groups = make_synthetic(6, labels=paper_labels)
    model = train_mood_model(
        sequences,
        labels,
        groups,
        preset=TINY_CONFIG.with_overrides(max_epochs=3),
        seed=0,
        label_order=paper_labels,
    )
    assert model.labels == list(paper_labels)
    predictions = tag_tracks(model, sequences[:2])
    assert predictions[0].display_name == predictions[0].label  # no display name: raw label
    assert set(predictions[0].probabilities) == set(paper_labels)


def test_normaliser_is_fitted_on_training_part_and_clips_extremes():
    sequences, labels, groups = make_synthetic(6)
    model = train_mood_model(
        sequences, labels, groups, preset=TINY_CONFIG.with_overrides(max_epochs=1), seed=0
    )
    extreme = np.full((5, 50), 1e9, dtype=np.float32)
    scaled = model.normaliser.transform(extreme)
    assert scaled.max() <= 1.0 + model.normaliser.clip_margin
    assert np.isfinite(model.predict_proba([extreme])).all()


def test_presets_are_valid_and_paper_matches_seed():
    paper = PRESETS["paper"]
    assert (paper.optimizer, paper.learning_rate, paper.batch_size) == ("sgd", 0.002, 128)
    assert (paper.model.dropout, paper.model.activation, paper.max_epochs) == (0.7, "tanh", 1000)
    assert paper.model.num_layers == 3 and paper.model.attention
    for config in PRESETS.values():
        assert config_from_dict(config.to_dict()) == config


def test_average_sequences_handles_ragged_lengths():
    a = np.ones((2, 50), dtype=np.float32)
    b = np.full((4, 50), 3.0, dtype=np.float32)
    averaged = average_sequences([a, b], weights=[3, 1])
    assert averaged.shape == (4, 50)
    np.testing.assert_allclose(averaged[0], 1.5)
    np.testing.assert_allclose(averaged[3], 3.0)
    with pytest.raises(ValueError):
        average_sequences([a, b], weights=[0, 0])
