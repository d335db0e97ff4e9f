"""bulk_create with JSON columns sent one parameter per row."""

from __future__ import annotations

import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from common.sql_parameters import bulk_create_with_json_parameters
from recommender.models import ListenerMoodState
from tests.factories import ListenerFactory

pytestmark = pytest.mark.django_db


def test_rows_are_stored_as_given_and_the_objects_keep_their_plain_values():
    feedback = [{"Q1": {"accept": i, "reject": 1}, "note": 'a "quoted" \\ value'} for i in range(3)]
    states = [
        ListenerMoodState(
            listener=ListenerFactory(username=f"bulk-json-{i}"),
            rejected_labels=["Q2"] * i,
            label_feedback=feedback[i],
        )
        for i in range(3)
    ]

    with CaptureQueriesContext(connection) as queries:
        bulk_create_with_json_parameters(
            ListenerMoodState, states, json_fields=("rejected_labels", "label_feedback")
        )

    assert [state.label_feedback for state in states] == feedback
    assert [state.rejected_labels for state in states] == [["Q2"] * i for i in range(3)]
    stored = ListenerMoodState.objects.order_by("listener__username")
    assert [state.label_feedback for state in stored] == feedback
    assert [state.rejected_labels for state in stored] == [["Q2"] * i for i in range(3)]
    (insert,) = [q["sql"] for q in queries if q["sql"].startswith("INSERT")]
    # Django 5.2 would send each column as one array (UNNEST) on PostgreSQL without it.
    assert "UNNEST" not in insert.upper()


def test_inserts_skipping_conflicts_return_the_rows_inserted_with_their_ids():
    """More rows than one SQLite statement takes (999 parameters), one of which conflicts:
    every other row is inserted, comes back with its id, and keeps its plain JSON value."""
    from django.utils import timezone

    from common.sql_parameters import insert_skipping_conflicts
    from recommender.models import Recommendation
    from tests.factories import RecommendationFactory, TrackFactory

    listener = ListenerFactory()
    tracks = TrackFactory.create_batch(70)
    RecommendationFactory(listener=listener, track=tracks[5])  # served by another request
    batch = uuid.uuid4()
    rows = [
        Recommendation(
            listener=listener,
            track=track,
            song_key=track.song_key,
            batch=batch,
            rank=rank,
            policy="seed",
            target_label="Q1",
            track_probability=0.5,
            score=0.5,
            explanation={"rank": rank, "note": 'a "quoted" value'},
            created_at=timezone.now(),
        )
        for rank, track in enumerate(tracks, start=1)
    ]

    inserted = insert_skipping_conflicts(
        Recommendation, rows, json_fields=("explanation",), key="rank"
    )

    assert [row.rank for row in inserted] == [rank for rank in range(1, 71) if rank != 6]
    stored = {row.pk: row for row in Recommendation.objects.filter(batch=batch)}
    assert set(stored) == {row.pk for row in inserted}
    for row in inserted:
        assert not row._state.adding
        assert stored[row.pk].track_id == row.track_id
        assert (
            stored[row.pk].explanation
            == row.explanation
            == {"rank": row.rank, "note": 'a "quoted" value'}
        )
    assert rows[5].pk is None
