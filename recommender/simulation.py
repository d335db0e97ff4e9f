"""Evaluation by simulation (``simulate_listeners``): listeners with a known mood trajectory
play a labelled catalogue through the real API, and the loop is scored against the truth.

Everything happens inside one transaction that is rolled back at the end, so a simulation
never leaves tracks, listeners or a model version behind, and never touches the active model
other processes see. Because nothing commits, after-commit work (debounced mood refreshes,
tagging after activation) does not fire on its own: the simulation calls the same services
those tasks call, at the moments the tasks would run.

The simulated world
    Each listener has a true mood per week, a Markov chain over the catalogue's labels (keep
    the mood with probability ``mood_persistence``, else switch to another at random). Every
    day they play ``plays_per_day`` tracks: with probability ``1 - noise`` one of a few
    favourite tracks of their current mood (so the week's top tracks mean something), else
    any track. Plays go through ``POST /api/v1/plays/`` on a clock that advances day by day.

What is measured, per policy
    mood_accuracy     the inferred mood (argmax of the snapshot) equals the true mood, at each
                      recommendation request;
    precision_at_10   share of the served tracks (up to 10) whose true label is the true mood;
    acceptance_rate   a listener accepts a track exactly when its true label is their current
                      true mood; accepted / answered, overall and per week.
    ``seed`` and ``bandit`` run the product's loop (recommendations and feedback through the
    API). ``popularity`` serves the most played tracks of the simulated service that the
    listener has not been served; ``random`` serves random unserved tracks; their mood
    "inference" is the catalogue's most played label and a random label respectively.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from unittest import mock

import numpy as np
from django.conf import settings
from django.db import transaction
from django.db.models import Count
from django.test import override_settings
from django.utils import timezone
from rest_framework.test import APIClient

from catalogue.dedup import song_key
from catalogue.models import Track
from emotion.ml import MoodModel
from emotion.ml.datasets import LabelledDataset
from emotion.ml.valence_arousal import QUADRANT_CENTRES
from emotion.models import AnalysisStatus, TrackAnalysis, TrackEmotion
from emotion.services.registry import activate_model_version, register_model_version
from emotion.services.tagging import tag_tracks_with_model
from listening.models import Play
from recommender.journey_planning import distance, quadrant_of, quadrant_region
from recommender.models import MoodSnapshot
from recommender.services import refresh_recently_active_moods
from users.services import create_listener

LOOP_POLICIES = ("seed", "bandit")
BASELINES = ("popularity", "random")
PAGE_SIZE = 10


@dataclass(frozen=True)
class SimulationConfig:
    listeners: int
    weeks: int
    seed: int = 0
    plays_per_day: int = 8
    noise: float = 0.2
    mood_persistence: float = 0.5
    favourites_per_mood: int = 6
    requests_per_week: int = 3


@dataclass
class PolicyScore:
    mood_hits: int = 0
    mood_checks: int = 0
    relevant_served: int = 0
    served: int = 0
    accepted_by_week: Counter = field(default_factory=Counter)
    answered_by_week: Counter = field(default_factory=Counter)

    def summary(self) -> dict[str, Any]:
        answered = sum(self.answered_by_week.values())
        weeks = sorted(self.answered_by_week)
        return {
            "mood_accuracy": _ratio(self.mood_hits, self.mood_checks),
            "precision_at_10": _ratio(self.relevant_served, self.served),
            "acceptance_rate": _ratio(sum(self.accepted_by_week.values()), answered),
            "acceptance_rate_by_week": [
                _ratio(self.accepted_by_week[w], self.answered_by_week[w]) for w in weeks
            ],
            "recommendations_served": self.served,
            "mood_checks": self.mood_checks,
        }


@dataclass
class SimulatedListener:
    user: Any
    client: APIClient
    moods: list[str]  # true mood per week
    favourites: dict[str, list[int]]
    served: set[int] = field(default_factory=set)


class RolledBack(Exception):
    """Raised to leave the simulation's transaction without keeping anything."""


def run_simulation(
    *,
    catalogue: LabelledDataset,
    model: MoodModel,
    config: SimulationConfig,
    progress: Callable[[str], Any] | None = None,
) -> dict[str, Any]:
    results: dict[str, Any] = {}
    try:
        # The catalogue's features are the data set's; the service reads them as today's.
        features = override_settings(AUDIO_FEATURE_SET=catalogue.feature_set_version)
        with transaction.atomic(), _no_throttling(), features:
            track_labels = _build_catalogue(catalogue, model)
            for policy in (*LOOP_POLICIES, *BASELINES):
                score = _simulate_policy(policy, track_labels, config, progress=progress)
                results[policy] = score.summary()
            raise RolledBack
    except RolledBack:
        pass
    return results


def _build_catalogue(catalogue: LabelledDataset, model: MoodModel) -> dict[int, str]:
    """Tracks with their features (no audio needed), tagged by ``model``; id -> true label."""
    now = timezone.now()
    tracks = Track.objects.bulk_create(
        [
            # bulk_create skips Track.save(), which derives the song key.
            Track(
                title=title or path,
                artist=artist,
                song_key=song_key(title=title or path, artist=artist, album=""),
            )
            for title, artist, path in zip(
                catalogue.titles, catalogue.artists, catalogue.paths, strict=True
            )
        ]
    )
    TrackAnalysis.objects.bulk_create(
        [
            TrackAnalysis(
                track=track,
                status=AnalysisStatus.DONE,
                feature_set_version=catalogue.feature_set_version,
                segment_seconds=settings.AUDIO_SEGMENT_SECONDS,
                n_segments=len(sequence),
                features=np.ascontiguousarray(sequence, dtype=np.float32).tobytes(),
                requested_at=now,
                finished_at=now,
            )
            for track, sequence in zip(tracks, catalogue.sequences, strict=True)
        ]
    )
    version = register_model_version(model=model)
    activate_model_version(version=version)
    track_ids = [track.pk for track in tracks]
    for start in range(0, len(track_ids), settings.MOOD_TAGGING_BATCH_SIZE):
        tag_tracks_with_model(
            version=version, track_ids=track_ids[start : start + settings.MOOD_TAGGING_BATCH_SIZE]
        )
    return {track.pk: label for track, label in zip(tracks, catalogue.labels, strict=True)}


def _simulate_policy(
    policy: str,
    track_labels: dict[int, str],
    config: SimulationConfig,
    *,
    progress: Callable[[str], Any] | None,
) -> PolicyScore:
    # Every policy meets the same listeners: same seed, same trajectories and plays.
    rng = np.random.default_rng(config.seed)
    labels = sorted(set(track_labels.values()))
    by_label = {label: [t for t, lbl in track_labels.items() if lbl == label] for label in labels}
    all_tracks = list(track_labels)
    start = timezone.now().replace(microsecond=0) - dt.timedelta(weeks=config.weeks)
    listeners = []
    for index in range(config.listeners):
        user, token = create_listener(username=f"simulated-{policy}-{index}")
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
        moods = _mood_trajectory(rng, labels, config)
        favourites = {
            label: rng.choice(
                by_label[label],
                size=min(config.favourites_per_mood, len(by_label[label])),
                replace=False,
            ).tolist()
            for label in labels
        }
        listeners.append(SimulatedListener(user, client, moods, favourites))

    score = PolicyScore()
    request_days = set(np.linspace(0, 6, config.requests_per_week).round().astype(int).tolist())
    choice_rng = np.random.default_rng(config.seed + 1)
    for day in range(7 * config.weeks):
        week = day // 7
        clock = start + dt.timedelta(days=day, hours=20)
        with mock.patch.object(timezone, "now", lambda clock=clock: clock):
            for listener in listeners:
                _play_a_day(rng, listener, clock, listener.moods[week], all_tracks, config)
            # The periodic batch (and the debounced refresh) would run now.
            refresh_recently_active_moods(active_since=clock - dt.timedelta(days=1))
            if day % 7 in request_days:
                _serve_and_answer(
                    policy, listeners, week, track_labels, labels, all_tracks, choice_rng, score
                )
        if progress:
            progress(f"{policy}: day {day + 1} of {7 * config.weeks}")
    return score


def _serve_and_answer(policy, listeners, week, track_labels, labels, all_tracks, rng, score):
    """One page of recommendations per listener, answered by the listener's true mood."""
    for listener in listeners:
        true_mood = listener.moods[week]
        if policy in LOOP_POLICIES:
            with override_settings(RECOMMENDATION_POLICY=policy):
                items, guessed = _loop_page(listener)
        else:
            items = _baseline_page(policy, rng, all_tracks, listener)
            guessed = _baseline_mood(policy, rng, labels, track_labels)
        score.mood_checks += 1
        score.mood_hits += guessed == true_mood
        for item in items:
            relevant = track_labels[item["track"]] == true_mood
            score.served += 1
            score.relevant_served += relevant
            score.answered_by_week[week] += 1
            score.accepted_by_week[week] += relevant
            listener.served.add(item["track"])
            if policy in LOOP_POLICIES:
                action = "accept" if relevant else "reject"
                response = listener.client.post(
                    f"/api/v1/recommendations/{item['id']}/feedback",
                    {"action": action},
                    format="json",
                )
                _expect_ok(response)


def _mood_trajectory(rng, labels: Sequence[str], config: SimulationConfig) -> list[str]:
    moods = [str(rng.choice(labels))]
    for _ in range(config.weeks - 1):
        if rng.random() < config.mood_persistence:
            moods.append(moods[-1])
        else:
            moods.append(str(rng.choice([label for label in labels if label != moods[-1]])))
    return moods


def _play_a_day(rng, listener: SimulatedListener, clock, mood, all_tracks, config) -> None:
    plays = []
    for index in range(config.plays_per_day):
        if rng.random() < config.noise:
            track = int(rng.choice(all_tracks))
        else:
            track = int(rng.choice(listener.favourites[mood]))
        played_at = clock - dt.timedelta(hours=12) + dt.timedelta(minutes=5 * index)
        plays.append({"track": track, "played_at": played_at.isoformat()})
    _expect_ok(listener.client.post("/api/v1/plays/", {"plays": plays}, format="json"))


def _loop_page(listener: SimulatedListener) -> tuple[list[dict], str]:
    response = listener.client.get("/api/v1/recommendations/", {"limit": PAGE_SIZE})
    _expect_ok(response)
    body = response.json()
    items = [{"id": item["id"], "track": item["track"]["id"]} for item in body["results"]]
    snapshot = MoodSnapshot.objects.filter(listener=listener.user).first()
    return items, (snapshot.label if snapshot else "")


def _baseline_page(policy, rng, all_tracks, listener: SimulatedListener) -> list[dict]:
    """Baselines obey the product's exclusions: nothing served before, nothing played lately."""
    recently_played = set(
        Play.objects.filter(
            listener=listener.user,
            played_at__gte=timezone.now()
            - dt.timedelta(days=settings.RECOMMENDATION_RECENT_PLAY_DAYS),
        ).values_list("track_id", flat=True)
    )
    candidates = [t for t in all_tracks if t not in listener.served and t not in recently_played]
    if policy == "random":
        picked = rng.choice(candidates, size=min(PAGE_SIZE, len(candidates)), replace=False)
        return [{"track": int(t)} for t in picked]
    counts = Counter(
        Play.objects.filter(track_id__in=candidates).values_list("track_id", flat=True)
    )
    ranked = sorted(candidates, key=lambda t: (-counts[t], t))
    return [{"track": t} for t in ranked[:PAGE_SIZE]]


def _baseline_mood(policy, rng, labels, track_labels) -> str:
    if policy == "random":
        return str(rng.choice(labels))
    counts = Counter()
    plays_per_track = (
        Play.objects.filter(track_id__in=list(track_labels))
        .values_list("track_id")
        .annotate(plays=Count("id"))
    )
    for track_id, plays in plays_per_track:
        counts[track_labels[track_id]] += plays
    return counts.most_common(1)[0][0] if counts else labels[0]


def _expect_ok(response) -> None:
    if response.status_code >= 400:
        raise RuntimeError(
            f"{response.request['REQUEST_METHOD']} {response.request['PATH_INFO']} answered "
            f"{response.status_code}: {response.content[:500]!r}"
        )


@contextmanager
def _no_throttling():
    # Simulated listeners send weeks of requests in seconds; the rate limit is for people.
    from rest_framework.views import APIView

    with mock.patch.object(APIView, "throttle_classes", []):
        yield


def _ratio(numerator: int, denominator: int) -> float | None:
    return round(numerator / denominator, 4) if denominator else None


# --- Emotion journeys versus jumping to the target --------------------------------------------


@dataclass(frozen=True)
class JourneySimulationConfig:
    """Listeners whose mood moves towards what they accept (README, "Emotion journeys by
    simulation"). The values are fixed before any run and reported with the figures.

    runs            one (listener, start, target) draw per run; each arm meets a fresh
                    listener with the same mood, target and hearing of every track
    length          tracks per run, in both arms
    tolerance       a listener accepts a track heard within this distance of their mood
    pull            an accepted track moves the mood this share of the way to its point
    hearing_noise   a listener hears a track at its catalogue point plus a fixed Gaussian
                    offset of this standard deviation per coordinate (the catalogue's points
                    are a model's estimates, not what a listener hears)
    mood_spread     a start mood is its quadrant's centre plus uniform noise of this
                    half-width per coordinate; the listener declares the quadrant only
    """

    runs: int
    seed: int = 0
    length: int = 10
    tolerance: float = 0.2
    pull: float = 0.3
    hearing_noise: float = 0.05
    mood_spread: float = 0.15


@dataclass
class ArmScore:
    runs: int = 0
    answered: int = 0
    accepted: int = 0
    reached: int = 0
    path_reached: int = 0
    moved_closer: list[float] = field(default_factory=list)
    steps: list[float] = field(default_factory=list)
    final_distance: list[float] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {
            "runs": self.runs,
            "acceptance_rate": _ratio(self.accepted, self.answered),
            "reached_target_region": _ratio(self.reached, self.runs),
            "last_track_in_target_region": _ratio(self.path_reached, self.runs),
            "mean_mood_moved_towards_target": (
                round(float(np.mean(self.moved_closer)), 4) if self.moved_closer else None
            ),
            "mean_step": round(float(np.mean(self.steps)), 4) if self.steps else None,
            "p95_step": round(float(np.percentile(self.steps, 95)), 4) if self.steps else None,
            "mean_final_distance_to_target": (
                round(float(np.mean(self.final_distance)), 4) if self.final_distance else None
            ),
            "tracks_answered": self.answered,
        }


def run_journey_simulation(
    *,
    catalogue: LabelledDataset,
    model: MoodModel,
    config: JourneySimulationConfig,
    progress: Callable[[str], Any] | None = None,
) -> dict[str, Any]:
    """Journeys (``POST /api/v1/journeys/``) against jumping straight to the target emotion
    (``GET /api/v1/recommendations/?emotion=Qn``), over the same draws; rolled back."""
    results: dict[str, Any] = {}
    try:
        features = override_settings(AUDIO_FEATURE_SET=catalogue.feature_set_version)
        with transaction.atomic(), _no_throttling(), features:
            _build_catalogue(catalogue, model)
            results = _simulate_journeys(config, progress=progress)
            raise RolledBack
    except RolledBack:
        pass
    return results


def _simulate_journeys(
    config: JourneySimulationConfig, *, progress: Callable[[str], Any] | None
) -> dict[str, Any]:
    rng = np.random.default_rng(config.seed)
    catalogue_points = {
        track_id: (valence, arousal)
        for track_id, valence, arousal in TrackEmotion.objects.exclude(valence=None).values_list(
            "track_id", "valence", "arousal"
        )
    }
    # How each track sounds to the listeners: fixed per track, the same in both arms.
    heard = {
        track_id: tuple(np.clip(np.add(point, rng.normal(0, config.hearing_noise, 2)), 0, 1))
        for track_id, point in sorted(catalogue_points.items())
    }
    quadrants = sorted(QUADRANT_CENTRES)
    scores = {"journey": ArmScore(), "jump": ArmScore()}
    for run in range(config.runs):
        start_label = str(rng.choice(quadrants))
        target_label = str(rng.choice([q for q in quadrants if q != start_label]))
        centre = np.array(QUADRANT_CENTRES[start_label])
        mood = tuple(
            np.clip(centre + rng.uniform(-config.mood_spread, config.mood_spread, 2), 0, 1)
        )
        region = quadrant_region(target_label)
        for arm, score in scores.items():
            _, token = create_listener(username=f"simulated-{arm}-{run}")
            client = APIClient()
            client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
            # The service learns the mood's quadrant only, as a listener would declare it.
            _expect_ok(client.put("/api/v1/me/mood", {"label": quadrant_of(mood)}, format="json"))
            listener_mood = mood
            answered_points = []
            if arm == "journey":
                response = client.post(
                    "/api/v1/journeys/",
                    {"target": target_label, "length": config.length},
                    format="json",
                )
                _expect_ok(response)
                body = response.json()
                while body["progress"]["next_position"] is not None:
                    position = body["progress"]["next_position"]
                    item = next(i for i in body["items"] if i["position"] == position)
                    track = item["track"]["id"]
                    accept = distance(heard[track], listener_mood) <= config.tolerance
                    if accept:
                        listener_mood = _pulled(listener_mood, heard[track], config.pull)
                    answered_points.append(catalogue_points[track])
                    score.answered += 1
                    score.accepted += accept
                    response = client.post(
                        f"/api/v1/journeys/{body['id']}/items/{item['id']}/feedback",
                        {"action": "accept" if accept else "reject"},
                        format="json",
                    )
                    _expect_ok(response)
                    body = response.json()["journey"]
            else:
                response = client.get(
                    "/api/v1/recommendations/", {"emotion": target_label, "limit": config.length}
                )
                _expect_ok(response)
                for item in response.json()["results"]:
                    track = item["track"]["id"]
                    accept = distance(heard[track], listener_mood) <= config.tolerance
                    if accept:
                        listener_mood = _pulled(listener_mood, heard[track], config.pull)
                    answered_points.append(catalogue_points[track])
                    score.answered += 1
                    score.accepted += accept
                    _expect_ok(
                        client.post(
                            f"/api/v1/recommendations/{item['id']}/feedback",
                            {"action": "accept" if accept else "reject"},
                            format="json",
                        )
                    )
            score.runs += 1
            score.reached += region.contains(listener_mood)
            score.path_reached += bool(answered_points) and region.contains(answered_points[-1])
            score.moved_closer.append(
                distance(mood, region.point) - distance(listener_mood, region.point)
            )
            score.final_distance.append(distance(listener_mood, region.point))
            score.steps += [
                distance(a, b) for a, b in zip(answered_points, answered_points[1:], strict=False)
            ]
        if progress:
            progress(f"journey run {run + 1} of {config.runs}")
    return {arm: score.summary() for arm, score in scores.items()}


def _pulled(mood: tuple[float, float], towards: tuple[float, float], pull: float):
    return (mood[0] + pull * (towards[0] - mood[0]), mood[1] + pull * (towards[1] - mood[1]))
