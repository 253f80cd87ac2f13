"""`bench sweep` on this backend: a tiny real sweep, its results file, progress and report; CLI errors."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

from bench import cli, results


@pytest.fixture(scope="module")
def tiny_sweep(tmp_path_factory, backend):
    folder = tmp_path_factory.mktemp("sweep")
    out = folder / f"sweep-{backend}.json"
    env = {**os.environ, "KERAS_BACKEND": backend}
    command = [sys.executable, "-m", "bench", "sweep", "--backend", backend, "--loss", "pairwise_logistic",
               "softmax", "--axis", "list-size", "batch-size", "--list-sizes", "5", "40",
               "--batch-sizes", "64", "--windows", "2", "--window-steps", "2", "--out", str(out)]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    readme = folder / "README.md"
    rendered = subprocess.run([sys.executable, "-m", "bench", "report", str(out), "--out", str(readme)],
                              capture_output=True, text=True, env=env, timeout=300)
    assert rendered.returncode == 0, rendered.stderr[-3000:]
    return json.loads(out.read_text()), done.stdout, readme


def test_sweep_results_file(tiny_sweep, backend):
    document, _, _ = tiny_sweep
    results.validate(document)
    assert document["backend"] == backend
    config = document["config"]
    assert config["sweep"]["axes"] == ["list_size", "batch_size"]
    assert config["sweep"]["values"] == {"list_size": [5, 40], "batch_size": [64]}
    assert config["sweep"]["steps_per_point"] == 2 + 2 * 2
    assert config["dataset"]["generator"] == "listrank.synthetic"
    assert config["device_count"] == 1 and config["distribution"] == "none"
    assert "peak_device_memory_scope" in config
    runs = document["runs"]
    assert [(r["axis"], r["point"][r["axis"]], r["loss"]) for r in runs] == [
        ("list_size", 5, "pairwise_logistic"), ("list_size", 5, "softmax"),
        ("list_size", 40, "pairwise_logistic"), ("list_size", 40, "softmax"),
        ("batch_size", 64, "pairwise_logistic"), ("batch_size", 64, "softmax")]
    for run in runs:
        assert run["status"] == "ok", run["error"]
        assert run["dataset"].startswith("synthetic-u943-i1682-")
        assert run["test"] is None  # a sweep times training only
        assert run["step_ms"]["n"] == 2 == len(run["step_samples_ms"])
        assert run["compile_s"] > 0 and run["step_ms"]["median"] > 0
        assert run["lists_per_s"] == pytest.approx(run["point"]["batch_size"] * 1000 / run["step_ms"]["median"])
        assert "peak_device_memory_mb" in run  # None on a CPU-only machine
    long_lists = next(r for r in runs if r["point"]["list_size"] == 40)
    assert "min40" in long_lists["dataset"]  # every user can fill a list of 40


def test_sweep_progress_lines(tiny_sweep, backend):
    _, stdout, _ = tiny_sweep
    lines = stdout.splitlines()
    assert lines[0].startswith(f"[1/6] loss=pairwise_logistic seed=42 list_size=5 backend={backend} elapsed ")
    assert any(line.startswith("[6/6] loss=softmax seed=42 batch_size=64") for line in lines)
    assert lines[0].endswith("eta ?")  # nothing finished yet: no estimate
    third = next(line for line in lines if line.startswith("[3/6]"))
    assert re.search(r"elapsed \d+:\d\d eta \d+:\d\d$", third)
    assert "\r" not in stdout and "6 ok, 0 failed" in lines[-1]


def test_report_renders_the_sweep(tiny_sweep, backend):
    _, _, readme = tiny_sweep
    markdown = readme.read_text()
    assert "### Step time vs list length (items per list), CPU" in markdown
    assert f"{backend}<br>ms/step" in markdown and f"{backend}<br>slope" in markdown
    assert (readme.parent / "figures" / "sweep-list-size-cpu.png").is_file()
    assert (readme.parent / "figures" / "sweep-batch-size-cpu.svg").is_file()


def test_quiet_sweep_prints_nothing(tmp_path, backend):
    env = {**os.environ, "KERAS_BACKEND": backend}
    out = tmp_path / "q.json"
    done = subprocess.run([sys.executable, "-m", "bench", "sweep", "--backend", backend, "--loss", "mse",
                           "--axis", "batch-size", "--batch-sizes", "32", "--windows", "1",
                           "--window-steps", "1", "--quiet", "--out", str(out)],
                          capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout == ""
    assert json.loads(out.read_text())["runs"][0]["status"] == "ok"


@pytest.mark.parametrize("args, words", [
    (["--axis", "list-size", "--list-sizes", "1"], "--list-sizes must be at least 2"),
    (["--axis", "list-size", "--batch-sizes", "64"], "--axis does not include batch-size"),
    (["--axis", "list-size", "list-size"], "named twice"),
    (["--axis", "list-size", "--list-sizes", "2000"], "longer than the sweep's item vocabulary"),
    (["--loss", "softmx"], "did you mean 'softmax'"),
    (["--axis", "width"], "invalid choice"),
])
def test_bad_sweep_arguments_get_one_line_errors(args, words, backend, capsys, tmp_path):
    code = cli.main(["sweep", "--backend", backend, "--out", str(tmp_path / "x.json"), *args])
    err = capsys.readouterr().err
    assert code == 2 and words in err, err
    assert err.startswith("error: ") and err.count("\n") == 1
    assert not (tmp_path / "x.json").exists()
