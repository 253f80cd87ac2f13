"""Loss values and gradients w.r.t. the scores on the running backend.

Backend-specific code is allowed in tests only: the library never branches
on the backend, so each backend's own autodiff is what these tests compare.
"""

from __future__ import annotations

from typing import Any, Callable

import keras
import numpy as np


def per_list_value_and_grad(
    loss: keras.losses.Loss, labels: np.ndarray, scores: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """``(per-list loss, d sum(per-list loss) / d scores)`` as float64 numpy arrays.

    ``loss`` must be built with ``reduction=None``; a per-item result (the
    keras-rs pairwise losses) is summed over the list.
    """

    def per_list(s: Any) -> Any:
        values = loss(labels, s)
        if len(values.shape) == 2:
            values = keras.ops.sum(values, axis=-1)
        return values

    values, grad = _value_and_grad(lambda s: keras.ops.sum(per_list(s)), per_list, scores)
    return np.asarray(values, np.float64), np.asarray(grad, np.float64)


def _value_and_grad(total: Callable, per_list: Callable, scores: np.ndarray) -> tuple[Any, Any]:
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        summed_with_values = lambda s: (total(s), per_list(s))
        (_, values), grad = jax.jit(jax.value_and_grad(summed_with_values, has_aux=True))(scores)
        return np.asarray(values), np.asarray(grad)
    if backend == "tensorflow":
        import tensorflow as tf

        variable = tf.Variable(scores)
        with tf.GradientTape() as tape:
            values = per_list(variable)
            summed = tf.reduce_sum(values)
        return values.numpy(), tape.gradient(summed, variable).numpy()
    if backend == "torch":
        import torch

        tensor = torch.tensor(scores, requires_grad=True)
        values = per_list(tensor)
        values.sum().backward()
        return values.detach().cpu().numpy(), tensor.grad.cpu().numpy()
    raise NotImplementedError(f"no gradient helper for backend {backend!r}")
