"""An active mood model trained on separable synthetic features, and a catalogue it tags.

A sequence of emotion Qn has features 5(n-1)…5n-1 raised, so the model tags it Qn with high
confidence; ``features_of(label)`` makes them for tracks and for training.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from django.utils import timezone

from emotion.features import LLD_FEATURE_SET_VERSION
from emotion.ml import train_mood_model
from emotion.services.registry import activate_model_version, register_model_version
from tests.emotion.ml.synthetic import TINY_CONFIG
from tests.factories import PlayFactory, analysed_track

LABELS = ("Q1", "Q2", "Q3", "Q4")
RECOMMENDATIONS_URL = "/api/v1/recommendations/"


def recommend(client, **params) -> dict:
    """A page of recommendations that must succeed, as the API returned it."""
    response = client.get(RECOMMENDATIONS_URL, params)
    assert response.status_code == 200, response.json()
    return response.json()


def features_of(label: str, *, seed: int = 0, length: int = 6) -> np.ndarray:
    rng = np.random.default_rng(seed)
    features = rng.normal(0.0, 1.0, size=(length, 50))
    block = 5 * LABELS.index(label)
    features[:, block : block + 5] += 3.0
    return features


@pytest.fixture(scope="session")
def trained_mood_model():
    sequences = [
        features_of(label, seed=10_000 + 100 * k + i, length=4 + i % 8)
        for k, label in enumerate(LABELS)
        for i in range(16)
    ]
    labels = [label for label in LABELS for _ in range(16)]
    return train_mood_model(
        sequences, labels, preset=TINY_CONFIG, seed=0, feature_set_version=LLD_FEATURE_SET_VERSION
    )


@pytest.fixture
def active_model(db, trained_mood_model, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        version = register_model_version(model=trained_mood_model)
        activate_model_version(version=version)
    version.refresh_from_db()
    return version


@pytest.fixture
def mood_catalogue(active_model, django_capture_on_commit_callbacks):
    """Ten tracks per emotion, by five artists per emotion, tagged by the active model."""
    tracks = {label: [] for label in LABELS}
    with django_capture_on_commit_callbacks(execute=True):
        for label in LABELS:
            for index in range(10):
                track = analysed_track(
                    features_of(label, seed=100 * LABELS.index(label) + index),
                    title=f"{label} song {index}",
                    artist=f"{label} artist {index % 5}",
                    album=f"{label} album",
                )
                tracks[label].append(track)
        from emotion.services.tagging import request_track_tagging

        request_track_tagging(track_ids=[t.pk for ts in tracks.values() for t in ts])
    return tracks


@pytest.fixture
def sad_listener(listener, mood_catalogue, settings):
    """A listener whose week is two sad tracks; the seed rule makes the target predictable
    (``mood_catalogue`` leaves 8 sad tracks and 30 of other emotions to serve)."""
    settings.RECOMMENDATION_POLICY = "seed"
    now = timezone.now()
    for index, track in enumerate(mood_catalogue["Q3"][:2]):
        for minute in range(3 - index):
            PlayFactory(
                listener=listener,
                track=track,
                played_at=now - dt.timedelta(minutes=10 * index + minute + 1),
            )
    return listener
