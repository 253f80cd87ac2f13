"""pytest-benchmark suite (not part of `tox -m test`): run with `tox -e benchmark-<backend>`."""

from __future__ import annotations

import keras
import pytest


@pytest.fixture(scope="session")
def backend() -> str:
    return keras.backend.backend()
