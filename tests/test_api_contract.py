"""Cross-cutting API behaviour: authentication everywhere, one error format, throttling."""

from __future__ import annotations

import re

import pytest
from django.core.cache import cache
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.settings import api_settings
from rest_framework.test import APIClient
from rest_framework.throttling import UserRateThrottle

PUBLIC_PATHS = {"/healthz", "/api/schema/", "/api/docs/"}


def api_paths(patterns=None, prefix: str = "/") -> list[str]:
    """Every concrete path of the API, with 1 for each path parameter."""
    paths = []
    for pattern in patterns if patterns is not None else get_resolver().url_patterns:
        route = re.sub(r"<(?:\w+:)?\w+>", "1", str(pattern.pattern))
        if isinstance(pattern, URLResolver):
            paths += api_paths(pattern.url_patterns, prefix + route)
        elif isinstance(pattern, URLPattern):
            paths.append(prefix + route)
    return [path for path in paths if path.startswith("/api/v1/")]


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


def test_throttled_requests_get_429_with_retry_after(listener_client):
    rates = {**api_settings.DEFAULT_THROTTLE_RATES, "user": "3/min"}
    original = UserRateThrottle.THROTTLE_RATES
    UserRateThrottle.THROTTLE_RATES = rates
    try:
        cache.clear()
        statuses = [listener_client.get("/api/v1/me/").status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
        response = listener_client.get("/api/v1/me/")
        assert int(response["Retry-After"]) > 0
        assert response.json()["error"]["code"] == "throttled"
        assert response.json()["error"]["details"]["retry_after_seconds"] > 0
    finally:
        UserRateThrottle.THROTTLE_RATES = original
        cache.clear()


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
