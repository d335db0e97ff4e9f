"""An unhandled exception answers in the API's error format, never with an HTML page."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import include, path


def failing_view(request):
    raise RuntimeError("a bug")


urlpatterns = [
    path("api/v1/failing/", failing_view),
    path("1/failing", failing_view),
    path("", include("recommender.urls")),
]

# The project's handler, as the project's URL conf names it.
from recommender.urls import handler500  # noqa: E402,F401


@pytest.fixture
def client_seeing_500s(settings):
    settings.ROOT_URLCONF = __name__
    settings.DEBUG = False
    return Client(raise_request_exception=False)


@pytest.mark.parametrize(
    ("url", "body_keys"),
    [("/api/v1/failing/", {"error"}), ("/1/failing", {"code", "error"})],
    ids=["service format", "ListenBrainz format"],
)
def test_an_unhandled_exception_answers_json_in_the_paths_error_format(
    client_seeing_500s, url, body_keys
):
    response = client_seeing_500s.get(url)

    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) >= body_keys
    assert "a bug" not in response.content.decode()
