"""The recommender tests' active model and tagged catalogue, shared with the emotion tests
(``test_valence_arousal``) rather than built a second way; and two small trained models of
the two kinds of per-segment explanation (``test_inference``, ``test_admin``)."""

import pytest

from emotion.features import LLD_FEATURE_SET_VERSION
from emotion.ml import train_mood_model
from tests.emotion.ml.synthetic import TINY_CONFIG, make_synthetic
from tests.emotion.ml.test_architectures import combined_sequences, quick_model
from tests.recommender.conftest import (  # noqa: F401 - fixtures, registered by import
    active_model,
    mood_catalogue,
    trained_mood_model,
)


@pytest.fixture(scope="module")
def pooled_mlp():
    return quick_model("pooled-mlp", combined_sequences())


@pytest.fixture(scope="module")
def attentive_lstm():
    sequences, labels, groups = make_synthetic(8)
    return train_mood_model(
        sequences,
        labels,
        groups,
        preset=TINY_CONFIG.with_overrides(max_epochs=3, patience=3),
        seed=0,
        feature_set_version=LLD_FEATURE_SET_VERSION,
    )
