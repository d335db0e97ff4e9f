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
    every other row is inserted with exactly its values and comes back with its id."""
    import datetime as dt

    from common.sql_parameters import insert_skipping_conflicts
    from recommender.models import Recommendation
    from tests.factories import RecommendationFactory, TrackFactory

    listener = ListenerFactory()
    tracks = [TrackFactory(title=f'Sigur Rós "Hoppípolla" \\\\ ✓ {i}') for i in range(70)]
    RecommendationFactory(listener=listener, track=tracks[5])  # served by another request
    batch = uuid.uuid4()
    at = dt.datetime(2024, 2, 29, 23, 59, 59, 999_999, tzinfo=dt.UTC)
    rows = [
        Recommendation(
            listener=listener,
            track=track,
            song_key=track.song_key,
            batch=batch,
            rank=rank,
            policy="seed",
            target_label="Q1",
            target_confidence=None if rank % 2 else 0.1 + 0.2,
            track_probability=1 / (rank + 2),
            score=5e-324 if rank == 1 else 1e300 / rank,
            explanation={
                "rank": rank,
                "note": 'a "quoted" \\ value ✓',
                "point": {"valence": 1 / 3, "arousal": None},
                "empty": [],
            },
            created_at=at - dt.timedelta(microseconds=rank),
        )
        for rank, track in enumerate(tracks, start=1)
    ]

    with CaptureQueriesContext(connection) as queries:
        inserted = insert_skipping_conflicts(Recommendation, rows, key="rank")

    assert [row.rank for row in inserted] == [rank for rank in range(1, 71) if rank != 6]
    assert rows[5].pk is None and rows[5]._state.adding
    stored = {row.pk: row for row in Recommendation.objects.filter(batch=batch)}
    assert set(stored) == {row.pk for row in inserted}
    fields = [f.attname for f in Recommendation._meta.concrete_fields]
    for row in inserted:
        assert not row._state.adding
        assert {f: getattr(stored[row.pk], f) for f in fields} == {
            f: getattr(row, f) for f in fields
        }
    inserts = [q["sql"] for q in queries if q["sql"].startswith("INSERT")]
    # PostgreSQL: one statement, the same text whatever the rows (psycopg keeps it parsed).
    assert len(inserts) == (1 if connection.vendor == "postgresql" else 2)


def test_inserting_nothing_or_rows_with_ids_or_repeated_keys():
    from common.sql_parameters import insert_skipping_conflicts
    from recommender.models import Recommendation
    from tests.factories import RecommendationFactory

    assert insert_skipping_conflicts(Recommendation, [], key="rank") == []
    saved = RecommendationFactory()
    with pytest.raises(ValueError, match="primary key"):
        insert_skipping_conflicts(Recommendation, [saved], key="rank")
    twins = [RecommendationFactory.build(listener=saved.listener, track=saved.track)] * 2
    with pytest.raises(ValueError, match="not distinct"):
        insert_skipping_conflicts(Recommendation, twins, key="rank")
