"""One short real-data `bench run` + `bench report` on this backend, checked field by field."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from bench import results

LOSSES = ["mse", "pairwise_hinge"]


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory, ml100k_dir, backend):
    out_dir = tmp_path_factory.mktemp("runs")
    out = out_dir / f"{backend}.json"
    env = {**os.environ, "KERAS_BACKEND": backend}
    command = [sys.executable, "-m", "bench", "run", "--backend", backend, "--loss", *LOSSES,
               "--seeds", "1", "--epochs", "1", "--data-dir", str(ml100k_dir), "--out", str(out)]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    report = out_dir / "README.md"
    rendered = subprocess.run([sys.executable, "-m", "bench", "report", str(out), "--out", str(report)],
                              capture_output=True, text=True, env=env, timeout=300)
    assert rendered.returncode == 0, rendered.stderr[-3000:]
    return json.loads(out.read_text()), report.read_text(), done.stdout


def test_results_document(smoke_run, backend, ml100k_dir):
    document, _, _ = smoke_run
    results.validate(document)
    assert document["schema"] == "listrank-bench/1"
    assert document["backend"] == backend
    versions = document["versions"]
    for key in ("python", "keras", "keras_rs", "numpy", "jaxlib" if backend == "jax" else backend):
        assert versions[key], key
    machine = document["machine"]
    assert machine["cores"] >= 1 and machine["memory_gb"] > 0 and machine["cpu"]
    assert "gpu" in machine
    config = document["config"]
    assert config["losses"] == LOSSES and config["seeds"] == [42] and config["epochs"] == 1
    assert config["protocol"] == "intended" and config["batch_size"] == 1024 and config["list_size"] == 5
    assert config["dataset"]["verified"] is True
    assert config["dataset"]["train_lists"] == 47_150


def test_every_run_is_complete_and_plausible(smoke_run):
    document, _, _ = smoke_run
    assert [(r["loss"], r["seed"]) for r in document["runs"]] == [(loss, 42) for loss in LOSSES]
    for run in document["runs"]:
        assert run["status"] == "ok" and run["error"] is None
        assert run["compile_s"] > 0
        step = run["step_ms"]
        # 47 steps, the first compiles, the 47th is partial: windows of 5 over steps 1..45 -> 9
        assert step["n"] == 9 == len(run["step_samples_ms"])
        assert 0 < step["p10"] <= step["median"] <= step["p90"]
        assert run["lists_per_s"] == pytest.approx(1024 * 1000 / step["median"])
        assert run["items_per_s"] == pytest.approx(5 * run["lists_per_s"])
        assert run["peak_rss_mb"] > 50
        assert 0.85 < run["test"]["ndcg@5"] <= 1.0
        assert 0.85 < run["test_random"]["ndcg@5"] < 0.92
        assert len(run["epoch_loss"]) == 1


def test_pairwise_hinge_beats_random_after_one_epoch(smoke_run):
    document, _, _ = smoke_run
    hinge = next(r for r in document["runs"] if r["loss"] == "pairwise_hinge")
    assert hinge["test"]["ndcg@5"] > hinge["test_random"]["ndcg@5"] + 0.01


def test_report_tables(smoke_run, backend):
    document, markdown, _ = smoke_run
    assert "## ml-100k, protocol `intended`, 1 epochs, batch 1024, lists of 5, CPU" in markdown
    lines = markdown.splitlines()
    header = next(line for line in lines if line.startswith("| loss"))
    assert f"{backend}<br>NDCG@5" in header and f"{backend}<br>ms/step" in header
    for run in document["runs"]:
        row = next(line for line in lines if line.startswith(f"| `{run['loss']}`"))
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert cells[1] == f"{run['test']['ndcg@5']:.4f} (n=1)"
        assert cells[2] == f"{run['step_ms']['median']:.2f}"
        assert cells[4] == f"{run['compile_s']:.2f}"
    assert "random scores (reference)" in markdown
    assert document["versions"]["keras"] in markdown and document["machine"]["cpu"] in markdown


def test_progress_lines(smoke_run):
    _, _, stdout = smoke_run
    assert "[1/2] loss=mse seed=42" in stdout and "2 ok, 0 failed" in stdout
