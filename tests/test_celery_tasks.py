"""The project's Celery tasks: what beat schedules, and which tasks are acknowledged late.

RabbitMQ, the production broker, closes a channel whose delivery stays unacknowledged past its
``consumer_timeout`` (30 min by default) and hands every delivery of that channel out again. A
late-acked task is unacknowledged while it runs, so each must end well before that.
"""

from __future__ import annotations

from django.conf import settings

from recommender.celery import app as celery_app

RABBITMQ_DEFAULT_CONSUMER_TIMEOUT_SECONDS = 30 * 60
PROJECT_APPS = {"catalogue", "common", "emotion", "listening", "recommender", "users"}


def project_tasks() -> dict:
    celery_app.loader.import_default_modules()
    return {
        name: task
        for name, task in celery_app.tasks.items()
        if name.split(".", 1)[0] in PROJECT_APPS
    }


def test_every_late_acknowledged_task_ends_before_rabbitmqs_default_consumer_timeout():
    tasks = project_tasks()
    assert "emotion.tasks.analyse_track_audio" in tasks
    too_long = {
        name: task.time_limit
        for name, task in tasks.items()
        if task.acks_late
        and (task.time_limit or settings.CELERY_TASK_TIME_LIMIT)
        >= RABBITMQ_DEFAULT_CONSUMER_TIMEOUT_SECONDS
    }
    assert too_long == {}


def test_analysis_is_acknowledged_late_and_training_when_it_starts():
    tasks = project_tasks()
    analysis = tasks["emotion.tasks.analyse_track_audio"]
    assert analysis.acks_late and analysis.reject_on_worker_lost
    assert not tasks["emotion.tasks.train_mood_model_run"].acks_late


def test_every_beat_entry_names_a_registered_task():
    tasks = project_tasks()
    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {"emotion.tasks.requeue_stalled_analyses", "listening.tasks.sweep_imports"} <= scheduled
    assert scheduled - set(tasks) == set()
