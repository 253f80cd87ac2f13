"""pytest-benchmark: one synchronised train step, Keras against the native baseline.

Each round is one full training step on one batch of 1024 lists of 5 (forward,
loss, backward, Adagrad update) that returns only when the device is done:
Keras' ``train_on_batch`` (which converts the loss to a Python float, a host
sync) and the native trainer's ``step`` followed by its ``sync``. Pedantic
mode with explicit warm-up rounds, so tracing and compilation never reach the
calibration or the statistics. The batch is synthetic (random ids and
labels, seeded): step time does not depend on the values, and no MovieLens
data is needed.

This times single synchronous steps, a stricter quantity than ``bench run``'s
windows of asynchronously dispatched ``fit`` steps; see bench/METHOD.md for
saving a baseline and ``--benchmark-compare-fail``.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest

from bench import machine
from bench.native import LOSSES, common, trainer
from listrank import losses
from listrank.model import RankingModel

NUM_USERS, NUM_MOVIES, BATCH, LIST_SIZE = 944, 1683, 1024, 5
ROUNDS, WARMUP_ROUNDS = 30, 5


@pytest.fixture(scope="module")
def batch():
    rng = np.random.default_rng(0)
    user = rng.integers(1, NUM_USERS, BATCH).astype(np.int32)
    movie = rng.integers(1, NUM_MOVIES, (BATCH, LIST_SIZE)).astype(np.int32)
    label = ((rng.integers(1, 6, (BATCH, LIST_SIZE)) - 1) / 4).astype(np.float32)
    return user, movie, label


def keras_step(loss_name, batch):
    user, movie, label = batch
    keras.utils.set_random_seed(0)
    model = RankingModel(NUM_USERS, NUM_MOVIES)
    model.compile(optimizer=keras.optimizers.Adagrad(learning_rate=0.1), loss=losses.get(loss_name))
    inputs = {"user_id": user, "movie_id": movie}
    return lambda: model.train_on_batch(inputs, label)


def native_step(backend, loss_name, batch):
    user, movie, label = batch
    native = trainer(backend).Trainer(common.initial_params(NUM_USERS, NUM_MOVIES, 32, 0), loss_name, 0.1)

    def step():
        native.step(user, movie, label)
        native.sync()

    return step


@pytest.mark.parametrize("loss_name", LOSSES)
@pytest.mark.parametrize("impl", ["keras", "native"])
def test_train_step(benchmark, backend, impl, loss_name, batch):
    step = keras_step(loss_name, batch) if impl == "keras" else native_step(backend, loss_name, batch)
    benchmark.group = f"{backend} {loss_name}"
    benchmark.extra_info.update(
        backend=backend, impl=impl, loss=loss_name, batch_size=BATCH, list_size=LIST_SIZE,
        versions=machine.versions(backend),
        threads={k: v for k, v in machine.machine(backend)["threads"].items()},
    )
    benchmark.pedantic(step, rounds=ROUNDS, iterations=1, warmup_rounds=WARMUP_ROUNDS)
