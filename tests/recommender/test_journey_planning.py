"""The pure journey planner: the mood model, the learned reach, progress towards the target,
smoothness, penalties."""

from __future__ import annotations

import numpy as np
import pytest

from recommender.journey_planning import (
    EASE,
    MOOD_FOLLOW,
    REACH_BACKOFF,
    REACH_GROWTH_SHARE,
    STRAIGHT,
    JourneyCandidate,
    TargetRegion,
    describe_move,
    distance,
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
    """A new journey from ``start`` (the mood) into a disc of radius 0.1 around ``target``."""
    options = {"max_step": 0.2, "artist_repeat_penalty": 0.15, **options}
    return plan_path(
        start=start,
        mood=start,
        target=TargetRegion(point=target, radius=0.1),
        count=length,
        reach=learned_reach(answers=[], max_step=options["max_step"]),
        curve=curve,
        candidates=grid_catalogue() if candidates is None else candidates,
        **options,
    )


def projected_moods(start, steps):
    """The mood before each step, if every planned track were accepted."""
    moods = [start]
    for step in steps[:-1]:
        moods.append(estimated_mood(start=moods[-1], accepted=[step.candidate.point]))
    return moods


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


def test_the_mood_moves_a_share_of_the_way_to_each_accepted_track():
    start = (0.2, 0.2)
    assert estimated_mood(start=start, accepted=[]) == pytest.approx(start)
    assert estimated_mood(start=start, accepted=[(0.6, 0.2)], follow=0.25) == pytest.approx(
        (0.3, 0.2)
    )
    # In order: the later track weighs more, and the start is never quite forgotten.
    moved = estimated_mood(start=start, accepted=[(0.6, 0.2), (0.6, 0.6)])
    assert moved[0] == pytest.approx(0.2 + 0.4 * (1 - (1 - MOOD_FOLLOW) ** 2))
    assert moved[1] == pytest.approx(0.2 + 0.4 * MOOD_FOLLOW)


def test_the_reach_grows_with_accepts_and_shrinks_with_rejects():
    start = learned_reach(answers=[], max_step=0.2)
    assert start == pytest.approx(0.1)
    grown = learned_reach(answers=[True, True], max_step=0.2)
    assert start < grown < 0.2
    assert learned_reach(answers=[True] * 100, max_step=0.2) == pytest.approx(0.2)
    assert learned_reach(answers=[True, True, False], max_step=0.2) == pytest.approx(
        grown * REACH_BACKOFF
    )
    # Never to nothing: a listener who rejects everything still gets a track near them.
    assert learned_reach(answers=[False] * 100, max_step=0.2) > 0


def test_paced_waypoints_lead_the_projected_mood_by_the_reach_then_hold_the_target():
    start, target = (0.25, 0.25), (0.75, 0.25)
    points = paced_waypoints(mood=start, target=target, count=30, reach=0.1, max_step=0.2)
    assert points[0] == start
    mood = start
    for point in points[1:]:
        mood = estimated_mood(start=mood, accepted=[points[points.index(point) - 1]])
        assert distance(point, mood) <= 0.2 + 1e-9
    assert [p[0] for p in points] == sorted(p[0] for p in points)
    assert points[-3:] == [target] * 3
    # A re-plan starts one step in, from the mood it is given.
    replan = paced_waypoints(
        mood=(0.4, 0.25), target=target, count=1, reach=0.05, max_step=0.2, include_start=False
    )
    assert replan[0] == pytest.approx((0.45, 0.25))


def test_eased_pacing_starts_gently():
    start, target = (0.0, 0.5), (1.0, 0.5)
    common = {"mood": start, "target": target, "count": 6, "reach": 0.1, "max_step": 0.2}
    straight = paced_waypoints(**common)
    eased = paced_waypoints(**common, curve=EASE)
    assert eased[1][0] < straight[1][0]
    with pytest.raises(ValueError, match="unknown curve"):
        paced_waypoints(**{**common, "count": 3}, curve="zigzag")


def test_a_replan_starts_one_step_in():
    points = waypoints(start=(0.0, 0.0), target=(1.0, 1.0), count=4, include_start=False)
    assert points[0] == pytest.approx((0.25, 0.25))
    assert points[-1] == pytest.approx((1.0, 1.0))


def test_unknown_curve_is_refused():
    with pytest.raises(ValueError, match="unknown curve"):
        waypoints(start=(0, 0), target=(1, 1), count=3, curve="zigzag")


def test_the_path_starts_at_the_start_and_leads_the_mood_into_the_target_region():
    start = (0.22, 0.21)
    steps = plan(start, (0.75, 0.25), 20, candidates=grid_catalogue(artists=10_000))
    assert len(steps) == 20
    assert distance(steps[0].candidate.point, start) <= 0.05 / 2**0.5 + 1e-9
    moods = projected_moods(start, steps)
    final = estimated_mood(start=moods[-1], accepted=[steps[-1].candidate.point])
    assert TargetRegion(point=(0.75, 0.25), radius=0.1).contains(final)


def test_each_next_track_is_within_the_reach_and_makes_the_most_progress():
    candidates = grid_catalogue(artists=10_000)
    target = TargetRegion(point=(0.9, 0.9), radius=0.1)
    steps = plan((0.1, 0.1), (0.9, 0.9), 9, candidates=candidates)
    moods = projected_moods((0.1, 0.1), steps)
    reach = learned_reach(answers=[], max_step=0.2)
    for step, mood in zip(steps[1:], moods[1:], strict=True):
        assert distance(step.candidate.point, mood) <= reach + 1e-9
        within = [c for c in candidates if distance(c.point, mood) <= reach + 1e-9]
        best = min(target.gap(estimated_mood(start=mood, accepted=[c.point])) for c in within)
        assert target.gap(estimated_mood(start=mood, accepted=[step.candidate.point])) == (
            pytest.approx(best)
        )
        reach = min(0.2, reach + REACH_GROWTH_SHARE * 0.2)  # as if accepted


def test_the_path_goes_round_where_the_straight_way_has_no_tracks():
    # No tracks within 0.25 of the centre: the straight way from Q3 to Q1 is empty.
    candidates = [c for c in grid_catalogue() if distance(c.point, (0.5, 0.5)) > 0.25]
    steps = plan((0.2, 0.2), (0.8, 0.8), 40, candidates=candidates)
    assert len(steps) == 40 and max(step.step for step in steps) <= 0.2
    assert all(distance(step.candidate.point, (0.5, 0.5)) > 0.25 for step in steps)
    assert quadrant_region("Q1").contains(steps[-1].candidate.point)


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
        JourneyCandidate(3, "s3", "Other", 0.59, 0.50),
    ]
    common = {
        "start": (0.5, 0.5),
        "mood": (0.5, 0.5),
        "target": TargetRegion(point=(0.9, 0.5), radius=0.1),
        "count": 2,
        "reach": 0.1,
        "max_step": 0.2,
    }
    penalised = plan_path(candidates=candidates, artist_repeat_penalty=0.15, **common)
    assert [s.candidate.track_id for s in penalised] == [1, 3]
    unpenalised = plan_path(candidates=candidates, artist_repeat_penalty=0.0, **common)
    assert [s.candidate.track_id for s in unpenalised] == [1, 2]
    # Artists already on the journey (before a re-plan) count too.
    earlier = plan_path(
        candidates=candidates[1:],
        artist_repeat_penalty=0.15,
        placed_artists=["same"],
        include_start=False,
        **{**common, "count": 1},
    )
    assert earlier[0].candidate.track_id == 3 and earlier[0].same_artist_before == 0


def test_a_rejected_region_is_avoided_when_there_is_another_way():
    candidates = [
        JourneyCandidate(1, "s1", "a1", 0.50, 0.50),
        JourneyCandidate(2, "s2", "a2", 0.50, 0.58),
    ]
    common = {
        "start": (0.5, 0.45),
        "mood": (0.5, 0.45),
        "target": TargetRegion(point=(0.5, 0.9), radius=0.1),
        "count": 1,
        "reach": 0.1,
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
    # The gap: how far outside the region, plus a small pull towards its centre.
    assert disc.gap((0.5, 0.3)) == pytest.approx(0.1 + 0.01 * 0.2)
    q1 = quadrant_region("Q1")
    assert q1.gap((0.3, 0.6)) == pytest.approx(0.2 + 0.01 * distance((0.3, 0.6), (0.75, 0.75)))
    assert q1.gap((0.2, 0.2)) == pytest.approx(0.3 * 2**0.5 + 0.01 * 0.55 * 2**0.5)
    assert q1.gap((0.75, 0.75)) == 0
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
