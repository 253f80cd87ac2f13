"""Test helper: deliver a signal to this process and swallow its KeyboardInterrupt."""

from __future__ import annotations

import os
import signal
import time

import pytest


def swallow(sig: signal.Signals = signal.SIGINT) -> None:
    """Deliver ``sig`` and drop its KeyboardInterrupt, as a finalizer or a library's broad except would."""
    try:
        os.kill(os.getpid(), sig)
        time.sleep(1)  # the handler runs here, at the latest
    except KeyboardInterrupt:
        return
    pytest.fail(f"{sig.name} did not raise KeyboardInterrupt")
