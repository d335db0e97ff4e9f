"""Tagging tracks with the active mood model, in batches on the inference queue."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from emotion.ml import tag_tracks
from emotion.models import MoodModelVersion, TrackEmotion
from emotion.selectors import (
    active_model_version,
    current_analyses,
    feature_sequences,
    load_mood_model,
)

logger = logging.getLogger(__name__)


def request_catalogue_tagging(*, version: MoodModelVersion) -> None:
    """After commit, queue the re-tagging of every analysed track with ``version``."""
    from emotion.tasks import tag_catalogue

    version_id = version.pk
    transaction.on_commit(lambda: tag_catalogue.delay(version_id))


def request_track_tagging(*, track_ids: Sequence[int]) -> None:
    """After commit, queue tagging of freshly analysed tracks with the active model."""
    from emotion.tasks import tag_track_batch

    version = active_model_version()
    if version is None or not track_ids:
        return
    version_id, ids = version.pk, list(track_ids)
    transaction.on_commit(lambda: tag_track_batch.delay(version_id, ids))


def queue_catalogue_tagging_batches(*, version: MoodModelVersion) -> int:
    """Split the analysed catalogue into batches, one inference task each; returns the count.

    Batches keep each task short (a worker restart loses at most one batch) and let several
    inference workers share a re-tag.
    """
    from emotion.tasks import tag_track_batch

    batch_size = settings.MOOD_TAGGING_BATCH_SIZE
    track_ids = list(current_analyses().order_by("track_id").values_list("track_id", flat=True))
    batches = [track_ids[i : i + batch_size] for i in range(0, len(track_ids), batch_size)]
    for batch in batches:
        tag_track_batch.delay(version.pk, batch)
    logger.info(
        "queued catalogue tagging",
        extra={"version": version.pk, "tracks": len(track_ids), "batches": len(batches)},
    )
    return len(batches)


def tag_tracks_with_model(*, version: MoodModelVersion, track_ids: Sequence[int]) -> int:
    """Tag the given tracks with ``version``; returns how many were tagged.

    A batch for a version that is no longer active is dropped: the newer activation queued its
    own batches, and writing the older model's tags would mix versions in the catalogue.
    Tracks without current features are skipped; their analysis will queue them again.
    """
    if not MoodModelVersion.objects.filter(pk=version.pk, is_active=True).exists():
        return 0
    sequences = feature_sequences(track_ids=track_ids)
    if not sequences:
        return 0
    model = load_mood_model(version=version)
    ids = list(sequences)
    predictions = tag_tracks(model, [sequences[i] for i in ids], batch_size=256)
    now = timezone.now()
    TrackEmotion.objects.bulk_create(
        [
            TrackEmotion(
                track_id=track_id,
                model_version=version,
                label=prediction.label,
                confidence=prediction.confidence,
                probabilities=prediction.probabilities,
                valence=prediction.valence,
                arousal=prediction.arousal,
                valence_arousal_source=prediction.valence_arousal_source or "",
                tagged_at=now,
            )
            for track_id, prediction in zip(ids, predictions, strict=True)
        ],
        update_conflicts=True,
        unique_fields=["track"],
        update_fields=[
            "model_version",
            "label",
            "confidence",
            "probabilities",
            "valence",
            "arousal",
            "valence_arousal_source",
            "tagged_at",
        ],
    )
    return len(ids)
