"""Interruptions (Ctrl-C, SIGTERM) that a long run never loses.

Python runs a signal handler wherever the main thread happens to be. When
that is inside a finalizer (``__del__``, a weakref callback) or a library's
broad ``except``, the ``KeyboardInterrupt`` it raises is swallowed ("Exception
ignored in ...") and the run would carry on and exit 0 as if never
interrupted. So the handler also remembers the signal, and the harness asks
again between batches (:class:`StopWhenInterrupted`), between runs
(:func:`check`) and when the watch ends: a lost ``KeyboardInterrupt`` is
raised again at the next such point, without Python's "Exception ignored"
traceback.

Imported only after :func:`bench.backend.select` has set the backend.
"""

from __future__ import annotations

import contextlib
import signal
import sys
from collections.abc import Iterator
from typing import Any

import keras

_received: list[str] = []


def _handle(signum: int, frame: Any) -> None:
    _received.append(signal.Signals(signum).name)
    raise KeyboardInterrupt(_received[-1])


def check() -> None:
    """Raise ``KeyboardInterrupt`` if a watched signal has arrived."""
    if _received:
        raise KeyboardInterrupt(_received[-1])


@contextlib.contextmanager
def watched() -> Iterator[None]:
    """Within: SIGINT and SIGTERM raise ``KeyboardInterrupt`` and are remembered for :func:`check`.

    A remembered interruption that Python could not raise (it reports those as
    "Exception ignored in ..." with a traceback) is not printed: it is raised
    again at the next check.
    """
    _received.clear()
    try:
        previous = {sig: signal.signal(sig, _handle) for sig in (signal.SIGINT, signal.SIGTERM)}
    except ValueError:  # not the main thread: signals cannot be handled here
        yield
        return
    previous_hook = sys.unraisablehook

    def unraisable(report: Any) -> None:
        if not (isinstance(report.exc_value, KeyboardInterrupt) and _received):
            previous_hook(report)

    sys.unraisablehook = unraisable
    try:
        yield
        check()  # one that arrived after the last check
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        sys.unraisablehook = previous_hook
        _received.clear()


class StopWhenInterrupted(keras.callbacks.Callback):
    """Raises a remembered interruption before every training batch."""

    def on_train_batch_begin(self, batch: int, logs: Any = None) -> None:
        check()
