"""Artist-grouped k-fold cross-validation of the mood model and its baselines.

    python manage.py cross_validate_mood_model --dataset PATH [--folds 10] [--json OUT]

Every architecture preset and baseline (``emotion.ml.evaluation.standard_candidates``: the
embedding models when the features have embeddings, the seed's LSTM on the 50 LLDs and its
variants, SVM and LDA on time-averaged LLDs, a majority-class floor) is trained and tested on
exactly the same folds; no artist appears on both sides of a fold.
"""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand

from emotion.management.commands._mood_model_options import (
    add_architecture_argument,
    add_dataset_arguments,
    load_dataset,
)
from emotion.ml.evaluation import cross_validate, standard_candidates


class Command(BaseCommand):
    help = "Cross-validate the mood model and baselines on artist-grouped folds."

    def add_arguments(self, parser) -> None:
        add_dataset_arguments(parser)
        parser.add_argument("--folds", type=int, default=10)
        parser.add_argument("--seed", type=int, default=0)
        add_architecture_argument(parser)
        parser.add_argument(
            "--max-epochs",
            type=int,
            default=None,
            help="cap every network's epochs (smoke runs only)",
        )
        parser.add_argument("--json", dest="json_path", type=Path, default=None, metavar="OUT")

    def handle(
        self, *args, dataset, label_column, folds, seed, preset, max_epochs, json_path, **_
    ) -> None:
        data = load_dataset(dataset=dataset, label_column=label_column, stderr=self.stderr)
        results = cross_validate(
            sequences=data.sequences,
            labels=data.labels,
            groups=data.artists,
            candidates=standard_candidates(
                feature_set_version=data.feature_set_version,
                default_preset=preset,
                max_epochs=max_epochs,
            ),
            n_folds=folds,
            seed=seed,
            sample_weights=data.confidences,
        )
        summaries = [result.summary() for result in results]
        self.stdout.write(f"{folds}-fold artist-grouped CV on {len(data)} clips")
        self.stdout.write("| model | accuracy | macro-F1 |\n|---|---|---|")
        for summary in summaries:
            self.stdout.write(
                f"| {summary['name']} | {summary['accuracy_mean']:.3f} ± "
                f"{summary['accuracy_std']:.3f} | {summary['macro_f1_mean']:.3f} ± "
                f"{summary['macro_f1_std']:.3f} |"
            )
        if json_path:
            json_path.parent.mkdir(parents=True, exist_ok=True)
            json_path.write_text(
                json.dumps({"dataset": str(dataset), "folds": folds, "models": summaries}, indent=1)
            )
