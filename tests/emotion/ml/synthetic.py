"""Synthetic LLD data and a tiny training config for fast tests."""

from __future__ import annotations

import numpy as np

from emotion.ml.model import ModelConfig
from emotion.ml.training import TrainingConfig


def make_synthetic(n_per_class: int = 12, *, labels=("Q1", "Q2", "Q3", "Q4"), seed: int = 0):
    """Separable toy data: class k raises feature k; lengths vary from 4 to 12 segments."""
    rng = np.random.default_rng(seed)
    sequences, targets, groups = [], [], []
    for k, label in enumerate(labels):
        for i in range(n_per_class):
            length = int(rng.integers(4, 13))
            sequence = rng.normal(0.0, 1.0, size=(length, 50)).astype(np.float32)
            sequence[:, k] += 3.0
            sequences.append(sequence)
            targets.append(label)
            groups.append(f"artist-{label}-{i // 2}")
    return sequences, targets, groups


TINY_CONFIG = TrainingConfig(
    model=ModelConfig(hidden_size=16, num_layers=2, dropout=0.0, attention_size=16, dense_size=16),
    optimizer="adam",
    learning_rate=1e-2,
    batch_size=16,
    max_epochs=40,
    patience=40,
    validation_fraction=0.0,
    preset="tiny-test",
)
