"""keras-rs's pairwise logistic (RankNet) loss with a gradient that is right at ties."""

from __future__ import annotations

from typing import Any

import keras
import keras_rs
from keras import ops


@keras.saving.register_keras_serializable(package="listrank")
class PairwiseLogisticLoss(keras_rs.losses.PairwiseLogisticLoss):
    """RankNet (Burges et al. 2005): ``sum_{i, j in V: y_i > y_j} log(1 + exp(-(s_i - s_j) / temperature))``.

    Everything (pairs, masking, temperature, per-item sums; see
    :mod:`listrank.losses`) is keras-rs's ``PairwiseLogisticLoss``; only the
    pair loss is computed as ``softplus(-x)``. keras-rs writes it as
    ``relu(-x) + log(1 + exp(-|x|))``, whose gradient at ``x = 0`` (tied
    scores) is 0 on TensorFlow and PyTorch instead of the true -1/2, so
    lists with tied scores would get no gradient there but would on JAX.
    """

    def pairwise_loss(self, pairwise_logits: Any) -> Any:
        return ops.softplus(ops.negative(pairwise_logits))
