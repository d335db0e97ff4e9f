"""Give every stored mood snapshot its valence/arousal point, derived from its stored
distribution as for tracks (``emotion`` 0004): quadrant distributions only, others null."""

from django.db import migrations

BATCH_SIZE = 2000


def fill_points(apps, schema_editor):
    # Imported here, not at module level: loading migrations should not import torch.
    from emotion.ml.valence_arousal import SOURCE_QUADRANT_PROBABILITIES, point_from_distribution

    MoodSnapshot = apps.get_model("recommender", "MoodSnapshot")
    pending = MoodSnapshot.objects.filter(valence__isnull=True).only("id", "probabilities")
    batch = []
    for snapshot in pending.iterator(chunk_size=BATCH_SIZE):
        point = point_from_distribution(snapshot.probabilities or {})
        if point is None:
            continue
        snapshot.valence, snapshot.arousal = point
        snapshot.valence_arousal_source = SOURCE_QUADRANT_PROBABILITIES
        batch.append(snapshot)
        if len(batch) >= BATCH_SIZE:
            MoodSnapshot.objects.bulk_update(
                batch, ["valence", "arousal", "valence_arousal_source"]
            )
            batch = []
    MoodSnapshot.objects.bulk_update(batch, ["valence", "arousal", "valence_arousal_source"])


class Migration(migrations.Migration):
    dependencies = [
        ("recommender", "0003_snapshot_valence_arousal"),
        ("emotion", "0004_fill_track_valence_arousal"),
    ]

    operations = [migrations.RunPython(fill_points, migrations.RunPython.noop, elidable=True)]
