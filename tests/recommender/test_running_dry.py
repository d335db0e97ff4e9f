"""When the catalogue runs dry for a listener: pages filled from the next emotion and saying
so, a notice instead of a silent empty page, policies that never target an emotion with
nothing left, and a declared mood that says why it is (not) used."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import numpy as np
import pytest
from django.utils import timezone

from emotion.ml.labels import DISPLAY_NAMES
from recommender.models import MoodSnapshot, Recommendation
from recommender.policies import fill_order, seed_rule_target, thompson_target
from tests.factories import PlayFactory
from tests.openapi import assert_matches_documented_response
from tests.recommender.conftest import RECOMMENDATIONS_URL, recommend

pytestmark = pytest.mark.django_db


def mood_ranking(listener) -> tuple[list[str], dict[str, float]]:
    """The listener's emotions, most likely first, and their probabilities."""
    probabilities = MoodSnapshot.objects.filter(listener=listener).first().probabilities
    return sorted(probabilities, key=lambda label: (-probabilities[label], label)), probabilities


def percent(value: float) -> str:
    return "under 1 %" if value < 0.005 else f"{100 * value:.0f} %"


def test_a_short_target_is_filled_from_the_next_most_likely_emotion_and_says_so(
    sad_listener, listener_client, mood_catalogue
):
    first = recommend(listener_client, limit=6)
    assert [item["emotion"] for item in first["results"]] == ["Q3"] * 6
    assert first["notice"] is None
    ranking, probabilities = mood_ranking(sad_listener)
    assert ranking[0] == "Q3"
    filler = ranking[1]

    second = recommend(listener_client, limit=6)

    assert second["target_emotion"]["label"] == "Q3"
    assert [item["emotion"] for item in second["results"]] == ["Q3"] * 2 + [filler] * 4
    assert second["notice"] is None, "a filled page is a full page"
    for item in second["results"][:2]:
        explanation = item["explanation"]
        assert explanation["fills_in_for"] is None
        assert explanation["target_emotion"]["confidence"] == pytest.approx(probabilities["Q3"])
        assert "only 2 sad tracks were left" not in explanation["reason"]
    filler_ids = {track.pk for track in mood_catalogue[filler]}
    for item in second["results"][2:]:
        explanation = item["explanation"]
        assert item["track"]["id"] in filler_ids
        assert explanation["fills_in_for"] == {"label": "Q3", "display_name": "sad", "served": 2}
        # The probability shown is the filled-in emotion's own, not the target's.
        assert explanation["target_emotion"]["label"] == filler
        assert explanation["target_emotion"]["confidence"] == pytest.approx(probabilities[filler])
        assert (
            f"only 2 sad tracks were left, so this one is {DISPLAY_NAMES[filler]}, the next "
            f"most likely emotion ({percent(probabilities[filler])} likely)"
        ) in explanation["reason"]
        stored = Recommendation.objects.get(pk=item["id"])
        assert stored.target_label == filler
        assert stored.target_confidence == pytest.approx(probabilities[filler])


def test_when_nothing_is_left_the_page_says_why_and_what_to_do(sad_listener, listener_client):
    last = recommend(listener_client, limit=50)
    assert len(last["results"]) == 38  # 40 tagged tracks, 2 played this week
    assert last["notice"]["code"] == "last_tracks"
    assert last["notice"]["message"].startswith("These are the last to recommend to you")

    response = listener_client.get(RECOMMENDATIONS_URL, {"limit": 5})

    assert response.status_code == 200
    body = response.json()
    assert body["results"] == []
    notice = body["notice"]
    assert notice["code"] == "nothing_left"
    assert notice["message"] == (
        "Nothing is left to recommend to you: every track tagged by the mood model has been "
        "recommended to you, or you played it in the past 7 days."
    )
    assert [s["code"] for s in notice["suggestions"]] == [
        "wait_for_new_tracks",
        "wait_for_played_songs",
    ]
    assert "7 days after you last played it" in notice["suggestions"][1]["message"]
    assert_matches_documented_response(response, path=RECOMMENDATIONS_URL, method="get")


def test_an_emotion_asked_for_is_not_filled_and_the_notice_names_the_others(
    sad_listener, listener_client, mood_catalogue
):
    response = listener_client.get(RECOMMENDATIONS_URL, {"limit": 12, "emotion": "Q1"})

    body = response.json()
    assert [item["emotion"] for item in body["results"]] == ["Q1"] * 10
    assert all(item["explanation"]["fills_in_for"] is None for item in body["results"])
    notice = body["notice"]
    assert notice["code"] == "emotion_exhausted"
    assert notice["message"].startswith("Only 10 happy tracks were left to recommend to you")
    ranking, _ = mood_ranking(sad_listener)
    assert [s["query"] for s in notice["suggestions"]] == [
        *({"emotion": label} for label in ranking if label != "Q1"),
        None,
    ]
    assert notice["suggestions"][-1]["code"] == "follow_mood"
    assert_matches_documented_response(response, path=RECOMMENDATIONS_URL, method="get")

    again = recommend(listener_client, limit=3, emotion="Q1")
    assert again["results"] == []
    assert again["notice"]["message"].startswith("No happy tracks were left")


def test_when_excluded_artists_hold_what_is_left_the_notice_says_so(
    sad_listener, listener_client, mood_catalogue
):
    artists = sorted({track.artist for tracks in mood_catalogue.values() for track in tracks})

    body = recommend(listener_client, limit=5, exclude_artist=artists)

    assert body["results"] == []
    notice = body["notice"]
    assert notice["code"] == "nothing_left"
    assert "or it is by an artist you excluded" in notice["message"]
    assert notice["suggestions"][0] == {
        "code": "include_artists",
        "message": "the artists you excluded still have tracks for you; leave out "
        "exclude_artist= to get them",
        "query": {"exclude_artist": []},
    }


def test_the_policies_never_pick_an_emotion_with_nothing_left():
    probabilities = {"Q1": 0.1, "Q2": 0.2, "Q3": 0.6, "Q4": 0.1}
    assert seed_rule_target(probabilities, rejected=[], available={"Q1", "Q4"}) == "Q1"
    assert seed_rule_target(probabilities, rejected=["Q3"], available={"Q3", "Q4"}) == "Q4"
    assert seed_rule_target(probabilities, rejected=["Q4"], available={"Q4"}) == "Q4"
    assert seed_rule_target(probabilities, rejected=[], confirmed="Q3", available={"Q2"}) == "Q2"
    assert seed_rule_target(probabilities, rejected=[], available=set()) is None

    rng = np.random.default_rng(0)
    draws = Counter(
        thompson_target(
            probabilities,
            feedback={"Q1": {"reject": 5}},
            prior_strength=20.0,
            rng=rng,
            available={"Q1", "Q4"},
        )
        for _ in range(300)
    )
    assert set(draws) <= {"Q1", "Q4"} and draws["Q4"] > 150
    assert (
        thompson_target(probabilities, feedback={}, prior_strength=20.0, rng=rng, available=set())
        is None
    )

    # Fills go down the mood's ranking, rejected emotions last, never an empty one.
    assert fill_order(
        probabilities, target="Q3", rejected=["Q2"], available={"Q1", "Q2", "Q3"}
    ) == ["Q1", "Q2"]


@pytest.mark.parametrize("policy", ["seed", "bandit"])
def test_the_loop_never_targets_an_emotion_with_nothing_left(
    policy, listener, listener_client, mood_catalogue, settings
):
    settings.RECOMMENDATION_POLICY = policy
    now = timezone.now()
    # A relaxed week: every relaxed track, so none is left to recommend, and every tense
    # track once from our recommendations (no weight in the mood, but played this week).
    for index, track in enumerate(mood_catalogue["Q4"]):
        for repeat in range(2):
            PlayFactory(
                listener=listener,
                track=track,
                played_at=now - dt.timedelta(minutes=20 * index + repeat + 1),
            )
    for index, track in enumerate(mood_catalogue["Q2"]):
        PlayFactory(
            listener=listener,
            track=track,
            played_at=now - dt.timedelta(hours=index + 5),
            chosen_by_user=False,
        )

    for _ in range(4):
        body = recommend(listener_client, limit=3)
        assert body["mood"]["label"] == "Q4"
        assert body["target_emotion"]["label"] in {"Q1", "Q3"}
        assert len(body["results"]) == 3
        assert {item["emotion"] for item in body["results"]} <= {"Q1", "Q3"}
        explanation = body["results"][0]["explanation"]
        assert explanation["nothing_left"][0] == "Q4"
        assert "sound relaxed, but no relaxed" in explanation["reason"]


def test_after_a_reject_the_loop_skips_an_emotion_with_nothing_left_and_says_why(
    sad_listener, listener_client, mood_catalogue
):
    item = recommend(listener_client, limit=1)["results"][0]
    assert item["emotion"] == "Q3"
    ranking, _ = mood_ranking(sad_listener)
    # The listener played every track of the next most likely emotion this week, from our
    # recommendations: they do not steer the mood, but none of them may be served.
    emptied = ranking[1]
    for index, track in enumerate(mood_catalogue[emptied]):
        PlayFactory(
            listener=sad_listener,
            track=track,
            played_at=timezone.now() - dt.timedelta(hours=index + 1),
            chosen_by_user=False,
        )

    answer = listener_client.post(
        f"{RECOMMENDATIONS_URL}{item['id']}/feedback", {"action": "reject"}, format="json"
    ).json()

    ranking, _ = mood_ranking(sad_listener)
    assert ranking[:2] == ["Q3", emptied]
    assert answer["next_emotion"] == ranking[2]
    page = recommend(listener_client, limit=3)
    assert [item["emotion"] for item in page["results"]] == [ranking[2]] * 3
    reason = page["results"][0]["explanation"]["reason"]
    assert (
        f"sound sad, but you turned down sad tracks and no {DISPLAY_NAMES[emptied]} tracks are "
        f"left for you; trying {DISPLAY_NAMES[ranking[2]]} next"
    ) in reason
    assert page["results"][0]["explanation"]["turned_down"] == ["Q3"]
    assert page["results"][0]["explanation"]["nothing_left"] == [emptied]


def test_a_declared_mood_is_kept_but_plays_take_precedence_and_every_answer_says_so(
    sad_listener, listener_client
):
    response = listener_client.put("/api/v1/me/mood", {"label": "Q1"}, format="json")

    assert response.status_code == 200
    body = response.json()
    assert body["declared_label"] == "Q1"
    assert body["used"] is False
    assert body["reason"].startswith("your plays of the past 7 days take precedence")
    assert body["mood"]["basis"] == "inferred" and body["mood"]["label"] == "Q3"
    assert_matches_documented_response(response, path="/api/v1/me/mood", method="put")

    moods = listener_client.get("/api/v1/me/mood").json()
    assert moods["declared_mood"]["label"] == "Q1"
    assert moods["declared_mood"]["used"] is False
    assert moods["declared_mood"]["reason"] == body["reason"]

    explanation = recommend(listener_client, limit=1)["results"][0]["explanation"]
    assert explanation["declared_mood"]["used"] is False
    assert (
        "sound sad (they take precedence over the mood you declared, happy)"
        in explanation["reason"]
    )


def test_a_declared_mood_applies_at_once_to_a_listener_without_plays(
    listener, listener_client, mood_catalogue, settings
):
    settings.RECOMMENDATION_POLICY = "seed"
    before = listener_client.get("/api/v1/me/mood").json()
    assert before["current"]["basis"] == "spread" and before["declared_mood"] is None

    body = listener_client.put("/api/v1/me/mood", {"label": "Q4"}, format="json").json()

    assert body["used"] is True
    assert body["mood"]["basis"] == "declared" and body["mood"]["label"] == "Q4"
    after = listener_client.get("/api/v1/me/mood").json()
    assert after["current"]["basis"] == "declared"
    assert after["declared_mood"]["used"] is True
    page = recommend(listener_client, limit=2)
    assert page["target_emotion"]["label"] == "Q4"
    assert page["results"][0]["explanation"]["reason"].startswith(
        "you said you feel relaxed; recommending relaxed (100 % likely)"
    )
