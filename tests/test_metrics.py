"""Metrics: the exact evaluator against ranx, brute-force tie expectations and
hand-worked values; the keras-rs metrics against the evaluator."""

from __future__ import annotations

import itertools
import math

import keras
import numpy as np
import pytest
from ranx import Qrels, Run
from ranx import evaluate as ranx_evaluate

from listrank.metrics import METRIC_NAMES, evaluate, evaluate_per_list, keras_metrics

KS = (1, 3, 5)


def random_lists(seed: int, lists: int = 40, size: int = 6):
    rng = np.random.default_rng(seed)
    ratings = rng.integers(0, 5, size=(lists, size))  # rating - 1
    scores = rng.normal(size=(lists, size))  # continuous: no ties
    return ratings, scores


def ranx_per_list(qrels: dict, scores: np.ndarray, metrics: list[str]) -> dict[str, np.ndarray]:
    ids = sorted(qrels)
    run = {q: {f"d{i}": float(s) for i, s in enumerate(scores[int(q[1:])])} for q in ids}
    return ranx_evaluate(Qrels(qrels), Run(run), metrics, return_mean=False, make_comparable=True)


def test_graded_metrics_match_ranx_burges():
    ratings, scores = random_lists(0)
    # Integer labels 0..4 (ranx needs ints); our gain 2**y - 1 is ranx's Burges gain.
    qrels = {f"q{row:03d}": {f"d{i}": int(r) for i, r in enumerate(ratings[row]) if r > 0} for row in range(len(ratings))}
    qrels = {q: docs for q, docs in qrels.items() if docs}
    rows = [int(q[1:]) for q in sorted(qrels)]
    ours = evaluate_per_list(ratings.astype(float), scores, KS)
    theirs = ranx_per_list(qrels, scores, [f"{m}_burges@{k}" for k in KS for m in ("ndcg", "dcg")])
    for k in KS:
        np.testing.assert_allclose(ours[f"ndcg@{k}"][rows], theirs[f"ndcg_burges@{k}"], rtol=1e-9)
        np.testing.assert_allclose(ours[f"dcg@{k}"][rows], theirs[f"dcg_burges@{k}"], rtol=1e-9)


def test_binary_metrics_match_ranx_at_the_threshold():
    ratings, scores = random_lists(1)
    ratings[0] = [0, 1, 2, 2, 1, 0]  # no rating >= 4
    labels = ratings / 4.0  # listrank labels; default threshold 0.75 = rating >= 4
    qrels = {f"q{row:03d}": {f"d{i}": 1 for i, r in enumerate(ratings[row]) if r >= 3} for row in range(len(ratings))}
    qrels = {q: docs for q, docs in qrels.items() if docs}
    rows = [int(q[1:]) for q in sorted(qrels)]
    assert 0 < len(rows) < len(ratings)  # both kinds of list occur
    ours = evaluate_per_list(labels, scores, KS)
    theirs = ranx_per_list(qrels, scores, [f"{m}@{k}" for k in KS for m in ("mrr", "map", "precision", "recall")])
    for name, values in theirs.items():
        np.testing.assert_allclose(ours[name][rows], values, rtol=1e-9, err_msg=name)
    no_relevant = [row for row in range(len(ratings)) if row not in rows]
    for metric in ("mrr", "map", "precision", "recall"):
        assert np.all(ours[f"{metric}@5"][no_relevant] == 0.0)


def test_hand_worked_list():
    # ratings 5, 3, 1, 4 -> labels 1, .5, 0, .75; ranking by score: items 1, 2, 3, 0
    labels = np.array([[1.0, 0.5, 0.0, 0.75]])
    scores = np.array([[0.1, 0.9, 0.5, 0.3]])
    got = evaluate(labels, scores, ks=(1, 3, 4))
    gain = lambda y: 2.0**y - 1.0
    disc = [1.0 / math.log2(p + 1) for p in range(1, 5)]
    dcg3 = gain(0.5) * disc[0] + 0 + gain(0.75) * disc[2]
    idcg3 = gain(1.0) * disc[0] + gain(0.75) * disc[1] + gain(0.5) * disc[2]
    assert got["dcg@3"] == pytest.approx(dcg3)
    assert got["ndcg@3"] == pytest.approx(dcg3 / idcg3)
    # relevant (>= 0.75): items 0 and 3, at positions 4 and 3
    assert got["mrr@1"] == 0.0 and got["mrr@3"] == pytest.approx(1 / 3) and got["mrr@4"] == pytest.approx(1 / 3)
    assert got["precision@3"] == pytest.approx(1 / 3) and got["recall@3"] == pytest.approx(1 / 2)
    assert got["map@3"] == pytest.approx((1 / 3) / 2) and got["map@4"] == pytest.approx((1 / 3 + 2 / 4) / 2)
    # the threshold is configurable: >= 0.5 adds item 1 at position 1
    assert evaluate(labels, scores, ks=(1,), relevance_threshold=0.5)["mrr@1"] == 1.0


def brute_force_expectation(labels, scores, k, threshold):
    """Mean of each metric over every order of the list, each sorted stably by score:
    exactly the expectation over uniformly random tie-breaking."""
    totals = dict.fromkeys(METRIC_NAMES, 0.0)
    orders = list(itertools.permutations(range(len(labels))))
    ideal = sorted(2.0**labels - 1.0, reverse=True)
    disc = 1.0 / np.log2(np.arange(2, len(labels) + 2))
    idcg = float(np.dot(ideal[:k], disc[:k]))
    relevant = labels >= threshold
    for order in orders:
        ranked = [order[i] for i in np.argsort(-scores[list(order)], kind="stable")][:k]
        hits = relevant[ranked]
        dcg = float(np.dot(2.0 ** labels[ranked] - 1.0, disc[: len(ranked)]))
        totals["dcg"] += dcg
        totals["ndcg"] += dcg / idcg if idcg else 0.0
        totals["precision"] += hits.sum() / min(k, len(labels))
        if relevant.any():
            totals["recall"] += hits.sum() / relevant.sum()
            totals["mrr"] += 1.0 / (np.argmax(hits) + 1) if hits.any() else 0.0
            totals["map"] += sum(hits[: p + 1].sum() / (p + 1) for p in range(len(hits)) if hits[p]) / relevant.sum()
    return {name: value / len(orders) for name, value in totals.items()}


@pytest.mark.parametrize("seed", range(6))
def test_ties_give_the_exact_expectation_over_random_order(seed):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 5, size=6) / 4.0
    scores = rng.integers(0, 3, size=6).astype(float)  # heavy ties
    for k in (1, 3, 5):
        got = evaluate(labels[None], scores[None], ks=(k,))
        expected = brute_force_expectation(labels, scores, k, 0.75)
        for name in METRIC_NAMES:
            assert got[f"{name}@{k}"] == pytest.approx(expected[name], abs=1e-12), f"{name}@{k}"


def test_padding_mask_and_empty_lists():
    ratings, scores = random_lists(2, lists=5)
    labels = ratings / 4.0
    padded = np.where(np.arange(6) < 4, labels, -1.0)
    masked = evaluate_per_list(labels, scores, mask=np.arange(6)[None] < 4)
    compact = evaluate_per_list(labels[:, :4], scores[:, :4])
    for name, values in compact.items():
        np.testing.assert_allclose(evaluate_per_list(padded, scores)[name], values)
        np.testing.assert_allclose(masked[name], values)
    padded[0] = -1.0  # a list with nothing valid: NaN per list, left out of the mean
    per_list = evaluate_per_list(padded, scores)
    assert np.isnan(per_list["ndcg@5"][0])
    assert evaluate(padded, scores)["ndcg@5"] == pytest.approx(per_list["ndcg@5"][1:].mean())


def test_keras_rs_metrics_agree_with_the_evaluator_without_ties():
    ratings, scores = random_lists(3, lists=30)
    labels = (ratings / 4.0).astype(np.float32)
    labels[:5, -1] = -1.0  # some padding
    scores = scores.astype(np.float32)
    metrics = keras_metrics(KS)
    assert [m.name for m in metrics] == [f"{n}@{k}" for k in KS for n in METRIC_NAMES]
    expected = evaluate(labels, scores, KS)
    for metric in metrics:
        metric.update_state(labels, scores)
        assert float(metric.result()) == pytest.approx(expected[metric.name], rel=1e-5), metric.name
    restored = keras.metrics.deserialize(keras.metrics.serialize(metrics[2]))
    assert restored.get_config() == metrics[2].get_config()


def test_keras_rs_ndcg_tie_handling_is_random_and_backend_dependent():
    # keras-rs sorts through a random permutation whenever a mask is passed, and
    # update_state always passes one, so shuffle_ties=False does not stop the
    # shuffling, except on PyTorch, where keras-rs first offsets scores by
    # position (ties then go to the earlier item). Our evaluator returns the
    # expectation over random tie-breaking on every backend.
    labels = np.array([[1.0, 0.0, 0.0, 0.0]], np.float32)
    scores = np.zeros((1, 4), np.float32)

    def draws(shuffle_ties: bool) -> set[float]:
        values = set()
        for seed in range(20):
            metric = keras_metrics((1,), seed=seed)[0]
            metric.shuffle_ties = shuffle_ties
            metric.update_state(labels, scores)
            values.add(round(float(metric.result()), 6))
        return values

    assert draws(shuffle_ties=True) == {0.0, 1.0}
    unshuffled = {1.0} if keras.backend.backend() == "torch" else {0.0, 1.0}
    assert draws(shuffle_ties=False) == unshuffled
    assert evaluate(labels, scores, ks=(1,))["ndcg@1"] == pytest.approx(0.25)
