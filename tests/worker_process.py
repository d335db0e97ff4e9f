"""Start and stop a real Celery worker process, for integration tests and benchmarks."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from urllib.parse import quote

from kombu import Connection
from kombu.pidbox import Mailbox

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


def queued_messages() -> int:
    with celery_app.connection_for_write() as broker:
        total = 0
        for queue in WORKER_QUEUES:
            # Redis keeps no empty queue: a queue not found holds nothing.
            with contextlib.suppress(broker.channel_errors):
                total += broker.default_channel.queue_declare(queue, passive=True).message_count
        return total


def wait_until_idle(hostname: str, *, timeout: float = 120) -> None:
    """Wait until the worker runs no task and holds none ready, and no queue holds one.

    A test that ends while the worker still writes (a retag after a promotion, say) races
    the database flush that ends the test: the flush's TRUNCATE can deadlock with the
    worker's transaction, and the rows it leaves fail the next test. Delayed tasks (a
    debounced mood refresh) are revoked instead of awaited: they concern the test's rows,
    which the flush removes. Two idle looks in a row, because a message moves from the
    queue to the worker between the questions of one look.
    """
    inspect = celery_app.control.inspect(destination=[hostname], timeout=1.0)
    delayed = [
        entry["request"]["id"]
        for entries in (inspect.scheduled() or {}).values()
        for entry in entries
    ]
    if delayed:
        celery_app.control.revoke(delayed, destination=[hostname])

    def worker_idle() -> bool:
        for held in (inspect.active(), inspect.reserved()):
            if held is None or any(held.values()):
                return False
        return queued_messages() == 0

    def idle_twice() -> bool:
        return worker_idle() and worker_idle()

    wait_for(idle_twice, timeout=timeout, what="the worker to finish the test's tasks")


class WorkerProcess:
    """A ``celery worker`` in a process group of its own (its main process and its pool).

    ``broker_url`` defaults to the tests' own broker (``CELERY_BROKER_URL``); ``queues`` to
    every queue the project routes to; ``include`` names extra modules the worker imports at
    start-up (test-only hooks); ``env`` adds to the environment it inherits.
    """

    def __init__(
        self,
        *,
        database_url: str,
        media_root: Path,
        log_path: Path,
        concurrency: int = 1,
        broker_url: str | None = None,
        queues: Sequence[str] = WORKER_QUEUES,
        include: Sequence[str] = (),
        env: dict[str, str] | None = None,
    ):
        self.log_path = log_path
        self.hostname = f"worker-{uuid.uuid4().hex[:8]}@{os.uname().nodename}"
        worker_env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "MEDIA_ROOT": str(media_root),
            "DJANGO_SETTINGS_MODULE": "recommender.settings",
            **({"CELERY_BROKER_URL": broker_url} if broker_url else {}),
            **(env or {}),
        }
        command = [
            sys.executable, "-m", "celery", "-A", "recommender", "worker",
            "--queues", ",".join(queues), "--concurrency", str(concurrency),
            "--hostname", self.hostname, "--without-gossip", "--without-mingle",
            "--loglevel", "INFO",
            *(["--include", ",".join(include)] if include else []),
        ]  # fmt: skip
        with log_path.open("w") as log:
            # A session of its own, so kill() can signal the pool too without touching pytest.
            self.process = subprocess.Popen(
                command, cwd=REPO_ROOT, env=worker_env, stdout=log, stderr=log,
                start_new_session=True,
            )  # fmt: skip

        self.broker_url = broker_url

    def answers_ping(self) -> bool:
        if self.broker_url is None:
            return bool(celery_app.control.ping(destination=[self.hostname], timeout=0.5))
        # Another broker than the tests' own: the app's control would publish the ping through
        # its own broker's producer pool whatever connection it is given (and a second app
        # would read CELERY_BROKER_URL first), so the ping goes through kombu's mailbox.
        with Connection(self.broker_url) as broker:
            mailbox = Mailbox(celery_app.conf.control_exchange, type="fanout", accept=["json"])
            return bool(mailbox(broker).call([self.hostname], "ping", timeout=0.5))

    def wait_until_ready(self, timeout: float = 90) -> None:
        def answers() -> bool:
            if self.process.poll() is not None:
                raise AssertionError(f"worker exited:\n{self.log_path.read_text()[-4000:]}")
            return self.answers_ping()

        wait_for(answers, timeout=timeout, what="the Celery worker to answer a ping")

    def kill(self) -> None:
        """SIGKILL the whole worker at once, main process and pool, as a lost machine would."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=20)

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.kill()
