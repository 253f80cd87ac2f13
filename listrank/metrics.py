"""Ranking metrics: keras-rs metric objects for training, and an exact numpy evaluator.

Metrics, each at cutoffs ``k`` (default 1, 3, 5), over the valid items of a
list (label >= 0 and, if given, mask True):

- ``dcg@k  = sum_{p=1..k} (2**y_(p) - 1) / log2(1 + p)``, ``y_(p)`` the label
  at position ``p`` of the ranking by score (keras-rs NDCG/DCG defaults);
- ``ndcg@k = dcg@k / idcg@k``, ``idcg@k`` the dcg@k of the list sorted by
  label; 0 for a list with no positive label;
- binary metrics, with ``relevant = label >= relevance_threshold``
  (default 0.75: rating >= 4 on listrank's ``(rating - 1) / 4`` labels):
  ``precision@k = hits@k / min(k, n)`` (``n`` valid items, as keras-rs),
  ``recall@k = hits@k / R`` (``R`` relevant items in the list),
  ``mrr@k = 1 / position of the first relevant item if within k, else 0``,
  ``map@k = 1/R * sum_{p<=k, relevant} precision@p`` (keras-rs and ranx
  divide by ``R``, not ``min(k, R)``); all four are 0 for a list with R = 0.

The mean over lists weights every list equally, including lists without a
relevant item, as keras-rs does with unit sample weights; lists without any
valid item are left out.

Ties. :func:`evaluate` gives the exact expectation of each metric over a
uniformly random order of tied scores (McSherry & Najork 2008, "Computing
information retrieval performance measures efficiently in the presence of
tied scores"), so its numbers never depend on item order or on a random
seed. The keras-rs metrics from :func:`keras_metrics` instead shuffle tied
scores at random on every update (keras-rs sorts through a random
permutation whenever a mask is passed, and its ``update_state`` always
passes one), so with ties they give one random draw of that expectation;
without ties both agree.

keras-rs counts an item as relevant for MRR, MAP, precision and recall when
its label is >= 1, which on ``(rating - 1) / 4`` labels would mean rating 5
only; :func:`keras_metrics` therefore binarises the labels at
``relevance_threshold`` before those four metrics see them.
"""

from __future__ import annotations

from math import comb
from typing import Any, Sequence

import keras
import keras_rs
import numpy as np
from keras import ops

DEFAULT_KS = (1, 3, 5)
DEFAULT_RELEVANCE_THRESHOLD = 0.75  # rating >= 4 with labels (rating - 1) / 4
METRIC_NAMES = ("ndcg", "dcg", "mrr", "map", "precision", "recall")


# --------------------------------------------------------------------------
# keras-rs metrics for model.compile / model.evaluate


class _BinarizedLabels:
    """Mixin for a keras-rs binary metric: relevant means label >= threshold."""

    def __init__(self, relevance_threshold: float = DEFAULT_RELEVANCE_THRESHOLD, **kwargs: Any):
        super().__init__(**kwargs)
        self.relevance_threshold = float(relevance_threshold)

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        if isinstance(y_true, dict):
            y_true = {**y_true, "labels": self._binarize(y_true["labels"])}
        else:
            y_true = self._binarize(y_true)
        super().update_state(y_true, y_pred, sample_weight=sample_weight)

    def _binarize(self, labels: Any) -> Any:
        labels = ops.cast(ops.convert_to_tensor(labels), self.dtype)
        relevant = ops.cast(ops.greater_equal(labels, self.relevance_threshold), labels.dtype)
        # Negative labels mark padding; keep them so keras-rs still ignores those items.
        return ops.where(ops.less(labels, 0.0), labels, relevant)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "relevance_threshold": self.relevance_threshold}


@keras.saving.register_keras_serializable(package="listrank")
class MeanReciprocalRank(_BinarizedLabels, keras_rs.metrics.MeanReciprocalRank):
    """keras-rs MRR with relevance ``label >= relevance_threshold``."""


@keras.saving.register_keras_serializable(package="listrank")
class MeanAveragePrecision(_BinarizedLabels, keras_rs.metrics.MeanAveragePrecision):
    """keras-rs MAP with relevance ``label >= relevance_threshold``."""


@keras.saving.register_keras_serializable(package="listrank")
class PrecisionAtK(_BinarizedLabels, keras_rs.metrics.PrecisionAtK):
    """keras-rs Precision@k with relevance ``label >= relevance_threshold``."""


@keras.saving.register_keras_serializable(package="listrank")
class RecallAtK(_BinarizedLabels, keras_rs.metrics.RecallAtK):
    """keras-rs Recall@k with relevance ``label >= relevance_threshold``."""


def keras_metrics(
    ks: Sequence[int] = DEFAULT_KS,
    relevance_threshold: float = DEFAULT_RELEVANCE_THRESHOLD,
    seed: int | None = 0,
) -> list[keras.metrics.Metric]:
    """keras-rs metrics NDCG, DCG, MRR, MAP, Precision, Recall at each ``k``, named
    like ``"ndcg@5"``. ``seed`` seeds keras-rs' random tie-breaking."""
    binary = {
        "mrr": MeanReciprocalRank,
        "map": MeanAveragePrecision,
        "precision": PrecisionAtK,
        "recall": RecallAtK,
    }
    metrics: list[keras.metrics.Metric] = []
    for k in ks:
        metrics.append(keras_rs.metrics.NDCG(k=k, seed=seed, name=f"ndcg@{k}"))
        metrics.append(keras_rs.metrics.DCG(k=k, seed=seed, name=f"dcg@{k}"))
        for name, cls in binary.items():
            metrics.append(
                cls(k=k, seed=seed, relevance_threshold=relevance_threshold, name=f"{name}@{k}")
            )
    return metrics


# --------------------------------------------------------------------------
# Exact numpy evaluator


def evaluate(
    labels: Any,
    scores: Any,
    ks: Sequence[int] = DEFAULT_KS,
    relevance_threshold: float = DEFAULT_RELEVANCE_THRESHOLD,
    mask: Any = None,
) -> dict[str, float]:
    """Mean over lists of ``"ndcg@k"``, ``"dcg@k"``, ``"mrr@k"``, ``"map@k"``,
    ``"precision@k"``, ``"recall@k"`` for every ``k`` (exact under ties; see the
    module docstring). ``labels`` and ``scores`` are ``(lists, list_size)``;
    items with a negative label or a False ``mask`` are ignored."""
    per_list = evaluate_per_list(labels, scores, ks, relevance_threshold, mask)
    return {name: float(np.nanmean(values)) for name, values in per_list.items()}


def evaluate_per_list(
    labels: Any,
    scores: Any,
    ks: Sequence[int] = DEFAULT_KS,
    relevance_threshold: float = DEFAULT_RELEVANCE_THRESHOLD,
    mask: Any = None,
) -> dict[str, np.ndarray]:
    """Like :func:`evaluate`, one value per list (for paired comparisons).

    A list without any valid item gets NaN for every metric.
    """
    labels = np.asarray(labels, dtype=np.float64)
    scores = np.asarray(scores, dtype=np.float64)
    if labels.ndim == 1:
        labels, scores = labels[None], scores[None]
        mask = None if mask is None else np.asarray(mask)[None]
    if labels.shape != scores.shape or labels.ndim != 2:
        raise ValueError(
            f"labels and scores must both be (lists, list_size); got {labels.shape} and {scores.shape}"
        )
    ks = tuple(int(k) for k in ks)
    if not ks or min(ks) < 1:
        raise ValueError(f"every k must be a positive integer; got {ks}")
    valid = labels >= 0
    if mask is not None:
        valid &= np.broadcast_to(np.asarray(mask, dtype=bool), labels.shape)
    if not valid.any():
        raise ValueError("no list has a valid item (label >= 0 and mask True)")
    names = [f"{metric}@{k}" for k in ks for metric in METRIC_NAMES]
    result = {name: np.full(len(labels), np.nan) for name in names}
    for row in range(len(labels)):
        if valid[row].any():
            values = list_metrics(labels[row][valid[row]], scores[row][valid[row]], ks, relevance_threshold)
            for name in names:
                result[name][row] = values[name]
    return result


def list_metrics(
    labels: np.ndarray, scores: np.ndarray, ks: Sequence[int], relevance_threshold: float
) -> dict[str, float]:
    """Every metric at every ``k`` for one list of valid items, in expectation over
    random tie-breaking."""
    groups = tie_groups(scores)
    gain = np.power(2.0, labels) - 1.0
    relevant = (labels >= relevance_threshold).astype(np.float64)
    expected_gain = expected_by_position(gain, groups)
    expected_relevant = expected_by_position(relevant, groups)
    discounts = 1.0 / np.log2(np.arange(2, len(labels) + 2))
    ideal_gain = np.sort(gain)[::-1]
    first_hit = first_relevant_probabilities(relevant, groups)
    both_relevant = joint_relevance(relevant, groups, expected_relevant)
    num_relevant = relevant.sum()
    values = {}
    for k in ks:
        top = slice(0, min(k, len(labels)))
        dcg = float(np.sum(expected_gain[top] * discounts[top]))
        idcg = float(np.sum(ideal_gain[top] * discounts[top]))
        hits = float(np.sum(expected_relevant[top]))
        values[f"dcg@{k}"] = dcg
        values[f"ndcg@{k}"] = dcg / idcg if idcg > 0 else 0.0
        values[f"precision@{k}"] = hits / min(k, len(labels))
        if num_relevant == 0:
            values.update({f"recall@{k}": 0.0, f"mrr@{k}": 0.0, f"map@{k}": 0.0})
            continue
        positions = np.arange(1, len(labels) + 1)[top]
        values[f"recall@{k}"] = hits / num_relevant
        values[f"mrr@{k}"] = float(np.sum(first_hit[top] / positions))
        # E[rel_p * hits up to p] = sum_{q <= p} E[rel_p rel_q].
        hits_with_p = np.tril(both_relevant).sum(axis=1)[top]
        values[f"map@{k}"] = float(np.sum(hits_with_p / positions)) / num_relevant
    return values


def tie_groups(scores: np.ndarray) -> list[np.ndarray]:
    """Item indices grouped by equal score, groups in descending score order."""
    distinct, group_of_item = np.unique(-scores, return_inverse=True)
    return [np.flatnonzero(group_of_item == g) for g in range(len(distinct))]


def expected_by_position(values: np.ndarray, groups: list[np.ndarray]) -> np.ndarray:
    """``E[value of the item at each position]``: a tie group's positions all get
    the group's mean."""
    return np.concatenate([np.full(len(items), values[items].mean()) for items in groups])


def first_relevant_probabilities(relevant: np.ndarray, groups: list[np.ndarray]) -> np.ndarray:
    """``P(the first relevant item is at each position)``.

    In the first tie group holding any relevant item (``m`` items, ``r``
    relevant), the first relevant one is at offset ``t`` with probability
    ``C(m - 1 - t, r - 1) / C(m, r)``.
    """
    probabilities = np.zeros(len(relevant))
    start = 0
    for items in groups:
        m, r = len(items), int(relevant[items].sum())
        if r:
            for t in range(m - r + 1):
                probabilities[start + t] = comb(m - 1 - t, r - 1) / comb(m, r)
            break
        start += m
    return probabilities


def joint_relevance(
    relevant: np.ndarray, groups: list[np.ndarray], expected_relevant: np.ndarray
) -> np.ndarray:
    """``E[rel_p * rel_q]`` for every pair of positions.

    Positions in different tie groups are independent; two distinct positions
    in one group of ``m`` items with ``r`` relevant are both relevant with
    probability ``r (r - 1) / (m (m - 1))``; on the diagonal it is ``E[rel_p]``.
    """
    joint = np.outer(expected_relevant, expected_relevant)
    start = 0
    for items in groups:
        m, r = len(items), relevant[items].sum()
        block = slice(start, start + m)
        joint[block, block] = r * (r - 1) / (m * (m - 1)) if m > 1 else 0.0
        start += m
    np.fill_diagonal(joint, expected_relevant)
    return joint
