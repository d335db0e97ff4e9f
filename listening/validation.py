"""Rules a play's time must follow, whichever way the play arrives."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

# A client clock a little ahead of ours is normal; a play hours in the future is a bug.
ALLOWED_CLOCK_SKEW = dt.timedelta(minutes=5)
EARLIEST_PLAY = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


def played_at_problem(played_at: dt.datetime) -> str | None:
    """Why a play cannot have happened at ``played_at``, or None when it can."""
    if played_at > timezone.now() + ALLOWED_CLOCK_SKEW:
        return "played_at is in the future; check the clock"
    if played_at < EARLIEST_PLAY:
        return "played_at is before 2000-01-01"
    return None
