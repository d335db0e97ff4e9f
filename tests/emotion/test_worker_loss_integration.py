"""A worker killed in the middle of an analysis loses no task, on the production broker.

The whole worker (main process and pool) is SIGKILLed while an analysis is running, a new
worker starts, and the analysis must end done. Nothing here re-queues anything: the sweep does
not run, and the task is published once. What brings it back is RabbitMQ returning the
unacknowledged delivery to its queue when the dead worker's connection drops (``acks_late``).
On Redis the same message would come back only after the 4-hour visibility timeout.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from django.core.files.base import ContentFile
from django.db import connection

from catalogue.services import create_track
from emotion.models import AnalysisStatus, TrackAnalysis
from emotion.tasks import analyse_track_audio
from recommender.celery import app as celery_app
from tests.conftest import missing_service
from tests.emotion.audio_fixtures import music_wav
from tests.worker_process import WorkerProcess, database_url, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

AMQP_BROKER_URL = os.environ.get("TEST_AMQP_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672//")
# The bound on recovery; a wait, not a timing assertion.
RECOVERY_TIMEOUT_SECONDS = 5 * 60


@pytest.fixture
def amqp_queue() -> Iterator[str]:
    """A queue of this test's own on the RabbitMQ broker, so that concurrent runs sharing the
    broker never take each other's deliveries; deleted afterwards."""
    try:
        with celery_app.connection_for_write(AMQP_BROKER_URL) as broker:
            broker.ensure_connection(max_retries=1, timeout=3)
    except Exception as error:  # noqa: BLE001 - any failure to connect means the same
        missing_service(f"RabbitMQ (TEST_AMQP_BROKER_URL={AMQP_BROKER_URL}) unreachable: {error}")
    name = f"worker-loss-test-{uuid.uuid4().hex[:12]}"
    yield name
    with celery_app.connection_for_write(AMQP_BROKER_URL) as broker:
        broker.default_channel.queue_delete(name)
        broker.default_channel.exchange_delete(name)


def analysis_status(track_id: int) -> str | None:
    analysis = TrackAnalysis.objects.filter(track_id=track_id).first()
    return analysis.status if analysis else None


def test_an_analysis_whose_whole_worker_was_killed_ends_done_on_the_next_worker(
    celery_worker, amqp_queue, tmp_path
):
    # A track with audio but no queued analysis: create_track without audio queues nothing,
    # and saving the file directly sends no signal. The one task is published below.
    track = create_track(title="Interrupted", artist="Synth")
    track.audio.save("interrupted.wav", ContentFile(music_wav(seconds=7)), save=True)
    worker_options = {
        "database_url": database_url(connection.settings_dict),
        "media_root": celery_worker["media_root"],
        "broker_url": AMQP_BROKER_URL,
        "queues": [amqp_queue],
        # The 50 LLDs alone: the musicnn warm-up would cost each worker start ~12 s of CPU,
        # and what is tested here is the delivery, not the features.
        "env": {"AUDIO_FEATURE_SET": "lld50-v1"},
    }

    doomed = WorkerProcess(
        **worker_options,
        log_path=tmp_path / "killed-worker.log",
        include=["tests.emotion.stalling_analysis"],
    )
    try:
        doomed.wait_until_ready()
        with celery_app.connection_for_write(AMQP_BROKER_URL) as broker:
            analyse_track_audio.apply_async((track.id,), queue=amqp_queue, connection=broker)
        wait_for(
            lambda: analysis_status(track.id) == AnalysisStatus.RUNNING,
            timeout=60,
            what="the first worker to start the analysis",
        )
        doomed.kill()
    finally:
        doomed.stop()
    # Killed mid-analysis: the stalling hook never returns, so nothing finished it.
    assert analysis_status(track.id) == AnalysisStatus.RUNNING

    successor = WorkerProcess(**worker_options, log_path=tmp_path / "next-worker.log")
    try:
        successor.wait_until_ready()
        wait_for(
            lambda: analysis_status(track.id) in {AnalysisStatus.DONE, AnalysisStatus.FAILED},
            timeout=RECOVERY_TIMEOUT_SECONDS,
            what="the redelivered analysis to finish on the next worker",
        )
    finally:
        successor.stop()

    analysis = TrackAnalysis.objects.get(track=track)
    assert analysis.status == AnalysisStatus.DONE, analysis.failure_reason
    # Started twice: once on the killed worker, once on its successor.
    assert analysis.attempts == 2
    assert analysis.n_segments == 2
