"""The OpenAPI schema generates cleanly and documents what the endpoints really answer."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from django.utils import timezone
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator

from common.throttling import FixedWindowRateThrottle
from tests.factories import TrackFactory, analysed_track
from tests.openapi import (
    assert_matches_documented_response,
    documented_response_schema,
    openapi_document,
)

ERROR_RESPONSE = {"$ref": "#/components/schemas/ErrorResponse"}
LISTENBRAINZ_ERROR = {"$ref": "#/components/schemas/ListenBrainzError"}


def test_the_schema_is_generated_without_warnings_or_errors():
    # Two serializers with one component name, an operationId used twice, a view whose
    # response cannot be told: drf-spectacular reports each of these as a warning or an error.
    GENERATOR_STATS.reset()
    with GENERATOR_STATS.silence():
        SchemaGenerator().get_schema(request=None, public=True)
    assert not GENERATOR_STATS, {
        "warnings": sorted(GENERATOR_STATS._warn_cache),
        "errors": sorted(GENERATOR_STATS._error_cache),
    }


@pytest.mark.parametrize(
    ("path", "method", "status", "component"),
    [
        ("/api/v1/listeners/", "post", 201, "ListenerCreateApiOutput"),
        ("/api/v1/me/", "get", 200, "MeApiOutput"),
        ("/api/v1/me/token/", "post", 201, "TokenRotateApiOutput"),
        ("/api/v1/tracks/{track_id}/analysis/", "get", 200, "TrackAnalysisApiOutput"),
        ("/api/v1/recommendations/", "get", 200, "RecommendationListApiOutput"),
    ],
)
def test_each_views_nested_serializer_is_a_component_of_its_own(path, method, status, component):
    schema = documented_response_schema(path=path, method=method, status=status)
    assert schema == {"$ref": f"#/components/schemas/{component}"}


@pytest.mark.parametrize(
    ("path", "component"),
    [
        ("/api/v1/tracks/", "PaginatedTrackOutputList"),
        ("/api/v1/plays/", "PaginatedPlayOutputList"),
        ("/api/v1/imports/", "PaginatedImportJobOutputList"),
        ("/api/v1/me/mood", "PaginatedMoodSnapshotOutputList"),
    ],
)
def test_lists_are_documented_as_pages(path, component):
    schema = documented_response_schema(path=path, method="get", status=200)
    assert schema == {"$ref": f"#/components/schemas/{component}"}


def test_a_listener_without_an_email_is_answered_as_documented(staff_client, api_client):
    created = staff_client.post("/api/v1/listeners/", {"username": "no-email"}, format="json")
    assert created.status_code == 201
    assert created.json()["email"] == ""
    assert_matches_documented_response(created, path="/api/v1/listeners/", method="post")

    api_client.credentials(HTTP_AUTHORIZATION=f"Token {created.json()['token']}")
    me = api_client.get("/api/v1/me/")
    assert me.json()["email"] == ""
    assert_matches_documented_response(me, path="/api/v1/me/", method="get")
    rotated = api_client.post("/api/v1/me/token/")
    assert_matches_documented_response(rotated, path="/api/v1/me/token/", method="post")


def test_catalogue_answers_are_as_documented(staff_client):
    track = analysed_track(np.zeros((3, 50)), title="Sun")
    TrackFactory.create_batch(2)

    listed = staff_client.get("/api/v1/tracks/", {"page_size": 2})
    assert listed.json()["next"]
    assert_matches_documented_response(listed, path="/api/v1/tracks/", method="get")
    detail = staff_client.get(f"/api/v1/tracks/{track.pk}/")
    assert_matches_documented_response(detail, path="/api/v1/tracks/{track_id}/", method="get")
    analysis = staff_client.get(f"/api/v1/tracks/{track.pk}/analysis/")
    assert_matches_documented_response(
        analysis, path="/api/v1/tracks/{track_id}/analysis/", method="get"
    )
    created = staff_client.post(
        "/api/v1/tracks/", {"title": "Moon", "artist": "Band"}, format="json"
    )
    assert_matches_documented_response(created, path="/api/v1/tracks/", method="post")


def test_plays_and_imports_answers_are_as_documented(listener_client):
    track = TrackFactory()
    played_at = (timezone.now() - dt.timedelta(hours=1)).isoformat()
    plays = [
        {"track": track.pk, "played_at": played_at},
        {"track_name": "Unknown", "artist_name": "Nobody", "played_at": played_at},
        {"track": "not an id", "played_at": played_at},
    ]
    submitted = listener_client.post("/api/v1/plays/", {"plays": plays}, format="json")
    assert submitted.json()["rejected"] == 1
    assert_matches_documented_response(submitted, path="/api/v1/plays/", method="post")

    listed = listener_client.get("/api/v1/plays/")
    assert listed.json()["count"] == 2
    assert_matches_documented_response(listed, path="/api/v1/plays/", method="get")
    imports = listener_client.get("/api/v1/imports/")
    assert_matches_documented_response(imports, path="/api/v1/imports/", method="get")


# --- Errors ----------------------------------------------------------------------------------


def documented_statuses(*, path: str, method: str) -> set[str]:
    return set(openapi_document()["paths"][path][method]["responses"])


@pytest.mark.parametrize(
    ("path", "method", "statuses"),
    [
        # Any request can be malformed, any token wrong, any client too fast.
        ("/api/v1/me/", "get", {"200", "400", "401", "429"}),
        # A body: too large, of a type the view does not read; an unsafe method: CSRF.
        ("/api/v1/plays/", "post", {"200", "400", "401", "403", "413", "415", "429"}),
        # Staff only, and a path parameter.
        (
            "/api/v1/tracks/{track_id}/audio/",
            "put",
            {"202", "400", "401", "403", "404", "413", "415", "429"},
        ),
        # A page (404 past the last one) and query parameters (414 from the HTTP server).
        ("/api/v1/tracks/", "get", {"200", "400", "401", "404", "414", "429"}),
        # The view's own: 503 while no model is active, 409 on a changed answer.
        ("/api/v1/recommendations/", "get", {"200", "400", "401", "414", "429", "503"}),
        ("/api/v1/me/mood", "get", {"200", "400", "401", "404", "414", "429", "503"}),
        (
            "/api/v1/recommendations/{recommendation_id}/feedback",
            "post",
            {"200", "400", "401", "403", "404", "409", "413", "415", "429"},
        ),
        # ListenBrainz's: its own refusal of a large body (a 400), any Content-Type, no CSRF.
        ("/1/submit-listens", "post", {"200", "400", "401", "429"}),
        ("/1/validate-token", "get", {"200", "400", "414", "429"}),
    ],
)
def test_each_operation_documents_the_errors_it_can_answer(path, method, statuses):
    assert documented_statuses(path=path, method=method) == statuses


def test_every_documented_error_is_in_the_error_format():
    operations = [
        (path, method, operation)
        for path, item in openapi_document()["paths"].items()
        for method, operation in item.items()
    ]
    assert len(operations) >= 18
    for path, method, operation in operations:
        error_format = LISTENBRAINZ_ERROR if path.startswith("/1/") else ERROR_RESPONSE
        for status, response in operation["responses"].items():
            if status == "414":
                # The HTTP server (gunicorn) answers it before the service: its own body.
                assert "content" not in response, (path, method)
            elif int(status) >= 400:
                schema = response["content"]["application/json"]["schema"]
                assert schema == error_format, (path, method, status)
                assert response["description"], (path, method, status)


def test_the_error_format_is_documented_as_it_is_written():
    schemas = openapi_document()["components"]["schemas"]
    assert schemas["ErrorResponse"]["required"] == ["error"]
    error = schemas["ApiError"]
    assert set(error["properties"]) == {"status", "code", "message", "details"}
    assert sorted(error["required"]) == ["code", "message", "status"]


def test_plumbing_errors_answer_as_documented(api_client, listener_client, settings):
    unauthenticated = api_client.get("/api/v1/me/")
    assert unauthenticated.status_code == 401
    assert_matches_documented_response(unauthenticated, path="/api/v1/me/", method="get")

    invalid = listener_client.post("/api/v1/plays/", {"plays": "nope"}, format="json")
    assert invalid.status_code == 400
    assert invalid.json()["error"]["details"]
    assert_matches_documented_response(invalid, path="/api/v1/plays/", method="post")

    nul = listener_client.get("/api/v1/plays/?since=%00")
    assert nul.status_code == 400
    assert_matches_documented_response(nul, path="/api/v1/plays/", method="get")

    staff_only = listener_client.post("/api/v1/tracks/", {"title": "t", "artist": "a"})
    assert staff_only.status_code == 403
    assert_matches_documented_response(staff_only, path="/api/v1/tracks/", method="post")

    no_such_track = listener_client.get("/api/v1/tracks/999999/")
    assert no_such_track.status_code == 404
    assert_matches_documented_response(
        no_such_track, path="/api/v1/tracks/{track_id}/", method="get"
    )
    no_such_page = listener_client.get("/api/v1/plays/", {"page": 9})
    assert no_such_page.status_code == 404
    assert_matches_documented_response(no_such_page, path="/api/v1/plays/", method="get")

    unreadable = listener_client.post(
        "/api/v1/plays/", "plays", content_type="text/plain; charset=utf-8"
    )
    assert unreadable.status_code == 415
    assert_matches_documented_response(unreadable, path="/api/v1/plays/", method="post")

    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100
    too_large = listener_client.post("/api/v1/plays/", {"plays": ["x" * 100]}, format="json")
    assert too_large.status_code == 413
    assert_matches_documented_response(too_large, path="/api/v1/plays/", method="post")


def test_a_throttled_request_answers_as_documented(listener_client, settings, monkeypatch):
    # A still clock: both requests fall in one rate-limit window.
    monkeypatch.setattr(FixedWindowRateThrottle, "timer", staticmethod(lambda: 1_800_000_020.0))
    framework = settings.REST_FRAMEWORK
    settings.REST_FRAMEWORK = {
        **framework,
        "DEFAULT_THROTTLE_RATES": {**framework["DEFAULT_THROTTLE_RATES"], "user": "1/min"},
    }
    assert listener_client.get("/api/v1/me/").status_code == 200
    throttled = listener_client.get("/api/v1/me/")
    assert throttled.status_code == 429
    assert_matches_documented_response(throttled, path="/api/v1/me/", method="get")


def test_listenbrainz_answers_are_as_documented(listener, listener_client, api_client):
    listen = {"listened_at": 1700000000, "track_metadata": {"artist_name": "A", "track_name": "T"}}
    body = {"listen_type": "single", "payload": [listen]}
    submitted = listener_client.post("/1/submit-listens", body, format="json")
    assert submitted.status_code == 200
    assert_matches_documented_response(submitted, path="/1/submit-listens", method="post")

    refused = listener_client.post(
        "/1/submit-listens", {"listen_type": "single", "payload": []}, format="json"
    )
    assert refused.status_code == 400
    assert_matches_documented_response(refused, path="/1/submit-listens", method="post")
    unauthenticated = api_client.post("/1/submit-listens", body, format="json")
    assert unauthenticated.status_code == 401
    assert_matches_documented_response(unauthenticated, path="/1/submit-listens", method="post")

    valid = listener_client.get("/1/validate-token")
    assert valid.json()["valid"] is True
    assert_matches_documented_response(valid, path="/1/validate-token", method="get")
    invalid = api_client.get("/1/validate-token", {"token": "nope"})
    assert invalid.json()["valid"] is False
    assert_matches_documented_response(invalid, path="/1/validate-token", method="get")
    missing = api_client.get("/1/validate-token")
    assert missing.status_code == 400
    assert_matches_documented_response(missing, path="/1/validate-token", method="get")
