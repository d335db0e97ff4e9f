"""GET /api/v1/recommendations/: emotion matching, explanations, exclusions and filters."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from catalogue.models import Track
from emotion.models import TrackAnalysis, TrackEmotion, TrainingRun
from recommender.models import Recommendation
from tests.factories import PlayFactory, RecommendationFactory, TrackFactory, analysed_track
from tests.recommender.conftest import RECOMMENDATIONS_URL, features_of, recommend

pytestmark = pytest.mark.django_db


def test_recommendations_match_the_inferred_emotion_and_say_why(
    sad_listener, listener_client, mood_catalogue, active_model
):
    body = recommend(listener_client, limit=5)

    assert body["policy"] == "seed"
    assert body["target_emotion"]["label"] == "Q3"
    assert body["target_emotion"]["confidence"] > 0.5
    assert body["model_version"] == active_model.pk
    assert body["mood"]["basis"] == "inferred"
    assert len(body["results"]) == 5
    sad_ids = {t.pk for t in mood_catalogue["Q3"]}
    for rank, item in enumerate(body["results"], start=1):
        assert item["rank"] == rank
        assert item["track"]["id"] in sad_ids
        assert item["emotion"] == "Q3"
        explanation = item["explanation"]
        assert explanation["target_emotion"]["label"] == "Q3"
        assert explanation["model_version"] == active_model.pk
        assert [t["track_id"] for t in explanation["top_tracks"]] == [
            t.pk for t in mood_catalogue["Q3"][:2]
        ]
        assert "sad" in explanation["reason"]
        assert Recommendation.objects.filter(pk=item["id"], listener=sad_listener).exists()


def test_played_and_already_recommended_songs_never_come_back(
    sad_listener, listener_client, mood_catalogue
):
    played = {t.pk for t in mood_catalogue["Q3"][:2]}
    served = []
    for _ in range(4):
        page = recommend(listener_client, limit=3, emotion="Q3")
        served += [item["track"]["id"] for item in page["results"]]

    assert len(served) == len(set(served)) == 8  # 10 sad tracks, 2 played recently
    assert not played & set(served)
    assert recommend(listener_client, limit=3, emotion="Q3")["results"] == []


def test_songs_played_before_the_recent_window_can_be_recommended(
    listener, listener_client, mood_catalogue, settings
):
    settings.RECOMMENDATION_POLICY = "seed"
    settings.RECOMMENDATION_RECENT_PLAY_DAYS = 3
    long_ago = mood_catalogue["Q3"][5]
    PlayFactory(listener=listener, track=mood_catalogue["Q3"][0], played_at=timezone.now())
    PlayFactory(listener=listener, track=long_ago, played_at=timezone.now() - dt.timedelta(days=5))

    served = {item["track"]["id"] for item in recommend(listener_client, limit=20)["results"]}

    assert long_ago.pk in served
    assert mood_catalogue["Q3"][0].pk not in served


def test_releases_of_one_song_are_recommended_once(
    sad_listener, listener_client, mood_catalogue, django_capture_on_commit_callbacks
):
    original = mood_catalogue["Q3"][9]
    with django_capture_on_commit_callbacks(execute=True):
        remaster = analysed_track(
            features_of("Q3", seed=999),
            title=f"{original.title} (Remastered 2011)",
            artist=original.artist,
            album=f"{original.album} (Deluxe Edition)",
        )
        from emotion.services.tagging import request_track_tagging

        request_track_tagging(track_ids=[remaster.pk])
    assert remaster.song_key == original.song_key
    assert TrackEmotion.objects.filter(track=remaster, label="Q3").exists()

    served = [item["track"]["id"] for item in recommend(listener_client, limit=50)["results"]]

    assert len({original.pk, remaster.pk} & set(served)) == 1


def test_the_same_song_cannot_be_stored_twice_for_a_listener(sad_listener, mood_catalogue):
    track = mood_catalogue["Q3"][4]
    RecommendationFactory(listener=sad_listener, track=track, target_label="Q3")
    with pytest.raises(IntegrityError), transaction.atomic():
        RecommendationFactory(listener=sad_listener, track=track, target_label="Q3")


def test_an_explicit_emotion_and_excluded_artists_filter_the_results(
    sad_listener, listener_client, mood_catalogue
):
    body = recommend(
        listener_client,
        limit=20,
        emotion="Q1",
        exclude_artist=["Q1 artist 0", "q1 ARTIST 1"],
    )

    assert body["target_emotion"]["label"] == "Q1"
    assert body["results"], "expected happy tracks"
    artists = {item["track"]["artist"] for item in body["results"]}
    assert artists <= {"Q1 artist 2", "Q1 artist 3", "Q1 artist 4"}
    assert all(item["explanation"]["policy"] == "explicit" for item in body["results"])
    # The listener chose the emotion: the listener's (low) happy probability is not a reason.
    assert body["target_emotion"]["confidence"] is None
    for item in body["results"]:
        assert item["explanation"]["target_emotion"]["confidence"] is None
        assert item["explanation"]["reason"] == "you asked for happy tracks"


def test_a_page_spreads_over_artists(sad_listener, listener_client):
    results = recommend(listener_client, limit=5)["results"]
    artists = [item["track"]["artist"] for item in results]
    # Five sad artists hold two songs each; the artist penalty puts each once on a page of 5.
    assert len(set(artists)) == 5


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"emotion": "ecstatic"}, "unknown emotion"),
        ({"limit": 0}, "limit"),
        ({"limit": 10_000}, "limit"),
        ({"limit": "many"}, "limit"),
    ],
)
def test_bad_parameters_get_a_400_that_says_what_is_wrong(
    listener_client, mood_catalogue, params, message
):
    response = listener_client.get(RECOMMENDATIONS_URL, params)
    assert response.status_code == 400
    assert message in response.json()["error"]["message"]


def test_without_an_active_model_the_503_says_what_to_do(listener_client):
    response = listener_client.get(RECOMMENDATIONS_URL)
    assert response.status_code == 503
    message = response.json()["error"]["message"]
    assert message.startswith("no mood model is active")
    assert "python manage.py seed_demo" in message
    assert "python manage.py register_mood_model FILE --activate" in message
    assert "training run" in message
    assert "still queued or running" not in message


def test_while_analyses_run_the_503_says_the_demo_model_follows_them(listener_client):
    track = TrackFactory()
    TrackAnalysis.objects.create(track=track, requested_at=timezone.now())

    message = listener_client.get(RECOMMENDATIONS_URL).json()["error"]["message"]

    assert "1 track analysis is still queued or running" in message
    assert "if seed_demo queued the demo model, it is trained as soon as they finish" in message


def test_while_a_training_run_is_under_way_the_503_says_so(listener_client):
    run = TrainingRun.objects.create(status="running", stage="training on 40 tracks")

    message = listener_client.get(RECOMMENDATIONS_URL).json()["error"]["message"]

    assert f"Training run {run.pk} is running (training on 40 tracks)" in message


def test_a_listener_with_no_plays_gets_a_spread_and_is_told_so(listener_client, mood_catalogue):
    body = recommend(listener_client, limit=4)
    assert body["mood"]["basis"] == "spread"
    assert body["results"]
    assert body["results"][0]["explanation"]["mood_basis"] == "spread"


def test_recommendations_need_a_token(api_client, mood_catalogue):
    assert api_client.get(RECOMMENDATIONS_URL).status_code == 401


def test_tracks_without_a_tag_are_not_recommended(sad_listener, listener_client, mood_catalogue):
    Track.objects.create(title="Untagged", artist="Nobody")
    served = [item["track"]["title"] for item in recommend(listener_client, limit=50)["results"]]
    assert "Untagged" not in served


def test_each_explanation_places_the_mood_and_the_track_in_the_valence_arousal_plane(
    sad_listener, listener_client, mood_catalogue
):
    body = recommend(listener_client, limit=3)

    mood = body["mood"]["valence_arousal"]
    assert mood["source"] == "quadrant_probabilities"
    assert mood["valence"] < 0.5 and mood["arousal"] < 0.5
    for item in body["results"]:
        explanation = item["explanation"]
        assert explanation["mood_valence_arousal"] == mood
        stored = TrackEmotion.objects.get(track_id=item["track"]["id"])
        assert explanation["track_valence_arousal"] == {
            "valence": pytest.approx(stored.valence),
            "arousal": pytest.approx(stored.arousal),
            "source": "quadrant_probabilities",
        }


def test_the_candidates_read_for_every_emotion_at_once_are_each_emotions_own_walk(
    sad_listener, listener_client, mood_catalogue
):
    """One query reads every emotion's candidates; per emotion they are exactly what the walk
    of that emotion alone gives, and an emotion is present exactly when it has a track left."""
    from recommender.selectors import (
        distinct_songs,
        emotions_with_unserved_tracks,
        recommendation_candidates,
        recommendation_candidates_by_emotion,
    )

    recommend(listener_client, emotion="Q1", limit=10)  # Q1 runs dry for this listener
    recommend(listener_client, emotion="Q2", limit=4)
    version = Recommendation.objects.filter(listener=sad_listener).first().model_version
    played_since = timezone.now() - dt.timedelta(days=7)
    reads = dict(listener=sad_listener, version=version, played_since=played_since)

    by_emotion = recommendation_candidates_by_emotion(**reads, rows_per_emotion=5)

    assert set(by_emotion) == emotions_with_unserved_tracks(**reads) == {"Q2", "Q3", "Q4"}
    for label, rows in by_emotion.items():
        assert len(rows) == 5
        alone = recommendation_candidates(**reads, label=label, limit=50)
        assert distinct_songs(rows) == alone[: len(distinct_songs(rows))]
    served = set(Recommendation.objects.values_list("track_id", flat=True))
    played = {track.pk for track in mood_catalogue["Q3"][:2]}
    read = {row.track_id for rows in by_emotion.values() for row in rows}
    assert not read & (served | played)
