"""bulk_create with JSON columns sent one parameter per row."""

from __future__ import annotations

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
