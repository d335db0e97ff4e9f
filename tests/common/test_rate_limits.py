"""Rate limits: ListenBrainz's headers on every API response, counts shared through the cache."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import uuid

import pytest
from django.core.cache.backends.redis import RedisCache
from rest_framework.test import APIClient

from common.throttling import FixedWindowRateThrottle, UserRateThrottle
from tests.conftest import client_for, missing_service
from tests.factories import ListenerFactory
from tests.worker_process import REPO_ROOT

HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset-In")
# 20 s into a minute: a per-minute window then has 40 s left.
WINDOW_START = 1_800_000_000.0


class FrozenClock:
    """The throttles' clock, still unless a test moves it: no request crosses a window by
    chance."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch) -> FrozenClock:
    clock = FrozenClock(WINDOW_START + 20)
    monkeypatch.setattr(FixedWindowRateThrottle, "timer", clock)
    return clock


@pytest.fixture
def rates(settings):
    def set_rates(**rates: str) -> None:
        framework = settings.REST_FRAMEWORK
        settings.REST_FRAMEWORK = {
            **framework,
            "DEFAULT_THROTTLE_RATES": {**framework["DEFAULT_THROTTLE_RATES"], **rates},
        }

    return set_rates


def rate_limit_headers(response) -> tuple[int, int, int]:
    return tuple(int(response[name]) for name in HEADERS)


def redis_url() -> str:
    """The Redis to count in: the cache's when configured, else the broker's."""
    url = os.environ.get("REDIS_CACHE_URL") or os.environ.get("CELERY_BROKER_URL", "")
    if not url.startswith(("redis://", "rediss://")):
        missing_service("shared rate-limit counters need Redis: set REDIS_CACHE_URL")
    return url


# --- Every response under /api/v1/ and /1/ ---------------------------------------------------


# Requests the throttles counted leave 599 of a listener's 600 a minute, or 59 of an address's
# 60; requests refused before throttling spend nothing and report the budget as it is.
@pytest.mark.parametrize(
    ("role", "method", "path", "body", "status", "budget"),
    [
        ("listener", "get", "/api/v1/me/", None, 200, (600, 599)),
        ("listener", "post", "/api/v1/plays/", {"plays": "nope"}, 400, (600, 599)),
        ("listener", "get", "/api/v1/tracks/999/", None, 404, (600, 599)),
        ("anonymous", "get", "/api/v1/me/", None, 401, (60, 60)),
        ("wrong token", "get", "/api/v1/plays/", None, 401, (60, 60)),
        ("listener", "post", "/api/v1/tracks/", {"title": "t", "artist": "a"}, 403, (600, 600)),
        ("listener", "get", "/api/v1/nothing-here/", None, 404, (600, 600)),
        ("anonymous", "delete", "/api/v1/nothing-here/", None, 404, (60, 60)),
        ("listener", "get", "/api/v1/me/?q=%00", None, 400, (600, 600)),
        # validate-token authenticates no one (it answers for any token), so the address pays.
        ("listener", "get", "/1/validate-token", None, 200, (60, 59)),
        ("anonymous", "get", "/1/validate-token", None, 400, (60, 59)),
        ("anonymous", "post", "/1/submit-listens", {}, 401, (60, 60)),
        ("listener", "post", "/1/submit-listens", {"listen_type": "single"}, 400, (600, 599)),
        ("listener", "get", "/1/user/someone/listens", None, 404, (600, 600)),
    ],
)
def test_every_api_response_carries_the_rate_limit_headers(
    db, clock, role, method, path, body, status, budget, listener
):
    client = APIClient()
    if role == "listener":
        client = client_for(listener)
    elif role == "wrong token":
        client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")

    response = getattr(client, method)(path, body, format="json")

    assert response.status_code == status
    assert rate_limit_headers(response) == (*budget, 40)


def test_an_oversized_body_refused_by_the_guard_carries_the_headers(listener_client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100
    response = listener_client.post("/api/v1/plays/", {"plays": ["x" * 200]}, format="json")
    assert response.status_code == 413
    assert all(name in response for name in HEADERS)


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/healthz", "/api/schema/", "/admin/login/"])
def test_paths_outside_the_two_apis_have_no_rate_limit_headers(path):
    response = APIClient().get(path)
    assert response.status_code == 200
    assert not any(name in response for name in HEADERS)


# --- What the numbers say ----------------------------------------------------------------------


def test_remaining_counts_down_to_429_and_the_window_resets(listener_client, clock, rates):
    rates(user="3/min")

    answers = [listener_client.get("/api/v1/me/") for _ in range(4)]

    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert [rate_limit_headers(a) for a in answers] == [(3, 2, 40), (3, 1, 40)] + [(3, 0, 40)] * 2
    clock.now += 39.5  # half a second left: still this window, and "1 s" rounds up
    assert rate_limit_headers(listener_client.get("/api/v1/me/")) == (3, 0, 1)
    clock.now += 0.5  # the next minute
    after = listener_client.get("/api/v1/me/")
    assert after.status_code == 200
    assert rate_limit_headers(after) == (3, 2, 60)


def test_429_under_api_v1_has_retry_after_and_the_error_format(listener_client, clock, rates):
    rates(user="1/min")
    listener_client.get("/api/v1/me/")

    response = listener_client.get("/api/v1/plays/")

    assert response.status_code == 429
    assert response["Retry-After"] == response["X-RateLimit-Reset-In"] == "40"
    assert response["X-RateLimit-Remaining"] == "0"
    error = response.json()["error"]
    assert (error["status"], error["code"]) == (429, "throttled")
    assert error["details"] == {"retry_after_seconds": 40}


def test_429_under_1_has_retry_after_and_listenbrainzs_shape(listener, clock, rates):
    rates(user="1/min")
    client = client_for(listener)
    client.post("/1/submit-listens", {"listen_type": "single"}, format="json")

    response = client.post("/1/submit-listens", {"listen_type": "single"}, format="json")

    assert response.status_code == 429
    assert response["Retry-After"] == response["X-RateLimit-Reset-In"] == "40"
    assert set(response.json()) == {"code", "error"}
    assert response.json()["code"] == 429


def test_requests_refused_before_throttling_report_the_budget_without_spending_it(
    listener_client, clock, rates
):
    rates(user="10/min")
    listener_client.get("/api/v1/me/")
    listener_client.get("/api/v1/me/")

    forbidden = listener_client.post("/api/v1/tracks/", {"title": "t", "artist": "a"})
    unknown = listener_client.get("/api/v1/nothing-here/")
    allowed = listener_client.get("/api/v1/me/")

    assert forbidden.status_code == 403
    assert rate_limit_headers(forbidden) == (10, 8, 40)
    assert unknown.status_code == 404
    assert rate_limit_headers(unknown) == (10, 8, 40)
    assert rate_limit_headers(allowed) == (10, 7, 40)


def test_anonymous_requests_and_each_listener_have_their_own_budget(db, clock, rates):
    rates(anon="5/min", user="10/min")
    first, second = client_for(ListenerFactory()), client_for(ListenerFactory())
    anonymous = APIClient()

    first.get("/api/v1/me/")
    anonymous.get("/1/validate-token")

    assert rate_limit_headers(first.get("/api/v1/me/")) == (10, 8, 40)
    assert rate_limit_headers(second.get("/api/v1/me/")) == (10, 9, 40)
    assert rate_limit_headers(anonymous.get("/1/validate-token")) == (5, 3, 40)


# --- Shared by every process ---------------------------------------------------------------------


@pytest.fixture
def redis_cache(settings) -> str:
    url = redis_url()
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url}
    }
    return url


def test_another_web_process_counts_into_the_same_redis_counter(redis_cache, clock, rates):
    """Two processes, each with its own connection, as two gunicorn workers would be."""
    rates(anon="50/min")
    address = f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.7"  # a fresh counter
    client = APIClient(REMOTE_ADDR=address)
    client.get("/1/validate-token")
    client.get("/1/validate-token")

    other_process = subprocess.run(
        [sys.executable, "-c", OTHER_WEB_PROCESS, address, str(clock.now)],
        cwd=REPO_ROOT,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "recommender.settings",
            "REDIS_CACHE_URL": redis_cache,
            "THROTTLE_ANON_RATE": "50/min",
        },
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert other_process.returncode == 0, other_process.stderr
    seen_there = json.loads(other_process.stdout.splitlines()[-1])

    # The settings make REDIS_CACHE_URL the cache, and the other process saw this one's count.
    assert seen_there["cache"] == "django.core.cache.backends.redis.RedisCache"
    assert seen_there["remaining"] == [47, 46, 45]
    assert client.get("/1/validate-token")["X-RateLimit-Remaining"] == "44"


OTHER_WEB_PROCESS = """
import json, sys
import django
django.setup()
from django.conf import settings
from django.test import Client
from common.throttling import FixedWindowRateThrottle

address, now = sys.argv[1], float(sys.argv[2])
FixedWindowRateThrottle.timer = staticmethod(lambda: now)
client = Client(REMOTE_ADDR=address)
remaining = [int(client.get("/1/validate-token")["X-RateLimit-Remaining"]) for _ in range(3)]
print(json.dumps({"cache": settings.CACHES["default"]["BACKEND"], "remaining": remaining}))
"""


def test_concurrent_requests_on_separate_connections_are_each_counted(
    db, redis_cache, clock, rates
):
    """DRF's throttles read a list of times and write it back, so concurrent requests overwrite
    each other's; an atomic counter loses none."""
    rates(user="100000/min")
    listener = ListenerFactory()
    request = type("Request", (), {"user": listener})()
    threads, per_thread = 8, 40
    start = threading.Barrier(threads)
    # A listener id of an earlier run on a database that reuses ids: start from nothing.
    UserRateThrottle().cache.delete(f"throttle_user_{listener.pk}:{int(clock.now // 60)}")

    def serve_requests() -> None:
        # A connection of its own, like another web process.
        connection = RedisCache(redis_cache, {})
        start.wait()
        for _ in range(per_thread):
            throttle = UserRateThrottle()
            throttle.cache = connection
            assert throttle.allow_request(request, None)

    workers = [threading.Thread(target=serve_requests) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()

    budget = UserRateThrottle().current(request, user=listener)
    assert budget.limit - budget.remaining == threads * per_thread
