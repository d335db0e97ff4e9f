"""Reads for emotion journeys: the candidate tracks around a path, a listener's journeys."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence

from django.db import connection
from django.db.models import F, FloatField, QuerySet
from django.db.models.expressions import ExpressionWrapper, RawSQL

from emotion.models import MoodModelVersion, TrackEmotion
from recommender.journey_planning import JourneyCandidate, Point
from recommender.models import Journey, JourneyItem
from recommender.selectors import unserved_track_tags
from users.models import User

# Tracks fetched per waypoint, nearest first. Neighbouring waypoints share some of theirs,
# so the pool the planner chooses from holds more than this for every step.
CANDIDATES_PER_WAYPOINT = 12
# Each round of the search widens the squares of the waypoints still short of candidates
# this many times.
WIDENING = 4.0


def tagged_tracks_estimate(*, version: MoodModelVersion) -> int:
    """About how many tracks carry a point: PostgreSQL's own row estimate of the tags table
    (free, refreshed by autovacuum), an exact count elsewhere (small embedded databases)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT reltuples FROM pg_class WHERE oid = %s::regclass",
                [TrackEmotion._meta.db_table],
            )
            row = cursor.fetchone()
        if row and row[0] and row[0] > 0:
            return int(row[0])
    return TrackEmotion.objects.filter(model_version=version).count()


def first_search_radius(*, tracks: int, per_point: int, largest: float) -> float:
    """The half-width of the first square searched around each waypoint: the one that holds
    about ``2 × per_point`` tracks if the points were spread evenly over [0.25, 0.75]², where
    derived points lie (a 2r square there holds 16 r² × tracks). Sparse regions widen it."""
    if tracks <= 0:
        return largest
    return min(largest, math.sqrt(2 * per_point / (16 * tracks)))


def journey_candidates(
    *,
    listener: User,
    version: MoodModelVersion,
    points: Sequence[Point],
    radius: float,
    played_since: dt.datetime,
    per_point: int = CANDIDATES_PER_WAYPOINT,
) -> list[JourneyCandidate]:
    """The ``per_point`` nearest tracks to each point, searched in squares around it no wider
    than ``radius`` (the max step), among those that may be recommended to the listener
    (``unserved_track_tags``: no song already served, none played since ``played_since``).

    Each round is one query on PostgreSQL (the squares joined ``LATERAL`` to the points),
    one query per point elsewhere; each square is a range scan of the (valence, arousal)
    index (``track_emotion_va``), so a round reads the tracks in and beside the squares, not
    the catalogue. The first squares
    are sized from the catalogue (``first_search_radius``); the points that found fewer than
    ``per_point`` tracks are searched again in squares ``WIDENING`` times wider, up to
    ``radius``. Usually one or two rounds.
    """
    if not points:
        return []
    unserved = unserved_track_tags(listener=listener, version=version, played_since=played_since)
    half_width = first_search_radius(
        tracks=tagged_tracks_estimate(version=version), per_point=per_point, largest=radius
    )
    found: dict[int, JourneyCandidate] = {}
    pending = list(range(len(points)))
    while pending:
        counts = dict.fromkeys(pending, 0)
        nearest = (
            _nearest_in_squares_lateral
            if connection.vendor == "postgresql"
            else _nearest_in_squares_per_point
        )
        for index, candidate in nearest(
            unserved, {i: points[i] for i in pending}, half_width, per_point
        ):
            counts[index] += 1
            found[candidate.track_id] = candidate
        if half_width >= radius:
            break
        pending = [i for i in pending if counts[i] < per_point]
        half_width = min(radius, half_width * WIDENING)
    return list(found.values())


CANDIDATE_COLUMNS = (
    "track_id",
    "track__song_key",
    "track__artist",
    "valence",
    "arousal",
    "label",
    "confidence",
)


def _nearest_in_squares_lateral(
    unserved: QuerySet, points: dict[int, Point], half_width: float, per_point: int
) -> list[tuple[int, JourneyCandidate]]:
    """One query on PostgreSQL: the waypoints as a ``VALUES`` list, each joined
    ``LATERAL`` to the square query of ``unserved`` around it. The ORM compiles the square
    query once and PostgreSQL plans it once, however many waypoints (a ``UNION ALL`` of one
    query per waypoint cost about 35 ms of compiling and 18 ms of planning for 20)."""

    def waypoint(column: str) -> RawSQL:
        return RawSQL(f"waypoint.{column}", [], output_field=FloatField())

    squared_distance = ExpressionWrapper(
        (F("valence") - waypoint("valence")) * (F("valence") - waypoint("valence"))
        + (F("arousal") - waypoint("arousal")) * (F("arousal") - waypoint("arousal")),
        output_field=FloatField(),
    )
    square = (
        unserved.filter(
            valence__gte=waypoint("valence") - waypoint("half_width"),
            valence__lte=waypoint("valence") + waypoint("half_width"),
            arousal__gte=waypoint("arousal") - waypoint("half_width"),
            arousal__lte=waypoint("arousal") + waypoint("half_width"),
        )
        .annotate(squared_distance=squared_distance)
        .order_by("squared_distance", "track_id")
        .values_list(*CANDIDATE_COLUMNS)[:per_point]
    )
    square_sql, square_params = square.query.sql_with_params()
    rows_sql = ", ".join(
        ["(%s::integer, %s::double precision, %s::double precision, %s::double precision)"]
        * len(points)
    )
    sql = (
        f"SELECT waypoint.number, nearest.* FROM (VALUES {rows_sql}) "
        "AS waypoint(number, valence, arousal, half_width) "
        f"CROSS JOIN LATERAL ({square_sql}) AS nearest"
    )
    params = [
        value
        for index, (valence, arousal) in points.items()
        for value in (index, valence, arousal, half_width)
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, *square_params])
        rows = cursor.fetchall()
    return [(row[0], _candidate(*row[1:])) for row in rows]


def _candidate(track_id, song_key, artist, valence, arousal, label, confidence):
    return JourneyCandidate(
        track_id=track_id,
        song_key=song_key,
        artist=artist,
        valence=valence,
        arousal=arousal,
        label=label,
        confidence=confidence,
    )


def _nearest_in_squares_per_point(
    unserved: QuerySet, points: dict[int, Point], half_width: float, per_point: int
) -> list[tuple[int, JourneyCandidate]]:
    """One ordered, limited square query per point elsewhere (SQLite: small embedded
    catalogues). SQLite has no ``LATERAL``, and Django refuses a ``UNION ALL`` of limited
    queries there ("LIMIT/OFFSET not allowed in subqueries of compound statements"); each
    query is an index range scan, so twenty of them stay cheap at embedded sizes."""
    found = []
    for index, (valence, arousal) in points.items():
        squared_distance = ExpressionWrapper(
            (F("valence") - valence) * (F("valence") - valence)
            + (F("arousal") - arousal) * (F("arousal") - arousal),
            output_field=FloatField(),
        )
        square = (
            unserved.filter(
                valence__gte=valence - half_width,
                valence__lte=valence + half_width,
                arousal__gte=arousal - half_width,
                arousal__lte=arousal + half_width,
            )
            .annotate(squared_distance=squared_distance)
            .order_by("squared_distance", "track_id")
            .values_list(*CANDIDATE_COLUMNS)[:per_point]
        )
        found.extend((index, _candidate(*row)) for row in square)
    return found


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
