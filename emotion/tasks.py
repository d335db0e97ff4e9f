"""Celery tasks of the emotion app. Each one fetches its object and calls a service."""

from __future__ import annotations

import logging

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from celery.signals import worker_process_init
from django.conf import settings
from django.db import InterfaceError, OperationalError

from catalogue.models import Track
from emotion.features import warm_up
from emotion.services import (
    analyse_track,
    mark_analysis_failed,
    requeue_stalled_and_stale_analyses,
)

logger = logging.getLogger(__name__)

# Storage and database outages pass; bad audio does not, and is never retried.
TRANSIENT_ERRORS = (OSError, OperationalError, InterfaceError)


@worker_process_init.connect
def warm_up_feature_extraction(**kwargs) -> None:
    """Pay the one-off costs (numba compilation, lazy imports) when a worker process starts,
    not on the first listener's track."""
    seconds = warm_up()
    logger.info("feature extraction warmed up", extra={"seconds": round(seconds, 3)})


@shared_task(
    autoretry_for=TRANSIENT_ERRORS,
    retry_backoff=True,
    retry_backoff_max=600,
    retry_jitter=True,
    max_retries=5,
    soft_time_limit=settings.CELERY_TASK_SOFT_TIME_LIMIT,
)
def analyse_track_audio(track_id: int) -> None:
    try:
        track = Track.objects.get(pk=track_id)
    except Track.DoesNotExist:
        logger.info("track deleted before analysis", extra={"track_id": track_id})
        return
    try:
        analyse_track(track=track)
    except SoftTimeLimitExceeded:
        mark_analysis_failed(
            track_id=track.id,
            audio_name=track.audio.name,
            reason=(
                f"analysis took longer than {settings.CELERY_TASK_SOFT_TIME_LIMIT} s and was "
                "stopped; the file may be damaged or far longer than its header says"
            ),
        )


@shared_task
def requeue_stalled_analyses() -> int:
    return requeue_stalled_and_stale_analyses()
