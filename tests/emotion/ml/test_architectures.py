"""Every architecture in the registry trains, survives its artifact and serves on the right
features; older artifacts keep working."""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest
from safetensors.torch import load as safetensors_load
from safetensors.torch import save as safetensors_save

from emotion.features import LLD_FEATURE_SET_VERSION, LLD_MUSICNN_FEATURE_SET_VERSION
from emotion.features import feature_set as get_feature_set
from emotion.features.feature_sets import LLD_MUSICNN_MEL_FEATURE_SET_VERSION
from emotion.ml import ARCHITECTURES, EnsembleMoodModel, TrainedMoodModel, train_mood_model
from emotion.ml.artifact import ArtifactMismatchError, artifact_to_bytes, load_artifact
from emotion.ml.presets import PRESETS, resolve_config
from emotion.ml.training import EnsembleConfig, config_from_dict
from tests.emotion.ml.synthetic import TINY_CONFIG, make_synthetic

COMBINED = get_feature_set(LLD_MUSICNN_FEATURE_SET_VERSION)
ALL_BLOCKS = get_feature_set(LLD_MUSICNN_MEL_FEATURE_SET_VERSION)
QUICK = {"max_epochs": 3, "patience": 3}


def combined_sequences(n_per_class: int = 6):
    """Synthetic LLDs widened to the combined set, with embedding columns carrying the class
    too, so every block is informative."""
    sequences, labels, groups = make_synthetic(n_per_class)
    rng = np.random.default_rng(1)
    widened = []
    for sequence, label in zip(sequences, labels, strict=True):
        embeddings = rng.normal(0.0, 1.0, size=(len(sequence), COMBINED.dims - 50))
        embeddings[:, int(label[1]) * 10] += 3.0
        widened.append(np.hstack([sequence, embeddings]).astype(np.float32))
    return widened, labels, groups


@pytest.fixture(scope="module")
def data():
    return combined_sequences()


def quick_model(preset, training_data, *, feature_set_version=LLD_MUSICNN_FEATURE_SET_VERSION):
    sequences, labels, groups = training_data
    config = resolve_config(preset) if isinstance(preset, str) else preset
    return train_mood_model(
        sequences,
        labels,
        groups,
        preset=config.with_overrides(**QUICK),
        seed=0,
        feature_set_version=feature_set_version,
    )


@pytest.mark.parametrize("preset", ["pooled-embeddings", "lstm-embeddings", "ensemble"])
def test_every_architecture_survives_its_artifact_with_identical_predictions(data, preset):
    sequences = data[0]
    model = quick_model(preset, data)
    loaded = load_artifact(
        artifact_to_bytes(model), expected_feature_set_version=LLD_MUSICNN_FEATURE_SET_VERSION
    )
    assert type(loaded) is type(model)
    assert loaded.architecture == model.architecture
    assert loaded.input_blocks == model.input_blocks
    np.testing.assert_array_equal(loaded.predict_proba(sequences), model.predict_proba(sequences))
    if isinstance(model, EnsembleMoodModel):
        assert [m.architecture for m in loaded.members] == ["pooled_head", "pooled_head"]


def test_a_model_reads_only_its_blocks(data):
    sequences = data[0]
    model = quick_model("pooled-embeddings", data)
    assert model.input_columns == COMBINED.columns(model.input_blocks)
    assert model.n_features == 500
    scrambled = [s.copy() for s in sequences]
    for sequence in scrambled:
        sequence[:, :50] = 1e6  # the LLD block, which this preset does not read
    np.testing.assert_array_equal(model.predict_proba(scrambled), model.predict_proba(sequences))


def test_a_seed_lld_model_serves_on_combined_analyses_unchanged():
    lld_sequences = make_synthetic(6)[0]
    model = quick_model(TINY_CONFIG, make_synthetic(6), feature_set_version=LLD_FEATURE_SET_VERSION)
    data = artifact_to_bytes(model)
    on_llds = load_artifact(data, expected_feature_set_version=LLD_FEATURE_SET_VERSION)
    on_combined = load_artifact(data, expected_feature_set_version=LLD_MUSICNN_FEATURE_SET_VERSION)
    widened = [
        np.hstack([s, np.zeros((len(s), COMBINED.dims - 50), np.float32)]) for s in lld_sequences
    ]
    np.testing.assert_array_equal(
        on_combined.predict_proba(widened), on_llds.predict_proba(lld_sequences)
    )


def test_an_embedding_model_is_refused_on_lld_only_analyses(data):
    model = quick_model("pooled-embeddings", data)
    with pytest.raises(ArtifactMismatchError, match=r"lld50-musicnn-v1.*lld50-v1.*lack.*msd_tags"):
        load_artifact(
            artifact_to_bytes(model), expected_feature_set_version=LLD_FEATURE_SET_VERSION
        )


def _as_format_version_1(artifact: bytes) -> bytes:
    """An artifact as the release before the architecture registry wrote it."""
    (header_length,) = struct.unpack("<Q", artifact[:8])
    header = json.loads(artifact[8 : 8 + header_length])
    metadata = json.loads(header["__metadata__"]["metadata"])
    for key in ("architecture", "input_blocks"):
        metadata.pop(key)
    config = metadata["training_config"]
    for key in ("architecture", "input_blocks"):
        config.pop(key)
    return safetensors_save(
        safetensors_load(artifact),
        metadata={
            "format": "emotion-mood-model",
            "format_version": "1",
            "metadata": json.dumps(metadata),
        },
    )


def test_artifacts_from_before_the_registry_still_load_and_serve():
    sequences = make_synthetic(6)[0]
    model = quick_model(TINY_CONFIG, make_synthetic(6), feature_set_version=LLD_FEATURE_SET_VERSION)
    old = load_artifact(
        _as_format_version_1(artifact_to_bytes(model)),
        expected_feature_set_version=LLD_FEATURE_SET_VERSION,
    )
    assert isinstance(old, TrainedMoodModel)
    assert (old.architecture, old.input_blocks) == ("lstm_attention", ("lld",))
    np.testing.assert_array_equal(old.predict_proba(sequences), model.predict_proba(sequences))
    assert config_from_dict(old.training_config) == TINY_CONFIG.with_overrides(**QUICK)


def test_every_preset_names_a_registered_architecture_and_round_trips_its_config():
    for name, config in PRESETS.items():
        members = config.members if isinstance(config, EnsembleConfig) else (config,)
        for member in members:
            assert member.architecture in ARCHITECTURES, name
            # Every block exists in the set that holds every family's blocks, and the
            # architecture's config accepts their width (a CRNN checks its blocks' sizes).
            columns = ALL_BLOCKS.columns(member.input_blocks)
            member.with_overrides(model__input_dim=len(columns))
        assert config_from_dict(config.to_dict()) == config, name
    assert resolve_config("default") is PRESETS[resolve_config("default").preset]
