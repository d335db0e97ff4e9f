from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from listening.models import Play
from tests.factories import PlayFactory, TrackFactory

URL = "/api/v1/plays/"


def iso(moment: dt.datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


@pytest.fixture
def tracks(db):
    return TrackFactory.create_batch(20)


def batch_of(tracks, n: int, *, start: dt.datetime | None = None) -> list[dict]:
    start = start or timezone.now() - dt.timedelta(days=1)
    return [
        {
            "track": tracks[i % len(tracks)].id,
            "played_at": iso(start + dt.timedelta(seconds=i)),
            "ms_played": 1000 + i,
        }
        for i in range(n)
    ]


def test_a_single_play_is_accepted_and_listed(listener_client, listener, tracks):
    played_at = timezone.now() - dt.timedelta(minutes=3)
    response = listener_client.post(
        URL, {"plays": [{"track": tracks[0].id, "played_at": iso(played_at)}]}, format="json"
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["accepted"], body["duplicate"], body["rejected"]) == (1, 0, 0)
    play = Play.objects.get(pk=body["results"][0]["play_id"])
    assert play.listener == listener and play.track == tracks[0]

    listed = listener_client.get(URL).json()
    assert [item["id"] for item in listed["results"]] == [play.id]
    assert listed["results"][0]["title"] == tracks[0].title


def test_a_batch_of_1000_plays_is_accepted_in_one_request(listener_client, listener, tracks):
    response = listener_client.post(URL, {"plays": batch_of(tracks, 1000)}, format="json")
    assert response.status_code == 200
    assert response.json()["accepted"] == 1000
    assert Play.objects.filter(listener=listener).count() == 1000


def test_resubmitting_a_batch_creates_nothing_new(listener_client, listener, tracks):
    plays = batch_of(tracks, 50)
    first = listener_client.post(URL, {"plays": plays}, format="json").json()
    second = listener_client.post(URL, {"plays": plays}, format="json").json()
    assert first["accepted"] == 50
    assert (second["accepted"], second["duplicate"]) == (0, 50)
    assert [r["play_id"] for r in second["results"]] == [r["play_id"] for r in first["results"]]
    assert Play.objects.filter(listener=listener).count() == 50


def test_a_play_repeated_within_one_batch_counts_once(listener_client, listener, tracks):
    play = batch_of(tracks, 1)[0]
    body = listener_client.post(URL, {"plays": [play, play]}, format="json").json()
    assert [r["status"] for r in body["results"]] == ["accepted", "duplicate"]
    assert Play.objects.filter(listener=listener).count() == 1


def test_malformed_items_get_reasons_and_good_items_are_kept(listener_client, listener, tracks):
    good = batch_of(tracks, 2)
    future = iso(timezone.now() + dt.timedelta(days=2))
    items = [
        good[0],
        {"track": tracks[0].id},
        {"track": "abc", "played_at": good[0]["played_at"]},
        {"track": 999_999, "played_at": good[0]["played_at"]},
        {"track": tracks[0].id, "played_at": future},
        {"track": tracks[0].id, "played_at": "yesterday"},
        "not an object",
        {"track": tracks[1].id, "played_at": good[1]["played_at"], "ms_played": -5},
        good[1],
    ]
    body = listener_client.post(URL, {"plays": items}, format="json").json()
    statuses = [result["status"] for result in body["results"]]
    assert statuses == ["accepted"] + ["rejected"] * 7 + ["accepted"]
    reasons = [result["reason"] for result in body["results"]]
    assert "played_at" in reasons[1]
    assert "track" in reasons[2]
    assert "not in the catalogue" in reasons[3]["track"][0]
    assert "future" in reasons[4]["played_at"][0]
    assert "played_at" in reasons[5]
    assert "non_field_errors" in reasons[6]
    assert "ms_played" in reasons[7]
    assert Play.objects.filter(listener=listener).count() == 2


@pytest.mark.parametrize("track_id", [2**63, 2**64, 10**30])
def test_a_track_id_beyond_the_databases_range_is_rejected(listener_client, tracks, track_id):
    good = batch_of(tracks, 1)[0]
    items = [{**good, "track": track_id}, good]
    response = listener_client.post(URL, {"plays": items}, format="json")
    assert response.status_code == 200
    first, second = response.json()["results"]
    assert first["status"] == "rejected"
    assert "less than or equal to 9223372036854775807" in first["reason"]["track"][0]
    assert second["status"] == "accepted"


def test_more_than_1000_plays_is_a_clear_400(listener_client, listener, tracks):
    response = listener_client.post(URL, {"plays": batch_of(tracks, 1001)}, format="json")
    assert response.status_code == 400
    assert "at most 1000" in response.json()["error"]["message"]
    assert not Play.objects.exists()


def test_an_oversized_body_is_a_clear_413(listener_client, settings, tracks):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    response = listener_client.post(URL, {"plays": batch_of(tracks, 300)}, format="json")
    assert response.status_code == 413
    error = response.json()["error"]
    assert error["code"] == "payload_too_large"
    assert "limit" in error["message"]


@pytest.mark.parametrize("body", [[], {}, {"plays": []}, {"plays": None}, "text"])
def test_a_malformed_envelope_is_a_400(listener_client, body):
    response = listener_client.post(URL, body, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["message"]


def test_a_listener_never_sees_another_listeners_plays(listener_client, other_listener):
    PlayFactory.create_batch(3, listener=other_listener)
    assert listener_client.get(URL).json()["count"] == 0


def test_plays_are_always_recorded_for_the_caller(listener_client, listener, other_listener):
    track = TrackFactory()
    played_at = iso(timezone.now() - dt.timedelta(hours=1))
    item = {"track": track.id, "played_at": played_at, "listener": other_listener.id}
    listener_client.post(URL, {"plays": [item]}, format="json")
    assert Play.objects.get().listener == listener
    assert not other_listener.plays.exists()


def test_another_listeners_identical_play_is_not_a_duplicate(
    listener_client, listener, other_listener
):
    existing = PlayFactory(listener=other_listener)
    item = {"track": existing.track_id, "played_at": iso(existing.played_at)}
    body = listener_client.post(URL, {"plays": [item]}, format="json").json()
    assert body["accepted"] == 1
    assert existing.track.plays.count() == 2


def test_plays_can_be_filtered_by_time_range(listener_client, listener):
    now = timezone.now()
    for hours in (1, 5, 30, 200):
        PlayFactory(listener=listener, played_at=now - dt.timedelta(hours=hours))
    since = iso(now - dt.timedelta(hours=31))
    until = iso(now - dt.timedelta(hours=2))
    body = listener_client.get(URL, {"since": since, "until": until}).json()
    assert body["count"] == 2


def test_an_inverted_time_range_is_a_400(listener_client):
    now = timezone.now()
    response = listener_client.get(URL, {"since": iso(now), "until": iso(now - dt.timedelta(1))})
    assert response.status_code == 400
    assert "earlier" in response.json()["error"]["message"]


def test_the_client_defaults_to_the_user_agent(listener_client, tracks):
    item = batch_of(tracks, 1)[0]
    listener_client.post(URL, {"plays": [item]}, format="json", HTTP_USER_AGENT="Player/2.1")
    assert Play.objects.get().client == "Player/2.1"


def test_a_play_can_describe_its_track_and_is_kept_unmatched(listener_client, listener, tracks):
    played_at = iso(timezone.now() - dt.timedelta(minutes=10))
    described = {
        "track_name": "Not Yet In The Catalogue",
        "artist_name": "Some Band",
        "release_name": "Some Album",
        "recording_mbid": "e225fb84-dc9a-419e-adcd-9890f59ec432",
        "played_at": played_at,
    }
    known = {
        "track_name": tracks[3].title,
        "artist_name": tracks[3].artist,
        "release_name": tracks[3].album,
        "played_at": played_at,
    }
    body = listener_client.post(URL, {"plays": [described, known]}, format="json").json()
    assert (body["accepted"], body["unmatched"]) == (2, 1)
    assert [r["matched"] for r in body["results"]] == [False, True]

    listed = listener_client.get(URL).json()["results"]
    by_id = {item["id"]: item for item in listed}
    unmatched = by_id[body["results"][0]["play_id"]]
    assert unmatched["track"] is None and unmatched["matched"] is False
    assert (unmatched["title"], unmatched["artist"], unmatched["album"]) == (
        "Not Yet In The Catalogue",
        "Some Band",
        "Some Album",
    )
    matched = by_id[body["results"][1]["play_id"]]
    assert matched["matched"] is True and matched["track"] == tracks[3].id
    assert matched["title"] == tracks[3].title


def test_a_play_needs_a_track_id_or_a_title_and_artist(listener_client, listener):
    played_at = iso(timezone.now() - dt.timedelta(minutes=10))
    body = listener_client.post(
        URL, {"plays": [{"track_name": "Only A Title", "played_at": played_at}]}, format="json"
    ).json()
    assert body["rejected"] == 1
    assert "artist_name" in body["results"][0]["reason"]["non_field_errors"][0]
    assert not Play.objects.exists()


def test_a_described_play_is_deduplicated_on_resubmission(listener_client, listener):
    item = {
        "track_name": "Song",
        "artist_name": "Band",
        "played_at": iso(timezone.now() - dt.timedelta(minutes=10)),
    }
    first = listener_client.post(URL, {"plays": [item]}, format="json").json()
    second = listener_client.post(URL, {"plays": [item]}, format="json").json()
    assert (first["accepted"], second["duplicate"]) == (1, 1)
    assert second["results"][0]["play_id"] == first["results"][0]["play_id"]
    assert Play.objects.filter(listener=listener).count() == 1
