from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from listening.matching import TrackMetadata
from listening.services import PlayCandidate, record_plays
from listening.signals import plays_recorded


def described_play(
    index: int = 0,
    *,
    played_at: dt.datetime | None = None,
    title: str = "Unknown Song",
    artist: str = "Nobody",
    album: str = "",
    mbid=None,
    isrc: str = "",
) -> PlayCandidate:
    return PlayCandidate(
        index=index,
        played_at=played_at or timezone.now() - dt.timedelta(hours=1, minutes=index),
        metadata=TrackMetadata.clean(
            track_name=title, artist_name=artist, release_name=album, recording_mbid=mbid, isrc=isrc
        ),
        client="test",
    )


def record(listener, *candidates: PlayCandidate):
    return record_plays(listener=listener, candidates=list(candidates))


@pytest.fixture
def plays_recorded_calls():
    calls: list[dict] = []

    def receiver(sender, signal, **kwargs):
        calls.append(kwargs)

    plays_recorded.connect(receiver, dispatch_uid="test-plays-recorded")
    yield calls
    plays_recorded.disconnect(dispatch_uid="test-plays-recorded")
