"""Formants F1–F4 and bandwidths B1–B4 by LPC root-finding, batched over frames.

Per frame (on the shared 23.2 ms grid, 11,025 Hz audio):

1. Pre-emphasis ``y[n] = x[n] − 0.97·x[n−1]`` on the whole signal (flattens the spectral
   tilt so the high resonances are found), then a 256-sample (23 ms) Hamming window centred
   on the frame. 23 ms is the usual LPC window: short enough that the envelope is
   stationary, long enough to span several pitch periods.
2. Autocorrelation r[0..12] (with a 1e-9 white-noise correction on r[0] for numerical
   safety) and Levinson–Durbin recursion to order 12, run for all frames at once (the
   recursion loops over the order, numpy handles the frames).
3. Roots of the prediction polynomial as the eigenvalues of its companion matrices
   (one batched ``np.linalg.eigvals`` call). For each root in the upper half plane:
   ``f = angle·fs/2π``, ``B = −(fs/π)·ln|root|``. A root is a formant candidate if
   90 Hz < f < fs/2 − 50 Hz and B < 400 Hz (wider "resonances" shape the spectral tilt,
   not a peak). Candidates are sorted by frequency; the first four are F1..F4. A frame
   with fewer than k candidates has no F_k.
4. Per segment, F_k and B_k are averaged over the frames that have them, among the
   segment's voiced frames, or its non-silent frames if none is voiced; a formant no
   selected frame has is 0.

The eigenvalue call costs ~20 µs per frame regardless of batching, which is the largest
single cost of the pipeline, so formants are estimated on every second frame of the grid
(46 ms apart, still ~65 frames per 3 s segment).
"""

from __future__ import annotations

import functools

import numpy as np

from .definition import ANALYSIS_HOP, ANALYSIS_SAMPLE_RATE, N_FORMANTS
from .segments import SegmentLayout, centred_frames

LPC_ORDER = 12
LPC_WINDOW = 256
PRE_EMPHASIS = 0.97
FRAME_STRIDE = 2
MIN_FORMANT_HZ = 90.0
MAX_FORMANT_HZ = ANALYSIS_SAMPLE_RATE / 2 - 50.0
MAX_BANDWIDTH_HZ = 400.0
_NOISE_CORRECTION = 1e-9


def formant_features(
    signal: np.ndarray, layout: SegmentLayout, voiced: np.ndarray, silent: np.ndarray
) -> np.ndarray:
    """(n_segments, 8): F1..F4 then B1..B4 in Hz, from 11,025 Hz ``signal``."""
    qualifying = _frames_to_analyse(layout, voiced, silent)
    selected = qualifying.copy()
    selected[1::FRAME_STRIDE] = False
    # A segment must not lose its only qualifying frames to the stride.
    selected |= qualifying & ~_segment_has(selected, layout)

    result = np.zeros((layout.n_segments, 2 * N_FORMANTS))
    indices = np.flatnonzero(selected)
    if indices.size == 0:
        return result

    emphasised = np.empty_like(signal)
    emphasised[0] = signal[0]
    np.subtract(signal[1:], PRE_EMPHASIS * signal[:-1], out=emphasised[1:])
    frames = centred_frames(emphasised, LPC_WINDOW, ANALYSIS_HOP, layout.n_frames)[indices]
    coefficients = lpc_polynomials(frames)
    frequencies, bandwidths = _resonances(coefficients)

    segment = layout.frame_segment[indices]
    for values, columns in ((frequencies, slice(0, 4)), (bandwidths, slice(4, 8))):
        present = ~np.isnan(values)
        sums = np.zeros((layout.n_segments, N_FORMANTS))
        counts = np.zeros((layout.n_segments, N_FORMANTS))
        np.add.at(sums, segment, np.where(present, values, 0.0))
        np.add.at(counts, segment, present)
        np.divide(sums, counts, out=result[:, columns], where=counts > 0)
    return result


def _frames_to_analyse(layout: SegmentLayout, voiced: np.ndarray, silent: np.ndarray) -> np.ndarray:
    """Voiced frames, or a segment's non-silent frames when it has no voiced frame."""
    has_voiced = _segment_has(voiced, layout)
    return np.where(has_voiced, voiced, ~silent)


def _segment_has(mask: np.ndarray, layout: SegmentLayout) -> np.ndarray:
    """Per frame: whether any frame of its segment is set in ``mask``."""
    per_segment = np.add.reduceat(mask.astype(np.int32), layout.first_frames) > 0
    return per_segment[layout.frame_segment]


def lpc_polynomials(frames: np.ndarray) -> np.ndarray:
    """Order-12 prediction polynomials ``[1, a1..a12]`` of (n, 256) frames (Hamming window,
    autocorrelation method): the LPC of the formants, and of the residual phase
    (``spectrogram``)."""
    return _levinson(_autocorrelation(frames * _hamming()))


@functools.cache
def _hamming() -> np.ndarray:
    return np.hamming(LPC_WINDOW).astype(np.float32)


def _autocorrelation(frames: np.ndarray) -> np.ndarray:
    frames = frames.astype(np.float64)
    length = frames.shape[1]
    lags = [
        np.einsum("ij,ij->i", frames[:, : length - k], frames[:, k:]) for k in range(LPC_ORDER + 1)
    ]
    r = np.stack(lags, axis=1)
    r[:, 0] = r[:, 0] * (1.0 + _NOISE_CORRECTION) + 1e-12
    return r


def _levinson(r: np.ndarray) -> np.ndarray:
    """Prediction polynomials a (n, order+1), a[:, 0] = 1, by Levinson–Durbin."""
    n = r.shape[0]
    a = np.zeros((n, LPC_ORDER + 1))
    a[:, 0] = 1.0
    error = r[:, 0].copy()
    for i in range(1, LPC_ORDER + 1):
        reflection = -np.einsum("ij,ij->i", a[:, :i], r[:, i:0:-1]) / error
        a[:, 1 : i + 1] += reflection[:, None] * a[:, i - 1 :: -1]
        error *= 1.0 - reflection**2
        error = np.maximum(error, 1e-300)
    return a


def _resonances(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """F1..F4 and B1..B4 per frame (n, 4) each, NaN where a frame has too few formants."""
    n = a.shape[0]
    companion = np.zeros((n, LPC_ORDER, LPC_ORDER))
    companion[:, 0, :] = -a[:, 1:]
    companion[:, np.arange(1, LPC_ORDER), np.arange(LPC_ORDER - 1)] = 1.0
    roots = np.linalg.eigvals(companion)

    frequency = np.angle(roots) * (ANALYSIS_SAMPLE_RATE / (2.0 * np.pi))
    bandwidth = -np.log(np.maximum(np.abs(roots), 1e-12)) * (ANALYSIS_SAMPLE_RATE / np.pi)
    keep = (
        (roots.imag > 0)
        & (frequency > MIN_FORMANT_HZ)
        & (frequency < MAX_FORMANT_HZ)
        & (bandwidth < MAX_BANDWIDTH_HZ)
    )
    frequency = np.where(keep, frequency, np.inf)
    order = np.argsort(frequency, axis=1)[:, :N_FORMANTS]
    formants = np.take_along_axis(frequency, order, axis=1)
    widths = np.take_along_axis(bandwidth, order, axis=1)
    missing = ~np.isfinite(formants)
    return np.where(missing, np.nan, formants), np.where(missing, np.nan, widths)
