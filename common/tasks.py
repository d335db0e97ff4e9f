"""Retry policy shared by every Celery task: what is worth retrying and how.

Storage and database outages pass, so tasks retry them with jittered exponential back-off;
anything else (bad audio, a malformed file) is a verdict, recorded by the task, never retried.
"""

from django.db import InterfaceError, OperationalError

TRANSIENT_ERRORS = (OSError, OperationalError, InterfaceError)

RETRY_ON_TRANSIENT_ERRORS = {
    "autoretry_for": TRANSIENT_ERRORS,
    "retry_backoff": True,
    "retry_backoff_max": 600,
    "retry_jitter": True,
    "max_retries": 5,
}
