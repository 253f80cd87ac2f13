"""NeuralNDCG: NDCG computed through a NeuralSort relaxation of the sort."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from listrank.losses.base import (
    LARGE_NEGATIVE,
    ListLoss,
    check_positive,
    divide_or_zero,
    gains,
    ideal_dcg,
    log2_discounts,
    pairwise,
)

# Smallest row/column sum Sinkhorn divides by (guards against underflow).
_SINKHORN_FLOOR = 1e-30


@keras.saving.register_keras_serializable(package="listrank")
class NeuralNDCGLoss(ListLoss):
    """Negative NeuralNDCG (Pobrotyn & Bialobrzeski 2021, "NeuralNDCG: Direct
    Optimisation of a Ranking Metric via Differentiable Relaxation of Sorting").

    Over the ``n`` valid items, NeuralSort (Grover et al. 2019) relaxes the
    permutation matrix that sorts the scores: row ``k = 1..n`` (a rank) is

    ``P[k, :] = softmax_j(((n + 1 - 2k) * s_j - sum_{l in V} |s_j - s_l|) / temperature)``

    then ``sinkhorn_iterations`` rounds of Sinkhorn scaling (columns, then
    rows, normalised to sum 1, as in allRank) make it nearly doubly
    stochastic. With
    gains ``G = 2**y - 1`` and discounts ``D(k) = 1 / log2(1 + k)``:

    ``loss = -1/IDCG * sum_{k=1..n} D(k) * sum_{j in V} P[k, j] * G_j``

    Conventions: the loss is ``-NeuralNDCG`` over the whole list (no top-k
    cutoff); padded items are left out of ``n``, of the sums and of the
    softmax, so a padded list scores exactly like the same list without its
    padding (the reference allRank code instead sorts padded items last); a
    fixed number of Sinkhorn rounds replaces allRank's stopping tolerance so
    that every backend runs the same computation. A list without any positive
    label, or without valid items, has loss 0.
    """

    def __init__(self, temperature: float = 1.0, sinkhorn_iterations: int = 50, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.temperature = check_positive("temperature", temperature)
        if int(sinkhorn_iterations) < 0:
            raise ValueError(f"sinkhorn_iterations must be >= 0; got {sinkhorn_iterations!r}")
        self.sinkhorn_iterations = int(sinkhorn_iterations)

    def compute(self, labels: Any, logits: Any, mask: Any) -> Any:
        sort_matrix = self.relaxed_sort(logits, mask)
        sorted_gains = ops.sum(sort_matrix * ops.expand_dims(gains(labels, mask), -2), axis=-1)
        positions = ops.cast(ops.arange(1, ops.shape(logits)[-1] + 1), logits.dtype)
        dcg = ops.sum(sorted_gains * log2_discounts(positions), axis=-1)
        return -divide_or_zero(dcg, ideal_dcg(labels, mask))

    def relaxed_sort(self, logits: Any, mask: Any) -> Any:
        """``(batch, rank, item)`` NeuralSort matrix after Sinkhorn scaling; 0 outside
        the valid ranks (``1..n``) and items."""
        weights = ops.cast(mask, logits.dtype)
        count = ops.sum(weights, axis=-1, keepdims=True)  # n, (batch, 1)
        logits = ops.where(mask, logits, ops.zeros_like(logits))
        spread = ops.sum(ops.abs(pairwise(logits, ops.subtract)) * ops.expand_dims(weights, -2), axis=-1)
        rank = ops.cast(ops.arange(1, ops.shape(logits)[-1] + 1), logits.dtype)  # (list,)
        scale = ops.expand_dims(count + 1.0 - 2.0 * rank, -1)  # (batch, rank, 1)
        relaxed = (scale * ops.expand_dims(logits, -2) - ops.expand_dims(spread, -2)) / self.temperature
        valid_rank = ops.less_equal(ops.expand_dims(rank, 0), count)  # (batch, rank)
        cells = ops.logical_and(ops.expand_dims(valid_rank, -1), ops.expand_dims(mask, -2))
        relaxed = ops.where(cells, relaxed, ops.full_like(relaxed, LARGE_NEGATIVE))
        matrix = ops.where(cells, ops.softmax(relaxed, axis=-1), ops.zeros_like(relaxed))
        valid_columns = ops.expand_dims(mask, -2)
        valid_rows = ops.expand_dims(valid_rank, -1)

        def sinkhorn_round(_: Any, matrix: Any) -> Any:
            matrix = matrix / _sinkhorn_divisor(ops.sum(matrix, axis=-2, keepdims=True), valid_columns)
            return matrix / _sinkhorn_divisor(ops.sum(matrix, axis=-1, keepdims=True), valid_rows)

        return ops.fori_loop(0, self.sinkhorn_iterations, sinkhorn_round, matrix)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "temperature": self.temperature,
            "sinkhorn_iterations": self.sinkhorn_iterations,
        }


def _sinkhorn_divisor(sums: Any, valid: Any) -> Any:
    """Row or column sums to divide by: 1 for the empty (padded) ones, so their
    zeros stay zero with a gradient of 1 rather than 1 / floor."""
    return ops.maximum(ops.where(valid, sums, ops.ones_like(sums)), _SINKHORN_FLOOR)
