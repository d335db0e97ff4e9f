"""Feature-space augmentation of scaled LLD sequences (seed 000 §3.2 in spirit).

The audio-domain tricks of the literature (gain, Gaussian noise, cutting clips, mixing two
clips) are applied to the already-extracted sequences, which keeps training cheap: no audio is
decoded again. Mixup (``mix_sequences``) serves the mean teacher's consistency loss only.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

# Log-energy of the 10 sub-windows (dB above a floor) in the 50-dim LLD layout.
ENERGY_DIMS: tuple[int, ...] = tuple(range(26, 36))


@dataclass(frozen=True)
class AugmentationConfig:
    enabled: bool = False
    # Random crop: keep a contiguous run of at least min_crop_fraction of the segments.
    crop_probability: float = 0.5
    min_crop_fraction: float = 0.5
    # Gaussian noise, in scaled ([0, 1]) units.
    noise_std: float = 0.02
    # "Gain": one random dB offset per clip on the energy dims (a louder / quieter mix).
    gain_db: float = 6.0
    energy_dims: tuple[int, ...] = field(default=ENERGY_DIMS)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["energy_dims"] = list(self.energy_dims)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AugmentationConfig:
        data = dict(data)
        if "energy_dims" in data:
            data["energy_dims"] = tuple(int(d) for d in data["energy_dims"])
        return cls(**data)


def augment_sequence(
    scaled: np.ndarray,
    *,
    config: AugmentationConfig,
    rng: np.random.Generator,
    feature_scale: np.ndarray,
    feature_minimum: np.ndarray,
) -> np.ndarray:
    """One random variant of a scaled sequence. ``feature_scale`` / ``feature_minimum`` are
    the normaliser's statistics, needed to express a dB gain in scaled units."""
    if not config.enabled:
        return scaled
    sequence = scaled
    n_segments = sequence.shape[0]
    if n_segments > 1 and rng.random() < config.crop_probability:
        shortest = max(1, int(np.ceil(config.min_crop_fraction * n_segments)))
        length = int(rng.integers(shortest, n_segments + 1))
        start = int(rng.integers(0, n_segments - length + 1))
        sequence = sequence[start : start + length]
    sequence = sequence.copy()
    if config.gain_db > 0 and config.energy_dims:
        dims = np.asarray(config.energy_dims)
        dims = dims[dims < sequence.shape[1]]
        offset_db = rng.uniform(-config.gain_db, config.gain_db)
        shifted = sequence[:, dims] + offset_db / feature_scale[dims]
        # Energy is "dB above a floor": it cannot go below the floor (raw 0).
        floor = (0.0 - feature_minimum[dims]) / feature_scale[dims]
        sequence[:, dims] = np.maximum(shifted, floor)
    if config.noise_std > 0:
        sequence += rng.normal(0.0, config.noise_std, size=sequence.shape).astype(np.float32)
    return sequence.astype(np.float32, copy=False)


def mix_sequences(
    first: np.ndarray, second: np.ndarray, *, weight: float, rng: np.random.Generator
) -> np.ndarray:
    """Mixup between two clips (seed 000 §3.2.3): ``(1 − weight)·first + weight·second``.

    Clips of different lengths are mixed segment by segment over the shorter one's length,
    taking a random contiguous run of the longer one (a crop), so the result is a clip of
    real segments rather than of padding."""
    if not 0.0 <= weight <= 1.0:
        raise ValueError("the mixing weight must be in [0, 1]")
    length = min(first.shape[0], second.shape[0])

    def window(sequence: np.ndarray) -> np.ndarray:
        start = int(rng.integers(0, sequence.shape[0] - length + 1))
        return sequence[start : start + length]

    mixed = (1.0 - weight) * window(first) + weight * window(second)
    return mixed.astype(np.float32, copy=False)
