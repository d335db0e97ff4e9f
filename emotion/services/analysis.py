"""Extracting and storing each track's feature sequence."""

from __future__ import annotations

import datetime as dt
import logging

import numpy as np
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from catalogue.models import Track
from catalogue.services import record_decoded_duration
from emotion.features import AnalysisError, analyse_audio
from emotion.models import AnalysisStatus, TrackAnalysis
from emotion.selectors import current_feature_set_version, tracks_needing_analysis
from emotion.services.tagging import request_track_tagging

logger = logging.getLogger(__name__)


def request_track_analysis(*, track: Track) -> TrackAnalysis:
    """Mark a track's analysis pending and queue the extraction once the caller commits."""
    from emotion.tasks import analyse_track_audio

    analysis, _ = TrackAnalysis.objects.update_or_create(
        track=track,
        defaults={
            "status": AnalysisStatus.PENDING,
            "failure_reason": "",
            "audio_name": track.audio.name,
            "requested_at": timezone.now(),
        },
    )
    track_id = track.id
    transaction.on_commit(lambda: analyse_track_audio.delay(track_id))
    return analysis


def analysis_is_current(*, analysis: TrackAnalysis, track: Track) -> bool:
    return (
        analysis.status == AnalysisStatus.DONE
        and analysis.feature_set_version == current_feature_set_version()
        and analysis.segment_seconds == settings.AUDIO_SEGMENT_SECONDS
        and analysis.audio_name == track.audio.name
    )


def analyse_track(*, track: Track, force: bool = False) -> TrackAnalysis:
    """Extract and store the feature sequence of one track's audio.

    Idempotent: an analysis that is already current for the track's audio is left alone
    unless ``force`` is given.
    Decoding happens outside any transaction, so a long decode never holds row locks. Bad
    audio, or a failing embedding step, ends in a failed state with its reason (retrying would
    fail the same way); errors that may pass (storage or database
    unavailable) propagate so the task can retry them.
    """
    track_id = track.id
    with transaction.atomic():
        track.refresh_from_db()
        analysis, _ = TrackAnalysis.objects.select_for_update().get_or_create(
            track=track, defaults={"requested_at": timezone.now()}
        )
        if not force and analysis_is_current(analysis=analysis, track=track):
            return analysis
        if not track.audio:
            return _finish_failed(analysis, "the track has no audio file; upload one first")
        analysis.status = AnalysisStatus.RUNNING
        analysis.audio_name = track.audio.name
        analysis.started_at = timezone.now()
        analysis.attempts = F("attempts") + 1
        analysis.save(update_fields=["status", "audio_name", "started_at", "attempts"])
    audio_name = track.audio.name

    try:
        with track.audio.storage.open(audio_name, "rb") as audio_file:
            result = analyse_audio(
                audio_file,
                segment_seconds=settings.AUDIO_SEGMENT_SECONDS,
                max_audio_seconds=settings.AUDIO_MAX_SECONDS,
                feature_set_version=current_feature_set_version(),
            )
    except FileNotFoundError:
        return mark_analysis_failed(
            track_id=track_id,
            audio_name=audio_name,
            reason=f"the audio file {audio_name!r} is missing from storage; upload it again",
        )
    except AnalysisError as error:
        return mark_analysis_failed(track_id=track_id, audio_name=audio_name, reason=error.reason)

    with transaction.atomic():
        analysis = TrackAnalysis.objects.select_for_update().get(track_id=track_id)
        if analysis.audio_name != audio_name:
            # New audio arrived while we decoded; its own task will store the right result.
            return analysis
        analysis.status = AnalysisStatus.DONE
        analysis.failure_reason = ""
        analysis.feature_set_version = result.feature_set_version
        analysis.segment_seconds = result.segment_seconds
        analysis.n_segments = result.features.shape[0]
        analysis.features = np.ascontiguousarray(result.features, dtype=np.float32).tobytes()
        analysis.audio_seconds = result.audio_seconds
        analysis.extraction_cpu_seconds = result.cpu_seconds
        analysis.finished_at = timezone.now()
        analysis.save()
        record_decoded_duration(track_id=track_id, audio_seconds=result.audio_seconds)
        request_track_tagging(track_ids=[track_id])
    logger.info(
        "analysed track audio",
        extra={
            "track_id": track_id,
            "segments": analysis.n_segments,
            "audio_seconds": round(result.audio_seconds, 2),
            "cpu_seconds": round(result.cpu_seconds, 4),
        },
    )
    return analysis


def mark_analysis_failed(*, track_id: int, audio_name: str, reason: str) -> TrackAnalysis:
    with transaction.atomic():
        analysis = TrackAnalysis.objects.select_for_update().get(track_id=track_id)
        if analysis.audio_name != audio_name:
            return analysis
        return _finish_failed(analysis, reason)


def _finish_failed(analysis: TrackAnalysis, reason: str) -> TrackAnalysis:
    analysis.status = AnalysisStatus.FAILED
    analysis.failure_reason = reason
    analysis.features = None
    analysis.n_segments = None
    analysis.finished_at = timezone.now()
    analysis.save()
    logger.warning(
        "track audio analysis failed", extra={"track_id": analysis.track_id, "reason": reason}
    )
    return analysis


def requeue_stalled_and_stale_analyses(*, limit: int = 500) -> int:
    """Queue analyses whose task was lost and tracks whose features are out of date.

    A task can be lost when the broker was down at commit time; a feature-set upgrade leaves
    every stored sequence stale. Both heal here, a bounded batch per run.
    """
    stalled_before = timezone.now() - dt.timedelta(minutes=settings.ANALYSIS_STALL_MINUTES)
    stalled = TrackAnalysis.objects.filter(
        status__in=[AnalysisStatus.PENDING, AnalysisStatus.RUNNING],
        requested_at__lt=stalled_before,
    ).values_list("track_id", flat=True)
    stale = tracks_needing_analysis(which="stale").values_list("id", flat=True)
    track_ids = sorted({*stalled[:limit], *stale[:limit]})[:limit]
    with transaction.atomic():
        for track in Track.objects.filter(id__in=track_ids):
            request_track_analysis(track=track)
    return len(track_ids)
