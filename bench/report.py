"""``bench report``: markdown tables from results JSON files.

Each table covers one setting (dataset, protocol, epochs, batch, list size,
device); rows are losses, column groups are backends. Failed runs are shown
as failed, never as numbers.
"""

from __future__ import annotations

import sys
from collections import defaultdict
from pathlib import Path
from typing import Any, Iterable

import numpy as np
from tabulate import tabulate

from bench import results, stats

BACKEND_ORDER = ("jax", "tensorflow", "torch")
RANDOM_ROW = "random scores (reference)"


def load_all(paths: Iterable[Path], warn=lambda m: print(m, file=sys.stderr)) -> tuple[list[tuple[Path, dict]], int]:
    """Valid documents with their paths, and how many files were rejected (each named in a warning)."""
    documents, rejected = [], 0
    for path in paths:
        try:
            documents.append((Path(path), results.load(path)))
        except results.ResultsError as error:
            warn(f"skipped: {error}")
            rejected += 1
    return documents, rejected


def setting_of(document: dict) -> tuple:
    config = document["config"]
    gpu = document["machine"].get("gpu")
    device = gpu["model"] if gpu else "CPU"
    dataset = config.get("dataset", {}).get("name", "?")
    return (dataset, config.get("protocol"), config.get("epochs"), config.get("batch_size"),
            config.get("list_size"), device)


def describe_setting(setting: tuple) -> str:
    dataset, protocol, epochs, batch, list_size, device = setting
    return (f"{dataset}, protocol `{protocol}`, {epochs} epochs, batch {batch}, "
            f"lists of {list_size}, {device}")


CELLS_PER_BACKEND = 6
SIGNIFICANCE_MARK = "†"
BEST_MARK = "▲"


def mean_spread(values: list[float]) -> str:
    """Mean ± half-width of its Student-t 95% CI over seeds."""
    if not values:
        return "–"
    if len(values) == 1:
        return f"{values[0]:.4f} (n=1)"
    estimate = stats.mean_ci(values)
    return f"{estimate.value:.4f} ± {estimate.half_width():.4f} (n={len(values)})"


def ratio_cell(ok: list[dict], native: list[dict]) -> str:
    """Keras / native median step time with a bootstrap 95% CI (same process, same lists)."""
    native_ok = [r for r in native if r["status"] == "ok" and r.get("step_samples_ms")]
    if not native_ok:
        return "–"
    estimate = stats.ratio_ci([r.get("step_samples_ms") or [] for r in ok],
                              [r["step_samples_ms"] for r in native_ok])
    return f"{estimate.value:.2f} [{estimate.low:.2f}, {estimate.high:.2f}]" if estimate else "–"


def significance_marks(runs: list[dict], alpha: float = 0.05) -> dict[str, str]:
    """Per loss of one backend: ▲ for the best mean test NDCG@5, † for a loss
    significantly worse than it (paired over seeds and test lists, Holm-adjusted
    over the comparisons, every seed agreeing; see bench.stats). Needs 2+ seeds."""
    per_list: dict[str, dict[int, list]] = defaultdict(dict)
    for run in runs:
        values = (run.get("test_per_list") or {}).get("ndcg@5")
        if run["status"] == "ok" and values:
            per_list[run["loss"]][run["seed"]] = values
    per_list = {loss: seeds for loss, seeds in per_list.items() if len(seeds) >= 2}
    if len(per_list) < 2:
        return {}
    means = {loss: np.mean([np.nanmean(np.array(v, dtype=float)) for v in seeds.values()])
             for loss, seeds in per_list.items()}
    best = max(means, key=means.get)
    others = [loss for loss in per_list if loss != best]
    tests = [stats.paired_quality_test(per_list[loss], per_list[best]) for loss in others]
    adjusted = stats.holm([t.p_value if t else 1.0 for t in tests])
    marks = {best: BEST_MARK}
    for loss, test, p in zip(others, tests, adjusted):
        if stats.significant(test, p, alpha) and test.mean_diff < 0:
            marks[loss] = SIGNIFICANCE_MARK
    return marks


def _is_keras(run: dict) -> bool:
    """A Keras run, not a native baseline (files from before the baselines have no "impl")."""
    return run.get("impl", "keras") == "keras"


def backend_cells(runs: list[dict], native: list[dict] = (), mark: str = "") -> list[str]:
    """NDCG@5, ms/step, lists/s, compile s, ms/step 95% CI, Keras/native for one (loss, backend)."""
    ok = [r for r in runs if r["status"] == "ok"]
    failed = len(runs) - len(ok)
    if not ok:
        return ([f"failed ({failed}/{len(runs)})"] + ["–"] * (CELLS_PER_BACKEND - 1) if runs
                else [""] * CELLS_PER_BACKEND)
    ndcg = mean_spread([r["test"]["ndcg@5"] for r in ok])
    if mark:
        ndcg += f" {mark}"
    if failed:
        ndcg += f"; {failed} failed"
    estimate = stats.median_ci([r.get("step_samples_ms") or [] for r in ok])  # median of all samples
    if estimate:
        median_ms = estimate.value
    else:
        medians = [r["step_ms"]["median"] for r in ok if r["step_ms"] and r["step_ms"]["median"]]
        median_ms = float(np.median(medians)) if medians else None
    step = f"{median_ms:.2f}" if median_ms else "–"
    step_ci = f"[{estimate.low:.2f}, {estimate.high:.2f}]" if estimate else "–"
    rates = [r["lists_per_s"] for r in ok if r.get("lists_per_s")]
    lists = f"{np.median(rates):,.0f}" if rates else "–"
    compile_s = f"{np.median([r['compile_s'] for r in ok]):.2f}"
    return [ndcg, step, lists, compile_s, step_ci, ratio_cell(ok, native)]


def quality_table(by_backend: dict[str, list[dict]]) -> str:
    backends = [b for b in BACKEND_ORDER if b in by_backend] + sorted(set(by_backend) - set(BACKEND_ORDER))
    losses: list[str] = []
    for backend in backends:
        for run in by_backend[backend]:
            if run["loss"] not in losses:
                losses.append(run["loss"])
    headers = ["loss"]
    for backend in backends:
        headers += [f"{backend}<br>NDCG@5", f"{backend}<br>ms/step", f"{backend}<br>lists/s",
                    f"{backend}<br>compile s", f"{backend}<br>ms/step 95% CI", f"{backend}<br>Keras / native"]
    keras_runs = {b: [r for r in by_backend[b] if _is_keras(r)] for b in backends}
    native_runs = {b: [r for r in by_backend[b] if r.get("impl") == "native"] for b in backends}
    marks = {b: significance_marks(keras_runs[b]) for b in backends}
    losses = [loss for loss in losses if any(r["loss"] == loss for b in backends for r in keras_runs[b])]
    rows = []
    for loss in losses:
        row = [f"`{loss}`"]
        for backend in backends:
            row += backend_cells([r for r in keras_runs[backend] if r["loss"] == loss],
                                 [r for r in native_runs[backend] if r["loss"] == loss],
                                 marks[backend].get(loss, ""))
        rows.append(row)
    random_row = [RANDOM_ROW]
    for backend in backends:
        per_seed = {r["seed"]: r["test_random"]["ndcg@5"] for r in keras_runs[backend]
                    if r["status"] == "ok" and r.get("test_random")}
        random_row += [mean_spread(list(per_seed.values()))] + [""] * (CELLS_PER_BACKEND - 1)
    rows.append(random_row)
    return tabulate(rows, headers=headers, tablefmt="github", disable_numparse=True)


# Losses over whole lists (kept here: the report must not import keras).
LIST_WISE_LOSSES = ("softmax", "poly1_softmax", "list_mle", "approx_ndcg", "neural_ndcg")
REFERENCE_LOSS = "pairwise_hinge"
METRIC_FAMILIES = ("ndcg", "dcg", "mrr", "map", "precision", "recall")


def _ok_keras(runs: list[dict]) -> list[dict]:
    return [r for r in runs if r["status"] == "ok" and _is_keras(r)]


def _per_list(runs: list[dict], loss: str) -> dict[int, list]:
    return {r["seed"]: r["test_per_list"]["ndcg@5"] for r in runs
            if r["loss"] == loss and (r.get("test_per_list") or {}).get("ndcg@5")}


def listwise_summary(by_backend: dict[str, list[dict]]) -> list[str]:
    """One line per backend: the best list-wise loss's test NDCG@5 against pairwise_hinge."""
    lines = []
    for backend in [b for b in BACKEND_ORDER if b in by_backend]:
        ok = _ok_keras(by_backend[backend])
        means = {loss: float(np.mean([r["test"]["ndcg@5"] for r in ok if r["loss"] == loss]))
                 for loss in LIST_WISE_LOSSES + (REFERENCE_LOSS,) if any(r["loss"] == loss for r in ok)}
        listwise = [loss for loss in LIST_WISE_LOSSES if loss in means]
        if not listwise or REFERENCE_LOSS not in means:
            continue
        best = max(listwise, key=means.get)
        test = stats.paired_quality_test(_per_list(ok, best), _per_list(ok, REFERENCE_LOSS))
        if test is None:
            verdict = "no per-list results to test the difference"
        else:
            significant = stats.significant(test, test.p_value)
            verdict = (f"paired Wilcoxon p = {test.p_value:.2g} over {test.n_lists} (seed, list) pairs, "
                       + ("significant" if significant else "not significant") + " at 0.05")
        lines.append(f"- **{backend}**: best list-wise loss `{best}` {means[best]:.4f} vs "
                     f"`{REFERENCE_LOSS}` {means[REFERENCE_LOSS]:.4f} (difference "
                     f"{means[best] - means[REFERENCE_LOSS]:+.4f}; {verdict})")
    return lines


def metrics_at_k_table(runs: list[dict]) -> str:
    """Every test metric at every k for one backend: means over seeds."""
    ok = _ok_keras(runs)
    keys = sorted({key for r in ok for key in r["test"]},
                  key=lambda k: (METRIC_FAMILIES.index(k.split("@")[0]) if k.split("@")[0] in METRIC_FAMILIES
                                 else len(METRIC_FAMILIES), k))
    rows = []
    for loss in dict.fromkeys(r["loss"] for r in ok):
        mine = [r for r in ok if r["loss"] == loss]
        rows.append([f"`{loss}`"] + [f"{np.mean([r['test'][k] for r in mine if r['test'].get(k) is not None]):.4f}"
                                     for k in keys])
    randoms = {r["seed"]: r["test_random"] for r in ok if r.get("test_random")}
    if randoms:
        rows.append([RANDOM_ROW] + [f"{np.mean([v[k] for v in randoms.values() if k in v]):.4f}" for k in keys])
    return tabulate(rows, headers=["loss", *keys], tablefmt="github", disable_numparse=True)


def metrics_section(by_backend: dict[str, list[dict]], threshold: Any) -> list[str]:
    lines = [f"Test metrics at k = 1, 3, 5, means over seeds. Binary metrics (MRR, MAP, precision, "
             f"recall) count a movie as relevant when its label ≥ {threshold} (rating ≥ "
             f"{1 + 4 * threshold:g}); NDCG and DCG use the graded labels. Ties in the scores are "
             "scored as the expectation over their random orderings.", ""]
    for backend in [b for b in BACKEND_ORDER if b in by_backend]:
        lines += [f"<details><summary>{backend}: all metrics</summary>", "",
                  metrics_at_k_table(by_backend[backend]), "", "</details>", ""]
    return lines


def environment_table(documents: list[tuple[Path, dict]]) -> str:
    rows = []
    for path, document in documents:
        m, v = document["machine"], document["versions"]
        backend = document["backend"]
        backend_version = v.get(backend) or v.get("jaxlib")
        gpu = m.get("gpu")
        rows.append([
            f"`{path.name}`", backend, f"{backend} {backend_version}", f"keras {v.get('keras')}",
            f"keras-rs {v.get('keras_rs')}", f"numpy {v.get('numpy')}", f"Python {v.get('python')}",
            f"{m.get('cpu')} ({m.get('cores')} cores, {m.get('memory_gb')} GiB)",
            gpu["model"] if gpu else "none", document["created"],
            (document["config"].get("git_commit") or "?")[:12],
        ])
    headers = ["file", "backend", "backend version", "keras", "keras-rs", "numpy", "python",
               "CPU", "GPU", "created (UTC)", "commit"]
    return tabulate(rows, headers=headers, tablefmt="github", disable_numparse=True)


def render(documents: list[tuple[Path, dict]], figures: Iterable[str] = ()) -> str:
    from bench import sweep_report

    groups: dict[tuple, dict[str, list[dict]]] = defaultdict(lambda: defaultdict(list))
    for _, document in documents:
        if sweep_report.is_sweep(document):  # sweeps get their own tables below
            continue
        batch = document["config"].get("batch_size")
        for run in document["runs"]:
            groups[setting_of(document)][document["backend"]].append({**run, "batch_size": batch})
        for run in document.get("native_runs") or []:
            groups[setting_of(document)][document["backend"]].append(
                {**run, "batch_size": batch, "impl": "native"})
    lines = [
        "# listrank benchmark results",
        "",
        "Generated by `python -m bench report` (`tox -e report`) from the JSON files in "
        "[`runs/`](runs/); do not edit by hand.",
        "",
        "- **NDCG@5**: test NDCG@5 (gain 2^label − 1, log2 discount), mean ± half-width of its "
        "95% confidence interval (Student t) over seeds (each seed re-splits, re-samples and "
        "re-initialises). The last row scores the same test lists with uniformly random scores. "
        f"{BEST_MARK}: the best mean on that backend; {SIGNIFICANCE_MARK}: significantly worse "
        "than it (paired Wilcoxon test over seeds × test lists, Holm-adjusted p < 0.05 and every "
        "seed agreeing; 2+ seeds needed); unmarked: not distinguishable from the best.",
        "- **ms/step**: median steady-state time of one training step (forward, loss, backward, "
        "Adagrad update on one batch), over windows of steps synchronised at their ends; the first "
        "(compiling) step and windows holding the last, smaller batch of an epoch are excluded.",
        "- **lists/s**: batch size / median step time. **compile s**: wall time of the first step "
        "(tracing and compilation included), median over seeds.",
        "- **ms/step 95% CI**: bootstrap interval of the median (windows resampled within each "
        "seed's run). **Keras / native**: the Keras step time over that of the same model, loss "
        "and optimiser hand-written in the plain backend (bench/native), timed in the same process "
        "right after, with its bootstrap 95% CI; see bench/METHOD.md.",
        "",
    ]
    thresholds = {setting_of(d): d["config"].get("relevance_threshold", 0.75) for _, d in documents}
    for setting in sorted(groups, key=str):
        lines += [f"## {describe_setting(setting)}", "", quality_table(groups[setting]), ""]
        lines += listwise_summary(groups[setting]) + [""]
        lines += metrics_section(groups[setting], thresholds.get(setting, 0.75))
    lines += sweep_report.render(documents) + list(figures)
    lines += ["## Where these numbers come from", "", environment_table(documents), ""]
    commands = sorted({d["config"].get("command", "") for _, d in documents})
    lines += ["Commands:", ""] + [f"- `{c}`" for c in commands] + [""]
    return "\n".join(lines)


def write_report(paths: Iterable[Path], out: Path) -> int:
    documents, rejected = load_all(paths)
    if not documents:
        print("error: no valid results files to report; run `python -m bench run` first", file=sys.stderr)
        return 2
    text = render(documents, _figures(documents, out.parent / "figures"))
    results.write_text_atomic(out, text)
    print(f"wrote {out} from {len(documents)} results file(s)")
    return 1 if rejected else 0


def _figures(documents: list[tuple[Path, dict]], folder: Path) -> list[str]:
    """bench.plots' figures (markdown that embeds them); none, with a warning, without matplotlib."""
    try:
        from bench import plots
    except ImportError as error:
        print(f"warning: figures skipped ({error}); install them with: pip install 'listrank[plots]'",
              file=sys.stderr)
        return []
    return plots.write_figures(documents, folder)
