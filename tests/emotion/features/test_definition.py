"""The feature table is complete and consistent."""

from __future__ import annotations

from emotion.features import (
    FEATURE_DEFINITIONS,
    FEATURE_NAMES,
    LLD_FEATURE_SET_VERSION,
    N_LLD_FEATURES,
)


def test_table_has_fifty_unique_rows_in_order() -> None:
    assert len(FEATURE_DEFINITIONS) == N_LLD_FEATURES == 50
    assert [d.index for d in FEATURE_DEFINITIONS] == list(range(50))
    assert len(set(FEATURE_NAMES)) == 50
    assert all(d.description and d.unit for d in FEATURE_DEFINITIONS)


def test_group_sizes_match_the_paper() -> None:
    groups = [d.group for d in FEATURE_DEFINITIONS]
    assert [groups.count(g) for g in ("mfcc", "formant", "energy", "pitch", "zcr")] == [
        18,
        8,
        10,
        6,
        8,
    ]


def test_version_is_set() -> None:
    assert LLD_FEATURE_SET_VERSION.startswith("lld50-")
