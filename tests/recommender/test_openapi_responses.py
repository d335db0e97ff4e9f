"""Recommendations and moods answer as the OpenAPI schema documents them."""

from __future__ import annotations

import pytest

from tests.factories import PlayFactory
from tests.openapi import assert_matches_documented_response

pytestmark = pytest.mark.django_db


def test_recommendations_feedback_and_moods_answer_as_documented(
    listener, listener_client, mood_catalogue
):
    PlayFactory(listener=listener, track=mood_catalogue["Q3"][0])

    page = listener_client.get("/api/v1/recommendations/", {"limit": 3})
    assert page.status_code == 200
    assert_matches_documented_response(page, path="/api/v1/recommendations/", method="get")

    recommendation = page.json()["results"][0]["id"]
    answered = listener_client.post(
        f"/api/v1/recommendations/{recommendation}/feedback", {"action": "reject"}, format="json"
    )
    assert answered.status_code == 200
    assert_matches_documented_response(
        answered, path="/api/v1/recommendations/{recommendation_id}/feedback", method="post"
    )

    declared = listener_client.put("/api/v1/me/mood", {"label": "Q1"}, format="json")
    assert declared.status_code == 200
    assert_matches_documented_response(declared, path="/api/v1/me/mood", method="put")

    moods = listener_client.get("/api/v1/me/mood")
    assert moods.json()["current"] is not None
    assert_matches_documented_response(moods, path="/api/v1/me/mood", method="get")


def test_a_cold_start_mood_page_is_as_documented(listener_client, active_model):
    moods = listener_client.get("/api/v1/me/mood")
    assert moods.status_code == 200
    assert moods.json()["current"]["basis"] == "spread"
    assert_matches_documented_response(moods, path="/api/v1/me/mood", method="get")


def test_the_views_own_errors_answer_as_documented(listener, listener_client, mood_catalogue):
    page = listener_client.get("/api/v1/recommendations/", {"limit": 1})
    recommendation = page.json()["results"][0]["id"]
    path = f"/api/v1/recommendations/{recommendation}/feedback"
    listener_client.post(path, {"action": "accept"}, format="json")
    changed = listener_client.post(path, {"action": "reject"}, format="json")
    assert changed.status_code == 409
    assert_matches_documented_response(
        changed, path="/api/v1/recommendations/{recommendation_id}/feedback", method="post"
    )


def test_no_active_model_answers_as_documented(listener_client):
    recommendations = listener_client.get("/api/v1/recommendations/")
    assert recommendations.status_code == 503
    assert_matches_documented_response(
        recommendations, path="/api/v1/recommendations/", method="get"
    )
    moods = listener_client.get("/api/v1/me/mood")
    assert moods.status_code == 503
    assert_matches_documented_response(moods, path="/api/v1/me/mood", method="get")
