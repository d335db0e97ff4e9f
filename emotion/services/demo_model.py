"""The demo mood model: a small model on the curator-labelled demo catalogue (``seed_demo``).

It exists so a fresh installation can recommend at once. Like a training run's model it shows
held-out metrics: it holds out the same artists as training runs (``stable_artist_holdout``
at ``MOOD_MODEL_HOLDOUT_FRACTION``, so a later run compares with it on artists it never saw),
every emotion on both sides (the demo catalogue's artists are chosen so), is trained on the
rest and scored on them, and the version stores the metrics and the confusion matrix. The
demo catalogue is synthetic, so the figures say the pipeline works end to end, not how well
real music is tagged. Its training task waits on the worker until the labelled tracks'
analyses, queued with the catalogue, are finished.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import transaction

from emotion.ml import train_on_dataset
from emotion.ml.evaluation import (
    HeldOutSplitError,
    evaluate_model,
    require_every_emotion_on_both_sides,
    stable_artist_holdout,
)
from emotion.models import MoodModelVersion
from emotion.selectors import active_model_version, curator_labelled_dataset, unfinished_analyses
from emotion.services.registry import activate_model_version, register_model_version

logger = logging.getLogger(__name__)

DEMO_MODEL_PRESET = "fast"
# The training task asks this often whether the analyses are finished, and gives up after the
# longest wait (the demo catalogue takes seconds on one worker; a backlog on the audio queue
# could take longer).
DEMO_MODEL_POLL_SECONDS = 3
DEMO_MODEL_MAX_WAIT_SECONDS = 30 * 60


def request_demo_mood_model() -> None:
    """Queue the demo model's training (training queue) once the caller commits."""
    from emotion.tasks import train_demo_mood_model

    transaction.on_commit(train_demo_mood_model.delay)


def labelled_analyses_to_wait_for() -> int:
    """Curator-labelled tracks whose analysis is still queued or running."""
    return unfinished_analyses().filter(track__curator_label__isnull=False).count()


def train_and_activate_demo_mood_model() -> MoodModelVersion | None:
    """Train the demo model on the training artists of the analysed, labelled tracks, score it
    on the held-out artists, and register and activate it with those metrics.

    Nothing is trained when a model is already active (``seed_demo`` ran twice, or someone
    activated a real model meanwhile), when fewer than two emotions have analysed tracks, or
    when the artists cannot be split with every emotion on both sides; the last two are
    logged with what to do.
    """
    if active_model_version() is not None:
        return None
    data = curator_labelled_dataset()
    if len(set(data.labels)) < 2:
        logger.warning(
            "no demo mood model: analysed, labelled tracks of at least two emotions are "
            "needed; look at the analyses' failure reasons, then run seed_demo again",
            extra={"labelled_tracks": len(data)},
        )
        return None
    train, held_out = stable_artist_holdout(
        data.artists, fraction=settings.MOOD_MODEL_HOLDOUT_FRACTION
    )
    try:
        require_every_emotion_on_both_sides(data.labels, train, held_out)
    except HeldOutSplitError as error:
        logger.warning(
            "no demo mood model: %s. seed_demo's catalogue holds every emotion on both sides "
            "at the default MOOD_MODEL_HOLDOUT_FRACTION with --tracks-per-quadrant 2 or more; "
            "these labelled tracks do not",
            error,
            extra={"labelled_tracks": len(data), "reason": str(error)},
        )
        return None
    model = train_on_dataset(
        data.subset(train.tolist()),
        preset=DEMO_MODEL_PRESET,
        trained_on={"source": "seed_demo synthetic catalogue"},
    )
    held = data.subset(held_out.tolist())
    metrics = evaluate_model(model, sequences=held.sequences, labels=held.labels)
    evaluated_on = {
        "split": "stable artist hash",
        "held_out_fraction": settings.MOOD_MODEL_HOLDOUT_FRACTION,
        **held.describe(),
        "artists": sorted(set(held.artists)),
    }
    with transaction.atomic():
        version = register_model_version(model=model, metrics=metrics, evaluated_on=evaluated_on)
        activate_model_version(version=version)
    logger.info(
        "demo mood model active",
        extra={
            "version": version.pk,
            "tracks": len(train),
            "held_out_tracks": len(held_out),
            "held_out_macro_f1": round(metrics["macro_f1"], 3),
        },
    )
    return version
