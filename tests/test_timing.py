"""The step timer: which steps it times, and that its synchronisation waits."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from bench.timing import StepTimer, synchronize
from listrank import losses
from listrank.model import RankingModel


def _fit(num_lists, batch, epochs, window, extra_callbacks=()):
    rng = np.random.default_rng(0)
    inputs = {"user_id": rng.integers(1, 20, num_lists).astype("int32"),
              "movie_id": rng.integers(1, 50, (num_lists, 5)).astype("int32")}
    labels = rng.integers(0, 5, (num_lists, 5)).astype("float32") / 4
    model = RankingModel(20, 50, embedding_dim=4, hidden_units=(8,))
    model.compile(optimizer=keras.optimizers.Adagrad(0.1), loss=losses.get("mse"))
    steps = -(-num_lists // batch)
    timer = StepTimer(steps, num_lists % batch != 0, window=window)
    model.fit(inputs, labels, batch_size=batch, epochs=epochs, verbose=0, shuffle=True,
              callbacks=[timer, *extra_callbacks])
    return timer


def test_windows_exclude_the_compile_step_and_partial_batches():
    # 100 lists, batch 16: 7 steps per epoch, the 7th holds 4 lists. 3 epochs = global
    # steps 0..20; windows of 2 from step 1: [1,2] [3,4] ... [17,18] close (9 windows);
    # partial steps are 6, 13, 20, so [5,6] and [13,14] are dropped: 7 samples.
    timer = _fit(100, 16, 3, 2)
    assert timer.compile_s is not None and timer.compile_s > 0
    summary = timer.summary()
    assert summary["n"] == 7 == len(timer.samples_ms)
    assert summary["window_steps"] == 2
    assert all(s > 0 for s in timer.samples_ms)
    assert summary["p10"] <= summary["median"] <= summary["p90"]
    # The summary is exactly what a report recomputes from the saved samples.
    assert all(s == round(s, 4) for s in timer.samples_ms)
    assert summary["median"] == float(np.median(timer.samples_ms))


def test_full_batches_keep_every_window():
    # 96 lists, batch 16: 6 full steps per epoch; 2 epochs = steps 0..11; windows of 3
    # from step 1: [1..3] [4..6] [7..9] close, [10, 11] never does.
    assert _fit(96, 16, 2, 3).summary()["n"] == 3


def test_single_step_run_reports_compile_time_only():
    timer = _fit(10, 16, 1, 5)
    assert timer.compile_s > 0 and timer.summary()["n"] == 0


def test_timer_does_not_force_a_sync_per_step():
    # Overriding on_train_batch_end makes Keras pythonify every step's logs.
    assert StepTimer.on_train_batch_end is keras.callbacks.Callback.on_train_batch_end
    assert StepTimer.on_batch_end is keras.callbacks.Callback.on_batch_end


class _ReadyProbe(keras.callbacks.Callback):
    """After synchronize(), every array of the JAX trainer's live state must be ready."""

    def __init__(self):
        super().__init__()
        self.checked = 0

    def on_train_batch_begin(self, batch, logs=None):
        state = getattr(self.model, "_jax_state", None)
        if not state:
            return
        synchronize(self.model)
        arrays = [a for group in state.values() for a in (group or [])]
        assert arrays and all(a.is_ready() for a in arrays)
        self.checked += 1


def test_jax_synchronize_waits_for_the_live_training_state(backend):
    if backend != "jax":
        pytest.skip("the JAX trainer's asynchronous state is JAX-only")
    probe = _ReadyProbe()
    _fit(200, 16, 1, 2, extra_callbacks=[probe])
    assert probe.checked >= 10
