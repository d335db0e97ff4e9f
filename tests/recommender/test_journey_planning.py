"""The pure journey planner: waypoints, nearest track per waypoint, smoothness, penalties."""

from __future__ import annotations

import numpy as np
import pytest

from recommender.journey_planning import (
    EASE,
    STRAIGHT,
    JourneyCandidate,
    TargetRegion,
    describe_move,
    distance,
    estimated_mood,
    largest_waypoint_step,
    paced_waypoints,
    plan_path,
    quadrant_of,
    quadrant_region,
    step_reason,
    waypoints,
)


def grid_catalogue(step: float = 0.05, artists: int = 7) -> list[JourneyCandidate]:
    """A track at every point of a grid over the unit square, artists round-robin."""
    ticks = np.round(np.arange(0.0, 1.0 + 1e-9, step), 6)
    return [
        JourneyCandidate(
            track_id=index,
            song_key=f"song {index}",
            artist=f"artist {index % artists}",
            valence=float(v),
            arousal=float(a),
        )
        for index, (v, a) in enumerate((v, a) for v in ticks for a in ticks)
    ]


def plan(start, target, length, *, curve=STRAIGHT, candidates=None, **options):
    options = {"max_step": 0.2, "artist_repeat_penalty": 0.15, **options}
    return plan_path(
        start=start,
        waypoints=waypoints(start=start, target=target, count=length, curve=curve),
        candidates=grid_catalogue() if candidates is None else candidates,
        **options,
    )


def test_straight_waypoints_run_evenly_from_the_start_to_the_target():
    points = waypoints(start=(0.2, 0.8), target=(0.8, 0.2), count=4)
    assert points[0] == pytest.approx((0.2, 0.8))
    assert points[-1] == pytest.approx((0.8, 0.2))
    hops = [distance(a, b) for a, b in zip(points, points[1:], strict=False)]
    assert hops == pytest.approx([hops[0]] * 3)


def test_eased_waypoints_linger_near_the_start_then_arrive():
    straight = waypoints(start=(0.0, 0.0), target=(1.0, 0.0), count=11)
    eased = waypoints(start=(0.0, 0.0), target=(1.0, 0.0), count=11, curve=EASE)
    assert eased[0] == pytest.approx((0.0, 0.0)) and eased[-1] == pytest.approx((1.0, 0.0))
    # The first steps move less than a straight line's, the middle ones more.
    assert eased[2][0] < straight[2][0]
    assert largest_waypoint_step(eased) == pytest.approx(
        1.5 * largest_waypoint_step(straight), 0.05
    )
    assert [p[0] for p in eased] == sorted(p[0] for p in eased)


def test_the_mood_estimate_is_the_last_accepted_tracks_with_the_start_filling_in():
    start = (0.2, 0.2)
    assert estimated_mood(start=start, accepted=[]) == pytest.approx(start)
    assert estimated_mood(start=start, accepted=[(0.5, 0.2)], window=3) == pytest.approx((0.3, 0.2))
    recent = [(0.9, 0.9), (0.4, 0.4), (0.5, 0.5), (0.6, 0.6)]
    assert estimated_mood(start=start, accepted=recent, window=3) == pytest.approx((0.5, 0.5))


def test_paced_waypoints_stay_a_lead_ahead_of_the_mood_then_hold_the_target():
    start, target, lead = (0.25, 0.25), (0.75, 0.25), 0.1
    points = paced_waypoints(start=start, target=target, count=20, lead=lead)
    assert points[0] == start
    history: list = []
    for point in points:
        mood = estimated_mood(start=start, accepted=history)
        # Never further than the lead beyond the mood the earlier waypoints would leave.
        assert distance(point, mood) <= lead + 1e-9 or point == start
        history.append(point)
    assert [p[0] for p in points] == sorted(p[0] for p in points)
    # Once in reach the target is held: the last waypoints all sit on it.
    assert points[-3:] == [target] * 3
    # Slower than a straight line that would cover the distance in the same count.
    assert points[5][0] < waypoints(start=start, target=target, count=20)[-1][0]


def test_paced_waypoints_after_answers_start_from_the_accepted_tracks():
    start, target = (0.25, 0.25), (0.75, 0.75)
    accepted = [(0.3, 0.3), (0.35, 0.35), (0.4, 0.4)]
    points = paced_waypoints(
        start=start, target=target, count=3, lead=0.1, accepted=accepted, include_start=False
    )
    assert distance(points[0], (0.35, 0.35)) == pytest.approx(0.1)
    # A smaller lead (a reject just before) takes a smaller step.
    cautious = paced_waypoints(
        start=start, target=target, count=1, lead=0.05, accepted=accepted, include_start=False
    )
    assert distance(cautious[0], (0.35, 0.35)) == pytest.approx(0.05)


def test_eased_pacing_starts_gently():
    start, target = (0.0, 0.5), (1.0, 0.5)
    straight = paced_waypoints(start=start, target=target, count=6, lead=0.1)
    eased = paced_waypoints(start=start, target=target, count=6, lead=0.1, curve=EASE)
    assert eased[1][0] < straight[1][0]
    with pytest.raises(ValueError, match="unknown curve"):
        paced_waypoints(start=start, target=target, count=3, lead=0.1, curve="zigzag")


def test_a_replan_starts_one_step_in():
    points = waypoints(start=(0.0, 0.0), target=(1.0, 1.0), count=4, include_start=False)
    assert points[0] == pytest.approx((0.25, 0.25))
    assert points[-1] == pytest.approx((1.0, 1.0))


def test_unknown_curve_is_refused():
    with pytest.raises(ValueError, match="unknown curve"):
        waypoints(start=(0, 0), target=(1, 1), count=3, curve="zigzag")


def test_the_path_starts_at_the_start_and_ends_in_the_target_region():
    start = (0.22, 0.21)
    steps = plan(start, (0.75, 0.25), 10, candidates=grid_catalogue(artists=10_000))
    assert len(steps) == 10
    assert distance(steps[0].candidate.point, start) <= 0.05 / 2**0.5 + 1e-9
    assert quadrant_region("Q4").contains(steps[-1].candidate.point)
    assert steps[-1].candidate.point == pytest.approx((0.75, 0.25))


def test_each_track_is_the_nearest_to_its_waypoint_when_artists_do_not_repeat():
    candidates = grid_catalogue(artists=10_000)
    steps = plan((0.1, 0.1), (0.9, 0.9), 9, candidates=candidates)
    for step in steps:
        nearest = min(distance(c.point, step.waypoint) for c in candidates)
        assert step.distance_to_waypoint == pytest.approx(nearest)


def test_no_jump_exceeds_the_max_step_and_a_gap_shortens_the_journey():
    # Two clusters 0.5 apart: with a max step of 0.2 the journey cannot cross the gap.
    left = [JourneyCandidate(i, f"l{i}", f"a{i}", 0.2 + 0.01 * i, 0.5) for i in range(5)]
    right = [JourneyCandidate(100 + i, f"r{i}", f"b{i}", 0.8 + 0.01 * i, 0.5) for i in range(5)]
    steps = plan((0.2, 0.5), (0.85, 0.5), 6, candidates=left + right)
    assert steps and all(step.step <= 0.2 for step in steps)
    assert all(step.candidate.track_id < 100 for step in steps)
    assert len(steps) < 6


def test_consecutive_steps_are_smooth_on_a_dense_catalogue():
    for curve in (STRAIGHT, EASE):
        steps = plan((0.05, 0.95), (0.95, 0.05), 12, curve=curve, max_step=0.15)
        assert len(steps) == 12
        assert max(step.step for step in steps) <= 0.15


def test_no_song_key_repeats_and_placed_songs_are_left_out():
    # Three releases of each song at nearly the same point.
    candidates = [
        JourneyCandidate(10 * s + r, f"song {s}", f"artist {s}", 0.1 * s, 0.5 + 0.001 * r)
        for s in range(10)
        for r in range(3)
    ]
    steps = plan((0.0, 0.5), (0.9, 0.5), 10, candidates=candidates, placed_song_keys=["song 4"])
    keys = [step.candidate.song_key for step in steps]
    assert len(keys) == len(set(keys))
    assert "song 4" not in keys


def test_the_artist_repeat_penalty_moves_to_another_artist_at_a_near_tie():
    candidates = [
        JourneyCandidate(1, "s1", "Same", 0.50, 0.50),
        JourneyCandidate(2, "s2", "Same", 0.60, 0.50),
        JourneyCandidate(3, "s3", "Other", 0.61, 0.50),
    ]
    common = {"start": (0.5, 0.5), "waypoints": [(0.5, 0.5), (0.6, 0.5)], "max_step": 0.2}
    penalised = plan_path(candidates=candidates, artist_repeat_penalty=0.15, **common)
    assert [s.candidate.track_id for s in penalised] == [1, 3]
    unpenalised = plan_path(candidates=candidates, artist_repeat_penalty=0.0, **common)
    assert [s.candidate.track_id for s in unpenalised] == [1, 2]
    # Artists already on the journey (before a re-plan) count too.
    earlier = plan_path(
        candidates=candidates[1:],
        artist_repeat_penalty=0.15,
        placed_artists=["same"],
        **{**common, "waypoints": [(0.6, 0.5)]},
    )
    assert earlier[0].candidate.track_id == 3 and earlier[0].same_artist_before == 0


def test_a_rejected_region_is_avoided_when_there_is_another_way():
    candidates = [
        JourneyCandidate(1, "s1", "a1", 0.50, 0.50),
        JourneyCandidate(2, "s2", "a2", 0.50, 0.58),
    ]
    common = {
        "start": (0.5, 0.45),
        "waypoints": [(0.5, 0.5)],
        "candidates": candidates,
        "max_step": 0.2,
        "artist_repeat_penalty": 0.15,
    }
    assert plan_path(**common)[0].candidate.track_id == 1
    avoided = plan_path(
        **common, rejected_points=[(0.49, 0.49)], reject_radius=0.05, reject_penalty=0.5
    )
    assert avoided[0].candidate.track_id == 2


def test_quadrants_and_target_regions():
    assert [quadrant_of(p) for p in [(0.9, 0.9), (0.1, 0.9), (0.1, 0.1), (0.9, 0.1)]] == [
        "Q1",
        "Q2",
        "Q3",
        "Q4",
    ]
    assert quadrant_of((0.5, 0.5)) == "Q1"
    disc = TargetRegion(point=(0.3, 0.3), radius=0.1)
    assert disc.contains((0.35, 0.35)) and not disc.contains((0.45, 0.3))
    with pytest.raises(ValueError, match="unknown quadrant"):
        quadrant_region("Q9")


def test_reasons_say_where_the_step_goes():
    assert describe_move((0.2, 0.8), (0.22, 0.7)) == "a little happier and calmer"
    assert describe_move((0.2, 0.2), (0.5, 0.2)) == "much happier"
    first = step_reason(
        position=1,
        length=10,
        previous_waypoint=None,
        waypoint=(0.25, 0.75),
        start_name="tense / angry",
        target_name="relaxed",
    )
    assert first == "step 1 of 10: matching how you feel now (tense / angry)"
    middle = step_reason(
        position=3,
        length=10,
        previous_waypoint=(0.3, 0.7),
        waypoint=(0.33, 0.66),
        start_name="tense / angry",
        target_name="relaxed",
    )
    assert middle == (
        "step 3 of 10: a little happier and calmer, on the way from tense / angry to relaxed"
    )
