"""Per-segment explanations: attention for attentive models, each segment read alone for the
pooled ones (the default ``pooled-mlp``)."""

from __future__ import annotations

import numpy as np
import pytest

from emotion.ml.inference import ATTENTION, SEGMENT_PROBABILITY, explain_segments
from tests.emotion.ml.synthetic import make_synthetic
from tests.emotion.ml.test_architectures import combined_sequences


def test_a_pooled_model_explains_each_segment_by_reading_it_alone(pooled_mlp):
    sequences, _, _ = combined_sequences(2)
    # A track whose first half is Q1 and second half Q3 (embedding column 10·k carries Qk).
    q1, q3 = sequences[0], sequences[2 * 2]
    track = np.vstack([q1[:4], q3[:4]])

    explanation = explain_segments(pooled_mlp, track, label="Q1")

    assert explanation.kind == SEGMENT_PROBABILITY
    assert explanation.values.shape == (8,)
    expected = pooled_mlp.predict_proba([track[i : i + 1] for i in range(8)])[:, 0]
    np.testing.assert_allclose(explanation.values, expected, rtol=1e-5)
    # The segments that sound Q1 carry more Q1 evidence than those that sound Q3.
    assert explanation.values[:4].mean() > explanation.values[4:].mean()


def test_an_attentive_model_explains_with_its_attention_weights(attentive_lstm):
    sequences, _, _ = make_synthetic(2)
    track = sequences[0]

    explanation = explain_segments(attentive_lstm, track, label="Q2")

    assert explanation.kind == ATTENTION
    assert explanation.label == "Q2"
    np.testing.assert_allclose(explanation.values, attentive_lstm.attention_weights(track))
    assert explanation.values.shape == (len(track),)
    assert explanation.values.sum() == pytest.approx(1.0, abs=1e-5)


def test_an_unknown_label_or_an_empty_sequence_is_refused(pooled_mlp):
    sequences, _, _ = combined_sequences(1)
    with pytest.raises(ValueError, match="not one of the model's labels"):
        explain_segments(pooled_mlp, sequences[0], label="Q9")
    with pytest.raises(ValueError, match="n_segments >= 1"):
        explain_segments(pooled_mlp, sequences[0][:0], label="Q1")
