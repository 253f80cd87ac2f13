"""MovieLens 100K: download or read, verify, parse, split and sample lists.

Everything here is numpy; nothing imports a deep-learning backend, so the
same arrays feed JAX, TensorFlow and PyTorch.

The protocol follows the Keras-RS "List-wise ranking" example:

1. ratings normalised to ``(r - 1) / 4`` (so 1..5 becomes 0..1);
2. one seeded shuffle of all ratings, split 70% / 15% / 15% (70,000 / 15,000 /
   15,000 on ML-100K) into train / validation / test;
3. in each split, every user with at least ``list_size`` ratings there gets
   lists of ``list_size`` distinct movies sampled from *their own ratings in
   that split*.

``protocol="intended"`` samples 50 lists per user for training (what the
example's text and constants say) and one for validation and test.
``protocol="seed"`` samples one list per user everywhere, which is what the
example's published code path ends up training on (943 training lists, one
step per epoch at batch 1024).
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import os
import shutil
import tempfile
import urllib.request
import zipfile
from pathlib import Path

import numpy as np

ARCHIVE_URL = "https://files.grouplens.org/datasets/movielens/ml-100k.zip"
ARCHIVE_SHA256 = "50d2a982c66986937beb9ffb3aa76efe955bf3d5c6b761f4e3a7cd717c6a3229"
# SHA-256 of the two files this module reads, as published in the release.
FILE_SHA256 = {
    "u.data": "06416e597f82b7342361e41163890c81036900f418ad91315590814211dca490",
    "u.item": "553841ebc7de3a0fd0d6b62a204ea30c1e651aacfb2814c7a6584ac52f2c5701",
}
REQUIRED_FILES = ("u.data", "u.item")
DATA_DIR_ENV = "LISTRANK_DATA_DIR"
CACHE_DIR_ENV = "LISTRANK_CACHE_DIR"
SPLIT_FRACTIONS = (0.70, 0.15, 0.15)
PROTOCOLS = {
    # protocol: (train lists per user, validation/test lists per user)
    "intended": (50, 1),
    "seed": (1, 1),
}


class DataError(ValueError):
    """The data is missing, malformed or not the expected release.

    The message names the problem and how to fix it.
    """


@dataclasses.dataclass(frozen=True)
class MovieLens:
    """Parsed ratings (one row per rating) plus the movie titles."""

    user_id: np.ndarray  # int32, 1-based
    movie_id: np.ndarray  # int32, 1-based
    rating: np.ndarray  # int8, 1..5
    titles: dict[int, str]
    source: str  # folder the files were read from
    verified: bool  # file contents matched the official release

    @property
    def num_users(self) -> int:
        """Size of a user table indexed by id (ids are 1-based, 0 unused)."""
        return int(self.user_id.max()) + 1

    @property
    def num_movies(self) -> int:
        """Size of a movie table indexed by id (ids are 1-based, 0 unused)."""
        return max(self.titles) + 1

    def __len__(self) -> int:
        return len(self.user_id)


@dataclasses.dataclass(frozen=True)
class Lists:
    """Fixed-size lists of one user's rated movies, with normalised labels."""

    user_id: np.ndarray  # (n,) int32
    movie_id: np.ndarray  # (n, list_size) int32
    label: np.ndarray  # (n, list_size) float32 in [0, 1]

    def __len__(self) -> int:
        return len(self.user_id)

    @property
    def list_size(self) -> int:
        return self.movie_id.shape[1]

    def inputs(self) -> dict[str, np.ndarray]:
        """The model's input dict."""
        return {"user_id": self.user_id, "movie_id": self.movie_id}


@dataclasses.dataclass(frozen=True)
class Splits:
    train: Lists
    val: Lists
    test: Lists


# --------------------------------------------------------------------------
# Locating the files


def default_cache_dir() -> Path:
    return Path(os.environ.get(CACHE_DIR_ENV) or Path.home() / ".cache" / "listrank")


def resolve_data_dir(data_dir: str | os.PathLike | None = None, download: bool = True) -> Path:
    """The folder holding the release's files.

    Order: the ``data_dir`` argument, then ``$LISTRANK_DATA_DIR``, then the
    download cache (downloading the official archive if it is not there).
    """
    given = data_dir or os.environ.get(DATA_DIR_ENV)
    if given:
        path = Path(given).expanduser()
        origin = "--data-dir" if data_dir else f"${DATA_DIR_ENV}"
        if not path.is_dir():
            raise DataError(
                f"data folder {path} (from {origin}) does not exist; point it at a "
                "folder holding the MovieLens 100K files (u.data, u.item)"
            )
        return path
    cached = default_cache_dir() / "ml-100k"
    if all((cached / name).is_file() for name in REQUIRED_FILES):
        return cached
    if not download:
        raise DataError(
            f"no MovieLens 100K folder given and none cached in {cached}; pass "
            f"--data-dir or set ${DATA_DIR_ENV}"
        )
    return download_archive(default_cache_dir())


def download_archive(cache_dir: Path, url: str = ARCHIVE_URL) -> Path:
    """Download the official archive, verify its SHA-256 and unpack it.

    A download whose checksum does not match is deleted, never cached.
    """
    cache_dir.mkdir(parents=True, exist_ok=True)
    archive = cache_dir / "ml-100k.zip"
    if not archive.is_file():
        fd, tmp = tempfile.mkstemp(dir=cache_dir, suffix=".part")
        try:
            with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=60) as response:
                shutil.copyfileobj(response, out)
        except OSError as error:
            os.unlink(tmp)
            raise DataError(
                f"could not download {url} ({error}); without internet, pass --data-dir "
                f"or set ${DATA_DIR_ENV} to a local copy of the ml-100k folder"
            ) from None
        os.replace(tmp, archive)
    digest = sha256_file(archive)
    if digest != ARCHIVE_SHA256:
        archive.unlink()
        raise DataError(
            f"{url} downloaded with SHA-256 {digest}, expected {ARCHIVE_SHA256}; the "
            "corrupt file was deleted: try again, or pass --data-dir with a verified copy"
        )
    extract_archive(archive, cache_dir)
    return cache_dir / "ml-100k"


def extract_archive(archive: Path, target: Path) -> None:
    """Unpack ``archive`` into ``target``, refusing entries that would land outside it."""
    root = target.resolve()
    with zipfile.ZipFile(archive) as zf:
        for member in zf.namelist():
            destination = (root / member).resolve()
            if destination != root and root not in destination.parents:
                raise DataError(
                    f"{archive} holds an entry {member!r} that would extract outside "
                    f"{root}; refusing it: delete the archive and use the official release"
                )
        zf.extractall(root)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# --------------------------------------------------------------------------
# Parsing


def load_movielens(
    data_dir: str | os.PathLike | None = None,
    *,
    allow_unverified: bool = False,
    download: bool = True,
) -> MovieLens:
    """Read and check MovieLens 100K from a folder (or the download cache).

    The contents of ``u.data`` and ``u.item`` must match the official release,
    unless ``allow_unverified`` is set (for other MovieLens-format data); the
    result records which.
    """
    folder = resolve_data_dir(data_dir, download=download)
    for name in REQUIRED_FILES:
        if not (folder / name).is_file():
            raise DataError(
                f"{folder} has no {name}; it should hold the files of the ml-100k "
                "release (u.data, u.item, ...)"
            )
    mismatched = [name for name in REQUIRED_FILES if sha256_file(folder / name) != FILE_SHA256[name]]
    if mismatched and not allow_unverified:
        raise DataError(
            f"{', '.join(mismatched)} in {folder} differ from the official MovieLens 100K "
            "release (SHA-256 mismatch); use an unmodified copy, or pass "
            "--allow-unverified-data to use other MovieLens-format data"
        )
    titles = parse_items(folder / "u.item")
    user_id, movie_id, rating = parse_ratings(folder / "u.data")
    unknown = ~np.isin(movie_id, np.fromiter(titles, dtype=np.int64))
    if unknown.any():
        row = int(np.argmax(unknown)) + 1
        raise DataError(
            f"{folder / 'u.data'} line {row}: movie id {movie_id[row - 1]} is not in u.item; "
            "the two files must come from the same release"
        )
    pairs = user_id.astype(np.int64) * (movie_id.max() + 1) + movie_id
    _, first, counts = np.unique(pairs, return_index=True, return_counts=True)
    if (counts > 1).any():
        dup = int(np.sort(first[counts > 1])[0])
        raise DataError(
            f"{folder / 'u.data'}: user {user_id[dup]} rated movie {movie_id[dup]} more than "
            "once; each (user, movie) pair must appear once"
        )
    return MovieLens(
        user_id=user_id.astype(np.int32),
        movie_id=movie_id.astype(np.int32),
        rating=rating.astype(np.int8),
        titles=titles,
        source=str(folder),
        verified=not mismatched,
    )


def parse_ratings(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Parse ``u.data``: tab-separated user id, movie id, rating (1-5), timestamp."""
    text = path.read_text(encoding="latin-1")
    if not text.strip():
        raise DataError(f"{path} is empty; it should hold one rating per line")
    try:
        table = np.loadtxt(io.StringIO(text), dtype=np.int64, delimiter="\t", ndmin=2)
    except ValueError:
        table = None
    if table is None or table.shape[1] != 4:
        _raise_first_bad_row(path, text)
    user_id, movie_id, rating = table[:, 0], table[:, 1], table[:, 2]
    for name, values, low, high in (
        ("user id", user_id, 1, None),
        ("movie id", movie_id, 1, None),
        ("rating", rating, 1, 5),
        ("timestamp", table[:, 3], 0, None),
    ):
        bad = (values < low) | ((values > high) if high is not None else False)
        if np.any(bad):
            row = int(np.argmax(bad))
            allowed = f"{low}..{high}" if high is not None else f">= {low}"
            raise DataError(
                f"{path} line {row + 1}: {name} {values[row]} is out of range ({allowed}); "
                "fix or remove that row"
            )
    return user_id, movie_id, rating


def _raise_first_bad_row(path: Path, text: str) -> None:
    lines = text.splitlines()
    for number, line in enumerate(lines, start=1):
        fields = line.split("\t")
        if len(fields) != 4:
            problem = f"has {len(fields)} tab-separated fields, expected 4 (user, movie, rating, timestamp)"
        elif not all(field.strip().lstrip("-").isdigit() for field in fields):
            problem = f"has a non-integer field in {line!r}"
        else:
            continue
        raise DataError(f"{path} line {number} {problem}; fix or remove that row (truncated file?)")
    raise DataError(f"{path} could not be parsed as tab-separated integers")


def parse_items(path: Path) -> dict[int, str]:
    """Parse ``u.item`` (Latin-1, ``|``-separated) into ``{movie id: title}``."""
    titles: dict[int, str] = {}
    text = path.read_bytes().decode("latin-1")
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        fields = line.split("|")
        if len(fields) < 2 or not fields[0].isdigit():
            raise DataError(
                f"{path} line {number} is not '<movie id>|<title>|...'; fix or remove that row"
            )
        titles[int(fields[0])] = fields[1]
    if not titles:
        raise DataError(f"{path} is empty; it should hold one movie per line")
    return titles


# --------------------------------------------------------------------------
# The protocol


def split(data: MovieLens, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row indices of the train / validation / test splits (seeded shuffle, 70/15/15)."""
    order = np.random.default_rng(seed).permutation(len(data))
    n_train = round(len(data) * SPLIT_FRACTIONS[0])
    n_val = round(len(data) * SPLIT_FRACTIONS[1])
    return order[:n_train], order[n_train : n_train + n_val], order[n_train + n_val :]


def sample_lists(
    user_id: np.ndarray,
    movie_id: np.ndarray,
    label: np.ndarray,
    *,
    list_size: int,
    lists_per_user: int,
    rng: np.random.Generator,
) -> Lists:
    """Sample ``lists_per_user`` lists of ``list_size`` distinct rows per user.

    Users with fewer than ``list_size`` rows are skipped. Each list is a
    uniform sample without replacement of that user's rows (Floyd's
    algorithm, vectorised over all lists), in random order.
    """
    order = np.argsort(user_id, kind="stable")
    users, starts, counts = np.unique(user_id[order], return_index=True, return_counts=True)
    keep = counts >= list_size
    users, starts, counts = users[keep], starts[keep], counts[keep]
    if len(users) == 0:
        raise DataError(
            f"no user has {list_size} or more ratings in this split; use a smaller list size"
        )
    n = np.repeat(counts, lists_per_user)[:, None]  # (lists, 1)
    num_lists = len(n)
    chosen = np.empty((num_lists, list_size), dtype=np.int64)
    # Floyd: for j = n-k .. n-1, draw t in [0, j]; take t unless already taken, else j.
    for step in range(list_size):
        j = n[:, 0] - list_size + step
        t = np.floor(rng.random(num_lists) * (j + 1)).astype(np.int64)
        taken = (chosen[:, :step] == t[:, None]).any(axis=1)
        chosen[:, step] = np.where(taken, j, t)
    shuffle = np.argsort(rng.random((num_lists, list_size)), axis=1)
    chosen = np.take_along_axis(chosen, shuffle, axis=1)
    rows = order[np.repeat(starts, lists_per_user)[:, None] + chosen]
    return Lists(
        user_id=np.repeat(users, lists_per_user).astype(np.int32),
        movie_id=movie_id[rows].astype(np.int32),
        label=label[rows].astype(np.float32),
    )


def build_lists(
    data: MovieLens,
    *,
    protocol: str = "intended",
    seed: int = 42,
    list_size: int = 5,
) -> Splits:
    """Split ``data`` and sample the train / validation / test lists."""
    if protocol not in PROTOCOLS:
        raise DataError(f"unknown protocol {protocol!r}; choose one of {', '.join(PROTOCOLS)}")
    if list_size < 2:
        raise DataError(f"list size {list_size} is too small; a ranking list needs at least 2 items")
    train_per_user, eval_per_user = PROTOCOLS[protocol]
    label = (data.rating.astype(np.float32) - 1.0) / 4.0
    rng = np.random.default_rng(seed)
    parts = []
    for rows, per_user in zip(split(data, seed), (train_per_user, eval_per_user, eval_per_user)):
        parts.append(
            sample_lists(
                data.user_id[rows],
                data.movie_id[rows],
                label[rows],
                list_size=list_size,
                lists_per_user=per_user,
                rng=rng,
            )
        )
    return Splits(*parts)
