"""t-based confidence intervals and Welch's test from summary statistics, checked against scipy on raw samples."""

import math

import numpy as np
import pytest
from scipy import stats

from edgebench.analysis.stats import mean_std_ci, welch_p


def test_mean_std_ci_matches_scipy_t_interval():
    values = [301.2, 298.7, 305.1, 299.9, 302.4]
    mean, std, low, high = mean_std_ci(values)
    expected_low, expected_high = stats.t.interval(0.95, df=4, loc=np.mean(values), scale=stats.sem(values))
    assert mean == pytest.approx(np.mean(values))
    assert std == pytest.approx(np.std(values, ddof=1))
    assert (low, high) == pytest.approx((expected_low, expected_high))


def test_wider_confidence_gives_wider_interval():
    values = [1.0, 2.0, 4.0]
    _, _, low95, high95 = mean_std_ci(values)
    _, _, low99, high99 = mean_std_ci(values, confidence=0.99)
    assert low99 < low95 < high95 < high99


def test_single_run_has_a_mean_but_no_spread():
    mean, std, low, high = mean_std_ci([42.5])
    assert mean == 42.5
    assert math.isnan(std) and math.isnan(low) and math.isnan(high)


def test_missing_values_are_left_out():
    assert mean_std_ci([1.0, None, float("nan"), 3.0])[:2] == pytest.approx((2.0, math.sqrt(2.0)))


@pytest.mark.parametrize("values, confidence", [([], 0.95), ([None, float("nan")], 0.95), ([1.0, 2.0], 1.5)])
def test_impossible_requests_raise(values, confidence):
    with pytest.raises(ValueError):
        mean_std_ci(values, confidence)


def test_welch_from_summary_equals_welch_on_raw_samples():
    rng = np.random.default_rng(7)
    a, b = rng.normal(10.0, 1.0, size=4), rng.normal(11.5, 2.5, size=6)
    expected = stats.ttest_ind(a, b, equal_var=False).pvalue
    p = welch_p(a.mean(), a.std(ddof=1), len(a), b.mean(), b.std(ddof=1), len(b))
    assert p == pytest.approx(expected)
    assert 0 < p < 1


@pytest.mark.parametrize("args", [
    (1.0, 0.1, 1, 2.0, 0.1, 5),      # a single run: no variance estimate
    (1.0, None, 3, 2.0, 0.1, 3),     # std not recorded
    (1.0, 0.1, 3, float("nan"), 0.1, 3),
    (1.0, 0.0, 3, 2.0, 0.0, 3),      # no variance at all: the test is undefined
])
def test_welch_is_none_when_undefined(args):
    assert welch_p(*args) is None
