from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, Max, QuerySet

from listening.models import ImportJob, Play
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
    plays = Play.objects.filter(
        listener=listener, played_at__gte=since, played_at__lt=until, track__isnull=False
    )
    if own_choices_only:
        plays = plays.filter(chosen_by_user=True)
    rows = (
        plays.values("track_id")
        .annotate(plays=Count("id"), last_played_at=Max("played_at"))
        .order_by("-plays", "-last_played_at", "track_id")[:limit]
    )
    return [TrackPlayCount(**row) for row in rows]


def list_import_jobs(*, listener: User) -> QuerySet[ImportJob]:
    """A listener's own import jobs, newest first."""
    return ImportJob.objects.filter(listener=listener)
