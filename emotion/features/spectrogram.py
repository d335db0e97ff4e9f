"""The CRNN family's extra blocks (seed 001): a compact log-mel summary and the residual phase.

Seed 001 convolves a log-mel spectrogram and feeds MFCC and the residual phase (RP) of the
music to a BiLSTM. The worker keeps what the model needs per segment, so inference still needs
only stored vectors and the artifact (a model that read audio itself would have to re-decode
every track whenever a model is trained or activated):

* ``log_mel`` (``N_MEL_SUMMARY_STEPS`` × 40 = 640 columns): the 40-band log-mel spectrogram the
  MFCCs are made from (``lld.log_mel_frames``: same STFT, same bands), each segment's frames
  cut into 16 equal runs and averaged, stored time-major (step 0's 40 bands, then step 1's...).
  For 3-s segments a step is 187.5 ms: concatenated over the segments it is a clip-level
  spectrogram at 5.3 frames/s, fine enough for a convolution to see onsets of phrases and
  the spectral shape, coarse enough to store. Storage: 2,560 bytes per segment in float32,
  against 20,640 for the full 129 frames (README, "Model families", has the cost per track).
* ``residual_phase`` (12 columns): the cosine of the phase of the analytic signal of the LPC
  residual (seed 001 §2.2.2), summarised as the segment mean of its cepstrum c1..c12 so it
  sits beside the MFCCs in the same kind of numbers (the seed combines the two with weights;
  the model learns that weight). Per frame of the 11,025 Hz grid: the order-12 LPC of the
  formants (``formants.lpc_polynomials``, without pre-emphasis: the residual should keep the
  source's tilt), the prediction error ``e(t) = Σ a_k x(t−k)`` of the samples nearest that
  frame, then over the whole track ``r_a = e + j·H{e}`` (scipy's FFT Hilbert transform) and
  ``RP = e / |r_a|`` (0 where the envelope is zero: digital silence). The RP is a unit-envelope
  signal; its cepstrum (Hann window of 256 samples, 24 Slaney mel bands, dB, DCT-II) describes
  the periodicity left after the spectral envelope is removed, which is what the seed says MFCC
  misses.
"""

from __future__ import annotations

import functools

import librosa
import numpy as np
import scipy.fft
import scipy.signal
from numpy.lib.stride_tricks import sliding_window_view

from .definition import ANALYSIS_HOP, ANALYSIS_SAMPLE_RATE, LOG_POWER_FLOOR, N_MELS
from .formants import LPC_ORDER, LPC_WINDOW, lpc_polynomials
from .lld import log_mel_frames
from .segments import SegmentLayout, centred_frames, segment_means

N_MEL_SUMMARY_STEPS = 16
LOG_MEL_SUMMARY_DIMS = N_MEL_SUMMARY_STEPS * N_MELS
N_RESIDUAL_PHASE_CEPSTRA = 12
RESIDUAL_PHASE_MELS = 24
_FRAMES_PER_BLOCK = 1024  # bounds the residual's working memory for long tracks


def log_mel_summary(signal: np.ndarray, layout: SegmentLayout) -> np.ndarray:
    """(n_segments, 640) float32: per segment, 16 time steps × 40 log-mel bands (dB)."""
    log_mel = log_mel_frames(signal, layout).astype(np.float64)
    counts = layout.frames_per_segment()
    # Equal runs of each segment's frames, as ``subwindow_edges`` cuts samples; a segment is at
    # least 0.5 s (21 frames), so no run is empty.
    edges = layout.first_frames[:, None] + (counts[:, None] * np.arange(N_MEL_SUMMARY_STEPS)) // (
        N_MEL_SUMMARY_STEPS
    )
    sums = np.add.reduceat(log_mel, edges.ravel(), axis=0)
    run_lengths = np.diff(np.append(edges.ravel(), layout.n_frames))
    summary = sums / run_lengths[:, None]
    return summary.reshape(layout.n_segments, LOG_MEL_SUMMARY_DIMS).astype(np.float32)


def residual_phase_features(low_rate: np.ndarray, layout: SegmentLayout) -> np.ndarray:
    """(n_segments, 12): segment means of the residual phase's cepstrum c1..c12, from the
    11,025 Hz ``low_rate`` signal on the shared frame grid."""
    phase = residual_phase(low_rate, n_frames=layout.n_frames)
    frames = centred_frames(phase, LPC_WINDOW, ANALYSIS_HOP, layout.n_frames)
    spectrum = scipy.fft.rfft(frames * _hann(), axis=1)
    power = np.square(spectrum.real) + np.square(spectrum.imag)
    log_mel = 10.0 * np.log10(np.maximum(power @ _mel_basis_t(), LOG_POWER_FLOOR))
    cepstra = scipy.fft.dct(log_mel, type=2, norm="ortho", axis=1)[
        :, 1 : N_RESIDUAL_PHASE_CEPSTRA + 1
    ]
    return segment_means(cepstra, layout)


def residual_phase(low_rate: np.ndarray, *, n_frames: int) -> np.ndarray:
    """The residual phase ``cos θ(t)`` of every sample of ``low_rate`` (11,025 Hz)."""
    signal = np.asarray(low_rate, dtype=np.float64)
    residual = _lpc_residual(signal, n_frames=n_frames)
    envelope = np.abs(scipy.signal.hilbert(residual, N=scipy.fft.next_fast_len(len(residual))))
    envelope = envelope[: len(residual)]
    return np.divide(
        residual, envelope, out=np.zeros_like(residual), where=envelope > 1e-12
    ).astype(np.float32)


def _lpc_residual(signal: np.ndarray, *, n_frames: int) -> np.ndarray:
    """Prediction error of every sample under the LPC of the grid frame nearest to it."""
    frames = centred_frames(signal, LPC_WINDOW, ANALYSIS_HOP, n_frames)
    # The last LPC_ORDER + 1 samples up to t, newest first: e(t) = Σ_k a_k · x(t − k).
    history = sliding_window_view(np.pad(signal, (LPC_ORDER, 0)), LPC_ORDER + 1)[:, ::-1]
    nearest_frame = np.minimum(
        (np.arange(len(signal)) + ANALYSIS_HOP // 2) // ANALYSIS_HOP, n_frames - 1
    )
    residual = np.empty(len(signal))
    for start in range(0, n_frames, _FRAMES_PER_BLOCK):
        polynomials = lpc_polynomials(frames[start : start + _FRAMES_PER_BLOCK])
        first, last = np.searchsorted(nearest_frame, [start, start + _FRAMES_PER_BLOCK])
        residual[first:last] = np.einsum(
            "tk,tk->t", history[first:last], polynomials[nearest_frame[first:last] - start]
        )
    return residual


@functools.cache
def _hann() -> np.ndarray:
    return scipy.signal.get_window("hann", LPC_WINDOW, fftbins=True)


@functools.cache
def _mel_basis_t() -> np.ndarray:
    basis = librosa.filters.mel(
        sr=ANALYSIS_SAMPLE_RATE, n_fft=LPC_WINDOW, n_mels=RESIDUAL_PHASE_MELS
    )
    return np.ascontiguousarray(basis.T)
