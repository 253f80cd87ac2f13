"""bench.interrupt: a signal whose KeyboardInterrupt was swallowed is raised again at the next check."""

from __future__ import annotations

import os
import signal
import time

import pytest

from bench import interrupt


def _swallow(sig: signal.Signals) -> None:
    """Deliver ``sig`` to this process and drop its KeyboardInterrupt, as a finalizer would."""
    try:
        os.kill(os.getpid(), sig)
        time.sleep(1)  # the handler runs here, at the latest
    except KeyboardInterrupt:
        return
    pytest.fail(f"{sig.name} did not raise KeyboardInterrupt")


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_swallowed_signal_is_raised_again_by_check(sig):
    with interrupt.watched():
        interrupt.check()  # nothing received yet
        _swallow(sig)
        with pytest.raises(KeyboardInterrupt, match=sig.name):
            interrupt.check()
        with pytest.raises(KeyboardInterrupt):  # and again, until the watch ends
            interrupt.check()


def test_leaving_restores_the_handlers_and_forgets_the_signal():
    before = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    with interrupt.watched():
        _swallow(signal.SIGTERM)
    assert {sig: signal.getsignal(sig) for sig in before} == before
    interrupt.check()  # does not raise outside


def test_a_new_watch_starts_clean():
    with interrupt.watched():
        _swallow(signal.SIGINT)
    with interrupt.watched():
        interrupt.check()
