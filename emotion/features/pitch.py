"""A vectorised YIN pitch tracker (de Cheveigné & Kawahara, 2002).

Why YIN, implemented here: pYIN (librosa.pyin) runs at ~7× real time because of its
Viterbi decoding over many thresholds, and ``librosa.yin`` at ~100× because it works at
22,050 Hz with 2048-sample frames and computes things we don't need. Our F0 range is
55–1000 Hz, so 11,025 Hz audio (Nyquist 5.5 kHz) is plenty, and the frames are the shared
23.2 ms grid, so one batch of small FFTs over all frames does the work:

1. Frames of 512 samples (46 ms at 11,025 Hz, enough for two periods of 55 Hz), centred on
   the shared grid. Integration window W = 256, lags 0..256.
2. Difference function ``d(τ) = Σ_{j<W} (x_j − x_{j+τ})²`` expanded as
   ``e(0) + e(τ) − 2 r(τ)``, with the cross-correlation ``r`` from one FFT product for all
   frames and the window energies ``e`` from a cumulative sum.
3. Cumulative-mean-normalised difference ``d'(τ) = d(τ)·τ / Σ_{k≤τ} d(k)``.
4. The period is the first local minimum of ``d'`` in [fs/1000, fs/55] that is below the
   absolute threshold 0.2, refined by parabolic interpolation. librosa uses 0.1, but
   polyphonic music is rarely that clean: on 12 4Q clips (3 per quadrant) 0.1 marked
   0–17 % of frames voiced against pYIN's 22–86 %, while 0.2 roughly doubles the voiced
   frames with the same 88 % agreement (within 5 %) with pYIN's F0 where both are voiced;
   above 0.25 agreement drops. White noise stays at 0 % voiced at 0.2.
5. A frame is *voiced* when such a minimum exists AND the frame is not silent (RMS above
   −60 dBFS). In polyphonic music "voiced" means "clearly periodic": a dominant pitched
   source, not necessarily a voice.
"""

from __future__ import annotations

import numpy as np
import scipy.fft

from .definition import ANALYSIS_SAMPLE_RATE, PITCH_FMAX_HZ, PITCH_FMIN_HZ, SILENCE_DBFS
from .segments import SegmentLayout

YIN_FRAME_LENGTH = 512
YIN_WINDOW = YIN_FRAME_LENGTH // 2
YIN_THRESHOLD = 0.2
_TAU_MIN = int(ANALYSIS_SAMPLE_RATE // PITCH_FMAX_HZ)  # 11 samples → 1002 Hz
_TAU_MAX = int(np.ceil(ANALYSIS_SAMPLE_RATE / PITCH_FMIN_HZ))  # 201 samples → 54.9 Hz
_SILENT_MEAN_SQUARE = 10.0 ** (SILENCE_DBFS / 10.0)
_FRAMES_PER_BLOCK = 2048


def track_pitch(frames: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """F0 (Hz, 0 when unvoiced), voiced and silent flags per row of ``frames`` (n, 512).

    Frames are processed in blocks so working memory stays bounded for long tracks.
    """
    f0 = np.zeros(len(frames))
    voiced = np.zeros(len(frames), dtype=bool)
    silent = np.zeros(len(frames), dtype=bool)
    for start in range(0, len(frames), _FRAMES_PER_BLOCK):
        block = slice(start, start + _FRAMES_PER_BLOCK)
        f0[block], voiced[block], silent[block] = _track_block(frames[block])
    return f0, voiced, silent


def _track_block(frames: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    silent = np.mean(np.square(frames), axis=1) <= _SILENT_MEAN_SQUARE
    cmndf = _cmndf(frames)
    tau, found = _first_trough_below_threshold(cmndf)
    period = tau + _parabolic_offset(cmndf, tau)
    voiced = found & ~silent
    f0 = np.where(voiced, ANALYSIS_SAMPLE_RATE / period, 0.0)
    return f0, voiced, silent


def _cmndf(frames: np.ndarray) -> np.ndarray:
    """Cumulative-mean-normalised difference for lags 0.._TAU_MAX + 1, shape (n, lags)."""
    n_lags = _TAU_MAX + 2
    spectrum = scipy.fft.rfft(frames, n=YIN_FRAME_LENGTH, axis=1)
    head = scipy.fft.rfft(frames[:, :YIN_WINDOW], n=YIN_FRAME_LENGTH, axis=1)
    # r[τ] = Σ_{j<W} x_j x_{j+τ}; no wrap-around since W + τ_max < 512.
    cross = scipy.fft.irfft(np.conj(head) * spectrum, n=YIN_FRAME_LENGTH, axis=1)[:, :n_lags]

    # float32 throughout: the FFT correlation is float32 anyway, and the voicing threshold
    # (0.2) is far above float32 rounding of d'.
    span = YIN_WINDOW + n_lags  # samples any lag's window reaches
    cumulative = np.zeros((frames.shape[0], span + 1), dtype=np.float32)
    np.cumsum(np.square(frames[:, :span]), axis=1, out=cumulative[:, 1:])
    lagged_energy = cumulative[:, YIN_WINDOW : YIN_WINDOW + n_lags] - cumulative[:, :n_lags]
    difference = cumulative[:, YIN_WINDOW, None] + lagged_energy - 2.0 * cross
    np.maximum(difference, 0.0, out=difference)

    running = np.cumsum(difference[:, 1:], axis=1)
    cmndf = np.ones_like(difference)
    lags = np.arange(1, n_lags, dtype=np.float32)
    np.divide(difference[:, 1:] * lags, running, out=cmndf[:, 1:], where=running > 1e-12)
    return cmndf


def _first_trough_below_threshold(cmndf: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index of the first local minimum under the threshold in the lag range, per frame."""
    centre = cmndf[:, _TAU_MIN : _TAU_MAX + 1]
    before = cmndf[:, _TAU_MIN - 1 : _TAU_MAX]
    after = cmndf[:, _TAU_MIN + 1 : _TAU_MAX + 2]
    candidate = (centre < before) & (centre <= after) & (centre < YIN_THRESHOLD)
    found = candidate.any(axis=1)
    tau = np.where(found, np.argmax(candidate, axis=1) + _TAU_MIN, _TAU_MIN)
    return tau, found


def _parabolic_offset(cmndf: np.ndarray, tau: np.ndarray) -> np.ndarray:
    rows = np.arange(cmndf.shape[0])
    left, mid, right = cmndf[rows, tau - 1], cmndf[rows, tau], cmndf[rows, tau + 1]
    curvature = left - 2.0 * mid + right
    offset = np.zeros_like(mid)
    np.divide(0.5 * (left - right), curvature, out=offset, where=np.abs(curvature) > 1e-12)
    return np.clip(offset, -1.0, 1.0)


def pitch_statistics(f0: np.ndarray, voiced: np.ndarray, layout: SegmentLayout) -> np.ndarray:
    """(n_segments, 6): F0 mean, std, p10, p90 (Hz), voiced ratio, movement (semitones)."""
    stats = np.zeros((layout.n_segments, 6))
    # Pitch movement counts only pairs of consecutive frames that are both voiced and in the
    # same segment.
    pair_voiced = voiced[1:] & voiced[:-1]
    same_segment = layout.frame_segment[1:] == layout.frame_segment[:-1]
    safe_f0 = np.where(voiced, f0, 1.0)
    step = np.abs(12.0 * np.log2(safe_f0[1:] / safe_f0[:-1]))
    pair_ok = pair_voiced & same_segment
    for k, (first, count) in enumerate(
        zip(layout.first_frames, layout.frames_per_segment(), strict=True)
    ):
        window = slice(first, first + count)
        f0_voiced = f0[window][voiced[window]]
        if f0_voiced.size == 0:
            continue
        p10, p90 = np.percentile(f0_voiced, [10.0, 90.0])
        pairs = pair_ok[first : first + count - 1]
        movement = step[first : first + count - 1][pairs].mean() if pairs.any() else 0.0
        stats[k] = (
            f0_voiced.mean(),
            f0_voiced.std(),
            p10,
            p90,
            f0_voiced.size / count,
            movement,
        )
    return stats
