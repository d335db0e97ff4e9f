"""Cross-cutting API behaviour: authentication everywhere, one error format (rate limits and
their 429: tests/common/test_rate_limits.py)."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.converters import IntConverter
from rest_framework.parsers import JSONParser
from rest_framework.test import APIClient
from rest_framework.views import APIView

from common.ids import MAX_DATABASE_ID
from common.parsers import DepthLimitedJSONParser

PUBLIC_PATHS = {"/healthz", "/api/schema/", "/api/docs/"}


def routes(patterns=None, prefix: str = "/", *, parameter: str = "1") -> list[tuple]:
    """(path, URLPattern, its converters) for every route, ``parameter`` for each parameter."""
    found = []
    for pattern in patterns if patterns is not None else get_resolver().url_patterns:
        route = re.sub(r"<(?:\w+:)?\w+>", parameter, str(pattern.pattern))
        converters = [*getattr(pattern.pattern, "converters", {}).values()]
        if isinstance(pattern, URLResolver):
            found += [
                (path, inner, converters + inner_converters)
                for path, inner, inner_converters in routes(
                    pattern.url_patterns, prefix + route, parameter=parameter
                )
            ]
        elif isinstance(pattern, URLPattern):
            found.append((prefix + route, pattern, converters))
    return found


def api_paths(*, parameter: str = "1") -> list[str]:
    """Every concrete path of the REST API, with ``parameter`` for each path parameter."""
    return [path for path, _, _ in routes(parameter=parameter) if path.startswith("/api/v1/")]


def api_and_listenbrainz_routes() -> list[tuple]:
    return [route for route in routes() if route[0].startswith(("/api/", "/1/"))]


def test_the_api_has_endpoints_to_check():
    assert len(api_paths()) >= 6


@pytest.mark.django_db
@pytest.mark.parametrize("path", api_paths())
@pytest.mark.parametrize("method", ["get", "post", "put"])
def test_every_api_endpoint_needs_a_token(path, method):
    response = getattr(APIClient(), method)(path, {}, format="json")
    if response.status_code == 405:
        return
    assert response.status_code == 401, (path, method, response.status_code)
    assert response.json()["error"]["code"] == "not_authenticated"


@pytest.mark.django_db
def test_a_wrong_token_is_refused():
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    response = client.get("/api/v1/plays/")
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "Invalid token."


@pytest.mark.django_db
@pytest.mark.parametrize("path", sorted(PUBLIC_PATHS))
def test_health_and_schema_are_public(path):
    assert APIClient().get(path).status_code == 200


@pytest.mark.django_db
def test_schema_is_openapi_3_and_lists_the_play_endpoint():
    response = APIClient().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert "/api/v1/plays/" in schema["paths"]


def test_validation_errors_share_the_error_format(listener_client):
    response = listener_client.post("/api/v1/plays/", {"plays": "nope"}, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["status"] == 400
    assert error["code"] == "invalid"
    assert error["message"].startswith("plays:")
    assert "plays" in error["details"]


@pytest.mark.django_db
def test_health_reports_the_database():
    response = APIClient().get("/healthz")
    body = response.json()
    assert response.status_code == 200
    assert body["checks"]["database"] == "ok"
    assert "broker" in body["checks"]


@pytest.mark.django_db
def test_health_is_503_when_the_broker_is_configured_but_down(settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    response = APIClient().get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["broker"].startswith("error:")


# --- Bad input gets a 4xx in the error format, never a 500 -------------------------------------


def test_a_json_body_nested_too_deep_is_a_400_in_the_error_format(listener_client):
    response = listener_client.generic(
        "POST", "/api/v1/plays/", "[" * 100_000, content_type="application/json"
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "parse_error"
    assert "nested deeper than 64 levels" in error["message"]


def test_every_json_endpoint_reads_through_the_depth_limited_parser():
    views = {
        pattern.callback.cls
        for _, pattern, _ in api_and_listenbrainz_routes()
        if issubclass(getattr(pattern.callback, "cls", object), APIView)
    }
    assert views
    for view in views:
        for parser in view.parser_classes:
            if issubclass(parser, JSONParser):
                assert issubclass(parser, DepthLimitedJSONParser), (view, parser)


@pytest.mark.parametrize("too_big", [MAX_DATABASE_ID + 1, 2**64, 10**30])
@pytest.mark.parametrize("method", ["get", "post", "put"])
def test_an_id_beyond_the_databases_range_is_a_404(staff_client, too_big, method):
    paths = sorted(set(api_paths(parameter=str(too_big))) - set(api_paths()))
    assert f"/api/v1/tracks/{too_big}/analysis/" in paths
    for path in paths:
        response = getattr(staff_client, method)(path, {}, format="json")
        assert response.status_code == 404, (path, response.status_code)
        assert response.json()["error"]["code"] == "not_found"


def test_ids_in_api_urls_are_bounded_to_the_databases_range():
    for path, _, converters in api_and_listenbrainz_routes():
        assert not any(isinstance(c, IntConverter) for c in converters), (
            f"{path}: use <id:...> (common.ids), not <int:...>"
        )


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/tracks/?q=%00",
        "/api/v1/tracks/?q=sun%00set",
        "/api/v1/plays/?since=%00",
        "/api/v1/recommendations/?exclude_artist=a&exclude_artist=%00",
        "/api/v1/me/?%00=1",
    ],
)
def test_a_nul_character_in_the_query_is_a_400_in_the_error_format(listener_client, path):
    response = listener_client.get(path)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert "NUL character" in error["message"]


@pytest.mark.django_db
def test_a_nul_character_in_a_header_is_a_400_in_the_error_format():
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token abc\x00def")
    response = client.get("/api/v1/me/")
    assert response.status_code == 400
    assert "Header 'Authorization'" in response.json()["error"]["message"]


def test_a_form_with_more_fields_than_django_reads_is_a_400_in_the_error_format(
    listener_client, settings
):
    # Django refuses it while parsing, outside DRF's exception handler (handler400).
    body = "&".join(["plays=null"] * (settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1))
    response = listener_client.generic(
        "POST", "/api/v1/plays/", body, content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    error = response.json()["error"]
    assert error["code"] == "too_many_fields"
    assert str(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS) in error["message"]


@pytest.mark.django_db
def test_a_query_with_too_many_parameters_is_a_400_in_each_apis_format(settings):
    query = "&".join(f"p{i}=1" for i in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1))
    rest = APIClient().get(f"/api/v1/tracks/?{query}")
    assert rest.status_code == 400
    assert rest.json()["error"]["code"] == "too_many_fields"
    listenbrainz = APIClient().get(f"/1/validate-token?{query}")
    assert listenbrainz.status_code == 400
    assert listenbrainz.json()["code"] == 400
    assert "more than" in listenbrainz.json()["error"]


# --- Unknown paths -------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path", ["/api/", "/api/v2/plays/", "/api/v1/nothing-here/", "/api/v1/tracks/abc/"]
)
@pytest.mark.parametrize("method", ["get", "post", "delete"])
def test_unknown_paths_under_the_api_answer_in_the_error_format(path, method):
    # Client(), not APIClient: a plain request, with the CSRF checks a browser would meet.
    response = getattr(Client(enforce_csrf_checks=True), method)(path)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "error": {
            "status": 404,
            "code": "not_found",
            "message": f"Not found: there is no endpoint or object at {path}.",
        }
    }


def test_a_get_without_the_trailing_slash_is_still_redirected(listener_client):
    response = listener_client.get("/api/v1/plays?since=2026-01-01T00:00:00Z")
    assert response.status_code == 301
    assert response["Location"] == "/api/v1/plays/?since=2026-01-01T00:00:00Z"


def test_a_post_without_the_trailing_slash_is_told_where_to_go(listener_client):
    response = listener_client.post("/api/v1/plays", {"plays": []}, format="json")
    assert response.status_code == 404
    assert "send the request to /api/v1/plays/ instead" in response.json()["error"]["message"]
