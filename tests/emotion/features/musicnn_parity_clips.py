"""Deterministic 16 kHz clips for the musicnn parity fixture.

Only numpy, so the throwaway TensorFlow environment that made the fixture
(``fixtures/make_musicnn_reference.py``) and the test suite generate the very same samples.
Changing anything here invalidates ``fixtures/musicnn_reference.npz``.
"""

from __future__ import annotations

import numpy as np

PARITY_SAMPLE_RATE = 16_000


def _harmonic_tone(t: np.ndarray, f0: float, vibrato_hz: float, n_harmonics: int) -> np.ndarray:
    phase = 2 * np.pi * f0 * t + 0.3 * np.sin(2 * np.pi * vibrato_hz * t)
    return sum(np.sin(k * phase) / k for k in range(1, n_harmonics + 1))


def parity_clip(name: str) -> np.ndarray:
    """One of ``PARITY_CLIPS``, float32 mono at 16 kHz."""
    rng = np.random.default_rng(PARITY_CLIPS.index(name))
    if name == "tones":  # 6.5 s: two full 3-s patches; harmonic notes and a little noise
        t = np.arange(int(6.5 * PARITY_SAMPLE_RATE)) / PARITY_SAMPLE_RATE
        notes = np.where(t < 3.2, 220.0, 330.0)
        clip = 0.3 * _harmonic_tone(t, notes, 5.0, 8) + 0.02 * rng.standard_normal(t.size)
    elif name == "drums":  # 3.5 s: decaying noise bursts on a beat over a low chord
        t = np.arange(int(3.5 * PARITY_SAMPLE_RATE)) / PARITY_SAMPLE_RATE
        beat = np.exp(-30.0 * np.mod(t, 0.5)) * rng.standard_normal(t.size)
        chord = sum(np.sin(2 * np.pi * f * t) for f in (110.0, 138.6, 164.8))
        clip = 0.5 * beat + 0.1 * chord
    elif name == "noise":  # 3.2 s: brown-ish noise with a slow swell
        t = np.arange(int(3.2 * PARITY_SAMPLE_RATE)) / PARITY_SAMPLE_RATE
        walk = np.cumsum(rng.standard_normal(t.size))
        walk -= np.convolve(walk, np.ones(401) / 401, mode="same")
        clip = 0.02 * walk * (0.5 + 0.5 * np.sin(2 * np.pi * 0.4 * t))
    else:
        raise ValueError(f"unknown parity clip {name!r}")
    return (0.8 * clip / np.max(np.abs(clip))).astype(np.float32)


PARITY_CLIPS = ("tones", "drums", "noise")
