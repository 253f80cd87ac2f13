"""``bench compare BASELINE.json CURRENT.json``: did anything get slower or worse?

Per loss of the two results files (one backend each):

- step time: the change of the median ms/step, current / baseline - 1, with a
  bootstrap 95% CI (windows resampled within runs, see :mod:`bench.stats`).
  A **regression** is a change both larger than ``--max-slowdown`` (default
  10%) and significant: the one-sided Mann-Whitney U test of the current
  window samples against the baseline's gives p < ``--alpha`` (as asv does);
- quality: test NDCG@5 over seeds, the difference of means with a Welch 95%
  CI; a **quality drop** is a difference whose whole CI lies below zero
  (needs 2+ seeds on each side; with one seed it is shown, not judged).

Absolute times only compare like with like: the two files must share the
benchmark configuration and the machine (CPU, cores, GPU, thread settings),
or the comparison is refused. ``--ratios-only`` instead compares the Keras /
native step-time ratios (each Keras window divided by the median window of
the native baseline of the same seed, measured in the same process), which
carry over between machines; quality is then judged only when the configs
match.

Prints a markdown table; exits 1 on any regression or quality drop, 2 when
the comparison is refused or a file is unusable, else 0.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np
from tabulate import tabulate

from bench import results, stats

# What must match for absolute times and quality to be compared.
CONFIG_KEYS = ("epochs", "protocol", "batch_size", "list_size", "optimizer", "embedding_dim",
               "timing_window_steps", "relevance_threshold", "dataset")
MACHINE_KEYS = ("cpu", "cores", "gpu", "threads")


class CompareRefused(ValueError):
    """The two files cannot be compared as asked; the message says why and what to do."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("baseline", type=Path, help="results JSON of the baseline")
    parser.add_argument("current", type=Path, help="results JSON to check against it")
    parser.add_argument("--max-slowdown", default="10%",
                        help="slowdown tolerated before a significant change is a regression "
                             "(default: 10%%)")
    parser.add_argument("--alpha", type=float, default=0.05,
                        help="significance level of the Mann-Whitney U test (default: 0.05)")
    parser.add_argument("--ratios-only", action="store_true",
                        help="compare Keras/native step-time ratios only (machine-independent); "
                             "allowed across machines and configs")


def command(args: argparse.Namespace) -> int:
    threshold = stats.parse_fraction(args.max_slowdown)
    if not 0 < args.alpha < 1:
        raise ValueError(f"--alpha {args.alpha} must be between 0 and 1, e.g. 0.05")
    baseline, current = results.load(args.baseline), results.load(args.current)
    text, problems = compare(baseline, current, threshold, args.alpha, args.ratios_only,
                             names=(args.baseline.name, args.current.name))
    print(text)
    if problems:
        print("\n" + "\n".join(f"- {p}" for p in problems))
    print("\nverdict: " + (f"FAIL ({len(problems)} problem(s))" if problems else "ok"))
    return 1 if problems else 0


def mismatches(baseline: dict, current: dict) -> list[str]:
    """The configuration and machine settings in which the two documents differ."""
    found = []
    for key in CONFIG_KEYS:
        a, b = baseline["config"].get(key), current["config"].get(key)
        if a != b:
            found.append(f"config {key}: {a!r} vs {b!r}")
    for key in MACHINE_KEYS:
        a, b = baseline["machine"].get(key), current["machine"].get(key)
        if a != b:
            found.append(f"machine {key}: {a!r} vs {b!r}")
    return found


def ok_runs(document: dict, key: str = "runs") -> dict[str, dict[int, dict]]:
    """``{loss: {seed: run}}`` of the finished runs."""
    found: dict[str, dict[int, dict]] = {}
    for run in document.get(key) or []:
        if run.get("status") == "ok":
            found.setdefault(run["loss"], {})[run["seed"]] = run
    return found


def window_samples(runs: dict[int, dict], where: str) -> list[list[float]]:
    groups = [run.get("step_samples_ms") or [] for _, run in sorted(runs.items())]
    if not any(groups):
        raise CompareRefused(f"{where} has no per-window step samples (step_samples_ms); re-run "
                             "`python -m bench run` with this version to record them")
    return groups


def normalised_samples(keras_runs: dict[int, dict], native_runs: dict[int, dict]) -> list[list[float]]:
    """Keras windows divided by the median native window of the same seed."""
    groups = []
    for seed, run in sorted(keras_runs.items()):
        native = native_runs.get(seed)
        if native and native.get("step_samples_ms") and run.get("step_samples_ms"):
            reference = float(np.median(native["step_samples_ms"]))
            groups.append([s / reference for s in run["step_samples_ms"]])
    return groups


def _ci(estimate: stats.Estimate | None, fmt: str) -> str:
    if estimate is None:
        return "–"
    if math.isnan(estimate.low):
        return f"{estimate.value:{fmt}} (n={estimate.n})"
    return f"{estimate.value:{fmt}} [{estimate.low:{fmt}}, {estimate.high:{fmt}}]"


def compare(baseline: dict, current: dict, threshold: float, alpha: float = 0.05,
            ratios_only: bool = False, names: tuple[str, str] = ("baseline", "current")) -> tuple[str, list[str]]:
    """The markdown comparison and the list of problems (regressions, quality drops)."""
    if baseline["backend"] != current["backend"]:
        raise CompareRefused(f"{names[0]} is a {baseline['backend']} run and {names[1]} a "
                             f"{current['backend']} run; compare files of the same backend")
    differ = mismatches(baseline, current)
    if differ and not ratios_only:
        raise CompareRefused(f"refusing to compare absolute times: {'; '.join(differ)}; compare runs "
                             "of the same config on the same machine, or pass --ratios-only to "
                             "compare Keras/native ratios")
    base_runs, cur_runs = ok_runs(baseline), ok_runs(current)
    base_native, cur_native = ok_runs(baseline, "native_runs"), ok_runs(current, "native_runs")
    losses = [loss for loss in base_runs if loss in cur_runs]
    if not losses:
        raise CompareRefused(f"{names[0]} and {names[1]} share no loss with a finished run; "
                             "nothing to compare")
    judge_quality = not differ
    rows, problems = [], []
    for loss in losses:
        if ratios_only:
            base = normalised_samples(base_runs[loss], base_native.get(loss, {}))
            cur = normalised_samples(cur_runs[loss], cur_native.get(loss, {}))
            if not base or not cur:
                rows.append([f"`{loss}`", "no native baseline", "", "", "", "", "", "", ""])
                continue
        else:
            base = window_samples(base_runs[loss], names[0])
            cur = window_samples(cur_runs[loss], names[1])
        base_est, cur_est = stats.median_ci(base), stats.median_ci(cur)
        change = stats.ratio_ci(cur, base)
        pooled_cur = [s for g in cur for s in g]
        pooled_base = [s for g in base for s in g]
        p = stats.mann_whitney(pooled_cur, pooled_base, alternative="greater")
        slower = change.value - 1
        regression = slower > threshold and p < alpha
        verdict = "**regression**" if regression else ("faster" if slower < -threshold and
                                                       stats.mann_whitney(pooled_cur, pooled_base, "less") < alpha
                                                       else "ok")
        if regression:
            what = "Keras/native ratio" if ratios_only else "step time"
            problems.append(f"`{loss}`: {what} {slower:+.1%} (CI {change.low - 1:+.1%} to "
                            f"{change.high - 1:+.1%}, p={p:.2g}) exceeds {threshold:.0%}")
        base_q = [r["test"]["ndcg@5"] for r in base_runs[loss].values()]
        cur_q = [r["test"]["ndcg@5"] for r in cur_runs[loss].values()]
        diff = stats.welch_diff_ci(base_q, cur_q)
        quality = "n/a (1 seed)" if diff is None else f"{diff.value:+.4f} [{diff.low:+.4f}, {diff.high:+.4f}]"
        if diff is not None and judge_quality and diff.high < 0:
            verdict += ", **quality drop**"
            problems.append(f"`{loss}`: test NDCG@5 dropped by {-diff.value:.4f} (95% CI of the "
                            f"difference {diff.low:+.4f} to {diff.high:+.4f})")
        elif diff is not None and not judge_quality:
            quality += " (configs differ: not judged)"
        fmt = ".3f" if ratios_only else ".2f"
        rows.append([f"`{loss}`", _ci(base_est, fmt), _ci(cur_est, fmt),
                     f"{slower:+.1%} [{change.low - 1:+.1%}, {change.high - 1:+.1%}]", f"{p:.2g}",
                     _ci(stats.mean_ci(base_q), ".4f"), _ci(stats.mean_ci(cur_q), ".4f"), quality, verdict])
    unit = "Keras/native" if ratios_only else "ms/step"
    headers = ["loss", f"baseline {unit}", f"current {unit}", "change [95% CI]", "p (MWU, slower)",
               "baseline NDCG@5", "current NDCG@5", "NDCG@5 change [95% CI]", "verdict"]
    title = (f"## {current['backend']}: {names[1]} against {names[0]} "
             f"({'Keras/native ratios' if ratios_only else 'absolute step times'}; regression = "
             f">{threshold:.0%} slower and p < {alpha})")
    notes = [f"- settings that differ: {'; '.join(differ)}"] if differ else []
    only = sorted(set(base_runs) ^ set(cur_runs))
    if only:
        notes.append(f"- losses in only one file (not compared): {', '.join(only)}")
    return "\n".join([title, "", tabulate(rows, headers=headers, tablefmt="github",
                                          disable_numparse=True), *([""] + notes if notes else [])]), problems
