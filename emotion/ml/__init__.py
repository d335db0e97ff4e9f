"""Mood classification from LLD sequences: LSTM + attention (seed 002 §2.2).

Pure Python + torch + numpy + scikit-learn, no Django. Modules:

- ``model``          architecture (:class:`ModelConfig`, :class:`MoodLSTM`)
- ``normalisation``  min–max scaling fitted on training data, carried by the model
- ``augmentation``   feature-space crops / gain / noise
- ``training``       :func:`train_mood_model`, presets, :class:`TrainedMoodModel`
- ``artifact``       one-file safetensors artifact, :func:`save_artifact` / :func:`load_artifact`
- ``inference``      :func:`tag_tracks`, :func:`average_sequences`
- ``evaluation``     metrics, artist-grouped CV, baselines on identical folds, plots
- ``datasets``       ``metadata.csv`` folders → cached LLD sequences
"""

from emotion.ml.artifact import (
    ArtifactError,
    ArtifactMismatchError,
    load_artifact,
    read_artifact_metadata,
    save_artifact,
)
from emotion.ml.inference import MoodPrediction, average_sequences, tag_tracks
from emotion.ml.labels import DEFAULT_LABELS, DISPLAY_NAMES, display_name
from emotion.ml.metrics import classification_metrics
from emotion.ml.model import ModelConfig, MoodLSTM
from emotion.ml.training import (
    PRESETS,
    TrainedMoodModel,
    TrainingConfig,
    predict_proba,
    train_mood_model,
    train_on_dataset,
)

__all__ = [
    "DEFAULT_LABELS",
    "DISPLAY_NAMES",
    "PRESETS",
    "ArtifactError",
    "ArtifactMismatchError",
    "ModelConfig",
    "MoodLSTM",
    "MoodPrediction",
    "TrainedMoodModel",
    "TrainingConfig",
    "average_sequences",
    "classification_metrics",
    "display_name",
    "load_artifact",
    "predict_proba",
    "read_artifact_metadata",
    "save_artifact",
    "tag_tracks",
    "train_mood_model",
    "train_on_dataset",
]
