"""Options and data loading shared by the mood-model commands."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management.base import CommandError

from emotion.ml.datasets import LabelledDataset, load_labelled_dataset
from emotion.ml.presets import DEFAULT_PRESET, PRESET_CHOICES


def add_dataset_arguments(parser) -> None:
    parser.add_argument(
        "--dataset",
        type=Path,
        required=True,
        metavar="PATH",
        help="a folder with metadata.csv (path, label column, artist, title)",
    )
    parser.add_argument("--label-column", default="quadrant")


def add_architecture_argument(parser, *, help_text: str = "the architecture preset") -> None:
    parser.add_argument(
        "--architecture",
        "--preset",
        dest="preset",
        choices=PRESET_CHOICES,
        default="default",
        help=f"{help_text} (default: {DEFAULT_PRESET}, the best in cross-validation)",
    )


def load_dataset(*, dataset: Path, label_column: str, stderr) -> LabelledDataset:
    if not (dataset / "metadata.csv").is_file():
        raise CommandError(f"{dataset} has no metadata.csv")
    try:
        data = load_labelled_dataset(
            dataset,
            label_column=label_column,
            segment_seconds=settings.AUDIO_SEGMENT_SECONDS,
            cache_dir=Path(settings.DATA_DIR) / "feature-cache",
        )
    except (KeyError, ValueError) as error:
        raise CommandError(f"cannot read {dataset}: {error}") from error
    for failure in data.failures[:10]:
        stderr.write(f"skipped {failure}")
    if len(data) == 0:
        raise CommandError(f"no usable clips in {dataset}")
    return data
