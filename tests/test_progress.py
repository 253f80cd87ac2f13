"""bench.progress: one plain line per unit, elapsed and ETA, quiet, no carriage returns."""

from __future__ import annotations

import io

from bench.progress import Progress, clock_text


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_lines_elapsed_and_eta():
    clock, out = FakeClock(), io.StringIO()
    progress = Progress(4, stream=out, clock=clock)
    progress.start("loss=mse seed=42 backend=jax")
    clock.now += 10
    progress.finish("step=1.00ms")
    progress.start("loss=softmax seed=42 backend=jax")
    clock.now += 30
    progress.finish()
    progress.start("loss=list_mle seed=42 backend=jax")
    lines = out.getvalue().splitlines()
    assert lines[0] == "[1/4] loss=mse seed=42 backend=jax elapsed 0:00 eta ?"
    assert lines[1] == "    step=1.00ms"
    assert lines[2] == "[2/4] loss=softmax seed=42 backend=jax elapsed 0:10 eta 0:30"
    assert lines[3] == "[3/4] loss=list_mle seed=42 backend=jax elapsed 0:40 eta 0:40"
    assert "\r" not in out.getvalue()


def test_weights_shape_the_estimate():
    clock, out = FakeClock(), io.StringIO()
    progress = Progress(2, stream=out, clock=clock, total_weight=10.0)
    clock.now += 5
    progress.finish(weight=1.0)  # 1 of 10 units of work took 5 s: 45 s left
    assert progress.eta() == 45.0


def test_quiet_prints_nothing_and_log_callable_receives_lines():
    out = io.StringIO()
    quiet = Progress(1, quiet=True, stream=out)
    quiet.start("x")
    quiet.finish("y")
    assert out.getvalue() == ""
    seen = []
    Progress(1, log=seen.append).start("loss=mse seed=1")
    assert seen and seen[0].startswith("[1/1] loss=mse seed=1 elapsed")


def test_clock_text():
    assert clock_text(None) == "?"
    assert clock_text(59.6) == "1:00"
    assert clock_text(3725) == "1:02:05"
