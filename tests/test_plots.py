"""bench.plots and the report's figures: every figure is written, non-trivial and embedded."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
import matplotlib.image  # noqa: E402

from bench import plots, report, results  # noqa: E402

BACKENDS = ("jax", "tensorflow", "torch")
LOSSES = ("pairwise_logistic", "softmax")


def _document(backend: str, runs: list[dict], config: dict) -> dict:
    return {
        "schema": results.SCHEMA, "backend": backend, "created": "2026-01-01T00:00:00+00:00",
        "versions": {"python": "3.11.7", "keras": "3.15.1", backend: "1.0", "numpy": "2.4"},
        "machine": {"cpu": "Test CPU", "cores": 2, "memory_gb": 8.0, "gpu": None},
        "config": {"command": "python -m bench test", **config},
        "runs": runs,
    }


def _run(loss: str, seed: int, rng: np.random.Generator, **extra) -> dict:
    samples = list(rng.uniform(10, 12, size=6))
    return {"loss": loss, "seed": seed, "status": "ok", "error": None, "compile_s": float(rng.uniform(1, 3)),
            "step_ms": {"median": float(np.median(samples)), "p10": float(np.percentile(samples, 10)),
                        "p90": float(np.percentile(samples, 90)), "n": 6},
            "step_samples_ms": samples, "lists_per_s": 100.0, "items_per_s": 500.0, "peak_rss_mb": 300.0,
            **extra}


@pytest.fixture(scope="module")
def documents(tmp_path_factory) -> list[tuple[Path, dict]]:
    rng = np.random.default_rng(0)
    folder = tmp_path_factory.mktemp("runs")
    docs = []
    for backend in BACKENDS:
        quality = [_run(loss, seed, rng, test={"ndcg@5": float(rng.uniform(0.88, 0.92))},
                        test_random={"ndcg@5": 0.87})
                   for seed in (42, 43, 44) for loss in LOSSES]
        docs.append(_document(backend, quality, {
            "protocol": "intended", "epochs": 5, "batch_size": 1024, "list_size": 5,
            "dataset": {"name": "ml-100k"}}))
        sweep_runs = []
        for axis, values in (("list_size", (5, 20, 80)), ("batch_size", (256, 1024))):
            for value in values:
                for loss in LOSSES:
                    point = {"list_size": 5, "batch_size": 256, "vocab_size": 1682, "embedding_dim": 32, axis: value}
                    sweep_runs.append(_run(loss, 42, rng, test=None, axis=axis, point=point,
                                           dataset="synthetic-test"))
        docs.append(_document(backend, sweep_runs, {
            "sweep": {"axes": ["list_size", "batch_size"]}, "protocol": "timing",
            "dataset": {"name": "synthetic"}}))
    paths = []
    for i, doc in enumerate(docs):
        results.validate(doc)
        path = folder / f"{i}.json"
        path.write_text(json.dumps(doc))
        paths.append(path)
    return [(p, d) for p, d in zip(paths, docs)]


def _check_png(path: Path) -> None:
    assert path.stat().st_size > 15_000, path
    image = matplotlib.image.imread(path)
    height, width = image.shape[:2]
    assert width >= 600 and height >= 400, (path, image.shape)
    rgb = image[..., :3]
    not_white = (rgb < 0.95).any(axis=-1).mean()
    colored = (np.ptp(rgb, axis=-1) > 0.3).mean()  # backend colours, not just black text
    assert 0.01 < not_white < 0.9 and colored > 0.002, (path, not_white, colored)


def test_every_figure_is_written_and_non_trivial(documents, tmp_path):
    lines = plots.write_figures(documents, tmp_path / "figures")
    embedded = plots.figure_names(lines)
    names = {Path(p).stem.split("-ml-100k")[0] for p in embedded}
    assert {"step-time", "ndcg", "compile", "sweep-list-size-cpu", "sweep-batch-size-cpu"} <= names
    for relative in embedded:
        png = tmp_path / relative
        _check_png(png)
        svg = png.with_suffix(".svg")
        text = svg.read_text()
        assert svg.stat().st_size > 5_000 and "<svg" in text
        assert "Test CPU (2 cores)" in text  # the title names the machine (SVG text stays text)


def test_report_embeds_figures_and_sweep_tables(documents, tmp_path):
    out = tmp_path / "README.md"
    assert report.write_report([p for p, _ in documents], out) == 0
    markdown = out.read_text()
    for relative in plots.figure_names(markdown.splitlines()):
        assert (out.parent / relative).is_file()
    assert "## Scaling sweeps" in markdown and "### Step time vs list length" in markdown
    assert re.search(r"^\| `softmax`\s+\| 80\s+\| [0-9.]+ \[[0-9.]+–[0-9.]+\]\s+\| [0-9.]+", markdown, re.M)
    # sweep runs never appear in the quality tables as NDCG rows
    assert "## ml-100k, protocol `intended`" in markdown


def test_provenance_names_machine_and_versions(documents):
    text = plots.provenance([d for _, d in documents])
    assert "Test CPU (2 cores), no GPU" in text
    assert "jax 1.0" in text and "tensorflow 1.0" in text and "torch 1.0" in text and "keras 3.15.1" in text
