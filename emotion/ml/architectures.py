"""The architecture registry: a name → its config class → its torch module.

Every architecture maps a zero-padded batch of feature sequences and their lengths to logits
over the labels, ``module(features (batch, steps, input_dim), lengths (batch,)) → logits``,
so training (``training``), inference and the artifact format (``artifact``) are shared by
all of them. A model version names its architecture; the artifact stores the config, and
``build`` makes the same module again from it. An ensemble is not an architecture of its
own: it is several trained models in one artifact (``ensemble``).

To add a family: write its config dataclass (``input_dim``, ``to_dict``, ``from_dict``) and
module (``__init__(config, *, n_labels)``, ``forward(features, lengths)``), register it
below, and give it a preset in ``presets``.

``fitted_by`` says how ``train_mood_model`` fits a module: ``"backprop"`` (the training loop)
or ``"sklearn"`` (``classical``: the module's ``fit`` gets the pooled training clips once and
stores the fitted model in its buffers). Both end as the same kind of module and artifact.

A valence/arousal architecture (``cbsa``, ``svr``) also has ``valence_arousal(features,
lengths) → (batch, 2)`` in [0, 1]; its ``forward`` gives quadrant logits derived from that
point, and it is trained on points (``TrainingConfig.objective = "valence_arousal"``).

An architecture with a training-only loss term (``crnn``'s centre loss) has
``logits_and_auxiliary_loss(features, lengths, targets) → (logits, term)``; the training loop
adds the term to the cross-entropy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from torch import nn

from emotion.ml.cbsa import CBSA, CBSAConfig
from emotion.ml.classical import (
    FITTED_BY_SKLEARN,
    KernelSVM,
    NearestNeighbours,
    NeighboursConfig,
    SupportVectorRegression,
    SVMConfig,
    SVRConfig,
    ValenceArousalConfig,
    ValenceArousalModel,
)
from emotion.ml.crnn import CRNN, CRNNConfig
from emotion.ml.model import ModelConfig, MoodLSTM
from emotion.ml.pooled import PooledHead, PooledHeadConfig


@dataclass(frozen=True)
class Architecture:
    name: str
    config_class: type
    module_class: type[nn.Module]
    description: str
    fitted_by: str = "backprop"

    def config_from_dict(self, data: dict[str, Any]) -> Any:
        return self.config_class.from_dict(data)

    def build(self, config: Any, *, n_labels: int) -> nn.Module:
        if not isinstance(config, self.config_class):
            raise TypeError(f"{self.name} needs a {self.config_class.__name__}")
        return self.module_class(config, n_labels=n_labels)


ARCHITECTURES: dict[str, Architecture] = {
    architecture.name: architecture
    for architecture in (
        Architecture(
            "lstm_attention",
            ModelConfig,
            MoodLSTM,
            "stacked LSTM over the segments, additive attention, dense, softmax (seed 002)",
        ),
        Architecture(
            "pooled_head",
            PooledHeadConfig,
            PooledHead,
            "mean (+ std, + max) over the segments, then logistic regression or a small MLP",
        ),
        Architecture(
            "kernel_svm",
            SVMConfig,
            KernelSVM,
            "mean + std over the segments, one-vs-one kernel SVMs, softmax calibration (seed 003)",
            fitted_by=FITTED_BY_SKLEARN,
        ),
        Architecture(
            "nearest_neighbours",
            NeighboursConfig,
            NearestNeighbours,
            "mean + std over the segments, votes of the k nearest training clips (seed 003)",
            fitted_by=FITTED_BY_SKLEARN,
        ),
        Architecture(
            "valence_arousal",
            ValenceArousalConfig,
            ValenceArousalModel,
            "binary valence and arousal SVMs, quadrant = product of both sides (seed 003)",
            fitted_by=FITTED_BY_SKLEARN,
        ),
        Architecture(
            "cbsa",
            CBSAConfig,
            CBSA,
            "feature mapping, 2-D CNN, BiLSTM, self-attention → valence/arousal (seed 004)",
        ),
        Architecture(
            "crnn",
            CRNNConfig,
            CRNN,
            "log-mel CRNN (time + frequency kernels, BiLSTM) fused with a BiLSTM on LLDs + "
            "residual phase, softmax with an optional centre loss (seed 001)",
        ),
        Architecture(
            "svr",
            SVRConfig,
            SupportVectorRegression,
            "feature mapping, mean + std, RBF SVRs (C = 1) for valence and arousal (seed 004)",
            fitted_by=FITTED_BY_SKLEARN,
        ),
    )
}
ENSEMBLE = "ensemble"


def get_architecture(name: str) -> Architecture:
    try:
        return ARCHITECTURES[name]
    except KeyError:
        known = ", ".join([*ARCHITECTURES, ENSEMBLE])
        raise ValueError(f"unknown architecture {name!r}; known: {known}") from None
