from __future__ import annotations

import numpy as np
from django.db import models

from catalogue.models import Track
from emotion.features import N_FEATURES


class AnalysisStatus(models.TextChoices):
    PENDING = "pending", "pending"
    RUNNING = "running", "running"
    DONE = "done", "done"
    FAILED = "failed", "failed"


class TrackAnalysis(models.Model):
    """The LLD sequence extracted from a track's audio, and the state of its extraction.

    ``features`` holds an ``n_segments × 50`` float32 array (C order). It is only meaningful
    together with ``feature_set_version`` and ``segment_seconds``: consumers ask for the
    current version and never mix vectors of different definitions.
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
        return f"analysis of track {self.track_id}: {self.status}"

    def feature_matrix(self) -> np.ndarray:
        if self.features is None or self.n_segments is None:
            raise ValueError(f"track {self.track_id} has no extracted features")
        return np.frombuffer(bytes(self.features), dtype=np.float32).reshape(
            self.n_segments, N_FEATURES
        )
