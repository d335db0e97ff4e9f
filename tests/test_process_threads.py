"""Every process we start runs torch, OpenMP and BLAS with one thread unless configured
(``recommender/process_threads.py`` says why)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.conf import settings

from recommender.celery import app as celery_app
from recommender.process_threads import PROCESS_THREADS_ENV, THREAD_ENV_VARS
from tests.conftest import missing_service
from tests.worker_process import WorkerProcess, wait_for

REPO_ROOT = Path(__file__).resolve().parent.parent
REPORT = (
    "import json, os, torch; print(json.dumps({'torch': torch.get_num_threads(), "
    f"'env': [os.environ.get(name) for name in {THREAD_ENV_VARS!r}]}}))"
)
# Each entry point as the process that uses it loads it, then the report.
ENTRY_POINTS = {
    "manage.py": [sys.executable, "manage.py", "shell", "--no-imports", "-c", REPORT],
    "gunicorn (wsgi)": [sys.executable, "-c", f"import recommender.wsgi\n{REPORT}"],
    "asgi": [sys.executable, "-c", f"import recommender.asgi\n{REPORT}"],
    "celery worker/beat (app)": [
        sys.executable, "-c",
        f"from recommender.celery import app\napp.loader.import_default_modules()\n{REPORT}",
    ],
}  # fmt: skip


def environment_without_thread_settings(**extra: str) -> dict[str, str]:
    unset = {*THREAD_ENV_VARS, PROCESS_THREADS_ENV}
    return {**{k: v for k, v in os.environ.items() if k not in unset}, **extra}


def run_entry_point(name: str, **extra: str) -> dict:
    result = subprocess.run(
        ENTRY_POINTS[name],
        cwd=REPO_ROOT,
        env=environment_without_thread_settings(**extra),
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("name", sorted(ENTRY_POINTS))
def test_every_entry_point_runs_one_thread_by_default(name):
    # This machine has more than one core (torch's default would be one thread per core).
    assert run_entry_point(name) == {"torch": 1, "env": ["1"] * len(THREAD_ENV_VARS)}


@pytest.mark.parametrize("name", ["manage.py", "gunicorn (wsgi)"])
def test_process_threads_is_configurable_and_a_library_variable_wins(name):
    if (os.cpu_count() or 1) < 2:
        pytest.skip("torch takes at most one thread per core")
    assert run_entry_point(name, PROCESS_THREADS="2") == {
        "torch": 2,
        "env": ["2"] * len(THREAD_ENV_VARS),
    }
    report = run_entry_point(name, PROCESS_THREADS="2", OMP_NUM_THREADS="1")
    assert report == {"torch": 1, "env": ["1", *["2"] * (len(THREAD_ENV_VARS) - 1)]}


def test_an_invalid_setting_stops_start_up_with_the_reason():
    result = subprocess.run(
        ENTRY_POINTS["manage.py"],
        cwd=REPO_ROOT,
        env=environment_without_thread_settings(PROCESS_THREADS="0"),
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode != 0
    assert "PROCESS_THREADS='0' must be a whole number of at least 1" in result.stderr


def test_a_running_celery_pool_process_has_one_thread(monkeypatch, tmp_path):
    if not settings.CELERY_BROKER_URL:
        missing_service("CELERY_BROKER_URL is not set; this test starts a real worker")
    for name in (*THREAD_ENV_VARS, PROCESS_THREADS_ENV):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setitem(celery_app.conf, "task_always_eager", False)
    queue = f"process-threads-{uuid.uuid4().hex[:8]}"
    worker = WorkerProcess(
        database_url=os.environ.get("DATABASE_URL", "sqlite:///unused"),
        media_root=tmp_path / "media",
        log_path=tmp_path / "worker.log",
        queues=(queue,),
        include=("tests.process_threads_report",),
    )
    report = tmp_path / "report.json"
    try:
        worker.wait_until_ready()
        celery_app.send_task("tests.report_process_threads", args=[str(report)], queue=queue)
        wait_for(report.exists, timeout=60, what="the pool process to write its report")
    finally:
        worker.stop()
    assert json.loads(report.read_text()) == {
        "torch_threads": 1,
        "env": dict.fromkeys(THREAD_ENV_VARS, "1"),
    }
