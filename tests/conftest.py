"""Shared fixtures. Each tox test env runs the whole suite under one backend
(KERAS_BACKEND), so every test is exercised on JAX, TensorFlow and PyTorch."""

from __future__ import annotations

import os
from pathlib import Path

import keras
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_ML100K = ROOT.parent / "shared" / "data" / "ml-100k"


@pytest.fixture(autouse=True)
def _seed():
    keras.utils.set_random_seed(0)
    np.random.seed(0)


@pytest.fixture(scope="session")
def backend() -> str:
    return keras.backend.backend()


@pytest.fixture(scope="session")
def ml100k_dir() -> Path:
    """The real MovieLens 100K folder: $LISTRANK_DATA_DIR, else ../shared/data/ml-100k."""
    path = Path(os.environ.get("LISTRANK_DATA_DIR") or SHARED_ML100K)
    if not (path / "u.data").is_file():
        pytest.skip(f"real MovieLens 100K not found at {path}; set LISTRANK_DATA_DIR")
    return path
