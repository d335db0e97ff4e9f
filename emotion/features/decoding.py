"""Decode an upload into mono float32 samples at ``SAMPLE_RATE``.

Design choices:

* **Content-based, through libsndfile only.** ``soundfile`` reads WAV/AIFF/FLAC/Ogg
  (Vorbis, Opus)/MP3 from a file-like object, so sources can be paths, ``bytes`` or storage
  file objects (never assumed to be local files) and the format is detected from the
  bytes, never from a file name (an extension can lie; ``bytes`` have none). There is
  deliberately no audioread/ffmpeg fallback: ffmpeg is not guaranteed on workers, and a
  clear "convert it to MP3/FLAC/WAV" error beats a codec path that works on some machines
  only. MP4/M4A/AAC, WMA and similar are recognised by their magic bytes so the uploader is
  told exactly that.
* **Length limits before decoding.** The header's frame count is checked against
  ``max_audio_seconds`` first (with 2 % slack because MP3 frame counts are estimates), and
  the read itself is capped at the limit plus one frame, so a lying header can neither make
  us decode a huge file nor let one through.
* **Truncated files** (an upload cut short): WAV/AIFF, MP3 and Ogg Vorbis decoders stop
  cleanly at the end of the data, so these decode to the audio they still contain, which
  is then subject to the usual minimum-length rule. FLAC and Opus decoders report an error
  instead, which becomes ``UndecodableAudioError`` ("damaged"). A file cut inside its
  header cannot be opened (``UndecodableAudioError`` naming the format it looked like), or
  opens with no samples (``EmptyAudioError``).
* Multichannel audio is averaged to mono; other sample rates are resampled with soxr
  (high quality). NaN/inf samples (possible in float WAVs) are rejected.
"""

from __future__ import annotations

import io
import math
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any

import numpy as np
import soundfile as sf
import soxr

from .definition import SAMPLE_RATE
from .errors import (
    AudioTooLongError,
    EmptyAudioError,
    NonFiniteAudioError,
    UndecodableAudioError,
    UnsupportedCodecError,
)

AudioSource = str | os.PathLike[str] | bytes | bytearray | memoryview | IO[bytes]

SUPPORTED_FORMATS_TEXT = "MP3, WAV, FLAC, Ogg Vorbis/Opus or AIFF"
_HEADER_ESTIMATE_SLACK = 1.02  # MP3 durations from the header are estimates
_UNKNOWN_FRAME_COUNT = 2**62  # libsndfile reports SF_COUNT_MAX when it cannot tell
_SNIFF_BYTES = 512


def decode_audio(source: AudioSource, *, max_audio_seconds: float | None = None) -> np.ndarray:
    """Decode ``source`` to mono float32 at ``SAMPLE_RATE``.

    Raises a ``BadAudioError`` subclass for empty, undecodable, unsupported, non-finite or
    too-long audio. Silence and minimum length are checked later (see ``pipeline``).
    """
    with _opened(source) as (readable, head):
        if not head:
            raise EmptyAudioError("the file is empty (0 bytes); re-upload the audio")
        try:
            sound = sf.SoundFile(readable)
        except (sf.LibsndfileError, RuntimeError, TypeError) as error:
            raise _undecodable(head) from error
        with sound:
            _check_declared_length(sound, max_audio_seconds)
            samples, sample_rate = _read_capped(sound, max_audio_seconds), sound.samplerate

    if samples.shape[0] == 0:
        raise EmptyAudioError(
            "the file has an audio header but no samples (it may be truncated); "
            "re-upload the complete file"
        )
    if max_audio_seconds is not None and samples.shape[0] > max_audio_seconds * sample_rate:
        raise _too_long(samples.shape[0] / sample_rate, max_audio_seconds)

    mono = samples.mean(axis=1, dtype=np.float32) if samples.shape[1] > 1 else samples[:, 0]
    if not np.isfinite(mono).all():
        raise NonFiniteAudioError(
            "the audio contains NaN or infinite sample values (corrupt floating-point data); "
            "re-export the file, e.g. as 16-bit PCM WAV or MP3"
        )
    if sample_rate != SAMPLE_RATE:
        mono = soxr.resample(mono, sample_rate, SAMPLE_RATE, quality="HQ")
    return np.ascontiguousarray(mono, dtype=np.float32)


@contextmanager
def _opened(source: AudioSource) -> Iterator[tuple[str | IO[bytes], bytes]]:
    """Yield what libsndfile should read (a path or a seekable binary stream at offset 0)
    and the source's first bytes (for error messages).

    Paths are handed to libsndfile directly (native I/O, no Python callbacks). Caller-owned
    file objects are rewound but never closed; unseekable ones are read into memory.
    """
    if isinstance(source, str | os.PathLike):
        path = os.fspath(source)
        with open(path, "rb") as handle:
            head = handle.read(_SNIFF_BYTES)
        yield path, head
        return
    if isinstance(source, bytes | bytearray | memoryview):
        stream: IO[bytes] = io.BytesIO(bytes(source))
    elif hasattr(source, "read"):
        stream = source if _is_seekable(source) else io.BytesIO(_read_all(source))
        stream.seek(0)
    else:
        raise TypeError(f"cannot read audio from {type(source).__name__}")
    head = stream.read(_SNIFF_BYTES)
    if not isinstance(head, bytes | bytearray):
        raise TypeError("audio file objects must be opened in binary mode")
    stream.seek(0)
    yield stream, bytes(head)


def _read_all(stream: IO[bytes]) -> bytes:
    data = stream.read()
    if not isinstance(data, bytes | bytearray):
        raise TypeError("audio file objects must be opened in binary mode")
    return bytes(data)


def _is_seekable(stream: Any) -> bool:
    try:
        return bool(stream.seekable()) and hasattr(stream, "tell")
    except (AttributeError, OSError, ValueError):
        return False


def _check_declared_length(sound: sf.SoundFile, max_audio_seconds: float | None) -> None:
    if max_audio_seconds is None or sound.frames >= _UNKNOWN_FRAME_COUNT:
        return
    declared_seconds = sound.frames / sound.samplerate
    if declared_seconds > max_audio_seconds * _HEADER_ESTIMATE_SLACK:
        raise _too_long(declared_seconds, max_audio_seconds)


def _read_capped(sound: sf.SoundFile, max_audio_seconds: float | None) -> np.ndarray:
    """Read all frames, or at most one frame more than the limit allows."""
    frames = -1
    if max_audio_seconds is not None:
        frames = math.floor(max_audio_seconds * sound.samplerate) + 1
    try:
        return sound.read(frames=frames, dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError) as error:
        raise UndecodableAudioError(
            "the audio data is damaged and could not be decoded; re-export or re-upload it"
        ) from error


def _too_long(seconds: float, max_audio_seconds: float) -> AudioTooLongError:
    return AudioTooLongError(
        f"the audio is {seconds:.0f} s long, more than the {max_audio_seconds:.0f} s limit; "
        "upload a shorter excerpt"
    )


def _undecodable(head: bytes) -> UndecodableAudioError:
    """Explain, from the first bytes, why libsndfile could not open the file."""
    if head[4:8] == b"ftyp":
        return UnsupportedCodecError(
            "the file is an MP4/M4A container (AAC or ALAC audio), which cannot be decoded "
            f"here; convert it to {SUPPORTED_FORMATS_TEXT} and re-upload"
        )
    if head[:4] == b"0&\xb2u":
        return UnsupportedCodecError(
            f"the file is WMA/ASF audio, which cannot be decoded here; convert it to "
            f"{SUPPORTED_FORMATS_TEXT} and re-upload"
        )
    if head[:2] in (b"\xff\xf1", b"\xff\xf9"):
        return UnsupportedCodecError(
            f"the file is raw AAC (ADTS) audio, which cannot be decoded here; convert it to "
            f"{SUPPORTED_FORMATS_TEXT} and re-upload"
        )
    known = _known_container(head)
    if known:
        return UndecodableAudioError(
            f"the file looks like {known} but could not be decoded: it is damaged, truncated "
            f"or uses an unusual codec; re-export it as {SUPPORTED_FORMATS_TEXT}"
        )
    if _looks_like_text(head):
        return UndecodableAudioError(
            "the file contains text, not audio (whatever its name says); "
            "upload the audio file itself"
        )
    return UndecodableAudioError(
        f"the file is not in a recognised audio format (supported: {SUPPORTED_FORMATS_TEXT}); "
        "check that you uploaded the right file"
    )


def _known_container(head: bytes) -> str | None:
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "a WAV file"
    if head[:4] == b"fLaC":
        return "a FLAC file"
    if head[:4] == b"OggS":
        return "an Ogg file"
    if head[:4] == b"FORM":
        return "an AIFF file"
    if head[:3] == b"ID3" or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return "an MP3 file"
    return None


def _looks_like_text(head: bytes) -> bool:
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        # A multi-byte character may be cut at the sniff boundary.
        try:
            text = head[:-3].decode("utf-8")
        except UnicodeDecodeError:
            return False
    printable = sum(ch.isprintable() or ch in "\r\n\t" for ch in text)
    return len(text) > 0 and printable / len(text) > 0.95
