"""LSTM + attention mood classifier (seed 002, §2.2).

Input: a sequence of 50-dim LLD vectors (one per 3-s segment), already min–max scaled.
Stacked LSTM → additive attention over time steps → dense layer → logits over the label set.
Variable lengths go through ``pack_padded_sequence`` so padding never reaches the LSTM, and
the attention softmax is masked so its weights are exactly 0 on padded steps.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from emotion.ml.config import SerialisableConfig

ACTIVATIONS: dict[str, type[nn.Module]] = {
    "tanh": nn.Tanh,
    "relu": nn.ReLU,
    "gelu": nn.GELU,
    "sigmoid": nn.Sigmoid,
    "identity": nn.Identity,
}


@dataclass(frozen=True)
class ModelConfig(SerialisableConfig):
    """Architecture only; JSON-serialisable so it can travel in the artifact."""

    input_dim: int = 50
    hidden_size: int = 64
    num_layers: int = 3
    bidirectional: bool = False
    # Dropout between LSTM layers and before the dense / output layers.
    dropout: float = 0.3
    # attention=False is the "last hidden state" baseline of the paper's Table 1.
    attention: bool = True
    attention_size: int = 64
    dense_size: int = 64
    activation: str = "tanh"

    def __post_init__(self) -> None:
        if self.activation not in ACTIVATIONS:
            raise ValueError(
                f"unknown activation {self.activation!r}; choose from {sorted(ACTIVATIONS)}"
            )
        if self.num_layers < 1 or self.hidden_size < 1 or self.input_dim < 1:
            raise ValueError("input_dim, hidden_size and num_layers must be positive")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError("dropout must be in [0, 1)")


class MoodLSTM(nn.Module):
    def __init__(self, config: ModelConfig, *, n_labels: int) -> None:
        super().__init__()
        if n_labels < 2:
            raise ValueError("a classifier needs at least two labels")
        self.config = config
        self.n_labels = n_labels
        self.lstm = nn.LSTM(
            input_size=config.input_dim,
            hidden_size=config.hidden_size,
            num_layers=config.num_layers,
            batch_first=True,
            bidirectional=config.bidirectional,
            dropout=config.dropout if config.num_layers > 1 else 0.0,
        )
        encoded_size = config.hidden_size * (2 if config.bidirectional else 1)
        if config.attention:
            # Additive (Bahdanau-style) scoring: a_t = softmax_t(v · tanh(W h_t + b)).
            self.attention_projection = nn.Linear(encoded_size, config.attention_size)
            self.attention_vector = nn.Linear(config.attention_size, 1, bias=False)
        self.dropout = nn.Dropout(config.dropout)
        self.dense = nn.Linear(encoded_size, config.dense_size)
        self.dense_activation = ACTIVATIONS[config.activation]()
        self.output = nn.Linear(config.dense_size, n_labels)

    def forward(
        self, features: torch.Tensor, lengths: torch.Tensor, *, return_attention: bool = False
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor | None]:
        """``features``: (batch, max_len, input_dim) zero-padded; ``lengths``: (batch,) ≥ 1.

        Returns logits (batch, n_labels), plus attention weights (batch, max_len) if asked
        (None for the no-attention baseline).
        """
        lengths_cpu = lengths.detach().to("cpu", torch.int64)
        if bool((lengths_cpu < 1).any()):
            raise ValueError("every sequence needs at least one segment")
        packed = pack_padded_sequence(features, lengths_cpu, batch_first=True, enforce_sorted=False)
        packed_output, (hidden, _cell) = self.lstm(packed)
        attention_weights: torch.Tensor | None = None
        if self.config.attention:
            outputs, _ = pad_packed_sequence(
                packed_output, batch_first=True, total_length=features.shape[1]
            )
            scores = self.attention_vector(torch.tanh(self.attention_projection(outputs)))
            scores = scores.squeeze(-1)
            steps = torch.arange(features.shape[1], device=features.device)
            padding = steps.unsqueeze(0) >= lengths_cpu.to(features.device).unsqueeze(1)
            # -inf on padding makes softmax give exactly 0 there, whatever the scores are.
            scores = scores.masked_fill(padding, float("-inf"))
            attention_weights = torch.softmax(scores, dim=1)
            summary = torch.bmm(attention_weights.unsqueeze(1), outputs).squeeze(1)
        else:
            # h_n holds each sequence's state at its own last real step (packing guarantees
            # that), i.e. the "50-dim + LSTM" baseline reads the true end of every clip.
            if self.config.bidirectional:
                summary = torch.cat([hidden[-2], hidden[-1]], dim=1)
            else:
                summary = hidden[-1]
        hidden_features = self.dense_activation(self.dense(self.dropout(summary)))
        logits = self.output(self.dropout(hidden_features))
        if return_attention:
            return logits, attention_weights
        return logits


def pad_batch(
    sequences: Sequence[np.ndarray], *, input_dim: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Zero-pad variable-length (n_i, input_dim) arrays into (batch, max_n, input_dim)."""
    if not sequences:
        raise ValueError("empty batch")
    lengths = [int(np.asarray(s).shape[0]) for s in sequences]
    if min(lengths) < 1:
        raise ValueError("every sequence needs at least one segment")
    batch = np.zeros((len(sequences), max(lengths), input_dim), dtype=np.float32)
    for index, sequence in enumerate(sequences):
        array = np.asarray(sequence, dtype=np.float32)
        if array.ndim != 2 or array.shape[1] != input_dim:
            raise ValueError(f"expected (n_segments, {input_dim}) arrays, got {array.shape}")
        batch[index, : array.shape[0]] = array
    return torch.from_numpy(batch), torch.tensor(lengths, dtype=torch.int64)
