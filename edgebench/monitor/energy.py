"""Energy of a training window from a power trace (hw.csv's power_total_mw).

Two figures, as DESIGN.md's Energy section asks: the thesis's `avg_power * total_time`
(its Table 5.20), and the trapezoidal integral of the instantaneous power over the window's
real timestamps. Where there is no power to integrate the values are None and `reason` says
why: a missing number is honest, an invented one is not.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

POWER_COLUMN = "power_total_mw"
MWS_PER_WH = 1000.0 * 3600.0  # mW * s in one Wh


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
        "avg_power_w": None, "energy_wh": None, "energy_wh_integrated": None,
        "window_s": window_s, "covered_s": None, "coverage": None, "samples": 0,
        "idle_power_w": idle_power_w, "dynamic_power_w": None, "dynamic_energy_wh_integrated": None,
        "reason": reason,
    }


def _power_trace(hw: pd.DataFrame, start: pd.Timestamp):
    """Return (times as pandas datetimes, power in mW) of the usable samples, sorted by time."""
    times = pd.to_datetime(hw["timestamp"], format="ISO8601", errors="coerce")
    if (times.dt.tz is None) != (start.tz is None):
        raise TypeError(
            "hw.csv timestamps and the training window differ in having a time zone "
            f"(samples: {times.dt.tz}, window: {start.tz}); they cannot be aligned"
        )
    power = pd.to_numeric(hw[POWER_COLUMN], errors="coerce")
    usable = times.notna() & power.notna()
    trace = pd.DataFrame({"t": times[usable], "p": power[usable]}).sort_values("t", kind="stable")
    return trace["t"], trace["p"].to_numpy(dtype=float)


def energy_summary(hw: pd.DataFrame, start, end, *, idle_power_w=None) -> dict:
    """Return avg power (W), energy (Wh, both methods) and coverage of [start, end]; None + reason if no power."""
    start, end = _timestamp(start), _timestamp(end)
    window_s = (end - start).total_seconds()
    if window_s <= 0:
        raise ValueError(f"energy window ends ({end}) before it starts ({start})")
    if hw is None or POWER_COLUMN not in hw.columns:
        return _empty(f"no {POWER_COLUMN} column: the monitor recorded no power source", window_s, idle_power_w)
    if "timestamp" not in hw.columns:
        return _empty("no timestamp column: power samples cannot be placed in time", window_s, idle_power_w)
    try:
        times, power = _power_trace(hw, start)
    except TypeError as error:
        return _empty(str(error), window_s, idle_power_w)
    if len(power) < 2:
        return _empty(f"{len(power)} timed power sample(s): at least 2 are needed", window_s, idle_power_w)

    # Seconds since the first sample, as floats, so numpy does the interpolation and the sum.
    origin = times.iloc[0]
    seconds = (times - origin).dt.total_seconds().to_numpy()
    lo = max((start - origin).total_seconds(), seconds[0])
    hi = min((end - origin).total_seconds(), seconds[-1])
    if hi <= lo:
        return _empty("no power samples overlap the training window", window_s, idle_power_w)
    # The window's edges rarely fall on a sample: the power there is interpolated linearly
    # between its neighbours, and a window longer than the trace is clipped to the trace.
    inside = (seconds > lo) & (seconds < hi)
    t = np.concatenate(([lo], seconds[inside], [hi]))
    p = np.concatenate(([np.interp(lo, seconds, power)], power[inside], [np.interp(hi, seconds, power)]))
    integral_mws = float(np.sum((p[1:] + p[:-1]) * np.diff(t)) / 2.0)
    covered_s = hi - lo

    in_window = (seconds >= lo) & (seconds <= hi)
    samples = int(in_window.sum())
    # The thesis's mean power is the plain mean of the readings taken during training; a
    # window too short to hold one falls back to the time-weighted mean of the interpolation.
    avg_mw = float(power[in_window].mean()) if samples else integral_mws / covered_s
    summary = {
        "avg_power_w": avg_mw / 1000.0,
        "energy_wh": energy_wh(avg_mw / 1000.0, window_s),
        "energy_wh_integrated": integral_mws / MWS_PER_WH,
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
