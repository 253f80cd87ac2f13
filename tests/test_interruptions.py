"""Failures and interruptions lose nothing: NaN runs, kills, resume, concurrent writers."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench import results
from bench.cli import main
from tests.movielens_files import random_movielens
from tests.signals import swallow

LOSSES = ["mse", "pairwise_hinge", "pairwise_logistic", "list_mle"]


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    return random_movielens(tmp_path_factory.mktemp("ml"))


def _args(small, backend, out, *extra, losses=("mse",)):
    return ["run", "--backend", backend, "--data-dir", str(small), "--allow-unverified-data",
            "--loss", *losses, "--seeds", "1", "--epochs", "1", "--out", str(out), "--quiet", *extra]


def test_nan_loss_is_recorded_as_failed_and_the_rest_continue(tmp_path, small, backend):
    out = tmp_path / "r.json"
    # An absurd learning rate overflows the weights: the loss becomes NaN or infinite.
    code = main(_args(small, backend, out, "--learning-rate", "1e30", "--epochs", "3",
                      losses=("mse", "pairwise_hinge")))
    assert code == 1
    runs = results.load(out)["runs"]
    assert [r["loss"] for r in runs] == ["mse", "pairwise_hinge"]
    for run in runs:
        assert run["status"] == "failed"
        assert run["test"] is None
        reason_given = "training loss became" in run["error"] or "non-finite" in run["error"]
        # Keras-TF's sparse Adagrad update may error out once the weights blow up: its own reason.
        tf_error = (backend == "tensorflow" and run["error"].startswith("InvalidArgumentError: ")
                    and not run["error"].endswith(":"))
        assert reason_given or tf_error, run["error"]


def test_failed_runs_show_as_failed_in_the_report(tmp_path, small, backend):
    out = tmp_path / "r.json"
    main(_args(small, backend, out, "--learning-rate", "1e30", "--epochs", "3"))
    readme = tmp_path / "README.md"
    main(["report", str(out), "--out", str(readme)])
    row = next(line for line in readme.read_text().splitlines() if line.startswith("| `mse`"))
    assert "failed (1/1)" in row
    assert "nan" not in row.lower()


def test_resume_runs_only_what_is_missing(tmp_path, small, backend):
    out = tmp_path / "r.json"
    assert main(_args(small, backend, out, losses=("mse", "pairwise_hinge"))) == 0
    first = results.load(out)["runs"]
    assert main(_args(small, backend, out, "--resume", losses=("mse", "pairwise_hinge", "list_mle"))) == 0
    document = results.load(out)
    assert [(r["loss"], r["seed"]) for r in document["runs"]] == [("mse", 42), ("pairwise_hinge", 42), ("list_mle", 42)]
    assert document["runs"][:2] == first  # kept as they were, not re-run
    assert document["config"]["losses"] == ["mse", "pairwise_hinge", "list_mle"]
    # the native baselines of the kept runs are kept too, not re-run or dropped
    assert [(r["loss"], r["seed"]) for r in document["native_runs"]] == [("mse", 42), ("pairwise_hinge", 42)]


def test_resume_refuses_another_configuration(tmp_path, small, backend, capsys):
    out = tmp_path / "r.json"
    assert main(_args(small, backend, out)) == 0
    before = out.read_text()
    code = main(_args(small, backend, out, "--resume", "--batch-size", "64"))
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and "cannot resume" in err[-1] and "batch_size" in err[-1]
    assert out.read_text() == before


def test_a_new_writer_removes_temporaries_of_a_killed_one(tmp_path):
    out = tmp_path / "r.json"
    stale = tmp_path / ".r.json.abc123.tmp"
    stale.write_text('{"half')
    other = tmp_path / ".other.json.abc123.tmp"
    other.write_text("{}")
    with results.exclusive(out):
        assert not stale.exists() and other.exists()


def test_a_second_writer_of_the_same_file_is_refused(tmp_path, small, backend, capsys):
    out = tmp_path / "r.json"
    with results.exclusive(out):
        code = main(_args(small, backend, out))
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and "being written by another bench run" in err[-1] and f"pid {os.getpid()}" in err[-1]
    assert not out.exists()


def _start(small, backend, out, losses):
    env = {**os.environ, "KERAS_BACKEND": backend}
    command = [sys.executable, "-m", "bench", *_args(small, backend, out, losses=losses)[:-1]]
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for_runs(out: Path, count: int, process, timeout=300):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        try:
            if len(json.loads(out.read_text())["runs"]) >= count:
                return
        except (OSError, ValueError):
            pass
        time.sleep(0.05)
    pytest.fail("the benchmark did not finish a run in time")


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM, signal.SIGINT])
def test_killing_a_run_keeps_every_finished_run(tmp_path, small, backend, sig):
    out = tmp_path / "r.json"
    process = _start(small, backend, out, LOSSES)
    _wait_for_runs(out, 1, process)
    process.send_signal(sig)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode != 0
    document = results.load(out)  # parses and validates
    finished = document["runs"]
    assert 1 <= len(finished) < len(LOSSES)
    assert [r["loss"] for r in finished] == LOSSES[: len(finished)]
    assert all(r["status"] == "ok" for r in finished)

    def temporaries():
        return [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]

    if sig != signal.SIGKILL:
        assert "interrupted" in stderr and "--resume" in stderr and "Traceback" not in stderr
        assert not temporaries()
    else:  # a resumed run completes the set without duplicates, and clears a half-written temporary
        assert main(_args(small, backend, out, "--resume", losses=LOSSES)) == 0
        assert [r["loss"] for r in results.load(out)["runs"]] == LOSSES
        assert not temporaries()


def _after_call(function, when):
    def wrapped(*args, **kwargs):
        result = function(*args, **kwargs)
        if when(*args, **kwargs):
            swallow(signal.SIGINT)
        return result
    return wrapped


def test_an_interrupt_swallowed_during_training_stops_at_the_next_batch(tmp_path, small, backend, capsys,
                                                                        monkeypatch):
    from bench.timing import StepTimer

    out = tmp_path / "r.json"
    calls = []
    monkeypatch.setattr(StepTimer, "on_train_batch_begin", _after_call(
        StepTimer.on_train_batch_begin, lambda timer, batch, logs=None: calls.append(batch) or len(calls) == 30))
    # 1,500 training lists in batches of 64: 24 steps per epoch, so batch 30 is in mse's second epoch
    code = main(_args(small, backend, out, "--no-native", "--epochs", "3", "--batch-size", "64", losses=LOSSES))
    err = capsys.readouterr().err
    assert code == 130 and "interrupted" in err and "--resume" in err
    assert len(calls) == 30  # not one batch more
    assert results.load(out)["runs"] == []


def test_an_interrupt_swallowed_in_the_last_run_still_ends_the_command_as_interrupted(
        tmp_path, small, backend, capsys, monkeypatch):
    import bench.run

    out = tmp_path / "r.json"
    monkeypatch.setattr(bench.run, "run_one", _after_call(
        bench.run.run_one, lambda config, data, splits, loss_name, seed: loss_name == "pairwise_hinge"))
    code = main(_args(small, backend, out, "--no-native", losses=("mse", "pairwise_hinge")))
    err = capsys.readouterr().err
    assert code == 130 and "interrupted" in err
    assert [r["loss"] for r in results.load(out)["runs"]] == ["mse", "pairwise_hinge"]


def test_an_interrupt_swallowed_in_a_sweep_stops_it_after_the_point(tmp_path, backend, capsys, monkeypatch):
    import bench.sweep

    out = tmp_path / "s.json"
    monkeypatch.setattr(bench.sweep, "time_point", _after_call(bench.sweep.time_point, lambda *a: True))
    code = main(["sweep", "--backend", backend, "--loss", "mse", "--axis", "list-size", "--list-sizes", "5", "10",
                 "--windows", "1", "--window-steps", "1", "--out", str(out), "--quiet"])
    err = capsys.readouterr().err
    assert code == 130 and f"interrupted; every point finished before the interruption is saved in {out}" in err
    assert [r["point"]["list_size"] for r in results.load(out)["runs"]] == [5]


def test_two_runs_into_one_folder_do_not_clobber(tmp_path, small, backend):
    first = _start(small, backend, tmp_path / "a.json", ["mse"])
    second = _start(small, backend, tmp_path / "b.json", ["list_mle"])
    for process in (first, second):
        process.communicate(timeout=300)
        assert process.returncode == 0
    assert [r["loss"] for r in results.load(tmp_path / "a.json")["runs"]] == ["mse"]
    assert [r["loss"] for r in results.load(tmp_path / "b.json")["runs"]] == ["list_mle"]
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith(".")) == ["a.json", "b.json"]
