"""Choosing the Keras backend: it must be set before keras is first imported."""

from __future__ import annotations

import importlib.util
import os
import sys

BACKENDS = ("jax", "tensorflow", "torch")
# The module whose presence means the backend is installed, and how to get it.
_MODULES = {"jax": "jax", "tensorflow": "tensorflow", "torch": "torch"}


class BackendError(RuntimeError):
    """The requested backend cannot be used in this process."""


def select(name: str) -> None:
    """Make ``name`` the Keras backend of this process, or explain why not."""
    if name not in BACKENDS:
        raise BackendError(f"unknown backend {name!r}; choose one of {', '.join(BACKENDS)}")
    preset = os.environ.get("KERAS_BACKEND")
    if preset and preset != name:
        raise BackendError(
            f"--backend {name} disagrees with KERAS_BACKEND={preset} in the environment; "
            f"unset KERAS_BACKEND or use --backend {preset} (each tox env bench-X sets it)"
        )
    if "keras" in sys.modules:
        import keras

        if keras.backend.backend() != name:
            raise BackendError(
                f"keras was already imported with the {keras.backend.backend()} backend; "
                f"run a fresh process with --backend {name}"
            )
    if importlib.util.find_spec(_MODULES[name]) is None:
        raise BackendError(
            f"the {name} backend is not installed in this environment; run it through "
            f"`tox -e bench-{name}` or install the extra: pip install 'listrank[{name}]'"
        )
    os.environ["KERAS_BACKEND"] = name
