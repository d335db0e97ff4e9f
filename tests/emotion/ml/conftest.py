from __future__ import annotations

import pytest
import torch

from emotion.features.feature_sets import LLD_MUSICNN_MEL_FEATURE_SET_VERSION
from emotion.ml.datasets import (
    DEFAULT_FEATURE_CACHE_DIR,
    LabelledDataset,
    default_datasets_dir,
    load_labelled_dataset,
)

FOUR_Q = default_datasets_dir() / "4q"


@pytest.fixture(autouse=True)
def _one_thread():
    # Keeps timings stable and the suite polite on shared CPUs.
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="session")
def four_q_subset() -> LabelledDataset:
    """The first 40 clips of each quadrant of 4Q, for the families' short grouped CVs in CI.
    Of the feature set that holds every family's blocks, so one extraction serves them all
    (each preset reads its own blocks; the default set's columns are the same numbers)."""
    if not (FOUR_Q / "metadata.csv").is_file():
        pytest.skip(f"no 4Q data set at {FOUR_Q}")
    dataset = load_labelled_dataset(
        FOUR_Q,
        limit_per_label=40,
        cache_dir=DEFAULT_FEATURE_CACHE_DIR,
        progress=False,
        workers=2,
        feature_set_version=LLD_MUSICNN_MEL_FEATURE_SET_VERSION,
    )
    assert len(dataset) == 160 and not dataset.failures
    return dataset
