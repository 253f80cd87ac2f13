"""Poly-1 softmax loss: softmax cross-entropy plus a first-order polynomial term."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from listrank.losses.softmax import SoftmaxLoss


@keras.saving.register_keras_serializable(package="listrank")
class Poly1SoftmaxLoss(SoftmaxLoss):
    """Softmax cross-entropy plus ``epsilon * (1 - p_t)`` (Leng et al. 2022, "PolyLoss").

    ``loss = CE + epsilon * (1 - p_t)``,
    ``p_t = sum_{i in V} p_i * exp(s_i) / sum_{j in V} exp(s_j)``

    where ``CE`` is :class:`SoftmaxLoss` (labels normalised per list to
    ``p_i = y_i / sum_j y_j``) and ``p_t`` the probability the softmax puts on
    the target distribution. ``epsilon = 0`` is the softmax loss.

    Conventions: both terms use the normalised labels (rax's
    ``poly1_softmax_loss`` normalises them only inside ``p_t`` and weights its
    cross-entropy by the raw labels); a list whose valid labels are all 0 has
    loss 0, like :class:`SoftmaxLoss`.
    """

    def __init__(self, epsilon: float = 1.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.epsilon = float(epsilon)

    def compute(self, labels: Any, logits: Any, mask: Any) -> Any:
        cross_entropy, targets, log_probs = self.cross_entropy(labels, logits, mask)
        probs = ops.where(mask, ops.exp(log_probs), ops.zeros_like(log_probs))
        target_probability = ops.sum(targets * probs, axis=-1)
        has_relevant = ops.greater(ops.sum(targets, axis=-1), 0.0)
        poly_term = ops.where(has_relevant, 1.0 - target_probability, ops.zeros_like(cross_entropy))
        return cross_entropy + self.epsilon * poly_term

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "epsilon": self.epsilon}
