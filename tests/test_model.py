"""The ranking model: shapes, serialisation, and the rank helper."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from listrank.model import RankingModel, rank


def _inputs(batch, list_size, users=10, movies=30, seed=0):
    rng = np.random.default_rng(seed)
    return {"user_id": rng.integers(1, users, size=batch).astype("int32"),
            "movie_id": rng.integers(1, movies, size=(batch, list_size)).astype("int32")}


@pytest.mark.parametrize("list_size", [5, 20])
def test_one_score_per_item(list_size):
    model = RankingModel(num_users=10, num_movies=30)
    scores = keras.ops.convert_to_numpy(model(_inputs(4, list_size)))
    assert scores.shape == (4, list_size)
    assert np.all(np.isfinite(scores))


def test_same_model_scores_lists_of_any_size():
    model = RankingModel(num_users=10, num_movies=30)
    inputs = _inputs(3, 20)
    full = keras.ops.convert_to_numpy(model(inputs))
    head = keras.ops.convert_to_numpy(model({"user_id": inputs["user_id"], "movie_id": inputs["movie_id"][:, :5]}))
    np.testing.assert_allclose(head, full[:, :5], rtol=1e-5, atol=1e-6)


def test_layer_sizes_follow_the_example():
    model = RankingModel(num_users=944, num_movies=1683)
    model(_inputs(2, 5, users=944, movies=1683))
    shapes = sorted(tuple(v.shape) for v in model.trainable_variables)
    assert shapes == sorted([(944, 32), (1683, 32), (64, 256), (256,), (256, 64), (64,), (64, 1), (1,)])


def test_config_round_trip_and_saving(tmp_path):
    model = RankingModel(num_users=10, num_movies=30, embedding_dim=8, hidden_units=(16, 4))
    inputs = _inputs(2, 5)
    expected = keras.ops.convert_to_numpy(model(inputs))
    clone = RankingModel.from_config(model.get_config())
    assert (clone.num_users, clone.num_movies, clone.embedding_dim, clone.hidden_units) == (10, 30, 8, (16, 4))
    path = tmp_path / "model.keras"
    model.save(path)
    restored = keras.saving.load_model(path)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(restored(inputs)), expected, rtol=1e-6)


def test_rank_sorts_best_first_with_titles():
    model = RankingModel(num_users=10, num_movies=30)
    movies = [3, 7, 11, 19, 23]
    scores = keras.ops.convert_to_numpy(model({"user_id": np.array([4]), "movie_id": np.array([movies])}))[0]
    titles = {m: f"Movie {m}" for m in movies}
    ranked = rank(model, 4, movies, titles)
    assert [m for m, _, _ in ranked] == [movies[i] for i in np.argsort(-scores)]
    assert [s for _, _, s in ranked] == sorted(scores.tolist(), reverse=True)
    assert ranked[0][1] == f"Movie {ranked[0][0]}"


def test_rank_rejects_empty_list():
    with pytest.raises(ValueError, match="non-empty"):
        rank(RankingModel(num_users=10, num_movies=30), 1, [])
