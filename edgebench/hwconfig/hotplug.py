"""Take CPU cores offline for a run, as the thesis did, and put them back afterwards.

Writing "0" to /sys/devices/system/cpu/cpuN/online removes core N from the scheduler
altogether (stronger than affinity: no kernel thread or interrupt runs there either). It needs
root, and a board left with cores offline after a crash skews every later run, so the
previous state is restored on exit whatever happened inside.

A process killed outright (kill -9, the OOM killer, a power cut of the process but not the
board) runs no exit code. So before the first write, the states to restore go to a record
file per host (`record`); a clean exit removes it. The next run, `edgebench check` and
`edgebench status` find a record whose owner is dead (recover_stale), put those cores back
and say so: a later run never takes the state a crash left for the one to restore.
"""

from __future__ import annotations

import json
import os
import re
import socket
import warnings
from pathlib import Path
from typing import Dict, List, Optional

from edgebench.hwconfig.recovery import stale_record

CORE_DIR_RE = re.compile(r"^cpu(\d+)$")


class HotplugError(RuntimeError):
    """A core could not be brought online or offline."""


class HotplugCores:
    """Context manager keeping only keep_online cores online, restoring the rest on exit."""

    def __init__(self, keep_online, sysfs_root="/sys/devices/system/cpu", record=None):
        self.keep_online = set(int(core) for core in keep_online)
        self.sysfs_root = Path(sysfs_root)
        # Where the states to restore are kept while cores are changed (None: nowhere).
        self.record = Path(record) if record is not None else None
        # core -> state written before we changed it ("0" or "1"), for the cores we changed.
        self.changed: dict[int, str] = {}

    def _cores(self) -> dict[int, Path | None]:
        """Return {core number: its online file, or None where the kernel gives none}."""
        cores = {}
        for entry in self.sysfs_root.iterdir():
            m = CORE_DIR_RE.match(entry.name)
            if m:
                online = entry / "online"
                cores[int(m.group(1))] = online if online.exists() else None
        return cores

    def _plan(self) -> dict[int, tuple[Path, str, str]]:
        """Return {core: (online file, state now, state wanted)} for the cores to change."""
        if not self.keep_online:
            raise ValueError("hotplug: keep_online is empty; at least one core must stay online")
        cores = self._cores()
        missing = self.keep_online - set(cores)
        if missing:
            raise ValueError(
                f"hotplug: cores {sorted(missing)} do not exist under {self.sysfs_root} "
                f"(this host has cores {sorted(cores)})"
            )
        plan = {}
        for core, online in sorted(cores.items()):
            wanted = "1" if core in self.keep_online else "0"
            if online is None:
                if wanted == "0":
                    raise ValueError(
                        f"hotplug: cpu{core} cannot be taken offline: {self.sysfs_root}/cpu{core}/online "
                        "does not exist (the kernel keeps that core online); keep it in the configuration"
                    )
                continue
            try:
                now = online.read_text().strip()
            except OSError as error:
                raise HotplugError(f"hotplug: cannot read {online}: {error}") from error
            if now != wanted:
                plan[core] = (online, now, wanted)
        not_writable = [str(path) for path, _, _ in plan.values() if not os.access(path, os.W_OK)]
        if not_writable:
            raise PermissionError(
                f"hotplug: cannot write {', '.join(not_writable)}: taking cores offline needs root "
                "(run as root, or use cpu_mode: affinity)"
            )
        return plan

    def write_state(self, path: Path, state: str) -> None:
        """Write "0" or "1" to a core's online file (the kernel may refuse, e.g. EBUSY)."""
        path.write_text(state)

    def _write(self, core: int, path: Path, state: str) -> None:
        try:
            self.write_state(path, state)
        except OSError as error:
            raise HotplugError(f"hotplug: writing {state!r} to {path} failed: {error}") from error

    def __enter__(self) -> "HotplugCores":
        if self.record is not None:
            for line in recover_stale(self.record, self.sysfs_root):
                warnings.warn(line, RuntimeWarning, stacklevel=2)
        plan = self._plan()
        if plan and self.record is not None:
            write_record(self.record, {core: now for core, (_, now, _) in plan.items()}, self.sysfs_root)
        # Bring the wanted cores up before taking others down, so the system never runs short.
        order = sorted(plan, key=lambda core: plan[core][2] != "1")
        try:
            for core in order:
                path, now, wanted = plan[core]
                self._write(core, path, wanted)
                self.changed[core] = now
        except BaseException:
            self._restore_and_forget()
            raise
        return self

    def _restore_and_forget(self) -> List[str]:
        """Restore, and drop the record once everything is back (a failed restore keeps it for later)."""
        errors = self.restore()
        if not errors and self.record is not None:
            self.record.unlink(missing_ok=True)
        return errors

    def restore(self) -> list[str]:
        """Return the errors met while putting every changed core back to its previous state."""
        errors = []
        # Online first, again, so restoring never leaves fewer cores than before.
        for core in sorted(self.changed, key=lambda c: self.changed[c] != "1"):
            path = self.sysfs_root / f"cpu{core}" / "online"
            try:
                self._write(core, path, self.changed[core])
            except HotplugError as error:
                errors.append(str(error))
        self.changed = {}
        return errors

    def __exit__(self, exc_type, exc, tb) -> None:
        errors = self._restore_and_forget()
        if errors:
            message = "hotplug: cores not restored: " + "; ".join(errors)
            if exc_type is None:
                raise HotplugError(message)
            # The run's own exception is the one to see; the restore failure is still told.
            warnings.warn(message, RuntimeWarning, stacklevel=2)


def record_path(directory) -> Path:
    """Return this host's hotplug record in a directory (per host: results/state may be shared by boards)."""
    return Path(directory) / f".hotplug-{socket.gethostname()}.json"


def write_record(record: Path, restore: Dict[int, str], sysfs_root: Path) -> None:
    """Record durably which cores to set back to which state, and who changed them."""
    from edgebench.atomic import write_text_atomic

    write_text_atomic(record, json.dumps({"pid": os.getpid(), "sysfs_root": str(sysfs_root),
                                          "restore": {str(core): state for core, state in restore.items()}}) + "\n")


def recover_stale(record, sysfs_root: Optional[Path] = None) -> List[str]:
    """Put back the cores a dead run left changed, per its record; return what was done (empty: nothing to do).

    A record whose owner still runs is left alone (that run restores its cores itself).
    """
    record = Path(record)
    try:
        data = stale_record(record)
    except ValueError as error:
        return [f"hotplug: {record} is unreadable ({error}); check the cores' online files by hand"]
    if data is None:
        return []
    root = Path(sysfs_root or data["sysfs_root"])
    restored, errors = [], []
    for core, state in sorted(data["restore"].items(), key=lambda item: item[1] != "1"):  # online first
        path = root / f"cpu{core}" / "online"
        try:
            if path.read_text().strip() != state:
                path.write_text(state)
                restored.append(f"cpu{core}={state}")
        except OSError as error:
            errors.append(f"cpu{core}: {error}")
    if errors:
        return [f"hotplug: a run (pid {data.get('pid')}) died with cores changed; restoring from {record} failed: "
                + "; ".join(errors) + " (needs root; the record is kept)"]
    record.unlink(missing_ok=True)
    done = ", ".join(restored) if restored else "nothing left to change"
    return [f"hotplug: a run (pid {data.get('pid')}) died with cores changed; restored from {record}: {done}"]
