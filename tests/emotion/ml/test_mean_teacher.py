"""Seed 000's mean teacher: the exact EMA update, mixup, training through the one loop with
unlabelled clips, the artifact round trip, the few-labels experiment's split and a short
grouped CV on a 4Q subset. No accuracy figure is read from synthetic data."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from django.core.management import CommandError, call_command

from benchmarks.model_families import few_labels_candidate, labelled_part
from emotion.ml import load_artifact, read_artifact_metadata, save_artifact
from emotion.ml.augmentation import AugmentationConfig, mix_sequences
from emotion.ml.evaluation import cross_validate
from emotion.ml.mean_teacher import MeanTeacherConfig, MeanTeacherObjective, ema_update
from emotion.ml.pooled import PooledHead, PooledHeadConfig
from emotion.ml.presets import PRESETS, resolve_config
from emotion.ml.training import config_from_dict, train_mood_model
from emotion.models import CuratorLabel, TrainingTrigger
from emotion.selectors import unlabelled_feature_sequences
from emotion.services.retraining import start_training_run
from tests.emotion.ml.synthetic import TINY_CONFIG, make_synthetic
from tests.factories import analysed_track
from tests.synthetic_datasets import write_dataset

TINY_MEAN_TEACHER = TINY_CONFIG.with_overrides(
    mean_teacher=MeanTeacherConfig(rampup_epochs=5, unlabelled_batch_size=16),
    augmentation=AugmentationConfig(enabled=True, gain_db=0.0),
    preset="tiny-mean-teacher",
)


def _head(seed: int) -> PooledHead:
    torch.manual_seed(seed)
    return PooledHead(PooledHeadConfig(input_dim=6, hidden_size=5), n_labels=4)


def test_the_ema_update_is_exact():
    teacher, student = _head(0), _head(1)
    before = {name: tensor.clone() for name, tensor in teacher.state_dict().items()}
    ema_update(teacher=teacher, student=student, decay=0.9)
    for name, tensor in teacher.state_dict().items():
        expected = 0.9 * before[name] + (1 - 0.9) * student.state_dict()[name]
        assert torch.equal(tensor, expected), name
        assert not torch.equal(tensor, before[name]), name


def test_after_each_step_the_teacher_is_alpha_teacher_plus_one_minus_alpha_student():
    student = _head(2)
    config = MeanTeacherConfig(ema_decay=0.95)
    rng = np.random.default_rng(0)
    objective = MeanTeacherObjective(
        config=config,
        student=student,
        pool=[rng.random((3, 6), dtype=np.float32)],
        augmentation=AugmentationConfig(),
        feature_scale=np.ones(6),
        feature_minimum=np.zeros(6),
        rng=rng,
    )
    optimizer = torch.optim.SGD(student.parameters(), lr=0.1)
    for step in range(1, 41):
        optimizer.zero_grad()
        student(torch.rand(2, 3, 6), torch.tensor([3, 2])).sum().backward()
        optimizer.step()
        teacher_before = [p.detach().clone() for p in objective.teacher.parameters()]
        objective.after_step(student)
        # α warms up as min(α, 1 − 1/(step + 1)), then stays at α.
        alpha = min(0.95, 1 - 1 / (step + 1))
        for old, new, current in zip(
            teacher_before, objective.teacher.parameters(), student.parameters(), strict=True
        ):
            assert torch.equal(new, alpha * old + (1 - alpha) * current.detach())
    assert alpha == 0.95
    assert not any(p.requires_grad for p in objective.teacher.parameters())


def test_mixup_mixes_two_clips_over_the_shorter_ones_length():
    rng = np.random.default_rng(0)
    first = np.zeros((5, 3), dtype=np.float32)
    second = np.ones((3, 3), dtype=np.float32)
    mixed = mix_sequences(first, second, weight=0.25, rng=rng)
    assert mixed.shape == (3, 3) and mixed.dtype == np.float32
    np.testing.assert_allclose(mixed, 0.25)
    ramp = np.arange(5, dtype=np.float32)[:, None].repeat(3, axis=1)
    window = mix_sequences(ramp, second, weight=0.0, rng=rng)
    start = int(window[0, 0])  # a contiguous crop of the longer clip
    np.testing.assert_array_equal(window, ramp[start : start + 3])
    with pytest.raises(ValueError, match="weight"):
        mix_sequences(first, second, weight=1.5, rng=rng)


def test_the_consistency_ramps_up_to_its_weight():
    config = MeanTeacherConfig(consistency_weight=2.0, rampup_epochs=10)
    weights = [config.ramp(epoch) for epoch in range(1, 15)]
    assert weights[0] == pytest.approx(2.0 * np.exp(-5.0))
    assert all(a < b for a, b in zip(weights[:10], weights[1:11], strict=True))
    assert weights[10:] == [2.0] * 4


def test_a_mean_teacher_overfits_a_tiny_synthetic_set_with_unlabelled_clips():
    sequences, labels, groups = make_synthetic(8)
    unlabelled, _, _ = make_synthetic(6, seed=1)
    seen = []
    model = train_mood_model(
        sequences,
        labels,
        groups,
        preset=TINY_MEAN_TEACHER.with_overrides(max_epochs=60),
        seed=0,
        unlabelled_sequences=unlabelled,
        on_epoch=lambda epoch, record: seen.append(record),
    )
    assert model.predict(sequences) == labels
    assert model.metrics["mean_teacher"] == {
        "n_unlabelled": len(unlabelled),
        "n_consistency_pool": len(sequences) + len(unlabelled),
        "artifact": "teacher",
    }
    assert seen[0]["consistency_weight"] < seen[-1]["consistency_weight"] == 1.0
    assert all(record["consistency_loss"] >= 0 for record in seen)
    # Same inputs and seed: identical weights (the consistency batches are seeded too).
    again = train_mood_model(
        sequences,
        labels,
        groups,
        preset=TINY_MEAN_TEACHER.with_overrides(max_epochs=60),
        seed=0,
        unlabelled_sequences=unlabelled,
    )
    for name, tensor in model.module.state_dict().items():
        assert torch.equal(tensor, again.module.state_dict()[name]), name


def test_the_teacher_is_the_model_kept(monkeypatch):
    sequences, labels, groups = make_synthetic(6)
    # No validation split: the last epoch's teacher is kept.
    config = TINY_MEAN_TEACHER.with_overrides(max_epochs=3, mean_teacher__ema_decay=0.9)
    states = []
    update = MeanTeacherObjective.after_step

    def update_and_record(self, student):
        update(self, student)
        states.append(
            tuple(
                {name: t.clone() for name, t in m.state_dict().items()}
                for m in (student, self.teacher)
            )
        )

    monkeypatch.setattr(MeanTeacherObjective, "after_step", update_and_record)
    model = train_mood_model(sequences, labels, groups, preset=config, seed=0)
    student_state, teacher_state = states[-1]
    for name, tensor in model.module.state_dict().items():
        assert torch.equal(tensor, teacher_state[name]), name
    assert any(not torch.equal(student_state[n], teacher_state[n]) for n in teacher_state)


def test_a_mean_teacher_artifact_round_trip_gives_identical_predictions(tmp_path):
    sequences, labels, groups = make_synthetic(6)
    unlabelled, _, _ = make_synthetic(3, seed=2)
    model = train_mood_model(
        sequences,
        labels,
        groups,
        preset=TINY_MEAN_TEACHER.with_overrides(max_epochs=8),
        seed=0,
        unlabelled_sequences=unlabelled,
    )
    path = tmp_path / "mean-teacher.safetensors"
    save_artifact(model, path)
    loaded = load_artifact(path)
    np.testing.assert_array_equal(
        loaded.predict_proba(sequences + unlabelled), model.predict_proba(sequences + unlabelled)
    )
    assert config_from_dict(loaded.training_config).mean_teacher == (TINY_MEAN_TEACHER.mean_teacher)


def test_unlabelled_clips_are_refused_without_a_mean_teacher():
    sequences, labels, groups = make_synthetic(4)
    with pytest.raises(ValueError, match="mean teacher"):
        train_mood_model(
            sequences, labels, groups, preset=TINY_CONFIG, unlabelled_sequences=sequences[:2]
        )
    with pytest.raises(ValueError, match="unlabelled sequence 0 has shape"):
        train_mood_model(
            sequences,
            labels,
            groups,
            preset=TINY_MEAN_TEACHER,
            unlabelled_sequences=[np.zeros((3, 7), dtype=np.float32)],
        )
    with pytest.raises(ValueError, match="mean_teacher__"):
        TINY_CONFIG.with_overrides(mean_teacher__ema_decay=0.5)


def test_the_preset_is_the_defaults_architecture_with_a_mean_teacher():
    preset = resolve_config("mean-teacher")
    default = resolve_config("default")
    assert preset.mean_teacher == MeanTeacherConfig()
    assert (preset.architecture, preset.model, preset.input_blocks) == (
        default.architecture,
        default.model,
        default.input_blocks,
    )
    assert config_from_dict(preset.to_dict()) == preset
    assert all(
        getattr(config, "mean_teacher", None) is None
        for name, config in PRESETS.items()
        if name != "mean-teacher"
    )


def test_the_labelled_part_is_a_stratified_fraction():
    labels = ["Q1"] * 40 + ["Q2"] * 20 + ["Q3"] * 20 + ["Q4"] * 20
    labelled, unlabelled = labelled_part(labels, fraction=0.1, seed=3)
    assert len(labelled) == 10 and len(unlabelled) == 90
    assert set(labelled).isdisjoint(unlabelled) and len(set(labelled) | set(unlabelled)) == 100
    counts = {label: sum(labels[i] == label for i in labelled) for label in set(labels)}
    assert counts == {"Q1": 4, "Q2": 2, "Q3": 2, "Q4": 2}
    again, _ = labelled_part(labels, fraction=0.1, seed=3)
    np.testing.assert_array_equal(labelled, again)
    everything, none = labelled_part(labels, fraction=1.0, seed=3)
    assert len(everything) == 100 and len(none) == 0


def test_few_labels_candidates_share_the_labelled_clips_and_only_the_mean_teacher_gets_the_rest():
    sequences, labels, groups = make_synthetic(10)
    extra, _, _ = make_synthetic(2, seed=4)
    fitted = {}
    for name, config in (
        ("supervised", TINY_CONFIG.with_overrides(max_epochs=2)),
        ("mean teacher", TINY_MEAN_TEACHER.with_overrides(max_epochs=2)),
    ):
        candidate = few_labels_candidate(
            name, config, fraction=0.25, feature_set_version="unknown", extra_unlabelled=extra
        )
        fitted[name], _ = candidate.fit(sequences, labels, groups, None, 7)
    supervised, mean_teacher = fitted["supervised"], fitted["mean teacher"]
    assert supervised.metrics["class_counts"] == mean_teacher.metrics["class_counts"]
    counts = supervised.metrics["class_counts"]  # a stratified 10 of 40 balanced clips
    assert sum(counts.values()) == 10 and set(counts.values()) == {2, 3}
    assert "mean_teacher" not in supervised.metrics
    assert mean_teacher.metrics["mean_teacher"]["n_unlabelled"] == 30 + len(extra)


@pytest.mark.dataset
def test_a_short_grouped_cross_validation_with_few_labels_on_real_4q(four_q_subset):
    # The 160-clip subset and folds of the default architecture's CI check (test_datasets).
    dataset = four_q_subset
    results = cross_validate(
        sequences=dataset.sequences,
        labels=dataset.labels,
        groups=dataset.artists,
        candidates=[
            few_labels_candidate(
                preset,
                resolve_config(preset).with_overrides(max_epochs=60),
                fraction=0.5,
                feature_set_version=dataset.feature_set_version,
            )
            for preset in ("pooled-mlp", "mean-teacher")
        ],
        n_folds=4,
        seed=0,
        progress=False,
    )
    for result in results:
        summary = result.summary()
        # Chance is 0.25; on all 720 clips with half the labels both score about 0.7.
        assert summary["macro_f1_mean"] > 0.45, (result.name, summary["fold_metrics"])


@pytest.mark.django_db
def test_the_unlabelled_selector_reads_only_unlabelled_current_tracks_newest_first():
    rng = np.random.default_rng(0)
    tracks = [analysed_track(rng.normal(size=(i + 2, 50))) for i in range(4)]
    CuratorLabel.objects.create(track=tracks[3], label="Q1")
    unlabelled = unlabelled_feature_sequences(limit=2)
    assert [s.shape[0] for s in unlabelled] == [4, 3]  # tracks 2 and 1: newest, unlabelled
    assert len(unlabelled_feature_sequences(limit=10)) == 3


def test_the_train_command_takes_an_unlabelled_folder(tmp_path, settings):
    settings.DATA_DIR = tmp_path / "data"
    train = write_dataset(tmp_path / "train", per_quadrant=3, seed=1)
    unlabelled = write_dataset(tmp_path / "unlabelled", per_quadrant=1, seed=5)
    artifact = tmp_path / "mt.safetensors"
    arguments = [
        "--dataset",
        str(train),
        "--output",
        str(artifact),
        "--unlabelled",
        str(unlabelled),
    ]
    with pytest.raises(CommandError, match="mean-teacher preset"):
        call_command("train_mood_model", *arguments, "--architecture", "fast")
    call_command(
        "train_mood_model",
        *arguments,
        "--architecture",
        "mean-teacher",
        stdout=io.StringIO(),
        stderr=io.StringIO(),
    )
    metadata = read_artifact_metadata(artifact)
    assert metadata["training_config"]["mean_teacher"] == MeanTeacherConfig().to_dict()
    assert metadata["metrics"]["mean_teacher"]["n_unlabelled"] == 4


@pytest.mark.django_db
def test_a_mean_teacher_training_run_uses_the_catalogues_unlabelled_tracks(
    settings, django_capture_on_commit_callbacks
):
    settings.MOOD_MODEL_HOLDOUT_FRACTION = 0.25
    labels = ("Q1", "Q2", "Q3", "Q4")
    rng = np.random.default_rng(3)
    for index in range(40):
        track = analysed_track(rng.normal(size=(4, 50)), artist=f"Artist {index}")
        CuratorLabel.objects.create(track=track, label=labels[index % 4])
    for index in range(5):
        analysed_track(rng.normal(size=(3, 50)), artist=f"Unlabelled artist {index}")
    with django_capture_on_commit_callbacks(execute=True):
        run = start_training_run(preset="mean-teacher", trigger=TrainingTrigger.COMMAND)
    run.refresh_from_db()
    assert run.candidate_version is not None, run.outcome
    with run.candidate_version.artifact.open("rb") as artifact:
        metadata = read_artifact_metadata(artifact.read())
    assert metadata["metrics"]["mean_teacher"]["n_unlabelled"] == 5
    assert metadata["metrics"]["trained_on"]["n_unlabelled"] == 5
