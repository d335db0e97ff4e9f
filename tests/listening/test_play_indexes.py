"""The plays table keeps one index led by the listener (the composite), not two, and it
covers what mood inference counts."""

from __future__ import annotations

import pytest
from django.db import connection

from listening.models import Play
from listening.selectors import list_plays


def play_constraints() -> dict:
    with connection.cursor() as cursor:
        return connection.introspection.get_constraints(cursor, Play._meta.db_table)


def test_no_index_of_the_listener_alone_and_the_foreign_key_stays(db):
    constraints = play_constraints()
    indexes = {name: c["columns"] for name, c in constraints.items() if c["index"]}
    assert ["listener_id"] not in indexes.values()
    # PostgreSQL lists the INCLUDE column too; SQLite has none.
    covered = ["chosen_by_user"] if connection.vendor == "postgresql" else []
    assert indexes["play_listener_time_chosen"] == [
        "listener_id",
        "played_at",
        "track_id",
        *covered,
    ]
    if connection.vendor == "postgresql":  # SQLite's introspection names no foreign keys
        assert any(
            c["foreign_key"] == ("users_user", "id") and c["columns"] == ["listener_id"]
            for c in constraints.values()
        )


def test_a_listeners_plays_are_found_through_the_composite_index(listener):
    if connection.vendor != "postgresql":
        pytest.skip("EXPLAIN's output is PostgreSQL's")
    with connection.cursor() as cursor:
        # An empty table would be scanned anyway; forbid that to see which index serves.
        cursor.execute("SET LOCAL enable_seqscan = off")
        plan = list_plays(listener=listener).explain()
        cascade = Play.objects.filter(listener_id=listener.pk).only("id").explain()
    assert "play_listener_time_chosen" in plan
    assert "play_listener_time_chosen" in cascade


def test_a_batchs_top_tracks_read_only_columns_the_index_holds(listener):
    """Mood inference's query can be answered by an index-only scan: it reads no column of
    the plays table that play_listener_time_chosen lacks (COUNT(*), not COUNT(id))."""
    import re

    from django.conf import settings
    from django.utils import timezone

    from listening.selectors import most_played_tracks_of_listeners

    now = timezone.now()
    captured = []

    def capture(execute, sql, params, many, context):
        captured.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(capture):
        most_played_tracks_of_listeners(
            listener_ids=[listener.pk],
            since=now - timezone.timedelta(days=7),
            until=now,
            limit=settings.MOOD_TOP_K,
            own_choices_only=True,
        )
    ((sql,),) = [captured]
    read = set(re.findall(r'"listening_play"\."(\w+)"', sql))
    assert read == {"listener_id", "played_at", "track_id", "chosen_by_user"}
    index = next(i for i in Play._meta.indexes if i.name == "play_listener_time_chosen")
    held = {Play._meta.get_field(name).column for name in [*index.fields, *index.include]}
    assert read <= held
