"""`bench compare` on synthetic results files: regressions found, noise not flagged,
mismatched configs refused, ratios compared across machines."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from bench import compare, results


def document(step_ms: float, spread: float = 0.03, native_ms: float | None = None, seed: int = 0,
             ndcg: float = 0.90, cpu: str = "Test CPU", epochs: int = 5, windows: int = 40) -> dict:
    """A results document with three seeds of `mse`, log-normal window noise."""
    rng = np.random.default_rng(seed)

    def run(loss, s, ms, impl):
        samples = (ms * rng.lognormal(0, spread, windows)).round(4).tolist()
        return {"loss": loss, "seed": s, "status": "ok", "error": None, "compile_s": 1.0,
                "step_ms": {"median": float(np.median(samples)), "p10": 0, "p90": 0, "n": windows},
                "step_samples_ms": samples, "lists_per_s": 1.0, "items_per_s": 5.0,
                "peak_rss_mb": 100.0, "impl": impl,
                "test": {"ndcg@5": ndcg + 0.002 * (s - 43) + rng.normal(0, 0.0005)}}

    doc = {
        "schema": results.SCHEMA, "backend": "jax", "created": "2025-01-01T00:00:00+00:00",
        "versions": {"keras": "3"}, "machine": {"cpu": cpu, "cores": 2, "gpu": None, "threads": {}},
        "config": {"epochs": epochs, "protocol": "intended", "batch_size": 1024, "list_size": 5,
                   "optimizer": {"name": "adagrad", "learning_rate": 0.1}, "embedding_dim": 32,
                   "timing_window_steps": 5, "relevance_threshold": 0.75, "dataset": {"name": "ml-100k"}},
        "runs": [run("mse", s, step_ms, "keras") for s in (42, 43, 44)],
    }
    if native_ms is not None:
        doc["native_runs"] = [run("mse", s, native_ms, "native") for s in (42, 43, 44)]
    results.validate(doc)
    return doc


def test_a_real_slowdown_is_a_regression():
    text, problems = compare.compare(document(10.0), document(12.5, seed=1), threshold=0.10)
    assert len(problems) == 1 and "step time +2" in problems[0]
    assert "**regression**" in text


def test_noise_is_not_flagged():
    flagged = 0
    for seed in range(20):
        _, problems = compare.compare(document(10.0, seed=seed), document(10.0, seed=100 + seed), 0.10)
        flagged += bool(problems)
    assert flagged == 0


def test_a_significant_change_below_the_threshold_is_not_a_regression():
    text, problems = compare.compare(document(10.0, spread=0.01), document(10.5, spread=0.01, seed=1), 0.10)
    assert problems == [] and "+5." in text


def test_a_large_but_insignificant_change_is_not_a_regression():
    base = document(10.0, spread=0.6, windows=3)
    cur = document(11.5, spread=0.6, seed=1, windows=3)
    _, problems = compare.compare(base, cur, threshold=0.10, alpha=0.01)
    assert problems == []


def test_a_quality_drop_fails():
    text, problems = compare.compare(document(10.0), document(10.0, seed=1, ndcg=0.88), 0.10)
    assert any("NDCG@5 dropped" in p for p in problems) and "quality drop" in text


def test_refuses_other_machines_and_configs_unless_ratios_only():
    with pytest.raises(compare.CompareRefused, match="machine cpu.*--ratios-only"):
        compare.compare(document(10.0), document(10.0, cpu="Other CPU"), 0.10)
    with pytest.raises(compare.CompareRefused, match="config epochs: 5 vs 1"):
        compare.compare(document(10.0), document(10.0, epochs=1), 0.10)
    other = document(10.0)
    other["backend"] = "torch"
    with pytest.raises(compare.CompareRefused, match="same backend"):
        compare.compare(document(10.0), other, 0.10, ratios_only=True)


def test_ratios_only_compares_across_machines():
    # A machine twice as fast: absolute times halve, the Keras/native ratio (1.2) holds.
    base = document(12.0, native_ms=10.0)
    faster = document(6.0, native_ms=5.0, seed=1, cpu="Other CPU")
    text, problems = compare.compare(base, faster, 0.10, ratios_only=True)
    assert problems == [] and "Keras/native" in text and "not judged" in text
    # The Keras path 30% slower relative to native on the other machine: a regression.
    slower = document(7.8, native_ms=5.0, seed=2, cpu="Other CPU")
    _, problems = compare.compare(base, slower, 0.10, ratios_only=True)
    assert len(problems) == 1 and "Keras/native ratio" in problems[0]


def test_ratios_only_without_native_runs_says_so():
    text, problems = compare.compare(document(10.0), document(10.0, seed=1), 0.10, ratios_only=True)
    assert "no native baseline" in text and problems == []


def test_command_line_exit_codes(tmp_path):
    paths = {}
    for name, doc in {"base": document(10.0), "same": document(10.0, seed=1),
                      "slow": document(13.0, seed=2), "other": document(10.0, cpu="Other CPU")}.items():
        paths[name] = tmp_path / f"{name}.json"
        paths[name].write_text(json.dumps(doc))

    def run(*args):
        return subprocess.run([sys.executable, "-m", "bench", "compare", *map(str, args)],
                              capture_output=True, text=True, timeout=120)

    ok = run(paths["base"], paths["same"])
    assert ok.returncode == 0 and "verdict: ok" in ok.stdout and ok.stdout.startswith("## jax")
    slow = run(paths["base"], paths["slow"], "--max-slowdown", "10%")
    assert slow.returncode == 1 and "FAIL" in slow.stdout
    assert run(paths["base"], paths["slow"], "--max-slowdown", "50%").returncode == 0
    refused = run(paths["base"], paths["other"])
    assert refused.returncode == 2 and refused.stderr.startswith("error: refusing") and refused.stderr.count("\n") == 1
    bad = run(paths["base"], paths["same"], "--max-slowdown", "lots")
    assert bad.returncode == 2 and "10%" in bad.stderr
    missing = run(paths["base"], tmp_path / "nope.json")
    assert missing.returncode == 2 and "no such results file" in missing.stderr
