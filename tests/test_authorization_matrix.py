"""Who may do what: every route in the URL conf, as each kind of caller.

``MATRIX`` holds a row per route and method of the two APIs and the public pages: the request
and the status each caller gets. A route added without a row, or a row whose route is gone,
fails ``test_every_route_has_a_row_and_every_row_a_route``, so a new endpoint cannot ship
without someone deciding who may call it.

The callers: nobody (no credentials), another listener, the listener who owns the objects in
the path (an import job, a recommendation), and staff (who own nothing). Each listener and
staff member sends their API token and also has an admin session, so the admin site is asked
by the same callers.

The admin site is covered by a rule instead of a row per page: Django generates its pages
(six per registered model), all behind ``AdminSite.admin_view``, and what they do for staff
is Django's model permissions. The rule: every admin route sends anybody who is not staff
to the admin login, and lets staff past it. A custom admin view someone forgets to wrap (like
the confusion-matrix image, which is wrapped) fails the rule. The two admin routes with an answer of
their own for non-staff, the login form and logout, have rows.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from rest_framework.test import APIClient
from rest_framework.views import APIView

from tests.conftest import client_for
from tests.factories import (
    ImportJobFactory,
    JourneyFactory,
    JourneyItemFactory,
    RecommendationFactory,
    StaffFactory,
    analysed_track,
)
from tests.recommender.conftest import (  # noqa: F401 - fixtures, asked for by name below
    active_model,
    features_of,
    trained_mood_model,
)

ROLES = ("anonymous", "other listener", "owner", "staff")
METHODS = ("get", "post", "put", "patch", "delete")
ADMIN_LOGIN = "/admin/login/"
SENT_TO_LOG_IN = "sent to the admin login"
# What the admin rule expects of staff: any answer but being sent to log in.
PAST_THE_ADMIN_LOGIN = "past the admin login"


@dataclass(frozen=True)
class Row:
    """One request and the status each role gets, in ``ROLES`` order.

    ``path`` names the owner's objects as ``{track}``, ``{import_job}``, ``{recommendation}``;
    ``body`` makes the request body from the same ids (a fresh one per request: uploads are
    read once).
    """

    path: str
    expected: tuple[int | str, int | str, int | str, int | str]
    body: Callable[[dict], dict] | None = None
    format: str = "json"
    needs_active_model: bool = False


def listen(ids: dict) -> dict:
    track = {"track_name": "Vantablack", "artist_name": "Dool"}
    return {
        "listen_type": "single",
        "payload": [{"listened_at": int(time.time()) - 3600, "track_metadata": track}],
    }


def history_file(ids: dict) -> dict:
    line = b'{"listened_at": 1763740000, "track_metadata": {"artist_name": "A", "track_name": "B"}}'
    return {"file": SimpleUploadedFile("listens.jsonl", line + b"\n"), "format": "listenbrainz"}


# Statuses per role: anonymous, another listener, the owner, staff.
MATRIX: dict[tuple[str, str], Row] = {
    # --- REST API (/api/v1/) ---
    ("api/v1/listeners/", "POST"): Row(
        "/api/v1/listeners/", (401, 403, 403, 201), body=lambda ids: {"username": "newcomer"}
    ),
    ("api/v1/me/", "GET"): Row("/api/v1/me/", (401, 200, 200, 200)),
    ("api/v1/me/token/", "POST"): Row("/api/v1/me/token/", (401, 201, 201, 201)),
    ("api/v1/tracks/", "GET"): Row("/api/v1/tracks/", (401, 200, 200, 200)),
    ("api/v1/tracks/", "POST"): Row(
        "/api/v1/tracks/",
        (401, 403, 403, 201),
        body=lambda ids: {"title": "New song", "artist": "New artist"},
    ),
    ("api/v1/tracks/<id:track_id>/", "GET"): Row("/api/v1/tracks/{track}/", (401, 200, 200, 200)),
    # Staff get past the permission check to the upload's validation: no file is a 400.
    ("api/v1/tracks/<id:track_id>/audio/", "PUT"): Row(
        "/api/v1/tracks/{track}/audio/",
        (401, 403, 403, 400),
        body=lambda ids: {},
        format="multipart",
    ),
    ("api/v1/tracks/<id:track_id>/analysis/", "GET"): Row(
        "/api/v1/tracks/{track}/analysis/", (401, 200, 200, 200)
    ),
    ("api/v1/tracks/<id:track_id>/emotion/", "GET"): Row(
        "/api/v1/tracks/{track}/emotion/", (401, 200, 200, 200)
    ),
    # Lists are each caller's own (tested in the apps' tests); everyone may ask.
    ("api/v1/plays/", "GET"): Row("/api/v1/plays/", (401, 200, 200, 200)),
    ("api/v1/plays/", "POST"): Row(
        "/api/v1/plays/",
        (401, 200, 200, 200),
        body=lambda ids: {
            "plays": [{"track": ids["track"], "played_at": "2026-01-01T12:00:00Z", "ms_played": 1}]
        },
    ),
    ("api/v1/imports/", "GET"): Row("/api/v1/imports/", (401, 200, 200, 200)),
    ("api/v1/imports/", "POST"): Row(
        "/api/v1/imports/", (401, 202, 202, 202), body=history_file, format="multipart"
    ),
    # Another listener's job does not exist for them, staff included: 404, not 403.
    ("api/v1/imports/<id:job_id>/", "GET"): Row(
        "/api/v1/imports/{import_job}/", (401, 404, 200, 404)
    ),
    ("api/v1/recommendations/", "GET"): Row(
        "/api/v1/recommendations/", (401, 200, 200, 200), needs_active_model=True
    ),
    ("api/v1/recommendations/<id:recommendation_id>/feedback", "POST"): Row(
        "/api/v1/recommendations/{recommendation}/feedback",
        (401, 404, 200, 404),
        body=lambda ids: {"action": "accept"},
    ),
    ("api/v1/recommendations/<id:recommendation_id>/feedback/", "POST"): Row(
        "/api/v1/recommendations/{recommendation}/feedback/",
        (401, 404, 200, 404),
        body=lambda ids: {"action": "accept"},
    ),
    ("api/v1/me/mood", "GET"): Row(
        "/api/v1/me/mood", (401, 200, 200, 200), needs_active_model=True
    ),
    ("api/v1/me/mood", "PUT"): Row(
        "/api/v1/me/mood", (401, 200, 200, 200), body=lambda ids: {"label": "Q1"}
    ),
    ("api/v1/me/mood/", "GET"): Row(
        "/api/v1/me/mood/", (401, 200, 200, 200), needs_active_model=True
    ),
    ("api/v1/me/mood/", "PUT"): Row(
        "/api/v1/me/mood/", (401, 200, 200, 200), body=lambda ids: {"label": "Q1"}
    ),
    # Emotion journeys: the owner's journey, as recommendations are; planning needs a model.
    ("api/v1/journeys/", "POST"): Row(
        "/api/v1/journeys/",
        (401, 201, 201, 201),
        body=lambda ids: {"target": "Q1", "start": "Q3", "length": 5},
        needs_active_model=True,
    ),
    ("api/v1/journeys/<id:journey_id>/", "GET"): Row(
        "/api/v1/journeys/{journey}/", (401, 404, 200, 404)
    ),
    ("api/v1/journeys/<id:journey_id>/items/<id:item_id>/feedback", "POST"): Row(
        "/api/v1/journeys/{journey}/items/{journey_item}/feedback",
        (401, 404, 200, 404),
        body=lambda ids: {"action": "accept"},
    ),
    ("api/v1/journeys/<id:journey_id>/items/<id:item_id>/feedback/", "POST"): Row(
        "/api/v1/journeys/{journey}/items/{journey_item}/feedback/",
        (401, 404, 200, 404),
        body=lambda ids: {"action": "accept"},
    ),
    # --- ListenBrainz API (/1/) ---
    ("1/submit-listens", "POST"): Row("/1/submit-listens", (401, 200, 200, 200), body=listen),
    # Public, as on ListenBrainz: without a token the answer says one is needed (400).
    ("1/validate-token", "GET"): Row("/1/validate-token", (400, 200, 200, 200)),
    # --- Unknown paths under both APIs answer 404 in the API's format, to anybody ---
    ("^(?:api|1)/", "GET"): Row("/api/v1/no-such-endpoint/", (404, 404, 404, 404)),
    # --- Public ---
    ("healthz", "GET"): Row("/healthz", (200, 200, 200, 200)),
    ("api/schema/", "GET"): Row("/api/schema/", (200, 200, 200, 200)),
    ("api/docs/", "GET"): Row("/api/docs/", (200, 200, 200, 200)),
    # Only with DEBUG (development): uploaded files, for anybody. Production has no such route.
    ("^media/(?P<path>.*)$", "GET"): Row("/media/no-such-file.mp3", (404, 404, 404, 404)),
    # --- Admin pages with an answer of their own for non-staff (the others: admin_rule) ---
    # The login form answers everybody; staff already logged in go on to the admin.
    ("admin/login/", "GET"): Row(ADMIN_LOGIN, (200, 200, 200, 302)),
    # Non-staff are sent to the admin's index (which sends them to log in); logging out is a
    # POST, so staff get 405.
    ("admin/logout/", "GET"): Row("/admin/logout/", (302, 302, 302, 405)),
}

# The only routes whose presence depends on settings.DEBUG when the URL conf was loaded.
DEBUG_ONLY_ROUTES = {"^media/(?P<path>.*)$"}
# Values for the named groups of the admin's regular-expression routes.
ADMIN_EXAMPLE_ARGUMENTS = {"app_label": "users", "url": "no-such-page/"}


def _join(prefix: str, route: str) -> str:
    # As Django joins routes in ResolverMatch.route: a nested regex loses its "^".
    return prefix + route.removeprefix("^") if prefix else route


def url_conf_routes(patterns=None, prefix: str = "") -> dict[str, URLPattern]:
    """Every route of the URL conf, keyed as ``resolve(path).route`` names it."""
    found = {}
    for pattern in patterns if patterns is not None else get_resolver().url_patterns:
        route = _join(prefix, str(pattern.pattern))
        if isinstance(pattern, URLResolver):
            found |= url_conf_routes(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern):
            found[route] = pattern
    return found


def methods_of(pattern: URLPattern) -> list[str]:
    """The methods a route's view implements (a DRF view's handlers; GET for a function view).
    HEAD and OPTIONS follow GET's authentication and are left out."""
    view = getattr(pattern.callback, "cls", None)
    if view is not None and issubclass(view, APIView):
        return [method.upper() for method in METHODS if hasattr(view, method)]
    return ["GET"]


def is_admin(route: str) -> bool:
    return route.startswith("admin/")


def admin_rule(route: str) -> Row:
    """The admin's gate: anybody but staff is sent to log in; staff get past it."""
    path = re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda group: ADMIN_EXAMPLE_ARGUMENTS[group[1]], route)
    path = re.sub(r"<(?:\w+:)?\w+>", "1", path)
    path = "/" + path.removeprefix("^").removesuffix("$")
    return Row(path, (SENT_TO_LOG_IN, SENT_TO_LOG_IN, SENT_TO_LOG_IN, PAST_THE_ADMIN_LOGIN))


def url_conf_requests() -> set[tuple[str, str]]:
    """(route, method) for every method of every route in the URL conf."""
    return {
        (route, method)
        for route, pattern in url_conf_routes().items()
        for method in methods_of(pattern)
    }


def test_every_route_has_a_row_and_every_row_a_route():
    in_url_conf = url_conf_requests()
    without_a_row = {key for key in in_url_conf - set(MATRIX) if not is_admin(key[0])}
    gone = {key for key in set(MATRIX) - in_url_conf if key[0] not in DEBUG_ONLY_ROUTES}

    assert not without_a_row, f"routes without a row in MATRIX: {sorted(without_a_row)}"
    assert not gone, f"rows whose route is gone from the URL conf: {sorted(gone)}"


@pytest.fixture
def callers(db, listener, other_listener) -> dict[str, APIClient]:
    clients = {"anonymous": APIClient()}
    for role, user in (
        ("other listener", other_listener),
        ("owner", listener),
        ("staff", StaffFactory()),
    ):
        clients[role] = client_for(user)
        clients[role].force_login(user)
    return clients


@pytest.fixture
def owners_objects(listener) -> dict[str, int]:
    track = analysed_track(features_of("Q1"))
    journey_track = analysed_track(features_of("Q3"), title="on a journey")
    journey = JourneyFactory(listener=listener)
    item = JourneyItemFactory(
        journey=journey,
        track=journey_track,
        recommendation=RecommendationFactory(listener=listener, track=journey_track),
    )
    return {
        "track": track.pk,
        "import_job": ImportJobFactory(listener=listener).pk,
        "recommendation": RecommendationFactory(listener=listener, track=track).pk,
        "journey": journey.pk,
        "journey_item": item.pk,
    }


@pytest.mark.parametrize(("route", "method"), sorted(url_conf_requests() | set(MATRIX)))
def test_who_may_call_each_route(route, method, callers, request):
    row = MATRIX.get((route, method))
    if row is None:
        assert is_admin(route), f"{method} {route} has no row in MATRIX"
        row = admin_rule(route)
    ids = request.getfixturevalue("owners_objects") if "{" in row.path or row.body else {}
    if row.needs_active_model:
        request.getfixturevalue("active_model")
    path = row.path.format(**ids)
    if route in url_conf_routes():  # a DEBUG-only route may be absent: then nothing serves it
        assert resolve(path).route == route, f"{path} is not a request for {route}"

    seen = {}
    for role in ROLES:
        body = row.body(ids) if row.body else None
        response = getattr(callers[role], method.lower())(path, body, format=row.format)
        to_login = response.status_code == 302 and response["Location"].startswith(ADMIN_LOGIN)
        seen[role] = SENT_TO_LOG_IN if to_login else response.status_code

    expected = {
        role: seen[role]
        if status == PAST_THE_ADMIN_LOGIN and seen[role] != SENT_TO_LOG_IN
        else status
        for role, status in zip(ROLES, row.expected, strict=True)
    }
    assert seen == expected, f"{method} {path}"
