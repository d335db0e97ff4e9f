"""A batch of plays is validated with one serializer and a fixed number of queries, with
per-item results identical to one serializer per item (how every batch was checked before)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework import serializers

from listening.apis import (
    PlayInputSerializer,
    PlayOutcomeSerializer,
    play_candidate,
    validate_play_batch,
)
from listening.models import Play
from listening.services import PlayOutcome, PlayStatus, record_plays
from tests.factories import ListenerFactory, PlayFactory, TrackFactory

URL = "/api/v1/plays/"


def iso(moment: dt.datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def one_serializer_per_item(raw_items: list, *, default_client: str):
    """The validation as it was: a serializer built for every item."""
    candidates, rejected = [], []
    for index, raw_item in enumerate(raw_items):
        item = PlayInputSerializer(data=raw_item)
        if item.is_valid():
            candidates.append(
                play_candidate(item.validated_data, index=index, default_client=default_client)
            )
        else:
            rejected.append(
                PlayOutcome(index=index, status=PlayStatus.REJECTED, reason=item.errors)
            )
    return candidates, rejected


@pytest.fixture
def mixed_batch(db):
    """Good, duplicate (stored before, and repeated within the batch) and malformed items."""
    tracks = TrackFactory.create_batch(3)
    start = timezone.now() - dt.timedelta(days=1)
    at = [iso(start + dt.timedelta(minutes=i)) for i in range(10)]
    stored_at = timezone.now() - dt.timedelta(days=2)
    good = {"track": tracks[0].id, "played_at": at[0], "ms_played": 1000}
    described = {
        "track_name": "Not In The Catalogue",
        "artist_name": "Some Band",
        "release_name": "Some Album",
        "recording_mbid": "e225fb84-dc9a-419e-adcd-9890f59ec432",
        "isrc": "US-RC1-76-07839",
        "duration_ms": 200_000,
        "played_at": at[1],
        "client": "Player/1.0",
        "chosen_by_user": False,
    }
    items = [
        good,
        described,
        {"track_name": tracks[1].title, "artist_name": tracks[1].artist,
         "release_name": tracks[1].album, "played_at": at[2]},
        good,  # repeated within the batch
        described,  # repeated within the batch
        {"track": tracks[2].id, "played_at": iso(stored_at)},  # stored before
        {"track": tracks[0].id},
        {"track": "abc", "played_at": at[3]},
        {"track": 999_999_999, "played_at": at[4]},
        {"track": 2**63, "played_at": at[5]},
        {"track": tracks[0].id, "played_at": iso(timezone.now() + dt.timedelta(days=2))},
        {"track": tracks[0].id, "played_at": "1999-12-31T23:00:00Z"},
        {"track": tracks[0].id, "played_at": "yesterday"},
        {"track_name": "Only A Title", "played_at": at[6]},
        {"track": tracks[1].id, "played_at": at[7], "ms_played": -5},
        {"track": tracks[1].id, "played_at": at[8], "duration_ms": 0, "isrc": "x" * 21},
        "not an object",
        [],
        {},
        {"track": tracks[1].id, "played_at": at[9], "unknown_field": 1},
    ]  # fmt: skip
    return {"items": items, "track": tracks[2], "stored_at": stored_at}


def test_the_batch_gives_exactly_the_per_item_results_of_one_serializer_per_item(mixed_batch):
    items = mixed_batch["items"]
    expected = one_serializer_per_item(items, default_client="UA/1")
    candidates, rejected = validate_play_batch(items, default_client="UA/1")
    assert candidates == expected[0]
    assert rejected == expected[1]
    assert [r.reason for r in rejected] == [dict(r.reason) for r in expected[1]]
    assert len(candidates) == 8 and len(rejected) == 12


def test_a_null_item_gets_the_serializers_no_data_provided():
    # The batch envelope refuses a null item before this (a 400); the validation alone still
    # answers as a serializer built for it would.
    expected = one_serializer_per_item([None], default_client="")
    assert validate_play_batch([None], default_client="") == expected
    assert dict(expected[1][0].reason) == {"non_field_errors": ["No data provided"]}


def test_the_api_answers_each_item_as_before(mixed_batch, listener_client, listener):
    """The whole answer against the old validation followed by the same storing service, for
    another listener with the same stored play (ids differ, nothing else)."""
    items, track, stored_at = mixed_batch["items"], mixed_batch["track"], mixed_batch["stored_at"]
    before = ListenerFactory()
    for who in (listener, before):
        PlayFactory(listener=who, track=track, played_at=stored_at)

    body = listener_client.post(URL, {"plays": items}, format="json", HTTP_USER_AGENT="UA/1").json()

    candidates, rejected = one_serializer_per_item(items, default_client="UA/1")
    outcomes = rejected + record_plays(listener=before, candidates=candidates)
    outcomes.sort(key=lambda outcome: outcome.index)
    expected = [
        {
            "index": o.index,
            "status": o.status.value,
            "play_id": o.play_id is not None,
            "matched": o.matched,
            "reason": o.reason and json.loads(json.dumps(o.reason)),
        }
        for o in outcomes
    ]
    answered = [{**r, "play_id": r["play_id"] is not None} for r in body["results"]]
    assert answered == expected
    assert [r["status"] for r in body["results"]] == (
        ["accepted"] * 3 + ["duplicate"] * 3 + ["rejected"] * 13 + ["accepted"]
    )
    assert Play.objects.filter(listener=listener).count() == 5


def test_a_batch_costs_the_same_queries_whatever_its_size(listener_client, db):
    tracks = TrackFactory.create_batch(20)
    start = timezone.now() - dt.timedelta(days=1)

    def batch(n: int, offset: int) -> list:
        items = []
        for i in range(n):
            played_at = iso(start + dt.timedelta(seconds=offset + i))
            if i % 3 == 0:
                items.append({"track": tracks[i % 20].id, "played_at": played_at})
            elif i % 3 == 1:
                items.append(
                    {"track_name": f"Song {i}", "artist_name": "Band", "played_at": played_at}
                )
            else:
                items.append({"track": "not an id", "played_at": played_at})
        return items

    def queries(items: list) -> int:
        with CaptureQueriesContext(connection) as captured:
            response = listener_client.post(URL, {"plays": items}, format="json")
        assert response.status_code == 200
        # The insert is one statement on PostgreSQL (test_record_plays_outcomes); elsewhere
        # it goes in Django's batches, 71 rows on SQLite (999 parameters per statement).
        return len([query for query in captured if not query["sql"].startswith("INSERT")])

    # Not one per item: the lookups go by chunks (500 track ids, 100 title + artist prefixes),
    # so a full batch of 1,000 costs a handful more than 10 plays.
    small = queries(batch(10, 0))
    assert small <= 10
    assert queries(batch(1000, 10_000)) <= small + 5


def test_items_that_pass_in_unusual_shapes_give_what_the_serializer_gives(db):
    """Plain items take a shorter way through the serializer's fields; values the fields
    convert (strings for numbers, padding, nulls, defaults, extra keys) come out the same."""
    track = TrackFactory()
    at = iso(timezone.now() - dt.timedelta(hours=1))
    items = [
        {"track": str(track.id), "played_at": at, "ms_played": "1200", "client": "  App/1  "},
        {"track": track.id, "played_at": at[:-1], "ms_played": None, "client": ""},
        {"track": track.id, "played_at": at.replace("Z", "+02:00"), "chosen_by_user": "false"},
        {"track": track.id, "played_at": at, "chosen_by_user": 0, "extra": {"ignored": True}},
        {
            "track_name": "  Title  ",
            "artist_name": "Artist",
            "release_name": "",
            "recording_mbid": None,
            "isrc": "",
            "duration_ms": "200000",
            "played_at": at,
        },
        {
            "track": track.id,
            "track_name": "Title",
            "artist_name": "Artist",
            "recording_mbid": "E225FB84-DC9A-419E-ADCD-9890F59EC432",
            "isrc": "us-rc1-76-07839",
            "played_at": at,
        },
        {"track_name": "Title", "artist_name": "   ", "played_at": at},
        {"track": track.id, "played_at": at, "recording_mbid": "not a uuid", "isrc": None},
    ]
    expected = one_serializer_per_item(items, default_client="UA/1")
    candidates, rejected = validate_play_batch(items, default_client="UA/1")
    assert candidates == expected[0]
    assert [(r.index, dict(r.reason)) for r in rejected] == [
        (r.index, dict(r.reason)) for r in expected[1]
    ]
    assert len(candidates) == 6


def test_an_outcome_is_written_out_as_its_fields_would_write_it():
    outcomes = [
        PlayOutcome(index=0, status=PlayStatus.ACCEPTED, play_id=7, matched=False),
        PlayOutcome(index=1, status=PlayStatus.DUPLICATE, play_id=3),
        PlayOutcome(index=2, status=PlayStatus.REJECTED, reason={"track": ["not in it"]}),
    ]
    serializer = PlayOutcomeSerializer()
    for outcome in outcomes:
        generic = serializers.Serializer.to_representation(serializer, outcome)
        assert serializer.to_representation(outcome) == generic
        assert json.dumps(serializer.to_representation(outcome)) == json.dumps(generic)
