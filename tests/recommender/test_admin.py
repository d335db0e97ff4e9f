from __future__ import annotations

import re

import pytest
from django.urls import reverse

from recommender.services import recommend_tracks, record_feedback
from tests.factories import PlayFactory

pytestmark = pytest.mark.django_db


def test_the_admin_shows_a_listeners_activity_and_the_acceptance_rate(
    admin_client, listener, mood_catalogue
):
    PlayFactory(listener=listener, track=mood_catalogue["Q2"][0])
    page = recommend_tracks(listener=listener, limit=4)
    record_feedback(recommendation=page.recommendations[0], action="accept")
    record_feedback(recommendation=page.recommendations[1], action="reject")

    listener_page = admin_client.get(reverse("admin:users_user_change", args=[listener.pk]))
    assert listener_page.status_code == 200
    assert b"1 plays" in listener_page.content
    assert b"4 recommendations" in listener_page.content
    assert b"acceptance 0.50" in listener_page.content

    changelist = admin_client.get(reverse("admin:recommender_recommendation_changelist"))
    assert changelist.status_code == 200
    assert b"1 accepted of 2 answered" in changelist.content
    filtered = admin_client.get(
        reverse("admin:recommender_recommendation_changelist"), {"feedback__exact": "accept"}
    )
    assert b"1 accepted of 1 answered" in filtered.content
    for name in ("recommender_moodsnapshot_changelist", "listening_play_changelist"):
        assert admin_client.get(reverse(f"admin:{name}")).status_code == 200


def test_the_admins_view_site_link_opens_the_api_docs(admin_client):
    index = admin_client.get(reverse("admin:index"))
    links = re.findall(r'<a href="([^"]*)">View site</a>', index.content.decode())
    assert links == [reverse("swagger-ui")]
    assert admin_client.get(links[0]).status_code == 200
