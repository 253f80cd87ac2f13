"""Native baselines: the listrank model, losses and optimiser hand-written in
plain JAX (``jax.jit``), plain PyTorch and plain TensorFlow (``tf.function``).

They exist to give the Keras numbers a yardstick measured on the same machine,
in the same process, with the same data, batches, timer and synchronisation:
``bench run`` reports the Keras/native step-time ratio per backend, and the CI
performance gate (``python -m bench gate``) fails when that ratio regresses.

Same math as the Keras path, checked by tests/test_native.py:

- model: user and movie embeddings (``embedding_dim``), the user's repeated
  over the list and concatenated with each movie's, then Dense 256-ReLU,
  Dense 64-ReLU, Dense 1; initialised like Keras' defaults (embeddings
  uniform in [-0.05, 0.05], kernels Glorot-uniform, biases zero);
- losses (:data:`LOSSES`): ``mse`` (listrank's MeanSquaredError: mean over
  lists of the mean squared error over the list) and ``pairwise_hinge``
  (keras-rs PairwiseHingeLoss: ``sum_{y_i > y_j} max(0, 1 - (s_i - s_j))``
  per list, divided by ``batch * list_size`` as Keras' default
  ``sum_over_batch_size`` reduction does);
- optimiser: Keras' Adagrad: accumulator starts at 0.1, ``acc += g**2``,
  ``w -= lr * g / sqrt(acc + 1e-7)``;
- data: the same :class:`listrank.data.Lists`, one fresh permutation per
  epoch, batches of ``batch_size`` with a smaller last batch, as ``fit(...,
  shuffle=True)``.

Import :func:`trainer` only after the Keras backend is chosen; it returns the
module for the current backend.
"""

from __future__ import annotations

LOSSES = ("mse", "pairwise_hinge")


def supports(loss_name: str) -> bool:
    return loss_name in LOSSES


def trainer(backend: str):
    """The native-baseline module of ``backend`` (jax, tensorflow or torch)."""
    if backend == "jax":
        from bench.native import jax_native as module
    elif backend == "tensorflow":
        from bench.native import tensorflow_native as module
    elif backend == "torch":
        from bench.native import torch_native as module
    else:
        raise ValueError(f"no native baseline for backend {backend!r}; choose jax, tensorflow or torch")
    return module
