"""Classification metrics as plain JSON-serialisable dicts (no sklearn needed at inference)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def confusion_matrix(
    true_labels: Sequence[str], predicted_labels: Sequence[str], *, labels: Sequence[str]
) -> np.ndarray:
    """Rows are true labels, columns predicted ones, both in the order of ``labels``."""
    if len(true_labels) != len(predicted_labels):
        raise ValueError("true and predicted labels differ in length")
    index = {label: i for i, label in enumerate(labels)}
    matrix = np.zeros((len(labels), len(labels)), dtype=np.int64)
    for true, predicted in zip(true_labels, predicted_labels, strict=True):
        if true not in index or predicted not in index:
            raise ValueError(f"label {true!r} or {predicted!r} not in {list(labels)}")
        matrix[index[true], index[predicted]] += 1
    return matrix


def metrics_from_confusion(matrix: np.ndarray, *, labels: Sequence[str]) -> dict[str, Any]:
    matrix = np.asarray(matrix, dtype=np.int64)
    n = int(matrix.sum())
    true_positives = np.diag(matrix).astype(np.float64)
    support = matrix.sum(axis=1).astype(np.float64)
    predicted = matrix.sum(axis=0).astype(np.float64)
    # A class never predicted (or absent) gets precision / recall 0 rather than NaN, the
    # same convention as sklearn's zero_division=0, so macro averages stay comparable.
    recall = np.divide(true_positives, support, out=np.zeros_like(support), where=support > 0)
    precision = np.divide(
        true_positives, predicted, out=np.zeros_like(predicted), where=predicted > 0
    )
    denominator = precision + recall
    f1 = np.divide(
        2 * precision * recall, denominator, out=np.zeros_like(denominator), where=denominator > 0
    )
    per_class = {
        label: {
            "precision": float(precision[i]),
            "recall": float(recall[i]),
            "f1": float(f1[i]),
            "support": int(support[i]),
        }
        for i, label in enumerate(labels)
    }
    return {
        "n": n,
        "labels": list(labels),
        "accuracy": float(true_positives.sum() / n) if n else 0.0,
        "macro_f1": float(f1.mean()) if len(labels) else 0.0,
        "macro_recall": float(recall.mean()) if len(labels) else 0.0,
        "macro_precision": float(precision.mean()) if len(labels) else 0.0,
        "per_class": per_class,
        "confusion": matrix.tolist(),
    }


def classification_metrics(
    true_labels: Sequence[str],
    predicted_labels: Sequence[str],
    *,
    labels: Sequence[str] | None = None,
) -> dict[str, Any]:
    """accuracy, macro_f1, per_class {precision, recall, f1, support}, confusion, labels, n."""
    if labels is None:
        labels = sorted(set(true_labels) | set(predicted_labels))
    matrix = confusion_matrix(true_labels, predicted_labels, labels=labels)
    return metrics_from_confusion(matrix, labels=labels)
