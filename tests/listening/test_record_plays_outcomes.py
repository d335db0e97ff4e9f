"""What storing a batch answers for each play, pinned on a mixed batch, on both ways of storing
it: PostgreSQL's one statement and the portable ``bulk_create`` (SQLite's, and any other
database's). On SQLite both cases run the portable path."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from listening import services
from listening.models import Play
from listening.services import PlayCandidate, PlayStatus, record_plays
from tests.factories import PlayFactory, TrackFactory
from tests.listening.conftest import described_play

URL = "/api/v1/plays/"


def iso(moment: dt.datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


@pytest.fixture(params=["as configured", "portable"])
def insert_path(request, monkeypatch) -> str:
    if request.param == "portable":
        monkeypatch.setattr(services, "_PLAY_INSERTS", {})
    return request.param


@pytest.fixture
def catalogue(db):
    return {"a": TrackFactory(), "b": TrackFactory()}


def test_a_mixed_batch_answers_each_play(
    insert_path,
    catalogue,
    listener,
    listener_client,
    plays_recorded_calls,
    django_capture_on_commit_callbacks,
):
    a, b = catalogue["a"], catalogue["b"]
    start = timezone.now() - dt.timedelta(days=1)
    t = [start + dt.timedelta(minutes=i) for i in range(6)]
    stored = PlayFactory(listener=listener, track=a, played_at=t[0])
    lost = {"track_name": "Lost Song", "artist_name": "Lost Band"}
    stored_unmatched = PlayFactory(listener=listener, track=None, played_at=t[1], **lost)
    new = {"track_name": "New Song", "artist_name": "New Band", "release_name": "New Album"}
    b_described = {"track_name": b.title, "artist_name": b.artist, "release_name": b.album}
    a_described = {"track_name": a.title, "artist_name": a.artist, "release_name": a.album}
    items = [
        {"track": a.id, "played_at": iso(t[0])},  # 0: stored before
        {"track": b.id, "played_at": iso(t[2]), "ms_played": 1000},  # 1: new
        {"track": b.id, "played_at": iso(t[2])},  # 2: repeats 1
        {**lost, "played_at": iso(t[1])},  # 3: stored before, unmatched
        {**new, "played_at": iso(t[3]), "chosen_by_user": False},  # 4: new, unmatched
        {**new, "played_at": iso(t[3])},  # 5: repeats 4
        {**b_described, "played_at": iso(t[4])},  # 6: new, matched to b
        {"track": b.id, "played_at": iso(t[4])},  # 7: repeats 6, by its track
        {"track": 999_999_999, "played_at": iso(t[5])},  # 8: not in the catalogue
        {**a_described, "played_at": iso(t[0])},  # 9: matched to a: the play stored before
        {"track": "abc", "played_at": iso(t[5])},  # 10: malformed
        {"track": a.id},  # 11: no time
        "not a play",  # 12
        {"track": a.id, "played_at": iso(t[5]), "client": "Player/2"},  # 13: new
    ]

    with django_capture_on_commit_callbacks(execute=True):
        response = listener_client.post(
            URL, {"plays": items}, format="json", HTTP_USER_AGENT="UA/1"
        )
    body = response.json()

    def new_play(**lookup) -> int:
        return Play.objects.get(listener=listener, **lookup).id

    p1 = new_play(track=b, played_at=t[2])
    p4 = new_play(track=None, played_at=t[3])
    p6 = new_play(track=b, played_at=t[4])
    p13 = new_play(track=a, played_at=t[5])
    accepted, duplicate, rejected = "accepted", "duplicate", "rejected"
    not_an_object = "Invalid data. Expected a dictionary, but got str."
    expected = [
        (0, duplicate, stored.id, None, None),
        (1, accepted, p1, True, None),
        (2, duplicate, p1, None, None),
        (3, duplicate, stored_unmatched.id, None, None),
        (4, accepted, p4, False, None),
        (5, duplicate, p4, None, None),
        (6, accepted, p6, True, None),
        (7, duplicate, p6, None, None),
        (8, rejected, None, None, {"track": ["track 999999999 is not in the catalogue"]}),
        (9, duplicate, stored.id, None, None),
        (10, rejected, None, None, {"track": ["A valid integer is required."]}),
        (11, rejected, None, None, {"played_at": ["This field is required."]}),
        (12, rejected, None, None, {"non_field_errors": [not_an_object]}),
        (13, accepted, p13, True, None),
    ]  # fmt: skip
    results = [
        (r["index"], r["status"], r["play_id"], r["matched"], r["reason"]) for r in body["results"]
    ]
    assert results == expected
    assert {k: v for k, v in body.items() if k != "results"} == {
        "accepted": 4,
        "unmatched": 1,
        "duplicate": 6,
        "rejected": 4,
    }

    # Stored as submitted, the play's own client or the User-Agent.
    plays = {p.id: p for p in Play.objects.filter(listener=listener)}
    assert set(plays) == {stored.id, stored_unmatched.id, p1, p4, p6, p13}
    assert (plays[p1].ms_played, plays[p1].client, plays[p1].chosen_by_user) == (1000, "UA/1", True)
    assert (plays[p4].track_name, plays[p4].release_name, plays[p4].chosen_by_user) == (
        "New Song",
        "New Album",
        False,
    )
    assert (plays[p6].track_id, plays[p6].track_name) == (b.id, b.title)
    assert plays[p13].client == "Player/2"
    assert all(plays[p].received_at > start for p in (p1, p4, p6, p13))
    assert plays_recorded_calls == [{"listener_id": listener.id, "count": 4}]


def test_the_stored_metadata_key_is_the_one_the_model_derives(
    insert_path, listener, other_listener
):
    metadata = {"track_name": "Song (Remastered 2011)", "artist_name": "Band", "release_name": "LP"}
    saved = PlayFactory(listener=other_listener, track=None, **metadata)
    (outcome,) = record_plays(
        listener=listener,
        candidates=[described_play(0, title="Song (Remastered 2011)", artist="Band", album="LP")],
    )
    play = Play.objects.get(id=outcome.play_id)
    assert play.metadata_key == saved.metadata_key != ""
    assert {name: getattr(play, name) for name in metadata} == metadata


def test_both_paths_answer_the_same(catalogue, listener, other_listener, monkeypatch):
    """The same batch for two listeners with the same stored plays, one per path: the same
    answers, ids aside."""
    a, b = catalogue["a"], catalogue["b"]
    start = timezone.now() - dt.timedelta(hours=5)
    for who in (listener, other_listener):
        PlayFactory(listener=who, track=a, played_at=start)
        PlayFactory(listener=who, track=None, track_name="X", artist_name="Y", played_at=start)

    def batch() -> list[PlayCandidate]:
        candidates = []
        for i in range(60):
            at = start + dt.timedelta(minutes=i % 20)
            if i % 3 == 0:
                candidates.append(PlayCandidate(index=i, track_id=(a, b)[i % 2].id, played_at=at))
            elif i % 3 == 1:
                candidates.append(described_play(i, played_at=at, title=f"Song {i % 7}"))
            else:
                candidates.append(described_play(i, played_at=at, title="X", artist="Y"))
        return candidates

    def answers(outcomes) -> list[tuple]:
        # Each play id as the order in which it first appears.
        ids: dict[int, int] = {}
        return [
            (o.index, o.status, o.matched, o.reason, ids.setdefault(o.play_id, len(ids)))
            for o in outcomes
        ]

    configured = answers(record_plays(listener=listener, candidates=batch()))
    monkeypatch.setattr(services, "_PLAY_INSERTS", {})
    portable = answers(record_plays(listener=other_listener, candidates=batch()))
    assert configured == portable
    assert {status for _, status, *_ in configured} == {PlayStatus.ACCEPTED, PlayStatus.DUPLICATE}


def test_a_play_a_concurrent_request_stored_first_is_a_duplicate_of_it(
    catalogue, listener, monkeypatch, plays_recorded_calls, django_capture_on_commit_callbacks
):
    """Between the lookup and the insert another request stores the same play: the insert
    skips it, and the answer says whose it is instead of claiming it."""
    if connection.vendor != "postgresql":
        pytest.skip("only PostgreSQL's insert says which rows a conflict skipped")
    track = catalogue["a"]
    at = timezone.now() - dt.timedelta(hours=1)
    look_up = services._stored_play_keys
    concurrent: list[Play] = []

    def look_up_then_another_request_stores(**kwargs):
        keys = look_up(**kwargs)
        if not concurrent:
            concurrent.append(PlayFactory(listener=listener, track=track, played_at=at))
        return keys

    monkeypatch.setattr(services, "_stored_play_keys", look_up_then_another_request_stores)
    with django_capture_on_commit_callbacks(execute=True):
        outcomes = record_plays(
            listener=listener,
            candidates=[
                PlayCandidate(index=0, track_id=track.id, played_at=at),
                PlayCandidate(index=1, track_id=track.id, played_at=at),
                described_play(2),
            ],
        )
    (theirs,) = concurrent
    assert [(o.status, o.play_id) for o in outcomes[:2]] == [
        (PlayStatus.DUPLICATE, theirs.id),
        (PlayStatus.DUPLICATE, theirs.id),
    ]
    assert outcomes[2].status is PlayStatus.ACCEPTED
    assert Play.objects.filter(listener=listener).count() == 2
    assert plays_recorded_calls == [{"listener_id": listener.id, "count": 1}]


def test_postgresql_stores_a_batch_in_one_statement(catalogue, listener_client):
    if connection.vendor != "postgresql":
        pytest.skip("the portable path inserts in Django's batches")
    start = timezone.now() - dt.timedelta(days=1)
    items = [
        {"track": catalogue["a"].id, "played_at": iso(start + dt.timedelta(seconds=i))}
        if i % 2
        else {"track_name": f"Song {i}", "artist_name": "Band", "played_at": iso(start)}
        for i in range(1000)
    ]
    with CaptureQueriesContext(connection) as captured:
        body = listener_client.post(URL, {"plays": items}, format="json").json()
    assert body["accepted"] == 1000
    assert len([q for q in captured if "INSERT" in q["sql"]]) == 1


def test_a_new_play_is_given_every_column(listener):
    """The PostgreSQL insert names its columns from the values a new play is given: a column
    added to the model must be given one too, or it would be left to the database."""
    row = services._new_play_row(
        listener_id=listener.id,
        received_at=timezone.now(),
        candidate=described_play(0),
        track_id=None,
    )
    columns = {field.column for field in Play._meta.concrete_fields if not field.primary_key}
    assert set(row) == columns
