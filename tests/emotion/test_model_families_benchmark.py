"""``benchmarks.model_families`` on a small synthetic data set: one row per family with every
column, the V/A RMSE where a family has a valence/arousal head, and "not run" for EMOPIA
without renders. No figure is read from synthetic data."""

from __future__ import annotations

import json

import numpy as np
import pytest

from benchmarks.model_families import (
    FAMILIES,
    QUADRANT_CENTRES,
    VARIANTS,
    Family,
    markdown_table,
    merge_reports,
    run_family,
    thresholded_macro_f1,
    valence_arousal_rmse,
)
from emotion.features import LLD_FEATURE_SET_VERSION
from emotion.ml.datasets import LabelledDataset
from emotion.ml.evaluation import artist_grouped_folds
from emotion.ml.presets import PRESETS, resolve_config
from tests.emotion.ml.synthetic import make_synthetic


@pytest.fixture(scope="module")
def dataset() -> LabelledDataset:
    sequences, labels, groups = make_synthetic(8)
    return LabelledDataset(
        sequences=sequences,
        labels=labels,
        artists=groups,
        titles=[f"clip {i}" for i in range(len(labels))],
        paths=[f"{i}.wav" for i in range(len(labels))],
        feature_set_version=LLD_FEATURE_SET_VERSION,
    )


def test_every_row_names_a_preset_and_its_seed():
    assert [f.preset for f in FAMILIES] == [
        "pooled-mlp", "seed-lstm", "svm", "knn", "av-model", "cbsa", "svr", "mean-teacher",
        "crnn", "crnn-centre",
    ]  # fmt: skip
    for family in FAMILIES + VARIANTS:
        resolve_config(family.preset)
        assert family.seed in {"—", "000", "001", "002", "003", "004"}
    seed_003 = [v for v in VARIANTS if v.seed == "003"]
    assert all(resolve_config(v.preset).input_blocks == ("lld",) for v in seed_003)


def test_a_family_row_has_every_column(dataset):
    knn_on_llds = next(v for v in VARIANTS if "KNN" in v.name)
    summary = run_family(knn_on_llds, dataset, folds=2, seed=0, emopia=None)
    assert summary["folds"] == 2 and summary["seed_paper"] == "003"
    assert set(summary["pooled"]["per_class"]) == {"Q1", "Q2", "Q3", "Q4"}
    assert summary["per_track_ms"] > 0 and summary["per_batch_256_ms"] > 0
    assert summary["va_rmse"] is None and "emopia_macro_f1" not in summary
    (row,) = markdown_table([summary]).splitlines()[2:]
    assert row.startswith(f"| {knn_on_llds.name} | 003 | ")
    assert "| — | not run |" in row


class CentreOf:
    """A predictor with a valence/arousal head that answers a fixed point per clip."""

    def __init__(self, point):
        self.point = point

    def predict_valence_arousal(self, sequences):
        return np.tile(self.point, (len(sequences), 1))


class OwnCentre:
    """A predictor that answers each clip's own quadrant centre."""

    def __init__(self, dataset):
        self.centres = {
            id(s): QUADRANT_CENTRES[label]
            for s, label in zip(dataset.sequences, dataset.labels, strict=True)
        }

    def predict_valence_arousal(self, sequences):
        return np.array([self.centres[id(s)] for s in sequences])


def test_the_va_rmse_is_measured_against_each_quadrants_centre(dataset):
    folds = artist_grouped_folds(dataset.labels, dataset.artists, n_folds=2, seed=0)
    # The plane's centre is 0.25 from every quadrant's centre on both axes.
    middle = [CentreOf((0.5, 0.5)), CentreOf((0.5, 0.5))]
    assert valence_arousal_rmse(middle, dataset, folds=folds) == pytest.approx(0.25)
    q1 = [CentreOf(QUADRANT_CENTRES["Q1"])] * 2
    # Q1 clips: 0; Q2, Q4: one axis off by 0.5; Q3: both. Mean square (0+.25+.5+.25)/8.
    assert valence_arousal_rmse(q1, dataset, folds=folds) == pytest.approx(np.sqrt(1 / 8))
    assert valence_arousal_rmse([object(), object()], dataset, folds=folds) is None
    # Each clip's quadrant from its point: Q1's centre everywhere finds only the Q1 clips.
    assert thresholded_macro_f1(q1, dataset, folds=folds) == pytest.approx(0.1)
    exact = [OwnCentre(dataset)] * 2
    assert thresholded_macro_f1(exact, dataset, folds=folds) == pytest.approx(1.0)
    assert valence_arousal_rmse(exact, dataset, folds=folds) == pytest.approx(0.0)


def test_a_valence_arousal_family_has_its_rmse_and_thresholded_macro_f1(dataset):
    svr = next(f for f in FAMILIES if f.preset == "svr")
    on_llds = Family(svr.name, PRESETS["svr"].with_overrides(input_blocks=("lld",)), "004")
    summary = run_family(on_llds, dataset, folds=2, seed=0, emopia=None)
    assert 0 < summary["va_rmse"] < 0.5
    # The quadrant logits' argmax is the point thresholded at 0.5.
    assert summary["va_thresholded_macro_f1"] == pytest.approx(summary["macro_f1_mean"])
    (row,) = markdown_table([summary]).splitlines()[2:]
    assert f"| {summary['va_rmse']:.3f} | not run |" in row


def test_an_emopia_only_report_fills_the_emopia_column_of_earlier_rows(dataset, tmp_path):
    knn_on_llds = next(v for v in VARIANTS if "KNN" in v.name)
    summary = run_family(knn_on_llds, dataset, folds=2, seed=0, emopia=None)
    folds = tmp_path / "folds.json"
    folds.write_text(json.dumps({"results": [summary]}, default=float))
    emopia = tmp_path / "emopia.json"
    emopia.write_text(
        json.dumps({"results": [{"name": knn_on_llds.name, "emopia_macro_f1": 0.4321},
                                {"name": "a row never cross-validated", "emopia_macro_f1": 0.5}]})
    )  # fmt: skip
    (row,) = merge_reports([folds, emopia])
    assert row["macro_f1_mean"] == summary["macro_f1_mean"]
    assert "| 0.432 |" in markdown_table([row])
