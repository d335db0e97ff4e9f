"""Mean teacher (seed 000 §3.1–3.2): a student and an EMA teacher, for few labels.

The student is trained by the ordinary loop (``training._fit``) on the labelled clips; this
module adds, as one :class:`MeanTeacherObjective` handed to that loop, a consistency term on
clips whose labels are not used (the unlabelled catalogue, and the labelled training clips
themselves, their labels ignored): the student's answer for an augmented clip should match
the teacher's for another augmentation of it. With mixup, the student sees a mix of two
clips, ``(1 − c)·Xa + c·Xb``, and the target is the same mix of the teacher's answers
(seed 000's ``Ycom``), used only for the consistency (KL) loss, never with a label.

After every optimiser step the teacher follows the student by an exponential moving average,
``W_t = α·W_{t−1} + (1 − α)·w_t`` (the seed's equation 1). The teacher is never
back-propagated through. It is the one scored on the validation split for early stopping and
the one saved as the artifact: an average of the student's recent weights is the steadier
model of the two (Tarvainen & Valpola 2017 report it as the more accurate), and the artifact
is an ordinary model of the student's architecture, so inference does not know it came from
a mean teacher.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from emotion.ml.augmentation import AugmentationConfig, augment_sequence, mix_sequences
from emotion.ml.config import SerialisableConfig
from emotion.ml.model import pad_batch


@dataclass(frozen=True)
class MeanTeacherConfig(SerialisableConfig):
    # α of the EMA. Early steps use min(α, 1 − 1/(step + 1)) (Tarvainen & Valpola), so the
    # teacher is not anchored to the random initialisation while the student learns fast.
    ema_decay: float = 0.99
    # Weight of the consistency (KL) loss, reached after a sigmoid ramp-up of
    # `rampup_epochs` epochs (exp(−5 (1 − t)²)), while the teacher's answers are still poor.
    consistency_weight: float = 1.0
    rampup_epochs: int = 20
    # Mixup: the mixing coefficient c ~ Beta(mixup_alpha, mixup_alpha); 0 turns mixup off
    # (then the student sees another augmentation of the teacher's clip).
    mixup_alpha: float = 0.4
    # Clips of the consistency pool drawn for every labelled batch.
    unlabelled_batch_size: int = 64

    def __post_init__(self) -> None:
        if not 0.0 <= self.ema_decay < 1.0:
            raise ValueError("ema_decay must be in [0, 1)")
        if self.consistency_weight < 0 or self.rampup_epochs < 0 or self.mixup_alpha < 0:
            raise ValueError("consistency_weight, rampup_epochs and mixup_alpha must be ≥ 0")
        if self.unlabelled_batch_size < 1:
            raise ValueError("unlabelled_batch_size must be positive")

    def ramp(self, epoch: int) -> float:
        """The consistency weight in epoch ``epoch`` (1-based)."""
        if self.rampup_epochs == 0:
            return self.consistency_weight
        progress = min(1.0, (epoch - 1) / self.rampup_epochs)
        return self.consistency_weight * float(np.exp(-5.0 * (1.0 - progress) ** 2))


def ema_update(*, teacher: nn.Module, student: nn.Module, decay: float) -> None:
    """``teacher ← decay·teacher + (1 − decay)·student`` for every parameter; buffers (batch-norm
    statistics, if any) are copied from the student."""
    with torch.no_grad():
        for teacher_parameter, student_parameter in zip(
            teacher.parameters(), student.parameters(), strict=True
        ):
            teacher_parameter.copy_(decay * teacher_parameter + (1 - decay) * student_parameter)
        for teacher_buffer, student_buffer in zip(
            teacher.buffers(), student.buffers(), strict=True
        ):
            teacher_buffer.copy_(student_buffer)


class MeanTeacherObjective:
    """The mean teacher's part of one training run, as the training loop's hooks: a loss term
    added to every labelled batch's, an update after every optimiser step, and the module to
    score and keep (the teacher)."""

    def __init__(
        self,
        *,
        config: MeanTeacherConfig,
        student: nn.Module,
        pool: Sequence[np.ndarray],
        augmentation: AugmentationConfig,
        feature_scale: np.ndarray,
        feature_minimum: np.ndarray,
        rng: np.random.Generator,
    ) -> None:
        if not pool:
            raise ValueError("a mean teacher needs clips for its consistency loss")
        self.config = config
        self.pool = list(pool)
        self.augmentation = augmentation
        self.feature_scale = feature_scale
        self.feature_minimum = feature_minimum
        self.rng = rng
        self.teacher = copy.deepcopy(student)
        self.teacher.requires_grad_(False)
        self.teacher.eval()
        self.steps = 0
        self._epoch_losses: list[float] = []
        self._epoch_weight = 0.0

    @property
    def scored_module(self) -> nn.Module:
        return self.teacher

    def _view(self, index: int) -> np.ndarray:
        return augment_sequence(
            self.pool[index],
            config=self.augmentation,
            rng=self.rng,
            feature_scale=self.feature_scale,
            feature_minimum=self.feature_minimum,
        )

    def loss(self, student: nn.Module, *, epoch: int) -> torch.Tensor:
        """Consistency of the student with the teacher on a batch drawn from the pool."""
        weight = self.config.ramp(epoch)
        size = min(self.config.unlabelled_batch_size, len(self.pool))
        batch = self.rng.choice(len(self.pool), size=size, replace=False)
        teacher_views = [self._view(i) for i in batch]
        student_views = [self._view(i) for i in batch]
        input_dim = self.pool[0].shape[1]
        with torch.no_grad():
            target = torch.softmax(self.teacher(*pad_batch(teacher_views, input_dim=input_dim)), 1)
        if self.config.mixup_alpha > 0 and size > 1:
            partners = self.rng.permutation(size)
            mixing = self.rng.beta(self.config.mixup_alpha, self.config.mixup_alpha, size=size)
            student_views = [
                mix_sequences(view, student_views[p], weight=float(c), rng=self.rng)
                for view, p, c in zip(student_views, partners, mixing, strict=True)
            ]
            c = torch.from_numpy(mixing.astype(np.float32)).unsqueeze(1)
            target = (1 - c) * target + c * target[torch.from_numpy(partners)]
        logits = student(*pad_batch(student_views, input_dim=input_dim))
        # KL(teacher ‖ student), averaged over the batch; 0 when they agree.
        consistency = nn.functional.kl_div(
            torch.log_softmax(logits, dim=1), target, reduction="batchmean"
        )
        self._epoch_losses.append(float(consistency.detach()))
        self._epoch_weight = weight
        return weight * consistency

    def after_step(self, student: nn.Module) -> None:
        self.steps += 1
        decay = min(self.config.ema_decay, 1.0 - 1.0 / (self.steps + 1))
        ema_update(teacher=self.teacher, student=student, decay=decay)

    def epoch_record(self) -> dict[str, Any]:
        """What the epoch's history row adds: the mean consistency loss and its weight."""
        record = {
            "consistency_loss": float(np.mean(self._epoch_losses)) if self._epoch_losses else 0.0,
            "consistency_weight": self._epoch_weight,
        }
        self._epoch_losses = []
        return record
