"""Mood classification from per-segment feature sequences.

Pure Python + torch + numpy + scikit-learn, no Django. Modules:

- ``architectures``  the registry: architecture name → config class → torch module
- ``model``          the seed's LSTM + attention (:class:`ModelConfig`, :class:`MoodLSTM`)
- ``pooled``         a pooled head: statistics over segments → logistic regression / MLP
- ``ensemble``       several trained models in one artifact, probabilities averaged
- ``presets``        named configurations (architecture, feature blocks, hyper-parameters)
- ``normalisation``  min–max scaling fitted on training data, carried by the model
- ``augmentation``   feature-space crops / gain / noise
- ``training``       :func:`train_mood_model` for every architecture, :class:`TrainedMoodModel`
- ``artifact``       one-file safetensors artifact, :func:`save_artifact` / :func:`load_artifact`
- ``inference``      :func:`tag_tracks`, :func:`average_sequences`
- ``evaluation``     metrics, artist-grouped CV, baselines on identical folds, plots
- ``datasets``       ``metadata.csv`` folders → cached feature sequences
"""

from emotion.ml.architectures import ARCHITECTURES, ENSEMBLE, get_architecture
from emotion.ml.artifact import (
    ArtifactError,
    ArtifactMismatchError,
    MoodModel,
    load_artifact,
    read_artifact_metadata,
    save_artifact,
)
from emotion.ml.ensemble import EnsembleMoodModel
from emotion.ml.inference import MoodPrediction, average_sequences, tag_tracks
from emotion.ml.labels import DEFAULT_LABELS, DISPLAY_NAMES, display_name
from emotion.ml.metrics import classification_metrics
from emotion.ml.model import ModelConfig, MoodLSTM
from emotion.ml.presets import DEFAULT_PRESET, PRESETS, resolve_config
from emotion.ml.training import (
    EnsembleConfig,
    TrainedMoodModel,
    TrainingConfig,
    predict_proba,
    train_mood_model,
    train_on_dataset,
)

__all__ = [
    "ARCHITECTURES",
    "DEFAULT_LABELS",
    "DEFAULT_PRESET",
    "DISPLAY_NAMES",
    "ENSEMBLE",
    "PRESETS",
    "ArtifactError",
    "ArtifactMismatchError",
    "EnsembleConfig",
    "EnsembleMoodModel",
    "ModelConfig",
    "MoodLSTM",
    "MoodModel",
    "MoodPrediction",
    "TrainedMoodModel",
    "TrainingConfig",
    "average_sequences",
    "classification_metrics",
    "display_name",
    "get_architecture",
    "load_artifact",
    "predict_proba",
    "read_artifact_metadata",
    "resolve_config",
    "save_artifact",
    "tag_tracks",
    "train_mood_model",
    "train_on_dataset",
]
