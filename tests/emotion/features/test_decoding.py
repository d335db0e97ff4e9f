"""Decoding sources of every kind, and every way an upload can be bad."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from emotion.features import (
    LLD_FEATURE_SET_VERSION,
    N_LLD_FEATURES,
    SAMPLE_RATE,
    AudioTooLongError,
    AudioTooShortError,
    BadAudioError,
    EmptyAudioError,
    NonFiniteAudioError,
    SilentAudioError,
    UndecodableAudioError,
    UnsupportedCodecError,
    analyse_audio,
    decode_audio,
)

from .signals import encode, harmonic_tone, white_noise


class _Unseekable(io.RawIOBase):
    """A read-only stream that cannot seek, like a network response body."""

    def __init__(self, data: bytes) -> None:
        self._inner = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray) -> int:  # type: ignore[override]
        chunk = self._inner.read(len(buffer))
        buffer[: len(chunk)] = chunk
        return len(chunk)


# --- sources ----------------------------------------------------------------------------


def test_path_bytes_and_file_objects_decode_identically(good_wav: bytes, tmp_path: Path) -> None:
    path = tmp_path / "clip.wav"
    path.write_bytes(good_wav)
    reference = decode_audio(path)
    assert reference.dtype == np.float32
    assert len(reference) == 4 * SAMPLE_RATE
    for source in (
        str(path),
        good_wav,
        bytearray(good_wav),
        memoryview(good_wav),
        io.BytesIO(good_wav),
        _Unseekable(good_wav),
    ):
        np.testing.assert_array_equal(decode_audio(source), reference)


def test_file_object_is_rewound_and_left_open(good_wav: bytes) -> None:
    stream = io.BytesIO(good_wav)
    stream.seek(100)
    assert len(decode_audio(stream)) == 4 * SAMPLE_RATE
    assert not stream.closed


@pytest.mark.parametrize(
    ("format", "subtype"),
    [("FLAC", "PCM_16"), ("OGG", "VORBIS"), ("MP3", "MPEG_LAYER_III"), ("WAV", "FLOAT")],
)
def test_stereo_44k_formats_are_downmixed_and_resampled(format: str, subtype: str) -> None:
    t = np.arange(2 * 44_100) / 44_100
    left = 0.3 * np.sin(2 * np.pi * 440 * t)
    data = encode(
        np.stack([left, left], axis=1), sample_rate=44_100, format=format, subtype=subtype
    )
    samples = decode_audio(data)
    assert abs(len(samples) / SAMPLE_RATE - 2.0) < 0.1  # MP3 encoders add padding
    assert 0.25 < np.max(np.abs(samples)) < 0.35


def test_analysis_reports_duration_cost_and_version(good_wav: bytes) -> None:
    analysis = analyse_audio(good_wav, segment_seconds=2.0)
    assert analysis.features.shape[0] == 2
    assert analysis.audio_seconds == pytest.approx(4.0)
    assert 0 < analysis.cpu_seconds < 5
    assert analysis.segment_seconds == 2.0
    assert analysis.feature_set_version.startswith("lld50-")


# --- bad audio --------------------------------------------------------------------------


def _reason_of(error_type: type[BadAudioError], source: object, **kwargs: object) -> str:
    with pytest.raises(error_type) as caught:
        analyse_audio(source, **kwargs)  # type: ignore[arg-type]
    reason = caught.value.reason
    assert reason == str(caught.value)
    assert len(reason) > 30
    return reason


def test_zero_length_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.mp3"
    path.write_bytes(b"")
    assert "empty (0 bytes)" in _reason_of(EmptyAudioError, path)
    assert "empty (0 bytes)" in _reason_of(EmptyAudioError, b"")
    assert "empty (0 bytes)" in _reason_of(EmptyAudioError, io.BytesIO())


def test_header_without_samples() -> None:
    header_only = encode(np.zeros(0, dtype=np.float32))
    assert "no samples" in _reason_of(EmptyAudioError, header_only)


def test_random_bytes() -> None:
    noise = np.random.default_rng(0).bytes(50_000)
    assert "not in a recognised audio format" in _reason_of(UndecodableAudioError, noise)


def test_text_file_named_mp3(tmp_path: Path) -> None:
    path = tmp_path / "song.mp3"
    path.write_text("This is not a song.\n" * 200, encoding="utf-8")
    assert "contains text, not audio" in _reason_of(UndecodableAudioError, path)


def test_unsupported_codec_is_named() -> None:
    m4a_header = b"\x00\x00\x00\x20ftypM4A \x00\x00\x02\x00" + bytes(2000)
    reason = _reason_of(UnsupportedCodecError, m4a_header)
    assert "MP4/M4A" in reason and "convert it" in reason


def test_wav_cut_inside_its_header() -> None:
    wav = encode(harmonic_tone(220.0, 3.0))
    assert "looks like a WAV file" in _reason_of(UndecodableAudioError, wav[:30])


@pytest.mark.parametrize(("format", "subtype"), [("WAV", "PCM_16"), ("MP3", "MPEG_LAYER_III")])
def test_truncated_file_decodes_what_is_there(format: str, subtype: str) -> None:
    complete = encode(harmonic_tone(220.0, 8.0), format=format, subtype=subtype)
    analysis = analyse_audio(
        complete[: len(complete) // 2], feature_set_version=LLD_FEATURE_SET_VERSION
    )
    assert analysis.audio_seconds == pytest.approx(4.0, abs=0.3)
    assert analysis.features.shape == (1, N_LLD_FEATURES)


def test_truncated_flac_is_reported_as_damaged() -> None:
    complete = encode(harmonic_tone(220.0, 8.0) + white_noise(8.0), format="FLAC")
    assert "damaged" in _reason_of(UndecodableAudioError, complete[: len(complete) // 2])


def test_truncated_to_under_a_second_is_too_short() -> None:
    complete = encode(harmonic_tone(220.0, 8.0))
    assert "at least 1 s" in _reason_of(AudioTooShortError, complete[: len(complete) // 20])


def test_nan_in_float_wav() -> None:
    samples = harmonic_tone(220.0, 3.0)
    samples[5000] = np.nan
    reason = _reason_of(NonFiniteAudioError, encode(samples, subtype="FLOAT"))
    assert "NaN" in reason


def test_too_long_is_rejected_from_the_header(
    monkeypatch: pytest.MonkeyPatch, good_wav: bytes
) -> None:
    def must_not_decode(*args: object, **kwargs: object) -> None:
        raise AssertionError("the samples were decoded before checking the length")

    monkeypatch.setattr(sf.SoundFile, "read", must_not_decode)
    reason = _reason_of(AudioTooLongError, good_wav, max_audio_seconds=2.0)
    assert "4 s long" in reason and "2 s limit" in reason


def test_too_long_within_header_slack_is_caught_while_reading(good_wav: bytes) -> None:
    # 4.0 s against a 3.95 s limit passes the lenient header check, fails the exact one.
    _reason_of(AudioTooLongError, good_wav, max_audio_seconds=3.95)
    assert analyse_audio(good_wav, max_audio_seconds=4.0).audio_seconds == pytest.approx(4.0)


@pytest.mark.parametrize("level", [0.0, 1e-4])
def test_silent_track(level: float) -> None:
    quiet = encode(white_noise(4.0, amplitude=level / 4), subtype="FLOAT")
    assert "silent" in _reason_of(SilentAudioError, quiet)


def test_a_good_file_after_bad_ones_still_analyses(good_wav: bytes) -> None:
    reference = analyse_audio(good_wav).features
    for bad in (b"", b"not audio at all", encode(np.zeros(SAMPLE_RATE * 2, np.float32))):
        with pytest.raises(BadAudioError):
            analyse_audio(bad)
    np.testing.assert_array_equal(analyse_audio(good_wav).features, reference)
