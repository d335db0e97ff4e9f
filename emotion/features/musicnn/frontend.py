"""musicnn's input: log-compressed mel spectrograms of 16 kHz audio, cut into 3-s patches.

As ``musicnn/extractor.py`` computes them: librosa's power mel spectrogram (512-point FFT,
hop 256, 96 Slaney mel bands, centred frames), rounded to float16 (as musicnn stores it, so
the published weights see the inputs they were trained on), then ``log10(10000·x + 1)``.

The arithmetic is float32 on the float16-rounded values. musicnn was written for NumPy < 1.17,
which promoted ``10000 * x`` to float32; NumPy 2 keeps it float16, where any band above 6.55
overflows to infinity and the network's outputs become meaningless, so the promotion is
written out here.
"""

from __future__ import annotations

import numpy as np

SAMPLE_RATE = 16_000
FFT_SIZE = 512
HOP_LENGTH = 256
N_MELS = 96
# librosa.time_to_frames(3, sr=16000, n_fft=512, hop_length=256) + 1, as musicnn computes it.
PATCH_FRAMES = 187


def log_mel(samples: np.ndarray) -> np.ndarray:
    """``(frames, 96)`` float32 log-mel of mono float32 audio at ``SAMPLE_RATE``; frame ``i``
    is centred on sample ``i * HOP_LENGTH``."""
    import librosa  # imported here: it pulls in numba, which costs seconds at import time

    mel = librosa.feature.melspectrogram(
        y=np.asarray(samples, dtype=np.float32),
        sr=SAMPLE_RATE,
        n_fft=FFT_SIZE,
        hop_length=HOP_LENGTH,
        n_mels=N_MELS,
    ).T
    rounded = mel.astype(np.float16).astype(np.float32)
    return np.log10(10_000 * rounded + 1)


def patches(log_mel_frames: np.ndarray) -> np.ndarray:
    """Consecutive non-overlapping ``PATCH_FRAMES`` patches, the remainder dropped, as
    musicnn's ``batch_data``: ``(n_patches, 187, 96)``."""
    n_patches = len(log_mel_frames) // PATCH_FRAMES
    return log_mel_frames[: n_patches * PATCH_FRAMES].reshape(n_patches, PATCH_FRAMES, N_MELS)
