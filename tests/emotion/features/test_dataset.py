"""Real 4Q MP3 clips (skipped when ../shared/datasets is absent)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from emotion.features import (
    DEFAULT_FEATURE_SET_VERSION,
    LLD_FEATURE_SET_VERSION,
    N_LLD_FEATURES,
    analyse_audio,
    feature_set,
)

from .signals import datasets_dir

FOUR_Q = datasets_dir() / "4q"

pytestmark = [
    pytest.mark.dataset,
    pytest.mark.skipif(
        not (FOUR_Q / "metadata.csv").is_file(), reason=f"4Q data set not found at {FOUR_Q}"
    ),
]


def _first_clip_of_each_quadrant() -> list[Path]:
    chosen: dict[str, Path] = {}
    with open(FOUR_Q / "metadata.csv", encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            chosen.setdefault(row["quadrant"], FOUR_Q / row["path"])
    return [chosen[q] for q in sorted(chosen)]


def test_real_clips_give_ten_finite_segments() -> None:
    dims = feature_set(DEFAULT_FEATURE_SET_VERSION).dims
    for path in _first_clip_of_each_quadrant():
        analysis = analyse_audio(path)
        assert analysis.features.shape == (10, dims), path.name
        assert np.isfinite(analysis.features).all(), path.name
        assert 29.0 < analysis.audio_seconds < 31.0


def test_the_embedding_feature_set_keeps_the_seed_llds_bit_for_bit() -> None:
    # lld50-v1 models read these columns of lld50-musicnn-v1 analyses (feature_sets.columns_for).
    path = _first_clip_of_each_quadrant()[1]
    combined = analyse_audio(path, feature_set_version=DEFAULT_FEATURE_SET_VERSION)
    llds = analyse_audio(path, feature_set_version=LLD_FEATURE_SET_VERSION)
    np.testing.assert_array_equal(combined.features[:, :N_LLD_FEATURES], llds.features)
    tags = combined.features[:, feature_set(DEFAULT_FEATURE_SET_VERSION).columns(["msd_tags"])]
    assert ((tags >= 0) & (tags <= 1)).all()  # sigmoid probabilities


def test_real_clip_from_a_file_object_at_two_second_segments() -> None:
    path = _first_clip_of_each_quadrant()[0]
    with open(path, "rb") as handle:
        analysis = analyse_audio(handle, segment_seconds=2.0)
    assert analysis.features.shape == (15, feature_set(DEFAULT_FEATURE_SET_VERSION).dims)
