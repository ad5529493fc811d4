"""Energy of a training window from hw.csv: energy counters where the trace has them, power otherwise.

Two figures, as the design asks (docs/design.md, run.json): the thesis's `avg_power * total_time` (its
Table 5.20), and `energy_wh_integrated`, the energy measured over the window's real timestamps.
That one comes by one of two methods, named in the summary's `method`:

- `counter`: where the host's total has cumulative energy counters (RAPL, NVML; the
  `energy_total_uj` column power.py sums from them), the energy of a window is the counter's
  difference between the window's ends, each end interpolated linearly between the two readings
  around it. RAPL's power columns are means over each sampling interval, not instantaneous
  values, so integrating them would smear every change over an interval.
- `trapezoid`: otherwise (tegrastats prints instantaneous rail power), the trapezoidal integral
  of `power_total_mw`, the power at the window's edges interpolated between samples.

Either way only what the trace covers is counted: `covered_s` and `coverage` (its share of the
window) say how much that is, and below MIN_COVERAGE the tables flag the energy. Where there
is no power to integrate the values are None and `reason` says why: a missing number is
honest, an invented one is not.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from edgebench.monitor.power import ENERGY_TOTAL_COLUMN

POWER_COLUMN = "power_total_mw"
MWS_PER_WH = 1000.0 * 3600.0  # mW * s in one Wh
UJ_PER_MWS = 1000.0
# Below this share of the training time covered by the power trace, the tables flag the energy
# (and the rankings leave the power comparison out): the one place this threshold is set.
MIN_COVERAGE = 0.99
# Between two power samples further apart than this many sampling intervals (two samples or
# more missing in a row: a stalled or restarted monitor) the power is not known, and that
# stretch does not count as covered. One missed sample (a gap of two intervals) still does.
HOLE_INTERVALS = 2.5
# ... and never shorter than this: a sampler at 10-100 Hz that the scheduler holds back for a
# tenth of a second (a loaded board) has missed a few ticks, not left the power unknown; the
# 1 s monitors bridge gaps of 2.5 s as a matter of course.
MIN_HOLE_S = 0.5


def energy_wh(avg_power_w, total_time_s):
    """Return energy in Wh as mean power times time (the thesis's method), None if unknown."""
    if avg_power_w is None or total_time_s is None:
        return None
    return float(avg_power_w) * float(total_time_s) / 3600.0


def _timestamp(value) -> pd.Timestamp:
    """Return value (ISO string, datetime or Timestamp) as a pandas Timestamp."""
    return value if isinstance(value, pd.Timestamp) else pd.Timestamp(value)


def _empty(reason: str, window_s=None, idle_power_w=None) -> dict:
    """Return an energy summary with no numbers and the reason why."""
    return {
        "avg_power_w": None, "energy_wh": None, "energy_wh_integrated": None, "method": None,
        "window_s": window_s, "covered_s": None, "coverage": None, "samples": 0,
        "idle_power_w": idle_power_w, "dynamic_power_w": None, "dynamic_energy_wh_integrated": None,
        "reason": reason,
    }


def _trace(hw: pd.DataFrame, start: pd.Timestamp, column: str):
    """Return (times as pandas datetimes, values) of the rows where column has a value, sorted by time."""
    times = pd.to_datetime(hw["timestamp"], format="ISO8601", errors="coerce")
    if (times.dt.tz is None) != (start.tz is None):
        raise TypeError(
            "hw.csv timestamps and the training window differ in having a time zone "
            f"(samples: {times.dt.tz}, window: {start.tz}); they cannot be aligned"
        )
    values = pd.to_numeric(hw[column], errors="coerce")
    usable = times.notna() & values.notna()
    trace = pd.DataFrame({"t": times[usable], "v": values[usable]}).sort_values("t", kind="stable")
    return trace["t"], trace["v"].to_numpy(dtype=float)


def _segments(broken: np.ndarray):
    """Yield (first, last) sample indices of the runs of samples not separated by a break.

    broken[k] says that samples k and k+1 must not be joined; a run of one sample spans no time.
    """
    first = 0
    for k in np.flatnonzero(broken):
        yield first, int(k)
        first = int(k) + 1
    yield first, len(broken)


def _trapezoid_mws(t: np.ndarray, p: np.ndarray, lo: float, hi: float) -> float:
    """Return the trapezoidal integral (mW s) of power p at times t over [lo, hi], edges interpolated."""
    inside = (t > lo) & (t < hi)
    tt = np.concatenate(([lo], t[inside], [hi]))
    pp = np.concatenate(([np.interp(lo, t, p)], p[inside], [np.interp(hi, t, p)]))
    return float(np.sum((pp[1:] + pp[:-1]) * np.diff(tt)) / 2.0)


def _counter_mws(t: np.ndarray, c: np.ndarray, lo: float, hi: float) -> float:
    """Return the energy (mW s) of [lo, hi] from cumulative counter readings c (uJ) at times t."""
    # Linear interpolation of the counter is constant power between the two readings around
    # each end: the most a counter read once per interval can say about its edges.
    return float(np.interp(hi, t, c) - np.interp(lo, t, c)) / UJ_PER_MWS


def _integrate(seconds: np.ndarray, values: np.ndarray, lo: float, hi: float, method: str, max_gap_s):
    """Return (energy in mW s, seconds covered) of [lo, hi] from the trace, by method.

    A counter is never differenced across a decrease (a restarted monitor starts counting
    again); power is never interpolated across a hole longer than max_gap_s.
    """
    if method == "counter":
        broken = np.diff(values) < 0
    elif max_gap_s is not None:
        broken = np.diff(seconds) > max_gap_s
    else:
        broken = np.zeros(len(seconds) - 1, dtype=bool)
    integral = _counter_mws if method == "counter" else _trapezoid_mws
    energy_mws = covered_s = 0.0
    for first, last in _segments(broken):
        t, v = seconds[first:last + 1], values[first:last + 1]
        a, b = max(lo, t[0]), min(hi, t[-1])
        if b > a:
            energy_mws += integral(t, v, a, b)
            covered_s += float(b - a)
    return energy_mws, covered_s


def energy_summary(hw: pd.DataFrame, start, end, *, idle_power_w=None, interval_s=None,
                   column: str = POWER_COLUMN) -> dict:
    """Return avg power (W), energy (Wh, both methods) and coverage of [start, end]; None + reason if no power.

    interval_s is the monitor's sampling interval: power samples further apart than
    HOLE_INTERVALS of it (MIN_HOLE_S at least) leave a hole (not covered); without it every gap
    is bridged. column is
    the power (mW) to integrate: the total by default, or another source's (the wall meter's),
    whose energy then comes from its power alone (the counters belong to the total).
    """
    start, end = _timestamp(start), _timestamp(end)
    window_s = (end - start).total_seconds()
    if window_s <= 0:
        raise ValueError(f"energy window ends ({end}) before it starts ({start})")
    if hw is None or column not in hw.columns:
        return _empty(f"no {column} column: the monitor recorded no power source", window_s, idle_power_w)
    if "timestamp" not in hw.columns:
        return _empty("no timestamp column: power samples cannot be placed in time", window_s, idle_power_w)
    try:
        times, power = _trace(hw, start, column)
        with_counter = column == POWER_COLUMN and ENERGY_TOTAL_COLUMN in hw.columns
        counter = _trace(hw, start, ENERGY_TOTAL_COLUMN) if with_counter else None
    except TypeError as error:
        return _empty(str(error), window_s, idle_power_w)
    if len(power) < 2:
        return _empty(f"{len(power)} timed power sample(s): at least 2 are needed", window_s, idle_power_w)

    # Seconds since the first sample, as floats, so numpy does the interpolation and the sum.
    origin = times.iloc[0]

    def seconds_of(stamps):
        return (stamps - origin).dt.total_seconds().to_numpy()

    seconds = seconds_of(times)
    lo, hi = (start - origin).total_seconds(), (end - origin).total_seconds()
    if counter is not None and len(counter[1]) >= 2:
        method, trace_s, values = "counter", seconds_of(counter[0]), counter[1]
    else:
        method, trace_s, values = "trapezoid", seconds, power
    max_gap_s = None if interval_s is None else max(HOLE_INTERVALS * float(interval_s), MIN_HOLE_S)
    integral_mws, covered_s = _integrate(trace_s, values, lo, hi, method, max_gap_s)
    if covered_s <= 0:
        return _empty("no power samples overlap the training window", window_s, idle_power_w)

    in_window = (seconds >= lo) & (seconds <= hi)
    samples = int(in_window.sum())
    # The thesis's mean power is the plain mean of the readings taken during training; a
    # window too short to hold one falls back to the time-weighted mean of the integral.
    avg_mw = float(power[in_window].mean()) if samples else integral_mws / covered_s
    summary = {
        "avg_power_w": avg_mw / 1000.0,
        "energy_wh": energy_wh(avg_mw / 1000.0, window_s),
        "energy_wh_integrated": integral_mws / MWS_PER_WH,
        "method": method,
        "window_s": window_s,
        "covered_s": covered_s,
        "coverage": covered_s / window_s,
        "samples": samples,
        "idle_power_w": idle_power_w,
        "dynamic_power_w": None,
        "dynamic_energy_wh_integrated": None,
        "reason": None,
    }
    if idle_power_w is not None:
        summary["dynamic_power_w"] = summary["avg_power_w"] - idle_power_w
        summary["dynamic_energy_wh_integrated"] = (
            summary["energy_wh_integrated"] - idle_power_w * covered_s / 3600.0
        )
    return summary


def mean_power_w(hw: pd.DataFrame, start, end):
    """Return the time-weighted mean power in W over [start, end] (an idle baseline), or None."""
    summary = energy_summary(hw, start, end)
    if summary["energy_wh_integrated"] is None:
        return None
    return summary["energy_wh_integrated"] * 3600.0 / summary["covered_s"]
