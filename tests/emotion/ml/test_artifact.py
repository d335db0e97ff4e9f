from __future__ import annotations

import io
import pickle

import numpy as np
import pytest

from emotion.ml.artifact import (
    ArtifactError,
    ArtifactMismatchError,
    artifact_to_bytes,
    load_artifact,
    read_artifact_metadata,
    save_artifact,
)
from emotion.ml.training import train_mood_model
from tests.emotion.ml.synthetic import TINY_CONFIG, make_synthetic


@pytest.fixture(scope="module")
def trained():
    sequences, labels, groups = make_synthetic(6)
    model = train_mood_model(
        sequences,
        labels,
        groups,
        preset=TINY_CONFIG.with_overrides(max_epochs=3),
        seed=0,
        feature_set_version="lld50-test",
        segment_seconds=3.0,
    )
    return model, sequences


def test_round_trip_gives_identical_predictions(trained, tmp_path):
    model, sequences = trained
    path = tmp_path / "model.safetensors"
    save_artifact(model, path)
    loaded = load_artifact(
        path, expected_feature_set_version="lld50-test", expected_labels=["Q1", "Q2", "Q3", "Q4"]
    )
    np.testing.assert_array_equal(loaded.predict_proba(sequences), model.predict_proba(sequences))
    assert loaded.labels == model.labels
    assert loaded.display_names["Q2"] == "tense / angry"
    assert loaded.segment_seconds == 3.0
    assert loaded.model_config == model.model_config
    assert loaded.metrics["history"] == model.metrics["history"]
    np.testing.assert_array_equal(loaded.normaliser.minimum, model.normaliser.minimum)
    # file-object source too
    from_file = load_artifact(io.BytesIO(path.read_bytes()))
    np.testing.assert_array_equal(
        from_file.predict_proba(sequences[:3]), model.predict_proba(sequences[:3])
    )


def test_loading_never_unpickles(trained, tmp_path, monkeypatch):
    model, sequences = trained
    data = artifact_to_bytes(model)
    assert not data.startswith(b"\x80")  # not a pickle stream

    def refuse(*args, **kwargs):
        raise AssertionError("pickle used while loading an artifact")

    monkeypatch.setattr(pickle, "loads", refuse)
    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "Unpickler", refuse)
    loaded = load_artifact(data)
    assert loaded.labels == model.labels


def test_mismatches_are_refused_with_both_sides_named(trained):
    model, _ = trained
    data = artifact_to_bytes(model)
    with pytest.raises(ArtifactMismatchError, match="lld50-test.*lld50-v2"):
        load_artifact(data, expected_feature_set_version="lld50-v2")
    with pytest.raises(ArtifactMismatchError, match=r"\['Q1', 'Q2', 'Q3', 'Q4'\].*happy"):
        load_artifact(data, expected_labels=["happy", "fresh", "relaxed", "sad"])
    with pytest.raises(ArtifactMismatchError):
        load_artifact(data, expected_labels=["Q2", "Q1", "Q3", "Q4"])  # order matters


@pytest.mark.parametrize(
    "payload", [b"", b"garbage", pickle.dumps({"a": 1}), b"\x10\x00\x00\x00\x00\x00\x00\x00{}"]
)
def test_non_artifacts_get_a_clear_error(payload):
    with pytest.raises(ArtifactError, match="not a mood-model artifact"):
        load_artifact(payload)


def test_truncated_artifact_is_reported_as_damaged(trained):
    model, _ = trained
    data = artifact_to_bytes(model)
    with pytest.raises(ArtifactError, match="damaged"):
        load_artifact(data[: len(data) - 100])
    assert read_artifact_metadata(data)["labels"] == ["Q1", "Q2", "Q3", "Q4"]


def test_missing_file(tmp_path):
    with pytest.raises(ArtifactError, match="no mood-model artifact"):
        load_artifact(tmp_path / "absent.safetensors")
