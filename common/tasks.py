"""Retry policy shared by every Celery task: what is worth retrying and how; whether tasks
run in-process (no broker); and how sweeps fail work that no task will finish.

Storage and database outages pass, so tasks retry them with jittered exponential back-off;
anything else (bad audio, a malformed file) is a verdict, recorded by the task, never retried.
"""

from collections.abc import Callable
from typing import TypeVar

from celery import current_app
from django.db import InterfaceError, OperationalError, transaction
from django.db.models import Model, QuerySet

M = TypeVar("M", bound=Model)

TRANSIENT_ERRORS = (OSError, OperationalError, InterfaceError)

RETRY_ON_TRANSIENT_ERRORS = {
    "autoretry_for": TRANSIENT_ERRORS,
    "retry_backoff": True,
    "retry_backoff_max": 600,
    "retry_jitter": True,
    "max_retries": 5,
}


def tasks_run_in_process() -> bool:
    """True without a broker: every task then runs at once, where it is queued, and a
    ``countdown`` is ignored, so anything that relies on a delay must decide for itself."""
    return bool(current_app.conf.task_always_eager)


def fail_abandoned_rows(
    abandoned: QuerySet[M], *, limit: int, fail: Callable[[M], object]
) -> list[M]:
    """Fail a bounded batch of rows that no task will finish (``fail`` records the reason);
    returns them. A row an attempt still holds locked is alive, not abandoned: it is skipped.
    """
    with transaction.atomic():
        rows = list(abandoned.select_for_update(skip_locked=True).order_by("id")[:limit])
        for row in rows:
            fail(row)
    return rows
