"""Small MovieLens-format folders written by the tests themselves."""

from __future__ import annotations

from pathlib import Path
from typing import Iterable, Mapping

import numpy as np


def write_movielens(
    folder: Path,
    ratings: Iterable[tuple[int, int, int]],
    titles: Mapping[int, str],
) -> Path:
    """Write u.data (user, movie, rating, timestamp) and a Latin-1 u.item."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = [f"{u}\t{m}\t{r}\t{881250949 + i}" for i, (u, m, r) in enumerate(ratings)]
    (folder / "u.data").write_text("\n".join(lines) + "\n", encoding="latin-1")
    items = [f"{m}|{t}|01-Jan-1995||http://example.invalid|0|1" for m, t in sorted(titles.items())]
    (folder / "u.item").write_bytes(("\n".join(items) + "\n").encode("latin-1"))
    return folder


def random_movielens(folder: Path, *, users: int = 30, movies: int = 40, per_user: int = 20, seed: int = 0) -> Path:
    """A random but valid MovieLens-format folder: each user rates ``per_user`` distinct movies."""
    rng = np.random.default_rng(seed)
    ratings = []
    for user in range(1, users + 1):
        for movie in rng.choice(np.arange(1, movies + 1), size=per_user, replace=False):
            ratings.append((user, int(movie), int(rng.integers(1, 6))))
    titles = {m: f"Movie {m} (1995)" for m in range(1, movies + 1)}
    return write_movielens(folder, ratings, titles)
