"""Give every stored mood snapshot its valence/arousal point, derived from its stored
distribution as for tracks (``emotion`` 0004, whose code this reuses): quadrant distributions
only, others null."""

import importlib

from django.db import migrations


def fill_points(apps, schema_editor):
    tracks = importlib.import_module("emotion.migrations.0004_fill_track_valence_arousal")
    tracks.fill_points_of(apps.get_model("recommender", "MoodSnapshot"), schema_editor)


class Migration(migrations.Migration):
    dependencies = [
        ("recommender", "0003_snapshot_valence_arousal"),
        ("emotion", "0004_fill_track_valence_arousal"),
    ]

    operations = [migrations.RunPython(fill_points, migrations.RunPython.noop, elidable=True)]
