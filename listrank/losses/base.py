"""Shared machinery of listrank's own losses: inputs, padding mask, reduction.

Conventions (the keras-rs ones): ``y_true`` is ``(batch, list_size)`` of
labels, or a dict ``{"labels": ..., "mask": ...}``; an item whose label is
negative (the keras-rs padding value -1) or whose mask is False is ignored.
``y_pred`` holds one score per item. Rank-1 inputs are one unbatched list.
A concrete loss overrides :meth:`ListLoss.compute` and returns one value per
list; Keras then applies the reduction (by default the mean over lists).
"""

from __future__ import annotations

import abc
from typing import Any

import keras
from keras import ops
from keras_rs.src.metrics.utils import standardize_call_inputs_ranks


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


def masked_mean(values: Any, mask: Any, axis: int = -1) -> Any:
    """Mean of ``values`` over the valid items; 0 for a list without any."""
    weights = ops.cast(mask, values.dtype)
    total = ops.sum(ops.where(mask, values, ops.zeros_like(values)), axis=axis)
    count = ops.sum(weights, axis=axis)
    return ops.divide(total, ops.maximum(count, ops.ones_like(count)))
