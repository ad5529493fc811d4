"""CPU package and DRAM power and energy from Intel/AMD RAPL counters in /sys/class/powercap.

Each zone exposes `energy_uj`, a cumulative counter that runs from 0 to `max_energy_range_uj` and
then starts again at 0 (Documentation/power/powercap/powercap.rst). Every read reports the
counter unwrapped (`energy_rapl_<domain>_uj`: the counter plus max_energy_range_uj + 1 for each
wrap this reader saw), from which energy.py takes a window's energy as a difference, and the
power since the previous read (`power_rapl_<domain>_mw`: that difference over the time between
the reads, a mean over the interval, for plots and the mean power). Since Linux 5.10
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
    """One powercap zone: its column names, counter path and wrap-around range."""

    def __init__(self, path: Path, domain: str, max_range_uj: int):
        self.path = path
        self.column = f"power_rapl_{domain}_mw"
        self.energy_column = f"energy_rapl_{domain}_uj"
        self.max_range_uj = max_range_uj
        self._fd: int | None = None
        self._last_raw: int | None = None  # the last counter value read, to see a wrap
        self._wrapped_uj = 0  # (max_range_uj + 1) per wrap seen so far

    def unwrapped_uj(self, raw: int) -> int:
        """Return raw plus the wraps seen so far, counting a new one if raw went down."""
        if self._last_raw is not None and raw < self._last_raw:
            # The counter passed max_energy_range_uj and went on from 0. Reads are one sampling
            # interval apart, far less than a wrap takes (Intel's 262 kJ range lasts ~45 min at
            # 100 W, a 4.3 kJ range ~40 s): one decrease is one wrap.
            self._wrapped_uj += self.max_range_uj + 1
        self._last_raw = raw
        return raw + self._wrapped_uj

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
            zones.append(RaplZone(path, column_domain, max_range))
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
        """Return the hw.csv columns read() fills: each zone's power, then its energy counter."""
        return [zone.column for zone in self.zones] + [zone.energy_column for zone in self.zones]

    def read(self) -> dict[str, float | None]:
        """Return {power_rapl_<d>_mw: mW since the last read, energy_rapl_<d>_uj: the unwrapped counter}.

        Power is None on the first read (no interval yet) and both are None for a counter that
        could not be read this time.
        """
        now = self.clock()
        result: dict[str, float | None] = {}
        for zone in self.zones:
            try:
                energy = zone.unwrapped_uj(zone.energy_uj())
            except (OSError, ValueError):
                energy = None
            before = None if self._last is None else self._last.get(zone.column)
            power = None
            if before is not None and energy is not None and now > self._last_time:
                # uJ per s is uW; /1000 gives mW.
                power = (energy - before) / (now - self._last_time) / 1000.0
            result[zone.column] = power
            result[zone.energy_column] = energy
        self._last = {zone.column: result[zone.energy_column] for zone in self.zones}
        self._last_time = now
        return result

    def close(self) -> None:
        """Close the counter files."""
        for zone in self.zones:
            zone.close()
