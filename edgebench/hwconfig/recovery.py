"""Undo what a killed run left changed on this board: cores taken offline, a power mode set.

A run records each change durably before making it (hotplug.py, power_mode.py); the next
command that looks at the board (`edgebench status`, `edgebench check`, the next run) puts
back what a run that died without cleaning up left behind. Here: reading such a record and
telling whether its owner is gone; each kind's own module puts its change back. Board side:
Python 3.8+.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import List, Optional


def _alive(pid: int) -> bool:
    """Return whether pid is a live edgebench run (a reused pid, after a reboot, is not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        pass
    try:
        return b"edgebench" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return True  # no /proc to ask: alive, as kill said


def stale_record(record: Path) -> Optional[dict]:
    """Return a durable per-host record whose owner is gone; None where there is none or its owner still runs.

    Raises ValueError for a record that cannot be read. Shared by the hotplug and power-mode
    records: a live owner restores what it changed itself.
    """
    try:
        data = json.loads(Path(record).read_text())
    except FileNotFoundError:
        return None
    pid = int(data.get("pid", -1))
    return None if pid != os.getpid() and _alive(pid) else data


def recover_killed_runs(host_state_dir) -> List[str]:
    """Return what was restored (one line each) after undoing the changes of runs that were killed."""
    from edgebench.hwconfig import hotplug, power_mode

    state = Path(host_state_dir)
    lines = list(hotplug.recover_stale(hotplug.record_path(state)))  # cores a killed run left offline
    lines += power_mode.recover_stale(power_mode.record_path(state))  # and the power mode it left set
    return lines
