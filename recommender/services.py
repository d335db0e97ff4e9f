"""Writes of the recommendation domain: listener moods, recommendations and feedback."""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from functools import lru_cache, partial

import numpy as np
from django.conf import settings
from django.core.cache import cache
from django.db import connection, router, transaction
from django.utils import timezone

from common.sql_parameters import (
    bulk_create_with_json_parameters,
    insert_skipping_conflicts,
    json_default,
)
from common.tasks import tasks_run_in_process
from emotion.ml import average_sequences, display_name, tag_tracks
from emotion.ml.valence_arousal import SOURCE_QUADRANT_PROBABILITIES, point_from_distribution
from emotion.models import MoodModelVersion
from emotion.selectors import (
    active_model_version,
    load_mood_model,
    valence_arousal_point,
)
from listening.selectors import most_played_tracks_of_listeners
from recommender.models import (
    Feedback,
    ListenerMoodState,
    MoodBasis,
    MoodSnapshot,
    Recommendation,
)
from recommender.policies import (
    SEED_RULE,
    discounted_feedback,
    fill_order,
    seed_rule_target,
    thompson_target,
)
from recommender.ranking import RankedTrack, rank_candidates
from recommender.selectors import (
    CANDIDATE_ROWS_PER_PLACE,
    analysed_tracks,
    candidate_track,
    declared_mood_status,
    distinct_songs,
    emotions_with_unserved_tracks,
    latest_inferred_snapshots,
    latest_snapshot,
    latest_snapshot_and_state,
    listener_mood_state,
    listener_mood_states,
    listeners_active_since,
    no_active_model_explanation,
    recommendation_candidates,
    recommendation_candidates_by_emotion,
    track_play_counts,
)
from users.models import User

logger = logging.getLogger(__name__)


class NoActiveMoodModel(Exception):
    """No mood model is active, so there is no mood to serve or recommend by; the message says
    what to do."""


class FeedbackConflict(Exception):
    """The recommendation already carries the other answer."""


# --- Listener mood ---------------------------------------------------------------------------


def infer_listener_moods(
    *, listeners: Sequence[User], now: dt.datetime | None = None
) -> list[MoodSnapshot]:
    """Infer and store the current mood of many listeners with one pass through the model.

    Per listener (seed 002 §3.2): the top-k tracks by plays in the trailing window (ties to the
    latest play), those without current features skipped and reported, their LLD sequences
    averaged weighted by play count (aligned from the start: step t averages the tracks that
    last that long, see ``average_sequences``), and the average classified. A listener with
    nothing usable gets the cold-start behaviour (``cold_start_snapshot``). Without an active
    model nothing is inferred or stored: a cold-start snapshot would claim "no recent plays"
    (code that answers a listener raises ``NoActiveMoodModel`` first).
    """
    now = now or timezone.now()
    window_start = now - dt.timedelta(days=settings.MOOD_WINDOW_DAYS)
    version = active_model_version()
    if version is None:
        return []
    # One query for the whole batch for each of: top tracks, last inferred moods, states.
    listener_ids = [listener.pk for listener in listeners]
    tops = most_played_tracks_of_listeners(
        listener_ids=listener_ids,
        since=window_start,
        until=now,
        limit=settings.MOOD_TOP_K,
        own_choices_only=settings.MOOD_IGNORES_RECOMMENDED_PLAYS,
    )
    # Only the labels: they say whose mood changed. A cold listener's whole last snapshot is
    # read below, by id, so it is the same one.
    previous_inferred = latest_inferred_snapshots(listener_ids=listener_ids, only=("label",))
    top_track_ids = {top.track_id for listener_tops in tops.values() for top in listener_tops}
    # Titles travel with the snapshot so an explanation can name the tracks behind a mood.
    analysed = analysed_tracks(track_ids=top_track_ids)

    inferable: list[tuple[User, list[dict], list[dict], np.ndarray]] = []
    snapshots: list[MoodSnapshot] = []
    cold_listeners: list[tuple[User, list[dict]]] = []
    for listener in listeners:
        used = [
            {
                "track_id": top.track_id,
                "title": analysed[top.track_id].title,
                "artist": analysed[top.track_id].artist,
                "plays": top.plays,
            }
            for top in tops[listener.pk]
            if top.track_id in analysed
        ]
        skipped = [
            {"track_id": top.track_id, "plays": top.plays, "reason": "audio not analysed yet"}
            for top in tops[listener.pk]
            if top.track_id not in analysed
        ]
        if not used:
            cold_listeners.append((listener, skipped))
            continue
        total = sum(item["plays"] for item in used)
        for item in used:
            item["weight"] = round(item["plays"] / total, 6)
        average = average_sequences(
            [analysed[item["track_id"]].sequence for item in used],
            weights=[item["plays"] for item in used],
        )
        inferable.append((listener, used, skipped, average))

    if cold_listeners:
        states = listener_mood_states(listener_ids=[listener.pk for listener, _ in cold_listeners])
        # The cold ones' last snapshots in full (their mood may be it): the same rows, by id.
        last_snapshots = MoodSnapshot.objects.in_bulk(
            [
                previous_inferred[listener.pk].pk
                for listener, _ in cold_listeners
                if listener.pk in previous_inferred
            ]
        )
        for listener, skipped in cold_listeners:
            previous = previous_inferred.get(listener.pk)
            snapshots.append(
                cold_start_snapshot(
                    listener=listener,
                    now=now,
                    version=version,
                    skipped=skipped,
                    state=states.get(listener.pk),
                    previous=previous and last_snapshots.get(previous.pk),
                )
            )
    if inferable:
        model = load_mood_model(version=version)
        # The same pass as tagging a track: probabilities and the valence/arousal point.
        predictions = tag_tracks(model, [average for *_, average in inferable])
        for (listener, used, skipped, _), prediction in zip(inferable, predictions, strict=True):
            snapshots.append(
                MoodSnapshot(
                    listener=listener,
                    created_at=now,
                    basis=MoodBasis.INFERRED,
                    label=prediction.label,
                    confidence=prediction.confidence,
                    probabilities=prediction.probabilities,
                    valence=prediction.valence,
                    arousal=prediction.arousal,
                    valence_arousal_source=prediction.valence_arousal_source or "",
                    model_version=version,
                    window_start=window_start,
                    window_end=now,
                    tracks=used,
                    skipped=skipped,
                )
            )
    with transaction.atomic():
        _store_snapshots(snapshots)
        _start_new_rounds_where_mood_changed(snapshots, previous_inferred=previous_inferred)
    return snapshots


def _store_snapshots(snapshots: list[MoodSnapshot]) -> None:
    """Insert a batch's snapshots and give each its id.

    PostgreSQL: one statement with the whole batch as one JSON parameter. ``bulk_create``
    prepared and quoted 17 values per snapshot in Python (about 45 ms of a batch of 256); the
    json module writes the batch in a few, and the table's row type gives each value its
    column's type. Floats and times travel as their exact text forms. Other databases:
    ``bulk_create``.
    """
    if connection.vendor != "postgresql" or not snapshots:
        bulk_create_with_json_parameters(
            MoodSnapshot, snapshots, json_fields=("probabilities", "tracks", "skipped")
        )
        return
    fields = [field for field in MoodSnapshot._meta.concrete_fields if not field.primary_key]
    document = json.dumps(
        [
            {field.column: getattr(snapshot, field.attname) for field in fields}
            for snapshot in snapshots
        ],
        default=json_default,
    )
    with connection.cursor() as cursor:
        cursor.execute(_snapshot_insert_sql(), [document])
        for snapshot, (snapshot_id,) in zip(snapshots, cursor.fetchall(), strict=True):
            snapshot.pk = snapshot_id
            snapshot._state.adding = False
            snapshot._state.db = connection.alias


@lru_cache(maxsize=1)
def _snapshot_insert_sql() -> str:
    quote = connection.ops.quote_name
    table = quote(MoodSnapshot._meta.db_table)
    columns = ", ".join(
        quote(field.column) for field in MoodSnapshot._meta.concrete_fields if not field.primary_key
    )
    # Rows go in, and their ids come back, in the batch's order (as with bulk_create's VALUES).
    return f"""
        INSERT INTO {table} ({columns})
        SELECT {columns} FROM json_populate_recordset(NULL::{table}, %s) WITH ORDINALITY
        ORDER BY ordinality
        RETURNING {quote(MoodSnapshot._meta.pk.column)}
    """


def cold_start_snapshot(
    *,
    listener: User,
    now: dt.datetime,
    version: MoodModelVersion,
    skipped: list[dict],
    state: ListenerMoodState | None,
    previous: MoodSnapshot | None,
) -> MoodSnapshot:
    """The mood of a listener with no usable plays in the window (unsaved).

    In order: the mood they declared (``PUT /api/v1/me/mood``) in their ``state``; with
    ``MOOD_COLD_START`` = ``last_known``, their last inferred mood (``previous``); otherwise an
    even spread over the emotions, so recommendations sample every emotion until feedback or
    plays say more.
    """
    labels = list(version.labels)
    common = {"listener": listener, "created_at": now, "model_version": version, "skipped": skipped}
    if state and state.declared_label and state.declared_label in labels:
        distribution = {label: float(label == state.declared_label) for label in labels}
        return MoodSnapshot(
            **common,
            **_derived_point(distribution),
            basis=MoodBasis.DECLARED,
            label=state.declared_label,
            confidence=1.0,
            probabilities=distribution,
        )
    if (
        settings.MOOD_COLD_START == "last_known"
        and previous is not None
        and list(previous.probabilities) == labels
    ):
        return MoodSnapshot(
            **common,
            basis=MoodBasis.LAST_KNOWN,
            label=previous.label,
            confidence=previous.confidence,
            probabilities=previous.probabilities,
            valence=previous.valence,
            arousal=previous.arousal,
            valence_arousal_source=previous.valence_arousal_source,
            tracks=previous.tracks,
        )
    spread = {label: 1.0 / len(labels) for label in labels}
    return MoodSnapshot(
        **common,
        **_derived_point(spread),
        basis=MoodBasis.SPREAD,
        label="",
        confidence=None,
        probabilities=spread,
    )


def _derived_point(distribution: dict[str, float]) -> dict:
    """A cold-start mood's valence/arousal fields: no features to read, so derived from its
    distribution (the declared quadrant's centre; the middle for an even spread)."""
    point = point_from_distribution(distribution)
    if point is None:
        return {"valence": None, "arousal": None, "valence_arousal_source": ""}
    return {
        "valence": point[0],
        "arousal": point[1],
        "valence_arousal_source": SOURCE_QUADRANT_PROBABILITIES,
    }


def current_mood(*, listener: User, version: MoodModelVersion | None = None) -> MoodSnapshot:
    """The listener's latest snapshot; inferred now if there is none yet.

    A stale snapshot (older than ``MOOD_SNAPSHOT_MAX_AGE_MINUTES``, or made by another model
    version than the active one) is still served, and a refresh is queued on the inference
    queue, so a request never waits on the model for a listener who has a recent mood.
    Without an active model there is no current mood: ``NoActiveMoodModel`` says what to do.
    ``version`` is the active model when the caller has just read it.
    """
    version = version or active_model_or_explain()
    snapshot, _ = _serve_mood(
        listener=listener, version=version, latest=latest_snapshot(listener=listener)
    )
    return snapshot


def _serve_mood(
    *, listener: User, version: MoodModelVersion, latest: MoodSnapshot | None
) -> tuple[MoodSnapshot, bool]:
    """``current_mood`` given the listener's ``latest`` snapshot, and whether it is that
    snapshot served as read, with no inference run or refresh requested (either may run at
    once, in-process, and start a new round in the listener's mood state)."""
    if latest is None:
        return infer_listener_moods(listeners=[listener])[0], False
    max_age = dt.timedelta(minutes=settings.MOOD_SNAPSHOT_MAX_AGE_MINUTES)
    stale_version = latest.model_version_id != version.pk
    if stale_version and latest.basis != MoodBasis.INFERRED:
        # A cold-start spread over another model's labels cannot steer this model's tags.
        return infer_listener_moods(listeners=[listener])[0], False
    if stale_version or timezone.now() - latest.created_at > max_age:
        request_mood_refresh(listener_id=listener.pk)
        return latest, False
    return latest, True


def active_model_or_explain() -> MoodModelVersion:
    version = active_model_version()
    if version is None:
        raise NoActiveMoodModel(no_active_model_explanation())
    return version


def request_mood_refresh(*, listener_id: int) -> None:
    """At most one mood inference per listener per ``MOOD_REFRESH_DEBOUNCE_SECONDS``, however
    many plays arrive meanwhile.

    The first request in a window claims a cache key (``add`` is atomic: concurrent requests
    agree on one winner); the others add nothing.

    - With a broker, the winner queues the task delayed by the window, so it runs after the
      burst and sees all of it. The task releases the claim as it starts: plays arriving
      during or after the inference claim the next window, and none is left unseen.
    - Without a broker, tasks run in-process and a countdown is ignored, so a delayed task
      would run at once, on every batch. There the claim is the window itself: the winner's
      inference runs at once, and the claim, never released, expires with the window. Plays
      later in the window count at the next refresh (the first batch after the window, the
      periodic batch, or a request finding the snapshot stale).
    """
    from recommender.tasks import infer_listener_mood

    debounce = settings.MOOD_REFRESH_DEBOUNCE_SECONDS
    if tasks_run_in_process():
        if cache.add(_window_key(listener_id), True, timeout=debounce):
            transaction.on_commit(lambda: infer_listener_mood.delay(listener_id))
        return
    if cache.add(_queued_key(listener_id), True, timeout=debounce + 60):
        transaction.on_commit(
            lambda: infer_listener_mood.apply_async((listener_id,), countdown=debounce)
        )


def refresh_listener_mood(*, listener: User) -> MoodSnapshot | None:
    """Infer the listener's mood now; None while no model is active.

    A queued refresh's claim is released first (see ``request_mood_refresh``).
    """
    cache.delete(_queued_key(listener.pk))
    snapshots = infer_listener_moods(listeners=[listener])
    return snapshots[0] if snapshots else None


def _queued_key(listener_id: int) -> str:
    return f"mood-refresh-queued:{listener_id}"


def _window_key(listener_id: int) -> str:
    return f"mood-refreshed-in-window:{listener_id}"


@dataclass(frozen=True)
class MoodDeclaration:
    state: ListenerMoodState
    # The listener's mood right after the declaration; None while no model is active.
    snapshot: MoodSnapshot | None
    # ``declared_mood_status``: whether the declared mood is now their mood, and why not.
    status: dict


def declare_mood(*, listener: User, label: str) -> MoodDeclaration:
    """Record the mood a listener states, and re-infer their mood at once.

    It is their mood whenever their plays say nothing (their plays take precedence); the
    outcome says which applies, so a declaration is never silently without effect.
    """
    version = active_model_version()
    if version is not None and label not in version.labels:
        raise ValueError(f"unknown emotion {label!r}; choose one of {version.labels}")
    state, _ = ListenerMoodState.objects.get_or_create(listener=listener)
    state.declared_label = label
    state.declared_at = timezone.now()
    state.save(update_fields=["declared_label", "declared_at", "updated_at"])
    # The mood changes now for a listener without usable plays, not at the next refresh.
    snapshot = refresh_listener_mood(listener=listener)
    status = declared_mood_status(state=state, snapshot=snapshot, version=version)
    return MoodDeclaration(state=state, snapshot=snapshot, status=status)


def _start_new_rounds_where_mood_changed(
    snapshots: Sequence[MoodSnapshot], *, previous_inferred: dict[int, MoodSnapshot]
) -> None:
    """A new most likely mood starts the seed rule afresh: old rejects and accepts are about
    the previous mood. (The bandit's counts are kept: they describe the listener.)

    ``previous_inferred`` holds each listener's latest inferred snapshot from before these."""
    changed = [
        snapshot.listener_id
        for snapshot in snapshots
        if snapshot.basis == MoodBasis.INFERRED
        and snapshot.listener_id in previous_inferred
        and previous_inferred[snapshot.listener_id].label != snapshot.label
    ]
    if changed:
        ListenerMoodState.objects.filter(listener_id__in=changed).update(
            rejected_labels=[], confirmed_label=""
        )


# --- Recommendations -------------------------------------------------------------------------


@dataclass(frozen=True)
class RecommendationPage:
    snapshot: MoodSnapshot
    version: MoodModelVersion
    policy: str
    target_label: str
    # label, display_name and confidence: how likely the listener's mood is the target, or
    # None when the listener chose the emotion (their mood is not the reason then).
    target_emotion: dict
    recommendations: list[Recommendation]
    # Set whenever the page is shorter than asked: {code, message, suggestions}, saying why
    # and what the listener can do (``_short_page_notice``). None for a full page.
    notice: dict | None = None


def recommend_tracks(
    *,
    listener: User,
    limit: int,
    emotion: str | None = None,
    exclude_artists: Sequence[str] = (),
    rng: np.random.Generator | None = None,
) -> RecommendationPage:
    """Serve up to ``limit`` tracks of the target emotion and record them as recommended.

    The target is ``emotion`` when given, else the policy's choice from the listener's mood
    among the emotions that still have a track for them. When the policy's target has fewer
    tracks left than ``limit``, the page is filled from the next emotions of ``fill_order``
    (each such item's explanation says so); an emotion the listener asked for is not filled.
    A page shorter than ``limit`` carries a notice saying why and what to do. Every served
    track is stored, which is what keeps it from ever being served again.
    """
    # One query for the latest snapshot, its model and the listener's mood state. A snapshot
    # made by the active model (only one is active) saves reading the active model.
    latest, state = latest_snapshot_and_state(listener=listener)
    if latest is not None and latest.model_version is not None and latest.model_version.is_active:
        version = latest.model_version
    else:
        version = active_model_or_explain()
    if emotion is not None and emotion not in version.labels:
        raise ValueError(f"unknown emotion {emotion!r}; choose one of {version.labels}")
    snapshot, as_read = _serve_mood(listener=listener, version=version, latest=latest)
    if latest is None or not as_read:
        # Not read with a snapshot, or an inference may just have started a new round.
        state = listener_mood_state(listener=listener)
    # A listener who never answered nor declared a mood has no state stored: reading needs
    # none (feedback and declarations store it), and an empty one reads the same.
    state = state or ListenerMoodState(listener=listener)
    policy = settings.RECOMMENDATION_POLICY
    now = timezone.now()
    played_since = now - dt.timedelta(days=settings.RECOMMENDATION_RECENT_PLAY_DAYS)
    # Enough rows of every emotion for a whole page, and for the songs placed before it.
    rows_per_emotion = (CANDIDATE_ROWS_PER_PLACE + 1) * limit
    candidates_by_emotion = recommendation_candidates_by_emotion(
        listener=listener,
        version=version,
        played_since=played_since,
        exclude_artists=exclude_artists,
        rows_per_emotion=rows_per_emotion,
    )
    available = set(candidates_by_emotion)
    probabilities = _mood_probabilities(snapshot, version)
    if emotion:
        target = emotion
        labels_to_serve = [emotion]
    else:
        choose = partial(
            choose_target_emotion, snapshot=snapshot, state=state, version=version, policy=policy
        )
        # With nothing left anywhere the page is empty whatever the target; it still names
        # the emotion the loop aims at.
        target = choose(rng=rng, available=available) or choose(rng=rng)
        labels_to_serve = [
            target,
            *fill_order(
                probabilities, target=target, rejected=state.rejected_labels, available=available
            ),
        ]

    placed: list[tuple[str, RankedTrack]] = []
    for label in labels_to_serve:
        room = limit - len(placed)
        if room <= 0:
            break
        if label not in available:
            continue
        placed_song_keys = {item.candidate.song_key for _, item in placed}
        read = candidates_by_emotion[label]
        rows = [candidate for candidate in read if candidate.song_key not in placed_song_keys]
        if len(rows) < room * CANDIDATE_ROWS_PER_PLACE and len(read) == rows_per_emotion:
            # Releases of the songs already placed used up the rows read: read this emotion
            # again with them left out in SQL (rare: a page rarely spans two emotions).
            candidates = recommendation_candidates(
                listener=listener,
                version=version,
                label=label,
                played_since=played_since,
                exclude_artists=exclude_artists,
                exclude_song_keys=placed_song_keys,
                limit=room,
            )
        else:
            candidates = distinct_songs(rows[: room * CANDIDATE_ROWS_PER_PLACE])
        popularity = track_play_counts(
            track_ids=[c.track_id for c in candidates],
            since=now - dt.timedelta(days=settings.RECOMMENDATION_POPULARITY_DAYS),
        )
        ranked = rank_candidates(
            candidates,
            popularity=popularity,
            limit=room,
            popularity_weight=settings.RECOMMENDATION_POPULARITY_WEIGHT,
            artist_repeat_penalty=settings.RECOMMENDATION_ARTIST_REPEAT_PENALTY,
        )
        placed += [(label, item) for item in ranked]

    explain = partial(
        _explanation,
        snapshot=snapshot,
        version=version,
        policy=policy,
        target=target,
        chosen=emotion,
        state=state,
        probabilities=probabilities,
        available=available,
        declared=declared_mood_status(state=state, snapshot=snapshot, version=version),
        target_served=sum(label == target for label, _ in placed),
    )
    explanations = {label: explain(label=label) for label in {target, *(lb for lb, _ in placed)}}
    batch = uuid.uuid4()
    using = router.db_for_write(Recommendation)
    recommendations = [
        Recommendation(
            listener=listener,
            track=candidate_track(item.candidate, using=using),
            song_key=item.candidate.song_key,
            batch=batch,
            rank=rank,
            policy="explicit" if emotion else policy,
            target_label=label,
            target_confidence=explanations[label]["target_emotion"]["confidence"],
            track_probability=item.candidate.probability,
            score=item.score,
            snapshot=snapshot,
            model_version=version,
            explanation={
                **explanations[label],
                "track_valence_arousal": valence_arousal_point(
                    valence=item.candidate.valence,
                    arousal=item.candidate.arousal,
                    source=item.candidate.valence_arousal_source,
                ),
                "ranking": item.reasons,
            },
            created_at=now,
        )
        for rank, (label, item) in enumerate(placed, start=1)
    ]
    # A concurrent request may have served the same song a moment ago; it keeps it, and the
    # song is left out of this page. The rows inserted come back with their ids (by rank).
    served = insert_skipping_conflicts(Recommendation, recommendations, key="rank")
    if served is None:  # a database without INSERT ... RETURNING: insert, then read back
        bulk_create_with_json_parameters(
            Recommendation, recommendations, json_fields=("explanation",), ignore_conflicts=True
        )
        served = list(
            Recommendation.objects.filter(listener=listener, batch=batch)
            .select_related("track")
            .order_by("rank")
        )
    notice = None
    if len(served) < limit:
        notice = _short_page_notice(
            listener=listener,
            version=version,
            served=len(served),
            limit=limit,
            chosen=emotion,
            available=available,
            probabilities=probabilities,
            played_since=played_since,
            exclude_artists=exclude_artists,
        )
    return RecommendationPage(
        snapshot=snapshot,
        version=version,
        policy="explicit" if emotion else policy,
        target_label=target,
        target_emotion=explanations[target]["target_emotion"],
        recommendations=served,
        notice=notice,
    )


def choose_target_emotion(
    *,
    snapshot: MoodSnapshot,
    state: ListenerMoodState,
    version: MoodModelVersion,
    policy: str,
    rng: np.random.Generator | None = None,
    available: Collection[str] | None = None,
) -> str | None:
    """The policy's emotion among ``available`` (all when None); None when none is."""
    probabilities = _mood_probabilities(snapshot, version)
    if policy == SEED_RULE:
        return seed_rule_target(
            probabilities,
            rejected=state.rejected_labels,
            confirmed=state.confirmed_label,
            available=available,
        )
    return thompson_target(
        probabilities,
        feedback=state.label_feedback,
        prior_strength=settings.RECOMMENDATION_PRIOR_STRENGTH,
        rng=rng or np.random.default_rng(),
        available=available,
    )


def _mood_probabilities(snapshot: MoodSnapshot, version: MoodModelVersion) -> dict[str, float]:
    return {label: snapshot.probabilities.get(label, 0.0) for label in version.labels}


def _explanation(
    *,
    snapshot: MoodSnapshot,
    version: MoodModelVersion,
    policy: str,
    target: str,
    label: str,
    chosen: str | None,
    state: ListenerMoodState,
    probabilities: dict[str, float],
    available: Collection[str],
    declared: dict | None,
    target_served: int,
) -> dict:
    """Why an item of emotion ``label`` is on a page whose target is ``target``.

    Names what moved the loop (the emotions turned down since the last accept, an accepted
    emotion kept, emotions with nothing left), the probability of the item's own emotion, a
    declared mood that was not used and why, and, for an item filling a page whose target
    ran short, that it does.
    """

    def name(of: str) -> str:
        return version.display_names.get(of) or display_name(of)

    def names(labels: Sequence[str]) -> str:
        named = [name(of) for of in labels]
        return named[0] if len(named) == 1 else f"{', '.join(named[:-1])} and {named[-1]}"

    # An emotion the listener asked for is not a guess about their mood: no confidence.
    confidence = None if chosen else probabilities.get(label)
    by_likelihood = sorted(probabilities, key=lambda of: (-probabilities[of], of))
    # Under the seed rule a rejected target means the round started over (said below); the
    # bandit may draw a rejected emotion, and the reason then says it was turned down.
    turned_down = [
        of
        for of in by_likelihood
        if of in state.rejected_labels and (of != target or policy != SEED_RULE)
    ]
    nothing_left = [
        of
        for of in by_likelihood
        if of not in available
        and of not in turned_down
        and probabilities[of] > probabilities.get(target, 0.0)
    ]
    fills_in_for = None
    if chosen:
        reason = f"you asked for {name(target)} tracks"
    else:
        reason = _mood_sentence(snapshot, name=name, declared=declared)
        # What moved the loop away from the mood (or kept it): answers, then exhaustion.
        moved = []
        if turned_down:
            moved.append(f"you turned down {names(turned_down)} tracks")
        if nothing_left:
            moved.append(f"no {names(nothing_left)} tracks are left for you")
        if policy == SEED_RULE and target in state.rejected_labels:
            moved.append("you turned down every emotion left, so the round starts over")
        if moved:
            reason += ", but " + " and ".join(moved)
        elif state.confirmed_label == target:
            reason += f", and you accepted {name(target)} tracks"
        likely = f"({_percent(probabilities.get(target))} likely)"
        if policy == SEED_RULE:
            step = "trying" if turned_down or nothing_left else "recommending"
            reason += f"; {step} {name(target)}{' next' if step == 'trying' else ''} {likely}"
        else:
            reason += (
                f"; recommending {name(target)} {likely}, drawn by Thompson sampling from your "
                "mood and your answers"
            )
        if label != target:
            fills_in_for = {
                "label": target,
                "display_name": name(target),
                "served": target_served,
            }
            left = (
                f"only {target_served} {name(target)} track"
                f"{' was' if target_served == 1 else 's were'} left"
                if target_served
                else f"no {name(target)} tracks were left"
            )
            reason += (
                f"; {left}, so this one is {name(label)}, the next most likely emotion "
                f"({_percent(confidence)} likely)"
            )
            if label in state.rejected_labels:
                reason += ": you turned it down, but nothing else is left"
    return {
        "reason": reason,
        "target_emotion": {"label": label, "display_name": name(label), "confidence": confidence},
        "fills_in_for": fills_in_for,
        "turned_down": [] if chosen else turned_down,
        "nothing_left": [] if chosen else nothing_left,
        "declared_mood": declared,
        "mood_basis": snapshot.basis,
        "mood_snapshot": snapshot.pk,
        "mood_valence_arousal": valence_arousal_point(
            valence=snapshot.valence,
            arousal=snapshot.arousal,
            source=snapshot.valence_arousal_source,
        ),
        "top_tracks": snapshot.tracks,
        "model_version": version.pk,
        "policy": "explicit" if chosen else policy,
    }


def _mood_sentence(snapshot: MoodSnapshot, *, name, declared: dict | None) -> str:
    window = settings.MOOD_WINDOW_DAYS
    if snapshot.basis == MoodBasis.INFERRED:
        sentence = f"your most played tracks of the past {window} days sound {name(snapshot.label)}"
        if declared and not declared["used"]:
            sentence += (
                f" (they take precedence over the mood you declared, {declared['display_name']})"
            )
        return sentence
    if snapshot.basis == MoodBasis.DECLARED:
        return f"you said you feel {name(snapshot.label)}"
    if snapshot.basis == MoodBasis.LAST_KNOWN:
        return (
            f"no plays in the past {window} days; your last known mood was {name(snapshot.label)}"
        )
    return f"no plays in the past {window} days and no known mood, so every emotion is as likely"


def _short_page_notice(
    *,
    listener: User,
    version: MoodModelVersion,
    served: int,
    limit: int,
    chosen: str | None,
    available: set[str],
    probabilities: dict[str, float],
    played_since: dt.datetime,
    exclude_artists: Sequence[str],
) -> dict:
    """Why a page holds fewer than ``limit`` tracks, and what the listener can do.

    ``available`` are the emotions that had tracks left before the page was served (without
    ``chosen``, the page went through all of them). Codes:
    ``emotion_exhausted`` (the emotion asked for ran out; others have tracks),
    ``last_tracks`` (a short page: nothing more is left) and ``nothing_left`` (an empty one).
    """

    def name(of: str) -> str:
        return version.display_names.get(of) or display_name(of)

    days = settings.RECOMMENDATION_RECENT_PLAY_DAYS
    suggestions = []
    others = sorted(
        (of for of in available if of != chosen), key=lambda of: (-probabilities[of], of)
    )
    if chosen and others:
        code = "emotion_exhausted"
        message = (
            f"{'Only ' + str(served) if served else 'No'} {name(chosen)} "
            f"track{'' if served == 1 else 's'} {'was' if served == 1 else 'were'} left to "
            f"recommend to you; other emotions still have tracks."
        )
        suggestions += [
            {
                "code": "choose_emotion",
                "message": f"ask for {name(of)} tracks (emotion={of})",
                "query": {"emotion": of},
            }
            for of in others
        ]
        suggestions.append(
            {
                "code": "follow_mood",
                "message": "leave out emotion= to follow your mood; the page is then filled "
                "from the next most likely emotions",
                "query": None,
            }
        )
    else:
        code = "last_tracks" if served else "nothing_left"
        scope = f"{name(chosen)} track" if chosen else "track"
        message = (
            f"{'These are the last' if served else 'Nothing is left'} to recommend to you: "
            f"every {scope} tagged by the mood model has been recommended to you, or you played "
            f"it in the past {days} days"
            + (", or it is by an artist you excluded" if exclude_artists else "")
            + "."
        )
        if exclude_artists and emotions_with_unserved_tracks(
            listener=listener, version=version, played_since=played_since
        ):
            suggestions.append(
                {
                    "code": "include_artists",
                    "message": "the artists you excluded still have tracks for you; leave out "
                    "exclude_artist= to get them",
                    "query": {"exclude_artist": []},
                }
            )
        suggestions += [
            {
                "code": "wait_for_new_tracks",
                "message": "new tracks are recommended as soon as they are analysed and "
                "tagged; ask again later",
                "query": None,
            },
            {
                "code": "wait_for_played_songs",
                "message": f"a song you played is recommended again {days} days after you "
                "last played it",
                "query": None,
            },
        ]
    return {"code": code, "message": message, "suggestions": suggestions}


def _percent(value: float | None) -> str:
    if value is None or math.isnan(value):
        return "?"
    # A probability the model gives almost nothing is not 0 %: it was still a candidate.
    return "under 1 %" if 0 < value < 0.005 else f"{100 * value:.0f} %"


# --- Feedback --------------------------------------------------------------------------------


@dataclass(frozen=True)
class FeedbackOutcome:
    recommendation: Recommendation
    changed: bool
    next_target: str | None


def record_feedback(*, recommendation: Recommendation, action: str) -> FeedbackOutcome:
    """Store an accept or reject and let the loop learn from it.

    Idempotent: repeating the same answer changes nothing; the other answer is a conflict.
    Accept confirms the emotion (the seed rule keeps it). Reject re-analyses the listener
    and marks the emotion rejected, so the seed rule moves to the next most likely one; the
    rejected song is never served again because every served song is.
    """
    with transaction.atomic():
        locked = Recommendation.objects.select_for_update().get(pk=recommendation.pk)
        if locked.feedback == action:
            return FeedbackOutcome(recommendation=locked, changed=False, next_target=None)
        if locked.feedback:
            raise FeedbackConflict(
                f"recommendation {locked.pk} was already answered {locked.feedback!r}; an "
                f"answer cannot be changed"
            )
        locked.feedback = action
        locked.feedback_at = timezone.now()
        locked.save(update_fields=["feedback", "feedback_at"])
        state, _ = ListenerMoodState.objects.select_for_update().get_or_create(
            listener_id=locked.listener_id
        )
        state.label_feedback = discounted_feedback(
            state.label_feedback,
            label=locked.target_label,
            action=action,
            decay=settings.RECOMMENDATION_FEEDBACK_DECAY,
        )
        if action == Feedback.ACCEPT:
            state.confirmed_label = locked.target_label
            state.rejected_labels = []
        else:
            if locked.target_label not in state.rejected_labels:
                state.rejected_labels = [*state.rejected_labels, locked.target_label]
            if state.confirmed_label == locked.target_label:
                state.confirmed_label = ""
        state.save()

    next_target = None
    version = active_model_version()
    snapshot = (
        refresh_listener_mood(listener=locked.listener)
        if action == Feedback.REJECT and version is not None
        else None
    )
    if snapshot is not None:
        state.refresh_from_db()
        available = emotions_with_unserved_tracks(
            listener=locked.listener,
            version=version,
            played_since=timezone.now()
            - dt.timedelta(days=settings.RECOMMENDATION_RECENT_PLAY_DAYS),
        )
        # Under the bandit this is one draw; the next request draws again. None: nothing is
        # left to recommend.
        next_target = choose_target_emotion(
            snapshot=snapshot,
            state=state,
            version=version,
            policy=settings.RECOMMENDATION_POLICY,
            available=available,
        )
    return FeedbackOutcome(recommendation=locked, changed=True, next_target=next_target)


def refresh_recently_active_moods(*, active_since: dt.datetime, batch_size: int = 256) -> int:
    """Re-infer the mood of every listener who sent plays since ``active_since``.

    Listeners go through the model ``batch_size`` at a time: one forward pass per batch.
    """
    listener_ids = list(listeners_active_since(since=active_since))
    refreshed = 0
    for start in range(0, len(listener_ids), batch_size):
        listeners = list(User.objects.filter(pk__in=listener_ids[start : start + batch_size]))
        refreshed += len(infer_listener_moods(listeners=listeners))
    return refreshed
