"""Builders of fake sysfs trees in a temporary directory, laid out as the kernel lays them out.

powercap (Documentation/power/powercap/powercap.rst): /sys/class/powercap/<kind>:<id>[:<sub>]/
with name, energy_uj, max_energy_range_uj, enabled; the control-type directory (`intel-rapl`)
has no counter. CPU hotplug (Documentation/core-api/cpu_hotplug.rst):
/sys/devices/system/cpu/cpuN/online holding "0" or "1"; cpu0 often has no `online` file; the
summary files `online`, `possible`, `present` list ranges like "0-3,5".
"""

from pathlib import Path


def make_rapl_zone(root, zone, name, energy_uj=0, max_range_uj=262143328850):
    """Return the directory of a new powercap zone under root."""
    path = Path(root) / zone
    path.mkdir(parents=True, exist_ok=True)
    (path / "name").write_text(f"{name}\n")
    (path / "energy_uj").write_text(f"{energy_uj}\n")
    (path / "max_energy_range_uj").write_text(f"{max_range_uj}\n")
    (path / "enabled").write_text("1\n")
    return path


def set_energy(root, zone, energy_uj):
    """Set a zone's cumulative energy counter, as the hardware advances it."""
    (Path(root) / zone / "energy_uj").write_text(f"{energy_uj}\n")


def make_cpu_tree(root, count, offline=(), without_online_file=(0,)):
    """Return a fake /sys/devices/system/cpu with count cores, some offline."""
    root = Path(root)
    for i in range(count):
        core = root / f"cpu{i}"
        core.mkdir(parents=True, exist_ok=True)
        if i not in without_online_file:
            (core / "online").write_text("0\n" if i in offline else "1\n")
    (root / "cpufreq").mkdir(exist_ok=True)  # siblings that are not cores must be ignored
    (root / "cpuidle").mkdir(exist_ok=True)
    online = [i for i in range(count) if i not in offline]
    (root / "online").write_text(",".join(map(str, online)) + "\n")
    (root / "possible").write_text(f"0-{count - 1}\n")
    return root


def core_states(root):
    """Return {core: '0'|'1'} for the cores that have an online file."""
    states = {}
    for path in Path(root).glob("cpu[0-9]*/online"):
        states[int(path.parent.name[3:])] = path.read_text().strip()
    return states
