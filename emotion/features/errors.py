"""Exceptions for audio that cannot be analysed.

Every failure caused by the *content* of an upload is a ``BadAudioError`` whose ``reason``
is one sentence a person can act on (it is shown to the uploader), so the worker can mark
the track as failed without a traceback. A failing embedding step is an ``EmbeddingError``:
not the audio's fault, but the same outcome, a failed analysis with its reason, because
retrying the same computation would fail the same way. Both are ``AnalysisError``.
Programming errors (wrong argument types, a missing file path) stay ordinary exceptions.
"""

from __future__ import annotations


class AnalysisError(Exception):
    """The track cannot be analysed; ``reason`` says why and what to do about it."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class BadAudioError(AnalysisError):
    """The audio itself cannot be analysed."""


class EmbeddingError(AnalysisError):
    """The audio decoded and its LLDs were extracted, but the embedding step failed."""


class EmptyAudioError(BadAudioError):
    """The file has no bytes, or a valid header but no samples."""


class UndecodableAudioError(BadAudioError):
    """The bytes are not audio in a format we can read, or are damaged."""


class UnsupportedCodecError(UndecodableAudioError):
    """Recognisably audio, but in a codec/container this service cannot decode."""


class NonFiniteAudioError(BadAudioError):
    """The decoded samples contain NaN or infinity."""


class AudioTooLongError(BadAudioError):
    """The audio is longer than the configured maximum."""


class AudioTooShortError(BadAudioError):
    """The audio is shorter than the minimum that gives one meaningful segment."""


class SilentAudioError(BadAudioError):
    """The whole track is (near-)silent, so there is no mood to tag."""
