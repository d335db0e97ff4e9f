"""The read-replica router, on two aliases of the same database: ``default`` and ``replica``
(as ``DATABASE_REPLICA_URL`` would add it, mirrored onto the test database)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from django.db import DEFAULT_DB_ALIAS, connections, router, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from common.db_routers import REPLICA_DB_ALIAS, ReadReplicaRouter, replica_reads
from listening.models import Play
from tests.conftest import client_for
from tests.factories import ListenerFactory, PlayFactory, TrackFactory


@pytest.fixture(scope="module")
def replica_alias(django_db_setup) -> Iterator[str]:
    """A second alias of the test database. Module-scoped, so it exists before the test's
    database access is set up (which checks the aliases it is given)."""
    default = connections[DEFAULT_DB_ALIAS].settings_dict
    connections.settings[REPLICA_DB_ALIAS] = {
        **default,
        "TEST": {**default["TEST"], "MIRROR": DEFAULT_DB_ALIAS},
    }
    try:
        yield REPLICA_DB_ALIAS
    finally:
        connections[REPLICA_DB_ALIAS].close()
        del connections[REPLICA_DB_ALIAS]
        del connections.settings[REPLICA_DB_ALIAS]


both_aliases = pytest.mark.django_db(
    transaction=True, databases=[DEFAULT_DB_ALIAS, REPLICA_DB_ALIAS]
)


def test_settings_route_through_the_router():
    from django.conf import settings

    assert "common.db_routers.ReadReplicaRouter" in settings.DATABASE_ROUTERS


def test_without_a_replica_everything_stays_on_default(db):
    assert REPLICA_DB_ALIAS not in connections.settings
    with replica_reads():
        assert router.db_for_read(Play) == DEFAULT_DB_ALIAS
        assert Play.objects.all().db == DEFAULT_DB_ALIAS


@both_aliases
def test_reads_of_a_read_path_go_to_the_replica_and_writes_to_default(replica_alias):
    assert router.db_for_read(Play) == DEFAULT_DB_ALIAS  # outside a read path
    with replica_reads():
        assert router.db_for_read(Play) == replica_alias
        assert router.db_for_write(Play) == DEFAULT_DB_ALIAS
        with (
            CaptureQueriesContext(connections[DEFAULT_DB_ALIAS]) as on_default,
            CaptureQueriesContext(connections[replica_alias]) as on_replica,
        ):
            play = PlayFactory()  # written on default, committed
            read_back = Play.objects.get(pk=play.pk)
            read_from = read_back._state.db
            read_back.ms_played = 1
            read_back.save()  # an object read from the replica is saved on default
    assert read_from == replica_alias
    assert [q["sql"].split()[0] for q in on_replica] == ["SELECT"]
    assert {q["sql"].split()[0] for q in on_default} >= {"INSERT", "UPDATE"}
    assert Play.objects.get(pk=play.pk).ms_played == 1


@both_aliases
def test_inside_a_transaction_reads_stay_on_default(replica_alias):
    with replica_reads(), transaction.atomic():
        play = PlayFactory()
        assert router.db_for_read(Play) == DEFAULT_DB_ALIAS
        assert Play.objects.filter(pk=play.pk).exists()  # its own write, not yet replicated


@both_aliases
def test_the_play_history_is_read_from_the_replica_and_submitting_uses_default(replica_alias):
    listener = ListenerFactory()
    client = client_for(listener)
    track = TrackFactory()
    played_at = (timezone.now() - dt.timedelta(hours=1)).isoformat()

    with CaptureQueriesContext(connections[replica_alias]) as on_replica:
        response = client.post(
            "/api/v1/plays/",
            {"plays": [{"track": track.pk, "played_at": played_at}]},
            format="json",
        )
    assert response.status_code == 200 and response.json()["accepted"] == 1
    assert len(on_replica) == 0

    with CaptureQueriesContext(connections[replica_alias]) as on_replica:
        listed = client.get("/api/v1/plays/").json()
    assert [item["track"] for item in listed["results"]] == [track.pk]
    assert any('"listening_play"' in q["sql"] for q in on_replica)


@both_aliases
def test_the_dashboards_numbers_are_read_from_the_replica_and_the_admin_session_not(
    replica_alias, client
):
    from tests.factories import StaffFactory

    PlayFactory()
    client.force_login(StaffFactory())
    with (
        CaptureQueriesContext(connections[DEFAULT_DB_ALIAS]) as on_default,
        CaptureQueriesContext(connections[replica_alias]) as on_replica,
    ):
        response = client.get("/admin/dashboard/")
    assert response.status_code == 200
    assert any('"listening_play"' in q["sql"] for q in on_replica)
    assert any('"catalogue_track"' in q["sql"] for q in on_replica)
    assert any('"django_session"' in q["sql"] for q in on_default)
    assert not any('"django_session"' in q["sql"] for q in on_replica)


def test_objects_of_both_aliases_may_be_related():
    class Stub:
        class _state:  # noqa: N801
            db = REPLICA_DB_ALIAS

    class Other:
        class _state:  # noqa: N801
            db = DEFAULT_DB_ALIAS

    assert ReadReplicaRouter().allow_relation(Stub, Other) is True
    assert ReadReplicaRouter().allow_migrate(REPLICA_DB_ALIAS, "listening") is False
    assert ReadReplicaRouter().allow_migrate(DEFAULT_DB_ALIAS, "listening") is None
