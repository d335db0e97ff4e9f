"""Segment-level features for the emotion model: the seed's 50 LLDs and musicnn embeddings.

Pure numpy/scipy/librosa/soundfile/torch, no Django: a track's audio goes in, an
``(n_segments, dims)`` float32 matrix comes out. Min–max scaling is not done here; it belongs
to the model, fitted on training data. Start with ``feature_sets`` (which columns a version
holds), ``definition`` (what the 50 LLDs are), ``musicnn`` (the pretrained embeddings), then
``pipeline`` (the entry points).
"""

from .decoding import decode_audio
from .definition import (
    DEFAULT_SEGMENT_SECONDS,
    FEATURE_DEFINITIONS,
    FEATURE_NAMES,
    LLD_FEATURE_SET_VERSION,
    N_LLD_FEATURES,
    SAMPLE_RATE,
    FeatureDefinition,
)
from .errors import (
    AnalysisError,
    AudioTooLongError,
    AudioTooShortError,
    BadAudioError,
    EmbeddingError,
    EmptyAudioError,
    NonFiniteAudioError,
    SilentAudioError,
    UndecodableAudioError,
    UnsupportedCodecError,
)
from .feature_sets import (
    DEFAULT_FEATURE_SET_VERSION,
    FEATURE_SETS,
    LLD_MUSICNN_FEATURE_SET_VERSION,
    FeatureSet,
    feature_set,
)
from .lld import extract_lld_sequence
from .pipeline import FeatureAnalysis, analyse_audio, warm_up
from .segments import MIN_AUDIO_SECONDS

__all__ = [
    "DEFAULT_FEATURE_SET_VERSION",
    "DEFAULT_SEGMENT_SECONDS",
    "FEATURE_DEFINITIONS",
    "FEATURE_NAMES",
    "FEATURE_SETS",
    "LLD_FEATURE_SET_VERSION",
    "LLD_MUSICNN_FEATURE_SET_VERSION",
    "MIN_AUDIO_SECONDS",
    "N_LLD_FEATURES",
    "SAMPLE_RATE",
    "AnalysisError",
    "AudioTooLongError",
    "AudioTooShortError",
    "BadAudioError",
    "EmbeddingError",
    "EmptyAudioError",
    "FeatureAnalysis",
    "FeatureDefinition",
    "FeatureSet",
    "NonFiniteAudioError",
    "SilentAudioError",
    "UndecodableAudioError",
    "UnsupportedCodecError",
    "analyse_audio",
    "decode_audio",
    "extract_lld_sequence",
    "feature_set",
    "warm_up",
]
