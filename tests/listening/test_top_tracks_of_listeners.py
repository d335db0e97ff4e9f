"""Top tracks of the week for a batch of listeners: one query, the same lists as one query per
listener."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from django.db import connection
from django.db.models import Count, Max
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from listening.models import Play
from listening.selectors import TrackPlayCount, most_played_tracks_of_listeners
from tests.factories import ListenerFactory, PlayFactory, TrackFactory
from tests.listening.conftest import described_play, record


def one_query_per_listener(listener_id, *, since, until, limit, own_choices_only):
    """The selector as it was: ORDER BY … LIMIT for one listener."""
    plays = Play.objects.filter(
        listener_id=listener_id, played_at__gte=since, played_at__lt=until, track__isnull=False
    )
    if own_choices_only:
        plays = plays.filter(chosen_by_user=True)
    rows = (
        plays.values("track_id")
        .annotate(plays=Count("id"), last_played_at=Max("played_at"))
        .order_by("-plays", "-last_played_at", "track_id")[:limit]
    )
    return [TrackPlayCount(**row) for row in rows]


@pytest.mark.parametrize("own_choices_only", [False, True])
def test_a_batch_gets_each_listeners_own_top_tracks_in_one_query(db, own_choices_only):
    rng = random.Random(7)
    now = timezone.now()
    week_ago = now - dt.timedelta(days=7)
    tracks = TrackFactory.create_batch(13)
    listeners = ListenerFactory.create_batch(6)
    moments = [week_ago - dt.timedelta(seconds=1), week_ago, now - dt.timedelta(seconds=1), now]
    for listener in listeners[:5]:
        minutes = rng.sample(range(1, 15_000), 40)  # distinct: a play is unique per time
        for i in range(40):
            at_edge = i % 8 == 0  # the window's edges, each with a track of its own
            PlayFactory(
                listener=listener,
                track=tracks[8 + i // 8] if at_edge else rng.choice(tracks[:8]),
                played_at=moments[i // 8 % 4]
                if at_edge
                else now - dt.timedelta(minutes=minutes[i]),
                chosen_by_user=rng.random() < 0.7,
            )
        record(listener, described_play(0, title="Not In Catalogue", artist="Band"))
    # listeners[5] played nothing in the window.
    PlayFactory(listener=listeners[5], track=tracks[0], played_at=now - dt.timedelta(days=9))
    ids = [listener.pk for listener in listeners]
    window = {"since": week_ago, "until": now, "limit": 5, "own_choices_only": own_choices_only}

    with CaptureQueriesContext(connection) as captured:
        tops = most_played_tracks_of_listeners(listener_ids=ids, **window)

    assert len(captured) == 1
    assert tops == {pk: one_query_per_listener(pk, **window) for pk in ids}
    assert tops[ids[5]] == []
    assert all(len(tops[pk]) == 5 for pk in ids[:5])


def test_no_listeners_need_no_query(db, django_assert_num_queries):
    now = timezone.now()
    with django_assert_num_queries(0):
        assert most_played_tracks_of_listeners(listener_ids=[], since=now, until=now, limit=3) == {}
