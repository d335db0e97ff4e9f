"""Celery tasks of the listening app. Each one fetches its object and calls a service."""

from __future__ import annotations

import logging

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import IntegrityError

from catalogue.models import Track
from common.tasks import RETRY_ON_TRANSIENT_ERRORS, TRANSIENT_ERRORS
from listening.models import ImportJob
from listening.services import (
    attach_all_waiting_plays,
    delete_expired_import_files,
    fail_stalled_imports,
    mark_import_failed,
    run_import,
)

logger = logging.getLogger(__name__)


@shared_task(bind=True, **RETRY_ON_TRANSIENT_ERRORS)
def run_import_job(self, job_id: int) -> None:
    try:
        job = ImportJob.objects.get(pk=job_id)
    except ImportJob.DoesNotExist:
        logger.info("import job deleted before it ran", extra={"job_id": job_id})
        return
    try:
        run_import(job=job)
    except SoftTimeLimitExceeded:
        mark_import_failed(
            job=job,
            reason=(
                f"the import took longer than {settings.CELERY_TASK_SOFT_TIME_LIMIT} s and was "
                "stopped; nothing was stored. Split the file into smaller ones."
            ),
        )
    except TRANSIENT_ERRORS as error:
        if self.request.retries >= self.max_retries:
            # The last attempt: say why while the job can still be reached. If the database
            # is what failed, this fails too, and the sweep (sweep_imports) fails the job.
            mark_import_failed(
                job=job,
                reason=(
                    f"storage or the database stayed unavailable through {self.max_retries + 1} "
                    f"attempts ({type(error).__name__}: {error}); nothing was stored. Upload the "
                    "file again later."
                ),
            )
        raise
    except Exception:
        mark_import_failed(
            job=job,
            reason=(
                "the import stopped on an unexpected error and nothing was stored; try again, "
                "and report it if it happens again"
            ),
        )
        raise


@shared_task
def sweep_imports() -> dict[str, int]:
    return {
        "failed_stalled": fail_stalled_imports(),
        "deleted_files": delete_expired_import_files(),
    }


# A concurrent attach of the same plays can collide on the unique play keys; a retry sees
# the winner's result and moves on.
@shared_task(**{**RETRY_ON_TRANSIENT_ERRORS, "autoretry_for": (*TRANSIENT_ERRORS, IntegrityError)})
def attach_waiting_plays_to_track(track_id: int, after_id: int = 0) -> None:
    try:
        track = Track.objects.get(pk=track_id)
    except Track.DoesNotExist:
        return
    attach_all_waiting_plays(track=track, after_id=after_id)
