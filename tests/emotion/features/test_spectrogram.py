"""The CRNN family's blocks (``emotion.features.spectrogram``): the log-mel summary is librosa's
log-mel averaged over equal runs of each segment, the LPC residual is the innovation of an
autoregressive process, the residual phase is the cosine of its analytic signal's phase and
ignores gain, and the feature set that carries them keeps the default set's columns."""

from __future__ import annotations

import librosa
import numpy as np
import pytest
import scipy.signal
import soxr

from emotion.features import SAMPLE_RATE, analyse_audio, feature_set
from emotion.features.definition import ANALYSIS_SAMPLE_RATE
from emotion.features.feature_sets import (
    LLD_MUSICNN_FEATURE_SET_VERSION,
    LLD_MUSICNN_MEL_FEATURE_SET_VERSION,
    columns_for,
)
from emotion.features.segments import plan_segments
from emotion.features.spectrogram import (
    LOG_MEL_SUMMARY_DIMS,
    N_MEL_SUMMARY_STEPS,
    _lpc_residual,
    log_mel_summary,
    residual_phase,
    residual_phase_features,
)

from .signals import encode, harmonic_tone, white_noise


def test_the_log_mel_summary_is_librosas_log_mel_averaged_over_equal_runs():
    samples = harmonic_tone(247.0, 6.0) + white_noise(6.0, amplitude=0.05)
    layout = plan_segments(len(samples), 3.0)
    summary = log_mel_summary(samples, layout)
    assert summary.shape == (2, LOG_MEL_SUMMARY_DIMS) and summary.dtype == np.float32
    mel = librosa.feature.melspectrogram(
        y=samples, sr=SAMPLE_RATE, n_fft=2048, hop_length=512, n_mels=40, pad_mode="constant"
    )
    log_mel = librosa.power_to_db(mel, top_db=None).T  # (frames, 40)
    segment_of_frame = (np.arange(len(log_mel)) * 512) // (3 * SAMPLE_RATE)
    for segment in range(2):
        frames = log_mel[segment_of_frame == segment]
        runs = np.array_split(np.arange(len(frames)), N_MEL_SUMMARY_STEPS)
        expected = np.stack([frames[run].mean(axis=0) for run in runs])
        # Runs are cut as integer shares; array_split puts the longer runs first instead,
        # so compare run by run only where both cut the same frames.
        patch = summary[segment].reshape(N_MEL_SUMMARY_STEPS, 40)
        edges = (len(frames) * np.arange(N_MEL_SUMMARY_STEPS + 1)) // N_MEL_SUMMARY_STEPS
        for step in range(N_MEL_SUMMARY_STEPS):
            ours = frames[edges[step] : edges[step + 1]].mean(axis=0)
            np.testing.assert_allclose(patch[step], ours, atol=1e-3)
        np.testing.assert_allclose(patch.mean(axis=0), expected.mean(axis=0), atol=0.5)


def test_the_log_mel_summary_is_time_major_and_follows_a_tone_in_time():
    # Silence-ish noise, then a loud 1 kHz tone in the second half of the segment.
    quiet = white_noise(1.5, amplitude=1e-3)
    loud = harmonic_tone(1000.0, 1.5, harmonics=1)
    samples = np.concatenate([quiet, loud]).astype(np.float32)
    patch = log_mel_summary(samples, plan_segments(len(samples), 3.0))[0].reshape(16, 40)
    band = int(np.argmax(patch[-1]))
    mel_centres = librosa.mel_frequencies(n_mels=42, fmax=SAMPLE_RATE / 2)[1:-1]
    assert abs(mel_centres[band] - 1000.0) < 150.0
    assert patch[-4:, band].min() > patch[:4, band].max() + 30.0


def test_the_lpc_residual_of_an_autoregressive_process_is_its_innovation():
    rng = np.random.default_rng(0)
    innovation = rng.standard_normal(ANALYSIS_SAMPLE_RATE * 2)
    # A stable two-resonance AR(4) process: its order-12 LPC recovers the filter, so the
    # prediction error is the white noise that drove it.
    signal = scipy.signal.lfilter([1.0], [1.0, -1.2, 0.9, -0.3, 0.1], innovation)
    n_frames = -(-len(signal) // 256)
    residual = _lpc_residual(signal, n_frames=n_frames)
    core = slice(512, -512)
    correlation = np.corrcoef(residual[core], innovation[core])[0, 1]
    assert correlation > 0.95
    assert np.std(residual[core]) == pytest.approx(np.std(innovation[core]), rel=0.05)


def test_the_residual_phase_is_the_cosine_of_the_analytic_signals_phase():
    samples = harmonic_tone(220.0, 2.0) + white_noise(2.0, amplitude=0.05)
    low_rate = soxr.resample(samples, SAMPLE_RATE, ANALYSIS_SAMPLE_RATE)
    n_frames = -(-len(low_rate) // 256)
    phase = residual_phase(low_rate, n_frames=n_frames)
    analytic = scipy.signal.hilbert(_lpc_residual(low_rate.astype(np.float64), n_frames=n_frames))
    np.testing.assert_allclose(phase, np.cos(np.angle(analytic)), atol=1e-5)
    assert np.abs(phase).max() <= 1.0 + 1e-6


def test_the_residual_phase_ignores_gain_and_tells_a_tone_from_noise():
    tone = harmonic_tone(220.0, 3.0) + white_noise(3.0, amplitude=0.01)
    noise = white_noise(3.0)
    layout = plan_segments(len(tone), 3.0)

    def features(samples):
        low_rate = soxr.resample(samples, SAMPLE_RATE, ANALYSIS_SAMPLE_RATE, quality="HQ")
        return residual_phase_features(low_rate, layout)

    np.testing.assert_allclose(features(tone), features(4.0 * tone), atol=1e-3)
    assert features(tone).shape == (1, 12)
    assert np.abs(features(tone) - features(noise)).max() > 1.0
    silence = np.zeros_like(tone)
    assert np.isfinite(features(silence)).all()


def test_the_mel_feature_set_keeps_the_default_sets_columns_bit_for_bit():
    wav = encode(harmonic_tone(330.0, 6.0) + white_noise(6.0, amplitude=0.01))
    default = analyse_audio(wav, feature_set_version=LLD_MUSICNN_FEATURE_SET_VERSION)
    with_mel = analyse_audio(wav, feature_set_version=LLD_MUSICNN_MEL_FEATURE_SET_VERSION)
    definition = feature_set(LLD_MUSICNN_MEL_FEATURE_SET_VERSION)
    assert with_mel.features.shape == (2, definition.dims) == (2, 1202)
    np.testing.assert_array_equal(with_mel.features[:, :550], default.features)
    columns = columns_for(
        model_feature_set=LLD_MUSICNN_MEL_FEATURE_SET_VERSION,
        blocks=("lld", "log_mel", "residual_phase"),
        analyses_feature_set=LLD_MUSICNN_MEL_FEATURE_SET_VERSION,
    )
    assert columns == [*range(50), *range(550, 1202)]
    # A model of the default set serves on these analyses; a CRNN cannot serve on the default.
    columns_for(
        model_feature_set=LLD_MUSICNN_FEATURE_SET_VERSION,
        blocks=("lld", "msd_tags"),
        analyses_feature_set=LLD_MUSICNN_MEL_FEATURE_SET_VERSION,
    )
    with pytest.raises(ValueError, match="lack \\['log_mel', 'residual_phase'\\]"):
        columns_for(
            model_feature_set=LLD_MUSICNN_MEL_FEATURE_SET_VERSION,
            blocks=("lld", "log_mel", "residual_phase"),
            analyses_feature_set=LLD_MUSICNN_FEATURE_SET_VERSION,
        )
