"""The report's confidence intervals, significance marks and Keras/native column."""

from __future__ import annotations

import numpy as np

from bench import report


def run(loss, seed, ndcg_lists, step_ms=10.0, impl="keras"):
    rng = np.random.default_rng(seed)
    samples = (step_ms * rng.lognormal(0, 0.02, 20)).tolist()
    return {"loss": loss, "seed": seed, "status": "ok", "impl": impl, "compile_s": 1.0,
            "step_ms": {"median": float(np.median(samples))}, "step_samples_ms": samples,
            "lists_per_s": 1.0, "test": {"ndcg@5": float(np.mean(ndcg_lists))},
            "test_per_list": {"ndcg@5": list(map(float, ndcg_lists))}}


def runs_for(gains):
    rng = np.random.default_rng(0)
    base = {seed: rng.uniform(0.7, 1.0, 400) for seed in (42, 43, 44)}
    return [run(loss, seed, np.clip(base[seed] + gain + rng.normal(0, 0.01, 400), 0, 1))
            for loss, gain in gains.items() for seed in base]


def test_marks_the_best_and_the_significantly_worse():
    marks = report.significance_marks(runs_for({"a": 0.0, "b": 0.03, "c": 0.0295}))
    best = [loss for loss, mark in marks.items() if mark == report.BEST_MARK]
    assert best in (["b"], ["c"])  # 0.0005 apart: either may come out on top
    assert marks["a"] == report.SIGNIFICANCE_MARK
    assert ({"b", "c"} - set(best)).pop() not in marks  # not distinguishable from the best


def test_no_marks_with_one_seed():
    one_seed = [r for r in runs_for({"a": 0.0, "b": 0.05}) if r["seed"] == 42]
    assert report.significance_marks(one_seed) == {}


def test_cells_show_the_ci_and_the_keras_native_ratio():
    keras_runs = [run("mse", s, [0.90 + 0.01 * i], step_ms=12.0) for i, s in enumerate((42, 43, 44))]
    native_runs = [run("mse", s, [0.9], step_ms=10.0, impl="native") for s in (42, 43, 44)]
    cells = report.backend_cells(keras_runs, native_runs, mark=report.BEST_MARK)
    assert len(cells) == report.CELLS_PER_BACKEND
    # mean 0.91, sd 0.01, t(0.975, 2) * 0.01 / sqrt(3) = 0.0248
    assert cells[0] == "0.9100 ± 0.0248 (n=3) ▲"
    low, high = (float(x) for x in cells[4].strip("[]").split(", "))
    assert low < float(cells[1]) < high
    ratio, rest = cells[5].split(" ", 1)
    assert abs(float(ratio) - 1.2) < 0.02 and rest.startswith("[")
    assert report.backend_cells(keras_runs, [])[5] == "–"


def test_quality_table_keeps_native_runs_out_of_the_rows():
    keras_runs = [run("mse", s, [0.9], step_ms=12.0) for s in (42, 43)]
    native_runs = [run("mse", s, [0.9], step_ms=10.0, impl="native") for s in (42, 43)]
    table = report.quality_table({"jax": keras_runs + native_runs})
    rows = [line for line in table.splitlines() if line.startswith("| `")]
    assert len(rows) == 1 and "Keras / native" in table.splitlines()[0]


def test_best_list_wise_loss_is_reported_against_pairwise_hinge():
    runs = runs_for({"pairwise_hinge": 0.0, "list_mle": 0.03, "softmax": -0.02, "mse": 0.05})
    (line,) = report.listwise_summary({"jax": runs})
    hinge = np.mean([r["test"]["ndcg@5"] for r in runs if r["loss"] == "pairwise_hinge"])
    mle = np.mean([r["test"]["ndcg@5"] for r in runs if r["loss"] == "list_mle"])
    # mse is better still, but it is not list-wise
    assert line.startswith(f"- **jax**: best list-wise loss `list_mle` {mle:.4f} vs `pairwise_hinge` {hinge:.4f}")
    assert f"difference {mle - hinge:+.4f}" in line and "1200 (seed, list) pairs, significant" in line


def test_no_list_wise_line_without_pairwise_hinge():
    assert report.listwise_summary({"jax": runs_for({"list_mle": 0.0, "softmax": 0.01})}) == []


def test_metrics_at_k_table_holds_means_over_seeds():
    runs = []
    for seed, value in ((42, 0.5), (43, 0.7)):
        record = run("softmax", seed, [value])
        record["test"] = {"ndcg@1": value, "mrr@3": value / 2, "ndcg@5": value}
        record["test_random"] = {"ndcg@1": 0.1, "mrr@3": 0.2, "ndcg@5": 0.3}
        runs.append(record)
    table = report.metrics_at_k_table(runs).splitlines()
    assert [c.strip() for c in table[0].strip("|").split("|")] == ["loss", "ndcg@1", "ndcg@5", "mrr@3"]
    assert [c.strip() for c in table[2].strip("|").split("|")] == ["`softmax`", "0.6000", "0.6000", "0.3000"]
    assert [c.strip() for c in table[3].strip("|").split("|")] == [report.RANDOM_ROW, "0.1000", "0.3000", "0.2000"]
