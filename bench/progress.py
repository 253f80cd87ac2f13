"""Progress of long work (multi-seed runs, sweeps): where it is, elapsed time, time left.

One plain line per unit of work, never a carriage return, so CI logs and
files stay clean whether or not stdout is a terminal::

    [3/24] loss=softmax seed=42 list_size=20 backend=jax elapsed 0:41 eta 4:12

The estimate is elapsed time per finished unit of weight times the weight
left; callers weigh units by their expected cost (1 by default). The inner
training loop shows no Keras progress bar on purpose: ``verbose=1`` makes
Keras convert every step's logs to Python numbers, a device sync per step,
which would distort the step times being measured.
"""

from __future__ import annotations

import sys
import time
from typing import Callable, TextIO


def clock_text(seconds: float | None) -> str:
    """``h:mm:ss`` or ``m:ss``; ``?`` when unknown."""
    if seconds is None:
        return "?"
    seconds = int(round(max(0.0, seconds)))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class Progress:
    """Counts units of work and prints one line as each starts and, optionally, ends."""

    def __init__(
        self,
        total: int,
        *,
        quiet: bool = False,
        stream: TextIO | None = None,
        log: Callable[[str], None] | None = None,
        clock: Callable[[], float] = time.perf_counter,
        total_weight: float | None = None,
    ) -> None:
        self.total = total
        self.quiet = quiet
        self.stream = stream
        self.log = log
        self.clock = clock
        self.total_weight = float(total if total_weight is None else total_weight)
        self.done = 0
        self.done_weight = 0.0
        self.started = clock()

    def elapsed(self) -> float:
        return self.clock() - self.started

    def eta(self) -> float | None:
        """Seconds left, or None before the first unit has finished."""
        if self.done_weight <= 0:
            return None
        return self.elapsed() / self.done_weight * max(0.0, self.total_weight - self.done_weight)

    def line(self, text: str) -> None:
        if self.quiet:
            return
        if self.log is not None:
            self.log(text)
        else:
            print(text, file=self.stream or sys.stdout, flush=True)

    def start(self, description: str) -> None:
        """Announce the next unit: ``[i/n] description elapsed .. eta ..``."""
        self.line(f"[{self.done + 1}/{self.total}] {description} "
                  f"elapsed {clock_text(self.elapsed())} eta {clock_text(self.eta())}")

    def finish(self, result: str = "", weight: float = 1.0) -> None:
        """Mark the current unit done; ``result`` is printed indented under its start line."""
        self.done += 1
        self.done_weight += weight
        if result:
            self.line("    " + result)
