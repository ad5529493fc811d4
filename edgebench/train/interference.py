"""Interference: how much of the measured cores' busy time was not the run's own.

Over the training windows, the busy time of the configuration's cores (from /proc/stat) is
compared with the CPU time of the run's process tree (the runner and its monitor): what is left
is someone else's work on the cores the run was pinned to, and a run slowed by it must not pass
as a measurement. Board side: Python 3.8+.
"""

from __future__ import annotations

import os
from typing import Dict, Iterable, NamedTuple, Optional

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


class Window(NamedTuple):
    """The busy seconds of the measured cores and the run's own CPU seconds over one window."""

    busy_s: float
    own_s: float


class InterferenceMeter:
    """Measures windows between start() and stop() and accumulates the ones add()ed to the run's record.

    A window is judged before it is added: a contended epoch that is measured again (runner.py)
    leaves its discarded measurement out of the run's figures.
    """

    def __init__(self, cores: Iterable[int]):
        self.cores = sorted(cores)
        self.busy_s = 0.0
        self.own_s = 0.0
        self.windows = 0
        self._start: Optional[tuple] = None

    def start(self) -> None:
        """Open a window (the start of an epoch's training and validation)."""
        self._start = (cores_busy_seconds(self.cores), tree_cpu_seconds())

    def stop(self) -> Window:
        """Close the window and return its busy and own seconds (not yet part of the run's record)."""
        busy0, own0 = self._start
        self._start = None
        return Window(cores_busy_seconds(self.cores) - busy0, tree_cpu_seconds() - own0)

    def add(self, window: Window) -> None:
        """Count a window's seconds in the run's record."""
        self.busy_s += window.busy_s
        self.own_s += window.own_s
        self.windows += 1

    def summary(self, threshold_pct: float) -> Dict[str, object]:
        """Return run.json's interference record over the added windows."""
        return {**judge(self.busy_s, self.own_s, self.windows, threshold_pct), "busy_s": self.busy_s,
                "own_s": self.own_s, "windows": self.windows, "threshold_pct": threshold_pct,
                "cores": self.cores}


def judge(busy_s: float, own_s: float, windows: int, threshold_pct: float) -> Dict[str, object]:
    """Return the share of busy time that was not the run's, and whether that makes it contended."""
    # Both are counted in clock ticks, and each window's two ends cut a tick: that is the
    # uncertainty of busy minus own.
    resolution_s = 2 * windows / _CLOCK_TICKS
    record = {"interference_pct": None, "contended": None, "resolution_s": resolution_s}
    if busy_s <= 0:
        return record
    # The monitor may run on other cores, so "own" can exceed the measured cores' busy time a little.
    other = max(0.0, busy_s - own_s)
    record["interference_pct"] = other / busy_s * 100
    # Contended only beyond the counting's own uncertainty: a 0.1 s epoch cannot tell 5 % apart.
    record["contended"] = record["interference_pct"] > threshold_pct and other > resolution_s
    return record


def combined(records: Iterable[Optional[dict]], threshold_pct: float) -> Dict[str, object]:
    """Return one record over several attempts' records (their busy and own seconds summed)."""
    records = [r for r in records if r]
    meter = InterferenceMeter(records[0]["cores"] if records else [])
    meter.busy_s = sum(r["busy_s"] for r in records)
    meter.own_s = sum(r["own_s"] for r in records)
    meter.windows = sum(r.get("windows", 0) for r in records)
    summary = meter.summary(threshold_pct)
    summary["remeasured_epochs"] = sum(r.get("remeasured_epochs", 0) for r in records)
    return summary
