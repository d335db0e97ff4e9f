"""The demo mood model: a small model on the curator-labelled demo catalogue (``seed_demo``).

It is trained on every labelled track, with no held-out artists and no comparison: it exists
so a fresh installation can recommend at once, and measures nothing. Its training task waits
on the worker until the labelled tracks' analyses, queued with the catalogue, are finished.
"""

from __future__ import annotations

import logging

from django.db import transaction

from emotion.ml import train_on_dataset
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
    """Train, register and activate the demo model on every analysed, labelled track.

    Nothing is trained when a model is already active (``seed_demo`` ran twice, or someone
    activated a real model meanwhile) or when fewer than two emotions have analysed tracks;
    the second case is logged with what to do.
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
    model = train_on_dataset(
        data, preset=DEMO_MODEL_PRESET, trained_on={"source": "seed_demo synthetic catalogue"}
    )
    with transaction.atomic():
        version = register_model_version(model=model)
        activate_model_version(version=version)
    logger.info("demo mood model active", extra={"version": version.pk, "tracks": len(data)})
    return version
