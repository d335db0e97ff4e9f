"""The plays table keeps one index led by the listener and one led by the track (composites),
not two of each, and they cover what mood inference and ranking count."""

from __future__ import annotations

import re

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


def test_no_index_of_the_track_alone_and_its_plays_are_counted_from_the_composite(listener):
    """Ranking's popularity count reads only columns of play_track_time, and PostgreSQL
    answers it from that index; the foreign key on the track stays."""
    import datetime as dt

    from django.utils import timezone

    from recommender.selectors import track_play_counts
    from tests.factories import PlayFactory

    constraints = play_constraints()
    indexes = {name: c["columns"] for name, c in constraints.items() if c["index"]}
    assert ["track_id"] not in indexes.values()
    assert indexes["play_track_time"] == ["track_id", "played_at"]
    if connection.vendor == "postgresql":
        assert any(
            c["foreign_key"] == ("catalogue_track", "id") and c["columns"] == ["track_id"]
            for c in constraints.values()
        )

    now = timezone.now()
    play = PlayFactory(listener=listener, played_at=now - dt.timedelta(days=1))
    PlayFactory(listener=listener, track=play.track, played_at=now - dt.timedelta(days=40))
    captured = []

    def capture(execute, sql, params, many, context):
        captured.append((sql, params))
        return execute(sql, params, many, context)

    since = now - dt.timedelta(days=30)
    with connection.execute_wrapper(capture):
        assert track_play_counts(track_ids=[play.track_id], since=since) == {play.track_id: 1}
    ((sql, params),) = captured
    assert set(re.findall(r'"listening_play"\."(\w+)"', sql)) == {"track_id", "played_at"}
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            # A tiny table would be scanned anyway; forbid that to see which index serves.
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("SET LOCAL enable_bitmapscan = off")
            cursor.execute("EXPLAIN " + sql, params)
            plan = "\n".join(row[0] for row in cursor.fetchall())
        assert "Index Only Scan using play_track_time" in plan
