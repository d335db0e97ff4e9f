"""Start and stop a real Celery worker process, for integration tests and benchmarks."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

from recommender.celery import app as celery_app

REPO_ROOT = Path(__file__).resolve().parent.parent
WORKER_QUEUES = ("default", "audio", "inference", "training")


def wait_for(predicate: Callable[[], bool], *, timeout: float = 60, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout} s waiting for {what or predicate}")


def database_url(settings_dict: dict) -> str:
    """The URL of a Django database connection, for a worker in another process."""
    user = quote(settings_dict.get("USER") or "")
    password = f":{quote(settings_dict['PASSWORD'])}" if settings_dict.get("PASSWORD") else ""
    host = settings_dict.get("HOST") or "localhost"
    port = f":{settings_dict['PORT']}" if settings_dict.get("PORT") else ""
    return f"postgres://{user}{password}@{host}{port}/{quote(settings_dict['NAME'])}"


def purge_worker_queues() -> None:
    with celery_app.connection_for_write() as broker:
        for queue in WORKER_QUEUES:
            broker.default_channel.queue_purge(queue)


class WorkerProcess:
    def __init__(self, *, database_url: str, media_root: Path, log_path: Path, concurrency=1):
        self.log_path = log_path
        self.hostname = f"worker-{uuid.uuid4().hex[:8]}@{os.uname().nodename}"
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "MEDIA_ROOT": str(media_root),
            "DJANGO_SETTINGS_MODULE": "recommender.settings",
        }
        command = [
            sys.executable, "-m", "celery", "-A", "recommender", "worker",
            "--queues", ",".join(WORKER_QUEUES), "--concurrency", str(concurrency),
            "--hostname", self.hostname, "--without-gossip", "--without-mingle",
            "--loglevel", "INFO",
        ]  # fmt: skip
        with log_path.open("w") as log:
            self.process = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=log, stderr=log)

    def wait_until_ready(self, timeout: float = 90) -> None:
        def answers() -> bool:
            if self.process.poll() is not None:
                raise AssertionError(f"worker exited:\n{self.log_path.read_text()[-4000:]}")
            return bool(celery_app.control.ping(destination=[self.hostname], timeout=0.5))

        wait_for(answers, timeout=timeout, what="the Celery worker to answer a ping")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
