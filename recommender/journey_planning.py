"""Planning an emotion journey in the valence/arousal plane. Pure functions, no Django.

The iso principle of music therapy: first match the listener's mood, then lead it step by
step towards the mood they want. A journey of ``length`` tracks is planned greedily, one
track at a time, against a model of the listener (README, "Emotion journeys"):

1. **The mood** starts at the journey's start (the listener's mood snapshot, or the start
   they gave) and moves ``MOOD_FOLLOW`` of the way to each track they accept
   (``estimated_mood``); a reject leaves it.
2. **The first track matches it:** the nearest track to the mood.
3. **Each next track leads it:** among the tracks within the *reach* of the mood (learned
   from the answers, ``learned_reach``), the one whose acceptance would bring the mood
   nearest the target region (a quadrant, or a disc around a point). That is progress, not
   nearness to a straight line: where the catalogue has no tracks on the straight way, the
   path goes round through tracks that exist. With no track within the reach that leads on
   (a sparse catalogue), the same choice among all the tracks within ``max_step``. ``ease``
   grows the reach over the first steps, so the journey stays near the start mood longer.
4. **The rules of a recommendation hold:** one track per song key; no track farther than
   ``max_step`` from the previous one (a journey with nothing in reach comes out shorter,
   never with a larger jump). Progress becomes a score in the units of the recommendation
   ranking (``recommender.ranking.rank_candidates``: 1 for the most a track within the
   reach could give), so its artist-repeat penalty applies unchanged, counting the artist's
   tracks already on the journey; a candidate within ``reject_radius`` of a point the
   listener rejected loses ``reject_penalty`` more.

A planned journey assumes every track is accepted; every answer re-plans the rest
(``recommender.journeys.replan_after_answer``) from the mood and reach the answers so far
give. ``waypoints`` (evenly from start to target) only checks that a request can reach the
target within ``max_step`` steps at all.

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

    def gaps(self, points: np.ndarray) -> np.ndarray:
        """How far each of ``points`` (an n × 2 array) lies outside the region (0 inside),
        plus ``CENTRE_PULL`` × its distance to the region's centre."""
        to_centre = _distances(points, self.point)
        if self.label:
            # A quadrant: on each axis, the shortfall from the mid line on the centre's side.
            shortfall = np.where(
                np.asarray(self.point) >= 0.5, np.maximum(0.0, 0.5 - points), points - 0.5
            )
            shortfall = np.maximum(0.0, shortfall)
            outside = np.hypot(shortfall[:, 0], shortfall[:, 1])
        else:
            outside = np.maximum(0.0, to_centre - self.radius)
        return outside + CENTRE_PULL * to_centre

    def gap(self, point: Point) -> float:
        return float(self.gaps(np.array([point], dtype=float))[0])


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


# How the planner follows a listener's mood (README, "Emotion journeys"). A mood follows
# the music with a lag: each accepted track is taken to move it ``MOOD_FOLLOW`` of the way to
# the track's point, from the journey's start, and a rejected track to leave it where it was.
# A quarter is on the cautious side: a listener whose mood moves further than assumed is
# met by tracks a little behind them, which they still accept; one who moves less would be
# met by tracks running ahead, which they reject.
MOOD_FOLLOW = 0.25
# How far from the estimated mood a track may lie (the *reach*) is learned from the answers,
# additive increase and multiplicative decrease as in TCP's congestion window: it starts at
# ``REACH_START_SHARE`` × ``max_step``, grows by ``REACH_GROWTH_SHARE`` × ``max_step`` with
# each accept (up to ``max_step``) and shrinks by ``REACH_BACKOFF`` with each reject (down to
# ``REACH_FLOOR_SHARE`` × ``max_step``). A listener who follows gets larger steps; one who
# turns tracks down gets tracks nearer to where they are.
REACH_START_SHARE = 0.5
REACH_GROWTH_SHARE = 0.04
REACH_BACKOFF = 0.8
REACH_FLOOR_SHARE = 0.1
# ``ease`` eases in: its reach grows (smoothstep) over this many steps after the first track.
EASE_IN_STEPS = 3
# Inside the target region every point is as good; this small pull towards its centre keeps
# the last tracks settling into it rather than along its edge.
CENTRE_PULL = 0.01


def estimated_mood(
    *, start: Point, accepted: Sequence[Point], follow: float = MOOD_FOLLOW
) -> Point:
    """The mood after the ``accepted`` points, in order: each moves it ``follow`` of the way."""
    valence, arousal = start
    for point in accepted:
        valence += follow * (point[0] - valence)
        arousal += follow * (point[1] - arousal)
    return (valence, arousal)


def learned_reach(*, answers: Sequence[bool], max_step: float) -> float:
    """The reach after ``answers`` (True for an accept, in order); see ``REACH_BACKOFF``."""
    reach = REACH_START_SHARE * max_step
    for accepted in answers:
        if accepted:
            reach = min(max_step, reach + REACH_GROWTH_SHARE * max_step)
        else:
            reach = max(REACH_FLOOR_SHARE * max_step, reach * REACH_BACKOFF)
    return reach


def _eased_reach(reach: float, *, curve: str, steps: int) -> float:
    """The reach of the track after ``steps`` tracks: ``ease`` grows it over the first few."""
    if curve == EASE:
        return reach * ease_fraction(min(1.0, steps / EASE_IN_STEPS), curve=EASE)
    ease_fraction(0.0, curve=curve)  # refuses an unknown curve
    return reach


def _aim(mood: Point, target: Point, reach: float) -> Point:
    """``reach`` from ``mood`` towards ``target``, or the target itself when nearer."""
    gap = distance(mood, target)
    if gap <= reach:
        return target
    share = reach / gap
    return (mood[0] + share * (target[0] - mood[0]), mood[1] + share * (target[1] - mood[1]))


def _moved(mood: Point, towards: Point, follow: float) -> Point:
    return (mood[0] + follow * (towards[0] - mood[0]), mood[1] + follow * (towards[1] - mood[1]))


def paced_waypoints(
    *,
    mood: Point,
    target: Point,
    count: int,
    reach: float,
    max_step: float,
    curve: str = STRAIGHT,
    steps_before: int = 0,
    include_start: bool = True,
    follow: float = MOOD_FOLLOW,
) -> list[Point]:
    """The points ``plan_path`` will aim its ``count`` tracks at if each track lay on its
    point and was accepted: where the candidates are fetched from.

    With ``include_start`` the first is the mood itself (a new journey first matches it);
    each next one lies the reach beyond the mood as projected so far, towards ``target``.
    """
    if count < 1:
        raise ValueError("a journey needs at least one waypoint")
    points: list[Point] = []
    for index in range(count):
        if include_start and index == 0:
            point = mood
        else:
            steps = steps_before + index
            point = _aim(mood, target, _eased_reach(reach, curve=curve, steps=steps))
            reach = min(max_step, reach + REACH_GROWTH_SHARE * max_step)
        points.append(point)
        mood = _moved(mood, point, follow)
    return points


def largest_waypoint_step(points: Sequence[Point], *, start: Point | None = None) -> float:
    """The longest hop between consecutive waypoints (from ``start`` to the first if given)."""
    path = [start, *points] if start is not None else list(points)
    return max((distance(a, b) for a, b in zip(path, path[1:], strict=False)), default=0.0)


def plan_path(
    *,
    start: Point,
    mood: Point,
    target: TargetRegion,
    count: int,
    candidates: Iterable[JourneyCandidate],
    max_step: float,
    reach: float,
    artist_repeat_penalty: float,
    curve: str = STRAIGHT,
    steps_before: int = 0,
    include_start: bool = True,
    placed_artists: Iterable[str] = (),
    placed_song_keys: Iterable[str] = (),
    rejected_points: Sequence[Point] = (),
    reject_radius: float = 0.0,
    reject_penalty: float = 0.0,
    follow: float = MOOD_FOLLOW,
) -> list[PlannedStep]:
    """Up to ``count`` tracks that lead the listener's ``mood`` into ``target``; see the module.

    ``start`` is where the listener last was with us (the previous track, the journey's start
    before any): no track lies farther than ``max_step`` from the one before it. With
    ``include_start`` the first track matches the mood (the nearest to it). Each next track
    is, among those within the reach of the mood as projected so far (the reach grows as if
    every planned track were accepted, ``learned_reach``), the one whose acceptance would
    bring that mood nearest the target region; when none within the reach leads on, the
    same choice among all within ``max_step`` of the track before. ``placed_artists`` and
    ``placed_song_keys`` are the journey's tracks before these (a re-plan keeps counting
    them); ``rejected_points`` the points the listener turned down on this journey.
    """
    if max_step <= 0:
        raise ValueError("max_step must be positive")
    # One array per attribute, so each step scores every candidate at once; the choice is
    # ``rank_candidates``' (highest score, the lowest track id on a tie), computed here on
    # arrays because a Python loop over the pool per step was most of the planning time.
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
    for index in range(count):
        reachable = available & (_distances(points, previous) <= max_step)
        if not reachable.any():
            continue
        from_mood = _distances(points, mood)
        if include_start and index == 0:
            aim = mood
            within = reachable
            closeness = 1.0 - from_mood / max_step
        else:
            step_reach = _eased_reach(reach, curve=curve, steps=steps_before + index)
            aim = _aim(mood, target.point, step_reach)
            # Progress towards the region if the track is accepted, in units of the most a
            # track within the reach could give, so the penalties keep their weight.
            moved = mood + follow * (points - np.asarray(mood))
            progress = target.gap(mood) - target.gaps(moved)
            within = reachable & (from_mood <= step_reach + 1e-9) & (progress > 0)
            if within.any():
                closeness = progress / max(follow * step_reach, 1e-9)
            else:
                # Nothing within the reach leads on (a sparse catalogue, or the tracks there
                # used up): the most progress (or the least loss) among all the tracks within
                # a step; if that is too far, the reject shrinks the reach.
                within = reachable
                closeness = progress / (follow * max_step)
            reach = min(max_step, reach + REACH_GROWTH_SHARE * max_step)
        score = closeness - penalty - artist_repeat_penalty * artist_counts[artist_of]
        best_score = score[within].max()
        tied = within & (score == best_score)
        best = int(np.flatnonzero(tied)[np.argmin(track_ids[tied])])
        chosen = pool[best]
        steps.append(
            PlannedStep(
                waypoint_index=index,
                waypoint=aim,
                candidate=chosen,
                distance_to_waypoint=distance(chosen.point, aim),
                step=distance(chosen.point, previous),
                same_artist_before=int(artist_counts[artist_of[best]]),
            )
        )
        available &= song_index != song_index[best]
        artist_counts[artist_of[best]] += 1
        previous = chosen.point
        mood = _moved(mood, chosen.point, follow)
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
