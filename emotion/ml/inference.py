"""Tagging tracks and listeners with a trained model (needs only features + an artifact)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from emotion.ml.valence_arousal import predict_valence_arousal

if TYPE_CHECKING:
    from emotion.ml.artifact import MoodModel


@dataclass(frozen=True)
class MoodPrediction:
    label: str
    display_name: str
    confidence: float
    probabilities: dict[str, float]
    # The track's point in the valence–arousal plane and where it came from (``model``: a
    # regression head; ``quadrant_probabilities``: derived); None for non-quadrant labels.
    valence: float | None = None
    arousal: float | None = None
    valence_arousal_source: str | None = None


def tag_tracks(
    model: MoodModel, sequences: Sequence[np.ndarray], *, batch_size: int = 256
) -> list[MoodPrediction]:
    """One prediction per raw feature sequence (any lengths), in input order."""
    probabilities = model.predict_proba(sequences, batch_size=batch_size)
    points = predict_valence_arousal(
        model, sequences, probabilities=probabilities, batch_size=batch_size
    )
    predictions = []
    for index, row in enumerate(probabilities):
        best = int(row.argmax())
        label = model.labels[best]
        point = None if points.points is None else points.points[index]
        predictions.append(
            MoodPrediction(
                label=label,
                display_name=model.display_names.get(label, label),
                confidence=float(row[best]),
                probabilities={lbl: float(p) for lbl, p in zip(model.labels, row, strict=True)},
                valence=None if point is None else float(point[0]),
                arousal=None if point is None else float(point[1]),
                valence_arousal_source=points.source,
            )
        )
    return predictions


def average_sequences(
    sequences: Sequence[np.ndarray], *, weights: Sequence[float] | None = None
) -> np.ndarray:
    """Weighted average of several tracks' feature sequences, segment by segment (seed 002 §3.2).

    Tracks have different lengths; step t averages only the tracks that have a segment t (the
    weights are renormalised per step), so the result is as long as the longest track and no
    step is diluted by zero padding.
    """
    if not sequences:
        raise ValueError("need at least one sequence to average")
    arrays = [np.asarray(s, dtype=np.float64) for s in sequences]
    n_features = arrays[0].shape[1]
    if any(a.ndim != 2 or a.shape[1] != n_features or a.shape[0] < 1 for a in arrays):
        raise ValueError("all sequences must be (n_segments>=1, n_features) with equal n_features")
    weight_array = np.ones(len(arrays)) if weights is None else np.asarray(weights, np.float64)
    if weight_array.shape != (len(arrays),) or (weight_array < 0).any() or weight_array.sum() <= 0:
        raise ValueError("weights must be non-negative, one per sequence, not all zero")
    length = max(a.shape[0] for a in arrays)
    total = np.zeros((length, n_features))
    weight_per_step = np.zeros((length, 1))
    for array, weight in zip(arrays, weight_array, strict=True):
        total[: array.shape[0]] += weight * array
        weight_per_step[: array.shape[0]] += weight
    # Steps only zero-weight tracks reach are dropped rather than divided by zero.
    keep = weight_per_step[:, 0] > 0
    return (total[keep] / weight_per_step[keep]).astype(np.float32)


ATTENTION = "attention"
SEGMENT_PROBABILITY = "segment_probability"


@dataclass(frozen=True)
class SegmentExplanation:
    """Where in a track a model found its emotion, one number per segment.

    ``kind`` says what the numbers are: ``attention`` (the weights an attentive model put on
    each segment; they sum to 1) or ``segment_probability`` (for a model without attention,
    which pools segments evenly: the probability of ``label`` when the model reads that
    segment alone).
    """

    kind: str
    label: str
    values: np.ndarray


def explain_segments(model: MoodModel, sequence: np.ndarray, *, label: str) -> SegmentExplanation:
    """Per-segment evidence for ``label`` in one raw feature sequence (n_segments × dims)."""
    if label not in model.labels:
        raise ValueError(f"{label!r} is not one of the model's labels {model.labels}")
    sequence = np.asarray(sequence, dtype=np.float32)
    if sequence.ndim != 2 or sequence.shape[0] < 1:
        raise ValueError("need a (n_segments >= 1, n_features) sequence")
    weights = model.attention_weights(sequence)
    if weights is not None:
        return SegmentExplanation(
            kind=ATTENTION, label=label, values=np.asarray(weights, dtype=np.float32)
        )
    # Pooling weighs every segment alike, so the model's reading of each segment on its own is
    # what tells a curator which parts of the track carry the emotion.
    segments = [sequence[index : index + 1] for index in range(sequence.shape[0])]
    probabilities = model.predict_proba(segments)
    return SegmentExplanation(
        kind=SEGMENT_PROBABILITY,
        label=label,
        values=probabilities[:, model.labels.index(label)].astype(np.float32),
    )
