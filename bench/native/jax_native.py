"""The native baseline in plain JAX: one ``jax.jit``-compiled train step
(forward, loss, ``jax.grad``, Adagrad), parameters and accumulators donated."""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from bench.native.common import ADAGRAD_EPSILON, ADAGRAD_INITIAL_ACCUMULATOR


def forward(params, user, movie):
    user_emb, movie_emb, k0, b0, k1, b1, k2, b2 = params
    movies = jnp.take(movie_emb, movie, axis=0)  # (batch, list, dim)
    users = jnp.broadcast_to(jnp.take(user_emb, user, axis=0)[:, None, :], movies.shape)
    x = jnp.concatenate([users, movies], axis=-1)
    x = jax.nn.relu(x @ k0 + b0)
    x = jax.nn.relu(x @ k1 + b1)
    return (x @ k2 + b2)[..., 0]


def mse(labels, scores):
    return jnp.mean(jnp.mean(jnp.square(labels - scores), axis=-1))


def pairwise_hinge(labels, scores):
    pairs = (labels[:, :, None] > labels[:, None, :]).astype(scores.dtype)
    hinge = jax.nn.relu(1.0 - (scores[:, :, None] - scores[:, None, :]))
    return jnp.sum(pairs * hinge) / labels.size


LOSS_FUNCTIONS = {"mse": mse, "pairwise_hinge": pairwise_hinge}


def loss_value(params, user, movie, label, loss_name):
    return LOSS_FUNCTIONS[loss_name](label, forward(params, user, movie))


@partial(jax.jit, static_argnames=("loss_name",), donate_argnums=(0, 1))
def train_step(params, accumulators, user, movie, label, learning_rate, loss_name):
    loss, grads = jax.value_and_grad(loss_value)(params, user, movie, label, loss_name)
    accumulators = [a + jnp.square(g) for a, g in zip(accumulators, grads)]
    params = [p - learning_rate * g / jnp.sqrt(a + ADAGRAD_EPSILON)
              for p, g, a in zip(params, grads, accumulators)]
    return params, accumulators, loss


_scores = jax.jit(forward)


class Trainer:
    def __init__(self, params: list[np.ndarray], loss_name: str, learning_rate: float) -> None:
        if loss_name not in LOSS_FUNCTIONS:
            raise ValueError(f"no native {loss_name!r}; native losses: {', '.join(LOSS_FUNCTIONS)}")
        self.params = [jnp.asarray(p) for p in params]
        self.accumulators = [jnp.full(p.shape, ADAGRAD_INITIAL_ACCUMULATOR, jnp.float32) for p in params]
        self.loss_name = loss_name
        self.learning_rate = jnp.float32(learning_rate)

    def step(self, user, movie, label):
        self.params, self.accumulators, loss = train_step(
            self.params, self.accumulators, user, movie, label, self.learning_rate, self.loss_name)
        return loss

    def loss(self, user, movie, label) -> float:
        return float(loss_value(self.params, user, movie, label, self.loss_name))

    def sync(self) -> None:
        for array in self.params:
            array.block_until_ready()

    def scores(self, user, movie) -> np.ndarray:
        return np.asarray(_scores(self.params, user, movie))

    def weights(self) -> list[np.ndarray]:
        return [np.asarray(p) for p in self.params]
