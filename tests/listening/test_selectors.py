import datetime as dt

from django.utils import timezone

from listening.selectors import most_played_tracks
from tests.factories import PlayFactory, TrackFactory
from tests.listening.conftest import described_play, record


def test_most_played_tracks_counts_within_the_window_and_breaks_ties_by_recency(listener):
    now = timezone.now()
    week_ago = now - dt.timedelta(days=7)
    often, recent_tie, older_tie, outside = TrackFactory.create_batch(4)
    for minutes in (10, 20, 30):
        PlayFactory(listener=listener, track=often, played_at=now - dt.timedelta(minutes=minutes))
    PlayFactory(listener=listener, track=recent_tie, played_at=now - dt.timedelta(hours=1))
    PlayFactory(listener=listener, track=older_tie, played_at=now - dt.timedelta(days=2))
    # Exactly at the start of the window counts; just before it does not.
    PlayFactory(listener=listener, track=older_tie, played_at=week_ago)
    PlayFactory(listener=listener, track=recent_tie, played_at=week_ago + dt.timedelta(hours=1))
    PlayFactory(listener=listener, track=outside, played_at=week_ago - dt.timedelta(seconds=1))
    PlayFactory(track=outside, played_at=now - dt.timedelta(minutes=1))

    top = most_played_tracks(listener=listener, since=week_ago, until=now, limit=10)

    assert [(entry.track_id, entry.plays) for entry in top] == [
        (often.id, 3),
        (recent_tie.id, 2),
        (older_tie.id, 2),
    ]
    assert len(most_played_tracks(listener=listener, since=week_ago, until=now, limit=1)) == 1


def test_most_played_tracks_ignores_unmatched_plays(listener):
    now = timezone.now()
    track = TrackFactory()
    PlayFactory(listener=listener, track=track, played_at=now - dt.timedelta(hours=1))
    record(
        listener,
        *[described_play(i, title="Not In Catalogue", artist="Band") for i in range(3)],
    )

    top = most_played_tracks(
        listener=listener, since=now - dt.timedelta(days=7), until=now, limit=10
    )

    assert [(entry.track_id, entry.plays) for entry in top] == [(track.id, 1)]
