"""Reads of the emotion app."""

from __future__ import annotations

from django.conf import settings
from django.db.models import Q, QuerySet

from catalogue.models import Track
from emotion.features import FEATURE_SET_VERSION
from emotion.models import AnalysisStatus


def tracks_needing_analysis(*, which: str) -> QuerySet[Track]:
    """Tracks with audio that need (re)analysis, oldest first.

    ``all``: every track with audio. ``failed``: analyses that failed. ``stale``: tracks never
    analysed, or analysed with another feature-set version or segment length.
    """
    tracks = Track.objects.exclude(audio="").order_by("id")
    if which == "all":
        return tracks
    if which == "failed":
        return tracks.filter(analysis__status=AnalysisStatus.FAILED)
    if which == "stale":
        current_definition = Q(
            analysis__feature_set_version=FEATURE_SET_VERSION,
            analysis__segment_seconds=settings.AUDIO_SEGMENT_SECONDS,
        )
        return tracks.filter(
            Q(analysis__isnull=True)
            | (Q(analysis__status=AnalysisStatus.DONE) & ~current_definition)
        )
    raise ValueError(f"unknown selection {which!r}; use all, failed or stale")
