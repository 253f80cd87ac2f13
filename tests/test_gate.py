"""bench gate: the verdict (threshold AND significance), the table, and its input errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

from bench import gate
from bench.cli import main


def _entry(ratios) -> dict:
    ratios = [float(r) for r in ratios]
    return {"block_ratios": ratios, "ratio": float(np.median(ratios)),
            "keras_median_ms": 20.0 * float(np.median(ratios)), "native_median_ms": 20.0}


def _blocks(center: float, spread: float, n: int = 12, seed: int = 0) -> list[float]:
    return list(center + spread * np.random.default_rng(seed).standard_normal(n))


BASE = _entry(_blocks(1.05, 0.03, seed=1))


def test_a_clear_slowdown_beyond_the_threshold_is_a_regression():
    change, p, regressed = gate.verdict(_entry(_blocks(1.05 * 1.25, 0.03)), BASE, 0.15, 0.01)
    assert change == pytest.approx(0.25, abs=0.03) and p < 1e-4 and regressed


def test_a_significant_slowdown_below_the_threshold_passes():
    change, p, regressed = gate.verdict(_entry(_blocks(1.05 * 1.08, 0.005)), BASE, 0.15, 0.01)
    assert 0.05 < change < 0.15 and p < 0.01 and not regressed


def test_a_large_but_noisy_difference_is_not_significant_and_passes():
    # Four blocks, two of them fast: the median moves by > 15% but the blocks overlap the baseline's.
    current = _entry([1.02, 1.06, 1.45, 1.50])
    change, p, regressed = gate.verdict(current, BASE, 0.15, 0.01)
    assert change > 0.15 and p >= 0.01 and not regressed


def test_a_speedup_is_never_a_regression():
    assert not gate.verdict(_entry(_blocks(0.7, 0.03)), BASE, 0.15, 0.01)[2]


def test_table_names_each_regression_and_passes_the_rest():
    measured = {"losses": {"mse": _entry(_blocks(1.05 * 1.3, 0.03)), "pairwise_hinge": _entry(_blocks(1.05, 0.03, seed=2))}}
    baseline = {"losses": {"mse": BASE, "pairwise_hinge": BASE}}
    text, failed = gate.table(measured, baseline, 0.15, 0.01)
    assert len(failed) == 1 and failed[0].startswith("mse ratio ")
    rows = [line for line in text.splitlines() if line.startswith("| `")]
    assert "**REGRESSION**" in rows[0] and rows[1].endswith("| ok                          |")


def _gate(backend, tmp_path, *extra):
    return main(["gate", "--backend", backend, "--baseline", str(tmp_path / "ratios.json"), *extra])


def _error(capsys) -> str:
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    return lines[0]


@pytest.mark.parametrize("content, expected", [
    (None, "no baseline file"),
    ("{not json", "is not valid JSON"),
    (json.dumps({"schema": "other/1", "backends": {}}), "is not 'listrank-perf-gate/1'"),
    (json.dumps({"schema": gate.SCHEMA, "backends": {}}), "has no {backend} baseline;"),
    (json.dumps({"schema": gate.SCHEMA, "backends": {"{backend}": {"losses": {"mse": BASE}}}}),
     "has no {backend} baseline for pairwise_hinge"),
])
def test_bad_baselines_are_refused_before_anything_is_measured(tmp_path, capsys, backend, content, expected):
    if content is not None:
        (tmp_path / "ratios.json").write_text(content.replace("{backend}", backend))
    assert _gate(backend, tmp_path) == 2
    assert expected.format(backend=backend) in _error(capsys)


def test_too_few_blocks_are_refused(tmp_path, capsys, backend):
    assert _gate(backend, tmp_path, "--blocks", "2") == 2
    error = _error(capsys)
    assert "--blocks 2 is too few" in error and "(default 12)" in error


@pytest.mark.parametrize("value, expected", [("fast", gate.SLOWDOWN_ENV), ("0.25", "unset it before --write-baseline")])
def test_injected_slowdown_is_checked(tmp_path, capsys, monkeypatch, backend, value, expected):
    monkeypatch.setenv(gate.SLOWDOWN_ENV, value)
    assert _gate(backend, tmp_path, "--write-baseline") == 2
    assert expected in _error(capsys)
