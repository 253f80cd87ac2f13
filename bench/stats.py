"""Statistics for benchmark numbers: confidence intervals and significance tests.

Kept apart from the runner (bench/run.py), the file format (bench/results.py)
and the comparisons (bench/report.py, bench/compare.py, bench/gate.py), as
pyperf does. Every random step takes an explicit seed, so a report or a
comparison renders the same numbers every time.

- :func:`median_ci`: median step time with a bootstrap 95% CI over steps and
  repeats: each bootstrap draw resamples the timing windows *within* each run
  (run = one seed), pools them and takes the median.
- :func:`ratio_ci`: the same for a ratio of two medians (Keras / native, or
  current / baseline), each side resampled independently.
- :func:`mean_ci`: mean and Student-t 95% CI (quality over seeds).
- :func:`mann_whitney`: Mann-Whitney U test (timing samples; as asv does).
- :func:`paired_quality_test`: is loss A better than loss B, paired over the
  seeds and the test lists they share.
- :func:`holm`: Holm's step-down adjustment for several comparisons.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Sequence

import numpy as np
from scipy import stats as _scipy

CONFIDENCE = 0.95
BOOTSTRAP_DRAWS = 2000
SEED = 20240404


@dataclasses.dataclass(frozen=True)
class Estimate:
    """A point estimate with its confidence interval."""

    value: float
    low: float
    high: float
    n: int

    def half_width(self) -> float:
        return (self.high - self.low) / 2


def _groups(samples: Sequence[float] | Sequence[Sequence[float]]) -> list[np.ndarray]:
    """One array per run; a flat sequence counts as one run."""
    if len(samples) and np.ndim(samples[0]) == 0:
        samples = [samples]
    groups = [np.asarray(g, dtype=np.float64) for g in samples]
    groups = [g[np.isfinite(g)] for g in groups]
    return [g for g in groups if g.size]


def _bootstrap_medians(groups: list[np.ndarray], draws: int, rng: np.random.Generator) -> np.ndarray:
    """Medians of ``draws`` pooled resamples, each run's windows resampled within that run."""
    pooled = np.concatenate(
        [g[rng.integers(0, g.size, size=(draws, g.size))] for g in groups], axis=1)
    return np.median(pooled, axis=1)


def median_ci(samples, confidence: float = CONFIDENCE, draws: int = BOOTSTRAP_DRAWS,
              seed: int = SEED) -> Estimate | None:
    """Median of all samples with a percentile-bootstrap CI; ``samples`` is one
    sequence per run (or one flat sequence). None when there is no sample."""
    groups = _groups(samples)
    if not groups:
        return None
    pooled = np.concatenate(groups)
    medians = _bootstrap_medians(groups, draws, np.random.default_rng(seed))
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(medians, [tail, 100 - tail])
    return Estimate(float(np.median(pooled)), float(low), float(high), int(pooled.size))


def ratio_ci(numerator, denominator, confidence: float = CONFIDENCE, draws: int = BOOTSTRAP_DRAWS,
             seed: int = SEED) -> Estimate | None:
    """``median(numerator) / median(denominator)`` with a bootstrap CI, both
    sides resampled (within their runs) independently."""
    top, bottom = _groups(numerator), _groups(denominator)
    if not top or not bottom:
        return None
    rng = np.random.default_rng(seed)
    ratios = _bootstrap_medians(top, draws, rng) / _bootstrap_medians(bottom, draws, rng)
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(ratios, [tail, 100 - tail])
    value = float(np.median(np.concatenate(top)) / np.median(np.concatenate(bottom)))
    return Estimate(value, float(low), float(high), int(sum(g.size for g in top)))


def mean_ci(values: Sequence[float], confidence: float = CONFIDENCE) -> Estimate | None:
    """Mean with a Student-t CI; with one value the interval is undefined (NaN)."""
    values = np.asarray([v for v in values if v is not None and math.isfinite(v)], dtype=np.float64)
    if values.size == 0:
        return None
    mean = float(values.mean())
    if values.size == 1:
        return Estimate(mean, math.nan, math.nan, 1)
    half = float(_scipy.t.ppf((1 + confidence) / 2, values.size - 1) * values.std(ddof=1) / math.sqrt(values.size))
    return Estimate(mean, mean - half, mean + half, int(values.size))


def welch_diff_ci(a: Sequence[float], b: Sequence[float], confidence: float = CONFIDENCE) -> Estimate | None:
    """``mean(b) - mean(a)`` with a Welch CI (unequal variances); None with fewer than 2 values a side."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.size < 2 or b.size < 2:
        return None
    diff = float(b.mean() - a.mean())
    va, vb = a.var(ddof=1) / a.size, b.var(ddof=1) / b.size
    se = math.sqrt(va + vb)
    if se == 0:
        return Estimate(diff, diff, diff, int(a.size + b.size))
    df = (va + vb) ** 2 / (va**2 / (a.size - 1) + vb**2 / (b.size - 1))
    half = float(_scipy.t.ppf((1 + confidence) / 2, df) * se)
    return Estimate(diff, diff - half, diff + half, int(a.size + b.size))


def mann_whitney(a: Sequence[float], b: Sequence[float], alternative: str = "two-sided") -> float:
    """p-value of the Mann-Whitney U test of ``a`` against ``b`` (``alternative``:
    ``"two-sided"``, ``"greater"``: a tends to be larger, ``"less"``)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.size == 0 or b.size == 0:
        raise ValueError("Mann-Whitney U needs at least one sample on each side")
    return float(_scipy.mannwhitneyu(a, b, alternative=alternative).pvalue)


@dataclasses.dataclass(frozen=True)
class PairedResult:
    """``mean(A - B)`` over all (seed, list) pairs, its per-seed means, and the test's verdict."""

    mean_diff: float
    seed_diffs: tuple[float, ...]
    p_value: float
    n_lists: int

    def consistent(self) -> bool:
        """Every seed's mean difference has the overall sign."""
        sign = np.sign(self.mean_diff)
        return sign != 0 and all(np.sign(d) == sign for d in self.seed_diffs)


def paired_quality_test(per_list_a: dict, per_list_b: dict) -> PairedResult | None:
    """Is loss A's per-list metric different from loss B's on the same test lists?

    ``per_list_a`` and ``per_list_b`` map a seed to that seed's per-list
    values (same lists, same order, since a seed fixes the split and the
    sampled lists). The p-value is a two-sided Wilcoxon signed-rank test on the
    paired differences of every (seed, list), which uses the list-level
    pairing; since that test treats lists, not training runs, as the
    replicates, :meth:`PairedResult.consistent` adds the run-level check that
    every seed agrees on the sign. :func:`significant` requires both.
    """
    seeds = sorted(set(per_list_a) & set(per_list_b))
    diffs, seed_diffs = [], []
    for seed in seeds:
        a = np.asarray([np.nan if v is None else v for v in per_list_a[seed]], dtype=np.float64)
        b = np.asarray([np.nan if v is None else v for v in per_list_b[seed]], dtype=np.float64)
        if a.shape != b.shape:
            raise ValueError(f"seed {seed}: {a.size} lists against {b.size}; paired lists must match")
        d = (a - b)[np.isfinite(a - b)]
        if d.size:
            diffs.append(d)
            seed_diffs.append(float(d.mean()))
    if not diffs:
        return None
    d = np.concatenate(diffs)
    if np.all(d == 0):
        p = 1.0
    else:
        p = float(_scipy.wilcoxon(d, zero_method="wilcox", alternative="two-sided").pvalue)
    return PairedResult(float(d.mean()), tuple(seed_diffs), p, int(d.size))


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm-adjusted p-values (same order as given)."""
    p = np.asarray(p_values, dtype=np.float64)
    order = np.argsort(p)
    adjusted = np.empty_like(p)
    running = 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (p.size - rank) * p[index]))
        adjusted[index] = running
    return adjusted.tolist()


def significant(result: PairedResult | None, adjusted_p: float, alpha: float = 0.05) -> bool:
    return result is not None and adjusted_p < alpha and result.consistent()


def parse_fraction(text: str) -> float:
    """``"10%"`` or ``"0.1"`` as 0.1; a ValueError naming the expected form otherwise."""
    raw = text.strip()
    try:
        value = float(raw[:-1]) / 100 if raw.endswith("%") else float(raw)
    except ValueError:
        raise ValueError(f"{text!r} is not a fraction; write it like 10% or 0.1") from None
    if not 0 <= value < 10:
        raise ValueError(f"{text!r} is out of range; write a slowdown like 10% or 0.1")
    return value
