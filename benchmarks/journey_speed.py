"""Speed of planning emotion journeys on PostgreSQL (README: Benchmarks, "Emotion journeys").

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \\
    .venv/bin/python -m benchmarks.journey_speed --sizes 10000,100000 --json OUT.json

For each catalogue size it grows one synthetic catalogue: tracks by ``size / 12`` artists
with 2 % re-releases (shared song keys), each tagged by one active model version with a
valence/arousal point derived as tagging derives it (``point_from_probabilities``) from
quadrant probabilities drawn from Dirichlet(0.5, 0.5, 0.5, 0.5), so most points sit near a
quadrant centre and the rest spread between them, all inside [0.25, 0.75]². One listener has
``--served`` tracks already recommended and ``--played`` played this week, so the
"never served, not played lately" rules filter something. Then, for ``--journeys`` random
journeys of ``--length`` tracks (start: a random point in [0.25, 0.75]²; target: a random
other quadrant), it times

* ``candidates``: the one query fetching the tracks around the path
  (``recommender.journey_selectors.journey_candidates``);
* ``plan``: the pure path planning over them (``recommender.journey_planning.plan_path``);
* ``planned``: the two together, the figure the target (p95 ≤ 50 ms at 1M tracks) is about;
* ``service``: the whole ``plan_journey`` service, writes included (the journey, its items
  and their recommendations), each in a transaction rolled back so every journey meets the
  same served set.

It works in its own database (``--database-name``, created on DATABASE_URL's server and
dropped at the end unless ``--keep``), never in DATABASE_URL's own database.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.recommendation_speed import database_urls, machine_info, own_database

DEFAULT_DATABASE_NAME = "bench_journeys"
LABELS = ("Q1", "Q2", "Q3", "Q4")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000", help="catalogue sizes, ascending")
    parser.add_argument("--journeys", type=int, default=50, help="journeys timed per size")
    parser.add_argument("--length", type=int, default=20)
    parser.add_argument("--served", type=int, default=2000, help="tracks already recommended")
    parser.add_argument("--played", type=int, default=200, help="tracks played this week")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--database-name", default=DEFAULT_DATABASE_NAME)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--json", type=Path, default=None, metavar="OUT")
    return parser.parse_args(argv)


def prepare_environment(bench_url: str, work_dir: Path) -> None:
    import os
    import secrets

    for name in ("CELERY_BROKER_URL", "REDIS_CACHE_URL"):
        os.environ.pop(name, None)
    os.environ.update(
        DJANGO_SETTINGS_MODULE="recommender.settings",
        DJANGO_ENV="development",
        DATABASE_URL=bench_url,
        DEBUG="false",
        SECRET_KEY=secrets.token_urlsafe(50),
        MEDIA_ROOT=str(work_dir / "media"),
        DATA_DIR=str(work_dir),
        LOG_LEVEL="WARNING",
    )


def create_model_version():
    """An active version row: planning reads its tags, never the network itself."""
    from emotion.models import MoodModelVersion

    version = MoodModelVersion.objects.create(
        artifact="models/benchmark-none.pt",
        architecture={"note": "journey_speed: tags only"},
        labels=list(LABELS),
        feature_set_version="lld50-v1",
        segment_seconds=3.0,
    )
    MoodModelVersion.objects.filter(pk=version.pk).update(is_active=True)
    version.refresh_from_db()
    return version


def grow_catalogue(rng, version, *, first: int, size: int, chunk: int = 5000) -> float:
    """Tracks ``first``…``size - 1``, each tagged with a derived point; returns seconds."""
    from django.db import transaction
    from django.utils import timezone

    from catalogue.models import Track
    from emotion.ml.valence_arousal import SOURCE_QUADRANT_PROBABILITIES, point_from_probabilities
    from emotion.models import TrackEmotion

    started = time.perf_counter()
    artists = max(10, size // 12)
    now = timezone.now()
    for start in range(first, size, chunk):
        stop = min(size, start + chunk)
        count = stop - start
        probabilities = rng.dirichlet([0.5] * 4, size=count)
        points = point_from_probabilities(probabilities, LABELS)
        with transaction.atomic():
            tracks = Track.objects.bulk_create(
                [
                    Track(
                        title=f"Track {index}",
                        artist=f"Artist {int(rng.integers(0, artists))}",
                        song_key=(
                            f"song {int(rng.integers(0, index))}"
                            if index > 50 and rng.random() < 0.02
                            else f"song {index}"
                        ),
                    )
                    for index in range(start, stop)
                ]
            )
            TrackEmotion.objects.bulk_create(
                [
                    TrackEmotion(
                        track=track,
                        model_version=version,
                        label=LABELS[int(np.argmax(row))],
                        confidence=float(row.max()),
                        probabilities={
                            lb: round(float(p), 4) for lb, p in zip(LABELS, row, strict=True)
                        },
                        valence=float(point[0]),
                        arousal=float(point[1]),
                        valence_arousal_source=SOURCE_QUADRANT_PROBABILITIES,
                        tagged_at=now,
                    )
                    for track, row, point in zip(tracks, probabilities, points, strict=True)
                ]
            )
    return time.perf_counter() - started


def serve_and_play(rng, listener, *, served: int, played: int) -> None:
    """Mark ``served`` random tracks recommended to the listener and ``played`` played today."""
    import uuid

    from django.utils import timezone

    from catalogue.models import Track
    from listening.models import Play
    from recommender.models import Recommendation

    ids = list(Track.objects.values_list("id", "song_key"))
    picks = rng.choice(len(ids), size=min(len(ids), served + played), replace=False)
    now = timezone.now()
    seen = set()
    recommendations = []
    for index in picks[:served]:
        track_id, key = ids[index]
        if key in seen:
            continue
        seen.add(key)
        recommendations.append(
            Recommendation(
                listener=listener,
                track_id=track_id,
                song_key=key,
                batch=uuid.uuid4(),
                rank=1,
                policy="seed",
                target_label="Q1",
                track_probability=0.5,
                score=0.5,
                created_at=now,
            )
        )
    Recommendation.objects.bulk_create(recommendations, ignore_conflicts=True)
    Play.objects.bulk_create(
        [
            Play(listener=listener, track_id=ids[index][0], played_at=now, received_at=now)
            for index in picks[served:]
        ]
    )


def explain_candidates(listener, version, points, radius) -> dict[str, Any]:
    """EXPLAIN (ANALYZE, BUFFERS) of one candidate query: the index it uses and its cost."""
    import datetime as dt

    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from recommender.journey_selectors import journey_candidates

    captured: dict[str, Any] = {}
    # The SQL of the one query the selector runs, explained as it ran.
    with CaptureQueriesContext(connection) as queries:
        journey_candidates(
            listener=listener,
            version=version,
            points=points,
            radius=radius,
            played_since=timezone.now() - dt.timedelta(days=7),
        )
    sql = queries.captured_queries[-1]["sql"]
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + sql)
        plan = cursor.fetchone()[0][0]
    nodes = []

    def walk(node):
        nodes.append(
            node["Node Type"] + (f" using {node['Index Name']}" if "Index Name" in node else "")
        )
        for child in node.get("Plans", []):
            walk(child)

    walk(plan["Plan"])
    captured["execution_ms"] = plan["Execution Time"]
    captured["shared_buffers_hit"] = plan["Plan"].get("Shared Hit Blocks")
    captured["shared_buffers_read"] = plan["Plan"].get("Shared Read Blocks")
    captured["node_types"] = sorted(set(nodes))
    return captured


def percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "p50_ms": round(1000 * statistics.median(ordered), 2),
        "p95_ms": round(1000 * ordered[max(0, int(np.ceil(0.95 * len(ordered))) - 1)], 2),
        "max_ms": round(1000 * ordered[-1], 2),
    }


def measure(rng, listener, version, *, journeys: int, length: int) -> dict[str, Any]:
    import datetime as dt

    from django.conf import settings
    from django.db import transaction
    from django.utils import timezone

    from recommender.journey_planning import (
        learned_reach,
        paced_waypoints,
        plan_path,
        quadrant_region,
    )
    from recommender.journey_selectors import journey_candidates
    from recommender.journeys import PointSpec, plan_journey

    class Rollback(Exception):
        pass

    timings: dict[str, list[float]] = {"candidates": [], "plan": [], "planned": [], "service": []}
    pool_sizes, lengths = [], []
    max_step = settings.JOURNEY_MAX_STEP
    for _ in range(journeys):
        start = tuple(rng.uniform(0.25, 0.75, 2).tolist())
        target = str(rng.choice(LABELS))
        region = quadrant_region(target)
        reach = learned_reach(answers=[], max_step=max_step)
        began = time.perf_counter()
        # As ``recommender.journeys`` plans a new journey: candidates around the mood and the
        # points the reach aims at, then the pure planning over them.
        aims = paced_waypoints(
            mood=start, target=region.point, count=length, reach=reach, max_step=max_step
        )
        candidates = journey_candidates(
            listener=listener,
            version=version,
            points=[start, *aims],
            radius=max_step,
            played_since=timezone.now() - dt.timedelta(days=7),
        )
        fetched = time.perf_counter()
        steps = plan_path(
            start=start,
            mood=start,
            target=region,
            count=length,
            candidates=candidates,
            max_step=max_step,
            reach=reach,
            artist_repeat_penalty=settings.RECOMMENDATION_ARTIST_REPEAT_PENALTY,
        )
        done = time.perf_counter()
        timings["candidates"].append(fetched - began)
        timings["plan"].append(done - fetched)
        timings["planned"].append(done - began)
        pool_sizes.append(len(candidates))
        lengths.append(len(steps))
        began = time.perf_counter()
        try:
            with transaction.atomic():
                plan_journey(
                    listener=listener,
                    target=PointSpec(label=target),
                    start=PointSpec(valence=start[0], arousal=start[1]),
                    length=length,
                )
                timings["service"].append(time.perf_counter() - began)
                raise Rollback
        except Rollback:
            pass
    return {
        **{name: percentiles(values) for name, values in timings.items()},
        "mean_candidates_fetched": round(float(np.mean(pool_sizes)), 1),
        "full_journeys": sum(n == length for n in lengths),
        "journeys": journeys,
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    from django.db import connection

    from users.services import create_listener

    rng = np.random.default_rng(args.seed)
    version = create_model_version()
    listener, _ = create_listener(username="journey-benchmark")
    sizes = [int(size) for size in args.sizes.split(",")]
    reports = []
    grown = 0
    for size in sizes:
        seconds = grow_catalogue(rng, version, first=grown, size=size)
        grown = size
        from recommender.models import Recommendation

        Recommendation.objects.filter(listener=listener).delete()
        listener.plays.all().delete()
        serve_and_play(rng, listener, served=args.served, played=args.played)
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
        # Warm-up: the first query of a size reads cold pages.
        measure(rng, listener, version, journeys=3, length=args.length)
        figures = measure(rng, listener, version, journeys=args.journeys, length=args.length)
        from emotion.ml.valence_arousal import QUADRANT_CENTRES
        from recommender.journey_planning import waypoints

        explain = explain_candidates(
            listener,
            version,
            waypoints(start=(0.3, 0.3), target=QUADRANT_CENTRES["Q1"], count=args.length),
            0.25,
        )
        report = {"tracks": size, "seconds_to_grow": round(seconds, 1), **figures}
        report["explain"] = explain
        reports.append(report)
        print_size(report, args)
    return {"machine": machine_info(), "args": vars(args), "sizes": reports}


def print_size(report: dict[str, Any], args: argparse.Namespace) -> None:
    print(
        f"\n{report['tracks']:,} tracks: {report['journeys']} journeys of {args.length} "
        f"({report['full_journeys']} full), {report['mean_candidates_fetched']} candidates "
        "fetched on average"
    )
    for name in ("candidates", "plan", "planned", "service"):
        figures = report[name]
        print(
            f"  {name:<11} p50 {figures['p50_ms']:>7.2f} ms   p95 {figures['p95_ms']:>7.2f} ms"
            f"   max {figures['max_ms']:>7.2f} ms"
        )
    explain = report["explain"]
    print(
        f"  EXPLAIN: {explain['execution_ms']:.1f} ms, buffers hit {explain['shared_buffers_hit']}"
        f" read {explain['shared_buffers_read']}; {', '.join(explain['node_types'])}"
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    admin_url, bench_url = database_urls(args.database_name)
    work_dir = Path(tempfile.mkdtemp(prefix="bench-journeys-"))
    (work_dir / "media").mkdir()
    prepare_environment(bench_url, work_dir)
    with own_database(admin_url, args.database_name, keep=args.keep):
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0, interactive=False)
        output = run(args)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(output, indent=2, default=str) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
