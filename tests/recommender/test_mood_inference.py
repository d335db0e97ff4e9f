"""Listener mood: top-k over the trailing week, play weighting, skipping, cold start, queueing."""

from __future__ import annotations

import datetime as dt
import time

import numpy as np
import pytest
from django.urls import reverse
from django.utils import timezone

from emotion.ml import TrainedMoodModel, train_mood_model
from emotion.ml.presets import resolve_config
from emotion.ml.valence_arousal import QUADRANT_CENTRES, point_from_distribution
from emotion.services.registry import activate_model_version, register_model_version
from recommender.models import MoodBasis, MoodSnapshot
from recommender.services import (
    declare_mood,
    infer_listener_moods,
    refresh_recently_active_moods,
    request_mood_refresh,
)
from tests.factories import (
    ListenerFactory,
    PlayFactory,
    TrackFactory,
    analysed_track,
    current_features,
)
from tests.recommender.conftest import LABELS, features_of

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 6, 15, 12, 0, tzinfo=dt.UTC)


def play(listener, track, *, times: int, last: dt.datetime) -> None:
    for i in range(times):
        PlayFactory(listener=listener, track=track, played_at=last - dt.timedelta(minutes=i))


def test_top_tracks_of_the_week_are_averaged_weighted_by_plays(listener, mood_catalogue):
    sad, happy = mood_catalogue["Q3"], mood_catalogue["Q1"]
    play(listener, sad[0], times=5, last=NOW - dt.timedelta(hours=1))
    play(listener, sad[1], times=3, last=NOW - dt.timedelta(hours=2))
    play(listener, happy[0], times=1, last=NOW - dt.timedelta(hours=3))
    # Played a lot, but eight days ago: outside the window.
    play(listener, happy[1], times=20, last=NOW - dt.timedelta(days=8))

    (snapshot,) = infer_listener_moods(listeners=[listener], now=NOW)

    assert snapshot.basis == MoodBasis.INFERRED
    assert snapshot.label == "Q3"
    assert snapshot.probabilities["Q3"] == pytest.approx(snapshot.confidence)
    assert sum(snapshot.probabilities.values()) == pytest.approx(1.0, abs=1e-5)
    assert [(t["track_id"], t["plays"]) for t in snapshot.tracks] == [
        (sad[0].pk, 5),
        (sad[1].pk, 3),
        (happy[0].pk, 1),
    ]
    assert [t["weight"] for t in snapshot.tracks] == pytest.approx([5 / 9, 3 / 9, 1 / 9])
    assert snapshot.tracks[0]["title"] == sad[0].title
    assert snapshot.tracks[0]["artist"] == sad[0].artist
    assert snapshot.model_version.is_active
    assert snapshot.window_start == NOW - dt.timedelta(days=7)
    assert MoodSnapshot.objects.filter(listener=listener).count() == 1


def test_the_window_includes_its_start_and_excludes_its_end(listener, mood_catalogue):
    start = NOW - dt.timedelta(days=7)
    inside, before, at_end = (
        mood_catalogue["Q2"][0],
        mood_catalogue["Q1"][0],
        mood_catalogue["Q4"][0],
    )
    PlayFactory(listener=listener, track=inside, played_at=start)
    PlayFactory(listener=listener, track=before, played_at=start - dt.timedelta(seconds=1))
    PlayFactory(listener=listener, track=at_end, played_at=NOW)

    (snapshot,) = infer_listener_moods(listeners=[listener], now=NOW)

    assert [t["track_id"] for t in snapshot.tracks] == [inside.pk]
    assert snapshot.label == "Q2"


def test_only_the_top_k_count_and_ties_go_to_the_latest_play(listener, mood_catalogue, settings):
    settings.MOOD_TOP_K = 2
    older, newest, middle = mood_catalogue["Q1"][:3]
    play(listener, older, times=2, last=NOW - dt.timedelta(hours=5))
    play(listener, newest, times=2, last=NOW - dt.timedelta(hours=1))
    play(listener, middle, times=2, last=NOW - dt.timedelta(hours=3))

    (snapshot,) = infer_listener_moods(listeners=[listener], now=NOW)

    assert [t["track_id"] for t in snapshot.tracks] == [newest.pk, middle.pk]


def test_tracks_without_features_are_skipped_and_reported(listener, mood_catalogue):
    unanalysed = TrackFactory(title="Not analysed yet")
    play(listener, unanalysed, times=9, last=NOW - dt.timedelta(hours=1))
    play(listener, mood_catalogue["Q4"][0], times=2, last=NOW - dt.timedelta(hours=2))

    (snapshot,) = infer_listener_moods(listeners=[listener], now=NOW)

    assert snapshot.label == "Q4"
    assert [t["track_id"] for t in snapshot.tracks] == [mood_catalogue["Q4"][0].pk]
    assert snapshot.skipped == [
        {"track_id": unanalysed.pk, "plays": 9, "reason": "audio not analysed yet"}
    ]


def test_cold_start_spreads_over_emotions_then_uses_the_last_known_mood(listener, mood_catalogue):
    (first,) = infer_listener_moods(listeners=[listener], now=NOW)
    assert first.basis == MoodBasis.SPREAD
    assert first.label == ""
    assert first.probabilities == pytest.approx({label: 0.25 for label in mood_catalogue})

    play(listener, mood_catalogue["Q3"][0], times=2, last=NOW - dt.timedelta(hours=1))
    infer_listener_moods(listeners=[listener], now=NOW)
    (later,) = infer_listener_moods(listeners=[listener], now=NOW + dt.timedelta(days=30))

    assert later.basis == MoodBasis.LAST_KNOWN
    assert later.label == "Q3"


def test_cold_start_can_spread_even_with_a_known_mood(listener, mood_catalogue, settings):
    settings.MOOD_COLD_START = "spread"
    play(listener, mood_catalogue["Q3"][0], times=2, last=NOW - dt.timedelta(hours=1))
    infer_listener_moods(listeners=[listener], now=NOW)
    (later,) = infer_listener_moods(listeners=[listener], now=NOW + dt.timedelta(days=30))
    assert later.basis == MoodBasis.SPREAD


def test_a_declared_mood_is_used_when_plays_say_nothing(listener, mood_catalogue):
    declare_mood(listener=listener, label="Q4")
    (snapshot,) = infer_listener_moods(listeners=[listener], now=NOW)
    assert snapshot.basis == MoodBasis.DECLARED
    assert snapshot.label == "Q4"

    play(listener, mood_catalogue["Q1"][0], times=1, last=NOW - dt.timedelta(hours=1))
    (inferred,) = infer_listener_moods(listeners=[listener], now=NOW)
    assert inferred.basis == MoodBasis.INFERRED and inferred.label == "Q1"


def test_many_listeners_go_through_the_model_in_one_batch(mood_catalogue, monkeypatch):
    listeners = [ListenerFactory() for _ in range(5)]
    for index, listener in enumerate(listeners):
        label = ["Q1", "Q2", "Q3", "Q4"][index % 4]
        play(listener, mood_catalogue[label][index], times=2, last=timezone.now())
    calls = []
    original = TrainedMoodModel.predict_proba

    def counting(self, sequences, **kwargs):
        calls.append(len(sequences))
        return original(self, sequences, **kwargs)

    monkeypatch.setattr(TrainedMoodModel, "predict_proba", counting)

    refreshed = refresh_recently_active_moods(active_since=timezone.now() - dt.timedelta(hours=1))

    assert refreshed == 5
    assert calls == [5]
    labels = {s.listener_id: s.label for s in MoodSnapshot.objects.filter(listener__in=listeners)}
    assert [labels[listener.pk] for listener in listeners] == ["Q1", "Q2", "Q3", "Q4", "Q1"]


def test_refreshes_after_plays_are_debounced(listener, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        for _ in range(5):
            request_mood_refresh(listener_id=listener.pk)
    assert len(callbacks) == 1


def test_submitted_plays_refresh_the_listeners_mood(
    listener, listener_client, mood_catalogue, django_capture_on_commit_callbacks
):
    played_at = timezone.now().replace(microsecond=0)
    plays = [
        {
            "track": mood_catalogue["Q2"][i].pk,
            "played_at": (played_at - dt.timedelta(minutes=i)).isoformat(),
        }
        for i in range(3)
    ]
    with django_capture_on_commit_callbacks(execute=True):
        response = listener_client.post(reverse("plays"), {"plays": plays}, format="json")
    assert response.status_code == 200, response.json()

    snapshot = MoodSnapshot.objects.get(listener=listener)
    assert snapshot.basis == MoodBasis.INFERRED and snapshot.label == "Q2"


def test_my_mood_shows_the_current_snapshot_and_history(listener, listener_client, mood_catalogue):
    play(listener, mood_catalogue["Q3"][0], times=2, last=timezone.now())
    infer_listener_moods(listeners=[listener], now=timezone.now() - dt.timedelta(days=1))

    body = listener_client.get("/api/v1/me/mood").json()

    assert body["current"]["label"] in {"", "Q3"}
    assert body["count"] == len(body["results"]) >= 1
    assert set(body["results"][0]) >= {
        "created_at",
        "basis",
        "probabilities",
        "tracks",
        "model_version",
    }


def test_declaring_an_unknown_mood_is_a_400(listener_client, active_model):
    response = listener_client.put("/api/v1/me/mood", {"label": "ecstatic"}, format="json")
    assert response.status_code == 400
    assert "unknown emotion" in response.json()["error"]["message"]


def test_plays_that_came_from_recommendations_do_not_steer_the_mood(
    listener, listener_client, mood_catalogue, django_capture_on_commit_callbacks
):
    played_at = timezone.now().replace(microsecond=0)
    own = [
        {
            "track": mood_catalogue["Q4"][0].pk,
            "played_at": (played_at - dt.timedelta(hours=2)).isoformat(),
        }
    ]
    recommended = [
        {
            "track": mood_catalogue["Q1"][i].pk,
            "played_at": (played_at - dt.timedelta(minutes=i)).isoformat(),
            "chosen_by_user": False,
        }
        for i in range(5)
    ]
    with django_capture_on_commit_callbacks(execute=True):
        response = listener_client.post(
            reverse("plays"), {"plays": own + recommended}, format="json"
        )
    assert response.json()["accepted"] == 6

    snapshot = MoodSnapshot.objects.filter(listener=listener).first()
    assert snapshot.label == "Q4"
    assert [t["track_id"] for t in snapshot.tracks] == [mood_catalogue["Q4"][0].pk]

    listed = listener_client.get(reverse("plays"), {"chosen_by_user": "false"}).json()
    assert listed["count"] == 5
    assert all(play["chosen_by_user"] is False for play in listed["results"])


def post_one_play(client, track, *, captured_callbacks) -> None:
    with captured_callbacks(execute=True):
        response = client.post(
            reverse("plays"),
            {"plays": [{"track": track.pk, "played_at": timezone.now().isoformat()}]},
            format="json",
        )
    assert response.json()["accepted"] == 1, response.json()


def test_without_a_broker_a_burst_of_plays_refreshes_the_mood_once(
    listener, listener_client, mood_catalogue, django_capture_on_commit_callbacks
):
    for track in mood_catalogue["Q2"][:3]:
        post_one_play(listener_client, track, captured_callbacks=django_capture_on_commit_callbacks)

    assert MoodSnapshot.objects.filter(listener=listener).count() == 1


def test_without_a_broker_the_next_window_refreshes_again(
    listener, listener_client, mood_catalogue, django_capture_on_commit_callbacks, settings
):
    settings.MOOD_REFRESH_DEBOUNCE_SECONDS = 1
    first, second = mood_catalogue["Q2"][:2]
    post_one_play(listener_client, first, captured_callbacks=django_capture_on_commit_callbacks)
    time.sleep(1.1)
    post_one_play(listener_client, second, captured_callbacks=django_capture_on_commit_callbacks)

    assert MoodSnapshot.objects.filter(listener=listener).count() == 2


def test_my_mood_without_an_active_model_says_so_and_what_to_do(listener, listener_client):
    # The listener: 40 plays this week, told "no recent plays" while no model was
    # active. Now it is a 503 that says what is missing.
    track = TrackFactory()
    play(listener, track, times=40, last=timezone.now())

    response = listener_client.get("/api/v1/me/mood")

    assert response.status_code == 503
    message = response.json()["error"]["message"]
    assert message.startswith("no mood model is active")
    assert "no recent plays" not in message
    assert "seed_demo" in message and "register_mood_model" in message
    assert not MoodSnapshot.objects.exists()


@pytest.mark.parametrize("preset", ["pooled-embeddings", "lstm-embeddings", "ensemble"])
def test_listener_mood_works_for_every_architecture(
    preset, listener, settings, django_capture_on_commit_callbacks
):
    def combined(label: str, seed: int) -> np.ndarray:
        features = current_features(features_of(label, seed=seed))
        features[:, 50 + 10 * LABELS.index(label)] += 3.0  # the embeddings carry it too
        return features

    model = train_mood_model(
        [combined(label, 1000 + 10 * k + i) for k, label in enumerate(LABELS) for i in range(8)],
        [label for label in LABELS for _ in range(8)],
        preset=resolve_config(preset).with_overrides(
            max_epochs=40, patience=40, validation_fraction=0.0
        ),
        feature_set_version=settings.AUDIO_FEATURE_SET,
    )
    with django_capture_on_commit_callbacks(execute=True):
        activate_model_version(version=register_model_version(model=model))
    for index in range(3):
        track = analysed_track(combined("Q2", seed=50 + index), artist=f"Q2 artist {index}")
        play(listener, track, times=3 - index, last=NOW - dt.timedelta(hours=index + 1))

    (snapshot,) = infer_listener_moods(listeners=[listener], now=NOW)

    assert snapshot.basis == MoodBasis.INFERRED
    assert snapshot.label == "Q2"
    assert snapshot.model_version.architecture["name"] == model.architecture


def test_an_inferred_mood_has_its_point_in_the_valence_arousal_plane(listener, mood_catalogue):
    play(listener, mood_catalogue["Q2"][0], times=3, last=NOW - dt.timedelta(hours=1))

    (snapshot,) = infer_listener_moods(listeners=[listener], now=NOW)

    snapshot.refresh_from_db()
    assert snapshot.valence_arousal_source == "quadrant_probabilities"
    assert (snapshot.valence, snapshot.arousal) == pytest.approx(
        point_from_distribution(snapshot.probabilities)
    )
    # Tense / angry: negative valence, high arousal.
    assert snapshot.valence < 0.5 < snapshot.arousal


def test_every_listener_of_a_batch_gets_the_point_of_their_own_mood(mood_catalogue):
    listeners = [ListenerFactory() for _ in LABELS]
    for listener, label in zip(listeners, LABELS, strict=True):
        play(listener, mood_catalogue[label][0], times=2, last=timezone.now())

    refresh_recently_active_moods(active_since=timezone.now() - dt.timedelta(hours=1))

    for listener, label in zip(listeners, LABELS, strict=True):
        snapshot = MoodSnapshot.objects.get(listener=listener)
        centre = QUADRANT_CENTRES[label]
        assert snapshot.label == label
        assert abs(snapshot.valence - centre[0]) < 0.25
        assert abs(snapshot.arousal - centre[1]) < 0.25


def test_cold_start_moods_have_points_too(listener, mood_catalogue):
    (spread,) = infer_listener_moods(listeners=[listener], now=NOW)
    assert (spread.valence, spread.arousal) == pytest.approx((0.5, 0.5))
    assert spread.valence_arousal_source == "quadrant_probabilities"

    play(listener, mood_catalogue["Q1"][0], times=1, last=NOW - dt.timedelta(hours=1))
    (inferred,) = infer_listener_moods(listeners=[listener], now=NOW)
    later = NOW + dt.timedelta(days=30)
    (last_known,) = infer_listener_moods(listeners=[listener], now=later)
    assert last_known.basis == MoodBasis.LAST_KNOWN
    assert (last_known.valence, last_known.arousal) == (inferred.valence, inferred.arousal)

    declare_mood(listener=listener, label="Q4")
    (declared,) = infer_listener_moods(listeners=[listener], now=later)
    assert declared.basis == MoodBasis.DECLARED
    assert (declared.valence, declared.arousal) == pytest.approx(QUADRANT_CENTRES["Q4"])


def test_my_mood_shows_the_point(listener, listener_client, mood_catalogue):
    play(listener, mood_catalogue["Q1"][0], times=2, last=timezone.now())

    body = listener_client.get("/api/v1/me/mood").json()

    snapshot = MoodSnapshot.objects.get(pk=body["current"]["id"])
    assert body["current"]["valence_arousal"] == {
        "valence": pytest.approx(snapshot.valence),
        "arousal": pytest.approx(snapshot.arousal),
        "source": "quadrant_probabilities",
    }
    assert body["results"][0]["valence_arousal"] == body["current"]["valence_arousal"]
