"""Mood-model versions: registering trained models, activating one, rolling back."""

from __future__ import annotations

import logging
import tempfile
import uuid
from pathlib import Path
from typing import Any

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from emotion.ml import MoodModel, load_artifact
from emotion.ml.artifact import artifact_to_bytes
from emotion.ml.evaluation import plot_confusion_matrix
from emotion.models import MoodModelVersion
from emotion.selectors import (
    current_feature_set_version,
    load_mood_model,
    previously_active_version,
)
from emotion.services.tagging import request_catalogue_tagging

logger = logging.getLogger(__name__)


def register_model_version(
    *,
    model: MoodModel,
    metrics: dict[str, Any] | None = None,
    evaluated_on: dict[str, Any] | None = None,
) -> MoodModelVersion:
    """Store a trained model's artifact and record it as an (inactive) version.

    ``metrics`` are held-out metrics; with them a confusion-matrix image is stored too, so the
    admin can show how the version errs without loading it.
    """
    version = MoodModelVersion(
        architecture={
            "name": model.architecture,
            "preset": model.training_config.get("preset"),
            "input_blocks": list(model.input_blocks),
            "config": _plain_config(model),
        },
        labels=list(model.labels),
        display_names=dict(model.display_names),
        feature_set_version=model.feature_set_version,
        segment_seconds=model.segment_seconds,
        metrics=metrics or {},
        evaluated_on=evaluated_on or {},
        trained_on=model.metrics.get("trained_on", {}),
    )
    # Unique even for two versions stored in the same second: the name is part of the key
    # under which load_mood_model keeps a loaded model, so it must never name two artifacts.
    stamp = f"{timezone.now():%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
    version.artifact.save(
        f"mood-{stamp}.safetensors", ContentFile(artifact_to_bytes(model)), save=False
    )
    if metrics and metrics.get("confusion"):
        version.confusion_image.save(
            f"mood-{stamp}-confusion.png",
            ContentFile(_confusion_png(metrics, display_names=model.display_names)),
            save=False,
        )
    version.save()
    return version


def _plain_config(model: MoodModel) -> dict[str, Any]:
    config = model.model_config
    return config if isinstance(config, dict) else config.to_dict()


def register_artifact(*, artifact: bytes) -> MoodModelVersion:
    """Record an artifact trained elsewhere (e.g. ``train_mood_model`` on a GPU machine).

    It must fit today's features; its training metrics come along, held-out metrics do not
    (nothing here knows what it was trained on beyond what it says).
    """
    model = load_artifact(artifact, expected_feature_set_version=current_feature_set_version())
    return register_model_version(model=model)


def activate_model_version(*, version: MoodModelVersion) -> MoodModelVersion:
    """Make ``version`` the one active model and re-tag the catalogue with it after commit."""
    with transaction.atomic():
        # Locking the active row serialises concurrent activations; the partial unique index
        # is the backstop that makes a second active version impossible.
        current = MoodModelVersion.objects.select_for_update().filter(is_active=True).first()
        if current is not None and current.pk == version.pk:
            return current
        # Refuses (ArtifactMismatchError) a model that reads blocks today's analyses lack.
        load_mood_model(version=version)
        if current is not None:
            MoodModelVersion.objects.filter(pk=current.pk).update(is_active=False)
        version.is_active = True
        version.activated_at = timezone.now()
        version.save(update_fields=["is_active", "activated_at"])
        request_catalogue_tagging(version=version)
    logger.info(
        "mood model activated",
        extra={"version": version.pk, "previous": current.pk if current else None},
    )
    return version


def roll_back_model_version(*, current: MoodModelVersion) -> MoodModelVersion:
    """Re-activate the version that was active before ``current``."""
    previous = previously_active_version(before=current)
    if previous is None:
        raise ValueError(f"{current} has no previously active version to roll back to")
    return activate_model_version(version=previous)


def _confusion_png(metrics: dict[str, Any], *, display_names: dict[str, str]) -> bytes:
    with tempfile.TemporaryDirectory() as folder:
        path = plot_confusion_matrix(
            metrics,
            Path(folder) / "confusion.png",
            title="Held-out confusion matrix",
            display_names=display_names,
        )
        return path.read_bytes()
