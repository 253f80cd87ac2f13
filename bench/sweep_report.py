"""Markdown tables for ``bench sweep`` results (rendered by ``bench report``).

A sweep file is an ordinary results file whose ``config`` has a ``sweep``
entry and whose runs carry ``axis`` and ``point``. One table per (axis,
device, settings held fixed): a row per (loss, value of the axis), per backend the median ms/step
with the p10–p90 of its timing windows, and the local log–log slope
``d log(ms) / d log(x)`` between this point and the previous one: near 0
while fixed costs dominate, near 1 where the step grows linearly, near 2
where it grows quadratically (pairwise losses in the list length). Where the
slope rises is where the step time bends.

No keras import: ``bench report`` runs without a backend.
"""

from __future__ import annotations

import math
from collections import defaultdict
from pathlib import Path

from tabulate import tabulate

BACKEND_ORDER = ("jax", "tensorflow", "torch")
AXIS_TITLES = {
    "list_size": "list length (items per list)",
    "batch_size": "batch size (lists per step)",
    "vocab_size": "item vocabulary (embedding rows)",
    "embedding_dim": "embedding dimension",
}


def is_sweep(document: dict) -> bool:
    return isinstance(document.get("config", {}).get("sweep"), dict)


def device_of(document: dict) -> str:
    gpu = document["machine"].get("gpu")
    return gpu["model"] if gpu else "CPU"


def ordered_backends(backends) -> list[str]:
    backends = set(backends)
    return [b for b in BACKEND_ORDER if b in backends] + sorted(backends - set(BACKEND_ORDER))


FIXED_NAMES = {"list_size": "lists of {}", "batch_size": "batch {}", "vocab_size": "{:,} items",
               "embedding_dim": "dimension {}"}


def describe_fixed(fixed: tuple) -> str:
    """The settings held fixed along an axis, e.g. ``batch 256, 1,682 items, dimension 32``."""
    return ", ".join(FIXED_NAMES.get(k, k + " {}").format(v) for k, v in fixed)


def series(documents: list[tuple[Path, dict]]) -> dict[tuple[str, str, tuple], dict[tuple[str, str], list[dict]]]:
    """``{(axis, device, fixed settings): {(backend, loss): [ok runs sorted by the axis value]}}``.

    Runs only share a line when every setting but the swept one is the same.
    """
    out: dict = defaultdict(lambda: defaultdict(list))
    for _, document in documents:
        if not is_sweep(document):
            continue
        for run in document["runs"]:
            if run.get("status") != "ok" or not run.get("axis") or not run.get("point"):
                continue
            fixed = tuple(sorted((k, v) for k, v in run["point"].items() if k != run["axis"]))
            out[(run["axis"], device_of(document), fixed)][(document["backend"], run["loss"])].append(run)
    for groups in out.values():
        for key, runs in groups.items():
            groups[key] = sorted(runs, key=lambda r: r["point"][r["axis"]])
    return out


def slopes(runs: list[dict]) -> list[float | None]:
    """Local log–log slope of median ms/step against the axis value (None at the first point)."""
    result: list[float | None] = [None]
    for previous, current in zip(runs, runs[1:]):
        axis = current["axis"]
        x0, x1 = previous["point"][axis], current["point"][axis]
        y0, y1 = previous["step_ms"]["median"], current["step_ms"]["median"]
        ok = x0 > 0 and x1 > 0 and x0 != x1 and y0 and y1
        result.append(math.log(y1 / y0) / math.log(x1 / x0) if ok else None)
    return result


def render(documents: list[tuple[Path, dict]]) -> list[str]:
    """Markdown lines: one section per (axis, device); empty when there is no sweep."""
    found = series(documents)
    if not found:
        return []
    lines = [
        "## Scaling sweeps",
        "",
        "Short timing runs (`python -m bench sweep`) on synthetic MovieLens-shaped data "
        "(`listrank.synthetic`; every run names its dataset and parameters in its JSON file): "
        "one setting varies, the others stay at the base point (lists of 5, batch 256, 1,682 items, "
        "embedding dimension 32). **ms/step**: median over the timed windows [p10–p90]. "
        "**slope**: local log–log slope of ms/step against the varied setting since the previous "
        "point: about 0 while fixed per-step costs dominate, 1 for linear growth, 2 for quadratic; "
        "where it rises, the step time bends.",
        "",
    ]
    for key in sorted(found, key=str):
        axis, device, fixed = key
        groups = found[key]
        backends = ordered_backends(b for b, _ in groups)
        losses = list(dict.fromkeys(loss for _, loss in groups))
        values = sorted({r["point"][axis] for runs in groups.values() for r in runs})
        headers = ["loss", axis]
        for backend in backends:
            headers += [f"{backend}<br>ms/step", f"{backend}<br>slope"]
        rows = []
        for loss in losses:
            cells = {}
            for backend in backends:
                runs = groups.get((backend, loss), [])
                for run, slope in zip(runs, slopes(runs)):
                    step = run["step_ms"]
                    cells[(backend, run["point"][axis])] = [
                        f"{step['median']:.2f} [{step['p10']:.2f}–{step['p90']:.2f}]",
                        "–" if slope is None else f"{slope:.2f}",
                    ]
            for value in values:
                row = [f"`{loss}`", f"{value:,}"]
                for backend in backends:
                    row += cells.get((backend, value), ["", ""])
                rows.append(row)
        lines += [f"### Step time vs {AXIS_TITLES.get(axis, axis)}, {device}", "",
                  f"Fixed: {describe_fixed(fixed)}.", "",
                  tabulate(rows, headers=headers, tablefmt="github", disable_numparse=True), ""]
    return lines
