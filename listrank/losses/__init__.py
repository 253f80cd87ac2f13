"""The loss registry: every part of listrank and the harness gets losses here.

``get(name, **kwargs)`` returns a ready ``keras.losses.Loss``; ``names()``
lists the registered names. Losses keras-rs already has are taken from it;
the others live one per module in this package.

Conventions of the keras-rs losses, kept as they are (tests pin each one):

- Pairwise losses (``pairwise_*``) return, for each item ``i``, the sum over
  its pairs ``j``; Keras' default reduction then averages over
  ``batch * list_size`` entries, so a list contributes
  ``sum_{pairs} loss_ij / list_size`` (padded slots count in ``list_size``).
  Pairs are ordered pairs of valid items with ``y_i > y_j``; tied labels form
  no pair. ``temperature`` divides the score differences.
- ``pairwise_mse`` computes ``((y_i - y_j) - (s_i - s_j))**2`` over *all*
  ordered pairs of distinct valid items (each unordered pair twice), not the
  ``I(y_i > y_j) * (s_i - s_j)**2`` its docstring states.
- ``pairwise_logistic`` is keras-rs's class with its pair loss computed as
  ``softplus(-x)``: keras-rs's ``relu(-x) + log(1 + exp(-|x|))`` has a zero
  gradient at tied scores on TensorFlow and PyTorch (-1/2 is right).
- ``list_mle`` sorts items by label and breaks label ties by list position
  (the item first in the list is taken as ranked higher), deterministically.
"""

from __future__ import annotations

import difflib
from typing import Any, Callable

import keras
import keras_rs

from listrank.losses.approx_ndcg import ApproxNDCGLoss
from listrank.losses.lambda_ndcg import LambdaNDCGLoss
from listrank.losses.mse import MeanSquaredError
from listrank.losses.neural_ndcg import NeuralNDCGLoss
from listrank.losses.pairwise_logistic import PairwiseLogisticLoss
from listrank.losses.poly1_softmax import Poly1SoftmaxLoss
from listrank.losses.sigmoid_cross_entropy import SigmoidCrossEntropy
from listrank.losses.softmax import SoftmaxLoss

_REGISTRY: dict[str, Callable[..., keras.losses.Loss]] = {
    # pointwise
    "mse": MeanSquaredError,
    "sigmoid_cross_entropy": SigmoidCrossEntropy,
    # pairwise (keras-rs)
    "pairwise_hinge": keras_rs.losses.PairwiseHingeLoss,
    "pairwise_logistic": PairwiseLogisticLoss,  # keras-rs's, gradient fixed at ties
    "pairwise_soft_zero_one": keras_rs.losses.PairwiseSoftZeroOneLoss,
    "pairwise_mse": keras_rs.losses.PairwiseMeanSquaredError,
    # list-wise (keras-rs)
    "list_mle": keras_rs.losses.ListMLELoss,
    # list-wise (listrank)
    "softmax": SoftmaxLoss,
    "poly1_softmax": Poly1SoftmaxLoss,
    "approx_ndcg": ApproxNDCGLoss,
    "lambda_ndcg": LambdaNDCGLoss,
    "neural_ndcg": NeuralNDCGLoss,
}


class UnknownLossError(ValueError):
    """A loss name that is not registered."""


def names() -> list[str]:
    """The registered loss names, in registry order."""
    return list(_REGISTRY)


def get(name: str, **kwargs: Any) -> keras.losses.Loss:
    """A new instance of the loss registered as ``name``."""
    try:
        factory = _REGISTRY[name]
    except KeyError:
        close = difflib.get_close_matches(name, _REGISTRY, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise UnknownLossError(
            f"unknown loss {name!r}{hint}; choose from: {', '.join(_REGISTRY)}"
        ) from None
    return factory(**kwargs)
