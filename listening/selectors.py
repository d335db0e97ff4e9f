from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Count, F, Max, QuerySet, Window
from django.db.models.functions import RowNumber

from listening.models import ImportJob, ImportStatus, Play
from users.models import User


def list_plays(
    *,
    listener: User,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    chosen_by_user: bool | None = None,
) -> QuerySet[Play]:
    """A listener's own plays, matched or not, newest first; ``since`` is inclusive, ``until``
    exclusive; ``chosen_by_user`` keeps only own choices (true) or recommended plays (false)."""
    plays = Play.objects.filter(listener=listener).select_related("track")
    if chosen_by_user is not None:
        plays = plays.filter(chosen_by_user=chosen_by_user)
    if since is not None:
        plays = plays.filter(played_at__gte=since)
    if until is not None:
        plays = plays.filter(played_at__lt=until)
    return plays


@dataclass(frozen=True)
class TrackPlayCount:
    track_id: int
    plays: int
    last_played_at: dt.datetime


def most_played_tracks(
    *,
    listener: User,
    since: dt.datetime,
    until: dt.datetime,
    limit: int,
    own_choices_only: bool = False,
) -> list[TrackPlayCount]:
    """The listener's most played tracks in [since, until), ties going to the latest play.

    Unmatched plays are left out: they have no catalogue track, so nothing to analyse.
    ``own_choices_only`` also leaves out plays that came from recommendations.
    """
    return most_played_tracks_of_listeners(
        listener_ids=[listener.pk],
        since=since,
        until=until,
        limit=limit,
        own_choices_only=own_choices_only,
    )[listener.pk]


def most_played_tracks_of_listeners(
    *,
    listener_ids: Collection[int],
    since: dt.datetime,
    until: dt.datetime,
    limit: int,
    own_choices_only: bool = False,
) -> dict[int, list[TrackPlayCount]]:
    """``most_played_tracks`` of many listeners in one query: listener id -> their top tracks
    (an empty list for a listener without plays in the window).

    Counted per (listener, track), ranked within each listener by a window function, and cut at
    ``limit`` in the database, so a batch of listeners costs one round trip, not one each.
    """
    tops: dict[int, list[TrackPlayCount]] = {listener_id: [] for listener_id in listener_ids}
    if not tops:
        return tops
    plays = Play.objects.filter(
        listener_id__in=tops, played_at__gte=since, played_at__lt=until, track__isnull=False
    )
    if own_choices_only:
        plays = plays.filter(chosen_by_user=True)
    rows = (
        plays.values("listener_id", "track_id")
        # COUNT(*), not COUNT(id): the id is not in the index, and counting it would read
        # every play's row from the table instead of the index alone.
        .annotate(plays=Count("*"), last_played_at=Max("played_at"))
        .annotate(
            rank=Window(
                RowNumber(),
                partition_by=[F("listener_id")],
                order_by=[F("plays").desc(), F("last_played_at").desc(), F("track_id").asc()],
            )
        )
        .filter(rank__lte=limit)
        .order_by("listener_id", "rank")
    )
    for row in rows:
        tops[row["listener_id"]].append(
            TrackPlayCount(
                track_id=row["track_id"], plays=row["plays"], last_played_at=row["last_played_at"]
            )
        )
    return tops


def list_import_jobs(*, listener: User) -> QuerySet[ImportJob]:
    """A listener's own import jobs, newest first."""
    return ImportJob.objects.filter(listener=listener)


def stalled_import_jobs(*, now: dt.datetime) -> QuerySet[ImportJob]:
    """Running imports whose last attempt started more than ``IMPORT_STALL_MINUTES`` ago: an
    attempt ends within the task time limit, so no task is left to finish them."""
    started_before = now - dt.timedelta(minutes=settings.IMPORT_STALL_MINUTES)
    return ImportJob.objects.filter(status=ImportStatus.RUNNING, started_at__lt=started_before)


def import_files_due_for_deletion(*, now: dt.datetime) -> QuerySet[ImportJob]:
    """Finished imports whose uploaded file ``IMPORT_FILE_RETENTION`` says must go."""
    retention = settings.IMPORT_FILE_RETENTION
    with_file = ImportJob.objects.exclude(file="")
    if retention == "keep":
        return with_file.none()
    if retention == "delete-on-success":
        return with_file.filter(status=ImportStatus.DONE)
    return with_file.filter(
        status__in=[ImportStatus.DONE, ImportStatus.FAILED],
        finished_at__lt=now - dt.timedelta(days=retention),
    )
