"""Celery tasks of the recommendation domain (inference queue). Each fetches its object and
calls a service."""

from __future__ import annotations

import datetime as dt

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from common.tasks import RETRY_ON_TRANSIENT_ERRORS
from recommender.services import refresh_listener_mood, refresh_recently_active_moods
from users.models import User


@shared_task(**RETRY_ON_TRANSIENT_ERRORS)
def infer_listener_mood(listener_id: int) -> None:
    listener = User.objects.filter(pk=listener_id).first()
    if listener is not None:
        refresh_listener_mood(listener=listener)


@shared_task
def infer_active_listener_moods() -> int:
    since = timezone.now() - dt.timedelta(minutes=settings.MOOD_BATCH_REFRESH_MINUTES)
    return refresh_recently_active_moods(active_since=since)
