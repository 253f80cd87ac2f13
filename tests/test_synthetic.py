"""listrank.synthetic: seeded, MovieLens-shaped, streamed, learnable, in the real loader's format."""

from __future__ import annotations

import tracemalloc

import keras
import numpy as np
import pytest

from listrank import data as ml
from listrank import synthetic
from listrank.metrics import evaluate
from listrank.model import RankingModel

SMALL = synthetic.SyntheticSpec(users=300, items=400, ratings_per_user=60, min_ratings_per_user=20,
                                seed=3, block_users=64)


def test_same_seed_same_data_and_blocks_do_not_depend_on_reading_order():
    first = list(synthetic.stream(SMALL))
    again = list(synthetic.stream(SMALL))
    assert len(first) == SMALL.num_blocks == 5
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a.movie_id, b.movie_id)
        np.testing.assert_array_equal(a.rating, b.rating)
    # block 3 alone equals block 3 of the full stream
    np.testing.assert_array_equal(synthetic._block(SMALL, 3).movie_id, first[3].movie_id)
    other = list(synthetic.stream(synthetic.SyntheticSpec(**{**SMALL.__dict__, "seed": 4})))
    assert not np.array_equal(other[0].movie_id[:50], first[0].movie_id[:50])


def test_movielens_shape():
    data = synthetic.to_movielens(SMALL)
    assert isinstance(data, ml.MovieLens) and not data.verified and data.source == SMALL.name
    assert data.num_users == SMALL.users + 1 and data.num_movies == SMALL.items + 1
    assert data.user_id.dtype == np.int32 and data.movie_id.dtype == np.int32 and data.rating.dtype == np.int8
    per_user = np.bincount(data.user_id)[1:]
    assert per_user.min() >= SMALL.min_ratings_per_user
    assert abs(per_user.mean() - SMALL.ratings_per_user) < 0.15 * SMALL.ratings_per_user
    assert per_user.max() > 2 * SMALL.ratings_per_user  # a long tail of heavy raters
    pairs = data.user_id.astype(np.int64) * 1000 + data.movie_id
    assert len(np.unique(pairs)) == len(pairs)  # each user rates an item at most once
    assert data.movie_id.min() >= 1 and data.movie_id.max() <= SMALL.items
    share = np.bincount(data.rating, minlength=6)[1:] / len(data)
    np.testing.assert_allclose(share, synthetic.ML100K_RATING_SHARE, atol=0.03)
    # power-law popularity: the 10 most popular items draw far more than the median item
    popularity = np.sort(np.bincount(data.movie_id, minlength=SMALL.items + 1)[1:])[::-1]
    assert popularity[:10].mean() > 5 * np.median(popularity)


def test_ratings_carry_a_learnable_user_item_signal():
    block = next(synthetic.stream(SMALL))
    affinity = synthetic.true_affinity(SMALL, block)
    assert np.corrcoef(affinity, block.rating)[0, 1] > 0.5
    noise_only = synthetic.SyntheticSpec(**{**SMALL.__dict__, "signal": 0.0})
    block = next(synthetic.stream(noise_only))
    assert abs(np.corrcoef(synthetic.true_affinity(noise_only, block), block.rating)[0, 1]) < 0.1


def test_large_vocabulary_sampling_is_distinct_per_user():
    spec = synthetic.SyntheticSpec(users=50, items=200_000, ratings_per_user=120, seed=1)
    data = synthetic.to_movielens(spec)
    pairs = data.user_id.astype(np.int64) * 1_000_000 + data.movie_id
    assert len(np.unique(pairs)) == len(pairs)
    assert data.movie_id.max() <= spec.items


def test_streaming_keeps_memory_bounded():
    spec = synthetic.SyntheticSpec(users=8192, items=50_000, ratings_per_user=40, min_ratings_per_user=20,
                                   seed=2, block_users=64)
    synthetic._item_tables(spec)  # the item tables are a fixed cost, allocated once
    tracemalloc.start()
    total = 0
    for block in synthetic.stream(spec):
        total += len(block)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    all_at_once = total * (4 + 4 + 1)
    assert total > 250_000
    assert peak < all_at_once / 4, (peak, all_at_once)


def test_splits_in_the_real_loaders_format():
    splits = synthetic.build_lists(SMALL, list_size=5, protocol="intended", seed=42)
    assert isinstance(splits, ml.Splits)
    assert len(splits.train) == 50 * SMALL.users  # every user has >= 20 ratings, 14+ in train
    for lists in (splits.train, splits.val, splits.test):
        assert lists.movie_id.shape == (len(lists), 5) and lists.movie_id.dtype == np.int32
        assert lists.label.dtype == np.float32 and 0 <= lists.label.min() and lists.label.max() <= 1
        assert all(len(set(row)) == 5 for row in lists.movie_id[:200])
    again = synthetic.build_lists(SMALL, list_size=5, protocol="intended", seed=42)
    np.testing.assert_array_equal(splits.test.movie_id, again.test.movie_id)


def test_train_lists_exact_count_and_long_lists():
    spec = synthetic.SyntheticSpec(users=100, items=500, ratings_per_user=250, min_ratings_per_user=200, seed=5)
    lists = synthetic.train_lists(spec, list_size=200, count=777, seed=1)
    assert lists.movie_id.shape == (777, 200)
    assert all(len(set(row)) == 200 for row in lists.movie_id[:20])
    assert len(np.unique(lists.user_id[:100])) > 20  # shuffled: batches mix users


@pytest.mark.parametrize("kwargs, words", [
    ({"items": 10, "min_ratings_per_user": 20}, "exceeds the number of items"),
    ({"ratings_per_user": 10, "min_ratings_per_user": 20}, "below min_ratings_per_user"),
    ({"signal": 0.8, "item_bias": 0.5}, "sum to at most 1"),
    ({"users": 0}, "users must be >= 1"),
])
def test_bad_parameters_are_named(kwargs, words):
    with pytest.raises(synthetic.SyntheticError, match=words) as error:
        synthetic.SyntheticSpec(**kwargs)
    assert "\n" not in str(error.value)


def test_too_short_users_for_long_lists_say_how_to_fix():
    with pytest.raises(ml.DataError, match="min_ratings_per_user"):
        synthetic.train_lists(SMALL, list_size=300, count=100_000)


def test_a_model_learns_the_synthetic_signal():
    spec = synthetic.SyntheticSpec(users=400, items=300, ratings_per_user=80, seed=7, signal=0.8)
    splits = synthetic.build_lists(spec, list_size=5, protocol="intended", seed=1)
    keras.utils.set_random_seed(1)
    model = RankingModel(spec.users + 1, spec.items + 1, embedding_dim=16, hidden_units=(32,))
    model.compile(optimizer=keras.optimizers.Adagrad(0.1), loss="mse")
    model.fit(splits.train.inputs(), splits.train.label, batch_size=512, epochs=3, verbose=0)
    scores = keras.ops.convert_to_numpy(model.predict(splits.test.inputs(), verbose=0))
    learned = evaluate(splits.test.label, scores.astype(np.float64), ks=(5,))["ndcg@5"]
    rng = np.random.default_rng(0)
    random = np.mean([evaluate(splits.test.label, rng.random(scores.shape), ks=(5,))["ndcg@5"]
                      for _ in range(10)])
    assert learned > random + 0.02, (learned, random)
