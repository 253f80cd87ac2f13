"""Figures for ``results/README.md`` (matplotlib, Agg; PNG and SVG into ``results/figures/``).

For each setting of ordinary ``bench run`` results (the tables' grouping):

- ``step-time-*``: median ms/step per loss and backend, bars, whiskers the
  95% bootstrap CI of the median over the timing windows (``bench.stats``);
- ``ndcg-*``: test NDCG@5 per loss and backend, points at the mean over seeds,
  whiskers the Student-t 95% CI (none with one seed), random scores dashed;
- ``compile-*``: first-step (compile) time per loss and backend, bars at the
  median over seeds, whiskers min–max.

For ``bench sweep`` results, one figure per swept axis and device:
``sweep-<axis>-*``: ms/step against the axis value, log–log, one panel per
loss and one line per backend, whiskers p10–p90 of the timing windows.

Every title names the machine (CPU, cores, GPU) and the versions used.
No keras import: ``bench report`` runs without a backend.
"""

from __future__ import annotations

import math
import re
import textwrap
from collections import defaultdict
from pathlib import Path
from typing import Callable

import matplotlib

matplotlib.use("Agg")
matplotlib.rcParams["svg.fonttype"] = "none"  # SVG text stays text: smaller, searchable
matplotlib.rcParams["svg.hashsalt"] = "listrank"  # stable SVG ids: re-rendering unchanged data changes no file
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from bench import stats, sweep_report  # noqa: E402

FORMATS = ("png", "svg")
DPI = 110
COLORS = {"jax": "#1f77b4", "tensorflow": "#ff7f0e", "torch": "#d62728"}
MARKERS = {"jax": "o", "tensorflow": "s", "torch": "^"}

def _color(backend: str) -> str:
    return COLORS.get(backend, "#555555")


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:80]


def provenance(documents: list[dict]) -> str:
    """Machine and versions, for a figure's title."""
    machines = []
    for d in documents:
        m = d["machine"]
        gpu = m.get("gpu")
        text = f"{m.get('cpu')} ({m.get('cores')} cores)" + (f", {gpu['model']}" if gpu else ", no GPU")
        if text not in machines:
            machines.append(text)
    versions: dict[str, str] = {}
    for d in documents:
        v = d["versions"]
        backend = d["backend"]
        versions.setdefault(backend, f"{backend} {v.get(backend) or v.get('jaxlib')}")
        versions.setdefault("keras", f"keras {v.get('keras')}")
        versions.setdefault("python", f"Python {v.get('python')}")
    order = [b for b in sweep_report.BACKEND_ORDER if b in versions] + ["keras", "python"]
    rest = [k for k in versions if k not in order]
    return "; ".join(machines) + " — " + ", ".join(versions[k] for k in order + rest if k in versions)


def _title(fig, headline: str, documents: list[dict]) -> None:
    text = headline + "\n" + "\n".join(textwrap.wrap(provenance(documents), 110))
    fig.suptitle(text, fontsize=9)


def _save(fig, folder: Path, name: str) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for fmt in FORMATS:
        path = folder / f"{name}.{fmt}"
        fig.savefig(path, dpi=DPI, format=fmt, bbox_inches="tight", metadata={"Date": None} if fmt == "svg" else None)
        paths.append(path)
    plt.close(fig)
    return paths


def _interval(estimate: stats.Estimate | None) -> tuple[float, float, float] | None:
    return None if estimate is None else (estimate.value, estimate.low, estimate.high)


def _grouped(ax, losses: list[str], backends: list[str],
             value: Callable[[str, str], tuple[float, float, float] | None], kind: str) -> None:
    """Bars (kind='bar') or points (kind='point') per loss, one offset per backend, with whiskers."""
    width = 0.8 / max(1, len(backends))
    x = np.arange(len(losses))
    for i, backend in enumerate(backends):
        xs, ys, lows, highs = [], [], [], []
        for j, loss in enumerate(losses):
            found = value(backend, loss)
            if found is None:
                continue
            center, low, high = found
            xs.append(x[j] + (i - (len(backends) - 1) / 2) * width)
            ys.append(center)
            lows.append(center - low if math.isfinite(low) else 0.0)
            highs.append(high - center if math.isfinite(high) else 0.0)
        if not xs:
            continue
        err = np.array([lows, highs])
        if kind == "bar":
            ax.bar(xs, ys, width=width * 0.95, color=_color(backend), label=backend, yerr=err,
                   capsize=3, error_kw={"elinewidth": 1})
        else:
            ax.errorbar(xs, ys, yerr=err, fmt=MARKERS.get(backend, "o"), color=_color(backend),
                        label=backend, capsize=3, markersize=6)
    ax.set_xticks(x)
    ax.set_xticklabels(losses, rotation=30, ha="right", fontsize=8)
    ax.set_xlabel("loss")
    ax.grid(axis="y", alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(title="backend", fontsize=8)


def _setting_figures(setting_text: str, documents: list[dict], folder: Path) -> list[tuple[str, str]]:
    runs: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for d in documents:
        for run in d["runs"]:
            if run.get("status") == "ok":
                runs[(d["backend"], run["loss"])].append(run)
    if not runs:
        return []
    backends = sweep_report.ordered_backends(b for b, _ in runs)
    losses = list(dict.fromkeys(loss for _, loss in runs))
    tag = slug(setting_text)

    def figure(name, caption, value, kind, ylabel, whiskers, decorate=None):
        fig, ax = plt.subplots(figsize=(max(7, 0.9 * len(losses) + 3), 4.8))
        _grouped(ax, losses, backends, value, kind)
        if decorate:
            decorate(ax)
        ax.set_ylabel(ylabel)
        _title(fig, f"{caption} per loss and backend — {setting_text}\n({whiskers})", documents)
        _save(fig, folder, f"{name}-{tag}")
        return f"{name}-{tag}", f"{caption} per loss and backend ({setting_text})"

    def step(backend, loss):
        found = runs.get((backend, loss))
        return _interval(stats.median_ci([r.get("step_samples_ms") or [] for r in found])) if found else None

    def ndcg(backend, loss):
        found = runs.get((backend, loss))
        values = [r["test"]["ndcg@5"] for r in found or [] if r.get("test")]
        return _interval(stats.mean_ci(values))

    def random_line(ax):
        random = [r["test_random"]["ndcg@5"] for rs in runs.values() for r in rs if r.get("test_random")]
        if random:
            ax.axhline(float(np.mean(random)), color="grey", linestyle="--", linewidth=1,
                       label="random scores")
            ax.legend(title="backend", fontsize=8)

    def compile_time(backend, loss):
        values = [r["compile_s"] for r in runs.get((backend, loss), []) if r.get("compile_s")]
        if not values:
            return None
        return float(np.median(values)), float(np.min(values)), float(np.max(values))

    return [
        figure("step-time", "Training step time", step, "bar", "training step time (ms/step, median)",
               "whiskers: 95% bootstrap CI of the median over timing windows"),
        figure("ndcg", "Test NDCG@5", ndcg, "point", "test NDCG@5 (mean over seeds)",
               "whiskers: Student-t 95% CI over seeds", decorate=random_line),
        figure("compile", "Compile (first step) time", compile_time, "bar",
               "first step incl. tracing and compilation (s)", "bars: median over seeds; whiskers: min–max"),
    ]


def _sweep_figures(documents: list[tuple[Path, dict]], folder: Path) -> list[tuple[str, str]]:
    made = []
    found = sweep_report.series(documents)
    for key in sorted(found, key=str):
        axis, device, fixed = key
        groups = found[key]
        losses = list(dict.fromkeys(loss for _, loss in groups))
        backends = sweep_report.ordered_backends(b for b, _ in groups)
        cols = min(3, len(losses))
        rows = math.ceil(len(losses) / cols)
        fig, axes = plt.subplots(rows, cols, figsize=(4.6 * cols, 3.9 * rows), squeeze=False,
                                 sharey=True, layout="constrained")
        for index, loss in enumerate(losses):
            ax = axes[index // cols][index % cols]
            for backend in backends:
                runs = groups.get((backend, loss))
                if not runs:
                    continue
                x = [r["point"][axis] for r in runs]
                y = np.array([r["step_ms"]["median"] for r in runs])
                low = y - np.array([r["step_ms"]["p10"] for r in runs])
                high = np.array([r["step_ms"]["p90"] for r in runs]) - y
                ax.errorbar(x, y, yerr=[np.maximum(low, 0), np.maximum(high, 0)],
                            marker=MARKERS.get(backend, "o"), color=_color(backend), label=backend,
                            capsize=2, markersize=4)
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_title(loss, fontsize=9)
            ax.set_xlabel(sweep_report.AXIS_TITLES.get(axis, axis) + ", log scale", fontsize=8)
            if index % cols == 0:
                ax.set_ylabel("ms/step (median), log scale")
            ax.grid(True, which="both", alpha=0.3)
            ax.legend(title="backend", fontsize=7)
        for index in range(len(losses), rows * cols):
            axes[index // cols][index % cols].set_visible(False)
        docs = [d for _, d in documents if sweep_report.is_sweep(d) and sweep_report.device_of(d) == device]
        _title(fig, f"Step time vs {sweep_report.AXIS_TITLES.get(axis, axis)} — {device}, synthetic "
                    f"data, {sweep_report.describe_fixed(fixed)}\n(whiskers: p10–p90 of timing windows)",
               docs)
        name = f"sweep-{slug(axis)}-{slug(device)}"
        if sum(1 for a, d, _ in found if (a, d) == (axis, device)) > 1:
            name += "-" + slug(sweep_report.describe_fixed(fixed))
        _save(fig, folder, name)
        made.append((name, f"Step time vs {sweep_report.AXIS_TITLES.get(axis, axis)} ({device}, "
                           f"{sweep_report.describe_fixed(fixed)})"))
    return made


def write_figures(documents: list[tuple[Path, dict]], folder: Path, link_prefix: str = "figures") -> list[str]:
    """Write every figure into ``folder``; return the markdown that embeds them (empty if none)."""
    from bench.report import describe_setting, setting_of

    by_setting: dict[tuple, list[dict]] = defaultdict(list)
    for _, document in documents:
        if not sweep_report.is_sweep(document):
            by_setting[setting_of(document)].append(document)
    made: list[tuple[str, str]] = []
    for setting in sorted(by_setting, key=str):
        made += _setting_figures(describe_setting(setting).replace("`", ""), by_setting[setting], folder)
    made += _sweep_figures(documents, folder)
    if not made:
        return []
    lines = ["## Figures", "",
             "Each figure's title names the machine and versions; [SVG] links the vector version.", ""]
    for name, caption in made:
        lines += [f"### {caption}", "",
                  f"![{caption}]({link_prefix}/{name}.png) ([SVG]({link_prefix}/{name}.svg))", ""]
    return lines


def figure_names(lines: list[str]) -> list[str]:
    """The PNG paths a :func:`write_figures` markdown embeds (for tests and checks)."""
    return re.findall(r"\]\(([^)]+\.png)\)", "\n".join(lines))
