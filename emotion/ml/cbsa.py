"""CNN-BiLSTM-self-attention (CBSA) regression of valence and arousal (seed 004).

A clip's sequence of segment feature vectors (time × features, min–max scaled) goes through:

1. the **feature mapping** (``feature_mapping.CorrelationSelection``): the columns that
   correlate most with valence or arousal on the training clips (seed 004 §3.2; fitted by
   ``train_mood_model`` before training, stored as a buffer);
2. a **2-D CNN** over the (time, feature) plane: ``conv_layers`` × (3 × 3 convolution with
   ``channels`` maps, ReLU, max pooling of 2 along the features) (§3.5, Table 2: 4 maps,
   94 → 47 → 23 features). Time is not pooled: 4Q clips have 3–10 segments of 3 s, not the
   seed's 99 steps, and keeping every step keeps the masking of padded steps exact;
3. a **BiLSTM** over the time steps, the channels × pooled features of each step as its input
   (§3.6; 16 units each way → 32, as Table 2);
4. **self-attention** (§3.7): every step's query against every step's key (scaled dot
   product, padded steps masked out), the values weighted by the softmax, then averaged over
   the clip's real steps;
5. a linear layer to (valence, arousal) and a sigmoid: a point in [0, 1]².

``valence_arousal(features, lengths)`` returns that point; ``forward`` returns quadrant logits
(Q1–Q4) derived from it as in seed 003's AV model (``classical.quadrant_logits_of_points``),
so the product's registry, artifacts, tagging and inference treat it like any other mood
model. It is trained on the points with an RMSE loss (``TrainingConfig.objective``).
Padding never changes a clip's result: padded steps are zeroed after every convolution (as
"same" padding at the clip's end would be), packed out of the LSTM and masked in attention.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from emotion.ml.classical import QUADRANT_AXES, quadrant_logits_of_points
from emotion.ml.config import SerialisableConfig
from emotion.ml.feature_mapping import CorrelationSelection


@dataclass(frozen=True)
class CBSAConfig(SerialisableConfig):
    input_dim: int = 550
    # Columns kept by the feature mapping (0: all). Seed 004 fed 94 features.
    selected_features: int = 94
    channels: int = 4
    conv_layers: int = 2
    kernel_size: int = 3
    # LSTM units each way; the BiLSTM's output is twice this (Table 2: 32).
    hidden_size: int = 16
    dropout: float = 0.2
    # Quadrant logits: each side of an axis is a logistic of (x − 0.5) / temperature.
    temperature: float = 0.1

    def __post_init__(self) -> None:
        if min(self.input_dim, self.channels, self.conv_layers, self.hidden_size) < 1:
            raise ValueError("input_dim, channels, conv_layers and hidden_size must be positive")
        if self.selected_features < 0 or self.kernel_size < 1 or self.kernel_size % 2 == 0:
            raise ValueError("selected_features must be ≥ 0 and kernel_size odd")
        if self.pooled_features < 1:
            raise ValueError(
                f"{self.selected_dim} features cannot be halved {self.conv_layers} times"
            )
        if not 0.0 <= self.dropout < 1.0 or self.temperature <= 0:
            raise ValueError("dropout must be in [0, 1) and temperature positive")

    @property
    def selected_dim(self) -> int:
        if self.selected_features:
            return min(self.selected_features, self.input_dim)
        return self.input_dim

    @property
    def pooled_features(self) -> int:
        width = self.selected_dim
        for _ in range(self.conv_layers):
            width //= 2
        return width


class CBSA(nn.Module):
    def __init__(self, config: CBSAConfig, *, n_labels: int) -> None:
        super().__init__()
        if n_labels != len(QUADRANT_AXES):
            raise ValueError(f"a valence/arousal model answers the quadrants {list(QUADRANT_AXES)}")
        self.config = config
        self.n_labels = n_labels
        self.feature_mapping = CorrelationSelection(config.input_dim, config.selected_features)
        self.convolutions = nn.ModuleList(
            nn.Conv2d(
                1 if layer == 0 else config.channels,
                config.channels,
                kernel_size=config.kernel_size,
                padding=config.kernel_size // 2,
            )
            for layer in range(config.conv_layers)
        )
        self.pool = nn.MaxPool2d(kernel_size=(1, 2))
        encoded = 2 * config.hidden_size
        self.lstm = nn.LSTM(
            input_size=config.channels * config.pooled_features,
            hidden_size=config.hidden_size,
            batch_first=True,
            bidirectional=True,
        )
        self.query = nn.Linear(encoded, encoded)
        self.key = nn.Linear(encoded, encoded)
        self.value = nn.Linear(encoded, encoded)
        self.dropout = nn.Dropout(config.dropout)
        self.output = nn.Linear(encoded, 2)

    def valence_arousal(self, features: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """``features``: (batch, max_len, input_dim) zero-padded; ``lengths``: (batch,) ≥ 1.
        Returns (batch, 2): valence and arousal in [0, 1]."""
        lengths_cpu = lengths.detach().to("cpu", torch.int64)
        if bool((lengths_cpu < 1).any()):
            raise ValueError("every sequence needs at least one segment")
        steps = features.shape[1]
        valid = torch.arange(steps).unsqueeze(0) < lengths_cpu.unsqueeze(1)  # (batch, steps)
        valid = valid.to(features.device)
        step_mask = valid[:, None, :, None].to(features.dtype)
        maps = self.feature_mapping(features).unsqueeze(1) * step_mask  # (batch, 1, T, F)
        for convolution in self.convolutions:
            maps = self.pool(torch.relu(convolution(maps))) * step_mask
        batch = features.shape[0]
        sequence = maps.permute(0, 2, 1, 3).reshape(batch, steps, -1)
        packed = pack_padded_sequence(
            self.dropout(sequence), lengths_cpu, batch_first=True, enforce_sorted=False
        )
        encoded, _ = pad_packed_sequence(self.lstm(packed)[0], batch_first=True, total_length=steps)
        query, key, value = self.query(encoded), self.key(encoded), self.value(encoded)
        scores = query @ key.transpose(1, 2) / key.shape[-1] ** 0.5  # (batch, T, T)
        scores = scores.masked_fill(~valid.unsqueeze(1), float("-inf"))
        attended = torch.softmax(scores, dim=-1) @ value
        summary = (attended * valid.unsqueeze(-1)).sum(dim=1) / lengths_cpu.to(
            attended.device, attended.dtype
        ).unsqueeze(1)
        return torch.sigmoid(self.output(self.dropout(summary)))

    def forward(self, features: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        points = self.valence_arousal(features, lengths)
        return quadrant_logits_of_points(points, temperature=self.config.temperature)
