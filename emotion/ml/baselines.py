"""Classical baselines on time-averaged features (the paper's SVM / LDA rows, logistic
regression on embeddings) and a majority floor.

Each clip's sequence is pooled to one vector: the per-dimension mean and standard deviation
over segments (100 values for 50 LLDs). The std keeps some of the temporal variation the
LSTM sees, so the comparison is not rigged against the classical models. ``columns`` picks
the feature-set columns a baseline reads (e.g. the 50 LLDs of a combined sequence).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedGroupKFold
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC


def pool_sequences(
    sequences: Sequence[np.ndarray],
    *,
    pooling: str = "mean+std",
    columns: Sequence[int] | None = None,
) -> np.ndarray:
    """(n_clips, d) matrix: per-dimension mean (and std) over each clip's segments."""
    pooled = []
    for sequence in sequences:
        array = np.asarray(sequence, dtype=np.float64)
        if columns is not None:
            array = array[:, columns]
        parts = [array.mean(axis=0)]
        if pooling == "mean+std":
            parts.append(array.std(axis=0))
        elif pooling != "mean":
            raise ValueError(f"unknown pooling {pooling!r}")
        pooled.append(np.concatenate(parts))
    return np.nan_to_num(np.vstack(pooled))


class PooledClassifier:
    """A fitted sklearn estimator behind the same predict_proba(sequences) as the LSTM."""

    def __init__(
        self, estimator, *, labels: list[str], pooling: str, columns: Sequence[int] | None = None
    ) -> None:
        self.estimator = estimator
        self.labels = labels
        self.pooling = pooling
        self.columns = columns

    def predict_proba(
        self, sequences: Sequence[np.ndarray], *, batch_size: int = 256
    ) -> np.ndarray:
        features = pool_sequences(sequences, pooling=self.pooling, columns=self.columns)
        if hasattr(self.estimator, "predict_proba"):
            probabilities = self.estimator.predict_proba(features)
            classes = list(self.estimator.classes_)
        else:
            # SVC without Platt scaling: one-hot decisions are enough for accuracy / F1.
            predicted = self.estimator.predict(features)
            classes = list(self.estimator.classes_)
            probabilities = np.zeros((len(predicted), len(classes)))
            probabilities[np.arange(len(predicted)), [classes.index(p) for p in predicted]] = 1
        ordered = np.zeros((len(features), len(self.labels)), dtype=np.float32)
        for column, label in enumerate(classes):
            ordered[:, self.labels.index(label)] = probabilities[:, column]
        return ordered

    def predict(self, sequences: Sequence[np.ndarray], *, batch_size: int = 256) -> list[str]:
        probabilities = self.predict_proba(sequences)
        return [self.labels[i] for i in probabilities.argmax(axis=1)]


def fit_svm(
    sequences: Sequence[np.ndarray],
    labels: Sequence[str],
    groups: Sequence[str],
    *,
    seed: int = 0,
    pooling: str = "mean+std",
    inner_folds: int = 3,
    columns: Sequence[int] | None = None,
) -> PooledClassifier:
    """RBF SVM on standardised pooled features; C and gamma chosen by an inner artist-grouped
    CV on the training data only (so outer test folds are never used for tuning)."""
    pipeline = make_pipeline(
        StandardScaler(), SVC(kernel="rbf", class_weight="balanced", random_state=seed)
    )
    grid = {"svc__C": [0.3, 1.0, 3.0, 10.0], "svc__gamma": ["scale", 0.003, 0.01]}
    return _grid_searched(
        pipeline, grid, sequences, labels, groups,
        seed=seed, pooling=pooling, inner_folds=inner_folds, columns=columns,
    )  # fmt: skip


def fit_logistic_regression(
    sequences: Sequence[np.ndarray],
    labels: Sequence[str],
    groups: Sequence[str],
    *,
    seed: int = 0,
    pooling: str = "mean+std",
    inner_folds: int = 3,
    columns: Sequence[int] | None = None,
) -> PooledClassifier:
    """L2 logistic regression on standardised pooled features, C by an inner artist-grouped
    CV on the training data only: how pretrained embeddings are usually evaluated."""
    pipeline = make_pipeline(
        StandardScaler(),
        LogisticRegression(class_weight="balanced", max_iter=5000, random_state=seed),
    )
    grid = {"logisticregression__C": [0.001, 0.003, 0.01, 0.03, 0.1]}
    return _grid_searched(
        pipeline, grid, sequences, labels, groups,
        seed=seed, pooling=pooling, inner_folds=inner_folds, columns=columns,
    )  # fmt: skip


def _grid_searched(
    pipeline: Pipeline,
    grid: dict,
    sequences: Sequence[np.ndarray],
    labels: Sequence[str],
    groups: Sequence[str],
    *,
    seed: int,
    pooling: str,
    inner_folds: int,
    columns: Sequence[int] | None,
) -> PooledClassifier:
    """The pipeline with the grid's best macro-F1 in an inner artist-grouped CV on the
    training data only (so outer test folds are never used for tuning), refitted on it all."""
    features = pool_sequences(sequences, pooling=pooling, columns=columns)
    search = GridSearchCV(
        pipeline,
        param_grid=grid,
        scoring="f1_macro",
        cv=StratifiedGroupKFold(n_splits=inner_folds, shuffle=True, random_state=seed),
        n_jobs=1,
    )
    search.fit(features, np.asarray(labels), groups=np.asarray(groups))
    return PooledClassifier(
        search.best_estimator_, labels=sorted(set(labels)), pooling=pooling, columns=columns
    )


def fit_lda(
    sequences: Sequence[np.ndarray],
    labels: Sequence[str],
    groups: Sequence[str] | None = None,
    *,
    seed: int = 0,
    pooling: str = "mean+std",
    columns: Sequence[int] | None = None,
) -> PooledClassifier:
    """Linear discriminant analysis (Ledoit–Wolf shrinkage: 100 correlated dims, ~650 clips).
    The paper's "LDA" row is ambiguous (it mentions a Dirichlet distribution); a linear
    discriminant is the usual classical baseline on audio features."""
    features = pool_sequences(sequences, pooling=pooling, columns=columns)
    estimator = make_pipeline(
        StandardScaler(), LinearDiscriminantAnalysis(solver="lsqr", shrinkage="auto")
    )
    estimator.fit(features, np.asarray(labels))
    return PooledClassifier(estimator, labels=sorted(set(labels)), pooling=pooling, columns=columns)


def fit_majority(
    sequences: Sequence[np.ndarray],
    labels: Sequence[str],
    groups: Sequence[str] | None = None,
    *,
    seed: int = 0,
    columns: Sequence[int] | None = None,
) -> PooledClassifier:
    estimator = DummyClassifier(strategy="most_frequent")
    estimator.fit(pool_sequences(sequences, pooling="mean", columns=columns), np.asarray(labels))
    return PooledClassifier(estimator, labels=sorted(set(labels)), pooling="mean", columns=columns)
