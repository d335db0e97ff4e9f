"""Training of every mood-model architecture: one loop, early stopping, reproducibility.

``train_mood_model`` takes raw feature sequences (as the extractor stores them), keeps the
columns of the blocks the config reads, fits the min–max normaliser on the training part
only, holds out an artist-grouped validation split for early stopping and returns a
:class:`TrainedMoodModel` that carries everything inference needs. An ``EnsembleConfig``
trains each member the same way and returns an ``EnsembleMoodModel``. Named configurations
live in ``presets``. A config's ``objective`` is classification (cross-entropy over the labels)
or valence/arousal regression (RMSE of the module's ``valence_arousal`` output against each
clip's point; ``_objective_loss`` is the one place the two differ in the loop).
"""

from __future__ import annotations

import copy
import time
import warnings
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from sklearn.model_selection import GroupShuffleSplit, StratifiedGroupKFold
from torch import nn

from emotion.features.feature_sets import FEATURE_SETS
from emotion.ml.architectures import get_architecture
from emotion.ml.augmentation import AugmentationConfig, augment_sequence
from emotion.ml.classical import FITTED_BY_SKLEARN, QUADRANT_AXES, quadrant_points
from emotion.ml.labels import display_names
from emotion.ml.mean_teacher import MeanTeacherConfig, MeanTeacherObjective
from emotion.ml.metrics import classification_metrics
from emotion.ml.model import ModelConfig, pad_batch
from emotion.ml.normalisation import MinMaxNormaliser

if TYPE_CHECKING:
    from emotion.ml.datasets import LabelledDataset
    from emotion.ml.ensemble import EnsembleMoodModel

EpochCallback = Callable[[int, dict[str, Any]], None]
# What a model is trained to do: classify the labels (cross-entropy), or regress each clip's
# valence/arousal point in [0, 1]² (RMSE; the architecture derives quadrant logits from it).
CLASSIFICATION = "classification"
VALENCE_AROUSAL = "valence_arousal"
OBJECTIVES = (CLASSIFICATION, VALENCE_AROUSAL)


@dataclass(frozen=True)
class TrainingConfig:
    # The architecture (``architectures.ARCHITECTURES``) and its config; ``input_dim`` is set
    # from the blocks read when training starts.
    architecture: str = "lstm_attention"
    model: Any = field(default_factory=ModelConfig)
    # Feature blocks the model reads (``emotion.features.feature_sets``), in this order.
    input_blocks: tuple[str, ...] = ("lld",)
    optimizer: str = "adamw"  # "adam", "adamw" or "sgd"
    learning_rate: float = 1e-3
    weight_decay: float = 1e-4
    momentum: float = 0.0  # SGD only
    batch_size: int = 32
    max_epochs: int = 200
    # Early stopping: stop after `patience` epochs without improvement of `monitor`
    # on the artist-grouped validation split, and restore the best weights.
    patience: int = 30
    monitor: str = "val_loss"  # "val_loss" or "val_macro_f1"
    validation_fraction: float = 0.1
    class_weighting: str = "balanced"  # "balanced" or "none"
    # Multiply each clip's loss by its label confidence (e.g. 4Q's quadrant_agreement).
    confidence_weighting: bool = False
    grad_clip_norm: float | None = 1.0
    label_smoothing: float = 0.0
    normaliser_quantile: float = 0.0
    clip_margin: float = 0.05
    augmentation: AugmentationConfig = field(default_factory=AugmentationConfig)
    # Semi-supervised training (seed 000): a student and an EMA teacher with a consistency
    # loss on ``unlabelled_sequences``; None trains on the labels alone.
    mean_teacher: MeanTeacherConfig | None = None
    preset: str = "custom"
    # ``OBJECTIVES``. With "valence_arousal" the loss is the RMSE of the module's
    # ``valence_arousal`` output against the clips' points (early stopping: validation RMSE).
    objective: str = CLASSIFICATION

    def __post_init__(self) -> None:
        if self.objective not in OBJECTIVES:
            raise ValueError(f"unknown objective {self.objective!r}; choose from {OBJECTIVES}")
        if self.objective == VALENCE_AROUSAL and not hasattr(
            get_architecture(self.architecture).module_class, "valence_arousal"
        ):
            raise ValueError(f"architecture {self.architecture!r} has no valence/arousal output")
        if self.objective == VALENCE_AROUSAL and self.mean_teacher is not None:
            raise ValueError("the mean teacher's consistency loss is for classifiers only")
        if self.optimizer not in {"adam", "adamw", "sgd"}:
            raise ValueError(f"unknown optimizer {self.optimizer!r}")
        if self.monitor not in {"val_loss", "val_macro_f1"}:
            raise ValueError(f"unknown monitor {self.monitor!r}")
        if self.class_weighting not in {"balanced", "none"}:
            raise ValueError(f"unknown class_weighting {self.class_weighting!r}")
        if not 0.0 <= self.validation_fraction < 0.5:
            raise ValueError("validation_fraction must be in [0, 0.5)")
        if not isinstance(self.model, get_architecture(self.architecture).config_class):
            raise ValueError(f"architecture {self.architecture!r} needs its own config class")
        if not self.input_blocks:
            raise ValueError("a model must read at least one feature block")

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["model"] = self.model.to_dict()
        data["input_blocks"] = list(self.input_blocks)
        data["augmentation"] = self.augmentation.to_dict()
        data["mean_teacher"] = self.mean_teacher and self.mean_teacher.to_dict()
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainingConfig:
        data = dict(data)
        # Artifacts from before the registry hold an LSTM on the 50 LLDs.
        data.setdefault("architecture", "lstm_attention")
        data.setdefault("input_blocks", ("lld",))
        architecture = get_architecture(data["architecture"])
        data["model"] = architecture.config_from_dict(data.get("model", {}))
        data["input_blocks"] = tuple(data["input_blocks"])
        data["augmentation"] = AugmentationConfig.from_dict(data.get("augmentation", {}))
        mean_teacher = data.get("mean_teacher")
        data["mean_teacher"] = mean_teacher and MeanTeacherConfig.from_dict(mean_teacher)
        return cls(**data)

    def with_overrides(self, **overrides: Any) -> TrainingConfig:
        """``replace`` that also accepts ``model__<field>`` / ``augmentation__<field>`` /
        ``mean_teacher__<field>`` (the latter only on a config with a mean teacher)."""
        model_overrides = {
            k.removeprefix("model__"): v for k, v in overrides.items() if k.startswith("model__")
        }
        augmentation_overrides = {
            k.removeprefix("augmentation__"): v
            for k, v in overrides.items()
            if k.startswith("augmentation__")
        }
        mean_teacher_overrides = {
            k.removeprefix("mean_teacher__"): v
            for k, v in overrides.items()
            if k.startswith("mean_teacher__")
        }
        plain = {k: v for k, v in overrides.items() if "__" not in k}
        config = replace(self, **plain)
        if model_overrides:
            config = replace(config, model=replace(config.model, **model_overrides))
        if augmentation_overrides:
            config = replace(
                config, augmentation=replace(config.augmentation, **augmentation_overrides)
            )
        if mean_teacher_overrides:
            if config.mean_teacher is None:
                raise ValueError("mean_teacher__ overrides need a config with a mean teacher")
            config = replace(
                config, mean_teacher=replace(config.mean_teacher, **mean_teacher_overrides)
            )
        return config


@dataclass(frozen=True)
class EnsembleConfig:
    """Several models trained on the same data; their probabilities are averaged."""

    members: tuple[TrainingConfig, ...]
    # Member weights in the average (None: equal).
    weights: tuple[float, ...] | None = None
    preset: str = "custom"
    architecture: str = "ensemble"

    def __post_init__(self) -> None:
        if len(self.members) < 2:
            raise ValueError("an ensemble needs at least two members")
        if self.weights is not None and (
            len(self.weights) != len(self.members) or min(self.weights) < 0
        ):
            raise ValueError("ensemble weights: one non-negative weight per member")

    def to_dict(self) -> dict[str, Any]:
        return {
            "architecture": self.architecture,
            "preset": self.preset,
            "weights": None if self.weights is None else list(self.weights),
            "members": [member.to_dict() for member in self.members],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EnsembleConfig:
        weights = data.get("weights")
        return cls(
            members=tuple(TrainingConfig.from_dict(member) for member in data["members"]),
            weights=None if weights is None else tuple(weights),
            preset=data.get("preset", "custom"),
        )

    def with_overrides(self, **overrides: Any) -> EnsembleConfig:
        """Overrides apply to every member (e.g. ``max_epochs`` for a smoke run)."""
        members = tuple(member.with_overrides(**overrides) for member in self.members)
        return replace(self, members=members)


AnyTrainingConfig = TrainingConfig | EnsembleConfig


def config_from_dict(data: dict[str, Any]) -> AnyTrainingConfig:
    if data.get("architecture") == "ensemble":
        return EnsembleConfig.from_dict(data)
    return TrainingConfig.from_dict(data)


@dataclass
class TrainedMoodModel:
    """Everything needed to tag tracks: weights, architecture, labels, inputs and scaling.

    ``input_columns`` are the columns of the sequences it is fed that it reads: those of its
    ``input_blocks`` in the analyses' feature set (``feature_sets.columns_for``), or every
    column when None.
    """

    module: nn.Module
    model_config: Any
    labels: list[str]
    normaliser: MinMaxNormaliser
    feature_set_version: str
    segment_seconds: float
    architecture: str = "lstm_attention"
    input_blocks: tuple[str, ...] = ("lld",)
    input_columns: list[int] | None = None
    training_config: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    display_names: dict[str, str] = field(default_factory=dict)
    created_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())

    def __post_init__(self) -> None:
        if not self.display_names:
            self.display_names = display_names(self.labels)

    @property
    def n_features(self) -> int:
        return self.model_config.input_dim

    def select_inputs(self, sequence: np.ndarray) -> np.ndarray:
        return sequence if self.input_columns is None else sequence[:, self.input_columns]

    def predict_proba(
        self, sequences: Sequence[np.ndarray], *, batch_size: int = 256
    ) -> np.ndarray:
        """Class probabilities (n, n_labels), columns in ``self.labels`` order.

        Takes raw (unscaled) sequences of any lengths; batches them, padding within a batch
        does not change any sequence's result.
        """
        return predict_proba(self, sequences, batch_size=batch_size)

    def predict(self, sequences: Sequence[np.ndarray], *, batch_size: int = 256) -> list[str]:
        probabilities = self.predict_proba(sequences, batch_size=batch_size)
        return [self.labels[i] for i in probabilities.argmax(axis=1)]

    @property
    def has_valence_arousal(self) -> bool:
        """Whether the module has a regression head: ``valence_arousal(features, lengths)``."""
        return callable(getattr(self.module, "valence_arousal", None))

    def predict_valence_arousal(
        self, sequences: Sequence[np.ndarray], *, batch_size: int = 256
    ) -> np.ndarray | None:
        """The module's own (valence, arousal) per raw sequence, (n, 2) in [0, 1].

        None when the module has no regression head: callers then derive the point from the
        probabilities (``emotion.ml.valence_arousal``).
        """
        if not self.has_valence_arousal:
            return None
        if len(sequences) == 0:
            return np.zeros((0, 2), dtype=np.float32)
        scaled = self.normaliser.transform_many([self.select_inputs(s) for s in sequences])
        return _predict_scaled(self.module, scaled, batch_size=batch_size, valence_arousal=True)

    def attention_weights(self, sequence: np.ndarray) -> np.ndarray | None:
        """Per-segment attention of one raw sequence (None for architectures without it)."""
        if not getattr(self.model_config, "attention", False):
            return None
        scaled = self.normaliser.transform(self.select_inputs(sequence))
        features, lengths = pad_batch([scaled], input_dim=self.n_features)
        self.module.eval()
        with torch.inference_mode():
            _, weights = self.module(features, lengths, return_attention=True)
        return weights[0].numpy().copy()


def predict_proba(
    model: TrainedMoodModel, sequences: Sequence[np.ndarray], *, batch_size: int = 256
) -> np.ndarray:
    if len(sequences) == 0:
        return np.zeros((0, len(model.labels)), dtype=np.float32)
    scaled = model.normaliser.transform_many([model.select_inputs(s) for s in sequences])
    return _predict_scaled(model.module, scaled, batch_size=batch_size)


def _predict_scaled(
    module: nn.Module,
    scaled: Sequence[np.ndarray],
    *,
    batch_size: int,
    valence_arousal: bool = False,
) -> np.ndarray:
    """Class probabilities, or with ``valence_arousal`` the module's (n, 2) points."""
    module.eval()
    # Sorting by length keeps padding (wasted compute) low; results are put back in order.
    order = np.argsort([s.shape[0] for s in scaled], kind="stable")
    width = 2 if valence_arousal else module.n_labels
    outputs = np.zeros((len(scaled), width), dtype=np.float32)
    with torch.inference_mode():
        for start in range(0, len(order), batch_size):
            indices = order[start : start + batch_size]
            features, lengths = pad_batch(
                [scaled[i] for i in indices], input_dim=scaled[0].shape[1]
            )
            if valence_arousal:
                outputs[indices] = module.valence_arousal(features, lengths).numpy()
            else:
                outputs[indices] = torch.softmax(module(features, lengths), dim=1).numpy()
    return outputs


def grouped_validation_split(
    labels: Sequence[str], groups: Sequence[str], *, fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Train / validation indices with no group (artist) on both sides, stratified by label."""
    n = len(labels)
    all_indices = np.arange(n)
    if fraction <= 0:
        return all_indices, np.zeros(0, dtype=np.int64)
    n_splits = max(2, round(1.0 / fraction))
    if len(set(groups)) < 2:
        raise ValueError(
            "need at least 2 distinct groups (artists) for a validation split; "
            "set validation_fraction=0 to disable it"
        )
    label_counts = np.unique(np.asarray(labels), return_counts=True)[1]
    if len(set(groups)) < n_splits or label_counts.min() < n_splits:
        # Too few artists or clips per label to stratify (a small curator-labelled
        # catalogue): a plain grouped holdout still keeps every artist on one side.
        holdout = GroupShuffleSplit(n_splits=1, test_size=fraction, random_state=seed)
        return next(holdout.split(np.zeros(n), groups=np.asarray(groups)))
    splitter = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    with warnings.catch_warnings():
        # "The least populated class has only N members": harmless for a single holdout.
        warnings.simplefilter("ignore", UserWarning)
        train_indices, validation_indices = next(
            splitter.split(np.zeros(n), np.asarray(labels), np.asarray(groups))
        )
    return train_indices, validation_indices


def _class_weights(label_indices: np.ndarray, n_labels: int, *, mode: str) -> np.ndarray:
    if mode == "none":
        return np.ones(n_labels, dtype=np.float32)
    counts = np.bincount(label_indices, minlength=n_labels).astype(np.float64)
    # "balanced" as in sklearn: n / (k * count); absent classes get weight 0 (no samples).
    weights = np.divide(
        len(label_indices), n_labels * counts, out=np.zeros_like(counts), where=counts > 0
    )
    return weights.astype(np.float32)


def _weighted_rmse(
    predicted: torch.Tensor, points: torch.Tensor, weights: torch.Tensor
) -> torch.Tensor:
    """sqrt of the weighted mean over clips of the squared error averaged over both axes."""
    per_sample = ((predicted - points) ** 2).mean(dim=1)
    return torch.sqrt((per_sample * weights).sum() / weights.sum().clamp_min(1e-12) + 1e-12)


def _rmse(predicted: np.ndarray, points: np.ndarray) -> float:
    return round(float(np.sqrt(np.mean((predicted - points) ** 2))), 4)


def _objective_loss(
    config: TrainingConfig, *, targets: np.ndarray, points: np.ndarray | None
) -> Callable[..., torch.Tensor]:
    """``loss(module, features, lengths, indices, weights, label_smoothing)`` of the
    objective: cross-entropy of the logits (plus a module's auxiliary training loss), or the
    RMSE of the valence/arousal output."""
    if config.objective == VALENCE_AROUSAL:
        assert points is not None
        point_tensor = torch.from_numpy(points)

        def regression(module, features, lengths, indices, weights, label_smoothing):
            predicted = module.valence_arousal(features, lengths)
            return _weighted_rmse(predicted, point_tensor[indices], weights)

        return regression

    def classification(module, features, lengths, indices, weights, label_smoothing):
        batch_targets = torch.from_numpy(targets[indices])
        # An architecture with a training-only term (the CRNN's centre loss) gives it with
        # the logits of the same forward pass; validation scores the cross-entropy alone.
        auxiliary = getattr(module, "logits_and_auxiliary_loss", None)
        if auxiliary is not None and module.training:
            logits, extra = auxiliary(features, lengths, batch_targets)
        else:
            logits, extra = module(features, lengths), 0.0
        return (
            _weighted_loss(logits, batch_targets, weights, label_smoothing=label_smoothing) + extra
        )

    return classification


def _weighted_loss(
    logits: torch.Tensor,
    targets: torch.Tensor,
    weights: torch.Tensor,
    *,
    label_smoothing: float,
) -> torch.Tensor:
    per_sample = nn.functional.cross_entropy(
        logits, targets, reduction="none", label_smoothing=label_smoothing
    )
    return (per_sample * weights).sum() / weights.sum().clamp_min(1e-12)


def _make_optimizer(module: nn.Module, config: TrainingConfig) -> torch.optim.Optimizer:
    if config.optimizer == "sgd":
        return torch.optim.SGD(
            module.parameters(),
            lr=config.learning_rate,
            momentum=config.momentum,
            weight_decay=config.weight_decay,
        )
    if config.optimizer == "adam":
        return torch.optim.Adam(
            module.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay
        )
    return torch.optim.AdamW(
        module.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay
    )


def train_mood_model(
    sequences: Sequence[np.ndarray],
    labels: Sequence[str],
    groups: Sequence[str] | None = None,
    *,
    preset: str | AnyTrainingConfig = "default",
    seed: int = 0,
    on_epoch: EpochCallback | None = None,
    sample_weights: Sequence[float] | None = None,
    label_order: Sequence[str] | None = None,
    feature_set_version: str = "unknown",
    segment_seconds: float = 3.0,
    trained_on: dict[str, Any] | None = None,
    valence_arousal: Sequence[Sequence[float]] | None = None,
    unlabelled_sequences: Sequence[np.ndarray] | None = None,
) -> TrainedMoodModel | EnsembleMoodModel:
    """Train a mood classifier of any architecture on raw feature sequences.

    The sequences are the feature set's full vectors; the model reads the columns of its
    config's ``input_blocks`` (every column when ``feature_set_version`` is not a known set).
    ``groups`` (artists) keep the validation split free of artist leakage; without them every
    clip is its own group. ``label_order`` fixes the output columns (default: sorted labels
    found in ``labels``). ``sample_weights`` (label confidences) are used only when the
    config's ``confidence_weighting`` is on. ``on_epoch(epoch, metrics)`` is called after every
    epoch with train / validation loss, validation accuracy and macro-F1 (for an ensemble,
    also ``member``). Same inputs + same seed → identical weights (CPU).

    A config whose ``objective`` is "valence_arousal" regresses each clip's point in [0, 1]²:
    ``valence_arousal`` ((n, 2), e.g. from an imported DEAM / EmoMusic set) or, without it,
    the centre of each clip's quadrant label (``valence_arousal.QUADRANT_CENTRES``). Its labels are
    the quadrants, in the order Q1–Q4. A module with a ``feature_mapping`` gets it fitted on
    the training clips' points first (seed 004's correlation-based feature selection).

    ``unlabelled_sequences`` (same layout, labels unknown) feed the consistency loss of a
    config with a ``mean_teacher`` (``emotion.ml.mean_teacher``) and are refused otherwise;
    the model returned is then the EMA teacher.
    """
    from emotion.ml.presets import resolve_config

    config = resolve_config(preset)
    if isinstance(config, EnsembleConfig):
        return _train_ensemble(
            config,
            sequences,
            labels,
            groups,
            seed=seed,
            on_epoch=on_epoch,
            sample_weights=sample_weights,
            label_order=label_order,
            feature_set_version=feature_set_version,
            segment_seconds=segment_seconds,
            trained_on=trained_on,
            valence_arousal=valence_arousal,
            unlabelled_sequences=unlabelled_sequences,
        )
    n = len(sequences)
    if n != len(labels):
        raise ValueError(f"{n} sequences but {len(labels)} labels")
    if groups is None:
        groups = [f"item-{i}" for i in range(n)]
    if len(groups) != n:
        raise ValueError(f"{n} sequences but {len(groups)} groups")
    regression = config.objective == VALENCE_AROUSAL
    if label_order is not None:
        label_list = list(label_order)
    else:
        label_list = list(QUADRANT_AXES) if regression else sorted(set(labels))
    unknown = set(labels) - set(label_list)
    if unknown:
        raise ValueError(f"labels {sorted(unknown)} are not in label_order {label_list}")
    if len(label_list) < 2:
        raise ValueError("need at least two distinct labels to train a classifier")
    unlabelled_sequences = list(unlabelled_sequences or [])
    if unlabelled_sequences and config.mean_teacher is None:
        raise ValueError(
            f"preset {config.preset!r} trains on labels alone; unlabelled clips need a config "
            "with a mean teacher (e.g. preset 'mean-teacher')"
        )
    input_columns = _input_columns(config, feature_set_version)
    width = FEATURE_SETS[feature_set_version].dims if input_columns else config.model.input_dim
    for kind, checked in (("sequence", sequences), ("unlabelled sequence", unlabelled_sequences)):
        for index, sequence in enumerate(checked):
            shape = np.shape(sequence)
            if len(shape) != 2 or shape[0] < 1 or shape[1] != width:
                raise ValueError(
                    f"{kind} {index} has shape {shape}; expected (n_segments>=1, {width})"
                )
    if input_columns:
        sequences = [np.asarray(sequence)[:, input_columns] for sequence in sequences]
        unlabelled_sequences = [np.asarray(s)[:, input_columns] for s in unlabelled_sequences]
        config = _reading(config, input_columns)
    label_to_index = {label: i for i, label in enumerate(label_list)}
    targets = np.array([label_to_index[label] for label in labels], dtype=np.int64)
    confidences = (
        np.asarray(sample_weights, dtype=np.float32)
        if (sample_weights is not None and config.confidence_weighting)
        else np.ones(n, dtype=np.float32)
    )

    points = _valence_arousal_targets(valence_arousal, labels) if regression else None

    train_indices, validation_indices = grouped_validation_split(
        labels, groups, fraction=config.validation_fraction, seed=seed
    )
    normaliser = MinMaxNormaliser.fit(
        [sequences[i] for i in train_indices],
        quantile=config.normaliser_quantile,
        clip_margin=config.clip_margin,
    )
    scaled = normaliser.transform_many(sequences)
    class_weights = _class_weights(
        targets[train_indices], len(label_list), mode=config.class_weighting
    )
    sample_loss_weights = class_weights[targets] * confidences

    rng = np.random.default_rng(seed)
    started = time.perf_counter()
    # fork_rng keeps the caller's global torch RNG untouched while making init and dropout
    # depend only on `seed`.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        architecture = get_architecture(config.architecture)
        module = architecture.build(config.model, n_labels=len(label_list))
        feature_mapping = None
        if points is not None and hasattr(module, "feature_mapping"):
            feature_mapping = module.feature_mapping.fit(
                [scaled[i] for i in train_indices], points[train_indices]
            )
        if architecture.fitted_by == FITTED_BY_SKLEARN:
            if config.mean_teacher is not None:
                raise ValueError(f"{config.architecture} is fitted, not trained: no mean teacher")
            history, best_epoch, best_state = _fit_closed_form(
                module=module,
                scaled=scaled,
                targets=targets,
                groups=groups,
                loss_weights=sample_loss_weights,
                train_indices=train_indices,
                validation_indices=validation_indices,
                label_list=label_list,
                seed=seed,
                on_epoch=on_epoch,
                points=points,
            )
        else:
            objective = None
            if config.mean_teacher is not None:
                # The consistency pool: the unlabelled clips and the labelled training clips,
                # their labels ignored (validation clips stay out: they score the teacher).
                objective = MeanTeacherObjective(
                    config=config.mean_teacher,
                    student=module,
                    pool=[scaled[i] for i in train_indices]
                    + normaliser.transform_many(unlabelled_sequences),
                    augmentation=config.augmentation,
                    feature_scale=normaliser.scale,
                    feature_minimum=normaliser.minimum,
                    rng=rng,
                )
            history, best_epoch, best_state = _fit(
                module=module,
                optimizer=_make_optimizer(module, config),
                config=config,
                scaled=scaled,
                targets=targets,
                loss_weights=sample_loss_weights,
                train_indices=train_indices,
                validation_indices=validation_indices,
                label_list=label_list,
                normaliser=normaliser,
                rng=rng,
                on_epoch=on_epoch,
                points=points,
                objective=objective,
            )
    # For a mean teacher, best_state is the teacher's: the student module takes its weights.
    module.load_state_dict(best_state)
    module.eval()
    seconds = time.perf_counter() - started

    train_probabilities = _predict_scaled(
        module, [scaled[i] for i in train_indices], batch_size=256
    )
    train_metrics = classification_metrics(
        [labels[i] for i in train_indices],
        [label_list[j] for j in train_probabilities.argmax(axis=1)],
        labels=label_list,
    )
    metrics: dict[str, Any] = {
        "seed": seed,
        "preset": config.preset,
        "best_epoch": best_epoch,
        "epochs_run": len(history),
        "training_seconds": round(seconds, 3),
        "n_train": int(len(train_indices)),
        "n_validation": int(len(validation_indices)),
        "class_counts": dict(sorted(Counter(labels[i] for i in train_indices).items())),
        "train": {k: train_metrics[k] for k in ("accuracy", "macro_f1", "n")},
        "history": history,
        "trained_on": trained_on or {},
    }
    if config.mean_teacher is not None:
        metrics["mean_teacher"] = {
            "n_unlabelled": len(unlabelled_sequences),
            "n_consistency_pool": len(train_indices) + len(unlabelled_sequences),
            "artifact": "teacher",
        }
    if "fitted" in history[-1]:  # hyper-parameters a fitted architecture chose
        metrics["fitted"] = history[-1]["fitted"]
    if len(validation_indices):
        best = history[best_epoch - 1]
        metrics["validation"] = {
            "loss": best["val_loss"],
            "accuracy": best["val_accuracy"],
            "macro_f1": best["val_macro_f1"],
            "n": int(len(validation_indices)),
        }
    if points is not None:
        metrics["objective"] = VALENCE_AROUSAL
        metrics["valence_arousal_targets"] = (
            "quadrant centres" if valence_arousal is None else "given points"
        )
        if feature_mapping is not None:
            metrics["feature_mapping"] = feature_mapping
        for name, indices in (("train", train_indices), ("validation", validation_indices)):
            if len(indices):
                predicted = _predict_scaled(
                    module, [scaled[i] for i in indices], batch_size=256, valence_arousal=True
                )
                metrics[name]["rmse"] = _rmse(predicted, points[indices])
    return TrainedMoodModel(
        module=module,
        model_config=config.model,
        labels=label_list,
        normaliser=normaliser,
        feature_set_version=feature_set_version,
        segment_seconds=float(segment_seconds),
        architecture=config.architecture,
        input_blocks=config.input_blocks,
        input_columns=input_columns,
        training_config=config.to_dict(),
        metrics=metrics,
    )


def _valence_arousal_targets(
    valence_arousal: Sequence[Sequence[float]] | None, labels: Sequence[str]
) -> np.ndarray:
    """(n, 2) float32 regression targets: the given points, else the quadrants' centres."""
    if valence_arousal is None:
        return quadrant_points(labels)
    points = np.asarray(valence_arousal, dtype=np.float32)
    if points.shape != (len(labels), 2):
        raise ValueError(f"valence_arousal must be ({len(labels)}, 2), not {points.shape}")
    if not np.isfinite(points).all() or points.min() < 0 or points.max() > 1:
        raise ValueError("valence and arousal must lie in [0, 1]")
    return points


def _input_columns(config: TrainingConfig, feature_set_version: str) -> list[int] | None:
    """Columns of ``config.input_blocks`` in the feature set, or None (all) for data of an
    unknown feature set (tests, experiments on hand-made arrays)."""
    if feature_set_version not in FEATURE_SETS:
        return None
    missing = [
        name
        for name in config.input_blocks
        if name not in FEATURE_SETS[feature_set_version].block_names
    ]
    if missing:
        holding = [
            version
            for version, candidate in FEATURE_SETS.items()
            if set(config.input_blocks) <= set(candidate.block_names)
        ]
        raise ValueError(
            f"preset {config.preset!r} reads the feature blocks {list(config.input_blocks)}, "
            f"but the data is of feature set {feature_set_version!r}, which lacks {missing}; "
            f"analyse the audio with {' or '.join(map(repr, holding)) or 'a set that has them'} "
            "(AUDIO_FEATURE_SET) first"
        )
    return FEATURE_SETS[feature_set_version].columns(config.input_blocks)


def _reading(config: TrainingConfig, input_columns: list[int]) -> TrainingConfig:
    """The config for a model fed ``input_columns``: its input width, and the energy columns
    of the gain augmentation moved to where they land among the selected columns."""
    position = {column: index for index, column in enumerate(input_columns)}
    energy = tuple(position[d] for d in config.augmentation.energy_dims if d in position)
    return config.with_overrides(
        model__input_dim=len(input_columns), augmentation__energy_dims=energy
    )


def _train_ensemble(
    config: EnsembleConfig, sequences, labels, groups, *, on_epoch, trained_on, **common
) -> TrainedMoodModel | EnsembleMoodModel:
    """Every member on the same data and seed; the ensemble records what each was."""
    from emotion.ml.ensemble import EnsembleMoodModel

    members = []
    for index, member in enumerate(config.members):
        report = None if on_epoch is None else _tag_member(on_epoch, index)
        members.append(
            train_mood_model(sequences, labels, groups, preset=member, on_epoch=report, **common)
        )
    return EnsembleMoodModel(
        members=members,
        weights=list(config.weights) if config.weights else None,
        training_config=config.to_dict(),
        metrics={"preset": config.preset, "trained_on": trained_on or {}},
    )


def _tag_member(on_epoch: EpochCallback, index: int) -> EpochCallback:
    return lambda epoch, record: on_epoch(epoch, {**record, "member": index})


def _fit(
    *,
    module: nn.Module,
    optimizer: torch.optim.Optimizer,
    config: TrainingConfig,
    scaled: list[np.ndarray],
    targets: np.ndarray,
    loss_weights: np.ndarray,
    train_indices: np.ndarray,
    validation_indices: np.ndarray,
    label_list: list[str],
    normaliser: MinMaxNormaliser,
    rng: np.random.Generator,
    on_epoch: EpochCallback | None,
    points: np.ndarray | None = None,
    objective: MeanTeacherObjective | None = None,
) -> tuple[list[dict[str, Any]], int, dict[str, torch.Tensor]]:
    """Mini-batch training with early stopping. ``objective`` (the mean teacher) adds a
    term to every batch's loss, acts after every optimiser step, and names the module that is
    validated and kept (its ``scored_module``); without it that module is ``module``."""
    input_dim = config.model.input_dim
    scored = module if objective is None else objective.scored_module
    objective_loss = _objective_loss(config, targets=targets, points=points)
    history: list[dict[str, Any]] = []
    best_score = -np.inf
    best_epoch = 0
    best_state = copy.deepcopy(module.state_dict())
    epochs_without_improvement = 0
    scale = normaliser.scale
    minimum_scaled_source = normaliser.minimum
    validation_features = None
    if len(validation_indices):
        validation_features = pad_batch(
            [scaled[i] for i in validation_indices], input_dim=input_dim
        )
        validation_weights = torch.from_numpy(loss_weights[validation_indices])

    for epoch in range(1, config.max_epochs + 1):
        epoch_started = time.perf_counter()
        module.train()
        order = rng.permutation(train_indices)
        total_loss = 0.0
        total_weight = 0.0
        for start in range(0, len(order), config.batch_size):
            batch_indices = order[start : start + config.batch_size]
            batch_sequences = [
                augment_sequence(
                    scaled[i],
                    config=config.augmentation,
                    rng=rng,
                    feature_scale=scale,
                    feature_minimum=minimum_scaled_source,
                )
                for i in batch_indices
            ]
            features, lengths = pad_batch(batch_sequences, input_dim=input_dim)
            batch_weights = torch.from_numpy(loss_weights[batch_indices])
            optimizer.zero_grad(set_to_none=True)
            loss = objective_loss(
                module, features, lengths, batch_indices, batch_weights, config.label_smoothing
            )
            extra = 0.0 if objective is None else objective.loss(module, epoch=epoch)
            (loss + extra).backward()
            if config.grad_clip_norm:
                nn.utils.clip_grad_norm_(module.parameters(), config.grad_clip_norm)
            optimizer.step()
            if objective is not None:
                objective.after_step(module)
            weight_sum = float(batch_weights.sum())
            total_loss += float(loss.detach()) * weight_sum
            total_weight += weight_sum
        record: dict[str, Any] = {
            "epoch": epoch,
            "train_loss": total_loss / max(total_weight, 1e-12),
            **({} if objective is None else objective.epoch_record()),
        }
        if validation_features is not None:
            scored.eval()
            with torch.inference_mode():
                logits = scored(*validation_features)
                val_loss = float(
                    objective_loss(
                        scored, *validation_features, validation_indices, validation_weights, 0.0
                    )
                )
                predicted = logits.argmax(dim=1).numpy()
            val_metrics = classification_metrics(
                [label_list[t] for t in targets[validation_indices]],
                [label_list[p] for p in predicted],
                labels=label_list,
            )
            record.update(
                val_loss=val_loss,
                val_accuracy=val_metrics["accuracy"],
                val_macro_f1=val_metrics["macro_f1"],
            )
            score = -val_loss if config.monitor == "val_loss" else val_metrics["macro_f1"]
        else:
            # No validation split: keep the last epoch.
            score = float(epoch)
        record["seconds"] = round(time.perf_counter() - epoch_started, 4)
        history.append(record)
        if score > best_score:
            best_score = score
            best_epoch = epoch
            best_state = copy.deepcopy(scored.state_dict())
            epochs_without_improvement = 0
        else:
            epochs_without_improvement += 1
        record["best_epoch"] = best_epoch
        if on_epoch is not None:
            on_epoch(epoch, dict(record))
        if validation_features is not None and epochs_without_improvement >= config.patience:
            break
    return history, best_epoch, best_state


def _fit_closed_form(
    *,
    module: nn.Module,
    scaled: list[np.ndarray],
    targets: np.ndarray,
    groups: Sequence[str],
    loss_weights: np.ndarray,
    train_indices: np.ndarray,
    validation_indices: np.ndarray,
    label_list: list[str],
    seed: int,
    on_epoch: EpochCallback | None,
    points: np.ndarray | None = None,
) -> tuple[list[dict[str, Any]], int, dict[str, torch.Tensor]]:
    """The one "epoch" of an architecture fitted in closed form (``classical``): the training
    clips pooled by the module itself, then its ``fit``. No augmentation, no optimiser; the
    record has the same losses and validation scores as a training epoch, and what was fitted.
    """
    started = time.perf_counter()
    module.eval()
    pooled = []
    with torch.inference_mode():
        for start in range(0, len(train_indices), 256):
            batch = [scaled[i] for i in train_indices[start : start + 256]]
            pooled.append(module.pool(*pad_batch(batch, input_dim=batch[0].shape[1])).numpy())
    fitted = module.fit(
        np.concatenate(pooled).astype(np.float64),
        targets[train_indices],
        labels=label_list,
        groups=[groups[i] for i in train_indices],
        sample_weights=loss_weights[train_indices],
        seed=seed,
        # A valence/arousal regression is fitted on the training clips' points.
        **({} if points is None else {"points": points[train_indices]}),
    )
    record: dict[str, Any] = {"epoch": 1}
    for name, indices in (("train", train_indices), ("val", validation_indices)):
        if not len(indices):
            continue
        logits = torch.log(
            torch.from_numpy(
                _predict_scaled(module, [scaled[i] for i in indices], batch_size=256)
            ).clamp_min(1e-12)
        )
        subset_targets = torch.from_numpy(targets[indices])
        record[f"{name}_loss"] = float(
            _weighted_loss(
                logits, subset_targets, torch.from_numpy(loss_weights[indices]), label_smoothing=0.0
            )
        )
        if name == "val":
            scores = classification_metrics(
                [label_list[t] for t in targets[indices]],
                [label_list[p] for p in logits.argmax(dim=1).numpy()],
                labels=label_list,
            )
            record.update(val_accuracy=scores["accuracy"], val_macro_f1=scores["macro_f1"])
    record.update(seconds=round(time.perf_counter() - started, 4), best_epoch=1, fitted=fitted)
    if on_epoch is not None:
        on_epoch(1, dict(record))
    return [record], 1, copy.deepcopy(module.state_dict())


def train_on_dataset(
    data: LabelledDataset,
    *,
    preset: str | AnyTrainingConfig = "default",
    seed: int = 0,
    on_epoch: EpochCallback | None = None,
    trained_on: dict[str, Any] | None = None,
    unlabelled: Sequence[np.ndarray] | None = None,
) -> TrainedMoodModel | EnsembleMoodModel:
    """:func:`train_mood_model` on a labelled data set: its artists keep validation free of
    artist leakage, its label confidences weight the clips, and the artifact records the
    set's feature definition and a description of it next to ``trained_on``. A set with
    valence/arousal columns gives a valence/arousal model its points (else quadrant centres).
    ``unlabelled`` clips (same feature set) feed a mean-teacher preset's consistency loss."""
    return train_mood_model(
        data.sequences,
        data.labels,
        data.artists,
        preset=preset,
        seed=seed,
        on_epoch=on_epoch,
        sample_weights=data.confidences,
        feature_set_version=data.feature_set_version,
        segment_seconds=data.segment_seconds,
        trained_on={
            **(trained_on or {}),
            **data.describe(),
            **({"n_unlabelled": len(unlabelled)} if unlabelled else {}),
        },
        valence_arousal=data.valence_arousal,
        unlabelled_sequences=unlabelled,
    )
