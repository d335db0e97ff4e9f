"""POST /api/v1/journeys/, GET /api/v1/journeys/{id}/ and answering journey tracks."""

from __future__ import annotations

import itertools
import math

import pytest

from emotion.models import TrackEmotion
from recommender.journey_planning import estimated_mood, learned_reach, quadrant_of
from recommender.models import JourneyItem, Recommendation
from tests.conftest import client_for

pytestmark = pytest.mark.django_db

GRID = (0.1, 0.26, 0.42, 0.58, 0.74, 0.9)


@pytest.fixture
def plane_catalogue(mood_catalogue):
    """The 40 tagged tracks moved onto points spread over the plane: a 6 × 6 grid (spacing
    0.16) and four near the middle. Their labels stay the model's."""
    tracks = [track for label_tracks in mood_catalogue.values() for track in label_tracks]
    points = [*itertools.product(GRID, GRID), (0.5, 0.47), (0.47, 0.53), (0.53, 0.5), (0.5, 0.5)]
    for track, (valence, arousal) in zip(tracks, points, strict=True):
        TrackEmotion.objects.filter(track=track).update(valence=valence, arousal=arousal)
    return {track.pk: point for track, point in zip(tracks, points, strict=True)}


def plan(client, **payload):
    return client.post("/api/v1/journeys/", payload, format="json")


def answer(client, journey_id: int, item_id: int, action: str):
    return client.post(
        f"/api/v1/journeys/{journey_id}/items/{item_id}/feedback", {"action": action}, format="json"
    )


def point_of(item: dict) -> tuple[float, float]:
    return (item["valence_arousal"]["valence"], item["valence_arousal"]["arousal"])


def test_a_journey_starts_at_the_start_and_ends_in_the_target_region(
    plane_catalogue, listener_client
):
    length = 16  # long enough for the mood to reach Q1 on this sparse grid
    response = plan(listener_client, start="Q3", target="Q1", length=length)

    assert response.status_code == 201, response.content
    body = response.json()
    items = body["items"]
    assert [item["position"] for item in items] == list(range(1, length + 1))
    # The first track is the one nearest to the start, Q3's centre (0.25, 0.25).
    assert point_of(items[0]) == (0.26, 0.26)
    assert quadrant_of(point_of(items[-1])) == "Q1"
    assert body["progress"]["reaches_target"] is True
    assert body["notice"] is None
    assert all(item["step"] <= body["max_step"] for item in items)
    # Paced: the second waypoint lies the first reach (half a max step) beyond the mood the
    # first track leaves, towards Q1's centre.
    mood = estimated_mood(start=(0.25, 0.25), accepted=[point_of(items[0])])
    second = items[1]["waypoint"]
    assert math.dist((second["valence"], second["arousal"]), mood) == pytest.approx(
        body["max_step"] / 2
    )
    assert items[0]["reason"] == f"step 1 of {length}: matching how you feel now (sad)"
    assert items[1]["reason"].startswith(f"step 2 of {length}: happier and more energetic")
    assert items[-1]["reason"].endswith("arriving at happy")
    # Each track was served as a recommendation.
    served = Recommendation.objects.filter(pk__in=[item["recommendation"] for item in items])
    assert {r.policy for r in served} == {"journey"} and served.count() == length


def test_an_accept_repaces_the_rest_from_the_accepted_tracks(plane_catalogue, listener_client):
    body = plan(listener_client, start="Q3", target="Q1", length=8).json()
    journey_id, items = body["id"], body["items"]

    result = answer(listener_client, journey_id, items[0]["id"], "accept").json()

    assert result["changed"] is True and result["replanned"] is True
    after = result["journey"]["items"]
    assert [item["plan"] for item in after] == [0] + [1] * 7
    # The mood is taken to have moved a share of the way to the accepted track, and the
    # next waypoint lies the reach one accept has earned beyond it.
    mood = estimated_mood(start=(0.25, 0.25), accepted=[point_of(after[0])])
    waypoint = (after[1]["waypoint"]["valence"], after[1]["waypoint"]["arousal"])
    assert math.dist(mood, waypoint) == pytest.approx(
        learned_reach(answers=[True], max_step=result["journey"]["max_step"])
    )
    assert result["journey"]["progress"]["replans"] == 1


def test_the_start_defaults_to_the_current_mood(sad_listener, plane_catalogue, settings):
    # The grid's spacing is 0.16: an eased path's last two waypoints share the nearest point.
    settings.JOURNEY_TARGET_RADIUS = 0.15
    client = client_for(sad_listener)
    body = plan(client, target={"valence": 0.8, "arousal": 0.3}, length=20, curve="ease").json()

    snapshot = sad_listener.mood_snapshots.first()
    assert body["start"]["mood_snapshot"] == snapshot.pk
    assert (body["start"]["valence"], body["start"]["arousal"]) == pytest.approx(
        (snapshot.valence, snapshot.arousal)
    )
    assert body["curve"] == "ease"
    where = f"at {snapshot.valence:.2f}, {snapshot.arousal:.2f})"
    assert body["items"][0]["reason"].startswith("step 1 of 20: matching how you feel now (")
    assert body["items"][0]["reason"].endswith(where)
    assert body["target"]["radius"] == pytest.approx(0.15)
    # The path reaches the target (the sparse grid soon has no track left near it).
    assert min(math.dist(point_of(item), (0.8, 0.3)) for item in body["items"]) <= 0.15


def test_no_song_repeats_within_a_journey_or_against_earlier_recommendations(
    sad_listener, plane_catalogue
):
    client = client_for(sad_listener)
    recommended = client.get("/api/v1/recommendations/", {"limit": 10}).json()["results"]
    first = plan(client, start="Q2", target="Q4", length=8).json()["items"]
    second = plan(client, start="Q2", target="Q4", length=8).json()["items"]

    recommended_ids = {item["track"]["id"] for item in recommended}
    first_ids = [item["track"]["id"] for item in first]
    second_ids = [item["track"]["id"] for item in second]
    assert len(first_ids) == len(set(first_ids)) == 8
    assert len(second_ids) == len(set(second_ids)) and second_ids
    assert not recommended_ids & set(first_ids)
    assert not set(first_ids) & set(second_ids)
    assert not recommended_ids & set(second_ids)
    # The two tracks the listener played this week are not served either.
    played = {play.track_id for play in sad_listener.plays.all()}
    assert not played & set(first_ids + second_ids)


def test_a_reject_replans_the_rest_away_from_the_rejected_region(
    plane_catalogue, listener_client, settings
):
    settings.JOURNEY_REJECT_RADIUS = 0.1  # the four tracks near the middle
    # More than any difference in closeness: the region is avoided while anything else fits.
    settings.JOURNEY_REJECT_PENALTY = 2.0
    body = plan(listener_client, start="Q3", target="Q1", length=6).json()
    journey_id, items = body["id"], body["items"]
    for position in (0, 1):
        response = answer(listener_client, journey_id, items[position]["id"], "accept")
        assert response.status_code == 200
        items = response.json()["journey"]["items"]
    rejected = items[2]
    rejected_point = point_of(rejected)
    response = answer(listener_client, journey_id, rejected["id"], "reject")

    assert response.status_code == 200, response.content
    result = response.json()
    assert result["changed"] is True and result["replanned"] is True
    assert result["item"]["feedback"] == "reject"
    after = result["journey"]["items"]
    assert [item["position"] for item in after] == [1, 2, 3, 4, 5, 6]
    assert [item["plan"] for item in after] == [0, 1, 2, 3, 3, 3]
    assert after[2]["feedback"] == "reject"
    for item in after[3:]:
        assert math.dist(point_of(item), rejected_point) > 0.1
    # A reject shrinks the reach: the next waypoint lies the reach the answers (accept,
    # accept, reject) have left beyond the mood the two accepted tracks place the listener at.
    mood = estimated_mood(start=(0.25, 0.25), accepted=[point_of(after[0]), point_of(after[1])])
    waypoint = (after[3]["waypoint"]["valence"], after[3]["waypoint"]["arousal"])
    reach = learned_reach(answers=[True, True, False], max_step=result["journey"]["max_step"])
    assert reach < learned_reach(answers=[True, True], max_step=result["journey"]["max_step"])
    assert math.dist(mood, waypoint) == pytest.approx(reach)
    assert all(item["step"] <= result["journey"]["max_step"] for item in after)
    # From the last accepted track, not the rejected one.
    assert math.dist(point_of(after[3]), point_of(after[1])) == pytest.approx(after[3]["step"])
    assert result["journey"]["progress"] == {
        "planned": 6,
        "answered": 3,
        "accepted": 2,
        "rejected": 1,
        "next_position": 4,
        "complete": False,
        # Six paced tracks from Q3 may stop short of Q1; the flag says so either way.
        "reaches_target": quadrant_of(point_of(after[-1])) == "Q1",
        "replans": 3,
    }
    # The replaced tracks are kept as replaced; their unanswered recommendations are gone.
    replaced = JourneyItem.objects.filter(journey_id=journey_id, replaced=True)
    assert replaced.count() == 5 + 4 + 3
    assert not Recommendation.objects.filter(
        pk__in=[item["recommendation"] for item in items[3:]]
    ).exists()
    # GET shows the same journey, progress included.
    fetched = listener_client.get(f"/api/v1/journeys/{journey_id}/").json()
    assert fetched["items"] == after and fetched["progress"] == result["journey"]["progress"]
    # A replaced item can no longer be answered.
    stale = answer(listener_client, journey_id, replaced.first().pk, "accept")
    assert stale.status_code == 409


def test_answers_are_idempotent_and_cannot_change(plane_catalogue, listener_client):
    body = plan(listener_client, start="Q1", target="Q4", length=5).json()
    item = body["items"][0]

    first = answer(listener_client, body["id"], item["id"], "accept")
    again = answer(listener_client, body["id"], item["id"], "accept")
    other = answer(listener_client, body["id"], item["id"], "reject")

    assert first.json()["changed"] is True and first.json()["replanned"] is True
    assert again.status_code == 200 and again.json()["changed"] is False
    assert other.status_code == 409
    assert other.json()["error"]["status"] == 409


@pytest.mark.parametrize(
    ("payload", "field", "message"),
    [
        ({"target": "Q9", "length": 5}, "target", "unknown emotion 'Q9'"),
        ({"target": "happy", "length": 5}, "target", "unknown emotion 'happy'"),
        ({"target": {"valence": 1.2, "arousal": 0.5}, "length": 5}, "target", "[0, 1]"),
        ({"target": {"valence": 0.5, "arousal": -0.1}, "length": 5}, "target", "[0, 1]"),
        ({"target": {"valence": 0.5}, "length": 5}, "target", "give a quadrant"),
        ({"target": {"valence": "x", "arousal": 0.5}, "length": 5}, "target", "[0, 1]"),
        ({"target": "Q1", "length": 5, "start": {"valence": 2, "arousal": 0}}, "start", "[0, 1]"),
        ({"target": "Q1", "length": 4}, "length", "between 5 and 50"),
        ({"target": "Q1", "length": 51}, "length", "between 5 and 50"),
        ({"target": "Q1", "length": 5, "curve": "zigzag"}, "curve", "zigzag"),
        ({"length": 5}, "target", "required"),
        (
            {"target": "Q1", "start": "Q3", "length": 5, "max_step": 0.05},
            "length",
            "more than the largest step allowed",
        ),
    ],
)
def test_bad_input_gets_a_clear_400(plane_catalogue, listener_client, payload, field, message):
    response = plan(listener_client, **payload)

    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["status"] == 400
    assert message in error["details"][field][0]
    assert not Recommendation.objects.exists()


def test_another_listeners_journey_is_404(plane_catalogue, listener_client, other_listener):
    body = plan(listener_client, start="Q2", target="Q4", length=5).json()
    stranger = client_for(other_listener)

    assert stranger.get(f"/api/v1/journeys/{body['id']}/").status_code == 404
    response = answer(stranger, body["id"], body["items"][0]["id"], "reject")
    assert response.status_code == 404
    assert response.json()["error"]["status"] == 404
    assert listener_client.get("/api/v1/journeys/999999/").status_code == 404
    # An item id under another journey id is not found either.
    mine = plan(listener_client, start="Q3", target="Q1", length=5).json()
    assert answer(listener_client, mine["id"], body["items"][0]["id"], "accept").status_code == 404


def test_a_sparse_catalogue_gives_a_shorter_journey_with_a_notice(plane_catalogue, listener_client):
    body = plan(listener_client, start="Q3", target="Q1", length=5, max_step=0.2).json()
    first = len(body["items"])
    # Everything near the path is now served: the next journey has to stop short.
    again = plan(listener_client, start="Q3", target="Q1", length=5, max_step=0.2).json()
    assert first == 5
    assert len(again["items"]) < 5
    assert again["notice"]["code"] == "short_journey"


def test_journeys_need_an_active_model(listener_client, db):
    length = 16  # long enough for the mood to reach Q1 on this sparse grid
    response = plan(listener_client, start="Q3", target="Q1", length=length)
    assert response.status_code == 503


def test_the_lateral_and_the_portable_candidate_queries_agree(plane_catalogue, listener):
    import datetime as dt

    from django.db import connection
    from django.utils import timezone

    if connection.vendor != "postgresql":
        pytest.skip("LATERAL is PostgreSQL's; elsewhere only the per-point queries run")

    from emotion.models import MoodModelVersion
    from recommender.journey_selectors import (
        _nearest_in_squares_lateral,
        _nearest_in_squares_per_point,
    )
    from recommender.selectors import unserved_track_tags

    unserved = unserved_track_tags(
        listener=listener,
        version=MoodModelVersion.objects.get(is_active=True),
        played_since=timezone.now() - dt.timedelta(days=7),
    )
    points = {0: (0.3, 0.3), 3: (0.5, 0.5), 7: (0.9, 0.12)}

    lateral = _nearest_in_squares_lateral(unserved, points, 0.2, 3)
    portable = _nearest_in_squares_per_point(unserved, points, 0.2, 3)

    assert sorted((i, c.track_id) for i, c in lateral) == sorted(
        (i, c.track_id) for i, c in portable
    )
    nearest_to_middle = [c.point for i, c in lateral if i == 3]
    assert nearest_to_middle[0] == (0.5, 0.5) and len(nearest_to_middle) == 3
