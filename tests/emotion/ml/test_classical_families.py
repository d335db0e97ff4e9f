"""Seed 003's families (kernel SVM, k nearest neighbours, the valence/arousal "AV model"):
they fit, match scikit-learn, survive their artifact, and are reachable wherever a preset is
chosen (the commands, a training run)."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
import torch
from django.core.management import call_command
from sklearn.neighbors import KNeighborsClassifier
from sklearn.svm import SVC

from emotion.features import LLD_FEATURE_SET_VERSION, LLD_MUSICNN_FEATURE_SET_VERSION
from emotion.features import feature_set as get_feature_set
from emotion.ml import load_artifact, read_artifact_metadata, train_mood_model
from emotion.ml.artifact import artifact_to_bytes
from emotion.ml.classical import (
    KernelSVM,
    NeighboursConfig,
    SVMConfig,
    ValenceArousalModel,
    inner_group_splits,
)
from emotion.ml.evaluation import cross_validate, model_candidate
from emotion.ml.model import pad_batch
from emotion.ml.presets import PRESETS
from emotion.ml.training import config_from_dict
from emotion.models import CuratorLabel, TrainingRun, TrainingRunStatus, TrainingTrigger
from emotion.selectors import active_model_version
from emotion.services.retraining import start_training_run
from tests.emotion.ml.synthetic import make_synthetic
from tests.factories import analysed_track
from tests.synthetic_datasets import write_dataset

FAMILIES = {"svm": "kernel_svm", "knn": "nearest_neighbours", "av-model": "valence_arousal"}


def on_llds(preset: str, **overrides):
    """The family's preset reading the 50 LLDs, which the synthetic clips carry the class in."""
    return PRESETS[preset].with_overrides(input_blocks=("lld",), **overrides)


def train(preset: str, data, **overrides):
    sequences, labels, groups = data
    return train_mood_model(
        sequences,
        labels,
        groups,
        preset=on_llds(preset, **overrides),
        seed=0,
        feature_set_version=LLD_FEATURE_SET_VERSION,
    )


@pytest.fixture(scope="module")
def tiny():
    """32 clips of make_synthetic, each class also shifted by a pattern of its own over all
    50 columns: standardised pooled vectors carry the class in every mean column, which
    distance-based families need (one informative column among 100 is lost in the noise)."""
    sequences, labels, groups = make_synthetic(8)
    patterns = np.random.default_rng(9).normal(0.0, 1.5, size=(4, 50)).astype(np.float32)
    shifted = [s + patterns[int(label[1]) - 1] for s, label in zip(sequences, labels, strict=True)]
    return shifted, labels, groups


@pytest.mark.parametrize("preset", FAMILIES)
def test_each_family_overfits_a_tiny_synthetic_set(tiny, preset):
    sequences, labels, _ = tiny
    model = train(preset, tiny)
    assert model.architecture == FAMILIES[preset]
    assert model.predict(sequences) == labels
    assert model.metrics["train"]["macro_f1"] == 1.0
    assert model.metrics["epochs_run"] == 1 and model.metrics["fitted"]


@pytest.mark.parametrize("preset", FAMILIES)
def test_each_family_survives_its_artifact_with_identical_predictions(tiny, preset):
    sequences = make_synthetic(5, seed=7)[0]  # clips it never saw
    model = train(preset, tiny)
    data = artifact_to_bytes(model)
    loaded = load_artifact(data, expected_feature_set_version=LLD_MUSICNN_FEATURE_SET_VERSION)
    np.testing.assert_array_equal(
        loaded.predict_proba([np.hstack([s, np.zeros((len(s), 500))]) for s in sequences]),
        model.predict_proba(sequences),
    )
    assert loaded.architecture == FAMILIES[preset]
    assert loaded.model_config == model.model_config
    assert config_from_dict(loaded.training_config) == on_llds(preset).with_overrides(
        model__input_dim=50
    )
    metadata = read_artifact_metadata(data)
    assert metadata["architecture"] == FAMILIES[preset]
    assert metadata["metrics"]["fitted"] == json.loads(json.dumps(model.metrics["fitted"]))


@pytest.mark.parametrize("n_labels", [2, 4])
@pytest.mark.parametrize("kernel", ["linear", "poly", "rbf"])
def test_the_svm_module_computes_scikit_learns_decision_values(kernel, n_labels):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(90, 8))
    y = rng.integers(0, n_labels, size=90)
    x[np.arange(90), y] += 1.0
    svc = SVC(kernel=kernel, C=1.0, decision_function_shape="ovo").fit(x, y)
    module = KernelSVM(SVMConfig(input_dim=4), n_labels=n_labels)
    module._copy_svc(svc)
    with torch.inference_mode():
        ours = module.decision_values(torch.from_numpy(x.astype(np.float32))).numpy()
    np.testing.assert_allclose(ours, svc.decision_function(x).reshape(90, -1), atol=1e-4)


def test_knn_votes_are_scikit_learns_on_the_pooled_clips():
    sequences, labels, groups = make_synthetic(8, seed=3)
    unseen = make_synthetic(4, seed=4)[0]
    for weighting in ("uniform", "distance"):
        model = train(
            "knn",
            (sequences, labels, groups),
            model__k_grid=(5,),
            model__weighting_grid=(weighting,),
        )
        reference = KNeighborsClassifier(n_neighbors=5, weights=weighting).fit(
            standardised_pooled(model, sequences), labels
        )
        np.testing.assert_allclose(
            model.predict_proba(unseen),
            reference.predict_proba(standardised_pooled(model, unseen)),
            atol=1e-5,
        )


def standardised_pooled(model, clips) -> np.ndarray:
    """The vectors a fitted module compares: pooled, then standardised by the module."""
    module = model.module
    with torch.inference_mode():
        pooled = module.pool(*pad_batch(model.normaliser.transform_many(clips), input_dim=50))
        return ((pooled - module.pooled_mean) / module.pooled_scale).numpy()


def test_the_av_model_multiplies_its_valence_and_arousal_probabilities(tiny):
    sequences = make_synthetic(3, seed=5)[0]
    model = train("av-model", tiny)
    module: ValenceArousalModel = model.module
    scaled = model.normaliser.transform_many(sequences)
    with torch.inference_mode():
        pooled = module.pool(*pad_batch(scaled, input_dim=50))
        valence = torch.softmax(module.valence.logits_of_pooled(pooled), dim=1).numpy()
        arousal = torch.softmax(module.arousal.logits_of_pooled(pooled), dim=1).numpy()
    negative, positive, low, high = valence[:, 0], valence[:, 1], arousal[:, 0], arousal[:, 1]
    expected = np.stack(
        [positive * high, negative * high, negative * low, positive * low], axis=1
    )  # Q1 Q2 Q3 Q4
    probabilities = model.predict_proba(sequences)
    np.testing.assert_allclose(probabilities, expected, atol=1e-5)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)


def test_the_av_model_refuses_labels_that_are_not_quadrants():
    sequences, labels, groups = make_synthetic(4, labels=("happy", "sad", "Q3", "Q4"))
    with pytest.raises(ValueError, match="quadrant labels"):
        train("av-model", (sequences, labels, groups))


def test_inner_folds_keep_artists_apart_and_fall_back_when_too_few():
    _, labels, groups = make_synthetic(12)
    targets = np.array([int(label[1]) for label in labels])
    splits = inner_group_splits(targets, groups, n_folds=3, seed=0)
    assert len(splits) == 3
    for train_part, test_part in splits:
        assert not {groups[i] for i in train_part} & {groups[i] for i in test_part}
    # Two artists per label cannot make three artist-grouped folds: the grid's first values.
    _, labels, groups = make_synthetic(4)
    targets = np.array([int(label[1]) for label in labels])
    assert inner_group_splits(targets, groups, n_folds=3, seed=0) == []
    model = train("svm", make_synthetic(4))
    assert model.metrics["fitted"]["kernel"] == SVMConfig().kernel_grid[0]
    assert model.metrics["fitted"]["inner_cv_macro_f1"] is None


def test_every_family_preset_reads_embeddings_and_round_trips_its_config():
    combined = get_feature_set(LLD_MUSICNN_FEATURE_SET_VERSION)
    for preset, architecture in FAMILIES.items():
        config = PRESETS[preset]
        assert config.architecture == architecture and config.preset == preset
        assert config.max_epochs == 1 and config.validation_fraction == 0.0
        assert combined.columns(config.input_blocks)
        assert config_from_dict(json.loads(json.dumps(config.to_dict()))) == config
    assert NeighboursConfig().k_grid == (4,)  # seed 003's best k for classification


def test_the_commands_reach_every_family(tmp_path, settings):
    settings.DATA_DIR = tmp_path / "data"
    dataset = write_dataset(tmp_path / "set", per_quadrant=8, seed=11)
    for preset, architecture in FAMILIES.items():
        artifact = tmp_path / f"{preset}.safetensors"
        out = io.StringIO()
        call_command(
            "train_mood_model",
            "--dataset",
            str(dataset),
            "--architecture",
            preset,
            "--output",
            str(artifact),
            stdout=out,
            stderr=io.StringIO(),
        )
        assert f"trained a {architecture} model (preset {preset!r})" in out.getvalue()
        assert read_artifact_metadata(artifact.read_bytes())["architecture"] == architecture
    report = tmp_path / "cv.json"
    call_command(
        "cross_validate_mood_model",
        "--dataset",
        str(dataset),
        "--folds",
        "2",
        "--architecture",
        "av-model",
        "--max-epochs",
        "2",
        "--json",
        str(report),
        stdout=io.StringIO(),
        stderr=io.StringIO(),
    )
    first = json.loads(report.read_text())["models"][0]
    assert first["name"] == "preset 'av-model'" and first["folds"] == 2


@pytest.mark.django_db
@pytest.mark.parametrize("preset", FAMILIES)
def test_a_training_run_trains_and_promotes_each_family(
    preset, settings, django_capture_on_commit_callbacks
):
    settings.MOOD_MODEL_HOLDOUT_FRACTION = 0.25
    width = get_feature_set(settings.AUDIO_FEATURE_SET).dims
    rng = np.random.default_rng(5)
    for index in range(48):
        label = ("Q1", "Q2", "Q3", "Q4")[index % 4]
        features = rng.normal(0.0, 1.0, size=(int(rng.integers(3, 8)), width))
        # Embedding columns carry the class: the presets read those.
        features[:, 50 + 20 * int(label[1]) : 70 + 20 * int(label[1])] += 3.0
        track = analysed_track(features, artist=f"Family artist {index}", title=f"Song {index}")
        CuratorLabel.objects.create(track=track, label=label)

    with django_capture_on_commit_callbacks(execute=True):
        run = start_training_run(preset=preset, trigger=TrainingTrigger.COMMAND)
    run = TrainingRun.objects.get(pk=run.pk)
    assert run.status == TrainingRunStatus.PROMOTED, run.outcome
    assert (run.epochs_done, run.max_epochs) == (1, 1)
    version = active_model_version()
    assert version == run.candidate_version
    assert version.architecture["name"] == FAMILIES[preset]
    assert version.architecture["preset"] == preset
    assert version.metrics["macro_f1"] > 0.9


@pytest.mark.dataset
def test_a_short_grouped_cross_validation_of_each_family_on_real_4q(four_q_subset):
    # The 160-clip subset and folds of the default architecture's CI check (test_datasets).
    dataset = four_q_subset
    results = cross_validate(
        sequences=dataset.sequences,
        labels=dataset.labels,
        groups=dataset.artists,
        candidates=[
            model_candidate(preset, preset, feature_set_version=dataset.feature_set_version)
            for preset in FAMILIES
        ],
        n_folds=4,
        seed=0,
        progress=False,
    )
    for result in results:
        summary = result.summary()
        # Chance is 0.25; on all 720 clips these families score 0.6-0.75 (README).
        assert summary["macro_f1_mean"] > 0.45, (result.name, summary["fold_metrics"])
