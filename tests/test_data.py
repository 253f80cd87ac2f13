"""MovieLens parsing, verification, splitting and list sampling."""

from __future__ import annotations

import numpy as np
import pytest

from listrank import data as ml
from tests.movielens_files import random_movielens, write_movielens


def test_parses_small_files_and_decodes_latin1_titles(tmp_path):
    folder = write_movielens(
        tmp_path,
        [(1, 1, 5), (1, 2, 1), (2, 2, 3)],
        {1: "Misérables, Les (1995)", 2: "Toy Story (1995)", 3: "Cité des enfants perdus, La (1995)"},
    )
    data = ml.load_movielens(folder, allow_unverified=True)
    assert len(data) == 3
    assert data.user_id.tolist() == [1, 1, 2]
    assert data.movie_id.tolist() == [1, 2, 2]
    assert data.rating.tolist() == [5, 1, 3]
    assert data.titles[1] == "Misérables, Les (1995)"
    assert data.titles[3] == "Cité des enfants perdus, La (1995)"
    assert data.num_users == 3 and data.num_movies == 4
    assert data.verified is False


def test_unverified_files_are_refused_by_default(tmp_path):
    folder = random_movielens(tmp_path)
    with pytest.raises(ml.DataError, match="--allow-unverified-data"):
        ml.load_movielens(folder)


def test_env_variable_gives_the_folder(tmp_path, monkeypatch):
    folder = random_movielens(tmp_path / "ml")
    monkeypatch.setenv(ml.DATA_DIR_ENV, str(folder))
    assert ml.load_movielens(allow_unverified=True).source == str(folder)


def test_missing_folder_names_the_fix(tmp_path):
    with pytest.raises(ml.DataError, match="does not exist"):
        ml.load_movielens(tmp_path / "nowhere")


def test_real_release_is_verified(ml100k_dir):
    data = ml.load_movielens(ml100k_dir)
    assert data.verified
    assert len(data) == 100_000
    assert len(np.unique(data.user_id)) == 943
    assert len(data.titles) == 1682
    assert data.rating.mean() == pytest.approx(3.52986)
    assert "Misérables, Les (1995)" in data.titles.values()


def test_split_sizes_and_disjointness(ml100k_dir):
    data = ml.load_movielens(ml100k_dir)
    train, val, test = ml.split(data, seed=42)
    assert (len(train), len(val), len(test)) == (70_000, 15_000, 15_000)
    assert len(np.unique(np.concatenate([train, val, test]))) == 100_000


@pytest.mark.parametrize("protocol, train_lists", [("intended", 943 * 50), ("seed", 943)])
def test_protocol_list_counts(ml100k_dir, protocol, train_lists):
    splits = ml.build_lists(ml.load_movielens(ml100k_dir), protocol=protocol, seed=42)
    assert len(splits.train) == train_lists
    # validation and test: one list per user with >= 5 ratings in that split
    assert len(splits.val) == len(np.unique(splits.val.user_id))
    assert len(splits.test) == len(np.unique(splits.test.user_id))
    assert splits.train.movie_id.shape == (train_lists, 5)


def _split_ratings(data, rows):
    return {(int(u), int(m)): float(r) for u, m, r in
            zip(data.user_id[rows], data.movie_id[rows], (data.rating[rows] - 1) / 4)}


def test_lists_hold_distinct_movies_from_the_users_own_split_ratings(tmp_path):
    data = ml.load_movielens(random_movielens(tmp_path, users=25, per_user=24), allow_unverified=True)
    splits = ml.build_lists(data, seed=7, list_size=5)
    for lists, rows in zip((splits.train, splits.val, splits.test), ml.split(data, seed=7)):
        own = _split_ratings(data, rows)
        assert len(lists) > 0
        for user, movies, labels in zip(lists.user_id, lists.movie_id, lists.label):
            assert len(set(movies.tolist())) == len(movies)
            for movie, label in zip(movies, labels):
                assert own[(int(user), int(movie))] == pytest.approx(label)


def test_users_with_too_few_ratings_are_skipped(tmp_path):
    data = ml.load_movielens(random_movielens(tmp_path, users=20, per_user=12), allow_unverified=True)
    train_rows = ml.split(data, seed=1)[0]
    counts = np.bincount(data.user_id[train_rows])
    lists = ml.sample_lists(data.user_id[train_rows], data.movie_id[train_rows], data.rating[train_rows],
                            list_size=8, lists_per_user=1, rng=np.random.default_rng(1))
    assert 0 < len(lists) < 20
    assert sorted(lists.user_id.tolist()) == np.flatnonzero(counts >= 8).tolist()


def test_no_user_with_enough_ratings_is_a_clear_error(tmp_path):
    data = ml.load_movielens(random_movielens(tmp_path, users=5, per_user=6), allow_unverified=True)
    with pytest.raises(ml.DataError, match="smaller list size"):
        ml.build_lists(data, seed=1, list_size=6)


def test_same_seed_same_lists_other_seed_other_lists(tmp_path):
    data = ml.load_movielens(random_movielens(tmp_path), allow_unverified=True)
    a, b, c = (ml.build_lists(data, seed=s) for s in (3, 3, 4))
    for part in ("train", "val", "test"):
        for field in ("user_id", "movie_id", "label"):
            np.testing.assert_array_equal(getattr(getattr(a, part), field), getattr(getattr(b, part), field))
    assert not np.array_equal(a.train.movie_id, c.train.movie_id)


def test_sampling_is_uniform_over_subsets():
    # one user with 6 rows, lists of 3: each of the C(6,3)=20 subsets equally likely
    rng = np.random.default_rng(0)
    lists = ml.sample_lists(np.ones(6, np.int32), np.arange(1, 7), np.zeros(6), list_size=3,
                            lists_per_user=40_000, rng=rng)
    subsets = {}
    for movies in lists.movie_id:
        key = tuple(sorted(movies.tolist()))
        subsets[key] = subsets.get(key, 0) + 1
    assert len(subsets) == 20
    frequencies = np.array(list(subsets.values())) / 40_000
    assert np.all(np.abs(frequencies - 1 / 20) < 0.006)
    # every movie appears in every position equally often (lists come in random order)
    position_counts = np.stack([np.bincount(lists.movie_id[:, p], minlength=7)[1:] for p in range(3)])
    assert np.all(np.abs(position_counts / 40_000 - 1 / 6) < 0.01)


def test_labels_are_normalised_ratings(tmp_path):
    folder = write_movielens(tmp_path, [(1, m, r) for m, r in zip(range(1, 8), [1, 2, 3, 4, 5, 5, 1])],
                             {m: f"M{m}" for m in range(1, 8)})
    data = ml.load_movielens(folder, allow_unverified=True)
    label = (data.rating.astype(np.float32) - 1) / 4
    assert label.tolist() == [0.0, 0.25, 0.5, 0.75, 1.0, 1.0, 0.0]
