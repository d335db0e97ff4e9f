"""Retry policy shared by every Celery task: what is worth retrying and how; and whether
tasks run in-process (no broker).

Storage and database outages pass, so tasks retry them with jittered exponential back-off;
anything else (bad audio, a malformed file) is a verdict, recorded by the task, never retried.
"""

from celery import current_app
from django.db import InterfaceError, OperationalError

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
