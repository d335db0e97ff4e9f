"""Real 4Q MP3 clips (skipped when ../shared/datasets is absent)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from emotion.features import N_FEATURES, analyse_audio

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
    for path in _first_clip_of_each_quadrant():
        analysis = analyse_audio(path)
        assert analysis.features.shape == (10, N_FEATURES), path.name
        assert np.isfinite(analysis.features).all(), path.name
        assert 29.0 < analysis.audio_seconds < 31.0


def test_real_clip_from_a_file_object_at_two_second_segments() -> None:
    path = _first_clip_of_each_quadrant()[0]
    with open(path, "rb") as handle:
        analysis = analyse_audio(handle, segment_seconds=2.0)
    assert analysis.features.shape == (15, N_FEATURES)
