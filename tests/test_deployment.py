"""What can be checked of deployment without a Docker engine or a production host."""

from __future__ import annotations

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


def _django_check(env: dict[str, str]) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in _env_example() and k != "DEBUG"}
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=REPO_ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "recommender.settings", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_refuses_insecure_defaults():
    result = _django_check({"DJANGO_ENV": "production"})
    assert result.returncode != 0
    for complaint in ("SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL", "CELERY_BROKER_URL"):
        assert complaint in result.stderr


def test_production_starts_with_the_example_environment():
    result = _django_check(_env_example())
    assert result.returncode == 0, result.stderr


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
