"""musicnn (Pons & Serra, 2019) in torch, for inference with the published weights.

The architecture follows ``musicnn/models.py`` (``build_musicnn`` with 64 mid-end filters and
200 back-end units), layer for layer, with TensorFlow's conventions: batch norm with
epsilon 1e-3 in inference mode, time-only zero padding for the timbral and mid-end convs,
"same" padding (more on the right for even kernels) for the temporal convs, and the
back-end's max/mean pools interleaved per channel before the dense layer.

Two rewrites make it cheaper without changing a single output (see ``FrontEndBlock``):
the front-end blocks pool over frequency *before* the ReLU and batch norm, and the temporal
convs, whose kernels span one mel band, run as 1-D convolutions with the bands as batch.

Shapes: input ``(batch, frames, 96)`` log-mel patches (``frontend.log_mel``), 187 frames per
3-s patch in training, though any length of at least one frame works.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional

N_MELS = 96
N_TAGS = 50
PENULTIMATE_UNITS = 200
TIMBRAL_FILTERS = 204  # int(1.6 * 128)
TEMPORAL_FILTERS = 51  # int(1.6 * 32)
MIDEND_FILTERS = 64
TIMBRAL_KERNELS = ((7, 38), (7, 67))  # (time, frequency): 0.4 and 0.7 of the 96 bands
TEMPORAL_KERNELS = (128, 64, 32)
FRONTEND_CHANNELS = 2 * TIMBRAL_FILTERS + 3 * TEMPORAL_FILTERS  # 561
BACKEND_CHANNELS = FRONTEND_CHANNELS + 3 * MIDEND_FILTERS  # 753
BATCH_NORM_EPSILON = 1e-3  # tf.compat.v1.layers.batch_normalization's default


class FrozenBatchNorm(nn.Module):
    """TensorFlow batch norm in inference mode: ``gamma * (x - mean) / sqrt(var + eps) + beta``
    over the last dimension."""

    def __init__(self, channels: int):
        super().__init__()
        for name in ("gamma", "beta", "moving_mean", "moving_variance"):
            self.register_buffer(name, torch.zeros(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scale = self.gamma * torch.rsqrt(self.moving_variance + BATCH_NORM_EPSILON)
        return (x - self.moving_mean) * scale + self.beta


class FrontEndBlock(nn.Module):
    """conv → ReLU → batch norm → max over frequency, with the max taken first.

    ReLU is non-decreasing and inference batch norm is affine per channel: increasing where
    its gamma is positive, decreasing where it is negative. So the max over frequency of
    BN(ReLU(x)) is BN(ReLU(max x)) for a positive gamma and BN(ReLU(min x)) for a negative
    one, exactly. As min x = −max(−x), convolving with the weights and bias multiplied by
    sign(gamma) (an exact negation) turns every pool into one max. ReLU and BN then run on
    one value per frame instead of one per band. Callers: ``signed_conv``, max over the
    bands, ``activate``.
    """

    def __init__(self, conv: nn.Conv1d | nn.Conv2d, channels: int):
        super().__init__()
        self.conv = conv
        self.norm = FrozenBatchNorm(channels)

    def _sign(self) -> torch.Tensor:
        return torch.where(self.norm.gamma >= 0, 1.0, -1.0)

    def signed_conv(self, x: torch.Tensor) -> torch.Tensor:
        sign = self._sign()
        weight = self.conv.weight * sign.view(-1, *([1] * (self.conv.weight.dim() - 1)))
        return self.conv._conv_forward(x, weight, self.conv.bias * sign)

    def activate(self, pooled: torch.Tensor) -> torch.Tensor:
        """``pooled``: (batch, channels, time), the max of ``signed_conv`` over the bands;
        → (batch, time, channels)."""
        restored = pooled * self._sign().view(-1, 1)
        return self.norm(functional.relu(restored.transpose(1, 2)))


class Musicnn(nn.Module):
    """One musicnn model (MSD or MTT weights). ``forward`` returns tag probabilities and the
    penultimate layer, the 200-dim embedding."""

    def __init__(self):
        super().__init__()
        self.input_norm = FrozenBatchNorm(1)
        self.timbral = nn.ModuleList(
            FrontEndBlock(nn.Conv2d(1, TIMBRAL_FILTERS, kernel), TIMBRAL_FILTERS)
            for kernel in TIMBRAL_KERNELS
        )
        self.temporal = nn.ModuleList(
            FrontEndBlock(nn.Conv1d(1, TEMPORAL_FILTERS, kernel), TEMPORAL_FILTERS)
            for kernel in TEMPORAL_KERNELS
        )
        self.midend = nn.ModuleList(
            nn.Conv1d(channels, MIDEND_FILTERS, 7)
            for channels in (FRONTEND_CHANNELS, MIDEND_FILTERS, MIDEND_FILTERS)
        )
        self.midend_norms = nn.ModuleList(FrozenBatchNorm(MIDEND_FILTERS) for _ in range(3))
        self.pool_norm = FrozenBatchNorm(2 * BACKEND_CHANNELS)
        self.dense = nn.Linear(2 * BACKEND_CHANNELS, PENULTIMATE_UNITS)
        self.dense_norm = FrozenBatchNorm(PENULTIMATE_UNITS)
        self.tags = nn.Linear(PENULTIMATE_UNITS, N_TAGS)

    def forward(self, log_mel: torch.Tensor) -> MusicnnOutput:
        batch, frames, bands = log_mel.shape
        if bands != N_MELS:
            raise ValueError(f"musicnn reads {N_MELS} mel bands, got {bands}")
        x = self.input_norm(log_mel.unsqueeze(-1)).squeeze(-1)  # (batch, time, band)

        # Timbral: 2-D convs over (time, band), zero-padded 3 frames in time only.
        padded = functional.pad(x, (0, 0, 3, 3)).unsqueeze(1)
        features = [
            block.activate(block.signed_conv(padded).amax(dim=-1)) for block in self.timbral
        ]
        # Temporal: each kernel spans one band, so every band is a 1-D signal in time.
        bands_as_batch = x.transpose(1, 2).reshape(batch * N_MELS, 1, frames)
        for block in self.temporal:
            kernel = block.conv.kernel_size[0]
            same = functional.pad(bands_as_batch, ((kernel - 1) // 2, kernel // 2))
            conv = block.signed_conv(same).reshape(batch, N_MELS, TEMPORAL_FILTERS, frames)
            features.append(block.activate(conv.amax(dim=1)))
        frontend = torch.cat(features, dim=2)  # (batch, time, 561)

        # Mid-end: three convs over the whole channel axis, the last two residual.
        midend = [frontend]
        hidden = frontend.transpose(1, 2)  # (batch, channels, time)
        for index, (conv, norm) in enumerate(zip(self.midend, self.midend_norms, strict=True)):
            out = norm(functional.relu(conv(functional.pad(hidden, (3, 3)))).transpose(1, 2))
            out = out.transpose(1, 2)
            hidden = out if index == 0 else out + hidden
            midend.append(hidden.transpose(1, 2))
        stacked = torch.cat(midend, dim=2)  # (batch, time, 753)

        # Back-end: max and mean over time, interleaved per channel as TF's flatten leaves
        # them, then dense → ReLU → BN (the penultimate layer) → tags.
        pooled = torch.stack((stacked.amax(dim=1), stacked.mean(dim=1)), dim=2)
        penultimate = self.dense_norm(
            functional.relu(self.dense(self.pool_norm(pooled.flatten(1))))
        )
        return MusicnnOutput(tags=torch.sigmoid(self.tags(penultimate)), penultimate=penultimate)


@dataclass(frozen=True)
class MusicnnOutput:
    tags: torch.Tensor  # (batch, 50) tag probabilities
    penultimate: torch.Tensor  # (batch, 200)


# TensorFlow variable scopes in the order ``build_musicnn`` creates them.
_CONVS = [
    "timbral.0.conv", "timbral.1.conv",
    "temporal.0.conv", "temporal.1.conv", "temporal.2.conv",
    "midend.0", "midend.1", "midend.2",
]  # fmt: skip
_NORMS = [
    "input_norm",
    "timbral.0.norm", "timbral.1.norm",
    "temporal.0.norm", "temporal.1.norm", "temporal.2.norm",
    "midend_norms.0", "midend_norms.1", "midend_norms.2",
    "pool_norm", "dense_norm",
]  # fmt: skip
_DENSES = ["dense", "tags"]


def state_dict_from_checkpoint(tensors: dict) -> dict[str, torch.Tensor]:
    """Map a musicnn TensorFlow checkpoint (``checkpoint.read_checkpoint``) onto ``Musicnn``.

    TF conv kernels are (time, freq, in, out) and dense kernels (in, out); torch wants
    (out, in, time, freq) and (out, in). Optimiser slots (``.../Adam``) are not needed.
    """
    state: dict[str, torch.Tensor] = {}

    def scoped(base: str, index: int) -> str:
        return base if index == 0 else f"{base}_{index}"

    for index, name in enumerate(_CONVS):
        kernel = torch.from_numpy(tensors[f"{scoped('conv2d', index)}/kernel"])
        if name.startswith("timbral"):
            weight = kernel.permute(3, 2, 0, 1)  # (out, in, time, freq)
        elif name.startswith("temporal"):
            weight = kernel[:, 0, :, :].permute(2, 1, 0)  # (out, 1, time)
        else:  # mid-end: the kernel's frequency axis spans every channel
            weight = kernel[:, :, 0, :].permute(2, 1, 0)  # (out, channels, time)
        state[f"{name}.weight"] = weight.contiguous()
        state[f"{name}.bias"] = torch.from_numpy(tensors[f"{scoped('conv2d', index)}/bias"])
    for index, name in enumerate(_NORMS):
        for part in ("gamma", "beta", "moving_mean", "moving_variance"):
            value = tensors[f"{scoped('batch_normalization', index)}/{part}"]
            state[f"{name}.{part}"] = torch.from_numpy(value)
    for index, name in enumerate(_DENSES):
        state[f"{name}.weight"] = torch.from_numpy(
            tensors[f"{scoped('dense', index)}/kernel"]
        ).T.contiguous()
        state[f"{name}.bias"] = torch.from_numpy(tensors[f"{scoped('dense', index)}/bias"])
    return {key: value.clone() for key, value in state.items()}
