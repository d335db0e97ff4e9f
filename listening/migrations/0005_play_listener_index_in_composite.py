"""Drop the index Django gave ``Play.listener`` as a foreign key: ``play_listener_time_track``
(listener, played_at, track) starts with the listener and serves every lookup by it.

Only the index goes. Django's own AlterField would also drop and re-add the foreign key,
which re-checks every play under a lock; here the constraint stays as it is, and on
PostgreSQL the index is dropped CONCURRENTLY, so plays keep arriving meanwhile.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

TABLE = "listening_play"
COLUMN = "listener_id"


def _index_name(schema_editor) -> str:
    # The name Django gave the foreign key's index (what AlterField would drop).
    return schema_editor._create_index_name(TABLE, [COLUMN], suffix="")


def _concurrently(schema_editor) -> str:
    return "CONCURRENTLY " if schema_editor.connection.vendor == "postgresql" else ""


def drop_listener_index(apps, schema_editor) -> None:
    name = schema_editor.quote_name(_index_name(schema_editor))
    schema_editor.execute(f"DROP INDEX {_concurrently(schema_editor)}IF EXISTS {name}")


def create_listener_index(apps, schema_editor) -> None:
    name = schema_editor.quote_name(_index_name(schema_editor))
    schema_editor.execute(
        f"CREATE INDEX {_concurrently(schema_editor)}IF NOT EXISTS {name} "
        f"ON {schema_editor.quote_name(TABLE)} ({schema_editor.quote_name(COLUMN)})"
    )


class Migration(migrations.Migration):
    # CONCURRENTLY cannot run inside a transaction.
    atomic = False

    dependencies = [
        ("listening", "0004_play_received_index"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="play",
                    name="listener",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="plays",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            database_operations=[
                migrations.RunPython(drop_listener_index, create_listener_index),
            ],
        ),
    ]
