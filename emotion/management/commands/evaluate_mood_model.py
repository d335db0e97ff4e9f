"""Evaluate a saved mood-model artifact on a dataset folder it never saw.

python manage.py evaluate_mood_model --model FILE --dataset PATH [--json OUT]
"""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from emotion.management.commands._mood_model_options import add_dataset_arguments, load_dataset
from emotion.ml import ArtifactError, load_artifact
from emotion.ml.evaluation import evaluate_model, plot_confusion_matrix
from emotion.selectors import current_feature_set_version


class Command(BaseCommand):
    help = "Accuracy, macro-F1, per-class recall and the confusion matrix of a saved model."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--model", type=Path, required=True, metavar="FILE")
        add_dataset_arguments(parser)
        parser.add_argument("--json", dest="json_path", type=Path, default=None, metavar="OUT")
        parser.add_argument(
            "--plot", type=Path, default=None, metavar="PNG", help="also draw the confusion matrix"
        )

    def handle(self, *args, model, dataset, label_column, json_path, plot, **options) -> None:
        try:
            mood_model = load_artifact(
                model, expected_feature_set_version=current_feature_set_version()
            )
        except (ArtifactError, OSError) as error:
            raise CommandError(f"cannot use {model}: {error}") from error
        data = load_dataset(dataset=dataset, label_column=label_column, stderr=self.stderr)
        try:
            metrics = evaluate_model(mood_model, sequences=data.sequences, labels=data.labels)
        except ValueError as error:
            raise CommandError(str(error)) from error

        self.stdout.write(
            f"n={metrics['n']}  accuracy={metrics['accuracy']:.3f}  "
            f"macro_f1={metrics['macro_f1']:.3f}"
        )
        if json_path:
            json_path.parent.mkdir(parents=True, exist_ok=True)
            json_path.write_text(json.dumps(metrics, indent=1))
        if plot:
            plot_confusion_matrix(metrics, plot)
