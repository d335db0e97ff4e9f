"""``plays_recorded`` tells subscribers (the recommender) that a listener has new plays."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from listening.services import PlayCandidate, record_plays
from listening.signals import plays_recorded
from tests.factories import TrackFactory
from tests.listening.conftest import described_play

URL = "/api/v1/plays/"


def iso(moment: dt.datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def test_it_is_sent_once_per_batch_after_the_commit(
    listener, plays_recorded_calls, django_capture_on_commit_callbacks
):
    track = TrackFactory()
    now = timezone.now()
    candidates = [
        PlayCandidate(index=0, track_id=track.id, played_at=now - dt.timedelta(minutes=5)),
        described_play(1),
        described_play(2),
    ]
    with django_capture_on_commit_callbacks(execute=False) as callbacks, transaction.atomic():
        record_plays(listener=listener, candidates=candidates)
    assert plays_recorded_calls == []  # nothing before the commit

    for callback in callbacks:
        callback()
    assert plays_recorded_calls == [{"listener_id": listener.id, "count": 3}]


def test_it_is_not_sent_when_nothing_new_was_stored(
    listener_client, listener, plays_recorded_calls, django_capture_on_commit_callbacks
):
    track = TrackFactory()
    item = {"track": track.id, "played_at": iso(timezone.now() - dt.timedelta(minutes=5))}
    with django_capture_on_commit_callbacks(execute=True):
        listener_client.post(URL, {"plays": [item]}, format="json")
    with django_capture_on_commit_callbacks(execute=True):
        listener_client.post(URL, {"plays": [item, {"track": 999_999, **item}]}, format="json")
    assert [call["count"] for call in plays_recorded_calls] == [1]


def test_a_failing_subscriber_does_not_fail_the_request(
    listener_client, listener, django_capture_on_commit_callbacks
):
    def broken(sender, **kwargs):
        raise RuntimeError("subscriber bug")

    plays_recorded.connect(broken, dispatch_uid="broken")
    try:
        track = TrackFactory()
        item = {"track": track.id, "played_at": iso(timezone.now() - dt.timedelta(minutes=5))}
        with django_capture_on_commit_callbacks(execute=True):
            response = listener_client.post(URL, {"plays": [item]}, format="json")
        assert response.status_code == 200
    finally:
        plays_recorded.disconnect(dispatch_uid="broken")
