"""Give every track already tagged its valence/arousal point, derived from its stored
probabilities (no model needed): tags of quadrant models get the expected quadrant centre,
others keep null. The next tagging by a model with a regression head replaces them.

On PostgreSQL one UPDATE in the database: the point is linear in the probabilities, and
fetching a million rows into Python to write them back is minutes where this is seconds.
Other databases (SQLite, the embedded default with its small catalogue) go through Python
with the same function tagging uses."""

from django.db import migrations


def derived_point_sql() -> tuple[str, str, str]:
    """SQL for the valence and arousal of a ``probabilities`` JSON column, and the condition
    that it holds exactly the four quadrants with a positive sum (the centres come from
    ``emotion.ml.valence_arousal``, so the formula has one definition)."""
    # Imported here, not at module level: loading migrations should not import torch.
    from emotion.ml.valence_arousal import QUADRANT_CENTRES

    def probability(label: str) -> str:
        return f"(probabilities->>'{label}')::double precision"

    total = " + ".join(probability(label) for label in QUADRANT_CENTRES)
    valence, arousal = (
        " + ".join(f"{centre[axis]!r} * {probability(label)}" for label, centre in QUADRANT_CENTRES.items())
        for axis in (0, 1)
    )
    labels = ", ".join(f"'{label}'" for label in QUADRANT_CENTRES)
    condition = (
        f"jsonb_typeof(probabilities) = 'object' AND probabilities ?& array[{labels}] "
        f"AND (SELECT count(*) FROM jsonb_object_keys(probabilities)) = {len(QUADRANT_CENTRES)} "
        f"AND ({total}) > 0"
    )
    return f"({valence}) / ({total})", f"({arousal}) / ({total})", condition


def fill_points_of(model, schema_editor) -> None:
    """Fill ``valence``/``arousal`` of ``model``'s rows (a TrackEmotion or MoodSnapshot) from
    their ``probabilities``."""
    from emotion.ml.valence_arousal import SOURCE_QUADRANT_PROBABILITIES

    if schema_editor.connection.vendor == "postgresql":
        valence, arousal, condition = derived_point_sql()
        schema_editor.execute(
            f"UPDATE {schema_editor.quote_name(model._meta.db_table)} SET valence = {valence}, "
            f"arousal = {arousal}, valence_arousal_source = %s "
            f"WHERE valence IS NULL AND {condition}",
            [SOURCE_QUADRANT_PROBABILITIES],
        )
        return
    fill_points_in_python(model, source=SOURCE_QUADRANT_PROBABILITIES)


def fill_points_in_python(model, *, source: str, batch_size: int = 2000) -> None:
    from emotion.ml.valence_arousal import point_from_distribution

    rows = model.objects.filter(valence__isnull=True).only("pk", "probabilities")
    changed = []
    for row in rows.iterator(chunk_size=batch_size):
        probabilities = row.probabilities
        try:
            point = isinstance(probabilities, dict) and point_from_distribution(probabilities)
        except ValueError:  # negative or all-zero probabilities: no point, as in the SQL
            point = None
        if point:
            row.valence, row.arousal = point
            row.valence_arousal_source = source
            changed.append(row)
    model.objects.bulk_update(
        changed, ["valence", "arousal", "valence_arousal_source"], batch_size=batch_size
    )


def fill_points(apps, schema_editor):
    fill_points_of(apps.get_model("emotion", "TrackEmotion"), schema_editor)


class Migration(migrations.Migration):
    dependencies = [("emotion", "0003_track_valence_arousal")]

    operations = [migrations.RunPython(fill_points, migrations.RunPython.noop, elidable=True)]
