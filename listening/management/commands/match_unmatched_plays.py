"""Match every unmatched play against the catalogue again, with a progress bar.

python manage.py match_unmatched_plays [--batch-size 500]

New tracks created through the catalogue's service take their waiting plays on their own; this
is for the rest: tracks added in the admin or by a bulk load, or a change to the matching rules.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand
from tqdm import tqdm

from listening.models import Play
from listening.services import MATCH_BATCH_SIZE, match_unmatched_plays


class Command(BaseCommand):
    help = "Match unmatched plays to catalogue tracks, attaching those that match."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--batch-size", type=int, default=MATCH_BATCH_SIZE)

    def handle(self, *args, batch_size: int, **options) -> None:
        total = Play.objects.filter(track__isnull=True).count()
        with tqdm(total=total, unit="play", file=self.stderr) as progress:
            summary = match_unmatched_plays(batch_size=batch_size, on_progress=progress.update)
        still_unmatched = summary.examined - summary.matched - summary.removed_duplicates
        self.stdout.write(
            f"{summary.examined} unmatched plays examined: {summary.matched} matched, "
            f"{summary.removed_duplicates} removed as repeats of plays already stored, "
            f"{still_unmatched} still unmatched"
        )
