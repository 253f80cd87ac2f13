"""ApproxNDCG: NDCG with ranks replaced by a smooth sigmoid approximation."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from listrank.losses.base import (
    ListLoss,
    check_positive,
    divide_or_zero,
    gains,
    ideal_dcg,
    log2_discounts,
    pairwise,
    valid_pairs,
)


@keras.saving.register_keras_serializable(package="listrank")
class ApproxNDCGLoss(ListLoss):
    """Negative ApproxNDCG (Qin, Liu & Li 2010, "A general approximation framework
    for direct optimization of information retrieval measures").

    ``rank_i ~= 1 + sum_{j in V, j != i} sigmoid((s_j - s_i) / temperature)``

    ``loss = -1/IDCG * sum_{i in V} (2**y_i - 1) / log2(1 + rank_i)``

    with ``IDCG`` the DCG of the valid items sorted by label (keras-rs NDCG's
    gain and discount). Smaller temperatures approach the true ranks.

    Conventions: the loss is ``-NDCG`` (in [-1, 0]), as in rax's
    ``approx_t12n(ndcg_metric)`` and TF-Ranking's ``ApproxNDCGLoss``; a list
    without any positive label (IDCG = 0), or without valid items, has loss 0
    and no gradient. Padded items take part in no rank.
    """

    def __init__(self, temperature: float = 1.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.temperature = check_positive("temperature", temperature)

    def compute(self, labels: Any, logits: Any, mask: Any) -> Any:
        beaten_by = ops.sigmoid(pairwise(logits, lambda s_i, s_j: s_j - s_i) / self.temperature)
        beaten_by = ops.where(valid_pairs(mask), beaten_by, ops.zeros_like(beaten_by))
        approx_ranks = 1.0 + ops.sum(beaten_by, axis=-1)
        dcg = ops.sum(gains(labels, mask) * log2_discounts(approx_ranks), axis=-1)
        return -divide_or_zero(dcg, ideal_dcg(labels, mask))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "temperature": self.temperature}
