"""Fixtures for the feature tests."""

from __future__ import annotations

import numpy as np
import pytest

from .signals import encode, harmonic_tone, white_noise


@pytest.fixture(scope="session")
def tone_220() -> np.ndarray:
    return harmonic_tone(220.0, 6.0)


@pytest.fixture(scope="session")
def good_wav() -> bytes:
    return encode(harmonic_tone(330.0, 4.0) + white_noise(4.0, amplitude=0.01))
