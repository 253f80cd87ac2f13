"""Softmax cross-entropy over each list (ListNet's top-one loss)."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from listrank.losses.base import ListLoss, masked_log_softmax, normalize_labels


@keras.saving.register_keras_serializable(package="listrank")
class SoftmaxLoss(ListLoss):
    """Cross-entropy between the label distribution and the softmax of the scores.

    ``loss = -sum_{i in V} p_i * log(exp(s_i) / sum_{j in V} exp(s_j))``,
    ``p_i = y_i / sum_{j in V} y_j``

    over the valid items ``V``: the ListNet top-one loss (Cao et al. 2007,
    "Learning to Rank: From Pairwise Approach to Listwise Approach") in the
    form TF-Ranking's ``SoftmaxLoss`` and rax's ``softmax_loss`` compute.

    Conventions: labels are normalised per list to sum to 1 (rax leaves them
    as they are unless given ``label_fn=normalize_probabilities``); a list
    whose valid labels are all 0 (or that has no valid item) has loss 0 and no
    gradient, as TF-Ranking weights such lists 0 (rax would use a uniform
    target there instead).
    """

    def compute(self, labels: Any, logits: Any, mask: Any) -> Any:
        return self.cross_entropy(labels, logits, mask)[0]

    @staticmethod
    def cross_entropy(labels: Any, logits: Any, mask: Any) -> tuple[Any, Any, Any]:
        """``(per-list cross-entropy, target probabilities, log-softmax)``."""
        targets, has_relevant = normalize_labels(labels, mask)
        log_probs = masked_log_softmax(logits, mask)
        terms = ops.where(mask, targets * log_probs, ops.zeros_like(log_probs))
        loss = -ops.sum(terms, axis=-1)
        return ops.where(has_relevant, loss, ops.zeros_like(loss)), targets, log_probs
