"""Generated test signals and the real-data location, shared by the feature tests."""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import soundfile as sf

from emotion.features import SAMPLE_RATE

REPO_ROOT = Path(__file__).resolve().parents[3]


def datasets_dir() -> Path:
    """``$EMOTION_DATASETS_DIR``, or ``../shared/datasets`` beside the repository."""
    override = os.environ.get("EMOTION_DATASETS_DIR")
    return Path(override) if override else REPO_ROOT / ".." / "shared" / "datasets"


def harmonic_tone(
    frequency: float, seconds: float, *, amplitude: float = 0.3, harmonics: int = 5
) -> np.ndarray:
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    tone = sum(np.sin(2 * np.pi * frequency * k * t) / k for k in range(1, harmonics + 1))
    return (amplitude * tone / np.max(np.abs(tone))).astype(np.float32)


def white_noise(seconds: float, *, amplitude: float = 0.1, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (amplitude * rng.standard_normal(int(seconds * SAMPLE_RATE))).astype(np.float32)


def encode(
    samples: np.ndarray,
    *,
    sample_rate: int = SAMPLE_RATE,
    format: str = "WAV",
    subtype: str = "PCM_16",
) -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, samples, sample_rate, format=format, subtype=subtype)
    return buffer.getvalue()
