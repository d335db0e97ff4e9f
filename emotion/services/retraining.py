"""Training runs: train on the current labelled data and promote only a better model.

Every run trains a candidate on the training side of a stable artist split
(:func:`emotion.ml.evaluation.stable_artist_holdout`; a split that leaves an emotion off
either side fails the run with the reason before anything trains), scores the candidate and
the active model on the held-out side, and activates the candidate only when its macro-F1
beats the active model's by more than ``MOOD_MODEL_MIN_IMPROVEMENT``. Because an artist's side never
changes, a model promoted by an earlier run has never seen the artists held out now.
"""

from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from common.tasks import fail_abandoned_rows
from emotion.ml import ArtifactError, train_on_dataset
from emotion.ml.datasets import LabelledDataset, load_labelled_dataset
from emotion.ml.evaluation import (
    HeldOutSplitError,
    evaluate_model,
    require_every_emotion_on_both_sides,
    stable_artist_holdout,
)
from emotion.ml.presets import resolve_config, total_max_epochs
from emotion.models import MoodModelVersion, TrainingRun, TrainingRunStatus, TrainingSource
from emotion.selectors import (
    abandoned_training_runs,
    active_model_version,
    curator_labelled_dataset,
    current_feature_set_version,
    load_mood_model,
    unlabelled_feature_sequences,
)
from emotion.services.registry import activate_model_version, register_model_version

logger = logging.getLogger(__name__)

# The most unlabelled catalogue tracks a mean-teacher run reads (newest first): a few times
# the labelled data is plenty for its consistency loss, and 2,000 full-length tracks' features
# stay within a few hundred MB on the training worker.
MEAN_TEACHER_UNLABELLED_LIMIT = 2000


class TrainingDataError(ValueError):
    """The labelled data cannot support a training run; the message says what is missing."""


def start_training_run(
    *,
    source: str = TrainingSource.CURATOR_LABELS,
    dataset_path: str = "",
    label_column: str = "quadrant",
    preset: str = "default",
    seed: int = 0,
    trigger: str,
    queue: bool = True,
) -> TrainingRun:
    """Record a run and queue it on the training queue once the caller commits.

    ``queue=False`` only records it: the caller runs it some other way (the admin, without a
    broker, trains in a background thread rather than inside the request).
    """
    from emotion.tasks import train_mood_model_run

    resolve_config(preset)  # an unknown name fails here, naming the choices
    if source == TrainingSource.DATASET and not dataset_path:
        raise ValueError("a dataset run needs the dataset folder")
    run = TrainingRun.objects.create(
        source=source,
        dataset_path=dataset_path,
        label_column=label_column,
        preset=preset,
        seed=seed,
        trigger=trigger,
    )
    if queue:
        run_id = run.pk
        transaction.on_commit(lambda: train_mood_model_run.delay(run_id))
    return run


def run_training(*, run: TrainingRun) -> TrainingRun:
    """Carry out a queued run to a recorded outcome: promoted, kept, or failed with a reason."""
    _update(run, status=TrainingRunStatus.RUNNING, started_at=timezone.now(), stage="loading data")
    try:
        data = _load_training_data(run)
        train_indices, held_out_indices = _split(data)
        candidate = _train_candidate(run, data.subset(train_indices))
        held_out = data.subset(held_out_indices)
        _update(run, stage="scoring on held-out artists")
        candidate_metrics = evaluate_model(
            candidate, sequences=held_out.sequences, labels=held_out.labels
        )
        baseline = active_model_version()
        baseline_metrics, incomparable = _score_baseline(baseline, held_out)
        evaluated_on = {
            "split": "stable artist hash",
            "held_out_fraction": settings.MOOD_MODEL_HOLDOUT_FRACTION,
            **held_out.describe(),
        }
        with transaction.atomic():
            version = register_model_version(
                model=candidate, metrics=candidate_metrics, evaluated_on=evaluated_on
            )
            status, outcome = _decide(candidate_metrics, baseline, baseline_metrics, incomparable)
            if status == TrainingRunStatus.PROMOTED:
                activate_model_version(version=version)
            _update(
                run,
                status=status,
                outcome=outcome,
                stage="finished",
                candidate_version=version,
                baseline_version=baseline,
                candidate_macro_f1=candidate_metrics["macro_f1"],
                baseline_macro_f1=(baseline_metrics or {}).get("macro_f1"),
                finished_at=timezone.now(),
            )
    except (TrainingDataError, ArtifactError, FileNotFoundError, ValueError) as error:
        _update(
            run,
            status=TrainingRunStatus.FAILED,
            outcome=str(error),
            stage="failed",
            finished_at=timezone.now(),
        )
        logger.warning("training run failed", extra={"run": run.pk, "reason": str(error)})
        return run
    logger.info("training run finished", extra={"run": run.pk, "status": run.status})
    return run


def mark_training_run_failed(*, run: TrainingRun, reason: str) -> None:
    _update(
        run,
        status=TrainingRunStatus.FAILED,
        outcome=reason,
        stage="failed",
        finished_at=timezone.now(),
    )


def fail_abandoned_training_runs(*, limit: int = 100) -> int:
    """Fail runs whose worker died under them, with the reason; returns how many."""
    runs = fail_abandoned_rows(
        abandoned_training_runs(now=timezone.now()),
        limit=limit,
        fail=lambda run: mark_training_run_failed(
            run=run,
            reason=(
                "the run stopped without an outcome: it started at "
                f"{run.started_at:%Y-%m-%d %H:%M} UTC and is long past its time limit "
                f"({settings.MOOD_MODEL_TRAINING_TIME_LIMIT} s), so its worker was lost or "
                "killed. No model was registered; start a new run."
            ),
        ),
    )
    if runs:
        logger.warning("failed abandoned training runs", extra={"runs": [run.pk for run in runs]})
    return len(runs)


def _load_training_data(run: TrainingRun) -> LabelledDataset:
    if run.source == TrainingSource.DATASET:
        folder = Path(run.dataset_path)
        if not (folder / "metadata.csv").is_file():
            raise TrainingDataError(f"{folder} has no metadata.csv on the training worker")
        return load_labelled_dataset(
            folder,
            label_column=run.label_column,
            segment_seconds=settings.AUDIO_SEGMENT_SECONDS,
            cache_dir=Path(settings.DATA_DIR) / "feature-cache",
            progress=False,
            # The catalogue's feature set, so the model can serve on the catalogue's analyses.
            feature_set_version=current_feature_set_version(),
        )
    return curator_labelled_dataset()


def _split(data: LabelledDataset) -> tuple[list[int], list[int]]:
    if len(set(data.labels)) < 2:
        raise TrainingDataError(
            f"need labelled tracks of at least two emotions with analysed audio; found "
            f"{dict(Counter(data.labels)) or 'none'}"
        )
    train, held_out = stable_artist_holdout(
        data.artists, fraction=settings.MOOD_MODEL_HOLDOUT_FRACTION
    )
    try:
        require_every_emotion_on_both_sides(data.labels, train, held_out)
    except HeldOutSplitError as error:
        # The split is by a stable hash of the artist's name (never re-drawn, see the module
        # docstring), so only more labelled artists can fix it.
        raise TrainingDataError(
            f"the artist split ({settings.MOOD_MODEL_HOLDOUT_FRACTION:.0%} of artists held out "
            f"by a stable hash of their name) cannot measure the model: {error}. Label tracks "
            "of more artists for the missing emotions"
        ) from error
    return [int(i) for i in train], [int(i) for i in held_out]


def _train_candidate(run: TrainingRun, data: LabelledDataset):
    config = resolve_config(run.preset)
    _update(run, stage=f"training on {len(data)} tracks", max_epochs=total_max_epochs(config))
    epochs_done = 0

    def on_epoch(epoch: int, metrics: dict[str, Any]) -> None:
        nonlocal epochs_done
        epochs_done += 1
        val_f1 = metrics.get("val_macro_f1")
        member = metrics.get("member")
        stage = (
            f"training on {len(data)} tracks"
            + (f", ensemble member {member + 1}" if member is not None else "")
            + (f", validation macro-F1 {val_f1:.3f}" if val_f1 is not None else "")
        )
        _update(run, epochs_done=epochs_done, stage=stage)

    return train_on_dataset(
        data,
        preset=run.preset,
        seed=run.seed,
        on_epoch=on_epoch,
        trained_on={"source": run.source, "dataset": run.dataset_path, "training_run": run.pk},
        unlabelled=_unlabelled_tracks(config, data),
    )


def _unlabelled_tracks(config, data: LabelledDataset):
    """A mean-teacher preset's unlabelled data: the catalogue's analysed tracks without a
    curator label (so never a held-out track of a curator run), when their features are those
    of the training data; None for every other preset."""
    if getattr(config, "mean_teacher", None) is None:
        return None
    if data.feature_set_version != current_feature_set_version():
        return []
    return unlabelled_feature_sequences(limit=MEAN_TEACHER_UNLABELLED_LIMIT)


def _score_baseline(
    baseline: MoodModelVersion | None, held_out: LabelledDataset
) -> tuple[dict[str, Any] | None, str]:
    """The active model's held-out metrics, or why it cannot be scored on this data."""
    if baseline is None:
        return None, ""
    try:
        model = load_mood_model(version=baseline)
        return evaluate_model(model, sequences=held_out.sequences, labels=held_out.labels), ""
    except (ArtifactError, ValueError) as error:
        return None, str(error)


def _decide(
    candidate: dict[str, Any],
    baseline: MoodModelVersion | None,
    baseline_metrics: dict[str, Any] | None,
    incomparable: str,
) -> tuple[str, str]:
    score = candidate["macro_f1"]
    if baseline is None:
        return TrainingRunStatus.PROMOTED, (
            f"no active model: promoted the new one (held-out macro-F1 {score:.3f})"
        )
    if baseline_metrics is None:
        return TrainingRunStatus.KEPT, (
            f"kept {baseline}: it cannot be scored on this data ({incomparable}); activate the "
            f"new version by hand if it should replace it (held-out macro-F1 {score:.3f})"
        )
    required = baseline_metrics["macro_f1"] + settings.MOOD_MODEL_MIN_IMPROVEMENT
    if score > required:
        return TrainingRunStatus.PROMOTED, (
            f"promoted: held-out macro-F1 {score:.3f} beats {baseline}'s "
            f"{baseline_metrics['macro_f1']:.3f}"
        )
    return TrainingRunStatus.KEPT, (
        f"kept {baseline}: the new model's held-out macro-F1 {score:.3f} does not beat "
        f"{baseline_metrics['macro_f1']:.3f} by more than {settings.MOOD_MODEL_MIN_IMPROVEMENT}"
    )


def _update(run: TrainingRun, **fields: Any) -> None:
    # A queryset update writes only these columns and commits on its own, so progress is
    # visible to the admin while the run is still training.
    for name, value in fields.items():
        setattr(run, name, value)
    TrainingRun.objects.filter(pk=run.pk).update(**fields)
