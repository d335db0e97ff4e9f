"""POST /api/v1/recommendations/{id}/feedback: accept and reject semantics, idempotence,
ownership, and the two emotion-choosing policies."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import numpy as np
import pytest
from django.utils import timezone

from recommender.models import ListenerMoodState, MoodSnapshot
from recommender.policies import seed_rule_target, thompson_target
from tests.conftest import client_for
from tests.factories import PlayFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def sad_listener(listener, mood_catalogue, settings):
    settings.RECOMMENDATION_POLICY = "seed"
    for minute in range(3):
        PlayFactory(
            listener=listener,
            track=mood_catalogue["Q3"][0],
            played_at=timezone.now() - dt.timedelta(minutes=minute + 1),
        )
    return listener


def first_recommendation(client, **params) -> dict:
    body = client.get("/api/v1/recommendations/", {"limit": 1, **params}).json()
    return body["results"][0]


def feedback(client, recommendation_id: int, action: str):
    return client.post(
        f"/api/v1/recommendations/{recommendation_id}/feedback", {"action": action}, format="json"
    )


def test_accept_keeps_the_emotion(sad_listener, listener_client):
    item = first_recommendation(listener_client)
    assert item["emotion"] == "Q3"

    response = feedback(listener_client, item["id"], "accept")

    assert response.status_code == 200
    assert response.json()["changed"] is True
    assert response.json()["recommendation"]["feedback"] == "accept"
    assert ListenerMoodState.objects.get(listener=sad_listener).confirmed_label == "Q3"
    assert first_recommendation(listener_client)["emotion"] == "Q3"


def test_reject_reanalyses_and_moves_to_the_next_most_likely_emotion(sad_listener, listener_client):
    item = first_recommendation(listener_client)
    snapshots_before = MoodSnapshot.objects.filter(listener=sad_listener).count()

    response = feedback(listener_client, item["id"], "reject")

    assert response.status_code == 200
    snapshot = MoodSnapshot.objects.filter(listener=sad_listener).first()
    assert MoodSnapshot.objects.filter(listener=sad_listener).count() == snapshots_before + 1
    ranked = sorted(snapshot.probabilities, key=snapshot.probabilities.get, reverse=True)
    assert response.json()["next_emotion"] == ranked[1]
    following = first_recommendation(listener_client)
    assert following["emotion"] == ranked[1]
    assert following["track"]["id"] != item["track"]["id"]


def test_after_a_reject_the_explanation_says_the_listener_turned_the_mood_down(
    sad_listener, listener_client
):
    item = first_recommendation(listener_client)
    assert "turned down" not in item["explanation"]["reason"]

    feedback(listener_client, item["id"], "reject")

    following = first_recommendation(listener_client)
    assert following["emotion"] != "Q3"
    assert "sound sad, but you turned down sad tracks" in following["explanation"]["reason"]


def test_a_rejected_track_never_comes_back(sad_listener, listener_client):
    rejected = first_recommendation(listener_client)
    feedback(listener_client, rejected["id"], "reject")
    served = [
        item["track"]["id"]
        for emotion in ("Q1", "Q2", "Q3", "Q4")
        for item in listener_client.get(
            "/api/v1/recommendations/", {"limit": 50, "emotion": emotion}
        ).json()["results"]
    ]
    assert rejected["track"]["id"] not in served


def test_feedback_is_idempotent_and_cannot_be_changed(sad_listener, listener_client):
    item = first_recommendation(listener_client)
    assert feedback(listener_client, item["id"], "accept").json()["changed"] is True
    again = feedback(listener_client, item["id"], "accept")
    assert again.status_code == 200 and again.json()["changed"] is False
    state = ListenerMoodState.objects.get(listener=sad_listener)
    assert state.label_feedback == {"Q3": {"accept": 1.0, "reject": 0.0}}

    conflict = feedback(listener_client, item["id"], "reject")
    assert conflict.status_code == 409
    assert "already answered" in conflict.json()["error"]["message"]


def test_only_the_owner_can_answer(sad_listener, listener_client, other_listener):
    item = first_recommendation(listener_client)
    response = feedback(client_for(other_listener), item["id"], "accept")
    assert response.status_code == 404
    assert feedback(listener_client, item["id"], "accept").json()["changed"] is True


def test_no_listener_sees_another_listeners_recommendations(
    sad_listener, listener_client, other_listener, mood_catalogue
):
    mine = {
        item["id"]
        for item in listener_client.get("/api/v1/recommendations/", {"limit": 5}).json()["results"]
    }
    theirs = client_for(other_listener).get("/api/v1/recommendations/", {"limit": 5}).json()
    assert mine.isdisjoint(item["id"] for item in theirs["results"])


@pytest.mark.parametrize("body", [{}, {"action": "maybe"}, {"action": ""}])
def test_a_bad_action_is_a_400(sad_listener, listener_client, body):
    item = first_recommendation(listener_client)
    response = listener_client.post(
        f"/api/v1/recommendations/{item['id']}/feedback", body, format="json"
    )
    assert response.status_code == 400
    assert "action" in response.json()["error"]["message"]


def test_seed_rule_moves_down_the_ranking_and_starts_over():
    probabilities = {"Q1": 0.1, "Q2": 0.2, "Q3": 0.6, "Q4": 0.1}
    assert seed_rule_target(probabilities, rejected=[]) == "Q3"
    assert seed_rule_target(probabilities, rejected=["Q3"]) == "Q2"
    assert seed_rule_target(probabilities, rejected=["Q3", "Q2"]) == "Q1"
    assert seed_rule_target(probabilities, rejected=["Q1", "Q2", "Q3", "Q4"]) == "Q3"
    assert seed_rule_target(probabilities, rejected=[], confirmed="Q4") == "Q4"


def test_thompson_sampling_follows_the_prior_until_feedback_says_otherwise():
    probabilities = {"Q1": 0.05, "Q2": 0.05, "Q3": 0.85, "Q4": 0.05}
    rng = np.random.default_rng(0)

    def draws(feedback) -> Counter:
        return Counter(
            thompson_target(probabilities, feedback=feedback, prior_strength=4.0, rng=rng)
            for _ in range(400)
        )

    assert draws({})["Q3"] > 200
    learnt = draws({"Q3": {"reject": 15}, "Q1": {"accept": 6}})
    assert learnt["Q1"] > 200 and learnt["Q3"] < 40


def test_the_bandit_policy_serves_through_the_api(sad_listener, listener_client, settings):
    settings.RECOMMENDATION_POLICY = "bandit"
    body = listener_client.get("/api/v1/recommendations/", {"limit": 2}).json()
    assert body["policy"] == "bandit"
    assert body["target_emotion"]["label"] in {"Q1", "Q2", "Q3", "Q4"}


def test_older_answers_fade_from_the_bandit_counts():
    from recommender.policies import discounted_feedback

    feedback = {}
    for _ in range(3):
        feedback = discounted_feedback(feedback, label="Q3", action="reject", decay=0.5)
    feedback = discounted_feedback(feedback, label="Q1", action="accept", decay=0.5)

    assert feedback["Q3"]["reject"] == pytest.approx((1 + 0.5 + 0.25) * 0.5)
    assert feedback["Q1"] == {"accept": 1.0, "reject": 0.0}
