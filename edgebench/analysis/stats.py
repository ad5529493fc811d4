"""Small statistics for repeated runs: t-based confidence intervals and Welch's test."""

import math

import numpy as np
from scipy import stats


def mean_std_ci(values, confidence: float = 0.95) -> tuple[float, float, float, float]:
    """Return (mean, sample std, CI low, CI high) of values; std and CI are NaN for a single value.

    Missing values (None/NaN, e.g. a run that did not record the metric) are left out. The
    interval uses Student's t because edge experiments have a handful of repetitions, where
    the normal approximation would claim more certainty than the data give.
    """
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must lie strictly between 0 and 1, got {confidence!r}")
    data = np.asarray([v for v in values if v is not None], dtype=float)
    data = data[~np.isnan(data)]
    if data.size == 0:
        raise ValueError("mean_std_ci needs at least one value that is not missing")
    mean = float(data.mean())
    if data.size == 1:
        return mean, math.nan, math.nan, math.nan
    std = float(data.std(ddof=1))
    half_width = stats.t.ppf((1 + confidence) / 2, df=data.size - 1) * std / math.sqrt(data.size)
    return mean, std, mean - half_width, mean + half_width


def _missing(x) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def welch_p(mean1, std1, n1, mean2, std2, n2) -> float | None:
    """Return the two-sided Welch t-test p-value from summary statistics, or None if it is undefined.

    Undefined means: a value is missing, a group has fewer than 2 runs, or both standard
    deviations are zero (no variance to test against, so a p-value would be meaningless).
    """
    args = (mean1, std1, n1, mean2, std2, n2)
    if any(_missing(a) for a in args):
        return None
    if n1 < 2 or n2 < 2 or (std1 == 0 and std2 == 0):
        return None
    if std1 < 0 or std2 < 0:
        raise ValueError(f"standard deviations must not be negative, got {std1!r} and {std2!r}")
    result = stats.ttest_ind_from_stats(mean1, std1, int(n1), mean2, std2, int(n2), equal_var=False)
    return float(result.pvalue)


OLYMPIC_MIN_RUNS = 5


def olympic_mean(values) -> float:
    """Return MLPerf's olympic score: the mean without the fastest and the slowest run (NaN under 5 runs).

    MLPerf Training scores a benchmark from at least five runs this way, so that one lucky or
    unlucky run moves the score less than it moves the plain mean.
    """
    data = sorted(float(v) for v in values if not _missing(v))
    if len(data) < OLYMPIC_MIN_RUNS:
        return math.nan
    return float(np.mean(data[1:-1]))
