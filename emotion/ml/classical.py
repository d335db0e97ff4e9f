"""Seed 003's model families as fitted torch modules: a kernel SVM, k nearest neighbours, and
the "AV model" (a binary valence classifier and a binary arousal classifier whose answers
combine into a quadrant).

These are not trained by gradient descent. ``train_mood_model`` pools every training clip
(``pool``: the mean and std of each column over the segments, the code of ``pooled_head``)
and hands the pooled vectors to the module's ``fit``, which fits scikit-learn on them and
copies the fitted model into the module's buffers. After that the module is an ordinary
``module(features, lengths) → logits`` network: it is saved in the safetensors artifact with
the min–max normaliser, loaded by the same code, and served by the same inference path as
every other architecture. scikit-learn is needed to fit, never to serve, and nothing is
pickled.

- **Kernel SVM** (``kernel_svm``). One-vs-one SVMs (libsvm through ``sklearn.svm.SVC``) on
  the standardised pooled vector. The module holds the support vectors, a dense
  (pairs × support vectors) matrix of dual coefficients, the intercepts, and the kernel
  with its fitted gamma. Probabilities: the pairwise decision values go through a softmax
  calibration, a multinomial logistic regression fitted on *out-of-fold* decision values of
  the inner artist-grouped CV (Platt scaling generalised to several classes; with two labels
  it is Platt scaling). It is not libsvm's ``probability=True`` (five internal random folds,
  pairwise coupling), which would need an iterative solver at inference. The calibrated
  argmax can differ from the one-vs-one vote; the calibrated model is the one scored.
- **k nearest neighbours** (``nearest_neighbours``). The module holds every training clip's
  standardised pooled vector and its label; a clip's probabilities are the (uniform or
  inverse-distance) votes of its k nearest training clips (Euclidean). Logits are the log
  of those shares, floored at 1e-6, so the softmax of the inference path gives the shares
  back (a class no neighbour voted for gets about 1e-6).
- **AV model** (``valence_arousal``). Two binary kernel SVMs as above, one for valence
  (Q1, Q4 positive against Q2, Q3 negative) and one for arousal (Q1, Q2 high against Q3, Q4
  low), each Platt-calibrated. Treating the two answers as independent, a quadrant's
  probability is the product of its two sides: P(Q1) = P(v+)·P(a+), P(Q2) = P(v−)·P(a+),
  P(Q3) = P(v−)·P(a−), P(Q4) = P(v+)·P(a−); the four sum to 1. It reads quadrant labels only.
- **SVR** (``svr``, seed 004's baseline). Two RBF support vector regressions (C = 1), one for
  valence and one for arousal, on the pooled columns that seed 004's feature mapping keeps
  (``feature_mapping``). It is fitted on valence/arousal points in [0, 1]², not labels, and
  its quadrant logits come from the predicted point through the same product of the two
  sides (each side a logistic of (x − 0.5) / τ: ``quadrant_logits_of_points``), which the
  CBSA network (``cbsa``) uses as well.

Hyper-parameters: seed 003's where it states them (k = 4 neighbours; the polynomial and
linear kernels it found best are in the kernel grid), the rest chosen by an inner
artist-grouped CV on the training clips only (``inner_folds``, macro-F1), as the baselines
do. With too few artists per label for that CV, the first value of every grid is used and
the SVM's calibration is fitted on its training decision values.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.model_selection import StratifiedGroupKFold
from sklearn.svm import SVC, SVR
from torch import nn
from torch.nn import functional as F

from emotion.ml.config import SerialisableConfig
from emotion.ml.feature_mapping import CorrelationSelection
from emotion.ml.pooled import POOLINGS, pool_segments
from emotion.ml.valence_arousal import QUADRANT_CENTRES

# ``Architecture.fitted_by`` of the families here: train_mood_model fits them with ``fit``.
FITTED_BY_SKLEARN = "sklearn"

KERNELS = ("linear", "poly", "rbf")
NEIGHBOUR_WEIGHTINGS = ("uniform", "distance")
# Russell's quadrants on the two axes: (valence positive, arousal high).
QUADRANT_AXES: dict[str, tuple[int, int]] = {
    "Q1": (1, 1),
    "Q2": (0, 1),
    "Q3": (0, 0),
    "Q4": (1, 0),
}
_LOG_FLOOR = 1e-6


@dataclass(frozen=True)
class SVMConfig(SerialisableConfig):
    input_dim: int = 500
    pooling: str = "mean+std"
    # Candidates for the inner CV; the first of each is used when it cannot run. Seed 003
    # found the polynomial and linear kernels best (87.5 % on 8 test clips), RBF worst.
    kernel_grid: tuple[str, ...] = ("poly", "linear", "rbf")
    c_grid: tuple[float, ...] = (1.0, 0.3, 3.0, 10.0)
    # "scale" is scikit-learn's 1 / (n_features · variance of the pooled training vectors).
    gamma_grid: tuple[float | str, ...] = ("scale",)
    degree: int = 3
    coef0: float = 0.0
    inner_folds: int = 3

    def __post_init__(self) -> None:
        if self.pooling not in POOLINGS:
            raise ValueError(f"unknown pooling {self.pooling!r}; choose from {POOLINGS}")
        if not self.kernel_grid or set(self.kernel_grid) - set(KERNELS):
            raise ValueError(f"kernel_grid must be drawn from {KERNELS}")
        if not self.c_grid or min(self.c_grid) <= 0 or not self.gamma_grid:
            raise ValueError("c_grid needs positive values and gamma_grid at least one")
        if self.input_dim < 1 or self.degree < 1 or self.inner_folds < 2:
            raise ValueError("input_dim and degree must be positive, inner_folds at least 2")

    @property
    def pooled_dim(self) -> int:
        return self.input_dim * len(self.pooling.split("+"))


@dataclass(frozen=True)
class ValenceArousalConfig(SVMConfig):
    """The AV model: both of its binary classifiers are kernel SVMs of these settings."""


@dataclass(frozen=True)
class NeighboursConfig(SerialisableConfig):
    input_dim: int = 500
    pooling: str = "mean+std"
    # Seed 003 §4.1: k = 4, the number of classes, classified best.
    k_grid: tuple[int, ...] = (4,)
    weighting_grid: tuple[str, ...] = ("distance", "uniform")
    inner_folds: int = 3

    def __post_init__(self) -> None:
        if self.pooling not in POOLINGS:
            raise ValueError(f"unknown pooling {self.pooling!r}; choose from {POOLINGS}")
        if not self.k_grid or min(self.k_grid) < 1:
            raise ValueError("k_grid needs positive neighbour counts")
        if not self.weighting_grid or set(self.weighting_grid) - set(NEIGHBOUR_WEIGHTINGS):
            raise ValueError(f"weighting_grid must be drawn from {NEIGHBOUR_WEIGHTINGS}")
        if self.input_dim < 1 or self.inner_folds < 2:
            raise ValueError("input_dim must be positive, inner_folds at least 2")

    @property
    def pooled_dim(self) -> int:
        return self.input_dim * len(self.pooling.split("+"))


class ResizableBuffers(nn.Module):
    """Some buffers (support vectors, training points) get their size only when fitted, so
    loading a state dict first gives each buffer the shape it has there; everything else
    about loading (strict keys, dtype) is torch's."""

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs) -> None:
        for name, buffer in list(self._buffers.items()):
            stored = state_dict.get(prefix + name)
            if buffer is not None and stored is not None and stored.shape != buffer.shape:
                self._buffers[name] = torch.empty(stored.shape, dtype=buffer.dtype)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)


class FittedModule(ResizableBuffers):
    """A module fitted in closed form, its fitted state in buffers (resized on loading)."""

    fitted_by = FITTED_BY_SKLEARN

    def __init__(self, config: Any, *, n_labels: int) -> None:
        super().__init__()
        if n_labels < 2:
            raise ValueError("a classifier needs at least two labels")
        self.config = config
        self.n_labels = n_labels

    def _register_standardiser(self) -> None:
        """Buffers for the pooled vectors' mean and std over the training clips."""
        self.register_buffer("pooled_mean", torch.zeros(self.config.pooled_dim))
        self.register_buffer("pooled_scale", torch.ones(self.config.pooled_dim))

    def pool(self, features: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """The clip vectors ``fit`` is given, exactly as ``forward`` computes them."""
        return pool_segments(features, lengths, pooling=self.config.pooling)

    def fit(
        self,
        pooled: np.ndarray,
        targets: np.ndarray,
        *,
        labels: Sequence[str],
        groups: Sequence[str],
        sample_weights: np.ndarray,
        seed: int,
    ) -> dict[str, Any]:
        """Fit on pooled training vectors (n, pooled_dim) and label indices; returns the
        hyper-parameters chosen, for the training metrics."""
        raise NotImplementedError

    def _standardise_from(self, pooled: np.ndarray) -> np.ndarray:
        mean = pooled.mean(axis=0)
        scale = pooled.std(axis=0)
        scale = np.where(scale > 1e-12, scale, 1.0)
        self.pooled_mean = torch.from_numpy(mean.astype(np.float32))
        self.pooled_scale = torch.from_numpy(scale.astype(np.float32))
        return (pooled - mean) / scale

    def _standardised(self, pooled: torch.Tensor) -> torch.Tensor:
        return (pooled - self.pooled_mean) / self.pooled_scale


# --- kernel SVM ------------------------------------------------------------------------------


class KernelSVM(FittedModule):
    def __init__(self, config: SVMConfig, *, n_labels: int) -> None:
        super().__init__(config, n_labels=n_labels)
        self._register_standardiser()
        # Filled by fit; the shapes here are placeholders that loading replaces.
        self.register_buffer("support_vectors", torch.zeros(0, config.pooled_dim))
        self.register_buffer("dual_coefficients", torch.zeros(0, 0))  # (pairs, vectors)
        self.register_buffer("intercepts", torch.zeros(0))  # (pairs,)
        # [kernel index in KERNELS, gamma, coef0, degree]
        self.register_buffer("kernel_parameters", torch.zeros(4))
        self.register_buffer("calibration_weight", torch.zeros(n_labels, 0))  # (labels, pairs)
        self.register_buffer("calibration_bias", torch.zeros(n_labels))

    def forward(self, features: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return self.logits_of_pooled(self.pool(features, lengths))

    def logits_of_pooled(self, pooled: torch.Tensor) -> torch.Tensor:
        decisions = self.decision_values(self._standardised(pooled))
        return decisions @ self.calibration_weight.T + self.calibration_bias

    def decision_values(self, standardised: torch.Tensor) -> torch.Tensor:
        """One-vs-one decision values (batch, pairs) of standardised pooled vectors."""
        gram = _kernel(standardised, self.support_vectors, self.kernel_parameters)
        return gram @ self.dual_coefficients.T + self.intercepts

    def fit(self, pooled, targets, *, labels, groups, sample_weights, seed) -> dict[str, Any]:
        x = self._standardise_from(np.asarray(pooled, dtype=np.float64))
        y = np.asarray(targets)
        weights = np.asarray(sample_weights, dtype=np.float64)
        splits = inner_group_splits(y, groups, n_folds=self.config.inner_folds, seed=seed)
        candidates = [
            {"kernel": kernel, "C": c, "gamma": gamma}
            for kernel in self.config.kernel_grid
            for c in self.config.c_grid
            for gamma in (self.config.gamma_grid if kernel != "linear" else ("scale",))
        ]
        best, score = _best_by_inner_cv(
            candidates,
            lambda params, train, test: self._fitted_svc(
                x[train], y[train], weights[train], params
            ).predict(x[test]),
            y,
            splits,
        )
        svc = self._fitted_svc(x, y, weights, best)
        self._copy_svc(svc)
        # Calibrate on decision values of clips the SVM did not see (inner folds).
        if splits:
            decisions = np.zeros((len(y), self.intercepts.shape[0]))
            for train, test in splits:
                inner = KernelSVM(self.config, n_labels=self.n_labels)
                inner._copy_svc(self._fitted_svc(x[train], y[train], weights[train], best))
                decisions[test] = inner._decisions_of(x[test])
        else:
            decisions = self._decisions_of(x)
        self._calibrate(decisions, y, weights)
        return {
            "kernel": best["kernel"],
            "C": best["C"],
            "gamma": float(svc._gamma),
            "support_vectors": int(svc.support_vectors_.shape[0]),
            "inner_cv_macro_f1": score,
        }

    def _fitted_svc(self, x, y, weights, params) -> SVC:
        svc = SVC(
            kernel=params["kernel"],
            C=params["C"],
            gamma=params["gamma"],
            degree=self.config.degree,
            coef0=self.config.coef0,
            decision_function_shape="ovo",
        )
        return svc.fit(x, y, sample_weight=weights)

    def _copy_svc(self, svc: SVC) -> None:
        """libsvm's compact one-vs-one layout → a dense (pairs × support vectors) matrix.

        For the pair of classes (i, j), i < j, the coefficients of class i's support vectors
        are in row j − 1 of ``dual_coef_`` and those of class j's in row i. The decision of
        each pair is then the same as ``SVC.decision_function`` (tested).
        """
        counts = svc.n_support_
        starts = np.concatenate([[0], np.cumsum(counts)])
        pairs = list(itertools.combinations(range(len(counts)), 2))
        dense = np.zeros((len(pairs), int(starts[-1])))
        for row, (i, j) in enumerate(pairs):
            dense[row, starts[i] : starts[i + 1]] = svc.dual_coef_[j - 1, starts[i] : starts[i + 1]]
            dense[row, starts[j] : starts[j + 1]] = svc.dual_coef_[i, starts[j] : starts[j + 1]]
        # (A binary SVC's public coefficients and intercept are both sign-flipped, so that a
        # positive decision means the second class; they stay consistent.)
        intercepts = np.asarray(svc.intercept_, dtype=np.float64)
        self.support_vectors = torch.from_numpy(svc.support_vectors_.astype(np.float32))
        self.dual_coefficients = torch.from_numpy(dense.astype(np.float32))
        self.intercepts = torch.from_numpy(intercepts.astype(np.float32))
        self.kernel_parameters = torch.tensor(
            [KERNELS.index(svc.kernel), svc._gamma, svc.coef0, svc.degree], dtype=torch.float32
        )

    def _decisions_of(self, standardised: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            tensor = torch.from_numpy(standardised.astype(np.float32))
            return self.decision_values(tensor).numpy().astype(np.float64)

    def _calibrate(self, decisions: np.ndarray, y: np.ndarray, weights: np.ndarray) -> None:
        weight = np.zeros((self.n_labels, decisions.shape[1]))
        # A label with no training clip gets a probability of about e^-30.
        bias = np.full(self.n_labels, -30.0)
        present = np.unique(y)
        calibration = LogisticRegression(max_iter=1000)
        calibration.fit(decisions, y, sample_weight=weights)
        if len(present) == 2:
            # Binary logistic regression: p(second) = σ(w·d + b) = softmax over (0, w·d + b).
            weight[present[1]], bias[present[0]], bias[present[1]] = (
                calibration.coef_[0],
                0.0,
                calibration.intercept_[0],
            )
        else:
            weight[present] = calibration.coef_
            bias[present] = calibration.intercept_
        self.calibration_weight = torch.from_numpy(weight.astype(np.float32))
        self.calibration_bias = torch.from_numpy(bias.astype(np.float32))


def _kernel(x: torch.Tensor, vectors: torch.Tensor, parameters: torch.Tensor) -> torch.Tensor:
    kind = KERNELS[int(parameters[0])]
    gamma, coef0, degree = parameters[1], parameters[2], parameters[3]
    if kind == "linear":
        return x @ vectors.T
    if kind == "poly":
        return (gamma * (x @ vectors.T) + coef0) ** degree
    squared = (
        (x * x).sum(dim=1, keepdim=True) - 2 * (x @ vectors.T) + (vectors * vectors).sum(dim=1)
    )
    return torch.exp(-gamma * squared.clamp_min(0.0))


# --- k nearest neighbours --------------------------------------------------------------------


class NearestNeighbours(FittedModule):
    def __init__(self, config: NeighboursConfig, *, n_labels: int) -> None:
        super().__init__(config, n_labels=n_labels)
        self._register_standardiser()
        self.register_buffer("points", torch.zeros(0, config.pooled_dim))
        self.register_buffer("point_labels", torch.zeros(0, dtype=torch.int64))
        # [k, 1 for inverse-distance votes, 0 for uniform]
        self.register_buffer("neighbour_parameters", torch.tensor([1.0, 0.0]))

    def forward(self, features: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        shares = self.vote_shares(self._standardised(self.pool(features, lengths)))
        return torch.log(shares.clamp_min(_LOG_FLOOR))

    def vote_shares(self, standardised: torch.Tensor) -> torch.Tensor:
        k = min(int(self.neighbour_parameters[0]), self.points.shape[0])
        distances = torch.cdist(standardised, self.points)
        nearest, indices = distances.topk(k, dim=1, largest=False)
        if bool(self.neighbour_parameters[1]):
            # As scikit-learn: a neighbour at distance 0 takes every vote.
            exact = nearest <= 1e-12
            votes = torch.where(
                exact.any(dim=1, keepdim=True), exact.to(nearest.dtype), 1.0 / nearest
            )
        else:
            votes = torch.ones_like(nearest)
        shares = torch.zeros(standardised.shape[0], self.n_labels, dtype=votes.dtype)
        shares.scatter_add_(1, self.point_labels[indices], votes)
        return shares / shares.sum(dim=1, keepdim=True)

    def fit(self, pooled, targets, *, labels, groups, sample_weights, seed) -> dict[str, Any]:
        # Votes are not weighted by class or confidence: every neighbour counts once.
        x = self._standardise_from(np.asarray(pooled, dtype=np.float64)).astype(np.float32)
        y = np.asarray(targets, dtype=np.int64)
        splits = inner_group_splits(y, groups, n_folds=self.config.inner_folds, seed=seed)
        candidates = [
            {"k": k, "weighting": weighting}
            for k in self.config.k_grid
            for weighting in self.config.weighting_grid
        ]

        def predict(params, train, test):
            inner = NearestNeighbours(self.config, n_labels=self.n_labels)
            inner._store(x[train], y[train], params)
            with torch.inference_mode():
                return inner.vote_shares(torch.from_numpy(x[test])).argmax(dim=1).numpy()

        best, score = _best_by_inner_cv(candidates, predict, y, splits)
        self._store(x, y, best)
        return {**best, "inner_cv_macro_f1": score}

    def _store(self, x: np.ndarray, y: np.ndarray, params: dict[str, Any]) -> None:
        self.points = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
        self.point_labels = torch.from_numpy(np.ascontiguousarray(y, dtype=np.int64))
        self.neighbour_parameters = torch.tensor(
            [float(params["k"]), float(params["weighting"] == "distance")]
        )


# --- the AV model ------------------------------------------------------------------------------


def quadrant_log_probabilities(
    valence: torch.Tensor,
    arousal: torch.Tensor,
    *,
    valence_positive: torch.Tensor,
    arousal_high: torch.Tensor,
) -> torch.Tensor:
    """log P(label) = log P(its valence side) + log P(its arousal side), the two sides taken
    as independent. ``valence`` and ``arousal`` are (batch, 2) log-probabilities of
    (negative, positive) and (low, high); ``valence_positive`` and ``arousal_high`` give each
    label's side (1 or 0), so the result is (batch, n_labels) and sums to 1 in probability."""
    positive, high = valence_positive, arousal_high
    return (
        positive * valence[:, 1:] + (1 - positive) * valence[:, :1]
        + high * arousal[:, 1:] + (1 - high) * arousal[:, :1]
    )  # fmt: skip


QUADRANT_VALENCE_POSITIVE = torch.tensor([float(QUADRANT_AXES[q][0]) for q in QUADRANT_AXES])
QUADRANT_AROUSAL_HIGH = torch.tensor([float(QUADRANT_AXES[q][1]) for q in QUADRANT_AXES])


def quadrant_logits_of_points(points: torch.Tensor, *, temperature: float) -> torch.Tensor:
    """Quadrant log-probabilities (batch, 4; columns Q1–Q4) of valence/arousal points in
    [0, 1]²: each side of each axis is a logistic of (x − 0.5) / temperature, the two axes
    combine as in the AV model. The argmax is the quadrant of the point thresholded at 0.5."""
    sides = (points - 0.5) / temperature
    valence = torch.stack([F.logsigmoid(-sides[:, 0]), F.logsigmoid(sides[:, 0])], dim=1)
    arousal = torch.stack([F.logsigmoid(-sides[:, 1]), F.logsigmoid(sides[:, 1])], dim=1)
    return quadrant_log_probabilities(
        valence,
        arousal,
        valence_positive=QUADRANT_VALENCE_POSITIVE.to(points.dtype),
        arousal_high=QUADRANT_AROUSAL_HIGH.to(points.dtype),
    )


def quadrant_of_point(valence: float, arousal: float) -> str:
    """The quadrant of a point in [0, 1]², each axis thresholded at 0.5 (0.5 itself counts as
    positive valence / high arousal)."""
    sides = (int(valence >= 0.5), int(arousal >= 0.5))
    return next(label for label, axes in QUADRANT_AXES.items() if axes == sides)


def quadrant_points(labels: Sequence[str]) -> np.ndarray:
    """(n, 2) valence/arousal targets of quadrant labels: each quadrant's centre."""
    unknown = sorted(set(labels) - set(QUADRANT_CENTRES))
    if unknown:
        raise ValueError(
            f"valence/arousal targets come from quadrant labels {sorted(QUADRANT_CENTRES)}; "
            f"{unknown} are not quadrants (give the clips' coordinates instead)"
        )
    return np.array([QUADRANT_CENTRES[label] for label in labels], dtype=np.float32)


class ValenceArousalModel(FittedModule):
    def __init__(self, config: ValenceArousalConfig, *, n_labels: int) -> None:
        super().__init__(config, n_labels=n_labels)
        self.valence = KernelSVM(config, n_labels=2)  # columns: negative, positive
        self.arousal = KernelSVM(config, n_labels=2)  # columns: low, high
        # Each label's side of both axes (1: positive valence / high arousal).
        self.register_buffer("valence_positive", torch.zeros(n_labels))
        self.register_buffer("arousal_high", torch.zeros(n_labels))

    def forward(self, features: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        pooled = self.pool(features, lengths)
        return self.quadrant_log_probabilities(
            torch.log_softmax(self.valence.logits_of_pooled(pooled), dim=1),
            torch.log_softmax(self.arousal.logits_of_pooled(pooled), dim=1),
        )

    def quadrant_log_probabilities(
        self, valence: torch.Tensor, arousal: torch.Tensor
    ) -> torch.Tensor:
        return quadrant_log_probabilities(
            valence, arousal, valence_positive=self.valence_positive, arousal_high=self.arousal_high
        )

    def fit(self, pooled, targets, *, labels, groups, sample_weights, seed) -> dict[str, Any]:
        unknown = [label for label in labels if label not in QUADRANT_AXES]
        if unknown:
            raise ValueError(
                f"the valence/arousal model reads quadrant labels {sorted(QUADRANT_AXES)}; "
                f"{unknown} is not one"
            )
        axes = np.array([QUADRANT_AXES[label] for label in labels], dtype=np.int64)
        self.valence_positive = torch.from_numpy(axes[:, 0].astype(np.float32))
        self.arousal_high = torch.from_numpy(axes[:, 1].astype(np.float32))
        y = np.asarray(targets)
        chosen = {}
        for name, side, axis in (("valence", self.valence, 0), ("arousal", self.arousal, 1)):
            side_targets = axes[y, axis]
            if len(np.unique(side_targets)) < 2:
                raise ValueError(f"the {name} classifier needs clips on both sides of its axis")
            chosen[name] = side.fit(
                pooled,
                side_targets,
                labels=("negative", "positive") if axis == 0 else ("low", "high"),
                groups=groups,
                sample_weights=sample_weights,
                seed=seed,
            )
        return chosen


# --- support vector regression of valence and arousal (seed 004's baseline) -------------------


@dataclass(frozen=True)
class SVRConfig(SerialisableConfig):
    """Seed 004's SVR baseline: one RBF support vector regression per axis, C = 1, on the
    pooled features its correlation-based feature mapping keeps (``feature_mapping``)."""

    input_dim: int = 550
    pooling: str = "mean+std"
    # Columns kept by the feature mapping (0: all of them).
    selected_features: int = 94
    C: float = 1.0
    epsilon: float = 0.1
    # "scale" is scikit-learn's 1 / (n_features · variance of the pooled training vectors).
    gamma: float | str = "scale"
    # Quadrant logits: each side of an axis is a logistic of (x − 0.5) / temperature.
    temperature: float = 0.1

    def __post_init__(self) -> None:
        if self.pooling not in POOLINGS:
            raise ValueError(f"unknown pooling {self.pooling!r}; choose from {POOLINGS}")
        if self.input_dim < 1 or self.selected_features < 0:
            raise ValueError("input_dim must be positive and selected_features non-negative")
        if self.C <= 0 or self.epsilon < 0 or self.temperature <= 0:
            raise ValueError("C and temperature must be positive, epsilon non-negative")

    @property
    def selected_dim(self) -> int:
        if self.selected_features:
            return min(self.selected_features, self.input_dim)
        return self.input_dim

    @property
    def pooled_dim(self) -> int:
        return self.selected_dim * len(self.pooling.split("+"))


class SupportVectorRegressor(ResizableBuffers):
    """One fitted ``sklearn.svm.SVR`` as buffers: f(x) = K(x, support vectors) · dual + b."""

    def __init__(self, pooled_dim: int) -> None:
        super().__init__()
        self.register_buffer("support_vectors", torch.zeros(0, pooled_dim))
        self.register_buffer("dual_coefficients", torch.zeros(0))
        self.register_buffer("intercept", torch.zeros(1))
        # [kernel index in KERNELS, gamma, coef0, degree], as the kernel SVM's.
        self.register_buffer("kernel_parameters", torch.zeros(4))

    def forward(self, standardised: torch.Tensor) -> torch.Tensor:
        gram = _kernel(standardised, self.support_vectors, self.kernel_parameters)
        return gram @ self.dual_coefficients + self.intercept

    def copy_from(self, svr: SVR) -> None:
        self.support_vectors = torch.from_numpy(svr.support_vectors_.astype(np.float32))
        self.dual_coefficients = torch.from_numpy(svr.dual_coef_[0].astype(np.float32))
        self.intercept = torch.from_numpy(np.asarray(svr.intercept_, dtype=np.float32))
        self.kernel_parameters = torch.tensor(
            [KERNELS.index(svr.kernel), svr._gamma, svr.coef0, svr.degree], dtype=torch.float32
        )


class SupportVectorRegression(FittedModule):
    """Valence and arousal by two RBF SVRs; quadrant logits from the predicted point.

    ``fit`` reads the clips' valence/arousal targets (``points``), not their labels.
    """

    def __init__(self, config: SVRConfig, *, n_labels: int) -> None:
        super().__init__(config, n_labels=n_labels)
        if n_labels != len(QUADRANT_AXES):
            raise ValueError(f"a valence/arousal model answers the quadrants {list(QUADRANT_AXES)}")
        self.feature_mapping = CorrelationSelection(config.input_dim, config.selected_features)
        self._register_standardiser()
        self.valence = SupportVectorRegressor(config.pooled_dim)
        self.arousal = SupportVectorRegressor(config.pooled_dim)

    def pool(self, features: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return pool_segments(self.feature_mapping(features), lengths, pooling=self.config.pooling)

    def valence_arousal(self, features: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """(batch, 2) valence and arousal in [0, 1]."""
        standardised = self._standardised(self.pool(features, lengths))
        points = torch.stack([self.valence(standardised), self.arousal(standardised)], dim=1)
        return points.clamp(0.0, 1.0)

    def forward(self, features: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        points = self.valence_arousal(features, lengths)
        return quadrant_logits_of_points(points, temperature=self.config.temperature)

    def fit(
        self, pooled, targets, *, labels, groups, sample_weights, seed, points=None
    ) -> dict[str, Any]:
        if points is None:
            raise ValueError("the SVR regresses valence and arousal: fit it with their points")
        x = self._standardise_from(np.asarray(pooled, dtype=np.float64))
        y = np.asarray(points, dtype=np.float64)
        weights = np.asarray(sample_weights, dtype=np.float64)
        fitted: dict[str, Any] = {"C": self.config.C}
        for axis, (name, side) in enumerate((("valence", self.valence), ("arousal", self.arousal))):
            svr = SVR(kernel="rbf", C=self.config.C, epsilon=self.config.epsilon)
            svr.set_params(gamma=self.config.gamma)
            svr.fit(x, y[:, axis], sample_weight=weights)
            side.copy_from(svr)
            fitted[f"{name}_support_vectors"] = int(svr.support_vectors_.shape[0])
            fitted["gamma"] = float(svr._gamma)
        return fitted


# --- inner cross-validation ------------------------------------------------------------------


def inner_group_splits(
    targets: np.ndarray, groups: Sequence[str], *, n_folds: int, seed: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Artist-grouped, stratified inner folds of the training clips; none (an empty list)
    when some label has fewer artists than folds or a fold would miss a label."""
    targets = np.asarray(targets)
    groups = np.asarray(groups)
    for label in np.unique(targets):
        if len(set(groups[targets == label])) < n_folds:
            return []
    splitter = StratifiedGroupKFold(n_splits=n_folds, shuffle=True, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        splits = list(splitter.split(np.zeros(len(targets)), targets, groups))
    present = set(np.unique(targets))
    if any(set(np.unique(targets[train])) != present for train, _ in splits):
        return []
    return splits


def _best_by_inner_cv(candidates, predict, y, splits) -> tuple[dict[str, Any], float | None]:
    """The candidate with the best mean macro-F1 over ``splits`` (the first on ties, and
    when there are no splits). ``predict(params, train, test)`` → predicted label indices."""
    if not splits or len(candidates) == 1:
        return candidates[0], None
    scores = [
        float(
            np.mean(
                [
                    f1_score(y[test], predict(params, train, test), average="macro")
                    for train, test in splits
                ]
            )
        )
        for params in candidates
    ]
    best = int(np.argmax(scores))
    return candidates[best], round(scores[best], 4)
