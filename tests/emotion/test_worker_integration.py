"""The audio pipeline through a real Celery worker process consuming from the broker."""

from __future__ import annotations

import time

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction

from catalogue.services import create_track
from emotion.features import feature_set
from emotion.models import AnalysisStatus, TrackAnalysis
from emotion.services.analysis import request_track_analysis
from tests.emotion.audio_fixtures import bad_audio_cases, music_wav
from tests.worker_process import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def analysis_status(track_id: int) -> str | None:
    analysis = TrackAnalysis.objects.filter(track_id=track_id).first()
    return analysis.status if analysis else None


def finished(track_id: int) -> bool:
    return analysis_status(track_id) in {AnalysisStatus.DONE, AnalysisStatus.FAILED}


def test_the_worker_analyses_uploaded_audio_only_after_commit(celery_worker):
    with transaction.atomic():
        track = create_track(
            title="Sunny",
            artist="Synth",
            audio=SimpleUploadedFile("sunny.wav", music_wav(quadrant="Q1", seconds=7)),
        )
        # Had the task been published before the commit, the worker would have picked it up
        # by now, found no track, and dropped it: the analysis would never finish.
        time.sleep(2)
        assert analysis_status(track.id) == AnalysisStatus.PENDING

    wait_for(lambda: finished(track.id), timeout=60, what="the worker to analyse the track")
    analysis = TrackAnalysis.objects.get(track=track)
    assert analysis.status == AnalysisStatus.DONE, analysis.failure_reason
    assert analysis.feature_matrix().shape == (2, feature_set(settings.AUDIO_FEATURE_SET).dims)


def test_bad_audio_fails_on_the_worker_and_the_next_track_still_succeeds(celery_worker, settings):
    cases = bad_audio_cases(max_seconds=settings.AUDIO_MAX_SECONDS)
    bad_ids = []
    for name, data in (cases["not audio"], cases["nan samples"], cases["truncated"]):
        with transaction.atomic():
            track = create_track(title=name, artist="Broken")
            # Bypass upload validation, as a bulk import might, to reach the decoder.
            track.audio.save(name, SimpleUploadedFile(name, data), save=True)
            request_track_analysis(track=track)
        bad_ids.append(track.id)
    good = create_track(
        title="Fine", artist="Synth", audio=SimpleUploadedFile("fine.wav", music_wav(seed=3))
    )

    wait_for(lambda: finished(good.id), timeout=90, what="the good track after bad ones")
    assert analysis_status(good.id) == AnalysisStatus.DONE
    for track_id in bad_ids:
        analysis = TrackAnalysis.objects.get(track_id=track_id)
        assert analysis.status == AnalysisStatus.FAILED
        assert analysis.failure_reason
