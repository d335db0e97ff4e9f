"""A pooled head: statistics over a clip's segments, then a linear layer or a small MLP.

Pretrained embeddings already summarise 3 s of music each, so a clip is well described by
their mean and standard deviation over its segments; a linear classifier on those (logistic
regression) is the classic way to read emotion from such embeddings. It is written in torch,
behind the same ``module(features, lengths) → logits`` interface as the LSTM, so one
training loop, one inference path and one artifact format serve every architecture.
Padding is masked out of every statistic, so a clip's result does not depend on its batch.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from emotion.ml.config import SerialisableConfig

POOLINGS = ("mean", "mean+std", "mean+std+max")


@dataclass(frozen=True)
class PooledHeadConfig(SerialisableConfig):
    input_dim: int = 500
    pooling: str = "mean+std"
    # 0: logistic regression on the pooled statistics; > 0: one hidden ReLU layer.
    hidden_size: int = 0
    # Dropout on the pooled statistics (and after the hidden layer).
    dropout: float = 0.0

    def __post_init__(self) -> None:
        if self.pooling not in POOLINGS:
            raise ValueError(f"unknown pooling {self.pooling!r}; choose from {POOLINGS}")
        if self.input_dim < 1 or self.hidden_size < 0:
            raise ValueError("input_dim must be positive and hidden_size non-negative")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError("dropout must be in [0, 1)")

    @property
    def pooled_dim(self) -> int:
        return self.input_dim * len(self.pooling.split("+"))


class PooledHead(nn.Module):
    def __init__(self, config: PooledHeadConfig, *, n_labels: int) -> None:
        super().__init__()
        if n_labels < 2:
            raise ValueError("a classifier needs at least two labels")
        self.config = config
        self.n_labels = n_labels
        self.dropout = nn.Dropout(config.dropout)
        if config.hidden_size:
            self.hidden = nn.Sequential(
                nn.Linear(config.pooled_dim, config.hidden_size),
                nn.ReLU(),
                nn.Dropout(config.dropout),
            )
            self.output = nn.Linear(config.hidden_size, n_labels)
        else:
            self.hidden = nn.Identity()
            self.output = nn.Linear(config.pooled_dim, n_labels)

    def forward(self, features: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """``features``: (batch, max_len, input_dim) zero-padded; ``lengths``: (batch,) ≥ 1."""
        pooled = pool_segments(features, lengths, pooling=self.config.pooling)
        return self.output(self.hidden(self.dropout(pooled)))


def pool_segments(features: torch.Tensor, lengths: torch.Tensor, *, pooling: str) -> torch.Tensor:
    """(batch, pooled_dim): the mean (+ std, + max) of every column over each clip's real
    segments; padding is masked out of every statistic. Shared by every pooled architecture
    (this head and the fitted ones in ``classical``), so they all see a clip the same way."""
    if pooling not in POOLINGS:
        raise ValueError(f"unknown pooling {pooling!r}; choose from {POOLINGS}")
    lengths = lengths.to(features.device)
    if bool((lengths < 1).any()):
        raise ValueError("every sequence needs at least one segment")
    steps = torch.arange(features.shape[1], device=features.device)
    valid = (steps.unsqueeze(0) < lengths.unsqueeze(1)).unsqueeze(-1)  # (batch, len, 1)
    count = lengths.unsqueeze(1).to(features.dtype)
    mean = (features * valid).sum(dim=1) / count
    statistics = [mean]
    if "std" in pooling:
        squared = ((features - mean.unsqueeze(1)) ** 2 * valid).sum(dim=1) / count
        statistics.append(torch.sqrt(squared + 1e-8))
    if "max" in pooling:
        statistics.append(features.masked_fill(~valid, float("-inf")).amax(dim=1))
    return torch.cat(statistics, dim=1)
