"""The seeds' model families compared on one protocol: one row per family (issue 11).

    python -m benchmarks.model_families --dataset ../shared/datasets/4q [--folds 10] \\
        [--emopia /path/outside/the/repo/emopia-wav] [--json reports/model_families.json]

Every family is trained and tested on the same artist-grouped, stratified folds of the 4Q
clips (``emotion.ml.evaluation.cross_validate``, the protocol of ``benchmarks.mood_model``).
Per row: macro-F1 mean ± std over the folds, recall per class from the confusion matrix
summed over the folds, training seconds per fold; then the family is trained on every clip
to time inference with one CPU thread (per track, per batch of 256, as ``mood_model``) and,
with ``--emopia``, scored on the rendered EMOPIA piano clips it never saw (macro-F1).
V/A RMSE applies to families with a valence/arousal regression head (``predict_valence_arousal``
on the trained model: seed 004's CBSA and SVR), scored on each fold's test clips against its
quadrant's centre (the targets they were trained on; 4Q has no coordinates); "—" for the
others. Their macro-F1 is that of the quadrant of the predicted point thresholded at 0.5 (their
quadrant logits' argmax; ``thresholded_macro_f1`` checks it from the points themselves).

``--label-fractions 0.1,0.25,0.5,1.0`` is seed 000's experiment instead: on the same folds,
each training fold keeps a stratified fraction of its labelled clips, the rest of the fold
becomes unlabelled (with ``--emopia``, EMOPIA's renders join it, their labels never used),
and ``--semi-supervised`` (the mean teacher, which uses those clips) is
compared with ``--supervised`` (the same architecture on the labelled part alone); both are
scored on the fold's test part.

Rows beside the families' presets (``VARIANTS``) are the other inputs the seed's families
were tried on. ``--only NAME`` runs the rows whose name contains NAME; ``--merge-json`` prints
one table from several runs' reports. ``--emopia-only`` skips the cross-validation: each row is
trained on every clip and scored on EMOPIA, for rows whose folds were run without the renders
(merge its report after theirs).

Features come from the feature set ``lld50-musicnn-mel-v1`` (``--feature-set``), which holds
every family's blocks: the CRNN's log-mel summary and residual phase after the columns of the
default set, which are bit-for-bit the same, so every other row reads exactly what it reads on
the default set.

Adding a family: give it an architecture and a preset (``emotion.ml.architectures``,
``emotion.ml.presets``) and a ``Family`` row in ``FAMILIES``; a regression head adds
``predict_valence_arousal``.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from sklearn.model_selection import train_test_split

from benchmarks.cross_domain import write_emopia_metadata
from benchmarks.mood_model import time_inference
from emotion.features import FEATURE_SETS
from emotion.features.feature_sets import LLD_MUSICNN_MEL_FEATURE_SET_VERSION
from emotion.ml.classical import quadrant_of_point
from emotion.ml.datasets import (
    DEFAULT_FEATURE_CACHE_DIR,
    LabelledDataset,
    default_datasets_dir,
    load_labelled_dataset,
)
from emotion.ml.evaluation import (
    Candidate,
    artist_grouped_folds,
    cross_validate,
    evaluate_model,
    model_candidate,
)
from emotion.ml.metrics import classification_metrics
from emotion.ml.presets import PRESETS, resolve_config
from emotion.ml.training import AnyTrainingConfig, train_mood_model, train_on_dataset
from emotion.ml.valence_arousal import QUADRANT_CENTRES

RENDER_HINT = (
    "not run: render EMOPIA with ../shared/datasets/emopia/render.sh /path/outside/the/repo/"
    "emopia-wav (needs fluidsynth), then pass --emopia /path/outside/the/repo/emopia-wav"
)


@dataclass(frozen=True)
class Family:
    name: str
    preset: str | AnyTrainingConfig
    seed: str  # the seed it comes from ("—" for the product default)


def _on_llds(preset: str) -> AnyTrainingConfig:
    return PRESETS[preset].with_overrides(input_blocks=("lld",), preset=f"{preset} on LLDs")


FAMILIES: list[Family] = [
    Family("pooled MLP on embeddings (`pooled-mlp`, default)", "pooled-mlp", "—"),
    Family("3-layer LSTM + attention on LLDs (`seed-lstm`)", "seed-lstm", "002"),
    Family("SVM on embeddings (`svm`)", "svm", "003"),
    Family("KNN, k = 4, on embeddings (`knn`)", "knn", "003"),
    Family("AV model: valence SVM × arousal SVM on embeddings (`av-model`)", "av-model", "003"),
    Family("CBSA valence/arousal regression, 94 mapped columns (`cbsa`)", "cbsa", "004"),
    Family("SVR (RBF, C = 1) valence/arousal, 94 mapped columns (`svr`)", "svr", "004"),
    Family("mean teacher, pooled MLP, 100 % labels (`mean-teacher`)", "mean-teacher", "000"),
    Family("CRNN + BiLSTM on log-mel, LLDs + RP, softmax (`crnn`)", "crnn", "001"),
    Family("CRNN + BiLSTM, softmax + the seed's centre loss (`crnn-centre`)", "crnn-centre", "001"),
]
VARIANTS: list[Family] = [
    Family("SVM on 50 LLDs (the seed's inputs)", _on_llds("svm"), "003"),
    Family("KNN, k = 4, on 50 LLDs", _on_llds("knn"), "003"),
    Family("AV model on 50 LLDs", _on_llds("av-model"), "003"),
    Family(
        "SVR on all 550 columns (no feature mapping)",
        PRESETS["svr"].with_overrides(model__selected_features=0, preset="svr, all columns"),
        "004",
    ),
]


class _KeepingPredictors:
    """A candidate's fit that also keeps each fold's trained model (for V/A RMSE)."""

    def __init__(self, candidate: Candidate) -> None:
        self.candidate = candidate
        self.predictors: list[Any] = []

    def fit(self, *args):
        predictor, labels = self.candidate.fit(*args)
        self.predictors.append(predictor)
        return predictor, labels


def valence_arousal_rmse(
    predictors: list[Any], dataset: LabelledDataset, *, folds: list[tuple[np.ndarray, np.ndarray]]
) -> float | None:
    """RMSE over both axes and every test clip of every fold, against the quadrant centres;
    None for a family without a valence/arousal head."""
    if not _all_have_valence_arousal(predictors):
        return None
    errors = []
    for predictor, (_, test) in zip(predictors, folds, strict=True):
        predicted = np.asarray(
            predictor.predict_valence_arousal([dataset.sequences[i] for i in test])
        )
        target = np.array([QUADRANT_CENTRES[dataset.labels[i]] for i in test])
        errors.append((predicted - target) ** 2)
    return float(np.sqrt(np.concatenate(errors).mean()))


def _all_have_valence_arousal(predictors: list[Any]) -> bool:
    # A trained model says whether its architecture has the head; other predictors by having
    # the method at all.
    return bool(predictors) and all(
        getattr(p, "has_valence_arousal", hasattr(p, "predict_valence_arousal")) for p in predictors
    )


def thresholded_macro_f1(
    predictors: list[Any], dataset: LabelledDataset, *, folds: list[tuple[np.ndarray, np.ndarray]]
) -> float | None:
    """Mean over the folds of the macro-F1 of the predicted points' quadrants (each axis
    thresholded at 0.5); None for a family without a valence/arousal head."""
    if not _all_have_valence_arousal(predictors):
        return None
    scores = []
    for predictor, (_, test) in zip(predictors, folds, strict=True):
        points = predictor.predict_valence_arousal([dataset.sequences[i] for i in test])
        scores.append(
            classification_metrics(
                [dataset.labels[i] for i in test],
                [quadrant_of_point(v, a) for v, a in points],
                labels=list(QUADRANT_CENTRES),
            )["macro_f1"]
        )
    return float(np.mean(scores))


def run_family(
    family: Family,
    dataset: LabelledDataset,
    *,
    folds: int,
    seed: int,
    emopia: LabelledDataset | None,
) -> dict[str, Any]:
    keeping = _KeepingPredictors(
        model_candidate(family.name, family.preset, feature_set_version=dataset.feature_set_version)
    )
    candidate = Candidate(
        name=family.name, fit=keeping.fit, description=keeping.candidate.description
    )

    def report_fold(name: str, fold: int, metrics: dict[str, Any]) -> None:
        print(f"  fold {fold + 1}/{folds}: macro-F1 {metrics['macro_f1']:.3f}", file=sys.stderr)

    (result,) = cross_validate(
        sequences=dataset.sequences,
        labels=dataset.labels,
        groups=dataset.artists,
        candidates=[candidate],
        n_folds=folds,
        seed=seed,
        progress=False,
        on_fold=report_fold,
    )
    summary = result.summary()
    summary["seed_paper"] = family.seed
    fold_indices = artist_grouped_folds(dataset.labels, dataset.artists, n_folds=folds, seed=seed)
    summary["va_rmse"] = valence_arousal_rmse(keeping.predictors, dataset, folds=fold_indices)
    summary["va_thresholded_macro_f1"] = thresholded_macro_f1(
        keeping.predictors, dataset, folds=fold_indices
    )
    summary.update(trained_on_every_clip(family, dataset, seed=seed, emopia=emopia))
    return summary


def trained_on_every_clip(
    family: Family, dataset: LabelledDataset, *, seed: int, emopia: LabelledDataset | None
) -> dict[str, Any]:
    """The family trained on every clip: its training time, inference timings and, given the
    renders, its macro-F1 and recall per class on EMOPIA."""
    print(f"  training on all {len(dataset)} clips for the timings", file=sys.stderr)
    started = time.perf_counter()
    model = train_on_dataset(dataset, preset=family.preset, seed=seed)
    summary: dict[str, Any] = {"training_seconds_all_clips": time.perf_counter() - started}
    summary.update(time_inference(model, dataset.sequences))
    if emopia is not None:
        metrics = evaluate_model(model, sequences=emopia.sequences, labels=emopia.labels)
        summary["emopia_macro_f1"] = metrics["macro_f1"]
        summary["emopia_recall"] = {
            label: scores["recall"] for label, scores in metrics["per_class"].items()
        }
        print(f"  EMOPIA macro-F1 {metrics['macro_f1']:.3f}", file=sys.stderr)
    return summary


def labelled_part(
    labels: list[str], *, fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """(labelled, unlabelled) indices: a stratified ``fraction`` of the clips keeps its labels
    (at least one clip per label), the rest is used without them."""
    indices = np.arange(len(labels))
    if fraction >= 1.0:
        return indices, indices[:0]
    if not 0.0 < fraction < 1.0:
        raise ValueError("a label fraction must be in (0, 1]")
    n_labels = len(set(labels))
    keep = max(n_labels, round(fraction * len(labels)))
    labelled, unlabelled = train_test_split(
        indices, train_size=keep, stratify=labels, random_state=seed
    )
    return np.sort(labelled), np.sort(unlabelled)


def few_labels_candidate(
    name: str,
    preset: str | AnyTrainingConfig,
    *,
    fraction: float,
    feature_set_version: str,
    extra_unlabelled: list[np.ndarray] | None = None,
) -> Candidate:
    """Trains on a stratified ``fraction`` of each training fold's labels; a mean-teacher preset
    also gets the fold's other clips, without labels, and ``extra_unlabelled`` (EMOPIA's
    renders). Candidates with the same fraction see the same labelled clips (the subset
    depends only on the fold's seed)."""
    config = resolve_config(preset)
    semi_supervised = getattr(config, "mean_teacher", None) is not None

    def fit(sequences, labels, groups, sample_weights, seed):
        labelled, unlabelled = labelled_part(list(labels), fraction=fraction, seed=seed)
        model = train_mood_model(
            [sequences[i] for i in labelled],
            [labels[i] for i in labelled],
            [groups[i] for i in labelled],
            preset=config,
            seed=seed,
            feature_set_version=feature_set_version,
            unlabelled_sequences=(
                [sequences[i] for i in unlabelled] + list(extra_unlabelled or [])
                if semi_supervised
                else None
            ),
        )
        return model, model.labels

    return Candidate(name=name, fit=fit, description=f"{config.preset}, {fraction:.0%} labels")


def run_label_fractions(
    dataset: LabelledDataset,
    *,
    fractions: list[float],
    supervised: str | AnyTrainingConfig,
    semi_supervised: str | AnyTrainingConfig,
    folds: int,
    seed: int,
    extra_unlabelled: list[np.ndarray] | None = None,
) -> list[dict[str, Any]]:
    """Per fraction: both methods on the same folds and labelled clips, macro-F1 mean ± std
    and the per-fold paired difference (semi-supervised − supervised)."""
    rows = []
    for fraction in fractions:
        print(f"{fraction:.0%} of the labels", file=sys.stderr)
        candidates = [
            few_labels_candidate(
                f"{method} ({resolve_config(preset).preset})",
                preset,
                fraction=fraction,
                feature_set_version=dataset.feature_set_version,
                extra_unlabelled=extra_unlabelled,
            )
            for method, preset in (("supervised", supervised), ("mean teacher", semi_supervised))
        ]

        def report_fold(name: str, fold: int, metrics: dict[str, Any]) -> None:
            print(f"  fold {fold + 1}/{folds} {name}: {metrics['macro_f1']:.3f}", file=sys.stderr)

        results = cross_validate(
            sequences=dataset.sequences,
            labels=dataset.labels,
            groups=dataset.artists,
            candidates=candidates,
            n_folds=folds,
            seed=seed,
            progress=False,
            on_fold=report_fold,
        )
        supervised_result, semi_result = (result.summary() for result in results)
        gain = np.array([m["macro_f1"] for m in semi_result["fold_metrics"]]) - np.array(
            [m["macro_f1"] for m in supervised_result["fold_metrics"]]
        )
        rows.append(
            {
                "fraction": fraction,
                "supervised": supervised_result,
                "mean_teacher": semi_result,
                "gain_mean": float(gain.mean()),
                "gain_std": float(gain.std()),
                "folds_improved": int((gain > 0).sum()),
            }
        )
    return rows


def label_fractions_table(rows: list[dict[str, Any]], *, n_clips: int, folds: int) -> str:
    lines = [
        "| labels kept | labelled clips / fold | supervised macro-F1 | mean teacher macro-F1 "
        "| mean teacher − supervised (paired) | folds better | train s / fold: sup. / MT |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        sup, semi = row["supervised"], row["mean_teacher"]
        labelled = round(row["fraction"] * n_clips * (folds - 1) / folds)
        lines.append(
            f"| {row['fraction']:.0%} | ≈ {labelled} "
            f"| {sup['macro_f1_mean']:.3f} ± {sup['macro_f1_std']:.3f} "
            f"| {semi['macro_f1_mean']:.3f} ± {semi['macro_f1_std']:.3f} "
            f"| {row['gain_mean']:+.3f} ± {row['gain_std']:.3f} "
            f"| {row['folds_improved']} / {sup['folds']} "
            f"| {sup['training_seconds_mean']:.1f} / {semi['training_seconds_mean']:.1f} |"
        )
    return "\n".join(lines)


def markdown_table(summaries: list[dict[str, Any]]) -> str:
    lines = [
        "| family | seed | macro-F1 (mean ± std) | recall Q1 / Q2 / Q3 / Q4 | V/A RMSE "
        "| EMOPIA macro-F1 | train s / fold | inference ms: 1 track / batch of 256 |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for s in summaries:
        per_class = s["pooled"]["per_class"]
        recall = " / ".join(f"{per_class[label]['recall']:.2f}" for label in per_class)
        rmse = "—" if s.get("va_rmse") is None else f"{s['va_rmse']:.3f}"
        emopia = s.get("emopia_macro_f1")
        lines.append(
            f"| {s['name']} | {s['seed_paper']} "
            f"| {s['macro_f1_mean']:.3f} ± {s['macro_f1_std']:.3f} | {recall} | {rmse} "
            f"| {'not run' if emopia is None else f'{emopia:.3f}'} "
            f"| {s['training_seconds_mean']:.1f} "
            f"| {s['per_track_ms']:.2f} / {s['per_batch_256_ms']:.1f} |"
        )
    return "\n".join(lines)


def merge_reports(paths: list[Path]) -> list[dict[str, Any]]:
    """One row per family name over several reports, in order of first appearance; a later
    report's figures fill or replace an earlier one's (an ``--emopia-only`` run adds the
    EMOPIA column to rows whose cross-validation ran without the renders)."""
    rows: dict[str, dict[str, Any]] = {}
    for path in paths:
        for summary in json.loads(path.read_text())["results"]:
            rows.setdefault(summary["name"], {}).update(summary)
    return [row for row in rows.values() if "macro_f1_mean" in row]


def write_report(args, argv, *, dataset, emopia, summaries) -> None:
    args.json.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "command": " ".join(["python -m benchmarks.model_families", *(argv or sys.argv[1:])]),
        "dataset": {"path": str(args.dataset), **dataset.describe()},
        "protocol": f"{args.folds}-fold StratifiedGroupKFold (groups=artist), seed {args.seed}",
        "emopia": str(args.emopia) if emopia else RENDER_HINT,
        "machine": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "threads": 1,
            "processor": platform.processor(),
        },  # fmt: skip
        "results": summaries,
    }
    args.json.write_text(json.dumps(report, indent=1, default=float))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", type=Path, default=default_datasets_dir() / "4q")
    parser.add_argument("--folds", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--emopia", type=Path, help="render.sh's output folder (optional)")
    parser.add_argument("--no-variants", action="store_true", help="only the families' presets")
    parser.add_argument(
        "--emopia-only",
        action="store_true",
        help="no cross-validation: train each row on every clip and score it on --emopia",
    )
    parser.add_argument("--only", action="append", default=[], help="rows whose name has this")
    parser.add_argument("--workers", type=int, default=1, help="feature-extraction processes")
    parser.add_argument(
        "--feature-set",
        default=LLD_MUSICNN_MEL_FEATURE_SET_VERSION,
        choices=sorted(FEATURE_SETS),
        help="the analyses every row reads (it must hold the blocks of the rows run)",
    )
    parser.add_argument("--json", type=Path, help="write all results as JSON here")
    parser.add_argument("--merge-json", nargs="+", type=Path, help="only print one table")
    parser.add_argument(
        "--label-fractions",
        type=lambda text: [float(part) for part in text.split(",")],
        help="seed 000's experiment instead of the families, e.g. 0.1,0.25,0.5,1.0",
    )
    parser.add_argument("--supervised", default="pooled-mlp", help="with --label-fractions")
    parser.add_argument("--semi-supervised", default="mean-teacher", help="with --label-fractions")
    args = parser.parse_args(argv)

    if args.merge_json:
        print(markdown_table(merge_reports(args.merge_json)))
        return 0

    torch.set_num_threads(1)
    load = {"cache_dir": DEFAULT_FEATURE_CACHE_DIR, "workers": args.workers,
            "feature_set_version": args.feature_set}  # fmt: skip
    dataset = load_labelled_dataset(args.dataset, **load)
    print(
        f"{len(dataset)} clips, {len(set(dataset.artists))} artists; "
        f"{args.folds}-fold artist-grouped CV, seed {args.seed}",
        file=sys.stderr,
    )
    emopia = None
    if args.emopia and write_emopia_metadata(args.emopia):
        emopia = load_labelled_dataset(args.emopia, **load)
    print(
        f"EMOPIA: {len(emopia)} rendered clips" if emopia else f"EMOPIA: {RENDER_HINT}",
        file=sys.stderr,
    )

    if args.label_fractions:
        return _label_fractions_main(args, argv, dataset, emopia)

    families = FAMILIES + ([] if args.no_variants else VARIANTS)
    if args.only:
        families = [f for f in families if any(o in f.name for o in args.only)]
    summaries = []
    started = time.perf_counter()
    if args.emopia_only and emopia is None:
        parser.error(f"--emopia-only needs the renders: {RENDER_HINT}")
    for index, family in enumerate(families, start=1):
        print(f"[{index}/{len(families)}] {family.name}", file=sys.stderr)
        if args.emopia_only:
            summaries.append(
                {"name": family.name, "seed_paper": family.seed}
                | trained_on_every_clip(family, dataset, seed=args.seed, emopia=emopia)
            )
        else:
            summaries.append(
                run_family(family, dataset, folds=args.folds, seed=args.seed, emopia=emopia)
            )
            print(
                f"  macro-F1 {summaries[-1]['macro_f1_mean']:.3f} ± "
                f"{summaries[-1]['macro_f1_std']:.3f}",
                file=sys.stderr,
            )
        print(f"  {(time.perf_counter() - started) / 60:.1f} min so far", file=sys.stderr)
        if args.json:  # after every family, so an interrupted run keeps what it measured
            write_report(args, argv, dataset=dataset, emopia=emopia, summaries=summaries)
    print()
    if args.emopia_only:
        for summary in summaries:
            print(f"{summary['name']}: EMOPIA macro-F1 {summary['emopia_macro_f1']:.3f}")
        return 0
    print(markdown_table(summaries))
    if emopia is None:
        print(f"\nEMOPIA macro-F1: {RENDER_HINT}")
    return 0


def _label_fractions_main(args, argv, dataset: LabelledDataset, emopia) -> int:
    rows = []
    for fraction in args.label_fractions:  # one fraction at a time, so JSON keeps progress
        rows += run_label_fractions(
            dataset,
            fractions=[fraction],
            supervised=args.supervised,
            semi_supervised=args.semi_supervised,
            folds=args.folds,
            seed=args.seed,
            extra_unlabelled=emopia.sequences if emopia else None,
        )
        print(label_fractions_table(rows[-1:], n_clips=len(dataset), folds=args.folds))
        if args.json:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            report = {
                "command": " ".join(
                    ["python -m benchmarks.model_families", *(argv or sys.argv[1:])]
                ),
                "dataset": {"path": str(args.dataset), **dataset.describe()},
                "protocol": f"{args.folds}-fold StratifiedGroupKFold (groups=artist), seed "
                f"{args.seed}; a stratified fraction of each training fold keeps its labels",
                "extra_unlabelled": (
                    f"{len(emopia)} EMOPIA renders from {args.emopia}" if emopia else RENDER_HINT
                ),
                "label_fractions": rows,
            }
            args.json.write_text(json.dumps(report, indent=1, default=float))
    print()
    print(label_fractions_table(rows, n_clips=len(dataset), folds=args.folds))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
