"""Pointwise mean squared error over the valid items of each list."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from listrank.losses.base import ListLoss, masked_mean


@keras.saving.register_keras_serializable(package="listrank")
class MeanSquaredError(ListLoss):
    """Pointwise squared error, averaged over each list's valid items.

    ``loss = 1/|V| * sum_{i in V} (y_i - s_i)^2`` with ``V`` the valid
    (unpadded, unmasked) items; a list with no valid item contributes 0.
    Without padding this equals ``keras.losses.MeanSquaredError``.
    """

    def compute(self, labels: Any, logits: Any, mask: Any) -> Any:
        return masked_mean(ops.square(labels - logits), mask)
