"""bench.interrupt: a signal whose KeyboardInterrupt was swallowed is raised again at the next check."""

from __future__ import annotations

import os
import signal
import sys
import time

import pytest

from bench import interrupt
from tests.signals import swallow


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_swallowed_signal_is_raised_again_by_check(sig):
    with pytest.raises(KeyboardInterrupt, match=sig.name):  # and once more as the watch ends
        with interrupt.watched():
            interrupt.check()  # nothing received yet
            swallow(sig)
            with pytest.raises(KeyboardInterrupt, match=sig.name):
                interrupt.check()
            with pytest.raises(KeyboardInterrupt):  # and again, until the watch ends
                interrupt.check()


class _SignalsItselfWhenCollected:
    def __del__(self):
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(1)  # the handler runs here: its KeyboardInterrupt cannot leave a finalizer


def _unraisable_reports(body) -> list:
    """What reaches ``sys.unraisablehook`` (Python prints it as "Exception ignored in ...") while ``body`` runs."""
    seen = []
    previous, sys.unraisablehook = sys.unraisablehook, seen.append
    try:
        body()
    finally:
        sys.unraisablehook = previous
    return [type(report.exc_value) for report in seen]


def test_an_interrupt_lost_in_a_finalizer_is_silent_and_raised_again():
    # What CI met: the KeyboardInterrupt landed in a weakref callback (WeakKeyDictionary.remove).
    def body():
        with pytest.raises(KeyboardInterrupt, match="SIGINT"):
            with interrupt.watched():
                _SignalsItselfWhenCollected()  # collected at once: the signal arrives inside __del__

    assert _unraisable_reports(body) == []


def test_other_unraisable_errors_are_still_reported():
    class Broken:
        def __del__(self):
            raise RuntimeError("from a finalizer")

    def body():
        with interrupt.watched():
            Broken()  # collected at once

    assert _unraisable_reports(body) == [RuntimeError]


def test_leaving_raises_a_swallowed_signal_restores_the_handlers_and_forgets_it():
    before = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    hook = sys.unraisablehook
    with pytest.raises(KeyboardInterrupt, match="SIGTERM"):
        with interrupt.watched():
            swallow(signal.SIGTERM)
    assert {sig: signal.getsignal(sig) for sig in before} == before
    assert sys.unraisablehook is hook
    interrupt.check()  # does not raise outside


def test_a_new_watch_starts_clean():
    with pytest.raises(KeyboardInterrupt):
        with interrupt.watched():
            swallow(signal.SIGINT)
    with interrupt.watched():
        interrupt.check()
