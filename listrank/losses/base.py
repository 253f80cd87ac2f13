"""Shared machinery of listrank's own losses: inputs, padding mask, reduction,
and the helpers several losses share (pairs, ranks, NDCG gains and discounts).

Conventions (the keras-rs ones): ``y_true`` is ``(batch, list_size)`` of
labels, or a dict ``{"labels": ..., "mask": ...}``; an item whose label is
negative (the keras-rs padding value -1) or whose mask is False is ignored.
``y_pred`` holds one score per item. Rank-1 inputs are one unbatched list.
A concrete loss overrides :meth:`ListLoss.compute` and returns one value per
list; Keras then applies the reduction (by default the mean over lists, so a
list that a loss weights 0 still counts in the denominator).

Every helper is written with ``keras.ops`` only and keeps gradients finite on
lists that are all tied, all padded or all zero-labelled: masked values are
replaced before any ``log``/``exp``/division rather than after.
"""

from __future__ import annotations

import abc
from typing import Any, Callable

import keras
from keras import ops
from keras_rs.src.metrics.utils import standardize_call_inputs_ranks

# Stands in for -inf on masked logits: exp() of it underflows to exactly 0 in
# float32 and float64 while its gradient stays finite.
LARGE_NEGATIVE = -1e9


class ListLoss(keras.losses.Loss, abc.ABC):
    """Base class: a loss with one value per list."""

    @abc.abstractmethod
    def compute(self, labels: Any, logits: Any, mask: Any) -> Any:
        """Per-list loss, shape ``(batch,)``. ``mask`` is True for valid items;
        ``labels`` and ``logits`` are ``(batch, list_size)`` floats."""

    def call(self, y_true: Any, y_pred: Any) -> Any:
        mask = None
        if isinstance(y_true, dict):
            if "labels" not in y_true:
                raise ValueError(f'y_true as a dict needs a "labels" key; got keys {sorted(y_true)}')
            mask = y_true.get("mask")
            y_true = y_true["labels"]
        y_pred = ops.convert_to_tensor(y_pred)
        y_true = ops.cast(ops.convert_to_tensor(y_true), y_pred.dtype)
        if mask is not None:
            mask = ops.convert_to_tensor(mask)
        y_true, y_pred, mask, _ = standardize_call_inputs_ranks(y_true, y_pred, mask)
        valid = ops.greater_equal(y_true, ops.cast(0.0, y_true.dtype))
        if mask is not None:
            valid = ops.logical_and(valid, ops.cast(mask, "bool"))
        return self.compute(y_true, y_pred, valid)


def check_positive(name: str, value: float) -> float:
    """``value`` as a float, or a ValueError naming ``name`` if it is not > 0."""
    if not value > 0:
        raise ValueError(f"{name} must be a positive number; got {value!r}")
    return float(value)


# --------------------------------------------------------------------------
# Masking and safe arithmetic


def masked_mean(values: Any, mask: Any, axis: int = -1) -> Any:
    """Mean of ``values`` over the valid items; 0 for a list without any."""
    weights = ops.cast(mask, values.dtype)
    total = ops.sum(ops.where(mask, values, ops.zeros_like(values)), axis=axis)
    count = ops.sum(weights, axis=axis)
    return ops.divide(total, ops.maximum(count, ops.ones_like(count)))


def divide_or_zero(numerator: Any, denominator: Any) -> Any:
    """``numerator / denominator`` where the denominator is > 0, else 0.

    Unlike ``ops.divide_no_nan`` the gradient is finite (0) where the
    denominator is 0, on every backend.
    """
    positive = ops.greater(denominator, ops.zeros_like(denominator))
    safe = ops.where(positive, denominator, ops.ones_like(denominator))
    return ops.where(positive, ops.divide(numerator, safe), ops.zeros_like(numerator))


def masked_log_softmax(logits: Any, mask: Any) -> Any:
    """Log-softmax over the valid items of each list (invalid items: very negative)."""
    logits = ops.where(mask, logits, ops.full_like(logits, LARGE_NEGATIVE))
    return ops.log_softmax(logits, axis=-1)


def normalize_labels(labels: Any, mask: Any) -> tuple[Any, Any]:
    """Labels divided by their sum over the valid items, and whether that sum is > 0.

    Returns ``(probabilities, has_relevant)``: a list whose valid labels are
    all 0 gets all-zero probabilities and ``has_relevant`` False.
    """
    labels = ops.where(mask, labels, ops.zeros_like(labels))
    total = ops.sum(labels, axis=-1, keepdims=True)
    return divide_or_zero(labels, total), ops.greater(ops.squeeze(total, -1), 0.0)


# --------------------------------------------------------------------------
# Pairs


def pairwise(values: Any, op: Callable[[Any, Any], Any]) -> Any:
    """``op(values_i, values_j)`` for every pair: ``(..., n)`` -> ``(..., n, n)``."""
    return op(ops.expand_dims(values, -1), ops.expand_dims(values, -2))


def valid_pairs(mask: Any) -> Any:
    """True where both items are valid and ``i != j``."""
    both = pairwise(mask, ops.logical_and)
    list_size = ops.shape(mask)[-1]
    return ops.logical_and(both, ops.logical_not(ops.cast(ops.eye(list_size), "bool")))


def ordered_pairs(labels: Any, mask: Any) -> Any:
    """True for the pairs of valid items with ``y_i > y_j`` (``i`` should rank above ``j``)."""
    return ops.logical_and(pairwise(labels, ops.greater), pairwise(mask, ops.logical_and))


# --------------------------------------------------------------------------
# Ranks and NDCG


def ranks(values: Any, mask: Any) -> Any:
    """1-based rank of each item when the valid items are sorted by ``values``, descending.

    Ties go to the item that comes first in the list (a stable sort); invalid
    items never push a valid one down. Computed from pairwise comparisons, so
    it needs no sort and is identical on every backend. No gradient flows
    through ranks.
    """
    values = ops.stop_gradient(values)
    list_size = ops.shape(values)[-1]
    position = ops.arange(list_size)
    earlier = ops.less(ops.expand_dims(position, 0), ops.expand_dims(position, 1))  # [i, j]: j < i
    # ahead[..., i, j]: item j is valid and sorts before item i.
    ahead = ops.logical_or(
        pairwise(values, ops.less),
        ops.logical_and(pairwise(values, ops.equal), earlier),
    )
    ahead = ops.logical_and(ahead, ops.expand_dims(mask, -2))
    return 1.0 + ops.sum(ops.cast(ahead, values.dtype), axis=-1)


def gains(labels: Any, mask: Any) -> Any:
    """NDCG gains ``2**y - 1`` of the valid items, 0 for invalid ones (the keras-rs default)."""
    labels = ops.where(mask, labels, ops.zeros_like(labels))
    return ops.where(mask, ops.power(2.0, labels) - 1.0, ops.zeros_like(labels))


def log2_discounts(ranks_: Any) -> Any:
    """Rank discounts ``1 / log2(1 + rank)`` (the keras-rs default)."""
    return ops.divide(1.0, ops.log2(1.0 + ranks_))


def ideal_dcg(labels: Any, mask: Any) -> Any:
    """DCG of the valid items sorted by label, per list; 0 for a list without gain."""
    return ops.sum(gains(labels, mask) * log2_discounts(ranks(labels, mask)), axis=-1)
