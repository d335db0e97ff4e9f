"""Planning an emotion journey in the valence/arousal plane. Pure functions, no Django.

The iso principle of music therapy: first match the listener's mood, then lead it step by
step towards the mood they want. A journey of ``length`` tracks is planned as

1. **Waypoints** from the start point to the target point: waypoint i of n sits at
   start + f(i / (n - 1)) × (target - start), with f the identity (``straight``) or
   smoothstep 3x² − 2x³ (``ease``: it lingers near the start mood, moves through the middle,
   and settles into the target; its steepest step is 1.5 × a straight one's).
2. **One track per waypoint, greedily in order:** among the candidates not yet placed (one
   per song key) and no farther than ``max_step`` from the previous track (the start point
   for the first), the one nearest to the waypoint. Nearness becomes a score in the units of
   the recommendation ranking (``recommender.ranking.rank_candidates``: closeness
   1 − distance / ``max_step``), so its artist-repeat penalty applies unchanged, counting
   the artist's tracks already on the journey; a candidate within ``reject_radius`` of a
   point the listener rejected loses ``reject_penalty`` more.
3. A waypoint with no candidate within ``max_step`` of the previous track gets no track:
   the journey comes out shorter, never with a jump larger than ``max_step``.

The candidates come from the database (``recommender.journey_selectors``), already limited
to what may be recommended to the listener.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from emotion.ml.valence_arousal import QUADRANT_CENTRES

STRAIGHT = "straight"
EASE = "ease"
CURVES = (STRAIGHT, EASE)

Point = tuple[float, float]


@dataclass(frozen=True)
class JourneyCandidate:
    """A track that may be placed on a journey, at its (valence, arousal) point."""

    track_id: int
    song_key: str
    artist: str
    valence: float
    arousal: float
    label: str = ""
    confidence: float = 0.0

    @property
    def point(self) -> Point:
        return (self.valence, self.arousal)


@dataclass(frozen=True)
class PlannedStep:
    waypoint_index: int  # 0-based index into the waypoints given to ``plan_path``
    waypoint: Point
    candidate: JourneyCandidate
    distance_to_waypoint: float
    step: float  # distance from the previous track (from the start point for the first)
    same_artist_before: int


@dataclass(frozen=True)
class TargetRegion:
    """Where a journey should end: a quadrant (``label``) or a disc around a point."""

    point: Point
    label: str = ""
    radius: float = 0.0

    def contains(self, point: Point) -> bool:
        if self.label:
            return quadrant_of(point) == self.label
        return distance(point, self.point) <= self.radius + 1e-9


def distance(a: Point, b: Point) -> float:
    return math.hypot(a[0] - b[0], a[1] - b[1])


def quadrant_of(point: Point) -> str:
    """Russell's quadrant of a point; the mid lines belong to the positive / high side."""
    positive, high = point[0] >= 0.5, point[1] >= 0.5
    return {(True, True): "Q1", (False, True): "Q2", (False, False): "Q3", (True, False): "Q4"}[
        (positive, high)
    ]


def quadrant_region(label: str) -> TargetRegion:
    if label not in QUADRANT_CENTRES:
        raise ValueError(f"unknown quadrant {label!r}; choose one of {sorted(QUADRANT_CENTRES)}")
    return TargetRegion(point=QUADRANT_CENTRES[label], label=label)


def ease_fraction(fraction: float, *, curve: str) -> float:
    if curve == STRAIGHT:
        return fraction
    if curve == EASE:
        return fraction * fraction * (3.0 - 2.0 * fraction)
    raise ValueError(f"unknown curve {curve!r}; choose one of {CURVES}")


def waypoints(
    *, start: Point, target: Point, count: int, curve: str = STRAIGHT, include_start: bool = True
) -> list[Point]:
    """``count`` points from ``start`` to ``target``, the last one on the target.

    With ``include_start`` the first is the start itself (a new journey first matches the
    mood); without it the path begins one step in (a re-plan after a track already placed).
    """
    if count < 1:
        raise ValueError("a journey needs at least one waypoint")
    if include_start:
        fractions = [i / (count - 1) if count > 1 else 1.0 for i in range(count)]
    else:
        fractions = [(i + 1) / count for i in range(count)]
    return [
        (
            start[0] + ease_fraction(f, curve=curve) * (target[0] - start[0]),
            start[1] + ease_fraction(f, curve=curve) * (target[1] - start[1]),
        )
        for f in fractions
    ]


# A listener's mood is taken to be where the last few tracks they accepted were (the start
# filling in until that many were accepted): a mood follows the music with a lag, so the
# latest track alone runs ahead of it, and the journey's start alone falls behind.
MOOD_WINDOW = 3
# How far past that estimate the next track may lie, as a share of ``max_step``: a step the
# listener can still hear as "a little further", with room left for the estimate, and a
# track's point, being off. ``max_step`` bounds track-to-track jumps; this bounds how far
# the music runs ahead of the listener.
LEAD_SHARE = 0.5
# ``ease`` eases in: its lead grows (smoothstep) over this many steps after the first track.
EASE_IN_STEPS = 3


def estimated_mood(*, start: Point, accepted: Sequence[Point], window: int = MOOD_WINDOW) -> Point:
    """The mean of the last ``window`` accepted points, the start standing in for the rest."""
    recent = [start] * max(0, window - len(accepted)) + list(accepted)[-window:]
    return (
        sum(point[0] for point in recent) / len(recent),
        sum(point[1] for point in recent) / len(recent),
    )


def paced_waypoints(
    *,
    start: Point,
    target: Point,
    count: int,
    lead: float,
    accepted: Sequence[Point] = (),
    curve: str = STRAIGHT,
    steps_before: int = 0,
    include_start: bool = True,
) -> list[Point]:
    """``count`` waypoints that lead the listener's mood to ``target`` at a pace they follow.

    Each waypoint lies ``lead`` beyond the estimated mood (``estimated_mood``), towards the
    target, the mood projected as if every earlier waypoint were accepted; once the target is
    within ``lead``, the waypoints stay on it, so the last tracks hold the mood inside the
    target region while it settles. With ``include_start`` the first waypoint is the start
    (a new journey first matches the mood). ``accepted`` are the points already accepted on
    the journey, ``steps_before`` the tracks placed before these waypoints (``ease`` grows its
    lead over the first ``EASE_IN_STEPS``).
    """
    if count < 1:
        raise ValueError("a journey needs at least one waypoint")
    history = list(accepted)
    points: list[Point] = []
    for index in range(count):
        if include_start and index == 0:
            point = start
        else:
            steps = steps_before + index
            pace = lead
            if curve == EASE:
                pace *= ease_fraction(min(1.0, steps / EASE_IN_STEPS), curve=EASE)
            else:
                ease_fraction(0.0, curve=curve)  # refuses an unknown curve
            mood = estimated_mood(start=start, accepted=history)
            gap = distance(mood, target)
            if gap <= pace:
                point = target
            else:
                share = pace / gap
                point = (
                    mood[0] + share * (target[0] - mood[0]),
                    mood[1] + share * (target[1] - mood[1]),
                )
        points.append(point)
        history.append(point)
    return points


def largest_waypoint_step(points: Sequence[Point], *, start: Point | None = None) -> float:
    """The longest hop between consecutive waypoints (from ``start`` to the first if given)."""
    path = [start, *points] if start is not None else list(points)
    return max((distance(a, b) for a, b in zip(path, path[1:], strict=False)), default=0.0)


def plan_path(
    *,
    start: Point,
    waypoints: Sequence[Point],
    candidates: Iterable[JourneyCandidate],
    max_step: float,
    artist_repeat_penalty: float,
    placed_artists: Iterable[str] = (),
    placed_song_keys: Iterable[str] = (),
    rejected_points: Sequence[Point] = (),
    reject_radius: float = 0.0,
    reject_penalty: float = 0.0,
) -> list[PlannedStep]:
    """One track per waypoint (or none where nothing is within ``max_step``); see the module.

    ``placed_artists`` and ``placed_song_keys`` are the journey's tracks before these
    waypoints (a re-plan keeps counting them); ``rejected_points`` the points the listener
    turned down on this journey.
    """
    if max_step <= 0:
        raise ValueError("max_step must be positive")
    # One array per attribute, so each waypoint scores every candidate at once; the choice
    # is ``rank_candidates``' (highest score, the lowest track id on a tie), computed here on
    # arrays because a Python loop over the pool per waypoint was most of the planning time.
    pool = list({c.track_id: c for c in candidates}.values())
    if not pool:
        return []
    points = np.array([c.point for c in pool], dtype=float)
    track_ids = np.array([c.track_id for c in pool])
    artist_names = [c.artist.casefold() for c in pool]
    artist_index = {name: i for i, name in enumerate(dict.fromkeys(artist_names))}
    artist_of = np.array([artist_index[name] for name in artist_names])
    artists = Counter(artist.casefold() for artist in placed_artists)
    artist_counts = np.array([artists[name] for name in artist_index], dtype=float)
    song_of = {key: i for i, key in enumerate(dict.fromkeys(c.song_key for c in pool))}
    song_index = np.array([song_of[c.song_key] for c in pool])
    available = ~np.isin(song_index, [song_of[k] for k in set(placed_song_keys) if k in song_of])
    near_rejected = np.zeros(len(pool), dtype=bool)
    for point in rejected_points:
        near_rejected |= _distances(points, point) <= reject_radius
    penalty = np.where(near_rejected, reject_penalty, 0.0)
    previous = start
    steps: list[PlannedStep] = []
    for index, waypoint in enumerate(waypoints):
        reachable = available & (_distances(points, previous) <= max_step)
        if not reachable.any():
            continue
        closeness = 1.0 - _distances(points, waypoint) / max_step - penalty
        score = closeness - artist_repeat_penalty * artist_counts[artist_of]
        best_score = score[reachable].max()
        best = int(
            np.flatnonzero(reachable & (score == best_score))[
                np.argmin(track_ids[reachable & (score == best_score)])
            ]
        )
        chosen = pool[best]
        steps.append(
            PlannedStep(
                waypoint_index=index,
                waypoint=waypoint,
                candidate=chosen,
                distance_to_waypoint=distance(chosen.point, waypoint),
                step=distance(chosen.point, previous),
                same_artist_before=int(artist_counts[artist_of[best]]),
            )
        )
        available &= song_index != song_index[best]
        artist_counts[artist_of[best]] += 1
        previous = chosen.point
    return steps


def _distances(points: np.ndarray, to: Point) -> np.ndarray:
    return np.hypot(points[:, 0] - to[0], points[:, 1] - to[1])


def describe_move(
    previous: Point, point: Point, *, little: float = 0.05, much: float = 0.15
) -> str:
    """A move in the plane in words: "a little happier and calmer", "much more energetic"."""
    sizes, words = [], []
    for delta, up, down in (
        (point[0] - previous[0], "happier", "sadder"),
        (point[1] - previous[1], "more energetic", "calmer"),
    ):
        if abs(delta) < 0.01:
            continue
        sizes.append(
            "a little " if abs(delta) < little else ("much " if abs(delta) >= much else "")
        )
        words.append(up if delta > 0 else down)
    if not words:
        return "about the same"
    if len(set(sizes)) == 1:  # "a little happier and calmer", not "a little … a little …"
        return sizes[0] + " and ".join(words)
    return " and ".join(size + word for size, word in zip(sizes, words, strict=True))


def step_reason(
    *,
    position: int,
    length: int,
    previous_waypoint: Point | None,
    waypoint: Point,
    start_name: str,
    target_name: str,
) -> str:
    """Why this track: "step 3 of 10: a little happier and calmer, on the way from sad to
    relaxed". ``position`` is 1-based."""
    prefix = f"step {position} of {length}"
    if previous_waypoint is None:
        return f"{prefix}: matching how you feel now ({start_name})"
    move = describe_move(previous_waypoint, waypoint)
    if position == length:
        return f"{prefix}: {move}, arriving at {target_name}"
    return f"{prefix}: {move}, on the way from {start_name} to {target_name}"
