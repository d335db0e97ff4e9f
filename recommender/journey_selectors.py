"""Reads for emotion journeys: the candidate tracks around a path, a listener's journeys."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from django.db.models import F, FloatField, QuerySet
from django.db.models.expressions import ExpressionWrapper

from emotion.models import MoodModelVersion
from recommender.journey_planning import JourneyCandidate, Point
from recommender.models import Journey, JourneyItem
from recommender.selectors import unserved_track_tags
from users.models import User

# Tracks fetched per waypoint, nearest first. Neighbouring waypoints share most of theirs,
# so the pool the planner chooses from is larger than this for every step.
CANDIDATES_PER_WAYPOINT = 12


def journey_candidates(
    *,
    listener: User,
    version: MoodModelVersion,
    points: Sequence[Point],
    radius: float,
    played_since: dt.datetime,
    per_point: int = CANDIDATES_PER_WAYPOINT,
) -> list[JourneyCandidate]:
    """The ``per_point`` nearest tracks to each point within the square of half-width
    ``radius`` around it, among those that may be recommended to the listener
    (``unserved_track_tags``: no song already served, none played since ``played_since``).

    One round trip: a ``UNION ALL`` of one ordered, limited box query per point. Each box is
    a range scan of the (valence, arousal) index (``track_emotion_va``), so the cost grows
    with the tracks inside the boxes, not with the catalogue.
    """
    if not points:
        return []
    unserved = unserved_track_tags(listener=listener, version=version, played_since=played_since)
    columns = (
        "track_id",
        "track__song_key",
        "track__artist",
        "valence",
        "arousal",
        "label",
        "confidence",
    )
    queries = []
    for valence, arousal in points:
        squared_distance = ExpressionWrapper(
            (F("valence") - valence) * (F("valence") - valence)
            + (F("arousal") - arousal) * (F("arousal") - arousal),
            output_field=FloatField(),
        )
        queries.append(
            unserved.filter(
                valence__gte=valence - radius,
                valence__lte=valence + radius,
                arousal__gte=arousal - radius,
                arousal__lte=arousal + radius,
            )
            .annotate(squared_distance=squared_distance)
            .order_by("squared_distance", "track_id")
            .values_list(*columns)[:per_point]
        )
    rows = queries[0].union(*queries[1:], all=True) if len(queries) > 1 else queries[0]
    unique = {}
    for track_id, song_key, artist, valence, arousal, label, confidence in rows:
        unique[track_id] = JourneyCandidate(
            track_id=track_id,
            song_key=song_key,
            artist=artist,
            valence=valence,
            arousal=arousal,
            label=label,
            confidence=confidence,
        )
    return list(unique.values())


def listener_journey(*, listener: User, journey_id: int) -> Journey | None:
    """The listener's own journey; another listener's is indistinguishable from none."""
    return (
        Journey.objects.filter(listener=listener, pk=journey_id)
        .select_related("start_snapshot", "model_version")
        .first()
    )


def listener_journey_item(*, listener: User, journey_id: int, item_id: int) -> JourneyItem | None:
    return (
        JourneyItem.objects.filter(journey__listener=listener, journey_id=journey_id, pk=item_id)
        .select_related("journey", "recommendation", "track")
        .first()
    )


def journey_items(*, journey: Journey, include_replaced: bool = False) -> QuerySet[JourneyItem]:
    items = JourneyItem.objects.filter(journey=journey).select_related("track", "recommendation")
    if not include_replaced:
        items = items.filter(replaced=False)
    return items.order_by("position", "plan")
