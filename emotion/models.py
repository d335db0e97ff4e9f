from __future__ import annotations

import numpy as np
from django.db import models

from catalogue.models import Track


class AnalysisStatus(models.TextChoices):
    PENDING = "pending", "pending"
    RUNNING = "running", "running"
    DONE = "done", "done"
    FAILED = "failed", "failed"


class TrackAnalysis(models.Model):
    """The feature sequence extracted from a track's audio, and the state of its extraction.

    ``features`` holds an ``n_segments × dims`` float32 array (C order), ``dims`` being the
    width of the feature set (50 for ``lld50-v1``, 550 for ``lld50-musicnn-v1``). It is only
    meaningful together with ``feature_set_version`` and ``segment_seconds``: consumers ask
    for the current version and never mix vectors of different definitions.
    """

    track = models.OneToOneField(
        Track, on_delete=models.CASCADE, primary_key=True, related_name="analysis"
    )
    status = models.CharField(
        max_length=16, choices=AnalysisStatus.choices, default=AnalysisStatus.PENDING
    )
    failure_reason = models.TextField(blank=True)
    audio_name = models.CharField(
        max_length=500, blank=True, help_text="The stored audio file this analysis is for."
    )
    feature_set_version = models.CharField(max_length=32, blank=True)
    segment_seconds = models.FloatField(null=True, blank=True)
    n_segments = models.PositiveIntegerField(null=True, blank=True)
    features = models.BinaryField(null=True, blank=True, editable=False)
    audio_seconds = models.FloatField(null=True, blank=True)
    extraction_cpu_seconds = models.FloatField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    requested_at = models.DateTimeField()
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "track analyses"
        indexes = [
            models.Index(fields=["status", "requested_at"], name="analysis_status_requested"),
            models.Index(fields=["feature_set_version"], name="analysis_feature_version"),
        ]

    def __str__(self) -> str:
        return f"analysis of {self.track}: {self.status}"

    def feature_matrix(self) -> np.ndarray:
        if self.features is None or self.n_segments is None:
            raise ValueError(f"track {self.track_id} has no extracted features")
        return self.matrix_of(self.features, n_segments=self.n_segments)

    @staticmethod
    def matrix_of(features: bytes | memoryview, *, n_segments: int) -> np.ndarray:
        """The (segments × features) float32 matrix stored in ``features``."""
        return np.frombuffer(bytes(features), dtype=np.float32).reshape(n_segments, -1)


class MoodModelVersion(models.Model):
    """One trained mood model: its artifact, what it predicts and how well it scored.

    At most one version is active (a partial unique index), and services keep exactly one
    active once any exists. The artifact file is self-contained (weights, normalisation,
    labels); the columns here mirror its metadata so admin pages and queries need not open it.
    """

    artifact = models.FileField(upload_to="models/", max_length=500)
    architecture = models.JSONField(help_text="The network's configuration and preset.")
    labels = models.JSONField(help_text="Emotion labels, in the model's output order.")
    display_names = models.JSONField(default=dict)
    feature_set_version = models.CharField(max_length=32)
    segment_seconds = models.FloatField()
    metrics = models.JSONField(
        default=dict,
        blank=True,
        help_text="Held-out metrics (accuracy, macro_f1, per_class, confusion), when measured.",
    )
    evaluated_on = models.JSONField(
        default=dict, blank=True, help_text="The held-out data the metrics come from."
    )
    trained_on = models.JSONField(default=dict, help_text="The data the model was trained on.")
    confusion_image = models.FileField(upload_to="models/", blank=True, max_length=500)
    is_active = models.BooleanField(default=False, editable=False)
    activated_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_active"],
                condition=models.Q(is_active=True),
                name="one_active_mood_model",
            )
        ]

    def __str__(self) -> str:
        state = " (active)" if self.is_active else ""
        return f"mood model v{self.pk}{state}"

    @property
    def macro_f1(self) -> float | None:
        return self.metrics.get("macro_f1")


class ValenceArousalSource(models.TextChoices):
    # The values of ``emotion.ml.valence_arousal.SOURCES``, spelt out so that loading the
    # models does not import torch through ``emotion.ml``.
    MODEL = "model", "the model's valence/arousal head"
    QUADRANT_PROBABILITIES = "quadrant_probabilities", "derived from quadrant probabilities"


class TrackEmotion(models.Model):
    """A track's emotion as tagged by one model version.

    ``probabilities`` maps every label of that version to its probability; ``label`` and
    ``confidence`` are its argmax, kept as columns so "tracks of emotion X, most confident
    first" is one index scan.
    """

    track = models.OneToOneField(
        Track, on_delete=models.CASCADE, primary_key=True, related_name="emotion"
    )
    model_version = models.ForeignKey(
        MoodModelVersion, on_delete=models.CASCADE, related_name="track_emotions"
    )
    label = models.CharField(max_length=64)
    confidence = models.FloatField()
    probabilities = models.JSONField()
    # The track's point in the valence–arousal plane, [0, 1]² (``emotion.ml.valence_arousal``):
    # the model's regression head, or derived from quadrant probabilities; null for a label
    # set that is not the quadrants. Columns, not JSON, so regions are index range scans.
    valence = models.FloatField(null=True, blank=True)
    arousal = models.FloatField(null=True, blank=True)
    valence_arousal_source = models.CharField(
        max_length=32, blank=True, choices=ValenceArousalSource.choices
    )
    tagged_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(
                fields=["model_version", "label", "-confidence"], name="track_emotion_ranking"
            ),
            models.Index(fields=["valence", "arousal"], name="track_emotion_va"),
        ]

    def __str__(self) -> str:
        return f"{self.track}: {self.label} ({self.confidence:.2f})"


class CuratorLabel(models.Model):
    """An emotion a person assigned to a track: the training data of scheduled retraining."""

    track = models.OneToOneField(
        Track, on_delete=models.CASCADE, primary_key=True, related_name="curator_label"
    )
    label = models.CharField(
        max_length=64, help_text="e.g. Q1…Q4, or happy / fresh / relaxed / sad"
    )
    note = models.CharField(max_length=500, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.track}: {self.label}"


class TrainingSource(models.TextChoices):
    CURATOR_LABELS = "curator", "tracks with a curator label"
    DATASET = "dataset", "a dataset folder (metadata.csv)"


class TrainingTrigger(models.TextChoices):
    SCHEDULE = "schedule", "schedule"
    ADMIN = "admin", "admin"
    COMMAND = "command", "command"


class TrainingRunStatus(models.TextChoices):
    QUEUED = "queued", "queued"
    RUNNING = "running", "running"
    PROMOTED = "promoted", "promoted: the new model is active"
    KEPT = "kept", "kept the active model: the new one did not beat it"
    FAILED = "failed", "failed"


class TrainingRun(models.Model):
    """One (re)training attempt and its outcome, whether or not it produced the active model."""

    source = models.CharField(
        max_length=16, choices=TrainingSource.choices, default=TrainingSource.CURATOR_LABELS
    )
    dataset_path = models.CharField(
        max_length=1000, blank=True, help_text="For a dataset source: the folder on the worker."
    )
    label_column = models.CharField(max_length=64, default="quadrant")
    preset = models.CharField(max_length=32, default="default")
    seed = models.IntegerField(default=0)
    trigger = models.CharField(
        max_length=16, choices=TrainingTrigger.choices, default=TrainingTrigger.ADMIN
    )
    status = models.CharField(
        max_length=16, choices=TrainingRunStatus.choices, default=TrainingRunStatus.QUEUED
    )
    stage = models.CharField(max_length=200, blank=True)
    epochs_done = models.PositiveIntegerField(default=0)
    max_epochs = models.PositiveIntegerField(null=True, blank=True)
    baseline_version = models.ForeignKey(
        MoodModelVersion,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The version that was active when the run compared against it.",
    )
    candidate_version = models.ForeignKey(
        MoodModelVersion,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="training_runs",
    )
    candidate_macro_f1 = models.FloatField(null=True, blank=True)
    baseline_macro_f1 = models.FloatField(null=True, blank=True)
    outcome = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"training run {self.pk}: {self.status}"
