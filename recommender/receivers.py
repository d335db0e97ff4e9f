from __future__ import annotations

import sys

from celery import states
from celery.exceptions import Retry
from celery.signals import task_postrun, task_prerun

from recommender.dashboard.selectors import beat_task_names
from recommender.dashboard.services import record_beat_run_finished, record_beat_run_started
from recommender.models import BeatRunOutcome
from recommender.services import request_mood_refresh


def refresh_mood_after_plays(sender, *, listener_id: int, **kwargs) -> None:
    request_mood_refresh(listener_id=listener_id)


# Runs of beat's tasks, for the dashboard. Celery's task signals fire for every task, on a
# worker and in-process alike (this module is imported by the app's ready(), in every
# process); only beat's tasks are recorded. Celery logs and swallows an exception raised in a
# receiver, so recording never fails the task itself.


@task_prerun.connect(dispatch_uid="recommender-beat-run-start")
def record_beat_run_start(sender=None, *, task_id: str, task, **kwargs) -> None:
    if task.name in beat_task_names():
        record_beat_run_started(task_name=task.name, task_id=task_id)


@task_postrun.connect(dispatch_uid="recommender-beat-run-end")
def record_beat_run_end(
    sender=None, *, task_id: str, task, retval=None, state: str | None = None, **kwargs
) -> None:
    if task.name not in beat_task_names():
        return
    if state is None:
        # Run in-process (no broker), a task's exception propagates to the caller: Celery
        # sends task_postrun from a `finally` while the exception is on its way out, with no
        # state; the exception is the one being raised.
        retval = sys.exc_info()[1]
        state = states.RETRY if isinstance(retval, Retry) else states.FAILURE
    if state == states.SUCCESS:
        record_beat_run_finished(
            task_id=task_id, outcome=BeatRunOutcome.SUCCEEDED, result=_result_text(retval)
        )
    elif state == states.RETRY:
        record_beat_run_finished(
            task_id=task_id, outcome=BeatRunOutcome.RETRYING, error=_error_text(retval)
        )
    else:
        record_beat_run_finished(
            task_id=task_id,
            outcome=BeatRunOutcome.FAILED,
            error=_error_text(retval) if isinstance(retval, BaseException) else state,
        )


def _result_text(retval) -> str:
    return "" if retval is None else repr(retval)


def _error_text(error: BaseException | None) -> str:
    if error is None:
        return "the task failed without an exception"
    if isinstance(error, Retry):
        return str(error)
    return f"{type(error).__name__}: {error}"
