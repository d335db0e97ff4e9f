"""Audio files for pipeline tests, rendered by the synthetic generator (never data sets)."""

from __future__ import annotations

import io

import numpy as np
import soundfile

from emotion.features import SAMPLE_RATE
from emotion.synth import render_clip, wav_bytes


def float_wav_bytes(samples: np.ndarray) -> bytes:
    """32-bit float WAV: the only common format that can carry NaN samples."""
    buffer = io.BytesIO()
    soundfile.write(buffer, samples, SAMPLE_RATE, format="WAV", subtype="FLOAT")
    return buffer.getvalue()


def music_wav(*, quadrant: str = "Q1", seconds: float = 7.0, seed: int = 0) -> bytes:
    return wav_bytes(render_clip(quadrant, seed=seed, seconds=seconds))


def bad_audio_cases(*, max_seconds: float) -> dict[str, tuple[str, bytes]]:
    """name -> (file name, bytes) for every kind of bad audio the worker must survive."""
    good = music_wav()
    nan_samples = render_clip("Q2", seed=1, seconds=4.0).astype(np.float32)
    nan_samples[1000:1010] = np.nan
    return {
        "zero-length": ("empty.wav", b""),
        "truncated": ("cut.wav", good[:60]),
        "not audio": ("notes.wav", b"These are my notes, not a song.\n" * 200),
        "extension lies": ("song.mp3", b"%PDF-1.7\n" + bytes(range(256)) * 40),
        "unsupported codec": ("song.aiff", b"FORM\x00\x00\x10\x00AIFCCOMM" + b"\x00" * 4000),
        "nan samples": ("nan.wav", float_wav_bytes(nan_samples)),
        "too long": ("long.wav", wav_bytes(np.zeros(int(SAMPLE_RATE * (max_seconds + 5))))),
        "silence": ("silence.wav", wav_bytes(np.zeros(SAMPLE_RATE * 5, dtype=np.float32))),
    }
