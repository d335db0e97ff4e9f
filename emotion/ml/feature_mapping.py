"""Seed 004's "feature mapping": keep the feature columns that correlate most with the
valence/arousal targets.

Each clip is summarised by the mean of every column over its segments (the seed averages a
song's feature matrix over time before screening); a column's score is the larger of its
absolute Pearson correlations with valence and with arousal over the training clips, and the
``n_selected`` best columns are kept, in their original order. ``train_mood_model`` fits the
selection on the training clips only (so only on the training folds in cross-validation),
before the model itself is fitted; the selected columns are a buffer of the module, so they
travel in the artifact and inference needs nothing else.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn


def correlation_scores(clip_means: np.ndarray, points: np.ndarray) -> np.ndarray:
    """(n_columns,) max over the two axes of |Pearson r| between each column and the axis;
    0 for a constant column (or a constant axis)."""
    x = clip_means - clip_means.mean(axis=0)
    y = points - points.mean(axis=0)
    x_norm = np.sqrt((x * x).sum(axis=0))
    y_norm = np.sqrt((y * y).sum(axis=0))
    covariance = x.T @ y  # (n_columns, 2)
    denominator = np.outer(x_norm, y_norm)
    r = np.divide(covariance, denominator, out=np.zeros_like(covariance), where=denominator > 1e-12)
    return np.abs(r).max(axis=1)


class CorrelationSelection(nn.Module):
    """``features[..., columns]`` with ``columns`` chosen by :func:`correlation_scores`."""

    def __init__(self, input_dim: int, n_selected: int) -> None:
        super().__init__()
        self.input_dim = input_dim
        self.output_dim = min(n_selected, input_dim) if n_selected > 0 else input_dim
        # Before fitting: the first columns (a placeholder; training always fits it).
        self.register_buffer("columns", torch.arange(self.output_dim, dtype=torch.int64))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return features.index_select(-1, self.columns)

    def fit(self, sequences: Sequence[np.ndarray], points: np.ndarray) -> dict[str, Any]:
        """Choose the columns on training clips (scaled (n_segments, input_dim) arrays) and
        their (n, 2) valence/arousal targets; returns what was chosen, for the metrics."""
        clip_means = np.stack([np.asarray(s, dtype=np.float64).mean(axis=0) for s in sequences])
        scores = correlation_scores(clip_means, np.asarray(points, dtype=np.float64))
        # Stable: equal scores keep the lower column (deterministic for constant columns).
        best = np.sort(np.argsort(-scores, kind="stable")[: self.output_dim])
        self.columns = torch.from_numpy(best.astype(np.int64))
        return {
            "selected": int(self.output_dim),
            "of": int(self.input_dim),
            "lowest_abs_correlation_kept": round(float(scores[best].min()), 4),
            "highest_abs_correlation": round(float(scores.max()), 4),
        }
