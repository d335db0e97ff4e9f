"""Tagging, mood inference and training through a real Celery worker process."""

from __future__ import annotations

import datetime as dt
import time

import numpy as np
import pytest
from django.db import transaction
from django.utils import timezone

from emotion.ml.evaluation import stable_artist_holdout
from emotion.models import CuratorLabel, TrackEmotion, TrainingRun, TrainingRunStatus
from emotion.services.registry import activate_model_version, register_model_version
from emotion.services.retraining import start_training_run
from recommender.models import MoodBasis, MoodSnapshot
from tests.conftest import client_for
from tests.factories import ListenerFactory, analysed_track
from tests.recommender.conftest import LABELS, features_of
from tests.worker_process import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_activation_retags_the_catalogue_and_plays_refresh_the_mood_on_the_worker(
    celery_worker, trained_mood_model, settings
):
    settings.MOOD_REFRESH_DEBOUNCE_SECONDS = 1
    tracks = [
        analysed_track(features_of(label, seed=10 * k + i), artist=f"{label} artist {i}")
        for k, label in enumerate(LABELS)
        for i in range(3)
    ]
    with transaction.atomic():
        version = register_model_version(model=trained_mood_model)
        activate_model_version(version=version)

    wait_for(
        lambda: TrackEmotion.objects.filter(model_version=version).count() == len(tracks),
        timeout=60,
        what="the worker to tag the catalogue in batches",
    )

    listener = ListenerFactory()
    now = timezone.now().replace(microsecond=0)
    plays = [
        {"track": tracks[6 + i % 3].pk, "played_at": (now - dt.timedelta(minutes=i)).isoformat()}
        for i in range(6)
    ]
    response = client_for(listener).post("/api/v1/plays/", {"plays": plays}, format="json")
    assert response.json()["accepted"] == 6

    wait_for(
        lambda: MoodSnapshot.objects.filter(listener=listener).exists(),
        timeout=60,
        what="the debounced mood refresh on the inference queue",
    )
    snapshot = MoodSnapshot.objects.get(listener=listener)
    assert snapshot.basis == MoodBasis.INFERRED
    assert snapshot.label == "Q3"


def test_a_burst_of_plays_refreshes_the_mood_once_on_the_worker(
    celery_worker, trained_mood_model, settings
):
    settings.MOOD_REFRESH_DEBOUNCE_SECONDS = 2
    tracks = [analysed_track(features_of("Q2", seed=i), artist=f"Q2 artist {i}") for i in range(3)]
    with transaction.atomic():
        activate_model_version(version=register_model_version(model=trained_mood_model))
    listener = ListenerFactory()
    client = client_for(listener)
    now = timezone.now().replace(microsecond=0)
    for minutes_ago, track in enumerate(tracks):
        played_at = (now - dt.timedelta(minutes=minutes_ago)).isoformat()
        body = {"plays": [{"track": track.pk, "played_at": played_at}]}
        assert client.post("/api/v1/plays/", body, format="json").json()["accepted"] == 1

    wait_for(
        lambda: MoodSnapshot.objects.filter(listener=listener).exists(),
        timeout=60,
        what="the debounced mood refresh on the inference queue",
    )
    # A second refresh, had the burst queued one, would have run by now.
    time.sleep(settings.MOOD_REFRESH_DEBOUNCE_SECONDS + 2)
    snapshot = MoodSnapshot.objects.get(listener=listener)
    assert snapshot.label == "Q2"
    assert sorted(track["track_id"] for track in snapshot.tracks) == [t.pk for t in tracks]


def test_a_training_run_on_the_worker_promotes_its_model(celery_worker, settings):
    # The worker is another process: it splits at its own MOOD_MODEL_HOLDOUT_FRACTION (this
    # process's, unless a test overrides it here, which the worker would not see). Labels
    # follow its split, so every emotion sits on both sides of it.
    artists = [f"Worker artist {index}" for index in range(32)]
    train, held_out = stable_artist_holdout(artists, fraction=settings.MOOD_MODEL_HOLDOUT_FRACTION)
    labels = {
        int(index): LABELS[position % 4]
        for side in (train, held_out)
        for position, index in enumerate(side)
    }
    rng = np.random.default_rng(0)
    for index, artist in enumerate(artists):
        label = labels[index]
        features = rng.normal(0.0, 1.0, size=(6, 50))
        features[:, 5 * LABELS.index(label) : 5 * LABELS.index(label) + 5] += 3.0
        track = analysed_track(features, artist=artist)
        CuratorLabel.objects.create(track=track, label=label)

    with transaction.atomic():
        run = start_training_run(preset="fast", trigger="command")

    def finished() -> bool:
        run.refresh_from_db()
        return run.status not in {TrainingRunStatus.QUEUED, TrainingRunStatus.RUNNING}

    wait_for(finished, timeout=120, what="the training run on the training queue")
    assert run.status == TrainingRunStatus.PROMOTED, run.outcome
    assert run.candidate_version.is_active
    assert run.epochs_done > 0
    assert TrainingRun.objects.count() == 1
