"""Give every track already tagged its valence/arousal point, derived from its stored
probabilities (no model needed): tags of quadrant models get the expected quadrant centre,
others keep null. The next tagging by a model with a regression head replaces them.

One UPDATE in the database: the point is linear in the probabilities, and fetching a million
rows into Python to write them back is minutes where this is seconds."""

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


def fill_points_of(table: str, schema_editor) -> None:
    from emotion.ml.valence_arousal import SOURCE_QUADRANT_PROBABILITIES

    valence, arousal, condition = derived_point_sql()
    schema_editor.execute(
        f"UPDATE {schema_editor.quote_name(table)} SET valence = {valence}, "
        f"arousal = {arousal}, valence_arousal_source = %s "
        f"WHERE valence IS NULL AND {condition}",
        [SOURCE_QUADRANT_PROBABILITIES],
    )


def fill_points(apps, schema_editor):
    fill_points_of(apps.get_model("emotion", "TrackEmotion")._meta.db_table, schema_editor)


class Migration(migrations.Migration):
    dependencies = [("emotion", "0003_track_valence_arousal")]

    operations = [migrations.RunPython(fill_points, migrations.RunPython.noop, elidable=True)]
