"""The Keras-RS list-wise ranking example's scorer, in backend-neutral Keras 3."""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import keras
import numpy as np
from keras import ops


@keras.saving.register_keras_serializable(package="listrank")
class RankingModel(keras.Model):
    """Scores every movie of a user's list.

    User and movie embeddings (``embedding_dim`` each); the user's embedding is
    repeated over the list and concatenated with each movie's; an MLP
    (``hidden_units``, ReLU, then one linear unit) gives one score per item.
    Inputs: ``{"user_id": (batch,), "movie_id": (batch, list_size)}``, any list
    size. Output: scores of shape ``(batch, list_size)``.
    """

    def __init__(
        self,
        num_users: int,
        num_movies: int,
        embedding_dim: int = 32,
        hidden_units: Sequence[int] = (256, 64),
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.num_users = int(num_users)
        self.num_movies = int(num_movies)
        self.embedding_dim = int(embedding_dim)
        self.hidden_units = tuple(int(units) for units in hidden_units)
        self.user_embedding = keras.layers.Embedding(self.num_users, self.embedding_dim)
        self.movie_embedding = keras.layers.Embedding(self.num_movies, self.embedding_dim)
        # Plain layers rather than a keras.Sequential: same weights and math, but
        # Sequential's graph walk costs ~1 ms of Python per step on eager PyTorch.
        self.hidden_layers = [keras.layers.Dense(units, activation="relu") for units in self.hidden_units]
        self.output_layer = keras.layers.Dense(1)

    @property
    def dense_layers(self) -> list[keras.layers.Dense]:
        """The scorer's layers, input to output."""
        return [*self.hidden_layers, self.output_layer]

    def build(self, input_shape: Mapping[str, tuple]) -> None:
        self.user_embedding.build(input_shape["user_id"])
        self.movie_embedding.build(input_shape["movie_id"])
        shape = tuple(input_shape["movie_id"]) + (2 * self.embedding_dim,)
        for layer in self.hidden_layers:
            layer.build(shape)
            shape = shape[:-1] + (layer.units,)
        self.output_layer.build(shape)
        self.built = True

    def call(self, inputs: Mapping[str, Any]) -> Any:
        movie_id = inputs["movie_id"]
        users = self.user_embedding(inputs["user_id"])  # (batch, dim)
        movies = self.movie_embedding(movie_id)  # (batch, list, dim)
        users = ops.repeat(ops.expand_dims(users, axis=1), ops.shape(movie_id)[-1], axis=1)
        hidden = ops.concatenate([users, movies], axis=-1)
        for layer in self.hidden_layers:
            hidden = layer(hidden)
        return ops.squeeze(self.output_layer(hidden), axis=-1)

    def compute_output_shape(self, input_shape: Mapping[str, tuple]) -> tuple:
        return tuple(input_shape["movie_id"])

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            num_users=self.num_users,
            num_movies=self.num_movies,
            embedding_dim=self.embedding_dim,
            hidden_units=list(self.hidden_units),
        )
        return config


def rank(
    model: keras.Model,
    user_id: int,
    movie_ids: Sequence[int],
    titles: Mapping[int, str] | None = None,
) -> list[tuple[int, str, float]]:
    """A user's movies best first: ``[(movie id, title, score), ...]``.

    Sorted by descending score (the example sorts ascending, listing the worst
    movie first); ties keep the given order.
    """
    movies = np.asarray(movie_ids, dtype=np.int32)
    if movies.ndim != 1 or len(movies) == 0:
        raise ValueError("movie_ids must be a non-empty sequence of movie ids")
    inputs = {"user_id": np.array([user_id], dtype=np.int32), "movie_id": movies[None, :]}
    scores = ops.convert_to_numpy(model(inputs, training=False))[0]
    order = np.argsort(-scores, kind="stable")
    titles = titles or {}
    return [(int(movies[i]), titles.get(int(movies[i]), ""), float(scores[i])) for i in order]
