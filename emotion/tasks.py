"""Celery tasks of the emotion app. Each one fetches its object and calls a service."""

from __future__ import annotations

import logging

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from celery.signals import worker_process_init
from django.conf import settings

from catalogue.models import Track
from common.tasks import RETRY_ON_TRANSIENT_ERRORS, tasks_run_in_process
from emotion.features import warm_up
from emotion.models import MoodModelVersion, TrainingRun, TrainingRunStatus, TrainingTrigger
from emotion.services.analysis import (
    analyse_track,
    mark_analysis_failed,
    requeue_stalled_and_stale_analyses,
)
from emotion.services.demo_model import (
    DEMO_MODEL_MAX_WAIT_SECONDS,
    DEMO_MODEL_POLL_SECONDS,
    labelled_analyses_to_wait_for,
    train_and_activate_demo_mood_model,
)
from emotion.services.retraining import (
    fail_abandoned_training_runs,
    mark_training_run_failed,
    run_training,
    start_training_run,
)
from emotion.services.tagging import queue_catalogue_tagging_batches, tag_tracks_with_model

logger = logging.getLogger(__name__)


@worker_process_init.connect
def warm_up_feature_extraction(**kwargs) -> None:
    """Pay the one-off costs (numba compilation, lazy imports, the musicnn weights) when a
    worker process starts, not on the first listener's track.

    A failure is logged, never raised: a worker process that cannot start would be restarted
    in a loop, taking every other queue down with it. Tracks then fail one by one with the
    reason, where an operator sees it.
    """
    try:
        seconds = warm_up(feature_set_version=settings.AUDIO_FEATURE_SET)
    except Exception as error:  # noqa: BLE001 - see the docstring
        reason = getattr(error, "reason", None) or f"{type(error).__name__}: {error}"
        logger.error("feature extraction warm-up failed", extra={"reason": reason})
        return
    logger.info("feature extraction warmed up", extra={"seconds": round(seconds, 3)})


@shared_task(**RETRY_ON_TRANSIENT_ERRORS, soft_time_limit=settings.CELERY_TASK_SOFT_TIME_LIMIT)
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


@shared_task
def sweep_abandoned_training_runs() -> int:
    return fail_abandoned_training_runs()


@shared_task(**RETRY_ON_TRANSIENT_ERRORS)
def tag_catalogue(version_id: int) -> int:
    version = MoodModelVersion.objects.filter(pk=version_id).first()
    if version is None:
        return 0
    return queue_catalogue_tagging_batches(version=version)


@shared_task(**RETRY_ON_TRANSIENT_ERRORS)
def tag_track_batch(version_id: int, track_ids: list[int]) -> int:
    version = MoodModelVersion.objects.filter(pk=version_id).first()
    if version is None:
        return 0
    return tag_tracks_with_model(version=version, track_ids=track_ids)


# Acknowledged when it starts, unlike every other task (acks_late). A run may take hours, past
# RabbitMQ's consumer_timeout (30 min by default), which would close the worker's channel and
# hand its deliveries out again; and the TrainingRun records its own state, so a redelivered
# run was never started again anyway (it is no longer queued).
@shared_task(
    acks_late=False,
    soft_time_limit=settings.MOOD_MODEL_TRAINING_TIME_LIMIT,
    time_limit=settings.MOOD_MODEL_TRAINING_TIME_LIMIT
    + settings.MOOD_MODEL_TRAINING_HARD_LIMIT_MARGIN,
)
def train_mood_model_run(run_id: int) -> None:
    run = TrainingRun.objects.filter(pk=run_id, status=TrainingRunStatus.QUEUED).first()
    if run is None:
        logger.info("training run already taken or deleted", extra={"run": run_id})
        return
    try:
        run_training(run=run)
    except SoftTimeLimitExceeded:
        mark_training_run_failed(
            run=run,
            reason=(
                f"training took longer than {settings.MOOD_MODEL_TRAINING_TIME_LIMIT} s and was "
                "stopped; raise MOOD_MODEL_TRAINING_TIME_LIMIT or choose a smaller preset"
            ),
        )


@shared_task(bind=True, max_retries=DEMO_MODEL_MAX_WAIT_SECONDS // DEMO_MODEL_POLL_SECONDS)
def train_demo_mood_model(self) -> None:
    """Train the demo model once the labelled tracks' analyses are finished.

    A retry with a countdown is the wait: it holds no worker process while the audio queue
    works. In-process (no broker) the analyses ran when the catalogue was stored, so there
    is nothing to wait for.
    """
    waiting = labelled_analyses_to_wait_for()
    if waiting and not tasks_run_in_process():
        if self.request.retries >= self.max_retries:
            logger.warning(
                "no demo mood model: gave up waiting for the analyses of labelled tracks; "
                "run seed_demo again once they are done",
                extra={"analyses": waiting, "waited_seconds": DEMO_MODEL_MAX_WAIT_SECONDS},
            )
            return
        logger.info("demo mood model waits for analyses", extra={"analyses": waiting})
        raise self.retry(countdown=DEMO_MODEL_POLL_SECONDS)
    train_and_activate_demo_mood_model()


@shared_task
def retrain_mood_model_on_schedule() -> int:
    run = start_training_run(
        source=settings.MOOD_MODEL_TRAINING_SOURCE,
        dataset_path=settings.MOOD_MODEL_TRAINING_DATASET,
        label_column=settings.MOOD_MODEL_TRAINING_LABEL_COLUMN,
        preset=settings.MOOD_MODEL_TRAINING_PRESET,
        trigger=TrainingTrigger.SCHEDULE,
    )
    return run.pk
