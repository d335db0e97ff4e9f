"""Start a training run from the command line, as the admin and the weekly beat do.

python manage.py start_training_run [--source curator|dataset] [--dataset PATH]
    [--label-column quadrant] [--architecture PRESET] [--seed 0]

Unlike train_mood_model, which only writes an artifact, a run goes through the registry: it
holds out artists, compares the candidate with the active model on them, and promotes it
only if it scores higher. With a broker the run is queued on the training queue and this
prints its id; without one it runs in this process and prints its outcome.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from emotion.management.commands._mood_model_options import add_architecture_argument
from emotion.models import TrainingSource, TrainingTrigger
from emotion.services.retraining import start_training_run


class Command(BaseCommand):
    help = "Train a candidate mood model and promote it only if it beats the active one."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--source", choices=TrainingSource.values, default=TrainingSource.CURATOR_LABELS
        )
        parser.add_argument(
            "--dataset",
            default="",
            metavar="PATH",
            help="with --source dataset: a folder with metadata.csv, as the worker sees it",
        )
        parser.add_argument("--label-column", default="quadrant")
        add_architecture_argument(parser)
        parser.add_argument("--seed", type=int, default=0)

    def handle(self, *args, source, dataset, label_column, preset, seed, **options) -> None:
        try:
            with transaction.atomic():
                run = start_training_run(
                    source=source,
                    dataset_path=dataset,
                    label_column=label_column,
                    preset=preset,
                    seed=seed,
                    trigger=TrainingTrigger.COMMAND,
                )
        except ValueError as error:
            raise CommandError(str(error)) from error
        run.refresh_from_db()
        if run.finished_at is None:
            self.stdout.write(
                f"training run #{run.pk} queued on the training queue; its admin page shows "
                "the stage and the outcome"
            )
            return
        self.stdout.write(f"training run #{run.pk}: {run.status}. {run.outcome}")
