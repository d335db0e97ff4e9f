"""Options and data loading shared by the mood-model commands."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management.base import CommandError

from emotion.ml.datasets import LabelledDataset, load_labelled_dataset
from emotion.ml.presets import DEFAULT_PRESET, PRESET_CHOICES, resolve_config


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


def add_unlabelled_argument(parser) -> None:
    parser.add_argument(
        "--unlabelled",
        type=Path,
        default=None,
        metavar="DIR",
        help="a folder with metadata.csv (path, artist, title; any labels are ignored) whose "
        "clips feed a mean-teacher preset's consistency loss",
    )


def load_unlabelled_sequences(*, folder: Path, preset: str, stderr) -> list:
    """The feature sequences of every clip in ``folder``, for a mean-teacher preset."""
    if getattr(resolve_config(preset), "mean_teacher", None) is None:
        raise CommandError(
            f"--unlabelled needs a mean-teacher preset (e.g. mean-teacher), not {preset!r}"
        )
    # The path column stands in for the label column, so rows without a label are kept.
    data = load_dataset(dataset=folder, label_column="path", stderr=stderr)
    return data.sequences
