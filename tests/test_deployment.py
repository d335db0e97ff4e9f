"""What can be checked of deployment without a Docker engine or a production host."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from django.conf import settings

from tests.worker_process import wait_for

REPO_ROOT = Path(__file__).resolve().parent.parent
DOCKER_DIR = REPO_ROOT / "docker"


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((DOCKER_DIR / "compose.yml").read_text())


def test_compose_has_every_service(compose):
    assert set(compose["services"]) == {"postgres", "rabbitmq", "redis", "web", "worker", "beat"}


@pytest.mark.parametrize("name", ["web", "worker", "beat"])
def test_app_services_build_the_app_image_from_existing_paths(compose, name):
    service = compose["services"][name]
    context = (DOCKER_DIR / service["build"]["context"]).resolve()
    assert context == REPO_ROOT
    assert (context / service["build"]["dockerfile"]).is_file()
    env_file = service["env_file"]
    assert (DOCKER_DIR / (env_file if isinstance(env_file, str) else env_file[0])).is_file()
    assert set(service["depends_on"]) == {"postgres", "rabbitmq", "redis"}


def test_service_commands(compose):
    services = compose["services"]
    assert "gunicorn recommender.wsgi:application" in services["web"]["command"]
    assert "migrate" in services["web"]["command"]
    worker = services["worker"]["command"]
    assert "celery -A recommender worker" in worker
    assert "--queues default,audio,inference,training" in worker
    assert services["beat"]["command"].startswith("celery -A recommender beat")
    assert services["postgres"]["image"].startswith("postgres:")
    assert services["redis"]["image"].startswith("redis:")
    assert services["rabbitmq"]["image"].startswith("rabbitmq:")


def test_the_production_broker_is_rabbitmq_with_a_consumer_timeout_above_training(compose):
    # RabbitMQ redelivers a killed worker's tasks at once (Redis only after its visibility
    # timeout), and must not close a worker's channel while a training run holds it busy.
    assert _env_example()["CELERY_BROKER_URL"].startswith("amqp://")
    rabbitmq = compose["services"]["rabbitmq"]
    mounted = {
        source: target
        for source, target, *_ in (volume.split(":") for volume in rabbitmq["volumes"])
    }
    assert mounted["./rabbitmq.conf"].startswith("/etc/rabbitmq/conf.d/")
    config = dict(
        (part.strip() for part in line.split("=", 1))
        for line in (DOCKER_DIR / "rabbitmq.conf").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    )
    training_limit_ms = (settings.MOOD_MODEL_TRAINING_TIME_LIMIT + 300) * 1000
    assert int(config["consumer_timeout"]) > training_limit_ms
    assert "rabbitmq-diagnostics" in rabbitmq["healthcheck"]["test"]


def test_the_dockerfile_copies_what_exists_and_installs_the_requirements():
    dockerfile = (DOCKER_DIR / "Dockerfile").read_text()
    assert "pip install -r requirements.txt" in dockerfile
    for line in dockerfile.splitlines():
        if line.startswith("COPY ") and not line.startswith("COPY . "):
            source = line.split()[1]
            assert (REPO_ROOT / source).exists(), source


def _env_example() -> dict[str, str]:
    pairs = {}
    for line in (DOCKER_DIR / "env.example").read_text().splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            pairs[key] = value
    return pairs


def _example_environment_here(**overrides: str) -> dict[str, str]:
    """docker/env.example with the compose service hosts replaced by this machine."""
    env = _env_example()
    for name in ("DATABASE_URL", "CELERY_BROKER_URL", "REDIS_CACHE_URL"):
        env[name] = (
            env[name].replace("@postgres:", "@127.0.0.1:").replace("//redis:", "//127.0.0.1:")
        )
    return {**env, **overrides}


def _run_python(env: dict[str, str], *arguments: str) -> subprocess.CompletedProcess:
    """Python in this checkout with ``env`` over this environment (less what the example sets)."""
    clean = {k: v for k, v in os.environ.items() if k not in _env_example() and k != "DEBUG"}
    return subprocess.run(
        [sys.executable, *arguments],
        cwd=REPO_ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "recommender.settings", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def _django_check(env: dict[str, str]) -> subprocess.CompletedProcess:
    return _run_python(env, "-c", "import django; django.setup()")


def test_production_refuses_insecure_defaults():
    result = _django_check({"DJANGO_ENV": "production"})
    assert result.returncode != 0
    for complaint in (
        "SECRET_KEY",
        "ALLOWED_HOSTS",
        "DATABASE_URL",
        "CELERY_BROKER_URL",
        "REDIS_CACHE_URL",
    ):
        assert complaint in result.stderr


def test_production_starts_with_the_example_environment():
    result = _django_check(_env_example())
    assert result.returncode == 0, result.stderr


def test_the_deployment_checklist_finds_nothing_in_the_example_environment():
    result = _run_python(
        _example_environment_here(), "manage.py", "check", "--deploy", "--fail-level", "WARNING"
    )
    assert result.returncode == 0, result.stderr
    # Nothing found and nothing silenced: HSTS, the https redirect, secure cookies, no DEBUG.
    assert result.stdout.strip() == "System check identified no issues (0 silenced).", result.stdout


def test_production_answers_over_https_only_and_never_with_a_debug_page():
    # Nothing listens on port 1: the health check must answer (503) without any service.
    unreachable = {
        "DATABASE_URL": "postgres://recommender:recommender@127.0.0.1:1/recommender",
        "CELERY_BROKER_URL": "redis://127.0.0.1:1/0",
        "REDIS_CACHE_URL": "redis://127.0.0.1:1/1",
    }
    result = _run_python(_example_environment_here(**unreachable), "-c", PRODUCTION_REQUESTS)
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.splitlines()[-1])

    assert seen["settings"] == {
        "DEBUG": False,
        "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True,
        "SECURE_PROXY_SSL_HEADER": ["HTTP_X_FORWARDED_PROTO", "https"],
    }
    plain_http = seen["GET http://localhost/api/v1/me/"]
    assert (plain_http["status"], plain_http["location"]) == (301, "https://localhost/api/v1/me/")
    # Compose's health check asks over plain http, with no proxy: it gets the health, not a
    # redirect.
    health = seen["GET http://localhost/healthz"]
    assert (health["status"], json.loads(health["body"])["status"]) == (503, "unavailable")
    # Behind the TLS proxy: HSTS, and Django's plain 404 page, not the debug page listing URLs.
    unknown = seen["GET https://localhost/no-such-page (via the proxy)"]
    assert unknown["status"] == 404
    assert unknown["hsts"] == "max-age=31536000; includeSubDomains; preload"
    assert "The requested resource was not found on this server." in unknown["body"]
    assert "URLconf" not in unknown["body"]


PRODUCTION_REQUESTS = """
import json
import django
django.setup()
from django.conf import settings
from django.test import Client

client = Client(HTTP_HOST="localhost")

def answer(path, **headers):
    response = client.get(path, **headers)
    return {
        "status": response.status_code,
        "location": response.get("Location"),
        "hsts": response.get("Strict-Transport-Security"),
        "body": response.content.decode(errors="replace"),
    }

names = ("DEBUG", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "SECURE_PROXY_SSL_HEADER")
print(json.dumps({
    "settings": {name: getattr(settings, name) for name in names},
    "GET http://localhost/api/v1/me/": answer("/api/v1/me/"),
    "GET http://localhost/healthz": answer("/healthz"),
    "GET https://localhost/no-such-page (via the proxy)": answer(
        "/no-such-page", HTTP_X_FORWARDED_PROTO="https"
    ),
}))
"""


def test_an_invalid_retraining_cron_stops_start_up():
    result = _django_check({"MOOD_MODEL_RETRAIN_CRON": "0 4 * *"})
    assert result.returncode != 0
    assert "ImproperlyConfigured: MOOD_MODEL_RETRAIN_CRON='0 4 * *'" in result.stderr


def test_celery_beat_keeps_its_state_in_the_data_folder(tmp_path):
    data_dir = tmp_path / "data"  # not there yet: beat's folder is made for it
    working_dir = tmp_path / "started-here"
    working_dir.mkdir()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "recommender.settings",
        "PYTHONPATH": str(REPO_ROOT),
        "DATA_DIR": str(data_dir),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        # Beat only publishes when an entry is due; an in-memory broker keeps it self-contained.
        "CELERY_BROKER_URL": "memory://",
    }
    beat = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "recommender", "beat", "--loglevel", "INFO"],
        cwd=working_dir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for(
            lambda: (
                any(data_dir.glob("celerybeat-schedule*"))
                or any(working_dir.iterdir())
                or beat.poll() is not None
            ),
            timeout=120,
            what="beat to write its schedule state",
        )
    finally:
        beat.terminate()
        output, _ = beat.communicate(timeout=30)

    assert any(data_dir.glob("celerybeat-schedule*")), output.decode(errors="replace")
    assert list(working_dir.iterdir()) == []
