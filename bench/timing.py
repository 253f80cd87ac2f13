"""Step timing that the backends' asynchronous dispatch cannot fool.

Keras ``fit`` dispatches steps asynchronously on JAX (and on GPUs with every
backend), so a wall-clock read after a step returns measures dispatch, not
work. The timer below therefore synchronises the device at the boundaries of
windows of ``window`` steps, and only there: the steps inside a window run
untouched. It overrides ``on_train_batch_begin`` only, because overriding
``on_train_batch_end`` makes Keras convert every step's logs to Python floats
on the main thread, a host sync per step.
"""

from __future__ import annotations

import time
from typing import Any

import keras
import numpy as np

SAMPLE_DECIMALS = 4  # ms, i.e. 0.1 µs: far below timer noise


def synchronize(model: keras.Model | None = None) -> None:
    """Block until all work dispatched so far has finished."""
    backend = keras.backend.backend()
    if backend == "jax":
        # During fit, the JAX trainer holds the newest state in model._jax_state
        # (Keras documents it as the hook for callbacks that need the state).
        # Keras wraps that dict in its own tracking types, which are no JAX
        # pytrees, so the arrays are gathered by hand.
        state = getattr(model, "_jax_state", None) if model is not None else None
        if state:
            arrays = [array for group in state.values() for array in (group or [])]
        else:
            arrays = [v.value for v in model.variables] if model is not None else []
        for array in arrays:
            array.block_until_ready()
    elif backend == "tensorflow":
        import tensorflow as tf

        tf.test.experimental.sync_devices()
    elif backend == "torch":
        import torch

        if torch.cuda.is_available():
            torch.cuda.synchronize()


class StepTimer(keras.callbacks.Callback):
    """Times ``fit``: the first step (compile) apart, then windows of steps.

    ``compile_s`` is the first step's wall time, tracing and compilation
    included. Steady-state samples are the mean ms/step of consecutive windows
    of ``window`` steps. A window that contains a batch of another size than
    the run's usual one (the last, partial batch of an epoch) is dropped, since
    on JAX and TensorFlow that shape is compiled once more.
    """

    def __init__(self, steps_per_epoch: int, partial_last_step: bool, window: int = 5) -> None:
        super().__init__()
        self.steps_per_epoch = steps_per_epoch
        self.partial_last_step = partial_last_step and steps_per_epoch > 1
        self.window = max(1, window)
        self.compile_s: float | None = None
        self.samples_ms: list[float] = []
        self._global_step = 0
        self._window_start: float | None = None
        self._window_steps = 0
        self._window_clean = True
        self._train_start = 0.0

    def on_train_begin(self, logs: Any = None) -> None:
        self.sync()
        self._train_start = time.perf_counter()

    def on_train_batch_begin(self, batch: int, logs: Any = None) -> None:
        step = self._global_step
        self._global_step += 1
        if step == 1:
            self.sync()
            now = time.perf_counter()
            self.compile_s = now - self._train_start
            self._open_window(now)
        elif step > 1 and self._window_steps == self.window:
            self.sync()
            now = time.perf_counter()
            if self._window_clean:
                # Stored rounded (0.1 µs) so that the summary and the saved samples agree
                # exactly: a report recomputes the median from the saved samples.
                self.samples_ms.append(round((now - self._window_start) * 1000.0 / self.window,
                                             SAMPLE_DECIMALS))
            self._open_window(now)
        if step >= 1:
            self._window_steps += 1
            if self.partial_last_step and batch == self.steps_per_epoch - 1:
                self._window_clean = False

    def on_train_end(self, logs: Any = None) -> None:
        if self.compile_s is None:  # a single-step run: the only step is the compile step
            self.sync()
            self.compile_s = time.perf_counter() - self._train_start

    def sync(self) -> None:
        """Synchronise the device; the native baselines override this."""
        synchronize(self.model)

    def _open_window(self, now: float) -> None:
        self._window_start = now
        self._window_steps = 0
        self._window_clean = True

    def record_fields(self) -> dict[str, Any]:
        """What a results record keeps of the timing: compile time, summary and the samples."""
        return {"compile_s": self.compile_s, "step_ms": self.summary(),
                "step_samples_ms": list(self.samples_ms)}

    def summary(self) -> dict[str, float | int | None]:
        """Median, p10, p90 ms/step over the windows, and their count."""
        if not self.samples_ms:
            return {"median": None, "p10": None, "p90": None, "n": 0, "window_steps": self.window}
        samples = np.asarray(self.samples_ms)
        return {
            "median": float(np.median(samples)),
            "p10": float(np.percentile(samples, 10)),
            "p90": float(np.percentile(samples, 90)),
            "n": int(samples.size),
            "window_steps": self.window,
        }
