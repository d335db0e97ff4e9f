"""The OpenAPI schema generates cleanly and documents what the endpoints really answer."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from django.utils import timezone
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator

from tests.factories import TrackFactory, analysed_track
from tests.openapi import (
    assert_matches_documented_response,
    documented_response_schema,
)


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
