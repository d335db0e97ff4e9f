"""The plays table keeps one index led by the listener (the composite), not two."""

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
    assert indexes["play_listener_time_track"] == ["listener_id", "played_at", "track_id"]
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
    assert "play_listener_time_track" in plan
    assert "play_listener_time_track" in cascade
