"""Reads of the recommendation domain."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.db.models import Count, Exists, OuterRef, Q, QuerySet

from emotion.models import MoodModelVersion, TrackEmotion
from emotion.selectors import training_runs_under_way, unfinished_analyses
from listening.models import Play
from recommender.models import Feedback, MoodBasis, MoodSnapshot, Recommendation
from users.models import User


def no_active_model_explanation() -> str:
    """Why there is no mood to serve while no model is active, and what to do about it."""
    sentences = ["no mood model is active yet, so there is no mood to infer or recommend by."]
    waiting = unfinished_analyses().count()
    if waiting:
        sentences.append(
            f"{waiting} track {'analysis is' if waiting == 1 else 'analyses are'} still queued "
            "or running; if seed_demo queued the demo model, it is trained as soon as they "
            "finish, so try again in a minute."
        )
    run = training_runs_under_way().first()
    if run is not None:
        stage = f" ({run.stage})" if run.stage else ""
        sentences.append(
            f"Training run {run.pk} is {run.status}{stage}; its model becomes active when it "
            "succeeds."
        )
    sentences.append(
        "To get a model: run `python manage.py seed_demo` (a demo catalogue and model), "
        "register and activate a trained one (`python manage.py register_mood_model FILE "
        "--activate`), or start a training run on curator-labelled tracks (admin: Training "
        "runs, Add)."
    )
    return " ".join(sentences)


def latest_snapshot(*, listener: User) -> MoodSnapshot | None:
    return MoodSnapshot.objects.filter(listener=listener).select_related("model_version").first()


def latest_inferred_snapshot(*, listener: User) -> MoodSnapshot | None:
    return MoodSnapshot.objects.filter(listener=listener, basis=MoodBasis.INFERRED).first()


def snapshot_history(*, listener: User) -> QuerySet[MoodSnapshot]:
    return MoodSnapshot.objects.filter(listener=listener).select_related("model_version")


def listener_recommendation(*, listener: User, recommendation_id: int) -> Recommendation | None:
    """The listener's own recommendation; another listener's is indistinguishable from none."""
    return Recommendation.objects.filter(listener=listener, pk=recommendation_id).first()


def listener_recommendations(*, listener: User) -> QuerySet[Recommendation]:
    return Recommendation.objects.filter(listener=listener).select_related("track")


@dataclass(frozen=True)
class Candidate:
    track_id: int
    song_key: str
    artist: str
    probability: float


def recommendation_candidates(
    *,
    listener: User,
    version: MoodModelVersion,
    label: str,
    played_since: dt.datetime,
    exclude_artists: Sequence[str] = (),
    limit: int,
) -> list[Candidate]:
    """Tracks tagged ``label`` by ``version``, most confident first, that may be recommended.

    Excluded: any release of a song already recommended to (or rejected by) the listener, and
    any release of a song they played since ``played_since``. Releases of one song share a
    song key; only the most confident release of each key is kept.
    """
    # Correlated EXISTS lets PostgreSQL walk the (version, label, confidence) index and stop at
    # the LIMIT; NOT IN over the same subqueries joined the whole catalogue first (74 ms vs
    # 3.3 ms per call at 100k tracks, benchmarks/recommendation_speed.py).
    already_recommended = Recommendation.objects.filter(
        listener=listener, song_key=OuterRef("track__song_key")
    )
    recently_played = Play.objects.filter(
        listener=listener, played_at__gte=played_since, track__song_key=OuterRef("track__song_key")
    )
    rows = (
        TrackEmotion.objects.filter(model_version=version, label=label)
        .exclude(Exists(already_recommended))
        .exclude(Exists(recently_played))
    )
    if exclude_artists:
        artist_filter = Q()
        for artist in exclude_artists:
            artist_filter |= Q(track__artist__iexact=artist)
        rows = rows.exclude(artist_filter)
    # Over-fetch: song-key duplicates collapse below and the ranking re-orders by more than
    # probability.
    rows = rows.order_by("-confidence", "track_id").values_list(
        "track_id", "track__song_key", "track__artist", "confidence"
    )[: limit * 4]
    candidates: dict[str, Candidate] = {}
    for track_id, song_key, artist, confidence in rows:
        if song_key not in candidates:
            candidates[song_key] = Candidate(track_id, song_key, artist, confidence)
    return list(candidates.values())


def track_play_counts(*, track_ids: Iterable[int], since: dt.datetime) -> dict[int, int]:
    rows = (
        Play.objects.filter(track_id__in=list(track_ids), played_at__gte=since)
        .values("track_id")
        .annotate(plays=Count("id"))
    )
    return {row["track_id"]: row["plays"] for row in rows}


@dataclass(frozen=True)
class AcceptanceRate:
    answered: int
    accepted: int
    unanswered: int

    @property
    def rate(self) -> float | None:
        return self.accepted / self.answered if self.answered else None


def acceptance_rate(*, recommendations: QuerySet[Recommendation] | None = None) -> AcceptanceRate:
    """Share of answered recommendations that were accepted (catalogue-wide by default)."""
    rows = recommendations if recommendations is not None else Recommendation.objects.all()
    counts = rows.aggregate(
        accepted=Count("id", filter=Q(feedback=Feedback.ACCEPT)),
        rejected=Count("id", filter=Q(feedback=Feedback.REJECT)),
        unanswered=Count("id", filter=Q(feedback="")),
    )
    return AcceptanceRate(
        answered=counts["accepted"] + counts["rejected"],
        accepted=counts["accepted"],
        unanswered=counts["unanswered"],
    )


def listeners_active_since(*, since: dt.datetime) -> QuerySet:
    """Ids of listeners whose plays arrived since ``since`` (by arrival, not play time)."""
    return (
        Play.objects.filter(received_at__gte=since)
        .values_list("listener_id", flat=True)
        .distinct()
        .order_by("listener_id")
    )
