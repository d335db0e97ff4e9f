"""Cross-domain check: a mood model trained on 4Q (commercial music) scored on EMOPIA
(pop-piano performances rendered from MIDI), a data set it never saw, from another domain.

    ../shared/datasets/emopia/render.sh /path/outside/the/repo/emopia-wav
    python -m benchmarks.cross_domain --emopia /path/outside/the/repo/emopia-wav \\
        [--model FILE] [--architecture default] [--json reports/cross_domain.json]

Without ``--model`` the architecture is trained on all 720 4Q clips first. EMOPIA's quadrant
labels are the same Russell quadrants as 4Q's. The rendered folder gets a ``metadata.csv``
(quadrant and song from each file name: ``Q1_<song>_<n>.wav``) so the ordinary data-set
loader, with its feature cache, reads it; nothing is written into the repository.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

import torch

from emotion.features import DEFAULT_FEATURE_SET_VERSION
from emotion.ml import load_artifact, train_on_dataset
from emotion.ml.datasets import (
    DEFAULT_FEATURE_CACHE_DIR,
    default_datasets_dir,
    load_labelled_dataset,
)
from emotion.ml.evaluation import evaluate_model
from emotion.ml.presets import PRESET_CHOICES


def write_emopia_metadata(folder: Path) -> int:
    """``metadata.csv`` for rendered EMOPIA clips; the song is the artist-like group."""
    rows = []
    for path in sorted(folder.glob("Q[1-4]_*.wav")):
        quadrant, rest = path.stem.split("_", 1)
        song = rest.rsplit("_", 1)[0]
        rows.append(
            {"song_id": path.stem, "artist": f"emopia:{song}", "title": path.stem,
             "quadrant": quadrant, "path": path.name}
        )  # fmt: skip
    with (folder / "metadata.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(
            handle, fieldnames=["song_id", "artist", "title", "quadrant", "path"]
        )
        writer.writeheader()
        writer.writerows(rows)
    return len(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--emopia", type=Path, required=True, help="render.sh's output folder")
    parser.add_argument("--four-q", type=Path, default=default_datasets_dir() / "4q")
    parser.add_argument("--model", type=Path, help="an artifact; default: train on all of 4Q")
    parser.add_argument("--architecture", choices=PRESET_CHOICES, default="default")
    parser.add_argument("--workers", type=int, default=2, help="feature-extraction processes")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)

    clips = write_emopia_metadata(args.emopia)
    if not clips:
        parser.error(f"no rendered Q*_*.wav clips in {args.emopia}")
    load = {"cache_dir": DEFAULT_FEATURE_CACHE_DIR, "workers": args.workers,
            "feature_set_version": DEFAULT_FEATURE_SET_VERSION}  # fmt: skip
    if args.model:
        model = load_artifact(args.model, expected_feature_set_version=DEFAULT_FEATURE_SET_VERSION)
        trained_on = str(args.model)
    else:
        four_q = load_labelled_dataset(args.four_q, **load)
        print(f"training {args.architecture!r} on {len(four_q)} 4Q clips", file=sys.stderr)
        model = train_on_dataset(four_q, preset=args.architecture, seed=0)
        trained_on = f"all {len(four_q)} 4Q clips, architecture {args.architecture!r}"
    emopia = load_labelled_dataset(args.emopia, **load)
    metrics = evaluate_model(model, sequences=emopia.sequences, labels=emopia.labels)
    recall = {label: metrics["per_class"][label]["recall"] for label in metrics["labels"]}
    print(
        f"EMOPIA ({len(emopia)} piano clips, {len(set(emopia.artists))} songs), model trained "
        f"on {trained_on}: accuracy {metrics['accuracy']:.3f}, macro-F1 "
        f"{metrics['macro_f1']:.3f}, recall "
        + ", ".join(f"{label} {value:.2f}" for label, value in recall.items())
    )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        report = {"trained_on": trained_on, "emopia_clips": len(emopia), "metrics": metrics}
        args.json.write_text(json.dumps(report, indent=1, default=float))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
