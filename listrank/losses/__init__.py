"""The loss registry: every part of listrank and the harness gets losses here.

``get(name, **kwargs)`` returns a ready ``keras.losses.Loss``; ``names()``
lists the registered names. Losses keras-rs already has are taken from it;
the others live one per module in this package.
"""

from __future__ import annotations

import difflib
from typing import Any, Callable

import keras
import keras_rs

from listrank.losses.mse import MeanSquaredError

_REGISTRY: dict[str, Callable[..., keras.losses.Loss]] = {
    # pointwise
    "mse": MeanSquaredError,
    # pairwise (keras-rs)
    "pairwise_hinge": keras_rs.losses.PairwiseHingeLoss,
    "pairwise_logistic": keras_rs.losses.PairwiseLogisticLoss,
    "pairwise_soft_zero_one": keras_rs.losses.PairwiseSoftZeroOneLoss,
    "pairwise_mse": keras_rs.losses.PairwiseMeanSquaredError,
    # list-wise (keras-rs)
    "list_mle": keras_rs.losses.ListMLELoss,
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
