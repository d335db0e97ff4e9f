"""Behaviour of the 50 LLDs on signals whose answers are known."""

from __future__ import annotations

import librosa
import numpy as np
import pytest

from emotion.features import (
    FEATURE_NAMES,
    N_LLD_FEATURES,
    SAMPLE_RATE,
    AudioTooShortError,
    NonFiniteAudioError,
    extract_lld_sequence,
)
from emotion.features.definition import (
    ENERGY_SLICE,
    FORMANT_SLICE,
    MFCC_SLICE,
    PITCH_SLICE,
    ZCR_SLICE,
)

from .signals import harmonic_tone, white_noise

PITCH_MEAN, PITCH_STD, PITCH_P10, PITCH_P90, VOICED_RATIO, PITCH_MOVEMENT = range(36, 42)


def test_harmonic_tone_pitch(tone_220: np.ndarray) -> None:
    features = extract_lld_sequence(tone_220)
    for column in (PITCH_MEAN, PITCH_P10, PITCH_P90):
        assert features[:, column] == pytest.approx(220.0, abs=2.0)
    assert np.all(features[:, PITCH_STD] < 2.0)
    assert np.all(features[:, VOICED_RATIO] > 0.95)
    assert np.all(features[:, PITCH_MOVEMENT] < 0.1)


@pytest.mark.parametrize("frequency", [82.4, 440.0, 880.0])
def test_pitch_across_the_range(frequency: float) -> None:
    features = extract_lld_sequence(harmonic_tone(frequency, 3.0))
    assert features[0, PITCH_MEAN] == pytest.approx(frequency, rel=0.01)


def test_white_noise_is_noisy_and_unvoiced(tone_220: np.ndarray) -> None:
    noise = extract_lld_sequence(white_noise(6.0))
    tone = extract_lld_sequence(tone_220)
    assert noise[:, ZCR_SLICE].min() > 0.4  # ~0.5 for white noise
    assert noise[:, ZCR_SLICE].min() > 5 * tone[:, ZCR_SLICE].max()
    assert np.all(noise[:, VOICED_RATIO] < 0.1)


def test_silence_gives_zero_energy_and_voicing() -> None:
    features = extract_lld_sequence(np.zeros(6 * SAMPLE_RATE, dtype=np.float32))
    assert np.all(features[:, ENERGY_SLICE] == 0.0)
    assert np.all(features[:, PITCH_SLICE] == 0.0)
    assert np.all(features[:, FORMANT_SLICE] == 0.0)
    assert np.all(features[:, ZCR_SLICE] == 0.0)
    assert np.isfinite(features).all()


def test_gain_raises_energy_and_leaves_mfcc_alone() -> None:
    quiet = harmonic_tone(196.0, 6.0, amplitude=0.15) + white_noise(6.0, amplitude=0.02)
    loud = 4.0 * quiet
    assert np.max(np.abs(loud)) < 1.0
    quiet_features, loud_features = extract_lld_sequence(quiet), extract_lld_sequence(loud)
    gain_db = 20 * np.log10(4.0)
    energy_gain = loud_features[:, ENERGY_SLICE] - quiet_features[:, ENERGY_SLICE]
    assert energy_gain == pytest.approx(np.full_like(energy_gain, gain_db), abs=1e-3)
    np.testing.assert_allclose(
        loud_features[:, MFCC_SLICE], quiet_features[:, MFCC_SLICE], atol=1e-2
    )
    # Pitch and ZCR do not depend on level either.
    np.testing.assert_allclose(loud_features[:, ZCR_SLICE], quiet_features[:, ZCR_SLICE], atol=1e-6)


def test_full_scale_sine_energy_is_about_77() -> None:
    t = np.arange(3 * SAMPLE_RATE) / SAMPLE_RATE
    sine = np.sin(2 * np.pi * 1000 * t).astype(np.float32)
    energy = extract_lld_sequence(sine)[0, ENERGY_SLICE]
    assert energy == pytest.approx(np.full(10, 80 - 3.0103), abs=0.01)


@pytest.mark.parametrize(
    ("seconds", "segment_seconds", "expected"),
    [
        (30.0, 3.0, 10),
        (30.0, 2.0, 15),
        (29.98, 3.0, 10),  # remainder ≥ half a segment becomes a shorter last segment
        (31.4, 3.0, 10),  # remainder < half a segment is dropped
        (31.5, 3.0, 11),
        (7.0, 2.0, 4),
        (2.0, 3.0, 1),  # shorter than one segment: the whole clip is one segment
        (1.0, 3.0, 1),
    ],
)
def test_segment_count(seconds: float, segment_seconds: float, expected: int) -> None:
    samples = harmonic_tone(300.0, seconds) + white_noise(seconds, amplitude=0.01)
    features = extract_lld_sequence(samples, segment_seconds=segment_seconds)
    assert features.shape == (expected, N_LLD_FEATURES)
    assert features.dtype == np.float32
    assert np.isfinite(features).all()


def test_too_short_clip_is_rejected() -> None:
    with pytest.raises(AudioTooShortError) as caught:
        extract_lld_sequence(harmonic_tone(300.0, 0.5))
    assert "0.50 s" in caught.value.reason


def test_non_finite_samples_are_rejected(tone_220: np.ndarray) -> None:
    broken = tone_220.copy()
    broken[1000] = np.inf
    with pytest.raises(NonFiniteAudioError):
        extract_lld_sequence(broken)


def test_other_sample_rates_and_stereo_are_accepted(tone_220: np.ndarray) -> None:
    high_rate = librosa.resample(tone_220, orig_sr=SAMPLE_RATE, target_sr=44_100)
    stereo = np.stack([high_rate, high_rate], axis=1)
    features = extract_lld_sequence(stereo, sample_rate=44_100)
    assert features.shape == (2, N_LLD_FEATURES)
    assert features[:, PITCH_MEAN] == pytest.approx(220.0, abs=2.0)


def test_mfcc_equals_librosa_pooled_per_segment() -> None:
    samples = harmonic_tone(247.0, 6.0) + white_noise(6.0, amplitude=0.05)
    features = extract_lld_sequence(samples)
    mel = librosa.feature.melspectrogram(
        y=samples, sr=SAMPLE_RATE, n_fft=2048, hop_length=512, n_mels=40
    )
    mfcc = librosa.feature.mfcc(S=librosa.power_to_db(mel, top_db=None), n_mfcc=19)
    centres = np.arange(mfcc.shape[1]) * 512
    segment_of_frame = centres // (3 * SAMPLE_RATE)
    expected = np.stack([mfcc[1:, segment_of_frame == k].mean(axis=1) for k in range(2)])
    np.testing.assert_allclose(features[:, MFCC_SLICE], expected, atol=1e-3)


def test_each_segment_only_sees_its_own_audio() -> None:
    # A tone segment followed by a noise segment: the groups must not bleed across.
    samples = np.concatenate([harmonic_tone(220.0, 3.0), white_noise(3.0)])
    features = extract_lld_sequence(samples)
    assert features[0, VOICED_RATIO] > 0.9 > 0.1 > features[1, VOICED_RATIO]
    assert features[1, ZCR_SLICE].min() > 0.4 > 0.1 > features[0, ZCR_SLICE].max()


def test_formants_follow_a_resonance() -> None:
    # A pulse train through a two-pole resonator at 700 Hz: F1 must sit near 700 Hz.
    from scipy.signal import lfilter

    pulses = np.zeros(3 * SAMPLE_RATE)
    pulses[:: SAMPLE_RATE // 120] = 1.0
    radius = np.exp(-np.pi * 80.0 / SAMPLE_RATE)
    angle = 2 * np.pi * 700.0 / SAMPLE_RATE
    vowel = lfilter([1.0], [1.0, -2 * radius * np.cos(angle), radius**2], pulses)
    vowel = (0.3 * vowel / np.max(np.abs(vowel))).astype(np.float32)
    features = extract_lld_sequence(vowel)
    assert features[0, FEATURE_NAMES.index("formant_f1_hz")] == pytest.approx(700.0, rel=0.1)
