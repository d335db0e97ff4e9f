"""Evaluation protocols (artist-grouped k-fold CV, held-out evaluation of an artifact),
baselines on identical folds, and PNG plots.
"""

from __future__ import annotations

import hashlib
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from sklearn.model_selection import StratifiedGroupKFold

from emotion.features.feature_sets import FEATURE_SETS
from emotion.ml.baselines import fit_lda, fit_logistic_regression, fit_majority, fit_svm
from emotion.ml.ensemble import EnsembleMoodModel
from emotion.ml.labels import display_name
from emotion.ml.metrics import classification_metrics, confusion_matrix, metrics_from_confusion
from emotion.ml.presets import EMBEDDING_BLOCKS, PRESETS, resolve_config
from emotion.ml.training import AnyTrainingConfig, TrainedMoodModel, train_mood_model

__all__ = [
    "Candidate",
    "CrossValidationResult",
    "classification_metrics",
    "confusion_matrix",
    "cross_validate",
    "artist_grouped_folds",
    "stable_artist_holdout",
    "require_every_emotion_on_both_sides",
    "HeldOutSplitError",
    "evaluate_model",
    "model_candidate",
    "standard_candidates",
    "plot_confusion_matrix",
    "plot_learning_curves",
]


class Predictor(Protocol):
    def predict_proba(
        self, sequences: Sequence[np.ndarray], *, batch_size: int = 256
    ) -> np.ndarray: ...


# fit(sequences, labels, groups, sample_weights, seed) -> (predictor, label order)
FitFunction = Callable[
    [Sequence[np.ndarray], Sequence[str], Sequence[str], Sequence[float] | None, int],
    tuple[Predictor, list[str]],
]


@dataclass(frozen=True)
class Candidate:
    name: str
    fit: FitFunction
    description: str = ""


def model_candidate(
    name: str,
    config: str | AnyTrainingConfig,
    *,
    feature_set_version: str,
    description: str = "",
) -> Candidate:
    """A model of any architecture, trained by ``train_mood_model`` on each fold."""
    training_config = resolve_config(config)

    def fit(sequences, labels, groups, sample_weights, seed):
        model = train_mood_model(
            sequences,
            labels,
            groups,
            preset=training_config,
            seed=seed,
            sample_weights=sample_weights,
            feature_set_version=feature_set_version,
        )
        return model, model.labels

    return Candidate(name=name, fit=fit, description=description or training_config.preset)


def _sklearn_candidate(name: str, fitter, description: str, *, columns: list[int]) -> Candidate:
    def fit(sequences, labels, groups, sample_weights, seed):
        predictor = fitter(sequences, labels, groups, seed=seed, columns=columns)
        return predictor, predictor.labels

    return Candidate(name=name, fit=fit, description=description)


def standard_candidates(
    *,
    feature_set_version: str,
    default_preset: str | AnyTrainingConfig = "default",
    max_epochs: int | None = None,
) -> list[Candidate]:
    """Every architecture preset and the baselines, for one feature set.

    The seed's LSTM variants and the LLD baselines read the 50 LLD columns; on a feature set
    with musicnn embeddings, the embedding architectures and their baseline (logistic
    regression, as the embeddings' authors evaluate them) join. ``max_epochs`` caps every
    network's training, for quick smoke runs; never for reported figures.
    """

    def capped(config: AnyTrainingConfig) -> AnyTrainingConfig:
        if max_epochs is None:
            return config
        return config.with_overrides(max_epochs=max_epochs, patience=max_epochs)

    def candidate(name: str, config, description: str) -> Candidate:
        return model_candidate(
            name, capped(config), feature_set_version=feature_set_version, description=description
        )

    feature_set = FEATURE_SETS[feature_set_version]
    seed_lstm = resolve_config("seed-lstm")
    lld_columns = feature_set.columns(["lld"])
    candidates = []
    if feature_set.has_embeddings:
        candidates += [
            candidate(
                "pooled head on embeddings (preset 'pooled-embeddings')",
                PRESETS["pooled-embeddings"],
                "mean+std of MSD+MTT tags and penultimate, logistic regression in torch",
            ),
            candidate(
                "pooled MLP on embeddings (preset 'pooled-mlp')",
                PRESETS["pooled-mlp"],
                "the same statistics, one hidden layer of 64",
            ),
            candidate(
                "ensemble of the two pooled heads (preset 'ensemble')",
                PRESETS["ensemble"],
                "probabilities of both averaged",
            ),
            candidate(
                "LSTM + attention on LLD + embeddings (preset 'lstm-embeddings')",
                PRESETS["lstm-embeddings"],
                "1-layer LSTM + attention on the 550-dim combined sequence",
            ),
            _sklearn_candidate(
                "logistic regression (sklearn) on embeddings mean+std",
                fit_logistic_regression,
                "standardised mean+std of the 500 embedding dims; C by inner grouped CV",
                columns=feature_set.columns(EMBEDDING_BLOCKS),
            ),
        ]
    candidates += [
        candidate(
            "3-layer LSTM + attention on 50 LLDs (preset 'seed-lstm')",
            seed_lstm,
            "seed 002's network with tuned training settings",
        ),
        candidate(
            "3-layer LSTM + attention on 50 LLDs (preset 'paper')",
            PRESETS["paper"],
            "seed 002 hyper-parameters",
        ),
        candidate(
            "1-layer LSTM on 50 LLDs, last hidden state",
            seed_lstm.with_overrides(model__num_layers=1, model__attention=False),
            "'50-dim + LSTM' row; seed-lstm training settings",
        ),
        candidate(
            "1-layer LSTM + attention on 50 LLDs",
            seed_lstm.with_overrides(model__num_layers=1, model__attention=True),
            "'50-dim + LSTM + AM' row; seed-lstm training settings",
        ),
        _sklearn_candidate(
            "SVM (RBF) on 50 LLDs mean+std",
            fit_svm,
            "standardised mean+std over segments (100 dims); C, gamma by inner grouped CV",
            columns=lld_columns,
        ),
        _sklearn_candidate(
            "LDA on 50 LLDs mean+std",
            fit_lda,
            "standardised mean+std (100 dims), shrinkage LDA",
            columns=lld_columns,
        ),
        _sklearn_candidate(
            "majority class",
            fit_majority,
            "always the most frequent label",
            columns=lld_columns,
        ),
    ]
    default = resolve_config(default_preset)
    listed = {"ensemble", "pooled-embeddings", "pooled-mlp", "lstm-embeddings", "seed-lstm"}
    if default.preset not in listed:
        candidates.insert(0, candidate(f"preset {default.preset!r}", default, "requested"))
    return candidates


def artist_grouped_folds(
    labels: Sequence[str], groups: Sequence[str], *, n_folds: int = 10, seed: int = 0
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Stratified k folds with no artist in both train and test (seeded)."""
    splitter = StratifiedGroupKFold(n_splits=n_folds, shuffle=True, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return list(splitter.split(np.zeros(len(labels)), np.asarray(labels), np.asarray(groups)))


class HeldOutSplitError(ValueError):
    """A held-out split lacks an emotion on one side, so its metrics would not measure every
    emotion (an emotion with no held-out tracks reads support 0, and accuracy can be perfect
    while macro-F1 is not); the message names what is missing."""


def _artist_bucket(group: str) -> int:
    """A stable number in [0, 10 000) from an artist's name (case and outer spaces ignored)."""
    digest = hashlib.sha256(group.casefold().strip().encode()).digest()
    return int.from_bytes(digest[:4]) % 10_000


def stable_artist_holdout(
    groups: Sequence[str], *, fraction: float
) -> tuple[np.ndarray, np.ndarray]:
    """(train, held-out) indices, an artist going to the held-out side by a hash of its name.

    Unlike a seeded shuffle, an artist's side never changes as the data grows, so a model
    trained on one run's training side has never seen the artists any later run holds out:
    successive models can be compared on the same held-out artists without leakage. It does
    not look at labels: callers check the result with ``require_every_emotion_on_both_sides``.
    """
    if not 0 < fraction < 1:
        raise ValueError("the held-out fraction must be between 0 and 1")
    threshold = round(fraction * 10_000)
    held_out = np.array([_artist_bucket(group) < threshold for group in groups], dtype=bool)
    return np.flatnonzero(~held_out), np.flatnonzero(held_out)


def require_every_emotion_on_both_sides(
    labels: Sequence[str], train: Sequence[int], held_out: Sequence[int]
) -> None:
    """Raise ``HeldOutSplitError`` unless the training and the held-out side each hold every
    emotion of ``labels``. Every held-out split is checked with it before anything trains."""
    emotions = sorted(set(labels))
    sides = {"training": train, "held-out": held_out}
    problems = []
    for side, indices in sides.items():
        present = {labels[i] for i in indices}
        missing = [label for label in emotions if label not in present]
        if missing:
            problems.append(
                f"the {side} side ({len(indices)} tracks) has no tracks of "
                + ", ".join(f"{label} ({display_name(label)})" for label in missing)
            )
    if problems:
        raise HeldOutSplitError(
            "; ".join(problems)
            + f": held-out metrics must cover every emotion ({', '.join(emotions)}), so "
            "nothing is trained on this split"
        )


@dataclass
class CrossValidationResult:
    name: str
    description: str
    fold_metrics: list[dict[str, Any]] = field(default_factory=list)
    pooled: dict[str, Any] = field(default_factory=dict)
    training_seconds: list[float] = field(default_factory=list)
    prediction_seconds: list[float] = field(default_factory=list)
    histories: list[list[dict[str, Any]]] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        accuracy = [m["accuracy"] for m in self.fold_metrics]
        macro_f1 = [m["macro_f1"] for m in self.fold_metrics]
        return {
            "name": self.name,
            "description": self.description,
            "folds": len(self.fold_metrics),
            "accuracy_mean": float(np.mean(accuracy)),
            "accuracy_std": float(np.std(accuracy)),
            "macro_f1_mean": float(np.mean(macro_f1)),
            "macro_f1_std": float(np.std(macro_f1)),
            "pooled": self.pooled,
            "training_seconds_mean": float(np.mean(self.training_seconds)),
            "training_seconds_total": float(np.sum(self.training_seconds)),
            "fold_metrics": self.fold_metrics,
            "best_epochs": [h and max(r.get("best_epoch", 0) for r in h) for h in self.histories],
        }


def cross_validate(
    *,
    sequences: Sequence[np.ndarray],
    labels: Sequence[str],
    groups: Sequence[str],
    candidates: Sequence[Candidate],
    n_folds: int = 10,
    seed: int = 0,
    sample_weights: Sequence[float] | None = None,
    progress: bool = True,
    on_fold: Callable[[str, int, dict[str, Any]], None] | None = None,
) -> list[CrossValidationResult]:
    """Every candidate is trained and tested on exactly the same artist-grouped folds.

    Pooled metrics use the confusion matrix summed over folds; the table reports the mean and
    std of per-fold scores. Fold k trains with seed ``seed + k`` (same for every candidate).
    """
    from tqdm import tqdm

    folds = artist_grouped_folds(labels, groups, n_folds=n_folds, seed=seed)
    label_set = sorted(set(labels))
    results = [CrossValidationResult(name=c.name, description=c.description) for c in candidates]
    pooled_confusions = [np.zeros((len(label_set),) * 2, dtype=np.int64) for _ in candidates]
    bar = tqdm(total=len(folds) * len(candidates), desc="cross-validation", disable=not progress)
    for fold_index, (train_indices, test_indices) in enumerate(folds):
        train_sequences = [sequences[i] for i in train_indices]
        train_labels = [labels[i] for i in train_indices]
        train_groups = [groups[i] for i in train_indices]
        train_weights = (
            None if sample_weights is None else [sample_weights[i] for i in train_indices]
        )
        test_sequences = [sequences[i] for i in test_indices]
        test_labels = [labels[i] for i in test_indices]
        for candidate, result, pooled in zip(candidates, results, pooled_confusions, strict=True):
            bar.set_postfix_str(f"fold {fold_index + 1}: {candidate.name[:30]}")
            started = time.perf_counter()
            predictor, predictor_labels = candidate.fit(
                train_sequences, train_labels, train_groups, train_weights, seed + fold_index
            )
            trained = time.perf_counter()
            probabilities = predictor.predict_proba(test_sequences)
            predicted_at = time.perf_counter()
            predicted = [predictor_labels[i] for i in probabilities.argmax(axis=1)]
            fold_metrics = classification_metrics(test_labels, predicted, labels=label_set)
            fold_metrics["fold"] = fold_index
            pooled += np.asarray(fold_metrics["confusion"])
            result.fold_metrics.append(fold_metrics)
            result.training_seconds.append(trained - started)
            result.prediction_seconds.append(predicted_at - trained)
            if isinstance(predictor, TrainedMoodModel):
                result.histories.append(predictor.metrics.get("history", []))
            elif isinstance(predictor, EnsembleMoodModel):
                result.histories.append(predictor.members[0].metrics.get("history", []))
            if on_fold is not None:
                on_fold(candidate.name, fold_index, fold_metrics)
            bar.update(1)
    bar.close()
    for result, pooled in zip(results, pooled_confusions, strict=True):
        result.pooled = metrics_from_confusion(pooled, labels=label_set)
    return results


def evaluate_model(
    model: Predictor,
    *,
    sequences: Sequence[np.ndarray],
    labels: Sequence[str],
    model_labels: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Metrics of a trained model (e.g. a loaded artifact) on a data set it never saw.

    Labels the model does not know are an error (a quadrant model cannot be scored against
    happy / fresh labels); labels the data set lacks are simply absent from support.
    """
    model_labels = list(model_labels or model.labels)  # type: ignore[attr-defined]
    unknown = sorted(set(labels) - set(model_labels))
    if unknown:
        raise ValueError(
            f"the data set has labels {unknown} that the model does not predict ({model_labels})"
        )
    started = time.perf_counter()
    probabilities = model.predict_proba(sequences)
    seconds = time.perf_counter() - started
    predicted = [model_labels[i] for i in probabilities.argmax(axis=1)]
    metrics = classification_metrics(labels, predicted, labels=model_labels)
    metrics["prediction_seconds"] = seconds
    return metrics


def plot_confusion_matrix(
    metrics: dict[str, Any],
    path: str | Path,
    *,
    title: str = "Confusion matrix",
    display_names: dict[str, str] | None = None,
) -> Path:
    """Row-normalised confusion matrix (recall per true class) with counts in each cell."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    matrix = np.asarray(metrics["confusion"], dtype=np.float64)
    labels = metrics["labels"]
    names = [
        f"{label}\n{display_names[label]}" if display_names and label in display_names else label
        for label in labels
    ]
    row_sums = matrix.sum(axis=1, keepdims=True)
    normalised = np.divide(matrix, row_sums, out=np.zeros_like(matrix), where=row_sums > 0)
    figure, axes = plt.subplots(figsize=(1.3 * len(labels) + 2.5, 1.2 * len(labels) + 2))
    image = axes.imshow(normalised, cmap="Blues", vmin=0, vmax=1)
    for i in range(len(labels)):
        for j in range(len(labels)):
            axes.text(
                j,
                i,
                f"{int(matrix[i, j])}\n{normalised[i, j]:.0%}",
                ha="center",
                va="center",
                fontsize=8,
                color="white" if normalised[i, j] > 0.5 else "black",
            )
    axes.set_xticks(range(len(labels)), names)
    axes.set_yticks(range(len(labels)), names)
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    axes.set_title(
        f"{title}\naccuracy {metrics['accuracy']:.3f}, macro-F1 {metrics['macro_f1']:.3f}, "
        f"n={metrics['n']}",
        fontsize=9,
    )
    figure.colorbar(image, ax=axes, fraction=0.046)
    figure.tight_layout()
    return _save_figure(figure, path)


def plot_learning_curves(
    histories: Sequence[Sequence[dict[str, Any]]], path: str | Path, *, title: str = ""
) -> Path:
    """Train / validation loss and validation macro-F1 per epoch, one line per run (fold)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (loss_axes, f1_axes) = plt.subplots(1, 2, figsize=(11, 4))
    for index, history in enumerate(histories):
        if not history:
            continue
        epochs = [r["epoch"] for r in history]
        alpha = 0.8 if len(histories) == 1 else 0.4
        loss_axes.plot(
            epochs,
            [r["train_loss"] for r in history],
            color="tab:blue",
            alpha=alpha,
            label="train" if index == 0 else None,
        )
        if "val_loss" in history[0]:
            loss_axes.plot(
                epochs,
                [r["val_loss"] for r in history],
                color="tab:orange",
                alpha=alpha,
                label="validation" if index == 0 else None,
            )
            f1_axes.plot(
                epochs, [r["val_macro_f1"] for r in history], color="tab:green", alpha=alpha
            )
        best = history[-1].get("best_epoch")
        if best:
            loss_axes.axvline(best, color="grey", alpha=0.2, linestyle="--")
    loss_axes.set_xlabel("epoch")
    loss_axes.set_ylabel("class-weighted cross-entropy")
    loss_axes.legend()
    f1_axes.set_xlabel("epoch")
    f1_axes.set_ylabel("validation macro-F1")
    figure.suptitle(title or "Learning curves (dashed: early-stopping epoch)")
    figure.tight_layout()
    return _save_figure(figure, path)


def _save_figure(figure, path: str | Path) -> Path:
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path
