"""A (valence, arousal) point in [0, 1]² for every prediction, whatever the classifier.

A model whose torch module has a regression head (a method ``valence_arousal(features,
lengths) -> Tensor (batch, 2)`` in [0, 1]) gives its own point. Any other model over Russell's
four quadrants gets the expected quadrant centre: Σₖ P(Qk)·centreₖ. That point can only reach
[0.25, 0.75]² (a certain Q1 is the centre of Q1, not the corner): a classifier knows which
quadrant, not how far into it, so the derived point claims no more than that. A label set
that is not the four quadrants has no place in the plane: no point (None).

Pure numpy, no Django, no torch: the regression-head dispatch lives on the trained models
(``TrainedMoodModel.predict_valence_arousal``); this module combines it with the derivation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from emotion.ml.artifact import MoodModel

# Each quadrant's centre in the unit valence–arousal square (valence → x, arousal → y).
QUADRANT_CENTRES: Mapping[str, tuple[float, float]] = {
    "Q1": (0.75, 0.75),  # happy: positive valence, high arousal
    "Q2": (0.25, 0.75),  # tense / angry: negative valence, high arousal
    "Q3": (0.25, 0.25),  # sad: negative valence, low arousal
    "Q4": (0.75, 0.25),  # relaxed: positive valence, low arousal
}

SOURCE_MODEL = "model"
SOURCE_QUADRANT_PROBABILITIES = "quadrant_probabilities"
SOURCES = (SOURCE_MODEL, SOURCE_QUADRANT_PROBABILITIES)


def is_quadrant_label_set(labels: Sequence[str]) -> bool:
    """True when the labels are exactly the four quadrants (in any order)."""
    return len(labels) == len(QUADRANT_CENTRES) and set(labels) == set(QUADRANT_CENTRES)


def point_from_probabilities(probabilities: np.ndarray, labels: Sequence[str]) -> np.ndarray | None:
    """The expected quadrant centre per row of ``probabilities`` (n, k), as (n, 2).

    Columns follow ``labels``; rows are renormalised (a stored distribution rounded to a sum
    of 0.999 still lands on the right point). None when ``labels`` are not the quadrants.
    """
    if not is_quadrant_label_set(labels):
        return None
    matrix = np.asarray(probabilities, dtype=np.float64)
    if matrix.ndim != 2 or matrix.shape[1] != len(labels):
        raise ValueError(f"need (n, {len(labels)}) probabilities, got shape {matrix.shape}")
    totals = matrix.sum(axis=1, keepdims=True)
    if (matrix < 0).any() or (totals <= 0).any():
        raise ValueError("probabilities must be non-negative with a positive sum per row")
    centres = np.array([QUADRANT_CENTRES[label] for label in labels], dtype=np.float64)
    return (matrix / totals) @ centres


def point_from_distribution(distribution: Mapping[str, float]) -> tuple[float, float] | None:
    """One stored ``{label: probability}`` distribution's derived point (None: not quadrants)."""
    labels = list(distribution)
    points = point_from_probabilities(np.array([[distribution[lb] for lb in labels]]), labels)
    return None if points is None else (float(points[0, 0]), float(points[0, 1]))


@dataclass(frozen=True)
class ValenceArousal:
    """Points (n, 2) for n predictions, or None (no regression head, not quadrants)."""

    points: np.ndarray | None
    source: str | None


def predict_valence_arousal(
    model: MoodModel,
    sequences: Sequence[np.ndarray],
    *,
    probabilities: np.ndarray,
    batch_size: int = 256,
) -> ValenceArousal:
    """The points of ``sequences``: the model's regression head when it has one, else derived.

    ``probabilities`` are the model's (already computed) probabilities of the same sequences,
    so a model without a head costs no second forward pass.
    """
    points = model.predict_valence_arousal(sequences, batch_size=batch_size)
    if points is not None:
        return ValenceArousal(points=np.clip(points, 0.0, 1.0), source=SOURCE_MODEL)
    derived = point_from_probabilities(probabilities, model.labels)
    if derived is None:
        return ValenceArousal(points=None, source=None)
    return ValenceArousal(points=derived, source=SOURCE_QUADRANT_PROBABILITIES)
