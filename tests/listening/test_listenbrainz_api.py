"""The ListenBrainz-compatible API: limits, error shapes, a real client against a live server."""

from __future__ import annotations

import datetime as dt
import gc
import json
import time

import liblistenbrainz
import pytest
from django.test import Client
from liblistenbrainz.errors import InvalidAuthTokenException, ListenBrainzAPIException
from rest_framework.test import APIClient

from catalogue.services import create_track
from listening.listenbrainz import LISTEN_MINIMUM_TS, MAX_LISTEN_SIZE, MAX_LISTENS_PER_REQUEST
from listening.models import Play
from tests.factories import ListenerFactory

SUBMIT = "/1/submit-listens"
VALIDATE = "/1/validate-token"
RECORDING_MBID = "e225fb84-dc9a-419e-adcd-9890f59ec432"


def listen(offset: int = 0, *, title: str = "Vantablack", artist: str = "Dool", **extra) -> dict:
    return {
        "listened_at": int(time.time()) - 3600 - offset,
        "track_metadata": {"track_name": title, "artist_name": artist, **extra},
    }


def submit(client: Client, token: str | None, document, **headers):
    body = document if isinstance(document, str | bytes) else json.dumps(document)
    if token is not None:
        headers["HTTP_AUTHORIZATION"] = f"Token {token}"
    # Like liblistenbrainz: no Content-Type header at all.
    return client.generic("POST", SUBMIT, body, content_type="", **headers)


@pytest.fixture
def lb_client() -> Client:
    return Client(enforce_csrf_checks=True)


@pytest.fixture
def token(listener) -> str:
    return listener.auth_token.key


def test_a_single_listen_is_stored_and_answered_like_listenbrainz(lb_client, listener, token):
    response = submit(lb_client, token, {"listen_type": "single", "payload": [listen()]})
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    play = Play.objects.get(listener=listener)
    assert (play.track, play.track_name, play.artist_name) == (None, "Vantablack", "Dool")


def test_an_import_keeps_client_metadata_and_matches_what_it_can(lb_client, listener, token):
    track = create_track(title="Known", artist="Band", album="LP")
    document = {
        "listen_type": "import",
        "payload": [
            listen(
                0,
                title="Whatever",
                artist="Anyone",
                additional_info={
                    "recording_mbid": RECORDING_MBID,
                    "duration_ms": 181000,
                    "submission_client": "Strawberry",
                    "submission_client_version": "1.0",
                    "spotify_id": "https://open.spotify.com/track/x",
                    "artist_mbids": ["", RECORDING_MBID],
                    "release_mbid": "",
                },
            ),
            listen(1, title="Known", artist="Band", release_name="LP"),
        ],
    }
    assert submit(lb_client, token, document).status_code == 200
    unmatched, matched = Play.objects.filter(listener=listener).order_by("-played_at")
    assert str(unmatched.recording_mbid) == RECORDING_MBID
    assert (unmatched.duration_ms, unmatched.client) == (181000, "Strawberry/1.0")
    assert matched.track == track


def test_resubmitting_listens_stores_nothing_new(lb_client, listener, token):
    document = {"listen_type": "import", "payload": [listen(0), listen(1, title="Other")]}
    assert submit(lb_client, token, document).status_code == 200
    assert submit(lb_client, token, document).json() == {"status": "ok"}
    assert Play.objects.filter(listener=listener).count() == 2


def test_playing_now_is_accepted_but_not_stored(lb_client, listener, token):
    document = {
        "listen_type": "playing_now",
        "payload": [{"track_metadata": listen()["track_metadata"]}],
    }
    response = submit(lb_client, token, document)
    assert (response.status_code, response.json()) == (200, {"status": "ok"})
    assert not Play.objects.exists()


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (
            {"listen_type": "import", "payload": [listen(i) for i in range(1001)]},
            "Too many listens",
        ),
        ({"listen_type": "single", "payload": [listen(0), listen(1)]}, "only one"),
        ({"listen_type": "playing_now", "payload": [listen(0), listen(1)]}, "only one"),
        (
            {"listen_type": "import", "payload": [listen(0), {"track_metadata": {}}]},
            "must contain the key listened_at",
        ),
        (
            {"listen_type": "playing_now", "payload": [listen()]},
            "must not contain listened_at while submitting playing_now",
        ),
        ({"listen_type": "single", "payload": []}, "does not contain any listens"),
        ({"listen_type": "nonsense", "payload": [listen()]}, "valid listen_type"),
        ({"payload": [listen()]}, "Invalid JSON document submitted."),
        ({"listen_type": "single", "payload": {}}, "should be a list of listens"),
        ([listen()], "Top level of JSON document should be a json object"),
        (
            {"listen_type": "single", "payload": [{**listen(), "listened_at": "yesterday"}]},
            "int value for listened_at",
        ),
        (
            {"listen_type": "single", "payload": [{**listen(), "listened_at": 1_000_000_000}]},
            "listened_at is too low",
        ),
        (
            {"listen_type": "single", "payload": [{**listen(), "listened_at": 2 * 10**9 + 10**9}]},
            "listened_at is too high",
        ),
        (
            {"listen_type": "single", "payload": [{**listen(), "extra": 1}]},
            "may only contain listened_at and track_metadata",
        ),
        (
            {"listen_type": "single", "payload": [listen(artist="  ")]},
            "field track_metadata.artist_name is empty.",
        ),
        (
            {
                "listen_type": "single",
                "payload": [
                    {"listened_at": listen()["listened_at"], "track_metadata": {"track_name": "x"}}
                ],
            },
            "required field track_metadata.artist_name",
        ),
        (
            {
                "listen_type": "single",
                "payload": [listen(additional_info={"recording_mbid": "nope"})],
            },
            "recording_mbid MBID format invalid.",
        ),
        (
            {
                "listen_type": "single",
                "payload": [listen(additional_info={"duration": 1, "duration_ms": 1000})],
            },
            "both duration and duration_ms",
        ),
        (
            {"listen_type": "single", "payload": [listen(additional_info={"duration_ms": -5})]},
            "Value for duration_ms is invalid",
        ),
        (
            {"listen_type": "single", "payload": [listen(additional_info={"tags": ["x" * 65]})]},
            "tags longer than 64",
        ),
        ({"listen_type": "single", "payload": [listen(title="nul\x00byte")]}, "unicode null"),
    ],
)
def test_invalid_submissions_get_listenbrainz_400s_and_store_nothing(
    lb_client, token, document, message
):
    response = submit(lb_client, token, document)
    assert response.status_code == 400
    body = response.json()
    assert set(body) == {"code", "error"} and body["code"] == 400
    assert message in body["error"]
    assert not Play.objects.exists()


def test_one_bad_listen_rejects_the_whole_import(lb_client, token):
    document = {"listen_type": "import", "payload": [listen(0), listen(1), listen(2, artist="")]}
    assert submit(lb_client, token, document).status_code == 400
    assert not Play.objects.exists()


def test_a_body_that_is_not_json_is_a_400(lb_client, token):
    response = submit(lb_client, token, b"{not json")
    assert response.status_code == 400
    assert response.json()["error"].startswith("Cannot parse JSON document")


def test_a_body_nested_too_deep_is_a_listenbrainz_400(lb_client, token):
    response = submit(lb_client, token, "[" * 100_000)
    assert response.status_code == 400
    body = response.json()
    assert set(body) == {"code", "error"} and body["code"] == 400
    assert body["error"].startswith("Cannot parse JSON document: nested deeper than 64 levels")
    assert not Play.objects.exists()


@pytest.mark.parametrize("path", ["/1/", "/1/submit-listens/", "/1/user/someone/listens"])
@pytest.mark.parametrize("method", ["get", "post"])
def test_unknown_paths_are_answered_in_the_listenbrainz_shape(lb_client, path, method):
    response = getattr(lb_client, method)(path)
    assert response.status_code == 404
    assert response.json() == {
        "code": 404,
        "error": f"Not found: there is no endpoint or object at {path}.",
    }


def test_a_nul_character_in_the_token_parameter_is_a_listenbrainz_400(db, lb_client):
    response = lb_client.get(VALIDATE, {"token": "abc\x00"})
    assert response.status_code == 400
    body = response.json()
    assert set(body) == {"code", "error"} and body["code"] == 400
    assert "NUL character" in body["error"]


def test_an_oversized_listen_is_refused(lb_client, token):
    document = {"listen_type": "single", "payload": [listen(title="x" * 11_000)]}
    response = submit(lb_client, token, document)
    assert response.status_code == 400
    assert response.json() == {
        "code": 400,
        "error": "JSON document is too large. In aggregate, listens may not be larger than "
        "10240 bytes each.",
    }


@pytest.mark.parametrize(
    ("authorization", "message"),
    [
        (None, "You need to provide an Authorization header."),
        ("Token not-a-real-token", "Invalid authorization token."),
        ("Token", "Provided Authorization header is invalid."),
    ],
)
def test_a_missing_or_bad_token_is_a_listenbrainz_401(db, lb_client, authorization, message):
    headers = {"HTTP_AUTHORIZATION": authorization} if authorization else {}
    response = submit(lb_client, None, {"listen_type": "single", "payload": [listen()]}, **headers)
    assert response.status_code == 401
    assert response.json() == {"code": 401, "error": message}
    assert not Play.objects.exists()


def test_an_inactive_listeners_token_is_refused(lb_client, listener, token):
    listener.is_active = False
    listener.save()
    response = submit(lb_client, token, {"listen_type": "single", "payload": [listen()]})
    assert response.status_code == 401


def test_validate_token_answers_like_listenbrainz(lb_client, listener, token):
    valid = lb_client.get(VALIDATE, HTTP_AUTHORIZATION=f"Token {token}").json()
    assert valid == {
        "code": 200,
        "message": "Token valid.",
        "valid": True,
        "user_name": listener.username,
    }
    by_query = lb_client.get(VALIDATE, {"token": token}).json()
    assert by_query["valid"] is True

    invalid = lb_client.get(VALIDATE, HTTP_AUTHORIZATION="Token wrong")
    assert invalid.status_code == 200
    assert invalid.json() == {"code": 200, "message": "Token invalid.", "valid": False}

    missing = lb_client.get(VALIDATE)
    assert missing.status_code == 400
    assert missing.json() == {"code": 400, "error": "You need to provide an Authorization token."}


def test_the_wrong_method_is_answered_in_the_listenbrainz_shape(lb_client, token):
    response = lb_client.get(SUBMIT, HTTP_AUTHORIZATION=f"Token {token}")
    assert response.status_code == 405
    assert response.json()["code"] == 405


def test_listens_are_stored_for_the_tokens_owner_only(lb_client, listener, token):
    other = ListenerFactory()
    submit(lb_client, token, {"listen_type": "single", "payload": [listen()]})
    assert Play.objects.get().listener == listener
    assert not other.plays.exists()


@pytest.fixture
def closes_client_connections():
    yield
    # liblistenbrainz keeps keep-alive connections in one module-level adapter, and a failed
    # call's connection lives on in its exception; while one is open, the live server's thread
    # for it holds a database connection and the test database cannot be dropped at the end.
    liblistenbrainz.client.adapter.close()
    gc.collect()


@pytest.mark.django_db(transaction=True)
def test_liblistenbrainz_round_trip_against_a_live_server(live_server, closes_client_connections):
    listener = ListenerFactory()
    token = listener.auth_token.key
    known = create_track(
        title="Fade", artist="Kanye West", album="The Life of Pablo", isrc="USUM71603531"
    )

    bad = liblistenbrainz.ListenBrainz(api_base_url=live_server.url)
    with pytest.raises(InvalidAuthTokenException):
        bad.set_auth_token("not-a-token")

    client = liblistenbrainz.ListenBrainz(api_base_url=live_server.url)
    client.set_auth_token(token)  # checks it through /1/validate-token
    now = int(time.time())
    client.submit_single_listen(
        liblistenbrainz.Listen(
            track_name="Fade",
            artist_name="Kanye West",
            release_name="The Life of Pablo",
            listened_at=now - 600,
            isrc="USUM71603531",
            listening_from="a test",
        )
    )
    client.submit_multiple_listens(
        [
            liblistenbrainz.Listen(
                track_name="Vantablack",
                artist_name="Dool",
                release_name="Here Now, There Then",
                recording_mbid=RECORDING_MBID,
                listened_at=now - 3600 * (i + 1),
                additional_info={"submission_client": "liblistenbrainz test"},
            )
            for i in range(3)
        ]
    )
    client.submit_playing_now(
        liblistenbrainz.Listen(track_name="Now", artist_name="Playing", release_name="Live")
    )
    with pytest.raises(ListenBrainzAPIException) as error:
        client.submit_single_listen(
            liblistenbrainz.Listen(track_name="Old", artist_name="Band", listened_at=100)
        )
    assert error.value.status_code == 400 and "too low" in error.value.message

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    history = api.get("/api/v1/plays/").json()
    assert history["count"] == 4
    newest, *older = history["results"]
    assert (newest["track"], newest["matched"], newest["title"]) == (known.id, True, "Fade")
    assert newest["client"] == "a test"
    assert [(p["matched"], p["track"], p["title"], p["artist"], p["album"]) for p in older] == [
        (False, None, "Vantablack", "Dool", "Here Now, There Then")
    ] * 3


# --- What ListenBrainz accepts, we accept ----------------------------------------------------


@pytest.mark.parametrize("blank", ["", "   "])
def test_a_blank_optional_field_is_stripped_and_accepted(lb_client, listener, token, blank):
    response = submit(
        lb_client, token, {"listen_type": "single", "payload": [listen(release_name=blank)]}
    )
    assert (response.status_code, response.json()) == (200, {"status": "ok"})
    assert Play.objects.get(listener=listener).release_name == ""


def test_the_earliest_listened_at_is_2002_10_01_midnight_utc(lb_client, listener, token):
    earliest = int(dt.datetime(2002, 10, 1, tzinfo=dt.UTC).timestamp())
    assert earliest == LISTEN_MINIMUM_TS == 1033430400

    too_early = {**listen(), "listened_at": earliest - 1}
    response = submit(lb_client, token, {"listen_type": "single", "payload": [too_early]})
    assert response.status_code == 400
    assert (
        "greater than or equal to 1033430400 (2002-10-01 00:00:00 UTC)" in response.json()["error"]
    )

    on_time = {**listen(), "listened_at": earliest}
    response = submit(lb_client, token, {"listen_type": "single", "payload": [on_time]})
    assert response.status_code == 200
    assert Play.objects.get(listener=listener).played_at == dt.datetime(2002, 10, 1, tzinfo=dt.UTC)


def test_the_body_limit_of_submit_listens_is_listenbrainzs_own(settings):
    assert settings.REQUEST_BODY_LIMITS_BY_PATH[SUBMIT]["max_bytes"] == (
        MAX_LISTENS_PER_REQUEST * MAX_LISTEN_SIZE
    )
    assert MAX_LISTENS_PER_REQUEST * MAX_LISTEN_SIZE > settings.DATA_UPLOAD_MAX_MEMORY_SIZE


def test_a_full_batch_of_the_largest_listens_is_accepted(lb_client, listener, token):
    """1,000 listens of almost 10,240 bytes each: far over MAX_REQUEST_BODY_BYTES, within
    ListenBrainz's limit."""
    listens = [listen(i, additional_info={"comment": ""}) for i in range(MAX_LISTENS_PER_REQUEST)]
    padding = MAX_LISTEN_SIZE - len(json.dumps(listens[0])) - 100
    for item in listens:
        item["track_metadata"]["additional_info"]["comment"] = "x" * padding
    body = json.dumps({"listen_type": "import", "payload": listens})
    assert 9_000_000 < len(body) <= MAX_LISTENS_PER_REQUEST * MAX_LISTEN_SIZE

    response = submit(lb_client, token, body)

    assert (response.status_code, response.json()) == (200, {"status": "ok"})
    assert Play.objects.filter(listener=listener).count() == MAX_LISTENS_PER_REQUEST


def test_a_body_over_listenbrainzs_limit_is_a_listenbrainz_400(lb_client, listener, token):
    limit = MAX_LISTENS_PER_REQUEST * MAX_LISTEN_SIZE
    response = submit(lb_client, token, b" " * (limit + 1))
    assert response.status_code == 400
    assert response.json() == {
        "code": 400,
        "error": f"Payload too large. Payload cannot exceed {limit} bytes",
    }
    assert not Play.objects.exists()
