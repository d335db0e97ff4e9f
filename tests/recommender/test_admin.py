from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from recommender.models import BeatRun, BeatRunOutcome, MoodSnapshot, Recommendation
from recommender.services import infer_listener_moods, recommend_tracks, record_feedback
from tests.factories import ListenerFactory, PlayFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def answered(listener, mood_catalogue):
    """A listener with plays (one this week, one older), snapshots and answered
    recommendations."""
    PlayFactory(listener=listener, track=mood_catalogue["Q2"][0])
    PlayFactory(
        listener=listener,
        track=mood_catalogue["Q2"][1],
        played_at=timezone.now() - timedelta(days=30),
    )
    page = recommend_tracks(listener=listener, limit=4)
    record_feedback(recommendation=page.recommendations[0], action="accept")
    record_feedback(recommendation=page.recommendations[1], action="reject")
    return page


def test_the_listener_page_starts_with_the_summary_chart_and_answers(
    admin_client, listener, answered
):
    page = admin_client.get(reverse("admin:users_user_change", args=[listener.pk]))

    assert page.status_code == 200
    content = page.content.decode()
    summary = content.index("Listening, mood and recommendations")
    assert summary < content.index('name="username"')
    assert "1 this week" in content and "2 in all" in content
    assert "0.50 (1 accepted of 2 answered)" in content and "4 recommendations" in content
    snapshot = MoodSnapshot.objects.filter(listener=listener).first()
    assert f"{snapshot.label} (" in content
    assert f"valence {snapshot.valence:.2f}, arousal {snapshot.arousal:.2f}" in content
    assert re.search(r'<img class="chart" alt="mood of [^"]+" src="data:image/png;base64,', content)
    accepted, rejected = answered.recommendations[0], answered.recommendations[1]
    for recommendation, answer in ((accepted, "accept"), (rejected, "reject")):
        link = reverse("admin:recommender_recommendation_change", args=[recommendation.pk])
        assert re.search(
            rf'<a href="{link}">[^<]+</a></td><td>[^<]+</td><td>{answer}</td>', content
        ), answer
    assert content.count("unanswered") >= 2


def test_permission_widgets_only_on_staff_pages(admin_client, listener):
    listener_page = admin_client.get(reverse("admin:users_user_change", args=[listener.pk]))
    staff = ListenerFactory(is_staff=True)
    staff_page = admin_client.get(reverse("admin:users_user_change", args=[staff.pk]))

    assert b'name="is_active"' in listener_page.content
    assert b'name="user_permissions"' not in listener_page.content
    assert b'name="groups"' not in listener_page.content
    assert b'name="user_permissions"' in staff_page.content
    # Saving a listener's page keeps working without the hidden widgets.
    response = admin_client.post(
        reverse("admin:users_user_change", args=[listener.pk]),
        {
            "username": listener.username,
            "first_name": "",
            "last_name": "",
            "email": listener.email,
            "is_active": "on",
            "last_login_0": "",
            "last_login_1": "",
            "date_joined_0": "2026-01-01",
            "date_joined_1": "00:00:00",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]


def test_the_recommendation_list_filters_by_listener_and_reads_by_name(
    admin_client, listener, answered, mood_catalogue
):
    other = ListenerFactory(username="someone-else")
    recommend_tracks(listener=other, limit=2)
    changelist = reverse("admin:recommender_recommendation_changelist")

    everyone = admin_client.get(changelist)
    assert b"1 accepted of 2 answered" in everyone.content
    assert f"?listener={listener.pk}".encode() in everyone.content  # the filter is offered

    theirs = admin_client.get(changelist, {"listener": listener.pk})
    assert theirs.status_code == 200
    assert theirs.context["cl"].result_count == 4
    assert b"1 accepted of 2 answered" in theirs.content
    others = admin_client.get(changelist, {"listener": other.pk})
    assert others.context["cl"].result_count == 2
    unanswered = admin_client.get(changelist, {"feedback": "none"})
    assert unanswered.context["cl"].result_count == 4

    recommendation = Recommendation.objects.filter(listener=listener, feedback="accept").get()
    assert str(recommendation) == (
        f"{recommendation.track} for {listener.username} ({recommendation.target_label})"
    )
    detail = admin_client.get(
        reverse("admin:recommender_recommendation_change", args=[recommendation.pk])
    )
    content = detail.content.decode()
    assert detail.status_code == 200
    assert f"<title>{recommendation}".replace("'", "&#x27;") in content
    assert recommendation.explanation["reason"] in content.replace("&#x27;", "'")
    assert "plays in the last 30 days (all listeners)" in content
    assert "{&quot;" not in content and '{"' not in content


def test_a_snapshot_page_reads_as_tables(admin_client, listener, mood_catalogue):
    PlayFactory(listener=listener, track=mood_catalogue["Q3"][0])
    [snapshot] = infer_listener_moods(listeners=[listener])
    assert str(snapshot).startswith(f"{listener.username} felt {snapshot.label} at ")

    page = admin_client.get(reverse("admin:recommender_moodsnapshot_change", args=[snapshot.pk]))
    content = page.content.decode()
    assert page.status_code == 200
    assert "Q3 song 0" in content and "{&quot;" not in content
    assert f"valence {snapshot.valence:.2f}, arousal {snapshot.arousal:.2f} (derived" in content
    assert content.count('<th scope="row">Q') == 4  # one row per emotion
    listing = admin_client.get(
        reverse("admin:recommender_moodsnapshot_changelist"), {"listener": listener.pk}
    )
    assert listing.context["cl"].result_count == 1


def test_the_admins_view_site_link_opens_the_api_docs(admin_client):
    index = admin_client.get(reverse("admin:index"))
    links = re.findall(r'<a href="([^"]*)">View site</a>', index.content.decode())
    assert links == [reverse("swagger-ui")]
    assert admin_client.get(links[0]).status_code == 200


ADMIN_LISTS = (
    "catalogue_track",
    "emotion_trackanalysis",
    "emotion_trackemotion",
    "emotion_curatorlabel",
    "emotion_moodmodelversion",
    "emotion_trainingrun",
    "listening_play",
    "listening_importjob",
    "recommender_recommendation",
    "recommender_moodsnapshot",
    "recommender_listenermoodstate",
    "users_user",
)


def test_every_list_says_what_its_search_covers_and_searches_it(admin_client, answered):
    for name in ADMIN_LISTS:
        url = reverse(f"admin:{name}_changelist")
        page = admin_client.get(url)
        assert page.status_code == 200, name
        admin_page = page.context["cl"].model_admin
        if admin_page.search_fields:
            assert admin_page.search_help_text, f"{name} searches without saying what"
            # Free text, also where a field wants a UUID, answers 200 (no match, no error).
            searched = admin_client.get(url, {"q": "no-such-thing"})
            assert searched.status_code == 200, name
            assert searched.context["cl"].result_count == 0, name
    theirs = admin_client.get(
        reverse("admin:recommender_recommendation_changelist"), {"q": "Q2 song"}
    )
    assert theirs.context["cl"].result_count >= 1


def test_beat_runs_are_listed_read_only(admin_client):
    started = timezone.now()
    BeatRun.objects.create(
        task_name="emotion.tasks.requeue_stalled_analyses",
        task_id="run-1",
        started_at=started,
        finished_at=started + timedelta(seconds=2),
        outcome=BeatRunOutcome.FAILED,
        error="database unavailable",
    )

    page = admin_client.get(reverse("admin:recommender_beatrun_changelist"))

    assert page.status_code == 200
    content = page.content.decode()
    assert "requeue_stalled_analyses" in content and "database unavailable" in content
    assert "2.0" in content
    assert admin_client.get(reverse("admin:recommender_beatrun_add")).status_code == 403
