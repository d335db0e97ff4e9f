from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, Max, QuerySet

from listening.models import ImportJob, Play
from users.models import User


def list_plays(
    *, listener: User, since: dt.datetime | None = None, until: dt.datetime | None = None
) -> QuerySet[Play]:
    """A listener's own plays, matched or not, newest first; ``since`` is inclusive, ``until``
    exclusive."""
    plays = Play.objects.filter(listener=listener).select_related("track")
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
    *, listener: User, since: dt.datetime, until: dt.datetime, limit: int
) -> list[TrackPlayCount]:
    """The listener's most played tracks in [since, until), ties going to the latest play.

    Unmatched plays are left out: they have no catalogue track, so nothing to analyse.
    """
    rows = (
        Play.objects.filter(
            listener=listener, played_at__gte=since, played_at__lt=until, track__isnull=False
        )
        .values("track_id")
        .annotate(plays=Count("id"), last_played_at=Max("played_at"))
        .order_by("-plays", "-last_played_at", "track_id")[:limit]
    )
    return [TrackPlayCount(**row) for row in rows]


def list_import_jobs(*, listener: User) -> QuerySet[ImportJob]:
    """A listener's own import jobs, newest first."""
    return ImportJob.objects.filter(listener=listener)
