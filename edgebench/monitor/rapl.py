"""CPU package and DRAM power from Intel/AMD RAPL energy counters in /sys/class/powercap.

Each zone exposes `energy_uj`, a cumulative counter that wraps at `max_energy_range_uj`; power
is the counter's increase between two reads divided by the time between them. Since Linux 5.10
(CVE-2020-8694) the counters are readable by root only: a readable tree is not a given.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

# `intel-rapl:0` (a package), `intel-rapl:0:2` (its subzone, e.g. dram), `intel-rapl-mmio:0`
# (the same package counter through MMIO). The bare `intel-rapl` entry is the control type.
ZONE_RE = re.compile(r"^(?P<kind>[a-z-]+):(?P<id>\d+(?::\d+)*)$")
MMIO_KIND = "intel-rapl-mmio"


class RaplZone:
    """One powercap zone: its column name, counter path and wrap-around range."""

    def __init__(self, path: Path, column: str, max_range_uj: int):
        self.path = path
        self.column = column
        self.max_range_uj = max_range_uj
        self._fd: int | None = None

    def energy_uj(self) -> int:
        """Return the zone's cumulative energy counter in microjoules."""
        # Kept open and re-read from offset 0 (sysfs regenerates the text on each read):
        # an open/read/close per sample costs several times more, and the sampler runs for days.
        if self._fd is None:
            self._fd = os.open(self.path / "energy_uj", os.O_RDONLY)
        return int(os.pread(self._fd, 32, 0))

    def close(self) -> None:
        """Close the counter file if open."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def _domain(name: str) -> str:
    """Return a zone name as a column fragment: `package-0` -> `package_0`."""
    return re.sub(r"[^a-z0-9]+", "_", name.strip().lower()).strip("_")


class RaplReader:
    """Per-domain RAPL power in mW between successive read() calls."""

    def __init__(self, sysfs_root="/sys/class/powercap", clock=time.monotonic):
        self.sysfs_root = Path(sysfs_root)
        self.clock = clock
        self.unavailable_reason: str | None = None
        self.zones = self._discover()
        self._last: dict[str, int] | None = None
        self._last_time: float | None = None

    def _discover(self) -> list[RaplZone]:
        """Return the readable zones, setting unavailable_reason when there are none."""
        if not self.sysfs_root.is_dir():
            self.unavailable_reason = f"{self.sysfs_root} does not exist (no powercap support)"
            return []
        found = {}
        for entry in sorted(self.sysfs_root.iterdir()):
            m = ZONE_RE.match(entry.name)
            if m is None or not (entry / "energy_uj").exists():
                continue
            found[entry.name] = (m.group("kind"), m.group("id"), _domain((entry / "name").read_text()))
        if not found:
            self.unavailable_reason = f"no RAPL zones under {self.sysfs_root}"
            return []
        names = [domain for kind, _, domain in found.values() if kind != MMIO_KIND]
        zones, unreadable = [], []
        for entry_name, (kind, zone_id, domain) in found.items():
            # The MMIO interface repeats a package counter already read through MSRs.
            if kind == MMIO_KIND and domain in names:
                continue
            column_domain = domain
            if names.count(domain) > 1 and ":" in zone_id:
                # Two sockets each have a `dram` subzone: name it after its package.
                parent = f"{kind}:{zone_id.rsplit(':', 1)[0]}"
                column_domain = f"{found[parent][2]}_{domain}" if parent in found else f"{domain}_{zone_id.replace(':', '_')}"
            path = self.sysfs_root / entry_name
            try:
                int((path / "energy_uj").read_text())
                max_range = int((path / "max_energy_range_uj").read_text())
            except PermissionError:
                unreadable.append(entry_name)
                continue
            zones.append(RaplZone(path, f"power_rapl_{column_domain}_mw", max_range))
        if not zones:
            self.unavailable_reason = (
                f"RAPL counters under {self.sysfs_root} are not readable ({', '.join(unreadable)}): "
                "since Linux 5.10 energy_uj is root-only"
            )
        return zones

    def available(self) -> bool:
        """Return whether at least one RAPL counter can be read."""
        return bool(self.zones)

    @property
    def columns(self) -> list[str]:
        """Return the hw.csv columns read() fills."""
        return [zone.column for zone in self.zones]

    def read(self) -> dict[str, float | None]:
        """Return {power_rapl_<domain>_mw: mW since the last read}; None on the first read."""
        now = self.clock()
        counts = {}
        for zone in self.zones:
            try:
                counts[zone.column] = zone.energy_uj()
            except (OSError, ValueError):
                counts[zone.column] = None
        result: dict[str, float | None] = {}
        for zone in self.zones:
            before = None if self._last is None else self._last.get(zone.column)
            after = counts[zone.column]
            if before is None or after is None or now <= self._last_time:
                result[zone.column] = None
                continue
            delta = after - before
            if delta < 0:
                # The counter wrapped past max_energy_range_uj back to zero.
                delta += zone.max_range_uj
            # uJ per s is uW; /1000 gives mW.
            result[zone.column] = delta / (now - self._last_time) / 1000.0
        self._last, self._last_time = counts, now
        return result

    def close(self) -> None:
        """Close the counter files."""
        for zone in self.zones:
            zone.close()
