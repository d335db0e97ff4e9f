"""Give every track already tagged its valence/arousal point, derived from its stored
probabilities (no model needed): tags of quadrant models get the expected quadrant centre,
others keep null. The next tagging by a model with a regression head replaces them."""

from django.db import migrations

BATCH_SIZE = 2000


def fill_points(apps, schema_editor):
    # Imported here, not at module level: loading migrations should not import torch.
    from emotion.ml.valence_arousal import SOURCE_QUADRANT_PROBABILITIES, point_from_distribution

    TrackEmotion = apps.get_model("emotion", "TrackEmotion")
    pending = TrackEmotion.objects.filter(valence__isnull=True).only("track_id", "probabilities")
    batch = []
    for emotion in pending.iterator(chunk_size=BATCH_SIZE):
        point = point_from_distribution(emotion.probabilities or {})
        if point is None:
            continue
        emotion.valence, emotion.arousal = point
        emotion.valence_arousal_source = SOURCE_QUADRANT_PROBABILITIES
        batch.append(emotion)
        if len(batch) >= BATCH_SIZE:
            TrackEmotion.objects.bulk_update(
                batch, ["valence", "arousal", "valence_arousal_source"]
            )
            batch = []
    TrackEmotion.objects.bulk_update(batch, ["valence", "arousal", "valence_arousal_source"])


class Migration(migrations.Migration):
    dependencies = [("emotion", "0003_track_valence_arousal")]

    operations = [migrations.RunPython(fill_points, migrations.RunPython.noop, elidable=True)]
