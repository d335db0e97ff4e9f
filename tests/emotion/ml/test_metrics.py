from __future__ import annotations

import json

import pytest

from emotion.ml.metrics import classification_metrics


def test_hand_made_confusion_example():
    # true A: 3 (2 right, 1 → B); true B: 2 (1 right, 1 → A); true C: 1 (→ A).
    true = ["A", "A", "A", "B", "B", "C"]
    predicted = ["A", "A", "B", "B", "A", "A"]
    metrics = classification_metrics(true, predicted, labels=["A", "B", "C"])
    assert metrics["confusion"] == [[2, 1, 0], [1, 1, 0], [1, 0, 0]]
    assert metrics["n"] == 6
    assert metrics["accuracy"] == pytest.approx(3 / 6)
    a, b, c = (metrics["per_class"][k] for k in "ABC")
    assert a["precision"] == pytest.approx(2 / 4) and a["recall"] == pytest.approx(2 / 3)
    assert a["f1"] == pytest.approx(2 * (0.5 * 2 / 3) / (0.5 + 2 / 3))
    assert b["precision"] == pytest.approx(1 / 2) and b["recall"] == pytest.approx(1 / 2)
    assert b["f1"] == pytest.approx(0.5)
    assert c == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}
    assert metrics["macro_f1"] == pytest.approx((4 / 7 + 0.5 + 0.0) / 3)
    assert metrics["labels"] == ["A", "B", "C"]
    json.dumps(metrics)  # must be JSON-serialisable as is


def test_matches_sklearn():
    from sklearn.metrics import accuracy_score, f1_score

    true = ["x", "y", "z", "x", "y", "z", "x", "x"]
    predicted = ["x", "z", "z", "y", "y", "z", "x", "z"]
    metrics = classification_metrics(true, predicted)
    assert metrics["accuracy"] == pytest.approx(accuracy_score(true, predicted))
    assert metrics["macro_f1"] == pytest.approx(f1_score(true, predicted, average="macro"))
