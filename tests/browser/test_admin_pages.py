"""The listener, track and list pages in a real browser: charts with content, no server
error, and lists that fit a 1,280-px window (the browser's window size, see conftest)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from emotion.models import CuratorLabel, TrainingRun, TrainingRunStatus
from recommender.journeys import PointSpec, plan_journey
from recommender.models import MoodSnapshot
from recommender.services import recommend_tracks, record_feedback
from tests.factories import ImportJobFactory, ListenerFactory, PlayFactory
from tests.recommender import conftest as recommender_fixtures

# The active model and its tagged catalogue, shared with the recommender tests.
trained_mood_model = recommender_fixtures.trained_mood_model
active_model = recommender_fixtures.active_model
mood_catalogue = recommender_fixtures.mood_catalogue

LIST_PAGES = (
    "admin:catalogue_track_changelist",
    "admin:emotion_trackanalysis_changelist",
    "admin:emotion_trackemotion_changelist",
    "admin:emotion_curatorlabel_changelist",
    "admin:emotion_moodmodelversion_changelist",
    "admin:emotion_trainingrun_changelist",
    "admin:listening_play_changelist",
    "admin:listening_importjob_changelist",
    "admin:recommender_recommendation_changelist",
    "admin:recommender_moodsnapshot_changelist",
    "admin:recommender_listenermoodstate_changelist",
    "admin:recommender_journey_changelist",
    "admin:users_user_changelist",
)

# The table's width against the window's and against the box that holds it: the admin's
# ``.results`` box scrolls sideways (overflow-x: auto), so a wider table is cut off there.
RESULT_TABLE_WIDTH_JS = """
const table = document.querySelector('#result_list');
if (!table) return null;
return [table.scrollWidth, Math.min(window.innerWidth, table.parentElement.clientWidth)];
"""


@pytest.fixture
def busy_listener(mood_catalogue, active_model):
    """A listener with plays, mood snapshots and answered recommendations; long titles too."""
    listener = ListenerFactory(username="listener-with-a-rather-long-name")
    for track in mood_catalogue["Q2"][:3]:
        PlayFactory(listener=listener, track=track)
    for round_number in range(3):
        page = recommend_tracks(listener=listener, limit=3)
        action = "accept" if round_number % 2 else "reject"
        record_feedback(recommendation=page.recommendations[0], action=action)
    track = mood_catalogue["Q1"][0]
    track.title = "A very long title of a track that goes on and on " * 3
    track.album = "An album with an equally long name to test truncation " * 2
    track.save()
    CuratorLabel.objects.create(track=track, label="Q1", note="bright and busy " * 10)
    TrainingRun.objects.create(
        status=TrainingRunStatus.FAILED,
        stage="failed",
        outcome="too few labelled artists for both sides to hold every emotion",
    )
    ImportJobFactory(listener=listener, original_name="a-long-export-file-name-" * 4 + ".json")
    plan_journey(
        listener=listener,
        target=PointSpec(valence=0.9, arousal=0.1),
        start=PointSpec(valence=0.2, arousal=0.8),
        length=8,
    )
    return listener


def test_listener_and_track_pages_show_their_charts(admin_browser, busy_listener, mood_catalogue):
    assert MoodSnapshot.objects.filter(listener=busy_listener).count() >= 2

    admin_browser.open(reverse("admin:users_user_change", args=[busy_listener.pk]))
    [mood] = admin_browser.assert_charts()
    assert "mood of listener-with-a-rather-long-name" in mood.get_attribute("alt")

    track = mood_catalogue["Q1"][0]
    admin_browser.open(reverse("admin:catalogue_track_change", args=[track.pk]))
    [segments] = admin_browser.assert_charts()
    assert "LLDs and model evidence" in segments.get_attribute("alt")
    assert "attention" in admin_browser.driver.page_source


def test_every_changed_list_fits_1280_px_and_detail_pages_open(admin_browser, busy_listener):
    for name in LIST_PAGES:
        admin_browser.open(reverse(name))
        widths = admin_browser.driver.execute_script(RESULT_TABLE_WIDTH_JS)
        assert widths is not None, f"{name} shows no result table"
        table_width, window_width = widths
        assert table_width <= window_width, f"{name}: {table_width} px in {window_width} px"

    recommendation = busy_listener.recommendations.exclude(feedback="").first()
    snapshot = busy_listener.mood_snapshots.first()
    for path in (
        reverse("admin:recommender_recommendation_change", args=[recommendation.pk]),
        reverse("admin:recommender_moodsnapshot_change", args=[snapshot.pk]),
        reverse("admin:emotion_moodmodelversion_change", args=[recommendation.model_version_id]),
        reverse("admin:emotion_trainingrun_change", args=[TrainingRun.objects.get().pk]),
        reverse("admin:recommender_listenermoodstate_change", args=[busy_listener.pk]),
        reverse("admin:recommender_journey_change", args=[busy_listener.journeys.get().pk]),
        reverse("admin:emotion_trainingrun_add"),
    ):
        admin_browser.open(path)
