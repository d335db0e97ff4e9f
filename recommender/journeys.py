"""Writes for emotion journeys: plan one, answer its tracks, re-plan after a reject.

README: "Emotion journeys". The planning itself is pure (``recommender.journey_planning``);
this module finds the start and target, fetches the candidates around the path
(``recommender.journey_selectors``) and stores the tracks, each as a ``Recommendation`` so
the recommendation rules hold across journeys and recommendations.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from emotion.ml import display_name
from emotion.ml.valence_arousal import QUADRANT_CENTRES
from emotion.models import MoodModelVersion
from emotion.selectors import valence_arousal_point
from recommender.journey_planning import (
    JourneyCandidate,
    PlannedStep,
    Point,
    TargetRegion,
    estimated_mood,
    largest_waypoint_step,
    learned_reach,
    paced_waypoints,
    plan_path,
    quadrant_of,
    quadrant_region,
    step_reason,
    waypoints,
)
from recommender.journey_selectors import journey_candidates, journey_items
from recommender.models import Feedback, Journey, JourneyItem, Recommendation
from recommender.services import (
    NoActiveMoodModel,
    active_model_or_explain,
    current_mood,
    record_feedback,
)
from users.models import User

JOURNEY_POLICY = "journey"
MIN_LENGTH, MAX_LENGTH = 5, 50


class JourneyRequestError(ValueError):
    """The journey asked for cannot be planned as asked; the message says what to change.
    ``field`` names the request field at fault."""

    def __init__(self, message: str, *, field: str):
        super().__init__(message)
        self.field = field


class ItemReplaced(Exception):
    """The journey item was replaced by a re-plan; only current items can be answered."""


@dataclass(frozen=True)
class PointSpec:
    """A start or target as asked: a quadrant label, or a (valence, arousal) point."""

    label: str = ""
    valence: float | None = None
    arousal: float | None = None

    def resolve(self, *, field: str) -> Point:
        if self.label:
            if self.label not in QUADRANT_CENTRES:
                raise JourneyRequestError(
                    f"unknown emotion {self.label!r}; choose one of "
                    f"{', '.join(sorted(QUADRANT_CENTRES))} or a point "
                    '{"valence": v, "arousal": a} in [0, 1]²',
                    field=field,
                )
            return QUADRANT_CENTRES[self.label]
        return (float(self.valence), float(self.arousal))


def region_name(*, label: str, point: Point, version: MoodModelVersion | None) -> str:
    """A start or target in words: the quadrant's name, or "tense / angry at 0.30, 0.70"."""
    names = version.display_names if version is not None else {}
    if label:
        return display_name(label, overrides=names)
    return f"{display_name(quadrant_of(point), overrides=names)} at {point[0]:.2f}, {point[1]:.2f}"


def target_region(journey: Journey) -> TargetRegion:
    if journey.target_label:
        return quadrant_region(journey.target_label)
    return TargetRegion(
        point=(journey.target_valence, journey.target_arousal), radius=journey.target_radius
    )


def plan_journey(
    *,
    listener: User,
    target: PointSpec,
    length: int,
    start: PointSpec | None = None,
    curve: str = "straight",
    max_step: float | None = None,
) -> Journey:
    """Plan and store a journey of ``length`` tracks from ``start`` (default: the listener's
    current mood) to ``target``, each track served as a recommendation.

    Raises ``JourneyRequestError`` for a request that cannot be planned (an unknown target,
    a length out of range, a start mood without a point, steps larger than ``max_step``),
    ``NoActiveMoodModel`` without an active model.
    """
    if not MIN_LENGTH <= length <= MAX_LENGTH:
        raise JourneyRequestError(
            f"length must be between {MIN_LENGTH} and {MAX_LENGTH}", field="length"
        )
    max_step = settings.JOURNEY_MAX_STEP if max_step is None else max_step
    target_point = target.resolve(field="target")
    version = active_model_or_explain()
    snapshot = None
    if start is None:
        snapshot = current_mood(listener=listener)
        if snapshot.valence is None or snapshot.arousal is None:
            raise JourneyRequestError(
                "your mood has no point in the valence/arousal plane (the active model's "
                "emotions are not the four quadrants and it has no valence/arousal head); "
                'give a start: a quadrant or {"valence": v, "arousal": a}',
                field="start",
            )
        start_point: Point = (snapshot.valence, snapshot.arousal)
        start_label = ""
    else:
        start_point = start.resolve(field="start")
        start_label = start.label
    # The curve's evenly timed path only checks that the request can reach the target at
    # all; the tracks are chosen one by one from the mood (``plan_path``), again after each
    # answer.
    needed = largest_waypoint_step(
        waypoints(start=start_point, target=target_point, count=length, curve=curve)
    )
    if needed > max_step + 1e-9:
        origin = region_name(label=start_label, point=start_point, version=version)
        destination = region_name(label=target.label, point=target_point, version=version)
        raise JourneyRequestError(
            f"{length} tracks from {origin} to {destination} "
            f"({curve}) need steps of {needed:.3f}, more than the largest step allowed, "
            f"{max_step:.3f}; ask for a longer journey or a larger max_step",
            field="length",
        )
    now = timezone.now()
    journey = Journey(
        listener=listener,
        created_at=now,
        model_version=version,
        length=length,
        curve=curve,
        max_step=max_step,
        start_valence=start_point[0],
        start_arousal=start_point[1],
        start_label=start_label,
        start_snapshot=snapshot,
        target_label=target.label,
        target_valence=target_point[0],
        target_arousal=target_point[1],
        target_radius=settings.JOURNEY_TARGET_RADIUS,
    )
    for attempt in range(2):
        try:
            with transaction.atomic():
                journey.save()
                _store_plan(
                    journey=journey,
                    version=version,
                    origin=start_point,
                    mood=start_point,
                    reach=learned_reach(answers=[], max_step=max_step),
                    count=length,
                    first_position=1,
                    plan=0,
                    previous_waypoint=None,
                    placed=[],
                    rejected_points=[],
                )
            return journey
        except IntegrityError:
            # A concurrent request served one of the songs a moment ago: plan again once.
            journey.pk = None
            if attempt:
                raise
    raise AssertionError("unreachable")


def _store_plan(
    *,
    journey: Journey,
    version: MoodModelVersion,
    origin: Point,
    mood: Point,
    reach: float,
    count: int,
    first_position: int,
    plan: int,
    previous_waypoint: Point | None,
    placed: Sequence[JourneyItem],
    rejected_points: Sequence[Point],
) -> list[JourneyItem]:
    """Plan ``count`` tracks from ``mood`` (``plan_path``) and store them from
    ``first_position`` on; ``origin`` is the track before them (the start for the first)."""
    now = timezone.now()
    first = first_position == 1
    target = target_region(journey)
    aims = paced_waypoints(
        mood=mood,
        target=target.point,
        count=count,
        reach=reach,
        max_step=journey.max_step,
        curve=journey.curve,
        steps_before=first_position - 1,
        include_start=first,
    )
    candidates = journey_candidates(
        listener=journey.listener,
        version=version,
        # The mood too: when the way ahead is empty, the tracks near the listener are the
        # ones to hold with.
        points=[mood, *aims],
        radius=journey.max_step,
        played_since=now - dt.timedelta(days=settings.RECOMMENDATION_RECENT_PLAY_DAYS),
    )
    steps = plan_path(
        start=origin,
        mood=mood,
        target=target,
        count=count,
        candidates=candidates,
        max_step=journey.max_step,
        reach=reach,
        curve=journey.curve,
        steps_before=first_position - 1,
        include_start=first,
        artist_repeat_penalty=settings.RECOMMENDATION_ARTIST_REPEAT_PENALTY,
        placed_artists=[item.track.artist for item in placed],
        placed_song_keys=[item.track.song_key for item in placed],
        rejected_points=rejected_points,
        reject_radius=settings.JOURNEY_REJECT_RADIUS,
        reject_penalty=settings.JOURNEY_REJECT_PENALTY,
    )
    start_name = region_name(
        label=journey.start_label,
        point=(journey.start_valence, journey.start_arousal),
        version=version,
    )
    target_name = region_name(
        label=journey.target_label,
        point=(journey.target_valence, journey.target_arousal),
        version=version,
    )
    batch = uuid.uuid4()
    items = []
    for offset, step in enumerate(steps):
        position = first_position + offset
        previous = previous_waypoint if offset == 0 else steps[offset - 1].waypoint
        reason = step_reason(
            position=position,
            length=journey.length,
            previous_waypoint=previous,
            waypoint=step.waypoint,
            start_name=start_name,
            target_name=target_name,
        )
        items.append(
            (
                step,
                _recommendation(
                    journey=journey,
                    version=version,
                    step=step,
                    position=position,
                    reason=reason,
                    batch=batch,
                    now=now,
                ),
                reason,
                position,
            )
        )
    # No ignore_conflicts: a song a concurrent request just served must fail the plan.
    Recommendation.objects.bulk_create([recommendation for _, recommendation, _, _ in items])
    return JourneyItem.objects.bulk_create(
        [
            JourneyItem(
                journey=journey,
                position=position,
                plan=plan,
                track_id=step.candidate.track_id,
                recommendation=recommendation,
                waypoint_valence=step.waypoint[0],
                waypoint_arousal=step.waypoint[1],
                valence=step.candidate.valence,
                arousal=step.candidate.arousal,
                step=step.step,
                reason=reason,
            )
            for step, recommendation, reason, position in items
        ]
    )


def _recommendation(
    *,
    journey: Journey,
    version: MoodModelVersion,
    step: PlannedStep,
    position: int,
    reason: str,
    batch: uuid.UUID,
    now: dt.datetime,
) -> Recommendation:
    candidate: JourneyCandidate = step.candidate
    closeness = 1.0 - step.distance_to_waypoint / journey.max_step
    return Recommendation(
        listener=journey.listener,
        track_id=candidate.track_id,
        song_key=candidate.song_key,
        batch=batch,
        rank=position,
        policy=JOURNEY_POLICY,
        # The track's own emotion: an answer teaches the loop about it as any answer does.
        target_label=candidate.label,
        target_confidence=None,
        track_probability=candidate.confidence,
        score=round(closeness, 6),
        snapshot=journey.start_snapshot,
        model_version=version,
        explanation={
            "reason": reason,
            "policy": JOURNEY_POLICY,
            "journey": journey.pk,
            "position": position,
            "waypoint": {"valence": step.waypoint[0], "arousal": step.waypoint[1]},
            "mood_valence_arousal": {
                "valence": journey.start_valence,
                "arousal": journey.start_arousal,
                "source": "journey_start",
            },
            "track_valence_arousal": valence_arousal_point(
                valence=candidate.valence, arousal=candidate.arousal, source=""
            ),
            "model_version": version.pk,
            "ranking": {
                "closeness": round(closeness, 6),
                "distance_to_waypoint": round(step.distance_to_waypoint, 6),
                "step": round(step.step, 6),
                "same_artist_above": step.same_artist_before,
            },
        },
        created_at=now,
    )


@dataclass(frozen=True)
class JourneyAnswer:
    item: JourneyItem
    changed: bool
    replanned: bool


def answer_journey_item(*, item: JourneyItem, action: str) -> JourneyAnswer:
    """Accept or reject a journey track, as a recommendation (``record_feedback``: the same
    answer twice is a no-op, the other answer a ``FeedbackConflict``). Every new answer
    re-plans the rest of the journey (``replan_after_answer``)."""
    if item.replaced or item.recommendation is None:
        raise ItemReplaced(
            f"journey item {item.pk} was replaced by a re-plan; answer the journey's current items"
        )
    outcome = record_feedback(recommendation=item.recommendation, action=action)
    item.recommendation = outcome.recommendation
    replanned = False
    if outcome.changed:
        try:
            replanned = replan_after_answer(journey=item.journey, answered=item)
        except NoActiveMoodModel:
            # The answer is stored either way; with no model active (none yet, or being
            # replaced) the rest of the plan stays as it was instead of failing the answer.
            replanned = False
    return JourneyAnswer(item=item, changed=outcome.changed, replanned=replanned)


def replan_after_answer(*, journey: Journey, answered: JourneyItem) -> bool:
    """Re-plan the unanswered tracks after ``answered``; False when none was left to re-plan.

    The rest is planned from the listener as the answers so far show them: the mood moved
    by each accepted track (``estimated_mood``: a mood lags behind the music), and the
    reach learned from the accepts and rejects in order (``learned_reach``: a reject says
    the step was too far). The tracks stay within ``max_step`` of where the listener last
    was with us (the last accepted track, the start if none; not a rejected track, whose
    mood they just turned down). Every track rejected on this journey marks a region
    (``JOURNEY_REJECT_RADIUS``) the new plan avoids (``JOURNEY_REJECT_PENALTY``). The
    replaced items stay, marked ``replaced``; their unanswered recommendations are deleted,
    so those songs may be planned again.
    """
    version = active_model_or_explain()
    with transaction.atomic():
        Journey.objects.select_for_update().get(pk=journey.pk)
        current = list(journey_items(journey=journey).select_related("recommendation"))
        answered_before = [
            item for item in current if item.recommendation and item.recommendation.feedback
        ]
        last_answered = max((item.position for item in answered_before), default=0)
        first_position = max(answered.position, last_answered) + 1
        pending = [item for item in current if item.position >= first_position]
        remaining = journey.length - first_position + 1
        if remaining <= 0:
            return False
        JourneyItem.objects.filter(pk__in=[item.pk for item in pending]).update(replaced=True)
        Recommendation.objects.filter(
            pk__in=[item.recommendation_id for item in pending if item.recommendation_id],
            feedback="",
        ).delete()
        kept = [item for item in current if item.position < first_position]
        accepted = [
            item
            for item in kept
            if item.recommendation and item.recommendation.feedback == "accept"
        ]
        start = (journey.start_valence, journey.start_arousal)
        origin = (accepted[-1].valence, accepted[-1].arousal) if accepted else start
        rejected_points = [
            (item.valence, item.arousal)
            for item in JourneyItem.objects.filter(
                journey=journey, recommendation__feedback=Feedback.REJECT
            )
        ]
        mood = estimated_mood(
            start=start, accepted=[(item.valence, item.arousal) for item in accepted]
        )
        reach = learned_reach(
            answers=[
                item.recommendation.feedback == Feedback.ACCEPT
                for item in kept
                if item.recommendation and item.recommendation.feedback
            ],
            max_step=journey.max_step,
        )
        previous_waypoint = (
            (kept[-1].waypoint_valence, kept[-1].waypoint_arousal) if kept else origin
        )
        journey.replans += 1
        journey.save(update_fields=["replans"])
        for attempt in range(2):
            try:
                with transaction.atomic():
                    _store_plan(
                        journey=journey,
                        version=version,
                        origin=origin,
                        mood=mood,
                        reach=reach,
                        count=remaining,
                        first_position=first_position,
                        plan=journey.replans,
                        previous_waypoint=previous_waypoint,
                        placed=kept,
                        rejected_points=rejected_points,
                    )
                break
            except IntegrityError:
                # A concurrent request served one of the songs a moment ago: plan again once.
                if attempt:
                    raise
    return True


@dataclass(frozen=True)
class JourneyProgress:
    answered: int
    accepted: int
    rejected: int
    next_position: int | None
    complete: bool
    reaches_target: bool
    planned: int


def journey_progress(*, journey: Journey, items: Sequence[JourneyItem]) -> JourneyProgress:
    """Where a journey stands: answers so far, the next position to play, whether its last
    track lies in the target region."""
    feedback = [item.recommendation.feedback if item.recommendation else "" for item in items]
    unanswered = [item.position for item, answer in zip(items, feedback, strict=True) if not answer]
    region = target_region(journey)
    return JourneyProgress(
        answered=sum(bool(answer) for answer in feedback),
        accepted=feedback.count(Feedback.ACCEPT),
        rejected=feedback.count(Feedback.REJECT),
        next_position=min(unanswered, default=None),
        complete=not unanswered,
        reaches_target=bool(items) and region.contains((items[-1].valence, items[-1].arousal)),
        planned=len(items),
    )
