"""Writes of the dashboard: recording the runs of beat's tasks (``recommender.receivers``
calls these from Celery's task signals)."""

from __future__ import annotations

from django.utils import timezone

from recommender.models import BeatRun, BeatRunOutcome

# Enough to see a pattern (one failure in twenty, runs getting slower) on the dashboard while
# the table stays a few hundred rows, whatever the uptime.
BEAT_RUNS_KEPT_PER_TASK = 20
RESULT_MAX_LENGTH = BeatRun._meta.get_field("result").max_length
ERROR_MAX_LENGTH = 2000


def record_beat_run_started(*, task_name: str, task_id: str) -> BeatRun:
    """A new run of ``task_name``; the task's runs beyond the latest
    ``BEAT_RUNS_KEPT_PER_TASK`` are deleted."""
    run = BeatRun.objects.create(task_name=task_name, task_id=task_id, started_at=timezone.now())
    older = (
        BeatRun.objects.filter(task_name=task_name)
        .order_by("-started_at", "-id")
        .values_list("pk", flat=True)[BEAT_RUNS_KEPT_PER_TASK:]
    )
    BeatRun.objects.filter(pk__in=list(older)).delete()
    return run


def record_beat_run_finished(
    *, task_id: str, outcome: BeatRunOutcome, result: str = "", error: str = ""
) -> BeatRun | None:
    """End the latest running run of ``task_id``; None if its start was not recorded.

    A retry runs under the same task id and starts a run of its own. Without a broker the
    retry runs inside the first attempt and ends before it, and a run whose worker died stays
    running: the latest running row is always the one ending.
    """
    run = (
        BeatRun.objects.filter(task_id=task_id, outcome=BeatRunOutcome.RUNNING)
        .order_by("-started_at", "-id")
        .first()
    )
    if run is None:
        return None
    run.finished_at = timezone.now()
    run.outcome = outcome
    run.result = result[:RESULT_MAX_LENGTH]
    run.error = error[:ERROR_MAX_LENGTH]
    run.save(update_fields=["finished_at", "outcome", "result", "error"])
    return run
