"""Cross-validated comparison of every mood-model architecture and the baselines.

    python -m benchmarks.mood_model --dataset ../shared/datasets/4q [--folds 10] \
        [--json reports/mood_model.json] [--plots reports/mood_model]

Every model is trained and tested on the same artist-grouped, stratified folds. The table
gives mean ± std over folds of accuracy and macro-F1, the pooled (all-fold confusion)
macro-F1 and per-class recall. Then the default architecture is trained on the whole data
set to time inference on CPU with one thread: per track, and per batch of 256 sequences.

Extra configurations for experiments: ``--extra 'name=pooled-embeddings,model__hidden_size=64'``
(a preset followed by ``with_overrides`` keys); ``--skip-standard`` runs only those.
"""

from __future__ import annotations

import argparse
import ast
import json
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from emotion.features import DEFAULT_FEATURE_SET_VERSION
from emotion.ml.artifact import save_artifact
from emotion.ml.datasets import (
    DEFAULT_FEATURE_CACHE_DIR,
    REPO_ROOT,
    default_datasets_dir,
    load_labelled_dataset,
)
from emotion.ml.evaluation import (
    Candidate,
    cross_validate,
    model_candidate,
    plot_confusion_matrix,
    plot_learning_curves,
    standard_candidates,
)
from emotion.ml.presets import DEFAULT_PRESET, resolve_config
from emotion.ml.training import train_on_dataset


def parse_extra(spec: str) -> Candidate:
    """'name=preset,key=value,...' → a candidate of that preset's architecture."""
    name, _, rest = spec.partition("=")
    parts = [p for p in rest.split(",") if p]
    if not name or not parts:
        raise argparse.ArgumentTypeError(f"bad --extra {spec!r}; use name=preset,key=value,...")
    config = resolve_config(parts[0])
    overrides: dict[str, Any] = {}
    for part in parts[1:]:
        key, _, value = part.partition("=")
        try:
            overrides[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            overrides[key] = value
    return model_candidate(
        name,
        config.with_overrides(**overrides),
        feature_set_version=DEFAULT_FEATURE_SET_VERSION,
        description=rest,
    )


def time_inference(model, sequences: list[np.ndarray]) -> dict[str, float]:
    def best_of(function, repeats: int) -> float:
        timings = []
        for _ in range(repeats):
            started = time.perf_counter()
            function()
            timings.append(time.perf_counter() - started)
        return statistics.median(timings)

    one = sequences[:1]
    batch = (sequences * (256 // len(sequences) + 1))[:256]
    model.predict_proba(batch)  # warm-up
    return {
        "per_track_ms": 1000 * best_of(lambda: model.predict_proba(one), 50),
        "per_batch_256_ms": 1000 * best_of(lambda: model.predict_proba(batch), 10),
    }


def markdown_table(summaries: list[dict[str, Any]]) -> str:
    lines = [
        "| model | accuracy (mean ± std) | macro-F1 (mean ± std) | recall per class "
        "| train s / fold |",
        "|---|---|---|---|---|",
    ]
    for s in summaries:
        per_class = s["pooled"]["per_class"]
        recall = " ".join(f"{label} {per_class[label]['recall']:.2f}" for label in per_class)
        lines.append(
            f"| {s['name']} | {s['accuracy_mean']:.3f} ± {s['accuracy_std']:.3f} "
            f"| {s['macro_f1_mean']:.3f} ± {s['macro_f1_std']:.3f} "
            f"| {recall} | {s['training_seconds_mean']:.1f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", type=Path, default=default_datasets_dir() / "4q")
    parser.add_argument("--folds", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--segment-seconds", type=float, default=3.0)
    parser.add_argument("--label-column", default="quadrant")
    parser.add_argument("--feature-set", default=DEFAULT_FEATURE_SET_VERSION)
    parser.add_argument("--json", type=Path, help="write all results as JSON here")
    parser.add_argument("--plots", type=Path, help="write PNG plots into this folder")
    parser.add_argument("--workers", type=int, default=2, help="feature-extraction processes")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--extra", action="append", type=parse_extra, default=[])
    parser.add_argument("--skip-standard", action="store_true")
    parser.add_argument(
        "--only", action="append", default=[], help="run standard models whose name contains this"
    )
    parser.add_argument("--no-final-model", action="store_true", help="skip inference timing")
    parser.add_argument(
        "--confidence-weights",
        action="store_true",
        help="pass quadrant_agreement as sample weights (used by presets with "
        "confidence_weighting=True)",
    )
    parser.add_argument(
        "--merge-json",
        nargs="+",
        type=Path,
        help="only print one table from earlier --json reports (runs split across processes)",
    )
    args = parser.parse_args(argv)

    if args.merge_json:
        merged = [s for path in args.merge_json for s in json.loads(path.read_text())["results"]]
        print(markdown_table(merged))
        return 0

    torch.set_num_threads(args.threads)
    dataset = load_labelled_dataset(
        args.dataset,
        label_column=args.label_column,
        segment_seconds=args.segment_seconds,
        cache_dir=DEFAULT_FEATURE_CACHE_DIR,
        workers=args.workers,
        feature_set_version=args.feature_set,
    )
    print(
        f"{len(dataset)} clips, {len(set(dataset.artists))} artists, "
        f"{len(dataset.failures)} failures; labels {dataset.describe()['label_counts']}; "
        f"features {dataset.feature_set_version}, {args.segment_seconds} s segments",
        file=sys.stderr,
    )
    for failure in dataset.failures[:10]:
        print(f"  skipped {failure.path}: {failure.reason}", file=sys.stderr)

    candidates: list[Candidate] = []
    if not args.skip_standard:
        candidates = standard_candidates(feature_set_version=dataset.feature_set_version)
        if args.only:
            candidates = [c for c in candidates if any(o in c.name for o in args.only)]
    candidates += args.extra
    if not candidates:
        parser.error("no models to run")

    started = time.perf_counter()
    results = cross_validate(
        sequences=dataset.sequences,
        labels=dataset.labels,
        groups=dataset.artists,
        candidates=candidates,
        n_folds=args.folds,
        seed=args.seed,
        sample_weights=dataset.confidences if args.confidence_weights else None,
    )
    cv_seconds = time.perf_counter() - started
    summaries = [r.summary() for r in results]

    report: dict[str, Any] = {
        "command": " ".join(["python -m benchmarks.mood_model", *(argv or sys.argv[1:])]),
        "dataset": {"path": str(args.dataset), **dataset.describe()},
        "protocol": f"{args.folds}-fold StratifiedGroupKFold (groups=artist), seed {args.seed}",
        "machine": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "threads": args.threads,
            "processor": platform.processor(),
        },
        "cv_seconds": cv_seconds,
        "results": summaries,
    }
    print()
    print(markdown_table(summaries))
    print(
        f"\n{args.folds}-fold artist-grouped CV on {len(dataset)} clips; "
        f"total {cv_seconds / 60:.1f} min"
    )

    if args.plots:
        for result, summary in zip(results, summaries, strict=True):
            slug = "".join(ch if ch.isalnum() else "_" for ch in result.name).strip("_")[:60]
            plot_confusion_matrix(
                summary["pooled"], args.plots / f"confusion_{slug}.png", title=result.name
            )
            if result.histories:
                plot_learning_curves(
                    result.histories,
                    args.plots / f"learning_{slug}.png",
                    title=f"{result.name}: learning curves per fold",
                )

    if not args.no_final_model:
        final_started = time.perf_counter()
        model = train_on_dataset(
            dataset, preset="default", seed=args.seed, trained_on={"dataset": str(args.dataset)}
        )  # the default architecture
        final_seconds = time.perf_counter() - final_started
        timings = time_inference(model, dataset.sequences)
        report["final_model"] = {
            "training_seconds": final_seconds,
            **timings,
            "epochs_run": model.metrics.get("epochs_run"),
        }
        artifact_path = REPO_ROOT / "reports" / "mood_model_default.safetensors"
        save_artifact(model, artifact_path)
        print(
            f"default architecture ({DEFAULT_PRESET}) on all {len(dataset)} clips: trained in "
            f"{final_seconds:.1f} s; inference {timings['per_track_ms']:.2f} ms "
            f"per track, {timings['per_batch_256_ms']:.1f} ms per batch of 256 "
            f"({args.threads} CPU thread); artifact {artifact_path}"
        )
        if args.plots and "history" in model.metrics:  # an ensemble has one per member
            plot_learning_curves(
                [model.metrics["history"]],
                args.plots / "learning_final_default.png",
                title="default preset, whole data set",
            )

    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2, default=float))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
