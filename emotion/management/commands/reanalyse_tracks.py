"""(Re)analyse catalogue tracks in bulk, here in this process or through the workers.

python manage.py reanalyse_tracks --which stale|failed|all [--queue]
"""

from __future__ import annotations

from collections import Counter

from django.core.management.base import BaseCommand
from django.db import transaction
from tqdm import tqdm

from emotion.selectors import tracks_needing_analysis
from emotion.services.analysis import analyse_track, request_track_analysis


class Command(BaseCommand):
    help = "Re-extract LLD features for all, failed or stale tracks, with a progress bar."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--which", choices=["stale", "failed", "all"], default="stale")
        parser.add_argument(
            "--queue",
            action="store_true",
            help="queue the work for the Celery workers instead of doing it here",
        )

    def handle(self, *args, which: str, queue: bool, **options) -> None:
        tracks = tracks_needing_analysis(which=which)
        total = tracks.count()
        if queue:
            with transaction.atomic():
                for track in tqdm(tracks.iterator(), total=total, unit="track"):
                    request_track_analysis(track=track)
            self.stdout.write(f"queued {total} {which} tracks for analysis")
            return

        outcomes: Counter[str] = Counter()
        reasons: Counter[str] = Counter()
        for track in tqdm(tracks.iterator(), total=total, unit="track"):
            analysis = analyse_track(track=track, force=True)
            outcomes[analysis.status] += 1
            if analysis.failure_reason:
                reasons[analysis.failure_reason] += 1
        self.stdout.write(
            f"{total} {which} tracks: "
            + ", ".join(f"{n} {status}" for status, n in sorted(outcomes.items()))
        )
        for reason, n in reasons.most_common(10):
            self.stdout.write(f"  {n} × {reason}")
