"""MovieLens-shaped synthetic ratings, seeded and streamed in blocks of users.

For workloads the real MovieLens 100K cannot provide (long lists, large item
vocabularies, 10^7 ratings), this module generates ratings with the same
shape and feeds them to the same list format as :mod:`listrank.data`:

- **users** rate a long-tailed number of items: ``min_ratings_per_user`` plus
  an exponential tail, with mean ``ratings_per_user`` (MovieLens 100K: at least
  20, mean 106), capped at the number of items;
- **items** are picked with power-law (Zipf) popularity: the item of
  popularity rank ``r`` is drawn with weight ``r ** -popularity_exponent``
  (item ids are a seeded permutation of the ranks), each at most once per user;
- **ratings 1..5** come from a latent score ``z`` with unit variance:
  ``signal`` of its variance is a user × item dot product of ``factors``
  dimensional latent vectors (what a model can learn), ``item_bias`` a per-item
  offset, the rest noise. ``z`` is cut at the normal quantiles that reproduce
  MovieLens 100K's rating histogram (6 / 11 / 27 / 34 / 21 %).

Everything is derived from ``seed``: block ``b`` of users uses
``numpy.random.default_rng([seed, b])`` and the item tables use
``default_rng([seed, ...])``, so a block's ratings do not depend on how many
blocks are read or in which order. Only the item tables (``items × factors``
floats) and one block of users are in memory at a time; :func:`build_lists`
consumes the stream block by block and keeps only the sampled lists, so
10^7-rating workloads fit in memory.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from statistics import NormalDist
from typing import Iterator

import numpy as np

from listrank import data as ml

# MovieLens 100K's rating histogram (ratings 1..5), cumulative, as normal quantiles.
ML100K_RATING_SHARE = (0.0611, 0.1137, 0.2715, 0.3417, 0.2120)
_CUTS = np.array(
    [NormalDist().inv_cdf(c) for c in np.cumsum(ML100K_RATING_SHARE)[:-1]], dtype=np.float64
)
# Above this many items, sampling without replacement by Gumbel top-k over the
# whole vocabulary costs too much per user; draw with replacement and dedupe.
_EXACT_SAMPLING_MAX_ITEMS = 20_000


class SyntheticError(ValueError):
    """Parameters that cannot describe a dataset; the message says which and how to fix it."""


@dataclasses.dataclass(frozen=True)
class SyntheticSpec:
    """Parameters of a synthetic dataset; the defaults are MovieLens 100K's shape."""

    users: int = 943
    items: int = 1682
    ratings_per_user: int = 106
    min_ratings_per_user: int = 20
    popularity_exponent: float = 0.7
    factors: int = 8
    signal: float = 0.6
    item_bias: float = 0.1
    seed: int = 0
    block_users: int = 1024

    def __post_init__(self) -> None:
        checks = [
            (self.users >= 1, f"users must be >= 1, got {self.users}"),
            (self.items >= 2, f"items must be >= 2, got {self.items}"),
            (self.min_ratings_per_user >= 1,
             f"min_ratings_per_user must be >= 1, got {self.min_ratings_per_user}"),
            (self.min_ratings_per_user <= self.items,
             f"min_ratings_per_user ({self.min_ratings_per_user}) exceeds the number of items "
             f"({self.items}); raise items or lower min_ratings_per_user"),
            (self.ratings_per_user >= self.min_ratings_per_user,
             f"ratings_per_user ({self.ratings_per_user}) is below min_ratings_per_user "
             f"({self.min_ratings_per_user}); the mean cannot be below the minimum"),
            (self.popularity_exponent >= 0,
             f"popularity_exponent must be >= 0, got {self.popularity_exponent}"),
            (self.factors >= 1, f"factors must be >= 1, got {self.factors}"),
            (0 <= self.signal and 0 <= self.item_bias and self.signal + self.item_bias <= 1,
             f"signal ({self.signal}) and item_bias ({self.item_bias}) must be >= 0 and sum to "
             "at most 1 (they are shares of the score's variance)"),
            (self.block_users >= 1, f"block_users must be >= 1, got {self.block_users}"),
        ]
        for ok, message in checks:
            if not ok:
                raise SyntheticError(message)

    @property
    def name(self) -> str:
        """A short name that identifies the dataset in results (``synthetic-...``)."""
        return (f"synthetic-u{self.users}-i{self.items}-r{self.ratings_per_user}"
                f"-min{self.min_ratings_per_user}-zipf{self.popularity_exponent:g}-s{self.seed}")

    def as_dict(self) -> dict:
        return {"name": self.name, "generator": "listrank.synthetic", **dataclasses.asdict(self)}

    @property
    def num_blocks(self) -> int:
        return math.ceil(self.users / self.block_users)

    @property
    def expected_ratings(self) -> int:
        return self.users * min(self.ratings_per_user, self.items)


@dataclasses.dataclass(frozen=True)
class Block:
    """One block of users' ratings; ids are 1-based like MovieLens (0 is unused)."""

    user_id: np.ndarray  # (n,) int32
    movie_id: np.ndarray  # (n,) int32
    rating: np.ndarray  # (n,) int8, 1..5

    def __len__(self) -> int:
        return len(self.user_id)


@dataclasses.dataclass(frozen=True)
class _ItemTables:
    item_of_rank: np.ndarray  # (items,) int64: 0-based item index of popularity rank r
    cdf: np.ndarray  # (items,) float64: cumulative popularity over ranks
    log_weight: np.ndarray  # (items,) float64: log popularity by rank
    factors: np.ndarray  # (items, factors) float32, indexed by 0-based item
    bias: np.ndarray  # (items,) float32, unit variance


@functools.lru_cache(maxsize=4)
def _item_tables(spec: SyntheticSpec) -> _ItemTables:
    rng = np.random.default_rng([spec.seed, 1_000_003])
    ranks = np.arange(1, spec.items + 1, dtype=np.float64)
    log_weight = -spec.popularity_exponent * np.log(ranks)
    weight = np.exp(log_weight - log_weight.max())
    cdf = np.cumsum(weight)
    cdf /= cdf[-1]
    item_of_rank = rng.permutation(spec.items)
    factors = rng.standard_normal((spec.items, spec.factors), dtype=np.float32)
    bias = rng.standard_normal(spec.items, dtype=np.float32)
    return _ItemTables(item_of_rank, cdf, log_weight, factors, bias)


def _rating_counts(spec: SyntheticSpec, n: int, rng: np.random.Generator) -> np.ndarray:
    extra = spec.ratings_per_user - spec.min_ratings_per_user
    tail = rng.exponential(extra, size=n) if extra > 0 else np.zeros(n)
    counts = spec.min_ratings_per_user + np.floor(tail).astype(np.int64)
    return np.minimum(counts, spec.items)


def _sample_ranks(spec: SyntheticSpec, tables: _ItemTables, counts: np.ndarray,
                  rng: np.random.Generator) -> list[np.ndarray]:
    """For each user, ``counts[u]`` distinct popularity ranks (0-based), popularity-weighted."""
    out: list[np.ndarray] = []
    if spec.items <= _EXACT_SAMPLING_MAX_ITEMS:
        # Gumbel top-k: exact weighted sampling without replacement.
        rows = max(1, 4_000_000 // spec.items)
        for start in range(0, len(counts), rows):
            part = counts[start:start + rows]
            keys = tables.log_weight + rng.gumbel(size=(len(part), spec.items))
            order = np.argsort(-keys, axis=1)
            out.extend(order[i, :k] for i, k in enumerate(part))
        return out
    # Large vocabularies: draw with replacement, keep first occurrences, top up the few
    # users whose draws repeated too often.
    for k in counts:
        chosen = np.empty(0, dtype=np.int64)
        while len(chosen) < k:
            draws = np.searchsorted(tables.cdf, rng.random(int(1.3 * (k - len(chosen))) + 8))
            merged = np.concatenate([chosen, np.minimum(draws, spec.items - 1)])
            _, first = np.unique(merged, return_index=True)
            chosen = merged[np.sort(first)]
        out.append(chosen[:k])
    return out


def _block(spec: SyntheticSpec, index: int) -> Block:
    tables = _item_tables(spec)
    rng = np.random.default_rng([spec.seed, index])
    first_user = index * spec.block_users
    n = min(spec.block_users, spec.users - first_user)
    user_factors = rng.standard_normal((n, spec.factors), dtype=np.float32)
    counts = _rating_counts(spec, n, rng)
    ranks = _sample_ranks(spec, tables, counts, rng)
    local_user = np.repeat(np.arange(n), counts)
    item = tables.item_of_rank[np.concatenate(ranks)] if n else np.empty(0, np.int64)
    dot = np.einsum("nf,nf->n", user_factors[local_user], tables.factors[item]) / math.sqrt(spec.factors)
    noise = rng.standard_normal(len(item))
    z = (math.sqrt(spec.signal) * dot + math.sqrt(spec.item_bias) * tables.bias[item]
         + math.sqrt(1.0 - spec.signal - spec.item_bias) * noise)
    rating = (np.searchsorted(_CUTS, z) + 1).astype(np.int8)
    return Block(
        user_id=(local_user + first_user + 1).astype(np.int32),
        movie_id=(item + 1).astype(np.int32),
        rating=rating,
    )


def stream(spec: SyntheticSpec) -> Iterator[Block]:
    """The ratings, one block of ``spec.block_users`` users at a time."""
    for index in range(spec.num_blocks):
        yield _block(spec, index)


def true_affinity(spec: SyntheticSpec, block: Block) -> np.ndarray:
    """The learnable part of each rating's latent score (the user × item dot product)."""
    tables = _item_tables(spec)
    index = (block.user_id.astype(np.int64) - 1) // spec.block_users
    out = np.empty(len(block), dtype=np.float64)
    for b in np.unique(index):
        rng = np.random.default_rng([spec.seed, int(b)])
        n = min(spec.block_users, spec.users - int(b) * spec.block_users)
        user_factors = rng.standard_normal((n, spec.factors), dtype=np.float32)
        rows = index == b
        local = block.user_id[rows] - 1 - int(b) * spec.block_users
        out[rows] = np.einsum("nf,nf->n", user_factors[local],
                              tables.factors[block.movie_id[rows] - 1]) / math.sqrt(spec.factors)
    return out


def to_movielens(spec: SyntheticSpec) -> ml.MovieLens:
    """All ratings at once, as the real loader returns them (for sizes that fit in memory)."""
    blocks = list(stream(spec))
    return ml.MovieLens(
        user_id=np.concatenate([b.user_id for b in blocks]),
        movie_id=np.concatenate([b.movie_id for b in blocks]),
        rating=np.concatenate([b.rating for b in blocks]),
        titles={i: f"Synthetic item {i}" for i in range(1, spec.items + 1)},
        source=spec.name,
        verified=False,
    )


def build_lists(
    spec: SyntheticSpec,
    *,
    list_size: int = 5,
    protocol: str = "intended",
    seed: int = 42,
    max_train_lists: int | None = None,
) -> ml.Splits:
    """Train / validation / test lists, streamed block by block (see :func:`listrank.data.build_lists`).

    Each rating goes to train, validation or test with probability 70 / 15 /
    15 % (the real loader shuffles once and cuts at those fractions: the same
    split in distribution); lists are then sampled per user and split exactly
    as the real loader does, with :func:`listrank.data.sample_lists`. Only the
    lists are kept. ``max_train_lists`` stops once that many training lists are
    built (and truncates to it), for timing runs that need a given number of
    batches.
    """
    if protocol not in ml.PROTOCOLS:
        raise ml.DataError(f"unknown protocol {protocol!r}; choose one of {', '.join(ml.PROTOCOLS)}")
    if list_size < 2:
        raise ml.DataError(f"list size {list_size} is too small; a ranking list needs at least 2 items")
    per_user = ml.PROTOCOLS[protocol]
    per_user = (per_user[0], per_user[1], per_user[1])
    parts: list[list[ml.Lists]] = [[], [], []]
    rng = np.random.default_rng([seed, 7])
    for block in stream(spec):
        label = (block.rating.astype(np.float32) - 1.0) / 4.0
        which = np.searchsorted(np.cumsum(ml.SPLIT_FRACTIONS)[:-1], rng.random(len(block)), side="right")
        for part in range(3):
            rows = which == part
            users, counts = np.unique(block.user_id[rows], return_counts=True)
            if not (counts >= list_size).any():
                continue
            parts[part].append(ml.sample_lists(
                block.user_id[rows], block.movie_id[rows], label[rows],
                list_size=list_size, lists_per_user=per_user[part], rng=rng))
        if max_train_lists is not None and sum(len(x) for x in parts[0]) >= max_train_lists:
            break
    names = ("training", "validation", "test")
    for part in range(3):
        if not parts[part]:
            raise ml.DataError(
                f"no synthetic user has {list_size} or more ratings in the {names[part]} split; "
                f"raise min_ratings_per_user (now {spec.min_ratings_per_user}) to at least "
                f"{math.ceil(list_size / ml.SPLIT_FRACTIONS[min(part, 1)]) + 10} or use shorter lists")
    splits = [_concat(p) for p in parts]
    if max_train_lists is not None:
        splits[0] = _take(splits[0], max_train_lists)
    return ml.Splits(*splits)


def train_lists(spec: SyntheticSpec, *, list_size: int, count: int, seed: int = 42) -> ml.Lists:
    """Exactly ``count`` training lists of ``list_size`` items, for timing runs (no split).

    Lists are sampled from each user's ratings (``listrank.data.sample_lists``),
    as many per user as it takes, streamed block by block. Users with fewer
    than ``list_size`` ratings are skipped; set ``min_ratings_per_user`` to at
    least ``list_size`` so that every user counts.
    """
    if list_size < 2:
        raise ml.DataError(f"list size {list_size} is too small; a ranking list needs at least 2 items")
    if count < 1:
        raise ml.DataError(f"the number of lists must be >= 1, got {count}")
    eligible_share = 1.0 if spec.min_ratings_per_user >= list_size else 0.5
    per_user = max(1, math.ceil(count / (spec.users * eligible_share)))
    rng = np.random.default_rng([seed, 11])
    parts: list[ml.Lists] = []
    have = 0
    for block in stream(spec):
        label = (block.rating.astype(np.float32) - 1.0) / 4.0
        _, counts = np.unique(block.user_id, return_counts=True)
        if not (counts >= list_size).any():
            continue
        lists = ml.sample_lists(block.user_id, block.movie_id, label, list_size=list_size,
                                lists_per_user=per_user, rng=rng)
        parts.append(lists)
        have += len(lists)
        if have >= count:
            break
    if have < count:
        raise ml.DataError(
            f"{spec.name} yields {have} lists of {list_size}, fewer than the {count} needed; "
            f"set min_ratings_per_user >= {list_size} or add users")
    lists = _take(_concat(parts), count)
    # The stream is in user order; shuffle so that a batch mixes users as in real training.
    order = rng.permutation(len(lists))
    return ml.Lists(lists.user_id[order], lists.movie_id[order], lists.label[order])


def _concat(parts: list[ml.Lists]) -> ml.Lists:
    return ml.Lists(
        user_id=np.concatenate([p.user_id for p in parts]),
        movie_id=np.concatenate([p.movie_id for p in parts]),
        label=np.concatenate([p.label for p in parts]),
    )


def _take(lists: ml.Lists, n: int) -> ml.Lists:
    return ml.Lists(lists.user_id[:n], lists.movie_id[:n], lists.label[:n])
