"""Batch mood inference costs a fixed number of queries, not two or more per listener, and
gives every kind of listener the mood it gave one at a time."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from recommender.models import ListenerMoodState, MoodBasis, MoodSnapshot
from recommender.services import declare_mood, infer_listener_moods
from tests.factories import ListenerFactory, PlayFactory

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 6, 15, 12, 0, tzinfo=dt.UTC)


def play(listener, track, *, times: int, at: dt.datetime) -> None:
    for i in range(times):
        PlayFactory(listener=listener, track=track, played_at=at - dt.timedelta(minutes=i))


def mixed_listeners(mood_catalogue, n: int) -> list:
    """Listeners of every kind, in turn: inferred from plays, declared, last known (plays
    older than the window), nothing at all, and one whose mood changes from a stored one."""
    listeners = []
    for index in range(n):
        listener = ListenerFactory()
        kind = index % 5
        label = ("Q1", "Q2", "Q3", "Q4")[index % 4]
        track = mood_catalogue[label][index % 10]
        if kind == 0:
            play(listener, track, times=2, at=NOW - dt.timedelta(hours=1))
        elif kind == 1:
            declare_mood(listener=listener, label=label)
        elif kind == 2:
            play(listener, track, times=2, at=NOW - dt.timedelta(days=10))
            infer_listener_moods(listeners=[listener], now=NOW - dt.timedelta(days=9))
        elif kind == 4:
            other = mood_catalogue["Q1" if label != "Q1" else "Q2"][0]
            play(listener, other, times=3, at=NOW - dt.timedelta(days=10))
            infer_listener_moods(listeners=[listener], now=NOW - dt.timedelta(days=9))
            ListenerMoodState.objects.update_or_create(
                listener=listener, defaults={"rejected_labels": ["Q4"], "confirmed_label": "Q4"}
            )
            play(listener, track, times=2, at=NOW - dt.timedelta(hours=1))
        listeners.append(listener)
    return listeners


def queries_for(listeners) -> int:
    with CaptureQueriesContext(connection) as captured:
        infer_listener_moods(listeners=listeners, now=NOW)
    return len(captured)


def test_a_batch_costs_the_same_queries_whatever_the_number_of_listeners(mood_catalogue):
    small = queries_for(mixed_listeners(mood_catalogue, 5))
    assert queries_for(mixed_listeners(mood_catalogue, 20)) == small


def test_each_listener_gets_the_mood_inferring_them_alone_gives(mood_catalogue):
    listeners = mixed_listeners(mood_catalogue, 10)
    batch = infer_listener_moods(listeners=listeners, now=NOW)
    by_listener = {snapshot.listener_id: snapshot for snapshot in batch}
    states_after_batch = {
        s.listener_id: (s.rejected_labels, s.confirmed_label)
        for s in ListenerMoodState.objects.filter(listener__in=listeners)
    }
    for listener in listeners:
        (alone,) = infer_listener_moods(listeners=[listener], now=NOW)
        snapshot = by_listener[listener.pk]
        assert (snapshot.basis, snapshot.label, snapshot.tracks, snapshot.skipped) == (
            alone.basis,
            alone.label,
            alone.tracks,
            alone.skipped,
        )
        assert snapshot.probabilities == pytest.approx(alone.probabilities, abs=1e-5)
    bases = [by_listener[listener.pk].basis for listener in listeners]
    assert bases == [
        MoodBasis.INFERRED, MoodBasis.DECLARED, MoodBasis.LAST_KNOWN, MoodBasis.SPREAD,
        MoodBasis.INFERRED,
    ] * 2  # fmt: skip
    # The listeners whose mood changed start a new round; the others keep theirs.
    for listener in listeners[4::5]:
        assert states_after_batch[listener.pk] == ([], "")


def test_a_last_known_mood_in_a_batch_is_the_whole_last_inferred_snapshot(mood_catalogue):
    listeners = mixed_listeners(mood_catalogue, 5)
    last_known_listener = listeners[2]
    (inferred,) = MoodSnapshot.objects.filter(
        listener=last_known_listener, basis=MoodBasis.INFERRED
    )
    batch = infer_listener_moods(listeners=listeners, now=NOW)
    (last_known,) = [s for s in batch if s.listener_id == last_known_listener.pk]
    assert last_known.basis == MoodBasis.LAST_KNOWN
    assert last_known.tracks and last_known.tracks[0]["title"]
    fields = ("label", "confidence", "probabilities", "valence", "arousal", "tracks")
    assert {name: getattr(last_known, name) for name in fields} == {
        name: getattr(inferred, name) for name in fields
    }
    assert last_known.valence_arousal_source == inferred.valence_arousal_source


def test_a_batch_stores_each_snapshot_exactly_as_it_returns_it(mood_catalogue):
    batch = infer_listener_moods(listeners=mixed_listeners(mood_catalogue, 10), now=NOW)
    stored = MoodSnapshot.objects.in_bulk([snapshot.pk for snapshot in batch])
    assert len(stored) == len(batch) == 10
    fields = [field.attname for field in MoodSnapshot._meta.concrete_fields]
    for snapshot in batch:
        assert {name: getattr(snapshot, name) for name in fields} == {
            name: getattr(stored[snapshot.pk], name) for name in fields
        }
