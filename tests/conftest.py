"""Shared fixtures: seeded synthetic data and the real recordings of NEUROCL_TEST_DATA."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)


@pytest.fixture(scope="session")
def test_data() -> Path:
    """The folder of real recordings (``NEUROCL_TEST_DATA``); skip when it is unset."""
    value = os.environ.get("NEUROCL_TEST_DATA")
    if not value:
        pytest.skip("NEUROCL_TEST_DATA is not set: real-data tests need the shared data folder")
    path = Path(value).resolve()
    if not path.is_dir():
        pytest.skip(f"NEUROCL_TEST_DATA={value} is not a directory")
    return path
