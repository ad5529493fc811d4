"""Undo what a killed run left changed on this board: cores taken offline, a power mode set.

A run records each change durably before making it (hotplug.py, power_mode.py); the next
command that looks at the board (`edgebench status`, `edgebench check`, the next run) puts
back what a run that died without cleaning up left behind. Board side: Python 3.8+.
"""

from __future__ import annotations

from pathlib import Path
from typing import List


def recover_killed_runs(host_state_dir) -> List[str]:
    """Return what was restored (one line each) after undoing the changes of runs that were killed."""
    from edgebench.hwconfig import hotplug, power_mode

    state = Path(host_state_dir)
    lines = list(hotplug.recover_stale(hotplug.record_path(state)))  # cores a killed run left offline
    lines += power_mode.recover_stale(power_mode.record_path(state))  # and the power mode it left set
    return lines
