"""An ensemble: several trained models in one artifact, their probabilities averaged.

Members may differ in architecture and in the feature blocks they read, but share the labels,
the feature set and the segment length, so the ensemble is fed exactly what each of them
would be. Averaging probabilities (not logits) keeps each member's calibration and lets a
confident member outvote unsure ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np

from emotion.ml.architectures import ENSEMBLE
from emotion.ml.training import TrainedMoodModel


@dataclass
class EnsembleMoodModel:
    members: list[TrainedMoodModel]
    weights: list[float] | None = None
    training_config: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    created_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())
    architecture: str = ENSEMBLE

    def __post_init__(self) -> None:
        if len(self.members) < 2:
            raise ValueError("an ensemble needs at least two members")
        first = self.members[0]
        for member in self.members[1:]:
            if member.labels != first.labels:
                raise ValueError("ensemble members must predict the same labels, in order")
            if (member.feature_set_version, member.segment_seconds) != (
                first.feature_set_version,
                first.segment_seconds,
            ):
                raise ValueError("ensemble members must read the same feature set")
        if self.weights is not None and len(self.weights) != len(self.members):
            raise ValueError("one weight per ensemble member")

    @property
    def labels(self) -> list[str]:
        return self.members[0].labels

    @property
    def display_names(self) -> dict[str, str]:
        return self.members[0].display_names

    @property
    def feature_set_version(self) -> str:
        return self.members[0].feature_set_version

    @property
    def segment_seconds(self) -> float:
        return self.members[0].segment_seconds

    @property
    def input_blocks(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(b for member in self.members for b in member.input_blocks))

    @property
    def model_config(self) -> dict[str, Any]:
        """What the registry shows as the architecture: every member's."""
        return {
            "members": [
                {
                    "architecture": member.architecture,
                    "input_blocks": list(member.input_blocks),
                    **member.model_config.to_dict(),
                }
                for member in self.members
            ],
            "weights": self.weights,
        }

    def predict_proba(
        self, sequences: Sequence[np.ndarray], *, batch_size: int = 256
    ) -> np.ndarray:
        weights = np.asarray(self.weights or [1.0] * len(self.members), dtype=np.float64)
        total = sum(
            weight * member.predict_proba(sequences, batch_size=batch_size)
            for weight, member in zip(weights / weights.sum(), self.members, strict=True)
        )
        return np.asarray(total, dtype=np.float32)

    def predict(self, sequences: Sequence[np.ndarray], *, batch_size: int = 256) -> list[str]:
        probabilities = self.predict_proba(sequences, batch_size=batch_size)
        return [self.labels[i] for i in probabilities.argmax(axis=1)]

    def predict_valence_arousal(
        self, sequences: Sequence[np.ndarray], *, batch_size: int = 256
    ) -> np.ndarray | None:
        """The weighted mean of the members' regression heads; None when no member has one.

        Members without a head are left out (their weights renormalised over the others):
        a point derived from their probabilities would mix two kinds of estimate.
        """
        weights = self.weights or [1.0] * len(self.members)
        heads = [
            (weight, points)
            for weight, member in zip(weights, self.members, strict=True)
            if (points := member.predict_valence_arousal(sequences, batch_size=batch_size))
            is not None
        ]
        if not heads:
            return None
        total_weight = sum(weight for weight, _ in heads)
        total = sum(weight / total_weight * points for weight, points in heads)
        return np.asarray(total, dtype=np.float32)

    def attention_weights(self, sequence: np.ndarray) -> np.ndarray | None:
        """The first attentive member's weights (None if no member has attention)."""
        for member in self.members:
            weights = member.attention_weights(sequence)
            if weights is not None:
                return weights
        return None
