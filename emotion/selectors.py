"""Reads of the emotion app."""

from __future__ import annotations

from django.conf import settings
from django.db.models import Count, QuerySet

from emotion.features import FEATURE_SET_VERSION
from emotion.models import AnalysisStatus, TrackAnalysis


def current_analyses() -> QuerySet[TrackAnalysis]:
    """Analyses whose features match the running feature definition; never mix versions."""
    return TrackAnalysis.objects.filter(
        status=AnalysisStatus.DONE,
        feature_set_version=FEATURE_SET_VERSION,
        segment_seconds=settings.AUDIO_SEGMENT_SECONDS,
    )


def analysis_status_counts() -> dict[str, int]:
    rows = TrackAnalysis.objects.values("status").annotate(n=Count("track_id"))
    return {row["status"]: row["n"] for row in rows}
