"""Per-dimension min–max scaling of LLD sequences, fitted on training data only.

The paper maps every feature to [0, 1] with min–max scaling. The statistics belong to the
model (they travel in the artifact), so inference needs nothing but raw features.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class MinMaxNormaliser:
    minimum: np.ndarray  # (n_features,) float32
    maximum: np.ndarray  # (n_features,) float32
    # Unseen extremes are clipped to [-clip_margin, 1 + clip_margin] so a single loud or
    # odd clip cannot push the LSTM into saturated regions it never saw in training.
    clip_margin: float = 0.05

    @classmethod
    def fit(
        cls,
        sequences: Sequence[np.ndarray],
        *,
        quantile: float = 0.0,
        clip_margin: float = 0.05,
    ) -> MinMaxNormaliser:
        """Fit on all segments of ``sequences``.

        ``quantile`` > 0 uses the [q, 1-q] quantiles instead of the strict min / max, which
        makes the scale robust to a handful of outlier segments.
        """
        if not sequences:
            raise ValueError("cannot fit a normaliser on zero sequences")
        stacked = np.concatenate([np.asarray(s, dtype=np.float64) for s in sequences], axis=0)
        if quantile > 0:
            minimum = np.quantile(stacked, quantile, axis=0)
            maximum = np.quantile(stacked, 1.0 - quantile, axis=0)
        else:
            minimum = stacked.min(axis=0)
            maximum = stacked.max(axis=0)
        return cls(
            minimum=minimum.astype(np.float32),
            maximum=maximum.astype(np.float32),
            clip_margin=float(clip_margin),
        )

    @property
    def n_features(self) -> int:
        return int(self.minimum.shape[0])

    @property
    def scale(self) -> np.ndarray:
        """Width of each dimension's range; constant dimensions get 1 to avoid dividing by 0."""
        width = self.maximum - self.minimum
        return np.where(width > 1e-12, width, 1.0).astype(np.float32)

    def transform(self, sequence: np.ndarray) -> np.ndarray:
        array = np.asarray(sequence, dtype=np.float32)
        if array.ndim != 2 or array.shape[1] != self.n_features:
            raise ValueError(
                f"expected a (n_segments, {self.n_features}) array, got shape {array.shape}"
            )
        scaled = (array - self.minimum) / self.scale
        # NaN/inf from a broken extractor would poison the whole batch; treat them as the
        # middle of the range rather than failing the request.
        scaled = np.nan_to_num(scaled, nan=0.5, posinf=1.0, neginf=0.0)
        return np.clip(scaled, -self.clip_margin, 1.0 + self.clip_margin).astype(np.float32)

    def transform_many(self, sequences: Sequence[np.ndarray]) -> list[np.ndarray]:
        return [self.transform(s) for s in sequences]
