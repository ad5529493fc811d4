"""Interference: how much of the measured cores' busy time was not the run's own.

Over the training windows, the busy time of the configuration's cores (from /proc/stat) is
compared with the CPU time of the run's process tree (the runner and its monitor): what is left
is someone else's work on the cores the run was pinned to, and a run slowed by it must not pass
as a measurement. Board side: Python 3.8+.
"""

from __future__ import annotations

import os
from typing import Dict, Iterable, Optional

import psutil

# /proc/stat per-core fields: user nice system idle iowait irq softirq steal (guest time is in user).
_BUSY_FIELDS = (0, 1, 2, 5, 6, 7)
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cores_busy_seconds(cores: Iterable[int], stat_path: str = "/proc/stat") -> float:
    """Return the summed busy seconds since boot of the given cores (an offline core counts 0)."""
    wanted = {f"cpu{core}" for core in cores}
    busy = 0
    with open(stat_path) as fh:
        for line in fh:
            name, *fields = line.split()
            if name in wanted:
                values = [int(v) for v in fields]
                busy += sum(values[i] for i in _BUSY_FIELDS if i < len(values))
    return busy / _CLOCK_TICKS


def tree_cpu_seconds(process: Optional[psutil.Process] = None) -> float:
    """Return the CPU seconds of a process and its live descendants (user + system)."""
    process = process or psutil.Process()
    total = 0.0
    for member in [process, *process.children(recursive=True)]:
        try:
            times = member.cpu_times()
        except psutil.NoSuchProcess:  # ended between the listing and the reading
            continue
        total += times.user + times.system
    return total


class InterferenceMeter:
    """Accumulates busy and own CPU seconds over the windows between start() and stop()."""

    def __init__(self, cores: Iterable[int]):
        self.cores = sorted(cores)
        self.busy_s = 0.0
        self.own_s = 0.0
        self.windows = 0
        self._start: Optional[tuple] = None

    def start(self) -> None:
        """Open a window (the start of an epoch's training and validation)."""
        self._start = (cores_busy_seconds(self.cores), tree_cpu_seconds())

    def stop(self) -> None:
        """Close the window and add its busy and own seconds."""
        busy0, own0 = self._start
        self.busy_s += cores_busy_seconds(self.cores) - busy0
        self.own_s += tree_cpu_seconds() - own0
        self.windows += 1
        self._start = None

    @property
    def resolution_s(self) -> float:
        """Return the uncertainty of busy minus own: both are counted in clock ticks, each window's ends cut."""
        return 2 * self.windows / _CLOCK_TICKS

    def summary(self, threshold_pct: float) -> Dict[str, object]:
        """Return run.json's interference record: the share of busy time that was not the run's."""
        record = {"interference_pct": None, "contended": None, "busy_s": self.busy_s, "own_s": self.own_s,
                  "windows": self.windows, "resolution_s": self.resolution_s, "threshold_pct": threshold_pct,
                  "cores": self.cores}
        if self.busy_s <= 0:
            return record
        # The monitor may run on other cores, so "own" can exceed the measured cores' busy time a little.
        other = max(0.0, self.busy_s - self.own_s)
        record["interference_pct"] = other / self.busy_s * 100
        # Contended only beyond the counting's own uncertainty: a 0.1 s epoch cannot tell 5 % apart.
        record["contended"] = record["interference_pct"] > threshold_pct and other > self.resolution_s
        return record


def combined(records: Iterable[Optional[dict]], threshold_pct: float) -> Dict[str, object]:
    """Return one record over several attempts' records (their busy and own seconds summed)."""
    records = [r for r in records if r]
    meter = InterferenceMeter(records[0]["cores"] if records else [])
    meter.busy_s = sum(r["busy_s"] for r in records)
    meter.own_s = sum(r["own_s"] for r in records)
    meter.windows = sum(r.get("windows", 0) for r in records)
    return meter.summary(threshold_pct)
