"""The native baselines compute what the Keras model computes: same loss and
same updated weights from the same weights and batch, and the same test
NDCG@5 after a short real-data training run."""

from __future__ import annotations

import math

import keras
import numpy as np
import pytest

from bench import native
from bench.native import common
from listrank import losses
from listrank.model import RankingModel

LIST_SIZE = 5


@pytest.fixture(scope="module")
def batch():
    rng = np.random.default_rng(0)
    user = rng.integers(1, 20, 64).astype(np.int32)
    movie = rng.integers(1, 30, (64, LIST_SIZE)).astype(np.int32)
    label = ((rng.integers(1, 6, (64, LIST_SIZE)) - 1) / 4).astype(np.float32)
    return user, movie, label


def keras_model(params, loss_name):
    model = RankingModel(20, 30)
    model.build({"user_id": (None,), "movie_id": (None, LIST_SIZE)})
    common.set_keras_params(model, params)
    model.compile(optimizer=keras.optimizers.Adagrad(learning_rate=0.1), loss=losses.get(loss_name))
    return model


@pytest.mark.parametrize("loss_name", native.LOSSES)
def test_same_weights_same_batch_same_loss_and_update(backend, batch, loss_name):
    user, movie, label = batch
    params = common.initial_params(20, 30, 32, seed=1)
    model = keras_model(params, loss_name)
    trainer = native.trainer(backend).Trainer(params, loss_name, 0.1)
    inputs = {"user_id": user, "movie_id": movie}
    keras_loss = float(keras.ops.convert_to_numpy(losses.get(loss_name)(label, model(inputs))))
    assert trainer.loss(user, movie, label) == pytest.approx(keras_loss, rel=1e-6)
    for _ in range(3):  # the accumulators matter from the second step on
        model.train_on_batch(inputs, label)
        trainer.step(user, movie, label)
    trainer.sync()
    for name, k, n in zip(common.PARAM_NAMES, common.keras_params(model), trainer.weights()):
        assert k.shape == n.shape, name
        np.testing.assert_allclose(n, k, rtol=1e-4, atol=1e-5, err_msg=name)
    moved = np.abs(trainer.weights()[2] - params[2]).max()
    assert moved > 1e-4  # the steps did change the weights


def test_initial_params_follow_the_keras_defaults():
    params = common.initial_params(943 + 1, 1682 + 1, 32, seed=0)
    model = RankingModel(944, 1683)
    model.build({"user_id": (None,), "movie_id": (None, LIST_SIZE)})
    for name, ours, theirs in zip(common.PARAM_NAMES, params, common.keras_params(model)):
        assert ours.shape == theirs.shape and ours.dtype == theirs.dtype == np.float32, name
        if name.endswith("bias"):
            assert not ours.any() and not theirs.any(), name
        else:
            # same uniform range: the extremes of a large uniform sample agree closely
            assert np.abs(ours).max() == pytest.approx(np.abs(theirs).max(), rel=0.05), name
            assert abs(ours.mean()) < 0.1 * np.abs(ours).max()


def test_epoch_batches_cover_every_list_once_with_a_smaller_last_batch():
    batches = list(common.epoch_batches(2500, 1024, np.random.default_rng(0)))
    assert [len(b) for b in batches] == [1024, 1024, 452]
    assert sorted(np.concatenate(batches).tolist()) == list(range(2500))


@pytest.mark.realdata
def test_native_reaches_the_keras_test_ndcg(ml100k_dir, backend):
    """One epoch of each, two seeds: the mean test NDCG@5 of native and Keras
    agree within 0.006, well inside the 0.85-0.95 range a loss moves it and
    about two seed-to-seed standard deviations after one epoch."""
    from bench.run import RunConfig, run_one
    from listrank import data as ml

    data = ml.load_movielens(ml100k_dir)
    config = RunConfig(backend=backend, losses=native.LOSSES, seeds=(42, 43), epochs=1, native=False)
    for loss_name in native.LOSSES:
        keras_ndcg, native_ndcg = [], []
        for seed in config.seeds:
            splits = ml.build_lists(data, seed=seed)
            k = run_one(config, data, splits, loss_name, seed)
            n = common.run_native(config, splits, data.num_users, data.num_movies, loss_name, seed)
            assert k["status"] == n["status"] == "ok", (k["error"], n["error"])
            keras_ndcg.append(k["test"]["ndcg@5"])
            native_ndcg.append(n["test"]["ndcg@5"])
            assert n["impl"] == "native" and n["step_ms"]["n"] == k["step_ms"]["n"] == 9
            assert len(n["test_per_list"]["ndcg@5"]) == len(splits.test)
            assert math.isclose(n["test"]["ndcg@5"], np.mean(n["test_per_list"]["ndcg@5"]), abs_tol=1e-5)
            assert n["epoch_loss"][0] == pytest.approx(k["epoch_loss"][0], rel=0.05)
        print(loss_name, keras_ndcg, native_ndcg)
        assert np.mean(native_ndcg) == pytest.approx(np.mean(keras_ndcg), abs=0.006), loss_name
