from __future__ import annotations

import numpy as np
import pytest
import torch

from emotion.ml.model import ModelConfig, MoodLSTM, pad_batch


def _model(**overrides) -> MoodLSTM:
    torch.manual_seed(0)
    config = ModelConfig(hidden_size=8, num_layers=3, attention_size=8, dense_size=8, **overrides)
    return MoodLSTM(config, n_labels=4).eval()


def test_attention_sums_to_one_and_is_zero_on_padding():
    model = _model()
    rng = np.random.default_rng(1)
    sequences = [rng.random((n, 50), dtype=np.float32) for n in (3, 10, 1, 7)]
    features, lengths = pad_batch(sequences, input_dim=50)
    with torch.inference_mode():
        _, weights = model(features, lengths, return_attention=True)
    assert weights.shape == (4, 10)
    torch.testing.assert_close(weights.sum(dim=1), torch.ones(4))
    for row, n in enumerate((3, 10, 1, 7)):
        assert torch.all(weights[row, n:] == 0)
        assert torch.all(weights[row, :n] > 0)


@pytest.mark.parametrize("attention", [True, False])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_padding_does_not_change_predictions(attention, bidirectional):
    model = _model(attention=attention, bidirectional=bidirectional)
    rng = np.random.default_rng(2)
    short = rng.random((4, 50), dtype=np.float32)
    longer = [rng.random((n, 50), dtype=np.float32) for n in (12, 9)]
    with torch.inference_mode():
        alone = model(*pad_batch([short], input_dim=50))
        padded = model(*pad_batch([longer[0], short, longer[1]], input_dim=50))
    # Same math on the same numbers; allow only float32 rounding from different batch shapes.
    torch.testing.assert_close(padded[1], alone[0], rtol=0, atol=1e-6)


def test_rejects_empty_sequences_and_bad_config():
    with pytest.raises(ValueError):
        pad_batch([np.zeros((0, 50), dtype=np.float32)], input_dim=50)
    with pytest.raises(ValueError):
        ModelConfig(activation="swishy")
    config = ModelConfig(hidden_size=4)
    assert ModelConfig.from_dict(config.to_dict()) == config
