"""Seed 001's CRNN + BiLSTM: it overfits a tiny set with and without the centre loss, the centre
loss pulls same-class embeddings together, padding never changes a clip's answer, an artifact
round trip predicts the same, and a short grouped CV runs on a 4Q subset."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from emotion.ml import load_artifact, train_mood_model
from emotion.ml.artifact import artifact_to_bytes
from emotion.ml.crnn import CRNN, CRNNConfig, centre_loss
from emotion.ml.evaluation import cross_validate, model_candidate
from emotion.ml.model import pad_batch
from emotion.ml.presets import CRNN_BLOCKS, PRESETS

LABELS = ("Q1", "Q2", "Q3", "Q4")
SMALL = dict(
    model__channels=4,
    model__crnn_hidden_size=8,
    model__lld_hidden_size=8,
    model__embedding_size=16,
    model__dropout=0.0,
    validation_fraction=0.0,
    augmentation__enabled=False,
    learning_rate=1e-2,
    batch_size=8,
    max_epochs=40,
)


def make_spectrograms(n_per_class: int = 6, *, seed: int = 0):
    """Toy clips of 702 columns (LLDs, 16 × 40 log-mel, RP): class k is louder in mel bands
    8k..8k+5 at every step; the LLD and RP columns are noise. 3–8 segments."""
    rng = np.random.default_rng(seed)
    sequences, labels, groups = [], [], []
    for k, label in enumerate(LABELS):
        for i in range(n_per_class):
            sequence = rng.normal(0.0, 1.0, size=(int(rng.integers(3, 9)), 702))
            patch = sequence[:, 50:690].reshape(-1, 16, 40)
            patch[:, :, 8 * k : 8 * k + 6] += 2.5
            sequences.append(sequence.astype(np.float32))
            labels.append(label)
            groups.append(f"artist-{label}-{i}")
    return sequences, labels, groups


def train(preset: str, data, **overrides):
    sequences, labels, groups = data
    config = PRESETS[preset].with_overrides(**{**SMALL, **overrides})
    return train_mood_model(sequences, labels, groups, preset=config, seed=0)


@pytest.fixture(scope="module")
def data():
    return make_spectrograms()


@pytest.fixture(scope="module")
def models(data):
    return {preset: train(preset, data) for preset in ("crnn", "crnn-centre")}


@pytest.mark.parametrize("preset", ["crnn", "crnn-centre"])
def test_it_overfits_a_tiny_synthetic_set(preset, models, data):
    model = models[preset]
    sequences, labels, _ = data
    assert model.predict(sequences) == labels
    assert model.metrics["train"]["accuracy"] == 1.0
    assert model.architecture == "crnn"
    assert model.model_config.centre_loss == ("none" if preset == "crnn" else "separating")


@pytest.mark.parametrize("preset", ["crnn", "crnn-centre"])
def test_an_artifact_round_trip_gives_identical_predictions(preset, models, data):
    model = models[preset]
    loaded = load_artifact(artifact_to_bytes(model))
    assert loaded.architecture == "crnn" and loaded.model_config == model.model_config
    np.testing.assert_array_equal(loaded.predict_proba(data[0]), model.predict_proba(data[0]))


def test_padding_never_changes_a_clips_answer(models, data):
    model = models["crnn-centre"]
    scaled = model.normaliser.transform_many(data[0][:8])
    module = model.module.eval()
    with torch.inference_mode():
        together = module(*pad_batch(scaled, input_dim=702))
        alone = torch.cat([module(*pad_batch([s], input_dim=702)) for s in scaled])
    torch.testing.assert_close(together, alone, rtol=1e-5, atol=1e-5)


def intra_over_inter(embeddings: np.ndarray, labels: list[str]) -> float:
    """Mean distance of an embedding to its class mean, over the mean distance between the
    class means: scale-free, so shrinking every embedding does not count as pulling together."""
    classes = sorted(set(labels))
    members = {c: embeddings[[label == c for label in labels]] for c in classes}
    means = np.stack([members[c].mean(axis=0) for c in classes])
    intra = np.mean(
        [np.linalg.norm(members[c] - means[i], axis=1).mean() for i, c in enumerate(classes)]
    )
    inter = np.mean([np.linalg.norm(a - b) for i, a in enumerate(means) for b in means[i + 1 :]])
    return float(intra / inter)


def train_embeddings(data, *, variant: str, steps: int = 40) -> tuple[float, float]:
    """Intra/inter ratio of a fresh CRNN's embeddings, before and after ``steps`` full-batch
    steps of cross-entropy + the centre loss ``variant`` (τ = 1; "none": cross-entropy alone).
    The same seed gives every variant the same initial weights."""
    sequences, labels, _ = data
    targets = torch.tensor([LABELS.index(label) for label in labels])
    features, lengths = pad_batch(sequences, input_dim=702)
    torch.manual_seed(0)
    config = CRNNConfig(
        channels=4, crnn_hidden_size=8, lld_hidden_size=8, embedding_size=16, dropout=0.0,
        centre_loss=variant, centre_loss_weight=1.0,
    )  # fmt: skip
    module = CRNN(config, n_labels=4)
    optimiser = torch.optim.Adam(module.parameters(), lr=1e-2)

    def ratio() -> float:
        with torch.no_grad():
            return intra_over_inter(module.embed(features, lengths).numpy(), labels)

    before = ratio()
    for _ in range(steps):
        optimiser.zero_grad()
        logits, term = module.logits_and_auxiliary_loss(features, lengths, targets)
        (torch.nn.functional.cross_entropy(logits, targets) + term).backward()
        optimiser.step()
    return before, ratio()


@pytest.mark.parametrize("variant", ["centre", "separating"])
def test_the_centre_loss_pulls_same_class_embeddings_together(variant, data):
    before, after = train_embeddings(data, variant=variant)
    assert after < 0.5 * before, (before, after)


def test_the_plain_centre_loss_is_tighter_than_the_softmax_alone(data):
    # From the same start. Not asserted for the seed's variant: its term is divided by the
    # distances to the other centres (+ 1), so once the classes are apart it pulls less than
    # the plain one, and on this easy set it ends level with the softmax alone.
    _, with_centre_loss = train_embeddings(data, variant="centre")
    _, softmax_alone = train_embeddings(data, variant="none")
    assert with_centre_loss < softmax_alone, (with_centre_loss, softmax_alone)


def test_the_centre_losses_follow_the_seeds_formulas():
    embeddings = torch.tensor([[0.0, 0.0], [2.0, 0.0]])
    centres = torch.tensor([[1.0, 0.0], [0.0, 3.0]])
    targets = torch.tensor([0, 1])
    # Distances²: clip 0 → (1, 9), clip 1 → (1, 13).
    assert float(centre_loss(embeddings, targets, centres, variant="centre")) == pytest.approx(
        0.5 * (1 + 13) / 2
    )
    assert float(centre_loss(embeddings, targets, centres, variant="separating")) == (
        pytest.approx(0.5 * (1 / (9 + 1) + 13 / (1 + 1)) / 2)
    )
    with pytest.raises(ValueError, match="unknown centre loss"):
        centre_loss(embeddings, targets, centres, variant="angular")


def test_configs_that_cannot_read_the_blocks_are_refused():
    with pytest.raises(ValueError, match="lld, log_mel, residual_phase \\(702 columns\\)"):
        CRNNConfig(input_dim=550)
    with pytest.raises(ValueError, match="unknown centre_loss"):
        CRNNConfig(centre_loss="angular")
    with pytest.raises(ValueError, match="multiple of 4"):
        CRNNConfig(mel_steps=6, input_dim=50 + 240 + 12)
    assert PRESETS["crnn"].input_blocks == CRNN_BLOCKS


def test_a_short_grouped_cross_validation_on_real_4q(four_q_subset):
    # The 160-clip subset of the other families' CI check, 3 folds, at most 15 epochs.
    dataset = four_q_subset
    (result,) = cross_validate(
        sequences=dataset.sequences,
        labels=dataset.labels,
        groups=dataset.artists,
        candidates=[
            model_candidate(
                "crnn-centre",
                PRESETS["crnn-centre"].with_overrides(max_epochs=15),
                feature_set_version=dataset.feature_set_version,
            )
        ],
        n_folds=3,
        seed=0,
        progress=False,
    )
    summary = result.summary()
    assert len(summary["fold_metrics"]) == 3
    # Chance is 0.25 (README, "Model families", for all 720 clips).
    assert summary["macro_f1_mean"] > 0.3, summary["fold_metrics"]


def test_training_on_analyses_without_the_log_mel_summary_says_which_feature_set_to_use():
    sequences = [np.zeros((3, 550), dtype=np.float32)] * 8
    labels = ["Q1", "Q2", "Q3", "Q4"] * 2
    with pytest.raises(ValueError, match="lacks \\['log_mel', 'residual_phase'\\]") as error:
        train_mood_model(sequences, labels, preset="crnn", feature_set_version="lld50-musicnn-v1")
    assert "'lld50-musicnn-mel-v1' (AUDIO_FEATURE_SET)" in str(error.value)
