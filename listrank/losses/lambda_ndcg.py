"""LambdaRank-style NDCG loss: pairwise logistic weighted by |delta NDCG|."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from listrank.losses.base import (
    ListLoss,
    divide_or_zero,
    gains,
    ideal_dcg,
    log2_discounts,
    ordered_pairs,
    pairwise,
    ranks,
)


@keras.saving.register_keras_serializable(package="listrank")
class LambdaNDCGLoss(ListLoss):
    """Pairwise logistic loss weighted by the NDCG change of swapping each pair.

    ``loss = sum_{i, j in V: y_i > y_j} |dNDCG_ij| * log(1 + exp(-(s_i - s_j)))``

    ``|dNDCG_ij| = |G_i - G_j| * |D(r_i) - D(r_j)| / IDCG``

    with gains ``G = 2**y - 1``, discounts ``D(r) = 1 / log2(1 + r)``, ``r``
    the current rank of each item by score and ``IDCG`` the ideal DCG. This is
    the LambdaRank weighting (Burges 2010, "From RankNet to LambdaRank to
    LambdaMART: An Overview") of the RankNet loss, which LambdaLoss (Wang et
    al. 2018, "The LambdaLoss Framework for Ranking Metric Optimization")
    shows to be a bound on NDCG.

    Conventions: each ordered pair counts once and pairs are summed, not
    averaged, per list; tied labels form no pair. Ranks come from the scores
    with ties broken by list position (stable) and carry no gradient. The
    weights are rax's ``dcg_lambdaweight(normalize=True)`` without its extra
    factor of ``list_size``. A list without any positive label has loss 0.
    """

    def compute(self, labels: Any, logits: Any, mask: Any) -> Any:
        item_gains = gains(labels, mask)
        discounts = log2_discounts(ranks(logits, mask))
        swap_change = ops.abs(pairwise(item_gains, ops.subtract)) * ops.abs(
            pairwise(discounts, ops.subtract)
        )
        idcg = ops.expand_dims(ops.expand_dims(ideal_dcg(labels, mask), -1), -1)
        weights = ops.stop_gradient(divide_or_zero(swap_change, idcg))
        logistic = ops.softplus(-pairwise(logits, ops.subtract))
        pairs = ordered_pairs(labels, mask)
        return ops.sum(ops.where(pairs, weights * logistic, ops.zeros_like(logistic)), axis=(-2, -1))
