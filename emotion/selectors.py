"""Reads of the emotion app."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from django.conf import settings
from django.db.models import Q, QuerySet

from catalogue.models import Track
from common.sql_parameters import in_one_parameter
from emotion.features import feature_set
from emotion.ml import ArtifactError, MoodModel, load_artifact
from emotion.ml.datasets import LabelledDataset
from emotion.ml.inference import SegmentExplanation, explain_segments
from emotion.models import (
    AnalysisStatus,
    MoodModelVersion,
    TrackAnalysis,
    TrackEmotion,
    TrainingRun,
    TrainingRunStatus,
)

# A run is called abandoned only this long after its task's hard time limit, so a live run
# never is.
TRAINING_ABANDONED_GRACE_SECONDS = 600


def current_feature_set_version() -> str:
    """The feature set the workers extract now (``AUDIO_FEATURE_SET``)."""
    return settings.AUDIO_FEATURE_SET


def tracks_needing_analysis(*, which: str) -> QuerySet[Track]:
    """Tracks with audio that need (re)analysis, oldest first.

    ``all``: every track with audio. ``failed``: analyses that failed. ``stale``: tracks never
    analysed, or analysed with another feature-set version or segment length.
    """
    tracks = Track.objects.exclude(audio="").order_by("id")
    if which == "all":
        return tracks
    if which == "failed":
        return tracks.filter(analysis__status=AnalysisStatus.FAILED)
    if which == "stale":
        current_definition = Q(
            analysis__feature_set_version=current_feature_set_version(),
            analysis__segment_seconds=settings.AUDIO_SEGMENT_SECONDS,
        )
        return tracks.filter(
            Q(analysis__isnull=True)
            | (Q(analysis__status=AnalysisStatus.DONE) & ~current_definition)
        )
    raise ValueError(f"unknown selection {which!r}; use all, failed or stale")


def current_analyses() -> QuerySet[TrackAnalysis]:
    """Finished analyses whose features follow today's definition (version + segment length)."""
    return TrackAnalysis.objects.filter(
        status=AnalysisStatus.DONE,
        feature_set_version=current_feature_set_version(),
        segment_seconds=settings.AUDIO_SEGMENT_SECONDS,
    )


def unfinished_analyses() -> QuerySet[TrackAnalysis]:
    """Analyses still waiting for a worker or being extracted."""
    return TrackAnalysis.objects.filter(status__in=[AnalysisStatus.PENDING, AnalysisStatus.RUNNING])


def training_runs_under_way() -> QuerySet[TrainingRun]:
    return TrainingRun.objects.filter(
        status__in=[TrainingRunStatus.QUEUED, TrainingRunStatus.RUNNING]
    ).order_by("id")


def abandoned_training_runs(*, now: datetime) -> QuerySet[TrainingRun]:
    """Runs still marked running although their task's hard time limit has long passed.

    Training tasks are acknowledged when they start, so a run whose worker was killed (or hit
    the hard limit, which kills the process) is never delivered again and nothing else would
    ever finish it.
    """
    hard_limit = (
        settings.MOOD_MODEL_TRAINING_TIME_LIMIT + settings.MOOD_MODEL_TRAINING_HARD_LIMIT_MARGIN
    )
    started_before = now - timedelta(seconds=hard_limit + TRAINING_ABANDONED_GRACE_SECONDS)
    return TrainingRun.objects.filter(
        status=TrainingRunStatus.RUNNING, started_at__lt=started_before
    )


def feature_sequences(*, track_ids: Iterable[int]) -> dict[int, np.ndarray]:
    """track id -> its current feature sequence; tracks without current features are absent."""
    # Three columns, not the analyses: a mood batch reads thousands, and building a model
    # instance of each row cost about as much as the query (95 vs 55 ms for 2,400).
    rows = (
        current_analyses()
        .filter(track_id__in=in_one_parameter(track_ids, "bigint"))
        .values_list("track_id", "features", "n_segments")
    )
    return {
        track_id: TrackAnalysis.matrix_of(features, n_segments=n_segments)
        for track_id, features, n_segments in rows
    }


def track_emotion(*, track_id: int) -> TrackEmotion | None:
    """The track's emotion as last tagged (with its model version), or None if never tagged."""
    return TrackEmotion.objects.select_related("model_version").filter(track_id=track_id).first()


def valence_arousal_point(
    *, valence: float | None, arousal: float | None, source: str
) -> dict | None:
    """The API's shape of a stored valence/arousal point: ``{"valence", "arousal", "source"}``,
    or None where there is none (a model whose labels are not the quadrants, without a head)."""
    if valence is None or arousal is None:
        return None
    return {"valence": valence, "arousal": arousal, "source": source}


def active_model_version() -> MoodModelVersion | None:
    return MoodModelVersion.objects.filter(is_active=True).first()


def previously_active_version(*, before: MoodModelVersion) -> MoodModelVersion | None:
    """The version that was active before ``before`` was last activated (rollback target)."""
    if before.activated_at is None:
        return None
    return (
        MoodModelVersion.objects.filter(activated_at__lt=before.activated_at)
        .exclude(pk=before.pk)
        .order_by("-activated_at")
        .first()
    )


_loaded_models: dict[tuple[int, str, str], MoodModel] = {}
_loaded_models_lock = threading.Lock()


def load_mood_model(*, version: MoodModelVersion) -> MoodModel:
    """The version's model, read from storage once per process and then kept in memory, bound
    to the columns it reads in today's analyses.

    Raises ``ArtifactMismatchError`` when today's feature set lacks what the model reads.
    Keyed by version, artifact name and feature set, so a replaced artifact is read again.
    Only the two most recently used versions are kept: during a switch-over both may be asked
    for.
    """
    key = (version.pk, version.artifact.name, current_feature_set_version())
    with _loaded_models_lock:
        model = _loaded_models.pop(key, None)
        if model is None:
            with version.artifact.open("rb") as artifact:
                model = load_artifact(
                    artifact.read(),
                    expected_feature_set_version=current_feature_set_version(),
                    expected_labels=version.labels,
                )
        _loaded_models[key] = model
        while len(_loaded_models) > 2:
            _loaded_models.pop(next(iter(_loaded_models)))
    return model


def curator_labelled_dataset() -> LabelledDataset:
    """Tracks that carry a curator label and current features, as a training data set."""
    analyses = (
        current_analyses()
        .filter(track__curator_label__isnull=False)
        .select_related("track", "track__curator_label")
        .order_by("track_id")
    )
    dataset = LabelledDataset.empty(
        feature_set_version=current_feature_set_version(),
        segment_seconds=settings.AUDIO_SEGMENT_SECONDS,
    )
    for analysis in analyses:
        track = analysis.track
        dataset.sequences.append(analysis.feature_matrix())
        dataset.labels.append(track.curator_label.label)
        dataset.artists.append(track.artist)
        dataset.titles.append(track.title)
        dataset.paths.append(f"track:{track.pk}")
    return dataset


@dataclass(frozen=True)
class TrackSegments:
    """What a curator needs to see why a track was tagged: its LLDs segment by segment and
    where the active model found the emotion.

    ``explanation`` is None when there is no active model or it cannot read this track;
    ``unexplained_reason`` then says why.
    """

    lld: np.ndarray
    segment_seconds: float
    model_version: MoodModelVersion | None
    explanation: SegmentExplanation | None
    unexplained_reason: str = ""


def track_segments(*, track: Track) -> TrackSegments | None:
    """The track's current LLD sequence and the active model's per-segment evidence for the
    emotion it tagged (or, if it has not tagged the track yet, for its prediction); None
    while the track has no current analysis."""
    analysis = current_analyses().filter(track=track).first()
    if analysis is None:
        return None
    features = analysis.feature_matrix()
    lld = features[:, feature_set(analysis.feature_set_version).columns(["lld"])]
    version = active_model_version()
    if version is None:
        return TrackSegments(
            lld=lld,
            segment_seconds=analysis.segment_seconds,
            model_version=None,
            explanation=None,
            unexplained_reason="no mood model is active",
        )
    try:
        model = load_mood_model(version=version)
    except ArtifactError as error:
        return TrackSegments(
            lld=lld,
            segment_seconds=analysis.segment_seconds,
            model_version=version,
            explanation=None,
            unexplained_reason=f"the active model cannot read this track: {error}",
        )
    tagged = TrackEmotion.objects.filter(track=track, model_version=version).first()
    label = tagged.label if tagged is not None else model.predict([features])[0]
    return TrackSegments(
        lld=lld,
        segment_seconds=analysis.segment_seconds,
        model_version=version,
        explanation=explain_segments(model, features, label=label),
    )


def unlabelled_feature_sequences(*, limit: int) -> list[np.ndarray]:
    """Current feature sequences of tracks without a curator label, newest tracks first, at
    most ``limit``: the unlabelled data of a mean-teacher training run. The bound keeps a
    run's memory and its normalisation pass small on a large catalogue."""
    analyses = (
        current_analyses().filter(track__curator_label__isnull=True).order_by("-track_id")[:limit]
    )
    return [analysis.feature_matrix() for analysis in analyses]
