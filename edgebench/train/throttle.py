"""Throttling: did the measured cores or the GPU run below their configured clocks, or get hot
enough for the kernel to hold them back, while the run trained?

The limits are read before the run (edgebench/hwconfig/clocks.py, in provenance); the samples
are the monitor's hw.csv rows inside the epochs' windows: per-core `cpu<i>_freq_mhz`,
`gpu_freq_mhz`, `temp_<sensor>_c`. A run is `throttled` when a sampled clock fell more than
CLOCK_TOLERANCE below its ceiling or a temperature reached its zone's throttling trip point;
where neither clocks nor limits were there to compare, it says so instead of guessing.
Board side: Python 3.8+.
"""

from __future__ import annotations

from typing import Iterable, List, Optional

import pandas as pd

from edgebench.train.windows import training_samples

# Clocks are printed in whole MHz (tegrastats) against kHz ceilings, and DVFS steps are tens of
# MHz: a drop smaller than this is rounding, one larger is a lower operating point.
CLOCK_TOLERANCE = 0.02


def _lowest(samples: pd.DataFrame, column: str) -> Optional[float]:
    if column not in samples.columns:
        return None
    values = pd.to_numeric(samples[column], errors="coerce").dropna()
    return float(values.min()) if len(values) else None


def _clock_finding(name: str, lowest: Optional[float], ceiling: Optional[float]) -> Optional[str]:
    if lowest is None or not ceiling:
        return None
    if lowest < (1 - CLOCK_TOLERANCE) * ceiling:
        return f"{name} ran down to {lowest:.0f} MHz, {lowest / ceiling:.0%} of its {ceiling:.0f} MHz ceiling"
    return None


def throttle_report(hw: pd.DataFrame, epochs: pd.DataFrame, limits: Optional[dict], cores: Iterable[int],
                    gpu: bool) -> dict:
    """Return run.json's throttling record: throttled (True/False/None), the findings, what was checked."""
    samples = training_samples(hw, epochs)
    findings: List[str] = []
    checked: List[str] = []
    lowest_mhz, peak_c = {}, {}
    limits = limits or {"cpu": {}, "gpu": None, "thermal": {}}
    for core in sorted(cores):
        ceiling = (limits["cpu"].get(str(core)) or {}).get("max_mhz")
        lowest = _lowest(samples, f"cpu{core}_freq_mhz")
        if lowest is not None and ceiling:
            checked.append(f"cpu{core}")
            lowest_mhz[f"cpu{core}"] = lowest
            findings.append(_clock_finding(f"cpu{core}", lowest, ceiling))
    if gpu and limits.get("gpu"):
        lowest = _lowest(samples, "gpu_freq_mhz")
        if lowest is not None and limits["gpu"]["max_mhz"]:
            checked.append("gpu")
            lowest_mhz["gpu"] = lowest
            findings.append(_clock_finding("the GPU", lowest, limits["gpu"]["max_mhz"]))
    for sensor, trip in limits["thermal"].items():
        column = f"temp_{sensor}_c"
        values = pd.to_numeric(samples[column], errors="coerce").dropna() if column in samples.columns else []
        if len(values):
            checked.append(column)
            peak_c[sensor] = float(values.max())
            if peak_c[sensor] >= trip["trip_c"]:
                findings.append(f"{sensor} reached {peak_c[sensor]:.1f} C, its {trip['trip_type']} trip point "
                                f"({trip['trip_c']:.1f} C, zone {trip['zone']})")
    findings = [f for f in findings if f]
    record = {"throttled": bool(findings) if checked else None, "findings": findings, "checked": checked,
              "lowest_mhz": lowest_mhz, "peak_temp_c": peak_c, "clock_tolerance": CLOCK_TOLERANCE}
    if not checked:
        record["reason"] = ("no sampled clock or temperature had a configured limit to compare with "
                            "(no cpufreq, devfreq or thermal trip points on this host, or no samples)")
    return record
