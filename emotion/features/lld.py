"""The per-segment maths: samples in, an (n_segments, 50) float32 LLD matrix out.

Speed comes from doing every frame-based analysis once for the whole track on one shared
frame grid (see ``segments``) and pooling frames per segment afterwards, instead of
re-analysing each segment:

* MFCC: one float32 STFT (scipy.fft, processed in blocks of frames so memory stays bounded
  for long tracks), one mel matrix product, per-segment mean of the log-mel bands, then one
  small DCT.
* Pitch and formants run on a single 11,025 Hz copy of the signal (soxr), sharing the
  frame grid and the per-frame silence decision.
* Energy and ZCR come from cumulative sums, so any sub-window is two lookups.

See ``definition`` for what each of the 50 numbers means and why.
"""

from __future__ import annotations

import functools

import librosa
import numpy as np
import scipy.fft
import soxr

from .definition import (
    ANALYSIS_HOP,
    ANALYSIS_SAMPLE_RATE,
    DEFAULT_SEGMENT_SECONDS,
    ENERGY_FLOOR_DBFS,
    HOP_LENGTH,
    LOG_POWER_FLOOR,
    N_ENERGY_WINDOWS,
    N_FFT,
    N_LLD_FEATURES,
    N_MELS,
    N_MFCC,
    N_ZCR_WINDOWS,
    SAMPLE_RATE,
)
from .errors import NonFiniteAudioError
from .formants import formant_features
from .pitch import YIN_FRAME_LENGTH, pitch_statistics, track_pitch
from .segments import SegmentLayout, centred_frames, plan_segments, segment_means, subwindow_edges

_FRAMES_PER_BLOCK = 1024  # bounds the STFT's working memory to ~25 MB


def extract_lld_sequence(
    samples: np.ndarray,
    *,
    sample_rate: int = SAMPLE_RATE,
    segment_seconds: float = DEFAULT_SEGMENT_SECONDS,
) -> np.ndarray:
    """LLD vectors of consecutive segments: float32 array (n_segments, 50).

    ``samples`` is mono (or (n, channels), averaged) audio at ``sample_rate`` (resampled to
    22,050 Hz if different). Segmenting rules are in ``segments``; clips under 1 s raise
    ``AudioTooShortError``. Silence is valid input here (zero energy, zero voicing);
    rejecting silent tracks is the pipeline's job.
    """
    signal = _prepare(samples, sample_rate)
    layout = plan_segments(len(signal), segment_seconds)
    signal = signal[: layout.n_used]

    low_rate = soxr.resample(signal, SAMPLE_RATE, ANALYSIS_SAMPLE_RATE, quality="HQ")
    pitch_frames = centred_frames(low_rate, YIN_FRAME_LENGTH, ANALYSIS_HOP, layout.n_frames)
    f0, voiced, silent = track_pitch(pitch_frames)

    features = np.hstack(
        [
            mfcc_features(signal, layout),
            formant_features(low_rate, layout, voiced, silent),
            energy_features(signal, layout),
            pitch_statistics(f0, voiced, layout),
            zcr_features(signal, layout),
        ]
    ).astype(np.float32)
    assert features.shape == (layout.n_segments, N_LLD_FEATURES)
    return features


def _prepare(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    signal = np.asarray(samples, dtype=np.float32)
    if signal.ndim == 2:
        signal = signal.mean(axis=1, dtype=np.float32)
    if signal.ndim != 1:
        raise ValueError("samples must be a 1-D (or (n, channels)) array")
    if not np.isfinite(signal).all():
        raise NonFiniteAudioError(
            "the audio contains NaN or infinite sample values; re-export the file"
        )
    if sample_rate != SAMPLE_RATE:
        signal = soxr.resample(signal, sample_rate, SAMPLE_RATE, quality="HQ")
    return np.ascontiguousarray(signal, dtype=np.float32)


def mfcc_features(signal: np.ndarray, layout: SegmentLayout) -> np.ndarray:
    """(n_segments, 18): segment means of MFCC c1..c18."""
    pooled = segment_means(log_mel_frames(signal, layout).astype(np.float64), layout)
    return scipy.fft.dct(pooled, type=2, norm="ortho", axis=1)[:, 1 : N_MFCC + 1]


def log_mel_frames(signal: np.ndarray, layout: SegmentLayout) -> np.ndarray:
    """(n_frames, 40) float32: the 40-band Slaney mel power spectrum in dB of every frame of
    the shared grid, the spectrogram the MFCCs (and the ``log_mel`` block) are made from."""
    frames = centred_frames(signal, N_FFT, HOP_LENGTH, layout.n_frames)
    log_mel = np.empty((layout.n_frames, N_MELS), dtype=np.float32)
    for start in range(0, layout.n_frames, _FRAMES_PER_BLOCK):
        block = slice(start, start + _FRAMES_PER_BLOCK)
        spectrum = scipy.fft.rfft(frames[block] * _hann(), axis=1)
        power = np.square(spectrum.real) + np.square(spectrum.imag)
        mel_power = power @ _mel_basis_t()
        log_mel[block] = 10.0 * np.log10(np.maximum(mel_power, LOG_POWER_FLOOR))
    return log_mel


@functools.cache
def _hann() -> np.ndarray:
    # Periodic Hann, as librosa/scipy.signal.get_window("hann", n_fft, fftbins=True).
    return (0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(N_FFT) / N_FFT)).astype(np.float32)


@functools.cache
def _mel_basis_t() -> np.ndarray:
    basis = librosa.filters.mel(sr=SAMPLE_RATE, n_fft=N_FFT, n_mels=N_MELS)
    return np.ascontiguousarray(basis.T, dtype=np.float32)


def energy_features(signal: np.ndarray, layout: SegmentLayout) -> np.ndarray:
    """(n_segments, 10): level of each sub-window in dB above -80 dBFS, floored at 0."""
    edges = subwindow_edges(layout, N_ENERGY_WINDOWS)
    # One BLAS dot per sub-window: much faster than a cumulative sum over the whole track.
    energy = np.array(
        [[np.dot(signal[a:b], signal[a:b]) for a, b in _pairs(row)] for row in edges],
        dtype=np.float64,
    )
    mean_square = energy / np.diff(edges, axis=1)
    floor = 10.0 ** (ENERGY_FLOOR_DBFS / 10.0)
    return 10.0 * np.log10(np.maximum(mean_square, floor)) - ENERGY_FLOOR_DBFS


def zcr_features(signal: np.ndarray, layout: SegmentLayout) -> np.ndarray:
    """(n_segments, 8): sign changes / adjacent-sample pairs within each sub-window."""
    negative = signal < 0  # zero counts as positive, as in librosa
    # changes[j] is True when samples j and j+1 differ in sign.
    changes = negative[1:] != negative[:-1]
    edges = subwindow_edges(layout, N_ZCR_WINDOWS)
    crossings = np.array(
        [[np.count_nonzero(changes[a : b - 1]) for a, b in _pairs(row)] for row in edges],
        dtype=np.float64,
    )
    return crossings / np.maximum(np.diff(edges, axis=1) - 1, 1)


def _pairs(edges: np.ndarray) -> zip[tuple[int, int]]:
    bounds = edges.tolist()
    return zip(bounds[:-1], bounds[1:], strict=True)
