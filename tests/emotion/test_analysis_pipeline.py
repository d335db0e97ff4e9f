from __future__ import annotations

import datetime as dt
import io

import numpy as np
import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

from catalogue.services import set_track_audio
from emotion.features import DEFAULT_FEATURE_SET_VERSION, feature_set
from emotion.features.musicnn import embedding
from emotion.features.musicnn.weights import MUSICNN_MODELS
from emotion.models import AnalysisStatus, TrackAnalysis
from emotion.services.analysis import (
    analyse_track,
    request_track_analysis,
    requeue_stalled_and_stale_analyses,
)
from emotion.tasks import warm_up_feature_extraction
from tests.emotion.audio_fixtures import bad_audio_cases, music_wav
from tests.factories import TrackFactory

pytestmark = pytest.mark.django_db


def store_audio_unchecked(track, name: str, data: bytes) -> None:
    """Put bytes in storage the way a bulk import would, bypassing upload validation."""
    track.audio.save(name, ContentFile(data), save=True)


def test_uploading_audio_queues_an_analysis_that_stores_the_sequence(
    staff_client, django_capture_on_commit_callbacks
):
    track = TrackFactory()
    upload = SimpleUploadedFile("song.wav", music_wav(seconds=7.0), content_type="audio/wav")
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.put(
            f"/api/v1/tracks/{track.id}/audio/", {"audio": upload}, format="multipart"
        )
    assert response.status_code == 202

    analysis = TrackAnalysis.objects.get(track=track)
    assert analysis.status == AnalysisStatus.DONE, analysis.failure_reason
    assert analysis.feature_set_version == DEFAULT_FEATURE_SET_VERSION
    matrix = analysis.feature_matrix()
    assert matrix.shape == (analysis.n_segments, feature_set(DEFAULT_FEATURE_SET_VERSION).dims)
    assert matrix.dtype == np.float32
    assert analysis.n_segments == 2
    assert analysis.audio_seconds == pytest.approx(7.0, abs=0.05)
    assert analysis.extraction_cpu_seconds > 0

    body = staff_client.get(f"/api/v1/tracks/{track.id}/analysis/").json()
    assert body["status"] == "done" and body["n_segments"] == 2


@pytest.mark.parametrize(
    ("sent_duration_ms", "stored_duration_ms"), [(None, 7000), (181_000, 181_000)]
)
def test_analysis_fills_an_unknown_track_duration_and_keeps_a_known_one(
    staff_client, django_capture_on_commit_callbacks, sent_duration_ms, stored_duration_ms
):
    track = TrackFactory(duration_ms=sent_duration_ms)
    upload = SimpleUploadedFile("song.wav", music_wav(seconds=7.0), content_type="audio/wav")
    with django_capture_on_commit_callbacks(execute=True):
        staff_client.put(f"/api/v1/tracks/{track.id}/audio/", {"audio": upload}, format="multipart")

    body = staff_client.get(f"/api/v1/tracks/{track.id}/").json()
    assert body["duration_ms"] == pytest.approx(stored_duration_ms, abs=50)


def test_a_task_queued_inside_a_transaction_runs_only_after_commit(
    django_capture_on_commit_callbacks,
):
    track = TrackFactory()
    store_audio_unchecked(track, "song.wav", music_wav())
    with django_capture_on_commit_callbacks(execute=False) as callbacks, transaction.atomic():
        request_track_analysis(track=track)
    assert TrackAnalysis.objects.get(track=track).status == AnalysisStatus.PENDING
    assert len(callbacks) == 1

    callbacks[0]()
    assert TrackAnalysis.objects.get(track=track).status == AnalysisStatus.DONE


@pytest.mark.parametrize(
    "case",
    [
        "zero-length",
        "truncated",
        "not audio",
        "extension lies",
        "unsupported codec",
        "nan samples",
        "too long",
        "silence",
    ],
)
def test_bad_audio_fails_with_a_reason_and_the_next_track_is_analysed(case, settings):
    settings.AUDIO_MAX_SECONDS = 20
    name, data = bad_audio_cases(max_seconds=settings.AUDIO_MAX_SECONDS)[case]
    bad, good = TrackFactory.create_batch(2)
    store_audio_unchecked(bad, name, data)
    store_audio_unchecked(good, "good.wav", music_wav())

    failed = analyse_track(track=bad)
    assert failed.status == AnalysisStatus.FAILED
    assert len(failed.failure_reason) > 20, failed.failure_reason
    assert failed.features is None

    assert analyse_track(track=good).status == AnalysisStatus.DONE


def test_a_failing_embedding_step_fails_the_track_with_its_reason_and_the_worker_goes_on(
    tmp_path, monkeypatch, caplog
):
    # Damaged musicnn weights on the worker: a real fault, no mock.
    damaged = tmp_path / "weights"
    damaged.mkdir()
    for name in MUSICNN_MODELS:
        (damaged / f"{name}.safetensors").write_bytes(b"not weights at all")
    monkeypatch.setenv("MUSICNN_WEIGHTS_DIR", str(damaged))
    embedding._models.cache_clear()  # the weights are loaded once per process
    try:
        warm_up_feature_extraction()  # a worker process starting now logs, does not die
        assert "warm-up failed" in caplog.text
        track = TrackFactory()
        store_audio_unchecked(track, "song.wav", music_wav())
        failed = analyse_track(track=track)
        assert failed.status == AnalysisStatus.FAILED
        assert "embedding step failed" in failed.failure_reason
        assert "re-analyse" in failed.failure_reason
        assert failed.features is None
    finally:
        monkeypatch.delenv("MUSICNN_WEIGHTS_DIR")
        embedding._models.cache_clear()

    good = TrackFactory()
    store_audio_unchecked(good, "good.wav", music_wav())
    assert analyse_track(track=good).status == AnalysisStatus.DONE


def test_a_file_missing_from_storage_fails_with_a_reason():
    track = TrackFactory()
    store_audio_unchecked(track, "song.wav", music_wav())
    track.audio.storage.delete(track.audio.name)
    analysis = analyse_track(track=track)
    assert analysis.status == AnalysisStatus.FAILED
    assert "missing from storage" in analysis.failure_reason


def test_storage_outages_propagate_so_the_task_retries(monkeypatch):
    track = TrackFactory()
    store_audio_unchecked(track, "song.wav", music_wav())

    def unavailable(*args, **kwargs):
        raise ConnectionError("object store unreachable")

    # An object-store outage cannot be produced here, so the storage's open() stands in.
    monkeypatch.setattr(FileSystemStorage, "open", unavailable)
    with pytest.raises(ConnectionError):
        analyse_track(track=track)
    assert TrackAnalysis.objects.get(track=track).status == AnalysisStatus.RUNNING


def test_analysis_is_idempotent():
    track = TrackFactory()
    store_audio_unchecked(track, "song.wav", music_wav())
    first = analyse_track(track=track)
    second = analyse_track(track=track)
    assert (second.finished_at, second.attempts) == (first.finished_at, first.attempts)
    assert bytes(second.features) == bytes(first.features)


def test_new_audio_makes_the_analysis_run_again(django_capture_on_commit_callbacks):
    track = TrackFactory()
    with django_capture_on_commit_callbacks(execute=True):
        set_track_audio(
            track=track, audio=SimpleUploadedFile("a.wav", music_wav(quadrant="Q1", seconds=4))
        )
    first = TrackAnalysis.objects.get(track=track)
    with django_capture_on_commit_callbacks(execute=True):
        set_track_audio(
            track=track, audio=SimpleUploadedFile("b.wav", music_wav(quadrant="Q3", seconds=7))
        )
    second = TrackAnalysis.objects.get(track=track)
    assert second.status == AnalysisStatus.DONE
    assert second.audio_name != first.audio_name
    assert second.n_segments == 2 and first.n_segments == 1
    assert not track.audio.storage.exists(first.audio_name)


def test_a_feature_version_change_triggers_re_extraction(django_capture_on_commit_callbacks):
    track = TrackFactory()
    store_audio_unchecked(track, "song.wav", music_wav())
    analyse_track(track=track)
    TrackAnalysis.objects.filter(track=track).update(feature_set_version="lld50-v0")

    with django_capture_on_commit_callbacks(execute=True):
        assert requeue_stalled_and_stale_analyses() == 1
    analysis = TrackAnalysis.objects.get(track=track)
    assert analysis.status == AnalysisStatus.DONE
    assert analysis.feature_set_version == DEFAULT_FEATURE_SET_VERSION


def test_stalled_analyses_are_requeued(django_capture_on_commit_callbacks, settings):
    track = TrackFactory()
    store_audio_unchecked(track, "song.wav", music_wav())
    TrackAnalysis.objects.create(
        track=track,
        audio_name=track.audio.name,
        requested_at=timezone.now() - dt.timedelta(minutes=settings.ANALYSIS_STALL_MINUTES + 1),
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert requeue_stalled_and_stale_analyses() == 1
    assert TrackAnalysis.objects.get(track=track).status == AnalysisStatus.DONE


def test_reanalyse_tracks_command_retries_failed_tracks_and_reports(monkeypatch):
    track = TrackFactory()
    store_audio_unchecked(track, "song.wav", music_wav())
    TrackAnalysis.objects.create(
        track=track,
        status=AnalysisStatus.FAILED,
        failure_reason="storage was down",
        requested_at=timezone.now(),
    )
    out = io.StringIO()
    call_command("reanalyse_tracks", "--which", "failed", stdout=out)
    assert "1 failed tracks: 1 done" in out.getvalue()
    assert TrackAnalysis.objects.get(track=track).status == AnalysisStatus.DONE
