"""Reads of the recommendation domain."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
from django.conf import settings
from django.db import connection
from django.db.models import CharField, Count, Exists, F, OuterRef, Q, QuerySet, Window
from django.db.models.expressions import RawSQL
from django.db.models.functions import RowNumber

from catalogue.models import Track
from common.sql_parameters import in_one_parameter
from emotion.ml import display_name
from emotion.models import MoodModelVersion, TrackAnalysis, TrackEmotion
from emotion.selectors import current_analyses, training_runs_under_way, unfinished_analyses
from listening.models import Play
from recommender.models import (
    Feedback,
    ListenerMoodState,
    MoodBasis,
    MoodSnapshot,
    Recommendation,
)
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


def latest_snapshot_and_state(
    *, listener: User
) -> tuple[MoodSnapshot | None, ListenerMoodState | None]:
    """``latest_snapshot`` and ``listener_mood_state`` in one query, as a recommendation
    request reads both: the state is joined through the snapshot's listener. Without a
    snapshot the state is not read (None), nor when the listener has none."""
    snapshot = (
        MoodSnapshot.objects.filter(listener=listener)
        .select_related("model_version", "listener__mood_state")
        .first()
    )
    if snapshot is None:
        return None, None
    # The join's ``RelatedObjectDoesNotExist`` is an AttributeError: no state stored.
    state = getattr(snapshot.listener, "mood_state", None)
    snapshot.listener = listener
    return snapshot, state


def latest_inferred_snapshot(*, listener: User) -> MoodSnapshot | None:
    return MoodSnapshot.objects.filter(listener=listener, basis=MoodBasis.INFERRED).first()


def latest_inferred_snapshots(
    *, listener_ids: Collection[int], only: Sequence[str] | None = None
) -> dict[int, MoodSnapshot]:
    """``latest_inferred_snapshot`` of many listeners in one query (listeners without one are
    left out): the first of each listener's inferred snapshots in the model's ordering.

    ``only`` loads just those fields (with the id and listener), as ``QuerySet.only``: a mood
    batch needs the label of every listener's last snapshot, and decoding the JSON fields of
    256 snapshots it does not read cost 50-70 ms of a batch."""
    if not listener_ids:
        return {}
    snapshots = MoodSnapshot.objects.filter(
        listener_id__in=in_one_parameter(listener_ids, "bigint"), basis=MoodBasis.INFERRED
    )
    if only is not None:
        snapshots = snapshots.only("id", "listener_id", *only)
    ranked = snapshots.annotate(
        rank=Window(
            RowNumber(),
            partition_by=[F("listener_id")],
            order_by=[F("created_at").desc(), F("id").desc()],
        )
    )
    return {snapshot.listener_id: snapshot for snapshot in ranked.filter(rank=1)}


@dataclass(frozen=True)
class AnalysedTrack:
    """A track's current feature sequence and the names a mood snapshot lists it by."""

    sequence: np.ndarray
    title: str
    artist: str


def analysed_tracks(*, track_ids: Iterable[int]) -> dict[int, AnalysedTrack]:
    """``emotion.selectors.feature_sequences`` with each track's title and artist, in one
    query: track id -> its analysed track; tracks without current features are absent.

    A mood batch names only the tracks it could use, so it needs no names of the others; the
    join saves a round trip for the names of 2,400 tracks (20-35 ms of a batch of 256)."""
    rows = (
        current_analyses()
        .filter(track_id__in=in_one_parameter(track_ids, "bigint"))
        .values_list("track_id", "features", "n_segments", "track__title", "track__artist")
    )
    return {
        track_id: AnalysedTrack(
            sequence=TrackAnalysis.matrix_of(features, n_segments=n_segments),
            title=title,
            artist=artist,
        )
        for track_id, features, n_segments, title, artist in rows
    }


def listener_mood_state(*, listener: User) -> ListenerMoodState | None:
    return ListenerMoodState.objects.filter(listener=listener).first()


def listener_mood_states(*, listener_ids: Collection[int]) -> dict[int, ListenerMoodState]:
    """``listener_mood_state`` of many listeners in one query (those without one left out)."""
    states = ListenerMoodState.objects.filter(listener_id__in=listener_ids)
    return {state.listener_id: state for state in states} if listener_ids else {}


def declared_mood_status(
    *,
    state: ListenerMoodState | None,
    snapshot: MoodSnapshot | None,
    version: MoodModelVersion | None,
) -> dict | None:
    """Whether the mood the listener declared is their current mood, and if not, why not.

    None when they declared nothing. Plays take precedence: a declared mood is the mood only
    while no play in the mood window can be used (README, "Listener mood and
    recommendations"). ``used`` is true only when ``snapshot`` is that declared mood.
    """
    if state is None or not state.declared_label:
        return None
    label = state.declared_label
    window = settings.MOOD_WINDOW_DAYS
    used = snapshot is not None and snapshot.basis == MoodBasis.DECLARED and snapshot.label == label
    if used:
        reason = (
            f"no play of the past {window} days can be used to infer your mood, so the mood you "
            "declared is your mood"
        )
    elif version is None:
        reason = (
            "no mood model is active yet; the declared mood is stored and is your mood once one "
            f"is, while no play of the past {window} days can be used"
        )
    elif label not in version.labels:
        reason = (
            f"the active mood model does not know {label!r}; declare one of "
            f"{', '.join(version.labels)}"
        )
    elif snapshot is not None and snapshot.basis == MoodBasis.INFERRED:
        reason = (
            f"your plays of the past {window} days take precedence over a declared mood; it is "
            "your mood whenever they say nothing"
        )
    else:
        reason = "declared after this mood was inferred; it counts from the next mood refresh"
    names = version.display_names if version is not None else {}
    return {
        "label": label,
        "display_name": display_name(label, overrides=names),
        "declared_at": state.declared_at.isoformat() if state.declared_at else None,
        "used": used,
        "reason": reason,
    }


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
    # The track's valence/arousal point (null for a non-quadrant model without a head).
    valence: float | None = None
    arousal: float | None = None
    valence_arousal_source: str = ""
    # What a served recommendation shows of its track (``candidate_track``).
    title: str = ""
    album: str = ""


def unserved_track_tags(
    *,
    listener: User,
    version: MoodModelVersion,
    played_since: dt.datetime,
    exclude_artists: Sequence[str] = (),
) -> QuerySet[TrackEmotion]:
    """The tags of ``version`` on tracks that may still be recommended to the listener.

    Excluded: any release of a song already recommended to (or rejected by) the listener, any
    release of a song they played since ``played_since``, and the ``exclude_artists``
    (case-insensitive). Releases of one song share a song key.
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
        TrackEmotion.objects.filter(model_version=version)
        .exclude(Exists(already_recommended))
        .exclude(Exists(recently_played))
    )
    if exclude_artists:
        artist_filter = Q()
        for artist in exclude_artists:
            artist_filter |= Q(track__artist__iexact=artist)
        rows = rows.exclude(artist_filter)
    return rows


def emotions_with_unserved_tracks(
    *,
    listener: User,
    version: MoodModelVersion,
    played_since: dt.datetime,
    exclude_artists: Sequence[str] = (),
) -> set[str]:
    """The emotions of ``version`` that still have a track to recommend to the listener.

    One query: an EXISTS per emotion, each of which stops at the first track it finds on the
    (version, label, confidence) index, so its cost does not grow with the catalogue while
    tracks are left.
    """
    unserved = unserved_track_tags(
        listener=listener,
        version=version,
        played_since=played_since,
        exclude_artists=exclude_artists,
    )
    # Labels are free text; positional aliases keep them out of SQL identifiers.
    aliases = {f"emotion_{index}": label for index, label in enumerate(version.labels)}
    if not aliases:
        return set()
    row = (
        MoodModelVersion.objects.filter(pk=version.pk)
        .values(**{alias: Exists(unserved.filter(label=label)) for alias, label in aliases.items()})
        .first()
    )
    if row is None:
        return set()
    return {label for alias, label in aliases.items() if row[alias]}


# Rows read per emotion and song on the page: song-key duplicates collapse and the ranking
# re-orders by more than probability, so the ranking chooses from 4 rows per place.
CANDIDATE_ROWS_PER_PLACE = 4
CANDIDATE_COLUMNS = (
    "label",
    "track_id",
    "track__song_key",
    "track__artist",
    "confidence",
    "valence",
    "arousal",
    "valence_arousal_source",
    "track__title",
    "track__album",
)


def recommendation_candidates_by_emotion(
    *,
    listener: User,
    version: MoodModelVersion,
    played_since: dt.datetime,
    exclude_artists: Sequence[str] = (),
    rows_per_emotion: int,
) -> dict[str, list[Candidate]]:
    """The ``rows_per_emotion`` most confident tags of each emotion of ``version`` that may be
    recommended (``unserved_track_tags``), most confident first. An emotion with nothing left
    is missing, so the keys are also the emotions that can still be served.

    Rows are tags, not songs: releases of one song (one song key) may follow each other;
    ``distinct_songs`` keeps the first. One query on PostgreSQL: the emotions as a ``VALUES``
    list, each joined ``LATERAL`` to the ordered, limited walk of the
    (version, label, confidence) index, which stops after its rows whatever the catalogue's
    size. It replaces an ``EXISTS`` per emotion followed by one candidate query per emotion
    served: two to three queries fewer per page, each costing more to compile in Django than
    to run.
    """
    labels = list(version.labels)
    if not labels:
        return {}
    reads = {
        "listener": listener,
        "version": version,
        "played_since": played_since,
        "exclude_artists": exclude_artists,
    }
    if connection.vendor == "postgresql":
        rows = _most_confident_per_emotion_lateral(reads, labels, rows_per_emotion)
    else:  # the embedded SQLite default: small catalogues, one query per emotion
        unserved = unserved_track_tags(**reads)
        rows = [
            row
            for label in labels
            for row in unserved.filter(label=label)
            .order_by("-confidence", "track_id")
            .values_list(*CANDIDATE_COLUMNS)[:rows_per_emotion]
        ]
    by_emotion: dict[str, list[Candidate]] = {}
    for label, *columns in rows:
        by_emotion.setdefault(label, []).append(Candidate(*columns))
    for candidates in by_emotion.values():
        # A join's output order is not guaranteed: restore each walk's own order.
        candidates.sort(key=lambda candidate: (-candidate.probability, candidate.track_id))
    return by_emotion


def _most_confident_per_emotion_lateral(
    reads: dict[str, Any], labels: Sequence[str], rows_per_emotion: int
) -> list[tuple]:
    sql, params = lateral_candidates_query(reads, labels, rows_per_emotion)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def lateral_candidates_query(
    reads: dict[str, Any], labels: Sequence[str], rows_per_emotion: int
) -> tuple[str, list]:
    """The SQL and parameters of the LATERAL candidates query (PostgreSQL) for ``reads``,
    the arguments of ``unserved_track_tags``.

    Django builds and compiles the query in about 1.2 ms, as long as PostgreSQL runs it: its
    text depends only on the number of emotions and of excluded artists and on
    ``rows_per_emotion``, so it is compiled once per process for each, with placeholder
    values standing for the listener, the model, the time and the artists, and this
    request's values take their places among the parameters. A query whose parameters are
    not all placeholders (a change to ``unserved_track_tags`` may add others) is compiled
    for every request, as before.
    """
    statement = _lateral_candidates_statement(
        len(labels), len(reads["exclude_artists"]), rows_per_emotion
    )
    if statement is None:
        return _compiled_lateral_candidates(unserved_track_tags(**reads), labels, rows_per_emotion)
    sql, slots = statement
    fields = _slot_fields()
    params = []
    for kind, slot in slots:
        if kind == "constant":
            params.append(slot)
            continue
        value = reads["exclude_artists"][slot] if kind == "artist" else reads[slot]
        field = fields["exclude_artists" if kind == "artist" else slot]
        params.append(
            field.get_db_prep_value(getattr(value, "pk", value), connection, prepared=False)
        )
    return sql, [*labels, *params]


def _compiled_lateral_candidates(
    unserved: QuerySet[TrackEmotion], labels: Sequence[str], rows_per_emotion: int
) -> tuple[str, list]:
    most_confident = (
        unserved.filter(label=RawSQL("wanted_emotion.label", [], output_field=CharField()))
        .order_by("-confidence", "track_id")
        .values_list(*CANDIDATE_COLUMNS)[:rows_per_emotion]
    )
    sql, params = most_confident.query.sql_with_params()
    emotions = ", ".join(["(%s)"] * len(labels))
    return (
        f"SELECT most_confident.* FROM (VALUES {emotions}) AS wanted_emotion(label) "
        f"CROSS JOIN LATERAL ({sql}) AS most_confident",
        [*labels, *params],
    )


def _placeholders(variant: int, n_artists: int) -> dict[str, Any]:
    """Values no request has, standing for a request's while the candidates query is
    compiled; two variants, so that what is not a request's value shows as the same in
    both."""
    return {
        "listener": -7_000_000_001 - 10 * variant,
        "version": -7_000_000_002 - 10 * variant,
        "played_since": dt.datetime(1901, 2, 3, 4, 5, 6, 789_012 + variant, tzinfo=dt.UTC),
        "exclude_artists": [
            f"\x00placeholder {variant} of excluded artist {index}\x00"
            for index in range(n_artists)
        ],
    }


@lru_cache(maxsize=1)
def _slot_fields() -> dict[str, Any]:
    """The field whose database preparation each of a request's values gets, as Django's
    compiler gives it."""
    return {
        "listener": User._meta.pk,
        "version": MoodModelVersion._meta.pk,
        "played_since": Play._meta.get_field("played_at"),
        "exclude_artists": Track._meta.get_field("artist"),
    }


@lru_cache(maxsize=512)
def _lateral_candidates_statement(
    n_labels: int, n_artists: int, rows_per_emotion: int
) -> tuple[str, tuple[tuple[str, Any], ...]] | None:
    """The candidates query's SQL for this shape and, for each of its parameters after the
    labels, where its value comes from: ``("slot", name)`` (a request's listener, version or
    time), ``("artist", index)`` (an excluded artist) or ``("constant", value)`` (the same
    whatever the request). None when a parameter is neither: the query is compiled for
    each request then.

    The query is compiled twice, with two variants of the placeholders: a parameter is a
    request's value where each variant has its own placeholder, a constant where both have
    the same value that is no placeholder.
    """
    labels = [f"label {index}" for index in range(n_labels)]
    compiled = []
    for variant in (0, 1):
        values = _placeholders(variant, n_artists)
        unserved = unserved_track_tags(
            listener=User(pk=values["listener"]),
            version=MoodModelVersion(pk=values["version"]),
            played_since=values["played_since"],
            exclude_artists=values["exclude_artists"],
        )
        sql, params = _compiled_lateral_candidates(unserved, labels, rows_per_emotion)
        compiled.append((sql, params[n_labels:], values))
    (sql, params, values), (other_sql, other_params, other_values) = compiled
    if sql != other_sql or len(params) != len(other_params):
        return None

    def slot_of(param: Any, values: dict[str, Any]) -> tuple[str, Any] | None:
        for name in ("listener", "version", "played_since"):
            if type(param) is type(values[name]) and param == values[name]:
                return ("slot", name)
        if isinstance(param, str) and param in values["exclude_artists"]:
            return ("artist", values["exclude_artists"].index(param))
        return None

    slots: list[tuple[str, Any]] = []
    for param, other in zip(params, other_params, strict=True):
        slot = slot_of(param, values)
        if slot is not None and slot == slot_of(other, other_values):
            slots.append(slot)
        elif slot is None and slot_of(other, other_values) is None and param == other:
            slots.append(("constant", param))
        else:
            return None
    return sql, tuple(slots)


def recommendation_candidates(
    *,
    listener: User,
    version: MoodModelVersion,
    label: str,
    played_since: dt.datetime,
    exclude_artists: Sequence[str] = (),
    exclude_song_keys: Collection[str] = (),
    limit: int,
) -> list[Candidate]:
    """Songs tagged ``label`` by ``version``, most confident first, that may be recommended
    (``unserved_track_tags``), leaving out ``exclude_song_keys`` (already on the page): the
    candidates for ``limit`` places, from ``CANDIDATE_ROWS_PER_PLACE`` rows per place.

    Only the most confident release of each song key is kept.
    """
    rows = unserved_track_tags(
        listener=listener,
        version=version,
        played_since=played_since,
        exclude_artists=exclude_artists,
    ).filter(label=label)
    if exclude_song_keys:
        rows = rows.exclude(track__song_key__in=list(exclude_song_keys))
    rows = rows.order_by("-confidence", "track_id").values_list(*CANDIDATE_COLUMNS[1:])
    return distinct_songs([Candidate(*row) for row in rows[: limit * CANDIDATE_ROWS_PER_PLACE]])


def candidate_track(candidate: Candidate, *, using: str) -> Track:
    """The candidate's track as read with it, for a recommendation served without reading
    its track back; its other fields are deferred (read from ``using`` when asked for)."""
    values = {
        "id": candidate.track_id,
        "title": candidate.title,
        "artist": candidate.artist,
        "album": candidate.album,
        "song_key": candidate.song_key,
    }
    names = [f.attname for f in Track._meta.concrete_fields if f.attname in values]
    return Track.from_db(using, names, [values[name] for name in names])


def distinct_songs(candidates: Iterable[Candidate]) -> list[Candidate]:
    """The first candidate of each song key, in order."""
    first: dict[str, Candidate] = {}
    for candidate in candidates:
        first.setdefault(candidate.song_key, candidate)
    return list(first.values())


def track_play_counts(*, track_ids: Iterable[int], since: dt.datetime) -> dict[int, int]:
    """Plays of each track since ``since``. ``COUNT(*)``, not of a column, so PostgreSQL counts
    from the (track, played_at) index alone without reading the plays."""
    rows = (
        Play.objects.filter(track_id__in=list(track_ids), played_at__gte=since)
        .values("track_id")
        .annotate(plays=Count("*"))
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
