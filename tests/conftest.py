"""Shared fixtures.

Tests run on whatever ``DATABASE_URL`` names (SQLite by default, PostgreSQL in CI). Tests
marked ``integration`` run their tasks on a real Celery worker process consuming from the
broker in ``CELERY_BROKER_URL``; every other test runs tasks eagerly in-process. When
``REQUIRE_SERVICES=1`` (CI), a missing broker or server database fails those tests instead
of skipping them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from rest_framework.test import APIClient

from recommender.celery import app as celery_app
from tests.factories import ListenerFactory, StaffFactory
from tests.worker_process import (
    WorkerProcess,
    database_url,
    purge_worker_queues,
    wait_until_idle,
)

REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES", "") in {"1", "true", "yes"}


def pytest_report_header(config) -> list[str]:
    database = settings.DATABASES["default"]
    broker = settings.CELERY_BROKER_URL or "none: tasks run in-process"
    return [
        f"database: {database['ENGINE'].rsplit('.', 1)[-1]} ({database.get('HOST') or 'file'})",
        f"celery broker: {broker}",
        f"services required: {REQUIRE_SERVICES}",
    ]


def missing_service(reason: str) -> None:
    """Skip on a developer's machine without the service; fail where services are required."""
    if REQUIRE_SERVICES:
        pytest.fail(f"required service missing: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def media_root(request, settings, tmp_path) -> Path:
    if request.node.get_closest_marker("integration"):
        root = request.getfixturevalue("celery_worker")["media_root"]
    else:
        root = tmp_path / "media"
    settings.MEDIA_ROOT = str(root)
    return Path(root)


@pytest.fixture(autouse=True)
def worker_idle_before_flush(request) -> Iterator[None]:
    """An integration test ends only once the worker has finished what the test queued.

    Set up after pytest-django's database fixture, so torn down before its flush.
    """
    if request.node.get_closest_marker("integration") is None:
        yield
        return
    hostname = request.getfixturevalue("celery_worker")["hostname"]
    yield
    wait_until_idle(hostname)


@pytest.fixture(autouse=True)
def fresh_throttle_counters() -> None:
    # Throttle counters live in the cache; one test's requests must not throttle the next's.
    cache.clear()


@pytest.fixture(autouse=True)
def celery_mode(request) -> Iterator[None]:
    eager = request.node.get_closest_marker("integration") is None
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = eager
    yield
    celery_app.conf.task_always_eager = previous


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def listener(db):
    return ListenerFactory()


@pytest.fixture
def other_listener(db):
    return ListenerFactory()


def client_for(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {user.auth_token.key}")
    return client


@pytest.fixture
def listener_client(listener) -> APIClient:
    return client_for(listener)


@pytest.fixture
def staff_client(db) -> APIClient:
    return client_for(StaffFactory())


@pytest.fixture(scope="session")
def celery_worker(django_db_setup, django_db_blocker, tmp_path_factory) -> Iterator[dict]:
    """A real worker process on the test database, consuming every queue from the broker."""
    if not settings.CELERY_BROKER_URL:
        missing_service("CELERY_BROKER_URL is not set; integration tests need a broker")
    if connection.vendor != "postgresql":
        missing_service("integration tests need a server database (DATABASE_URL=postgres://...)")
    with django_db_blocker.unblock():
        try:
            with celery_app.connection_for_write() as broker:
                broker.ensure_connection(max_retries=1, timeout=3)
        except Exception as error:  # noqa: BLE001
            pytest.fail(f"broker {settings.CELERY_BROKER_URL} unreachable: {error}", pytrace=False)
        purge_worker_queues()
        worker_database_url = database_url(connection.settings_dict)

    media = tmp_path_factory.mktemp("worker-media")
    worker = WorkerProcess(
        database_url=worker_database_url,
        media_root=media,
        log_path=tmp_path_factory.mktemp("worker-log") / "worker.log",
    )
    try:
        worker.wait_until_ready()
        yield {"media_root": media, "log_path": worker.log_path, "hostname": worker.hostname}
    finally:
        worker.stop()
