"""Valence/arousal: the derivation from quadrant probabilities, the regression-head dispatch,
tagging's stored points, the data migration for catalogues tagged before, the track API."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone
from torch import nn

from emotion.features import LLD_FEATURE_SET_VERSION
from emotion.ml import EnsembleMoodModel, tag_tracks, train_mood_model
from emotion.ml.presets import PRESETS
from emotion.ml.valence_arousal import (
    QUADRANT_CENTRES,
    SOURCE_MODEL,
    SOURCE_QUADRANT_PROBABILITIES,
    SOURCES,
    point_from_distribution,
    point_from_probabilities,
    predict_valence_arousal,
)
from emotion.models import TrackEmotion, ValenceArousalSource
from emotion.services.registry import activate_model_version, register_model_version
from emotion.services.tagging import tag_tracks_with_model
from recommender.models import MoodSnapshot
from recommender.services import infer_listener_moods
from tests.factories import PlayFactory, TrackFactory, analysed_track
from tests.openapi import assert_matches_documented_response
from tests.recommender.conftest import LABELS, features_of

# --- The derivation ------------------------------------------------------------------------


def test_the_quadrant_centres_sit_in_their_quadrants():
    assert QUADRANT_CENTRES == {
        "Q1": (0.75, 0.75),
        "Q2": (0.25, 0.75),
        "Q3": (0.25, 0.25),
        "Q4": (0.75, 0.25),
    }


def test_a_uniform_distribution_is_the_middle_of_the_plane():
    points = point_from_probabilities(np.full((3, 4), 0.25), list(LABELS))
    np.testing.assert_allclose(points, [[0.5, 0.5]] * 3)


@pytest.mark.parametrize("label", LABELS)
def test_a_certain_quadrant_is_its_centre_whatever_the_column_order(label):
    labels = ["Q3", "Q1", "Q4", "Q2"]
    certain = np.array([[float(lb == label) for lb in labels]])
    np.testing.assert_allclose(point_from_probabilities(certain, labels), [QUADRANT_CENTRES[label]])


def test_the_point_is_the_expected_centre():
    # 60 % happy, 40 % sad: valence and arousal both 0.6·0.75 + 0.4·0.25 = 0.55.
    points = point_from_probabilities(np.array([[0.6, 0.0, 0.4, 0.0]]), list(LABELS))
    np.testing.assert_allclose(points, [[0.55, 0.55]])
    # Happy against relaxed differ in arousal only.
    assert point_from_distribution({"Q1": 0.5, "Q2": 0.0, "Q3": 0.0, "Q4": 0.5}) == pytest.approx(
        (0.75, 0.5)
    )


def test_labels_that_are_not_the_quadrants_have_no_point():
    paper_labels = ["happy", "fresh", "relaxed", "sad"]
    assert point_from_probabilities(np.full((1, 4), 0.25), paper_labels) is None
    assert point_from_probabilities(np.full((1, 3), 1 / 3), ["Q1", "Q2", "Q3"]) is None
    assert point_from_distribution({}) is None


def test_a_distribution_that_does_not_fit_is_refused():
    with pytest.raises(ValueError, match="shape"):
        point_from_probabilities(np.full((1, 3), 0.25), list(LABELS))
    with pytest.raises(ValueError, match="non-negative"):
        point_from_probabilities(np.zeros((1, 4)), list(LABELS))


def test_the_stored_sources_are_the_derivations_sources():
    assert set(ValenceArousalSource.values) == set(SOURCES)


# --- The regression-head dispatch ------------------------------------------------------------


class ModuleWithValenceArousalHead(nn.Module):
    """A trained classifier plus a regression head, as the V/A architectures will have.

    The head answers from the sequence's length (valence 1/length, arousal 1 − 1/length), so a
    test can tell which sequence each point belongs to.
    """

    def __init__(self, classifier: nn.Module) -> None:
        super().__init__()
        self.classifier = classifier
        self.n_labels = classifier.n_labels

    def forward(self, features, lengths, **kwargs):
        return self.classifier(features, lengths, **kwargs)

    def valence_arousal(self, features: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        inverse = 1.0 / lengths.to(torch.float32)
        return torch.stack([inverse, 1.0 - inverse], dim=1)


@pytest.fixture
def model_with_head(trained_mood_model):
    return dataclasses.replace(
        trained_mood_model, module=ModuleWithValenceArousalHead(trained_mood_model.module)
    )


def sequences_of_lengths(*lengths: int) -> list[np.ndarray]:
    return [features_of(LABELS[i % 4], seed=i, length=n) for i, n in enumerate(lengths)]


def test_a_module_with_a_head_gives_its_own_points_in_input_order(model_with_head):
    # Lengths out of order: batches are sorted by length inside, the points must not be.
    sequences = sequences_of_lengths(5, 2, 9, 4)

    points = model_with_head.predict_valence_arousal(sequences, batch_size=2)

    expected = [[1 / n, 1 - 1 / n] for n in (5, 2, 9, 4)]
    np.testing.assert_allclose(points, expected, rtol=1e-6)
    probabilities = model_with_head.predict_proba(sequences)
    chosen = predict_valence_arousal(model_with_head, sequences, probabilities=probabilities)
    assert chosen.source == SOURCE_MODEL
    np.testing.assert_allclose(chosen.points, expected, rtol=1e-6)


def test_a_module_without_a_head_has_its_point_derived(trained_mood_model):
    sequences = sequences_of_lengths(5, 2, 9)
    assert trained_mood_model.predict_valence_arousal(sequences) is None

    probabilities = trained_mood_model.predict_proba(sequences)
    chosen = predict_valence_arousal(trained_mood_model, sequences, probabilities=probabilities)

    assert chosen.source == SOURCE_QUADRANT_PROBABILITIES
    np.testing.assert_allclose(
        chosen.points, point_from_probabilities(probabilities, trained_mood_model.labels)
    )


def test_tagging_predictions_carry_the_point_and_its_source(trained_mood_model, model_with_head):
    sequences = [features_of(label, seed=7, length=6) for label in LABELS]

    derived = tag_tracks(trained_mood_model, sequences)
    headed = tag_tracks(model_with_head, sequences)

    for label, prediction in zip(LABELS, derived, strict=True):
        assert prediction.label == label
        assert prediction.valence_arousal_source == SOURCE_QUADRANT_PROBABILITIES
        # A confident prediction lies in its quadrant, near its centre.
        centre = QUADRANT_CENTRES[label]
        assert abs(prediction.valence - centre[0]) < 0.25
        assert abs(prediction.arousal - centre[1]) < 0.25
    for prediction in headed:
        assert prediction.valence_arousal_source == SOURCE_MODEL
        assert (prediction.valence, prediction.arousal) == pytest.approx((1 / 6, 5 / 6))


def test_an_ensemble_averages_its_members_heads_and_derives_without_any(
    trained_mood_model, model_with_head
):
    sequences = sequences_of_lengths(4, 8)
    with_one_head = EnsembleMoodModel(members=[model_with_head, trained_mood_model])
    without_heads = EnsembleMoodModel(members=[trained_mood_model, trained_mood_model])

    np.testing.assert_allclose(
        with_one_head.predict_valence_arousal(sequences), [[1 / 4, 3 / 4], [1 / 8, 7 / 8]]
    )
    assert without_heads.predict_valence_arousal(sequences) is None
    probabilities = without_heads.predict_proba(sequences)
    derived = predict_valence_arousal(without_heads, sequences, probabilities=probabilities)
    assert derived.source == SOURCE_QUADRANT_PROBABILITIES


# --- Tagging, the migration, the API -----------------------------------------------------------


@pytest.mark.django_db
def test_tagging_stores_a_point_for_every_tagged_track(mood_catalogue):
    tagged = TrackEmotion.objects.all()

    assert tagged.count() == 40
    assert not tagged.filter(valence__isnull=True).exists()
    assert set(tagged.values_list("valence_arousal_source", flat=True)) == {
        SOURCE_QUADRANT_PROBABILITIES
    }
    for emotion in tagged:
        assert (emotion.valence, emotion.arousal) == pytest.approx(
            point_from_distribution(emotion.probabilities)
        )
    # The catalogue's sad tracks sit in the sad quadrant.
    sad = tagged.filter(track__in=mood_catalogue["Q3"])
    assert all(e.valence < 0.5 and e.arousal < 0.5 for e in sad)


@pytest.mark.django_db
def test_retagging_replaces_the_point(mood_catalogue, active_model):
    track = mood_catalogue["Q1"][0]
    TrackEmotion.objects.filter(track=track).update(valence=None, arousal=None)

    assert tag_tracks_with_model(version=active_model, track_ids=[track.pk]) == 1

    emotion = TrackEmotion.objects.get(track=track)
    assert emotion.valence > 0.5 and emotion.arousal > 0.5


@pytest.mark.django_db(transaction=True)
def test_the_data_migration_derives_points_of_tracks_tagged_before(active_model):
    executor = MigrationExecutor(connection)
    before = [("emotion", "0003_track_valence_arousal"), ("recommender", "0002_beat_runs")]
    after = [("emotion", "0004_fill_track_valence_arousal")]
    executor.migrate(before)
    old_apps = executor.loader.project_state(before).apps
    OldTrackEmotion = old_apps.get_model("emotion", "TrackEmotion")
    quadrant, other = TrackFactory(), TrackFactory()
    common = {
        "model_version_id": active_model.pk,
        "confidence": 0.7,
        "tagged_at": "2026-01-01T00:00:00Z",
    }
    OldTrackEmotion.objects.create(
        track_id=quadrant.pk,
        label="Q2",
        probabilities={"Q1": 0.1, "Q2": 0.7, "Q3": 0.1, "Q4": 0.1},
        **common,
    )
    OldTrackEmotion.objects.create(
        track_id=other.pk,
        label="sad",
        probabilities={"happy": 0.1, "fresh": 0.1, "relaxed": 0.1, "sad": 0.7},
        **common,
    )

    executor = MigrationExecutor(connection)
    executor.migrate(after)
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())

    derived = TrackEmotion.objects.get(track=quadrant)
    # 0.1·0.75 + 0.7·0.25 + 0.1·0.25 + 0.1·0.75 = 0.35; arousal 0.8·0.75 + 0.2·0.25 = 0.65.
    assert (derived.valence, derived.arousal) == pytest.approx((0.35, 0.65))
    assert derived.valence_arousal_source == SOURCE_QUADRANT_PROBABILITIES
    untouched = TrackEmotion.objects.get(track=other)
    assert (untouched.valence, untouched.arousal, untouched.valence_arousal_source) == (
        None,
        None,
        "",
    )


@pytest.mark.django_db
def test_the_track_api_shows_the_emotion_and_its_point(mood_catalogue, listener_client):
    track = mood_catalogue["Q4"][0]
    stored = TrackEmotion.objects.get(track=track)

    body = listener_client.get(f"/api/v1/tracks/{track.pk}/emotion/").json()

    assert body["track"] == track.pk
    assert body["emotion"]["label"] == "Q4"
    assert body["emotion"]["display_name"] == "relaxed"
    assert body["emotion"]["valence_arousal"] == {
        "valence": pytest.approx(stored.valence),
        "arousal": pytest.approx(stored.arousal),
        "source": SOURCE_QUADRANT_PROBABILITIES,
    }
    assert body["emotion"]["valence_arousal"]["valence"] > 0.5


@pytest.mark.django_db
def test_the_track_api_says_null_where_there_is_nothing(mood_catalogue, listener_client):
    untagged = analysed_track(features_of("Q1"))
    assert listener_client.get(f"/api/v1/tracks/{untagged.pk}/emotion/").json() == {
        "track": untagged.pk,
        "emotion": None,
    }
    track = mood_catalogue["Q1"][0]
    TrackEmotion.objects.filter(track=track).update(
        valence=None, arousal=None, valence_arousal_source=""
    )
    body = listener_client.get(f"/api/v1/tracks/{track.pk}/emotion/").json()
    assert body["emotion"]["label"] == "Q1"
    assert body["emotion"]["valence_arousal"] is None
    assert listener_client.get("/api/v1/tracks/999999/emotion/").status_code == 404


@pytest.mark.django_db
def test_the_track_emotion_api_answers_as_documented(mood_catalogue, listener_client):
    path = "/api/v1/tracks/{track_id}/emotion/"
    track = mood_catalogue["Q2"][0]
    tagged = listener_client.get(f"/api/v1/tracks/{track.pk}/emotion/")
    assert_matches_documented_response(tagged, path=path, method="get")
    untagged = listener_client.get(f"/api/v1/tracks/{TrackFactory().pk}/emotion/")
    assert_matches_documented_response(untagged, path=path, method="get")
    TrackEmotion.objects.filter(track=track).update(valence=None, arousal=None)
    without_point = listener_client.get(f"/api/v1/tracks/{track.pk}/emotion/")
    assert without_point.json()["emotion"]["valence_arousal"] is None
    assert_matches_documented_response(without_point, path=path, method="get")


@pytest.fixture(scope="module")
def svr_on_llds():
    """Seed 004's SVR baseline (a valence/arousal head) on the recommender tests' features."""
    sequences = [
        features_of(label, seed=20_000 + 100 * k + i, length=4 + i % 5)
        for k, label in enumerate(LABELS)
        for i in range(8)
    ]
    labels = [label for label in LABELS for _ in range(8)]
    groups = [f"artist {i % 4} of {label}" for label in LABELS for i in range(8)]
    preset = PRESETS["svr"].with_overrides(
        input_blocks=("lld",), model__input_dim=50, model__selected_features=16
    )
    return train_mood_model(
        sequences,
        labels,
        groups,
        preset=preset,
        seed=0,
        feature_set_version=LLD_FEATURE_SET_VERSION,
    )


@pytest.mark.django_db
def test_a_model_with_a_head_tags_tracks_and_moods_with_its_own_points(
    svr_on_llds, listener, django_capture_on_commit_callbacks
):
    tracks = [analysed_track(features_of(label, seed=i)) for i, label in enumerate(LABELS)]
    with django_capture_on_commit_callbacks(execute=True):
        version = register_model_version(model=svr_on_llds)
        activate_model_version(version=version)
    assert tag_tracks_with_model(version=version, track_ids=[t.pk for t in tracks]) == 4

    expected = svr_on_llds.predict_valence_arousal([features_of(lb, seed=i) for i, lb in
                                                   enumerate(LABELS)])  # fmt: skip
    for track, point in zip(tracks, expected, strict=True):
        emotion = TrackEmotion.objects.get(track=track)
        assert emotion.valence_arousal_source == SOURCE_MODEL
        assert (emotion.valence, emotion.arousal) == pytest.approx(tuple(point), abs=1e-5)

    PlayFactory(listener=listener, track=tracks[2], played_at=timezone.now())
    (snapshot,) = infer_listener_moods(listeners=[listener])
    assert snapshot.valence_arousal_source == SOURCE_MODEL
    assert (snapshot.valence, snapshot.arousal) == pytest.approx(tuple(expected[2]), abs=1e-5)


@pytest.mark.django_db(transaction=True)
def test_the_snapshot_data_migration_derives_points_of_stored_moods(listener, active_model):
    executor = MigrationExecutor(connection)
    before = [("recommender", "0003_snapshot_valence_arousal")]
    executor.migrate(before)
    OldSnapshot = executor.loader.project_state(before).apps.get_model(
        "recommender", "MoodSnapshot"
    )
    common = {"listener_id": listener.pk, "created_at": "2026-01-01T00:00:00Z", "basis": "spread"}
    spread = OldSnapshot.objects.create(probabilities={q: 0.25 for q in LABELS}, **common)
    empty = OldSnapshot.objects.create(probabilities={}, **common)

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())

    spread = MoodSnapshot.objects.get(pk=spread.pk)
    assert (spread.valence, spread.arousal) == pytest.approx((0.5, 0.5))
    assert spread.valence_arousal_source == SOURCE_QUADRANT_PROBABILITIES
    assert MoodSnapshot.objects.get(pk=empty.pk).valence is None
