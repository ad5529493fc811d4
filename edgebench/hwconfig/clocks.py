"""The clock and thermal limits in force before a run, read from sysfs, and what they warn of.

A run is only comparable with another if its cores and GPU ran at the clocks the power mode
allows. This module reads what is configured; edgebench/train/throttle.py compares the
monitor's samples with it afterwards. Layouts (Linux ABI documentation):

- cpufreq, kHz: /sys/devices/system/cpu/cpuN/cpufreq/{scaling_governor, scaling_max_freq,
  cpuinfo_max_freq} (Documentation/admin-guide/pm/cpufreq.rst). scaling_max_freq is the
  ceiling set by the power mode (nvpmodel) or the user; cpuinfo_max_freq the silicon's.
- devfreq, Hz: /sys/class/devfreq/<device>/{governor, min_freq, max_freq}
  (Documentation/ABI/testing/sysfs-class-devfreq). A Jetson's GPU is the device named after
  its address and chip: 57000000.gpu (TX1, Nano), 17000000.gp10b (TX2), 17000000.gv11b
  (Xavier), 17000000.ga10b (Orin); jetson_clocks locks it by raising min_freq to max_freq.
- thermal, millidegrees C: /sys/class/thermal/thermal_zoneN/{type, trip_point_K_type,
  trip_point_K_temp} (Documentation/driver-api/thermal/sysfs-api.rst). tegrastats names a zone
  by its type up to the first `-` or `_` (CPU-therm: CPU@, Tboard_tegra: Tboard@, Orin's
  tj-thermal: tj@), which is how a trip point finds its hw.csv column `temp_<name>_c`.

Board side: Python 3.8+.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Dict, Iterable, List, Optional

GPU_DEVFREQ_RE = re.compile(r"\.(gpu|g[a-z]\d+b)$")
# Trip types at which the kernel starts to hold a zone back, the gentlest first ("active" is a fan).
THROTTLING_TRIPS = ("passive", "hot", "critical")


def _read(path: Path) -> Optional[str]:
    try:
        return path.read_text().strip() or None
    except OSError:
        return None


def _number(path: Path, scale: float) -> Optional[float]:
    text = _read(path)
    try:
        return float(text) / scale if text is not None else None
    except ValueError:
        return None


def cpu_limits(cores: Iterable[int], root: Path) -> Dict[str, dict]:
    """Return {core: {governor, max_mhz, hardware_max_mhz}} for the cores that have cpufreq."""
    limits = {}
    for core in sorted(cores):
        cpufreq = root / "sys" / "devices" / "system" / "cpu" / f"cpu{core}" / "cpufreq"
        if not cpufreq.is_dir():
            continue
        limits[str(core)] = {"governor": _read(cpufreq / "scaling_governor"),
                             "max_mhz": _number(cpufreq / "scaling_max_freq", 1000.0),
                             "hardware_max_mhz": _number(cpufreq / "cpuinfo_max_freq", 1000.0)}
    return limits


def gpu_limits(root: Path) -> Optional[dict]:
    """Return the Jetson GPU's {device, governor, min_mhz, max_mhz} from devfreq, or None."""
    devfreq = root / "sys" / "class" / "devfreq"
    devices = sorted(p for p in devfreq.glob("*") if GPU_DEVFREQ_RE.search(p.name)) if devfreq.is_dir() else []
    if not devices:
        return None
    device = devices[0]
    return {"device": device.name, "governor": _read(device / "governor"),
            "min_mhz": _number(device / "min_freq", 1e6), "max_mhz": _number(device / "max_freq", 1e6)}


def sensor_name(zone_type: str) -> str:
    """Return the name tegrastats prints for a thermal zone's type, lower case as in hw.csv."""
    return re.split(r"[-_]", zone_type, maxsplit=1)[0].lower()


def thermal_limits(root: Path) -> Dict[str, dict]:
    """Return {sensor: {zone, trip_type, trip_c}}: each zone's gentlest throttling trip point."""
    limits = {}
    zones = root / "sys" / "class" / "thermal"
    for zone in sorted(zones.glob("thermal_zone*")) if zones.is_dir() else []:
        zone_type = _read(zone / "type")
        if zone_type is None:
            continue
        trips = []
        for trip_type_path in zone.glob("trip_point_*_type"):
            trip_type = _read(trip_type_path)
            temp_c = _number(trip_type_path.with_name(trip_type_path.name.replace("_type", "_temp")), 1000.0)
            if trip_type in THROTTLING_TRIPS and temp_c is not None and temp_c > 0:
                trips.append((THROTTLING_TRIPS.index(trip_type), temp_c, trip_type))
        if trips:
            _, temp_c, trip_type = min(trips)
            limits[sensor_name(zone_type)] = {"zone": zone_type, "trip_type": trip_type, "trip_c": temp_c}
    return limits


def read_limits(cores: Iterable[int], gpu: bool, root="/") -> dict:
    """Return provenance's clock block: the measured cores', the GPU's (GPU runs) and thermal limits."""
    root = Path(root)
    limits = {"cpu": cpu_limits(cores, root), "gpu": gpu_limits(root) if gpu else None,
              "thermal": thermal_limits(root)}
    limits["warnings"] = clock_warnings(limits)
    return limits


def clock_warnings(limits: dict) -> List[str]:
    """Return why the clocks may not have held still: a governor other than `performance`, a GPU not locked."""
    warnings = []
    loose = {core: c["governor"] for core, c in limits["cpu"].items() if c["governor"] not in (None, "performance")}
    if loose:
        names = ", ".join(f"cpu{core}: {governor}" for core, governor in loose.items())
        warnings.append(f"CPU governor is not `performance` ({names}): clocks may vary during the run")
    gpu = limits.get("gpu")
    if gpu and gpu["min_mhz"] is not None and gpu["max_mhz"] is not None and gpu["min_mhz"] < gpu["max_mhz"]:
        warnings.append(f"GPU clock is not locked ({gpu['device']}: {gpu['min_mhz']:.0f}-{gpu['max_mhz']:.0f} MHz, "
                        f"governor {gpu['governor']}); `sudo jetson_clocks` locks it")
    return warnings
