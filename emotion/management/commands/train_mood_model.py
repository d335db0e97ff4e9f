"""Train the mood model on a labelled dataset folder and write one self-contained artifact.

python manage.py train_mood_model --dataset PATH [--label-column quadrant] [--output FILE]
    [--architecture PRESET] [--unlabelled DIR (mean-teacher presets)]
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand
from tqdm import tqdm

from emotion.management.commands._mood_model_options import (
    add_architecture_argument,
    add_dataset_arguments,
    add_unlabelled_argument,
    load_dataset,
    load_unlabelled_sequences,
)
from emotion.ml import save_artifact, train_on_dataset
from emotion.ml.presets import resolve_config, total_max_epochs


class Command(BaseCommand):
    help = "Train a mood model of any architecture on every row of a dataset folder."

    def add_arguments(self, parser) -> None:
        add_dataset_arguments(parser)
        parser.add_argument("--output", type=Path, default=None, metavar="FILE")
        add_architecture_argument(parser)
        parser.add_argument("--seed", type=int, default=0)
        add_unlabelled_argument(parser)

    def handle(
        self, *args, dataset, label_column, output, preset, seed, unlabelled, **options
    ) -> None:
        unlabelled_sequences = (
            None
            if unlabelled is None
            else load_unlabelled_sequences(folder=unlabelled, preset=preset, stderr=self.stderr)
        )
        data = load_dataset(dataset=dataset, label_column=label_column, stderr=self.stderr)
        output = output or Path(settings.DATA_DIR) / "models" / (
            f"mood-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}.safetensors"
        )
        output.parent.mkdir(parents=True, exist_ok=True)

        epochs = tqdm(desc="training", unit="epoch", total=total_max_epochs(resolve_config(preset)))

        def on_epoch(epoch: int, metrics: dict) -> None:
            epochs.update(1)
            epochs.set_postfix(
                val_loss=f"{metrics.get('val_loss', float('nan')):.3f}",
                val_macro_f1=f"{metrics.get('val_macro_f1', float('nan')):.3f}",
            )

        started = time.perf_counter()
        model = train_on_dataset(
            data,
            preset=preset,
            seed=seed,
            on_epoch=on_epoch,
            trained_on={
                "dataset": str(dataset),
                "label_column": label_column,
                **({"unlabelled": str(unlabelled)} if unlabelled else {}),
            },
            unlabelled=unlabelled_sequences,
        )
        epochs.close()
        save_artifact(model, output)
        self.stdout.write(
            f"trained a {model.architecture} model (preset {preset!r}) on {len(data)} clips "
            f"({', '.join(model.labels)}) "
            f"in {time.perf_counter() - started:.0f} s -> {output}"
        )
