"""bench.stats against hand-computed values and scipy."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as scipy_stats

from bench import stats


def test_mean_ci_matches_the_t_interval_by_hand():
    values = [0.90, 0.92, 0.94]
    est = stats.mean_ci(values)
    # mean 0.92, sd 0.02, t(0.975, 2) = 4.302653, half width 4.302653 * 0.02 / sqrt(3)
    assert est.value == pytest.approx(0.92)
    assert est.half_width() == pytest.approx(4.302653 * 0.02 / math.sqrt(3), rel=1e-6)
    low, high = scipy_stats.t.interval(0.95, 2, loc=0.92, scale=0.02 / math.sqrt(3))
    assert (est.low, est.high) == pytest.approx((low, high))


def test_mean_ci_of_one_value_has_no_interval():
    est = stats.mean_ci([0.9])
    assert est.value == 0.9 and est.n == 1 and math.isnan(est.low)
    assert stats.mean_ci([]) is None


def test_median_ci_is_seeded_and_brackets_the_median():
    rng = np.random.default_rng(1)
    runs = [rng.normal(10, 1, 30), rng.normal(10.5, 1, 30), rng.normal(9.5, 1, 30)]
    a, b = stats.median_ci(runs), stats.median_ci(runs)
    assert a == b  # same seed, same interval
    assert a.low < a.value < a.high
    assert a.value == pytest.approx(np.median(np.concatenate(runs)))
    assert a.n == 90
    # a wider spread gives a wider interval
    wide = stats.median_ci([r * 3 - 20 for r in runs])
    assert wide.high - wide.low > (a.high - a.low) * 2


def test_median_ci_of_constant_samples_is_a_point():
    est = stats.median_ci([[2.0, 2.0, 2.0], [2.0, 2.0]])
    assert (est.value, est.low, est.high) == (2.0, 2.0, 2.0)


def test_median_ci_covers_the_true_median_about_95_percent_of_the_time():
    rng = np.random.default_rng(7)
    hits = 0
    for trial in range(200):
        runs = [rng.lognormal(0, 0.3, 20) for _ in range(3)]
        est = stats.median_ci(runs, draws=400, seed=trial)
        hits += est.low <= 1.0 <= est.high
    assert 0.85 <= hits / 200 <= 0.995


def test_ratio_ci_of_a_known_ratio():
    est = stats.ratio_ci([[2.0, 2.2, 1.8]], [[1.0, 1.1, 0.9]])
    assert est.value == pytest.approx(2.0)
    assert est.low <= 2.0 <= est.high


def test_welch_diff_ci_matches_scipy():
    a, b = [1.0, 2.0, 3.0, 4.0], [2.5, 3.5, 4.0, 6.0]
    est = stats.welch_diff_ci(a, b)
    t = scipy_stats.ttest_ind(b, a, equal_var=False)
    ci = t.confidence_interval(0.95)
    assert est.value == pytest.approx(np.mean(b) - np.mean(a))
    assert (est.low, est.high) == pytest.approx((ci.low, ci.high))
    assert stats.welch_diff_ci([1.0], [2.0, 3.0]) is None


def test_mann_whitney_small_example_by_hand():
    # a = {1, 2}, b = {3, 4, 5}: every a is below every b, U_a = 0; exact
    # P(U <= 0) = 1 / C(5, 2) = 0.1 one-sided.
    assert stats.mann_whitney([1, 2], [3, 4, 5], alternative="less") == pytest.approx(0.1)
    assert stats.mann_whitney([1, 2], [3, 4, 5], alternative="greater") == pytest.approx(1.0)
    with pytest.raises(ValueError, match="at least one sample"):
        stats.mann_whitney([], [1.0])


def test_paired_quality_test_detects_a_consistent_gain():
    rng = np.random.default_rng(3)
    base = {s: rng.uniform(0.7, 1.0, 300) for s in (42, 43, 44)}
    better = {s: np.clip(v + 0.02 + rng.normal(0, 0.02, v.size), 0, 1) for s, v in base.items()}
    result = stats.paired_quality_test(better, base)
    assert result.mean_diff > 0.015 and result.p_value < 1e-6 and result.consistent()
    assert stats.significant(result, result.p_value)


def test_paired_quality_test_does_not_flag_noise_or_one_lucky_seed():
    rng = np.random.default_rng(4)
    base = {s: rng.uniform(0.7, 1.0, 300) for s in (42, 43, 44)}
    same = {s: np.clip(v + rng.normal(0, 0.02, v.size), 0, 1) for s, v in base.items()}
    noise = stats.paired_quality_test(same, base)
    assert noise.p_value > 0.01
    lucky = {s: v + (0.05 if s == 42 else -0.001) for s, v in base.items()}
    result = stats.paired_quality_test(lucky, base)
    assert result.p_value < 0.05 and not result.consistent()
    assert not stats.significant(result, result.p_value)


def test_paired_quality_test_by_hand_and_errors():
    a = {1: [0.5, 0.6, None], 2: [0.9, 0.8, 0.7]}
    b = {1: [0.4, 0.6, 0.5], 2: [0.8, 0.8, 0.6]}
    result = stats.paired_quality_test(a, b)
    assert result.n_lists == 5  # the None list is skipped
    assert result.mean_diff == pytest.approx((0.1 + 0.0 + 0.1 + 0.0 + 0.1) / 5)
    assert result.seed_diffs == pytest.approx((0.05, 0.2 / 3))
    assert result.p_value == pytest.approx(scipy_stats.wilcoxon([0.1, 0.1, 0.1], zero_method="wilcox").pvalue)
    with pytest.raises(ValueError, match="paired lists must match"):
        stats.paired_quality_test({1: [0.1, 0.2]}, {1: [0.1]})


def test_holm_adjustment_by_hand():
    assert stats.holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert stats.holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])


@pytest.mark.parametrize("text, value", [("10%", 0.10), ("0.25", 0.25), (" 5 % ".replace(" ", ""), 0.05)])
def test_parse_fraction(text, value):
    assert stats.parse_fraction(text) == pytest.approx(value)


@pytest.mark.parametrize("text", ["ten", "-5%", "2000%"])
def test_parse_fraction_rejects_bad_input(text):
    with pytest.raises(ValueError, match="10%"):
        stats.parse_fraction(text)
