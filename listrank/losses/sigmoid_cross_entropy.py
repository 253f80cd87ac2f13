"""Pointwise sigmoid cross-entropy over the valid items of each list."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from listrank.losses.base import ListLoss, masked_mean


@keras.saving.register_keras_serializable(package="listrank")
class SigmoidCrossEntropy(ListLoss):
    """Pointwise binary cross-entropy with a soft target, averaged over valid items.

    ``loss = 1/|V| * sum_{i in V} -[y_i log sigma(s_i) + (1 - y_i) log(1 - sigma(s_i))]``

    computed stably as ``max(s, 0) - s*y + log(1 + exp(-|s|))``. Labels are
    used as soft targets and must lie in [0, 1] (listrank's ``(r - 1) / 4``
    labels do); they are not clipped. Each item counts once: the value is the
    mean over a list's valid items (rax ``pointwise_sigmoid_loss`` sums or
    averages over all items of the batch instead), 0 for a list without any.
    """

    def compute(self, labels: Any, logits: Any, mask: Any) -> Any:
        per_item = ops.relu(logits) - logits * labels + ops.log1p(ops.exp(-ops.abs(logits)))
        return masked_mean(per_item, mask)
