"""Segment-level low-level audio descriptors (LLDs) for the emotion model.

Pure numpy/scipy/librosa/soundfile, no Django: a track's audio goes in, an
``(n_segments, 50)`` float32 matrix comes out. Min–max scaling is not done here; it belongs
to the model, fitted on training data. Start with ``definition`` (what the 50 numbers are),
then ``pipeline`` (the entry points).
"""

from .decoding import decode_audio
from .definition import (
    DEFAULT_SEGMENT_SECONDS,
    FEATURE_DEFINITIONS,
    FEATURE_NAMES,
    FEATURE_SET_VERSION,
    N_FEATURES,
    SAMPLE_RATE,
    FeatureDefinition,
)
from .errors import (
    AudioTooLongError,
    AudioTooShortError,
    BadAudioError,
    EmptyAudioError,
    NonFiniteAudioError,
    SilentAudioError,
    UndecodableAudioError,
    UnsupportedCodecError,
)
from .lld import extract_lld_sequence
from .pipeline import LLDAnalysis, analyse_audio, warm_up
from .segments import MIN_AUDIO_SECONDS

__all__ = [
    "DEFAULT_SEGMENT_SECONDS",
    "FEATURE_DEFINITIONS",
    "FEATURE_NAMES",
    "FEATURE_SET_VERSION",
    "MIN_AUDIO_SECONDS",
    "N_FEATURES",
    "SAMPLE_RATE",
    "AudioTooLongError",
    "AudioTooShortError",
    "BadAudioError",
    "EmptyAudioError",
    "FeatureDefinition",
    "LLDAnalysis",
    "NonFiniteAudioError",
    "SilentAudioError",
    "UndecodableAudioError",
    "UnsupportedCodecError",
    "analyse_audio",
    "decode_audio",
    "extract_lld_sequence",
    "warm_up",
]
