"""Throughput of the full audio pipeline through a real Celery worker, in tracks per hour.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \
    CELERY_BROKER_URL=redis://127.0.0.1:6379/7 \
    python -m benchmarks.worker_throughput --dataset ../shared/datasets/4q --tracks 200

Creates a throw-away database (Django's test-database machinery) and a temporary media
folder, stores real clips as track audio, starts a worker consuming from the broker, and
times commit-to-last-analysis. The data set is read in place and never copied into the repo.
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import django

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATASET = REPO_ROOT.parent / "shared" / "datasets" / "4q"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", type=Path, default=DEFAULT_DATASET)
    parser.add_argument("--tracks", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    if not os.environ.get("CELERY_BROKER_URL") or "postgres" not in os.environ.get(
        "DATABASE_URL", ""
    ):
        sys.exit("set DATABASE_URL (PostgreSQL) and CELERY_BROKER_URL (Redis) first")

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "recommender.settings")
    media_root = Path(tempfile.mkdtemp(prefix="bench-media-"))
    os.environ["MEDIA_ROOT"] = str(media_root)
    django.setup()

    from django.core.files import File
    from django.db import connection, transaction
    from tqdm import tqdm

    from catalogue.services import create_track
    from emotion.models import AnalysisStatus, TrackAnalysis
    from tests.worker_process import WorkerProcess, database_url, purge_worker_queues

    with (args.dataset / "metadata.csv").open(newline="", encoding="utf-8") as metadata:
        rows = list(csv.DictReader(metadata))[: args.tracks]

    original_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    worker = None
    try:
        purge_worker_queues()
        worker = WorkerProcess(
            database_url=database_url(connection.settings_dict),
            media_root=media_root,
            log_path=media_root / "worker.log",
            concurrency=args.concurrency,
        )
        worker.wait_until_ready()

        print(f"storing {len(rows)} clips as track audio...", file=sys.stderr)
        with transaction.atomic():
            for row in tqdm(rows, unit="track", desc="store"):
                with (args.dataset / row["path"]).open("rb") as audio:
                    create_track(
                        title=row["title"], artist=row["artist"], audio=File(audio, row["path"])
                    )
        started = time.monotonic()  # the tasks are published when this transaction commits

        progress = tqdm(total=len(rows), unit="track", desc="analysed")
        finished = 0
        while finished < len(rows):
            time.sleep(0.25)
            now_finished = TrackAnalysis.objects.filter(
                status__in=[AnalysisStatus.DONE, AnalysisStatus.FAILED]
            ).count()
            progress.update(now_finished - finished)
            finished = now_finished
        elapsed = time.monotonic() - started
        progress.close()

        done = TrackAnalysis.objects.filter(status=AnalysisStatus.DONE)
        cpu = list(done.values_list("extraction_cpu_seconds", flat=True))
        audio_seconds = sum(done.values_list("audio_seconds", flat=True))
        print(f"tracks:               {len(rows)} ({done.count()} done)")
        print(f"worker concurrency:   {args.concurrency}")
        print(f"wall time:            {elapsed:.1f} s (commit to last analysis)")
        print(f"throughput:           {len(rows) / elapsed * 3600:,.0f} tracks/hour")
        print(f"audio per wall-sec:   {audio_seconds / elapsed:,.0f} s")
        print(f"extraction CPU/track: median {statistics.median(cpu) * 1000:.0f} ms")
    finally:
        if worker is not None:
            worker.stop()
        connection.creation.destroy_test_db(original_name, verbosity=0)


if __name__ == "__main__":
    main()
