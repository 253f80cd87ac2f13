"""The native baseline in plain TensorFlow: one ``tf.function`` train step
(forward, loss, ``tf.GradientTape``, Adagrad on ``tf.Variable``s), compiled
with XLA when Keras' fit compiles with XLA too (``jit_compile``)."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from bench.native.common import ADAGRAD_EPSILON, ADAGRAD_INITIAL_ACCUMULATOR


def forward(params, user, movie):
    user_emb, movie_emb, k0, b0, k1, b1, k2, b2 = params
    movies = tf.gather(movie_emb, movie)  # (batch, list, dim)
    users = tf.broadcast_to(tf.gather(user_emb, user)[:, None, :], tf.shape(movies))
    x = tf.concat([users, movies], axis=-1)
    # One 2-D matmul over every item: tf.matmul of a 3-D by a 2-D tensor would
    # run a broadcasting BatchMatMul, about twice as slow on CPU.
    x = tf.reshape(x, (-1, x.shape[-1]))
    x = tf.nn.relu(tf.matmul(x, k0) + b0)
    x = tf.nn.relu(tf.matmul(x, k1) + b1)
    return tf.reshape(tf.matmul(x, k2) + b2, tf.shape(movie))


def mse(labels, scores):
    return tf.reduce_mean(tf.reduce_mean(tf.square(labels - scores), axis=-1))


def pairwise_hinge(labels, scores):
    pairs = tf.cast(labels[:, :, None] > labels[:, None, :], scores.dtype)
    hinge = tf.nn.relu(1.0 - (scores[:, :, None] - scores[:, None, :]))
    return tf.reduce_sum(pairs * hinge) / tf.cast(tf.size(labels), scores.dtype)


LOSS_FUNCTIONS = {"mse": mse, "pairwise_hinge": pairwise_hinge}


class Trainer:
    def __init__(self, params: list[np.ndarray], loss_name: str, learning_rate: float,
                 jit_compile: bool | None = None) -> None:
        if loss_name not in LOSS_FUNCTIONS:
            raise ValueError(f"no native {loss_name!r}; native losses: {', '.join(LOSS_FUNCTIONS)}")
        if jit_compile is None:
            jit_compile = keras_jit_compile()
        self.jit_compile = jit_compile
        self.params = [tf.Variable(p, dtype=tf.float32) for p in params]
        self.accumulators = [tf.Variable(tf.fill(p.shape, ADAGRAD_INITIAL_ACCUMULATOR)) for p in params]
        loss_fn = LOSS_FUNCTIONS[loss_name]
        lr = tf.constant(learning_rate, tf.float32)

        def train_step(user, movie, label):
            with tf.GradientTape() as tape:
                loss = loss_fn(label, forward(self.params, user, movie))
            grads = tape.gradient(loss, self.params)
            for p, a, g in zip(self.params, self.accumulators, grads):
                if isinstance(g, tf.IndexedSlices):
                    # The embeddings' sparse gradients, applied row by row as Keras'
                    # TensorFlow optimizer does (scatter_add / scatter_sub, no
                    # deduplication): a row gathered twice in a batch adds
                    # g1**2 + g2**2 to its accumulator, not (g1 + g2)**2.
                    a.scatter_add(tf.IndexedSlices(tf.square(g.values), g.indices))
                    denominator = tf.sqrt(tf.gather(a, g.indices) + ADAGRAD_EPSILON)
                    p.scatter_sub(tf.IndexedSlices(lr * g.values / denominator, g.indices))
                else:
                    a.assign_add(tf.square(g))
                    p.assign_sub(lr * g / tf.sqrt(a + ADAGRAD_EPSILON))
            return loss

        self._step = tf.function(train_step, jit_compile=jit_compile)
        self._loss = tf.function(lambda u, m, y: loss_fn(y, forward(self.params, u, m)))
        self._scores = tf.function(lambda u, m: forward(self.params, u, m))

    def step(self, user, movie, label):
        return self._step(tf.constant(user), tf.constant(movie), tf.constant(label))

    def loss(self, user, movie, label) -> float:
        return float(self._loss(tf.constant(user), tf.constant(movie), tf.constant(label)))

    def sync(self) -> None:
        tf.test.experimental.sync_devices()

    def scores(self, user, movie) -> np.ndarray:
        return self._scores(tf.constant(user), tf.constant(movie)).numpy()

    def weights(self) -> list[np.ndarray]:
        return [p.numpy().copy() for p in self.params]


def keras_jit_compile() -> bool:
    """Whether Keras' fit compiles the TensorFlow train step with XLA (jit_compile="auto")."""
    from listrank.model import RankingModel

    model = RankingModel(3, 3, embedding_dim=2)
    model.compile(optimizer="adagrad", loss="mse")
    return bool(model.jit_compile)
