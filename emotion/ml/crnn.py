"""CRNN + BiLSTM with a centre loss (seed 001).

A clip's segments carry three blocks (``emotion.features.spectrogram``), read in this order:
the 50 LLDs, the ``log_mel`` summary (16 steps × 40 bands per segment) and the
``residual_phase`` cepstrum (12). Two streams:

1. **CRNN on the spectrogram** (§2.3.1, Figure 4). The segments' log-mel patches, laid end to
   end, are one clip-level spectrogram (40 bands × 16·n_segments steps). Convolution layer C1
   has two kernels side by side: a time kernel (1 × ``time_kernel``, along time only) and a
   frequency kernel (``frequency_kernel`` × 1, along frequency only); their maps are
   concatenated and max-pooled (P1), C2 (3 × 3) extracts local features and P2 pools again.
   Each remaining time step's maps (channels × bands) form one vector of a sequence that a
   BiLSTM reads; its outputs are averaged over the clip's real steps.
2. **BiLSTM on the LLDs** (§2.3.2): per segment the 50 LLDs (MFCC, formants, energy, pitch,
   ZCR) and the residual phase, the latter scaled by a learned weight (the seed's "weighted
   combination of MFCC and RP"); its outputs are averaged over the real segments.

The two summaries are concatenated, go through a dense layer of ``embedding_size`` ReLU units
(the feature the centre loss acts on) and a linear softmax layer (§2.4).

**Centre loss** (§2.4.2), when ``centre_loss`` is not "none": the module holds one learned
centre per label and ``logits_and_auxiliary_loss`` adds ``centre_loss_weight`` × the loss of
``centre_loss`` to the cross-entropy during training (``training._objective_loss``):

* ``"centre"``: ½‖x − Q_y‖², the centre softmax of eq. (10) (Wen et al. 2016);
* ``"separating"``: ½‖x − Q_y‖² / (Σ_{j≠y} ‖x − Q_j‖² + 1), the seed's improved variant of
  eq. (11): close to its own centre, far from the others.

Both are averaged over the batch (the seed sums; a mean keeps τ independent of batch size),
and the centres are trained by the same optimiser as the weights (instead of Wen et al.'s
separate update rule, which needs a second learning rate). At inference the centres are unused.

Padding never changes a clip's result: padded steps are zeroed after every convolution, each
segment's 16 steps pool to exactly 4 (P1 and P2 halve time), and both LSTMs are packed.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from emotion.ml.config import SerialisableConfig

CENTRE_LOSSES = ("none", "centre", "separating")
_POOL = 2  # P1 and P2 halve time and frequency


@dataclass(frozen=True)
class CRNNConfig(SerialisableConfig):
    input_dim: int = 702
    # The blocks' sizes, in reading order: LLDs, log-mel summary (steps × bands), RP.
    lld_dim: int = 50
    mel_steps: int = 16
    mel_bands: int = 40
    residual_phase_dim: int = 12
    channels: int = 8  # maps of each C1 kernel and of C2
    time_kernel: int = 5
    frequency_kernel: int = 5
    crnn_hidden_size: int = 32  # the spectrogram BiLSTM's units each way
    lld_hidden_size: int = 32  # the LLD BiLSTM's units each way
    embedding_size: int = 64
    dropout: float = 0.3
    centre_loss: str = "none"
    centre_loss_weight: float = 0.01  # τ

    def __post_init__(self) -> None:
        expected = self.lld_dim + self.mel_steps * self.mel_bands + self.residual_phase_dim
        if self.input_dim != expected:
            raise ValueError(
                f"the CRNN reads the blocks lld, log_mel, residual_phase ({expected} columns), "
                f"not {self.input_dim}"
            )
        if self.mel_steps % (_POOL * _POOL) or self.mel_bands < _POOL * _POOL:
            raise ValueError("mel_steps must be a multiple of 4 and mel_bands at least 4")
        if min(self.channels, self.crnn_hidden_size, self.lld_hidden_size) < 1:
            raise ValueError("channels and hidden sizes must be positive")
        if self.time_kernel % 2 == 0 or self.frequency_kernel % 2 == 0:
            raise ValueError("kernel sizes must be odd")
        if self.centre_loss not in CENTRE_LOSSES:
            raise ValueError(
                f"unknown centre_loss {self.centre_loss!r}; choose from {CENTRE_LOSSES}"
            )
        if not 0.0 <= self.dropout < 1.0 or self.centre_loss_weight < 0:
            raise ValueError("dropout must be in [0, 1) and centre_loss_weight ≥ 0")

    @property
    def mel_dim(self) -> int:
        return self.mel_steps * self.mel_bands


def centre_loss(
    embeddings: torch.Tensor, targets: torch.Tensor, centres: torch.Tensor, *, variant: str
) -> torch.Tensor:
    """Mean over the batch of the centre loss ``variant`` ("centre" or "separating")."""
    distances = (embeddings.unsqueeze(1) - centres.unsqueeze(0)).pow(2).sum(dim=-1)  # (B, K)
    own = distances.gather(1, targets.unsqueeze(1)).squeeze(1)
    if variant == "centre":
        return 0.5 * own.mean()
    if variant == "separating":
        others = distances.sum(dim=1) - own
        return 0.5 * (own / (others + 1.0)).mean()
    raise ValueError(f"unknown centre loss {variant!r}")


class CRNN(nn.Module):
    def __init__(self, config: CRNNConfig, *, n_labels: int) -> None:
        super().__init__()
        if n_labels < 2:
            raise ValueError("a classifier needs at least two labels")
        self.config = config
        self.n_labels = n_labels
        c = config.channels
        self.time_convolution = nn.Conv2d(
            1, c, kernel_size=(1, config.time_kernel), padding=(0, config.time_kernel // 2)
        )
        self.frequency_convolution = nn.Conv2d(
            1,
            c,
            kernel_size=(config.frequency_kernel, 1),
            padding=(config.frequency_kernel // 2, 0),
        )
        self.second_convolution = nn.Conv2d(2 * c, c, kernel_size=3, padding=1)
        self.pool = nn.MaxPool2d(_POOL)
        pooled_bands = config.mel_bands // _POOL // _POOL
        self.spectrogram_lstm = nn.LSTM(
            c * pooled_bands, config.crnn_hidden_size, batch_first=True, bidirectional=True
        )
        self.residual_phase_weight = nn.Parameter(torch.ones(()))
        self.lld_lstm = nn.LSTM(
            config.lld_dim + config.residual_phase_dim,
            config.lld_hidden_size,
            batch_first=True,
            bidirectional=True,
        )
        self.dropout = nn.Dropout(config.dropout)
        self.dense = nn.Linear(
            2 * (config.crnn_hidden_size + config.lld_hidden_size), config.embedding_size
        )
        self.output = nn.Linear(config.embedding_size, n_labels)
        if config.centre_loss != "none":
            self.centres = nn.Parameter(0.01 * torch.randn(n_labels, config.embedding_size))

    def embed(self, features: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """``features``: (batch, max_len, input_dim) zero-padded; ``lengths``: (batch,) ≥ 1.
        Returns the fused (batch, embedding_size) feature the softmax layer reads."""
        config = self.config
        lengths_cpu = lengths.detach().to("cpu", torch.int64)
        if bool((lengths_cpu < 1).any()):
            raise ValueError("every sequence needs at least one segment")
        batch, segments, _ = features.shape
        lld = features[..., : config.lld_dim]
        mel = features[..., config.lld_dim : config.lld_dim + config.mel_dim]
        residual_phase = features[..., config.lld_dim + config.mel_dim :]

        # (batch, 1, bands, time): the clip's spectrogram, the segments' patches end to end.
        spectrogram = mel.reshape(batch, segments * config.mel_steps, config.mel_bands)
        spectrogram = spectrogram.transpose(1, 2).unsqueeze(1)
        frame_lengths = lengths_cpu * config.mel_steps
        maps = torch.cat(
            [
                torch.relu(self.time_convolution(spectrogram)),
                torch.relu(self.frequency_convolution(spectrogram)),
            ],
            dim=1,
        )
        maps = self.pool(_zero_padded_steps(maps, frame_lengths))
        maps = torch.relu(self.second_convolution(maps))
        maps = self.pool(_zero_padded_steps(maps, frame_lengths // _POOL))
        step_lengths = frame_lengths // (_POOL * _POOL)
        steps = maps.permute(0, 3, 1, 2).reshape(batch, maps.shape[3], -1)
        spectrogram_summary = _masked_mean_of_lstm(self.spectrogram_lstm, steps, step_lengths)

        segment_inputs = torch.cat([lld, self.residual_phase_weight * residual_phase], dim=-1)
        lld_summary = _masked_mean_of_lstm(self.lld_lstm, segment_inputs, lengths_cpu)

        fused = torch.cat([spectrogram_summary, lld_summary], dim=1)
        return torch.relu(self.dense(self.dropout(fused)))

    def forward(self, features: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return self.output(self.dropout(self.embed(features, lengths)))

    def logits_and_auxiliary_loss(
        self, features: torch.Tensor, lengths: torch.Tensor, targets: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor | float]:
        """Training's forward pass: the logits, and τ × the centre loss (0 without one)."""
        embedding = self.embed(features, lengths)
        logits = self.output(self.dropout(embedding))
        if self.config.centre_loss == "none":
            return logits, 0.0
        loss = centre_loss(embedding, targets, self.centres, variant=self.config.centre_loss)
        return logits, self.config.centre_loss_weight * loss


def _zero_padded_steps(maps: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """``maps`` (batch, channels, bands, time) with every step at or past ``lengths`` zeroed."""
    valid = torch.arange(maps.shape[3]).unsqueeze(0) < lengths.unsqueeze(1)
    return maps * valid.to(maps.device, maps.dtype)[:, None, None, :]


def _masked_mean_of_lstm(
    lstm: nn.LSTM, inputs: torch.Tensor, lengths: torch.Tensor
) -> torch.Tensor:
    """The mean of a (packed) LSTM's outputs over each sequence's real steps."""
    packed = pack_padded_sequence(inputs, lengths, batch_first=True, enforce_sorted=False)
    outputs, _ = pad_packed_sequence(
        lstm(packed)[0], batch_first=True, total_length=inputs.shape[1]
    )
    return outputs.sum(dim=1) / lengths.to(outputs.device, outputs.dtype).unsqueeze(1)
