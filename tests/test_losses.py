"""Loss behaviour: registry, serialisation, degenerate lists, padding, hand-worked
values, the keras-rs conventions we keep, and a short training run per loss."""

from __future__ import annotations

import math

import keras
import numpy as np
import pytest

import listrank.losses
from listrank.data import build_lists, load_movielens
from listrank.metrics import evaluate
from listrank.model import RankingModel
from tests.autodiff import per_list_value_and_grad

NAMES = listrank.losses.names()
NDCG_LIKE = ("softmax", "poly1_softmax", "approx_ndcg", "lambda_ndcg", "neural_ndcg")


def per_list(name: str, labels, scores, **kwargs) -> np.ndarray:
    values, _ = per_list_value_and_grad(
        listrank.losses.get(name, reduction=None, **kwargs),
        np.asarray(labels, np.float32),
        np.asarray(scores, np.float32),
    )
    return values


def test_registry_holds_the_twelve_losses():
    assert sorted(NAMES) == sorted(
        [
            "mse", "sigmoid_cross_entropy", "pairwise_hinge", "pairwise_logistic",
            "pairwise_soft_zero_one", "pairwise_mse", "list_mle", "softmax",
            "poly1_softmax", "approx_ndcg", "lambda_ndcg", "neural_ndcg",
        ]
    )
    with pytest.raises(listrank.losses.UnknownLossError, match="approx_ndcg"):
        listrank.losses.get("aprox_ndcg")


@pytest.mark.parametrize(
    "name,kwargs",
    [(name, {}) for name in NAMES]
    + [("poly1_softmax", {"epsilon": 2.5}), ("approx_ndcg", {"temperature": 0.3}),
       ("neural_ndcg", {"temperature": 0.3, "sinkhorn_iterations": 7})],
)
def test_serialisation_round_trips(name, kwargs):
    loss = listrank.losses.get(name, **kwargs)
    restored = keras.losses.deserialize(keras.losses.serialize(loss))
    assert type(restored) is type(loss)
    assert restored.get_config() == loss.get_config()
    for key, value in kwargs.items():
        assert restored.get_config()[key] == value
    labels = np.array([[1.0, 0.5, 0.0, -1.0]], np.float32)
    scores = np.array([[0.2, 0.9, -0.4, 3.0]], np.float32)
    np.testing.assert_allclose(float(restored(labels, scores)), float(loss(labels, scores)), rtol=1e-6)


@pytest.mark.parametrize("name", ["approx_ndcg", "neural_ndcg", "poly1_softmax"])
def test_bad_arguments_are_refused_or_kept(name):
    if name == "poly1_softmax":  # any epsilon is allowed; 0 is the softmax loss
        labels, scores = [[1.0, 0.25, 0.0]], [[0.1, 0.4, -0.3]]
        np.testing.assert_allclose(per_list(name, labels, scores, epsilon=0.0), per_list("softmax", labels, scores))
        return
    with pytest.raises(ValueError, match="temperature"):
        listrank.losses.get(name, temperature=0.0)


@pytest.mark.parametrize("name", NAMES)
def test_degenerate_lists_have_finite_gradients(name):
    labels = np.array(
        [
            [0.5, 0.5, 0.5, 0.5],  # all labels tied, all scores tied
            [-1.0, -1.0, -1.0, -1.0],  # nothing valid
            [0.0, 0.0, 0.0, 0.0],  # no relevant item
            [1.0, 0.0, 0.25, -1.0],  # ordinary, for scale
        ],
        np.float32,
    )
    scores = np.array([[0.7] * 4, [0.1, -2.0, 5.0, 0.3], [1.0, -1.0, 0.5, 0.0], [0.2, 0.1, -0.3, 9.0]], np.float32)
    values, grads = per_list_value_and_grad(listrank.losses.get(name, reduction=None), labels, scores)
    assert np.all(np.isfinite(values)) and np.all(np.isfinite(grads))
    assert values[1] == 0.0 and np.all(grads[1] == 0.0)
    if name in NDCG_LIKE:  # lists without a relevant item carry no signal
        assert values[2] == 0.0 and np.all(grads[2] == 0.0)


@pytest.mark.parametrize("name", NAMES)
def test_padding_and_mask_are_ignored(name):
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 5, size=(1, 5)).astype(np.float32) / 4
    scores = rng.normal(size=(1, 5)).astype(np.float32)
    padded_labels = np.insert(labels, [1, 4], -1.0, axis=1)
    padded_scores = np.insert(scores, [1, 4], 7.0, axis=1)
    compact = per_list(name, labels, scores)
    np.testing.assert_allclose(per_list(name, padded_labels, padded_scores), compact, rtol=1e-5)
    mask = padded_labels >= 0
    loss = listrank.losses.get(name, reduction=None)
    masked = np.asarray(loss({"labels": np.where(mask, padded_labels, 0.5), "mask": mask}, padded_scores))
    np.testing.assert_allclose(masked.reshape(1, -1).sum(axis=1), compact, rtol=1e-5)


# Hand-worked values on y = [1, 0], s = [0, 0] unless stated.
LOG2 = math.log(2.0)
DISCOUNT_2 = 1.0 / math.log2(3.0)


@pytest.mark.parametrize(
    "name,labels,scores,kwargs,expected",
    [
        ("sigmoid_cross_entropy", [1.0, 0.0], [0.0, 0.0], {}, LOG2),
        ("softmax", [1.0, 0.0], [0.0, 0.0], {}, LOG2),
        # labels normalised: target [1/2, 1/2, 0], softmax 1/3 each
        ("softmax", [1.0, 1.0, 0.0], [0.0, 0.0, 0.0], {}, math.log(3.0)),
        ("poly1_softmax", [1.0, 0.0], [0.0, 0.0], {"epsilon": 1.0}, LOG2 + 0.5),
        # approximate ranks 1 + sigmoid(0) = 1.5 for both; IDCG = 1
        ("approx_ndcg", [1.0, 0.0], [0.0, 0.0], {}, -1.0 / math.log2(2.5)),
        # |dNDCG| = (1 - 0) * (1 - 1/log2 3) / 1, times log(1 + e^0)
        ("lambda_ndcg", [1.0, 0.0], [0.0, 0.0], {}, (1.0 - DISCOUNT_2) * LOG2),
        # the relaxed sort is uniform: each rank holds half the gain
        ("neural_ndcg", [1.0, 0.0], [0.0, 0.0], {}, -(0.5 + 0.5 * DISCOUNT_2)),
        ("list_mle", [1.0, 0.0], [0.0, 0.0], {}, LOG2),
        # ListMLE ties broken by position: item 0 is taken as first
        ("list_mle", [0.5, 0.5], [1.0, 0.0], {}, math.log1p(math.exp(-1.0))),
        # keras-rs pairwise MSE: ((1 - 0) - 0)^2 for both ordered pairs, though its
        # docstring's I(y_i > y_j) (s_i - s_j)^2 would give 0
        ("pairwise_mse", [1.0, 0.0], [0.0, 0.0], {}, 2.0),
        # pairs (0,1): 1 - 0; (0,2): 1 - (0 - 2); (2,1): max(0, 1 - 2)
        ("pairwise_hinge", [1.0, 0.0, 0.5], [0.0, 0.0, 2.0], {}, 1.0 + 3.0 + 0.0),
    ],
)
def test_hand_worked_values(name, labels, scores, kwargs, expected):
    np.testing.assert_allclose(per_list(name, [labels], [scores], **kwargs), [expected], rtol=1e-6)


def test_keras_rs_pairwise_losses_average_over_list_slots():
    # Default reduction: pair sum / (batch * list_size), padded slots included.
    labels = np.array([[1.0, 0.0, 0.5, -1.0]], np.float32)
    scores = np.array([[0.0, 0.0, 2.0, 0.0]], np.float32)
    # pair sum 4 (see test_hand_worked_values), over 4 slots of which one is padding
    assert float(listrank.losses.get("pairwise_hinge")(labels, scores)) == pytest.approx(4.0 / 4)


@pytest.mark.parametrize("name", ["approx_ndcg", "neural_ndcg"])
def test_low_temperature_approaches_true_ndcg(name):
    rng = np.random.default_rng(5)
    labels = rng.integers(0, 5, size=(6, 5)).astype(np.float32) / 4
    labels[:, 0] = 1.0  # every list has a relevant item
    scores = rng.normal(size=(6, 5)).astype(np.float32)
    true_ndcg = evaluate(labels, scores, ks=(5,))["ndcg@5"]
    relaxed = per_list(name, labels, scores, temperature=0.01).mean()
    assert relaxed == pytest.approx(-true_ndcg, abs=2e-3)
    assert per_list(name, labels, scores, temperature=1.0).mean() > relaxed + 1e-3  # and it differs


# ---------------------------------------------------------------------------
# A short training run per loss on real MovieLens 100K lists


@pytest.fixture(scope="module")
def train_batch(ml100k_dir):
    data = load_movielens(ml100k_dir)
    lists = build_lists(data, protocol="seed", seed=42, list_size=5).train
    take = slice(0, 256)
    inputs = {"user_id": lists.user_id[take], "movie_id": lists.movie_id[take]}
    return data, inputs, lists.label[take]


@pytest.mark.realdata
@pytest.mark.parametrize("name", NAMES)
def test_a_few_training_steps_lower_the_loss(name, train_batch):
    data, inputs, labels = train_batch
    model = RankingModel(data.num_users, data.num_movies, embedding_dim=16, hidden_units=(32,))
    model.compile(optimizer=keras.optimizers.Adagrad(0.1), loss=listrank.losses.get(name))
    before = float(model.test_on_batch(inputs, labels))
    for _ in range(15):
        model.train_on_batch(inputs, labels)
    after = float(model.test_on_batch(inputs, labels))
    assert np.isfinite(after) and after < before
