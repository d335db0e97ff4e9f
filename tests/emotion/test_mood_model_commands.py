"""The mood-model commands end to end on a synthetic dataset folder (no data set needed).

The synthetic clips only exercise the plumbing; no accuracy is read from them.
"""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command

from tests.synthetic_datasets import write_dataset


@pytest.fixture
def model_settings(settings, tmp_path):
    settings.DATA_DIR = tmp_path / "data"
    return settings


def test_train_then_evaluate_on_unseen_folder(tmp_path, model_settings):
    train = write_dataset(tmp_path / "train", per_quadrant=4, seed=1)
    unseen = write_dataset(tmp_path / "unseen", per_quadrant=2, seed=2)
    artifact = tmp_path / "mood.safetensors"

    call_command(
        "train_mood_model",
        "--dataset",
        str(train),
        "--output",
        str(artifact),
        "--preset",
        "fast",
        stdout=io.StringIO(),
        stderr=io.StringIO(),
    )
    assert artifact.stat().st_size > 0

    out = io.StringIO()
    report = tmp_path / "eval.json"
    call_command(
        "evaluate_mood_model",
        "--model",
        str(artifact),
        "--dataset",
        str(unseen),
        "--json",
        str(report),
        stdout=out,
        stderr=io.StringIO(),
    )
    assert "accuracy=" in out.getvalue() and "macro_f1=" in out.getvalue()
    metrics = json.loads(report.read_text())
    assert set(metrics) >= {"accuracy", "macro_f1", "per_class", "confusion", "labels", "n"}
    assert metrics["n"] == 8 and metrics["labels"] == ["Q1", "Q2", "Q3", "Q4"]


def test_evaluate_refuses_a_file_that_is_not_an_artifact(tmp_path, model_settings):
    unseen = write_dataset(tmp_path / "unseen", per_quadrant=1, seed=2)
    bogus = tmp_path / "bogus.safetensors"
    bogus.write_bytes(b"not a model")
    with pytest.raises(CommandError, match="cannot use"):
        call_command("evaluate_mood_model", "--model", str(bogus), "--dataset", str(unseen))


def test_cross_validation_runs_every_model_on_the_same_folds(tmp_path, model_settings):
    dataset = write_dataset(tmp_path / "cv", per_quadrant=8, seed=3)
    report = tmp_path / "cv.json"
    out = io.StringIO()
    call_command(
        "cross_validate_mood_model",
        "--dataset",
        str(dataset),
        "--folds",
        "2",
        "--architecture",
        "fast",
        "--max-epochs",
        "5",
        "--json",
        str(report),
        stdout=out,
        stderr=io.StringIO(),
    )
    models = json.loads(report.read_text())["models"]
    names = [model["name"] for model in models]
    # The requested preset, every architecture on the embeddings, the seed's LSTM variants
    # on the LLDs and the baselines.
    assert names[0] == "preset 'fast'"
    for expected in ("ensemble", "pooled head", "LSTM + attention on LLD + embeddings",
                     "logistic regression", "'seed-lstm'", "'paper'", "SVM", "LDA"):  # fmt: skip
        assert any(expected in name for name in names), expected
    assert all(model["folds"] == 2 for model in models)
    assert "| majority class |" in out.getvalue()
