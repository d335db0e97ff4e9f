"""Feature sets: which per-segment vectors an analysis stores, under which version.

A feature set is an ordered list of named blocks of columns. An analysis stores one
``(n_segments, dims)`` matrix per track under its set's version, and a mood model records
the version it was trained on and the blocks it reads. A version never changes meaning:
changing any block's definition means a new version, so vectors of different definitions
are never mixed.

Each block carries the definition it follows. A model can read analyses of another feature
set when that set holds every block the model reads, with the same definitions (``columns_for``):
a model of the seed's 50 LLDs serves on ``lld50-musicnn-v1`` analyses through their LLD
columns, so upgrading the catalogue's features never strands the active model. The other way
round is refused: a model that reads embeddings cannot serve on LLD-only analyses.

* ``lld50-v1``: the seed's 50 LLDs (``definition``).
* ``lld50-musicnn-v1``: the same 50 LLDs, then per segment the tag probabilities and the
  penultimate layer of musicnn's MSD and MTT models (``musicnn``): 550 columns. The LLD
  columns are bit-for-bit those of ``lld50-v1``.
* ``lld50-musicnn-mel-v1``: ``lld50-musicnn-v1``, then the CRNN family's log-mel summary and
  residual phase (``spectrogram``): 1,202 columns. Not the default: only the ``crnn`` presets
  read the extra 652 columns, and they more than double the bytes stored per segment; a
  service that chooses the CRNN family sets ``AUDIO_FEATURE_SET`` to it (every other model
  serves on it too, through the same columns).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .definition import LLD_FEATURE_SET_VERSION, N_LLD_FEATURES
from .musicnn.embedding import EMBEDDING_BLOCKS
from .musicnn.weights import MUSICNN_PACKAGE_VERSION
from .spectrogram import (
    LOG_MEL_SUMMARY_DIMS,
    N_MEL_SUMMARY_STEPS,
    N_RESIDUAL_PHASE_CEPSTRA,
    RESIDUAL_PHASE_MELS,
)


@dataclass(frozen=True)
class FeatureBlock:
    name: str
    size: int
    definition: str  # what the columns are; equal definitions mean interchangeable columns


@dataclass(frozen=True)
class FeatureSet:
    version: str
    blocks: tuple[FeatureBlock, ...]

    @property
    def dims(self) -> int:
        return sum(block.size for block in self.blocks)

    @property
    def block_names(self) -> tuple[str, ...]:
        return tuple(block.name for block in self.blocks)

    @property
    def has_embeddings(self) -> bool:
        return any(block.definition.startswith("musicnn-") for block in self.blocks)

    def has_block(self, name: str) -> bool:
        return name in self.block_names

    def block(self, name: str) -> FeatureBlock:
        for block in self.blocks:
            if block.name == name:
                return block
        raise ValueError(
            f"feature set {self.version} has no block {name!r}; it has {self.block_names}"
        )

    def columns(self, block_names: Sequence[str]) -> list[int]:
        """Column indices of the named blocks, in the order given."""
        offsets, start = {}, 0
        for block in self.blocks:
            offsets[block.name] = range(start, start + block.size)
            start += block.size
        for name in block_names:
            self.block(name)  # refuses an unknown name with the list of known ones
        return [column for name in block_names for column in offsets[name]]


class IncompatibleFeaturesError(ValueError):
    """A model reads blocks that analyses of a feature set do not hold."""


def columns_for(
    *, model_feature_set: str, blocks: Sequence[str], analyses_feature_set: str
) -> list[int]:
    """Where a model trained on ``model_feature_set`` finds the ``blocks`` it reads in
    analyses of ``analyses_feature_set``; refused unless every block is there with the same
    definition."""
    trained_on = feature_set(model_feature_set)
    available = feature_set(analyses_feature_set)
    missing = [
        name
        for name in blocks
        if name not in available.block_names or available.block(name) != trained_on.block(name)
    ]
    if missing:
        raise IncompatibleFeaturesError(
            f"the model was trained on feature set {model_feature_set!r} and reads its blocks "
            f"{list(blocks)}, but analyses of {analyses_feature_set!r} lack {missing}: "
            f"extract {model_feature_set!r} features (AUDIO_FEATURE_SET) first, or use a "
            f"model trained on {analyses_feature_set!r}"
        )
    return available.columns(blocks)


LLD_BLOCK = FeatureBlock("lld", N_LLD_FEATURES, LLD_FEATURE_SET_VERSION)
MUSICNN_BLOCKS = tuple(
    FeatureBlock(name, size, f"musicnn-{MUSICNN_PACKAGE_VERSION}-torch/{name}")
    for name, size in EMBEDDING_BLOCKS
)
LOG_MEL_BLOCK = FeatureBlock(
    "log_mel", LOG_MEL_SUMMARY_DIMS, f"log-mel-{N_MEL_SUMMARY_STEPS}-steps-x-40-bands-v1"
)
RESIDUAL_PHASE_BLOCK = FeatureBlock(
    "residual_phase",
    N_RESIDUAL_PHASE_CEPSTRA,
    f"residual-phase-cepstrum-c1-c{N_RESIDUAL_PHASE_CEPSTRA}-{RESIDUAL_PHASE_MELS}-mels-v1",
)
LLD_MUSICNN_FEATURE_SET_VERSION = "lld50-musicnn-v1"
LLD_MUSICNN_MEL_FEATURE_SET_VERSION = "lld50-musicnn-mel-v1"

FEATURE_SETS = {
    LLD_FEATURE_SET_VERSION: FeatureSet(LLD_FEATURE_SET_VERSION, (LLD_BLOCK,)),
    LLD_MUSICNN_FEATURE_SET_VERSION: FeatureSet(
        LLD_MUSICNN_FEATURE_SET_VERSION, (LLD_BLOCK, *MUSICNN_BLOCKS)
    ),
    LLD_MUSICNN_MEL_FEATURE_SET_VERSION: FeatureSet(
        LLD_MUSICNN_MEL_FEATURE_SET_VERSION,
        (LLD_BLOCK, *MUSICNN_BLOCKS, LOG_MEL_BLOCK, RESIDUAL_PHASE_BLOCK),
    ),
}
DEFAULT_FEATURE_SET_VERSION = LLD_MUSICNN_FEATURE_SET_VERSION


def feature_set(version: str) -> FeatureSet:
    try:
        return FEATURE_SETS[version]
    except KeyError:
        raise ValueError(
            f"unknown feature set {version!r}; known: {', '.join(FEATURE_SETS)}"
        ) from None
