"""Bad input ends in one clear line and a non-zero exit, never a backend traceback."""

from __future__ import annotations

import json
import zipfile

import pytest

from bench.cli import main
from listrank import data as ml
from tests.movielens_files import random_movielens, write_movielens


def _run_cli(capsys, *argv):
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.err.strip().splitlines()


def _assert_one_line_error(code, lines, *fragments):
    assert code != 0
    assert len(lines) == 1, lines
    assert lines[0].startswith("error: ")
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    assert "Traceback" not in lines[0]


# ---------------------------------------------------------------- data


@pytest.fixture
def small(tmp_path):
    return random_movielens(tmp_path / "ml")


def _bench(small_dir, backend, *extra):
    return ("run", "--backend", backend, "--data-dir", str(small_dir), "--allow-unverified-data",
            "--loss", "mse", "--seeds", "1", "--epochs", "1", *extra)


def test_data_folder_missing(capsys, tmp_path, backend):
    code, lines = _run_cli(capsys, "run", "--backend", backend, "--data-dir", str(tmp_path / "nope"))
    _assert_one_line_error(code, lines, "does not exist", "--data-dir")


@pytest.mark.parametrize("missing", ["u.data", "u.item"])
def test_required_file_missing(capsys, small, backend, missing):
    (small / missing).unlink()
    code, lines = _run_cli(capsys, *_bench(small, backend))
    _assert_one_line_error(code, lines, f"has no {missing}")


@pytest.mark.parametrize("row, fragment", [
    ("1\t2\t3", "has 3 tab-separated fields"),
    ("1\t2\t3\t4\t5", "has 5 tab-separated fields"),
    ("1\tabc\t3\t4", "non-integer"),
    ("1\t2\t3.5\t4", "non-integer"),
    ("1\t2\t6\t4", "rating 6 is out of range"),
    ("1\t2\t0\t4", "rating 0 is out of range"),
    ("0\t2\t3\t4", "user id 0 is out of range"),
    ("1\t-2\t3\t4", "movie id -2 is out of range"),
    ("1\t999\t3\t4", "movie id 999 is not in u.item"),
])
def test_malformed_rating_rows_name_the_line(tmp_path, row, fragment):
    folder = write_movielens(tmp_path, [(1, 1, 4), (2, 1, 3)], {1: "A", 2: "B"})
    with open(folder / "u.data", "a") as f:
        f.write(row + "\n")
    with pytest.raises(ml.DataError, match="line 3") as error:
        ml.load_movielens(folder, allow_unverified=True)
    assert fragment in str(error.value)


def test_empty_and_truncated_files(tmp_path):
    folder = write_movielens(tmp_path, [(1, 1, 4)], {1: "A"})
    (folder / "u.data").write_text("")
    with pytest.raises(ml.DataError, match="is empty"):
        ml.load_movielens(folder, allow_unverified=True)
    (folder / "u.data").write_text("1\t1\t4\t881250949\n2\t1\t3\t8812")
    ml.load_movielens(folder, allow_unverified=True)  # a cut inside the last number still parses...
    (folder / "u.data").write_text("1\t1\t4\t881250949\n2\t1\t")
    with pytest.raises(ml.DataError, match="line 2"):
        ml.load_movielens(folder, allow_unverified=True)


def test_truncated_real_file_fails_its_checksum(tmp_path, ml100k_dir):
    # ...which is why the real release is verified: a truncated copy is refused.
    folder = tmp_path / "ml"
    folder.mkdir()
    (folder / "u.item").write_bytes((ml100k_dir / "u.item").read_bytes())
    (folder / "u.data").write_bytes((ml100k_dir / "u.data").read_bytes()[:-7])
    with pytest.raises(ml.DataError, match="SHA-256 mismatch.*--allow-unverified-data"):
        ml.load_movielens(folder)


def test_duplicate_rating_is_refused(tmp_path):
    folder = write_movielens(tmp_path, [(1, 1, 4), (1, 1, 2)], {1: "A"})
    with pytest.raises(ml.DataError, match="more than once"):
        ml.load_movielens(folder, allow_unverified=True)


def test_checksum_mismatch_refused_then_allowed_and_recorded(capsys, small, tmp_path, backend):
    code, lines = _run_cli(capsys, "run", "--backend", backend, "--data-dir", str(small), "--loss", "mse")
    _assert_one_line_error(code, lines, "differ from the official", "--allow-unverified-data")
    out = tmp_path / "r.json"
    assert main(list(_bench(small, backend, "--out", str(out), "--quiet"))) == 0
    dataset = json.loads(out.read_text())["config"]["dataset"]
    assert dataset["verified"] is False and "unverified" in dataset["name"]


def _zip(path, entries):
    with zipfile.ZipFile(path, "w") as zf:
        for name, content in entries.items():
            zf.writestr(name, content)
    return path


def test_download_with_wrong_checksum_is_deleted(tmp_path):
    source = _zip(tmp_path / "fake.zip", {"ml-100k/u.data": "1\t1\t1\t1\n"})
    cache = tmp_path / "cache"
    with pytest.raises(ml.DataError, match="corrupt file was deleted"):
        ml.download_archive(cache, url=source.as_uri())
    assert not (cache / "ml-100k.zip").exists()
    assert not list(cache.glob("*.part"))


def test_download_failure_points_at_data_dir(tmp_path):
    with pytest.raises(ml.DataError, match="--data-dir"):
        ml.download_archive(tmp_path, url=(tmp_path / "absent.zip").as_uri())
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("entry", ["../evil.txt", "ml-100k/../../evil.txt", "/tmp/evil-abs.txt"])
def test_archive_entries_outside_the_target_are_refused(tmp_path, entry):
    archive = _zip(tmp_path / "a.zip", {"ml-100k/u.data": "x", entry: "boom"})
    target = tmp_path / "target"
    target.mkdir()
    with pytest.raises(ml.DataError, match="outside"):
        ml.extract_archive(archive, target)
    assert not (tmp_path / "evil.txt").exists() and list(target.iterdir()) == []


# ---------------------------------------------------------------- configuration


def test_unknown_backend_suggests_the_closest(capsys):
    code, lines = _run_cli(capsys, "run", "--backend", "pytorch")
    _assert_one_line_error(code, lines, "unknown backend 'pytorch'", "did you mean 'torch'", "jax, tensorflow, torch")


def test_unknown_loss_lists_the_valid_ones(capsys, small, backend):
    code, lines = _run_cli(capsys, *_bench(small, backend)[:-6], "--loss", "pairwise_hinje")
    _assert_one_line_error(code, lines, "unknown loss 'pairwise_hinje'", "did you mean 'pairwise_hinge'", "mse")


@pytest.mark.parametrize("flag, value", [("--epochs", "0"), ("--seeds", "-1"), ("--batch-size", "0"),
                                         ("--epochs", "two"), ("--learning-rate", "-0.1"),
                                         ("--learning-rate", "nan")])
def test_non_positive_numbers(capsys, backend, flag, value):
    code, lines = _run_cli(capsys, "run", "--backend", backend, flag, value)
    _assert_one_line_error(code, lines, flag)


def test_list_size_larger_than_ratings_allow(capsys, small, backend):
    code, lines = _run_cli(capsys, *_bench(small, backend, "--list-size", "500"))
    _assert_one_line_error(code, lines, "no user has 500 or more ratings", "smaller list size")


@pytest.mark.parametrize("losses, fragment", [(["all", "mse"], "'all' cannot be combined"),
                                              (["mse", "mse"], "named twice")])
def test_conflicting_loss_flags(capsys, small, backend, losses, fragment):
    code, lines = _run_cli(capsys, "run", "--backend", backend, "--loss", *losses)
    _assert_one_line_error(code, lines, fragment)


def test_backend_disagreeing_with_environment(capsys, monkeypatch, backend):
    other = "torch" if backend != "torch" else "jax"
    code, lines = _run_cli(capsys, "run", "--backend", other)
    _assert_one_line_error(code, lines, f"disagrees with KERAS_BACKEND={backend}")


def test_backend_not_installed_names_the_tox_env(monkeypatch):
    import importlib.util

    from bench import backend as backend_module

    monkeypatch.delenv("KERAS_BACKEND", raising=False)
    monkeypatch.setattr(backend_module, "sys", type("S", (), {"modules": {}})())
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(backend_module.BackendError, match=r"tox -e bench-tensorflow.*listrank\[tensorflow\]"):
        backend_module.select("tensorflow")


def test_debug_shows_the_traceback(capsys, tmp_path, backend):
    with pytest.raises(ml.DataError):
        main(["run", "--backend", backend, "--data-dir", str(tmp_path / "nope"), "--debug"])


# ---------------------------------------------------------------- results files


def _valid(tmp_path, backend, small):
    out = tmp_path / "good.json"
    assert main(list(_bench(small, backend, "--out", str(out), "--quiet"))) == 0
    return out


def test_report_names_bad_files_and_reports_the_rest(capsys, tmp_path, backend, small):
    good = _valid(tmp_path, backend, small)
    bad = {"empty.json": "", "trunc.json": good.read_text()[:200], "text.json": "not json",
           "schema.json": json.dumps({**json.loads(good.read_text()), "schema": "listrank-bench/0"})}
    paths = [good]
    for name, content in bad.items():
        (tmp_path / name).write_text(content)
        paths.append(tmp_path / name)
    paths.append(tmp_path / "missing.json")
    out = tmp_path / "README.md"
    code = main(["report", *map(str, paths), "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 1
    for name in [*bad, "missing.json"]:
        assert name in err
    assert "`mse`" in out.read_text()


def test_report_with_no_valid_file(capsys, tmp_path):
    (tmp_path / "x.json").write_text("{}")
    code, lines = _run_cli(capsys, "report", str(tmp_path / "x.json"), "--out", str(tmp_path / "R.md"))
    assert code == 2 and lines[-1].startswith("error: no valid results files")
    assert not (tmp_path / "R.md").exists()
