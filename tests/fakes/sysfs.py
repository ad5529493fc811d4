"""Builders of fake sysfs trees in a temporary directory, laid out as the kernel lays them out.

powercap (Documentation/power/powercap/powercap.rst): /sys/class/powercap/<kind>:<id>[:<sub>]/
with name, energy_uj, max_energy_range_uj, enabled; the control-type directory (`intel-rapl`)
has no counter. CPU hotplug (Documentation/core-api/cpu_hotplug.rst):
/sys/devices/system/cpu/cpuN/online holding "0" or "1"; cpu0 often has no `online` file; the
summary files `online`, `possible`, `present` list ranges like "0-3,5". cpufreq
(Documentation/admin-guide/pm/cpufreq.rst): cpuN/cpufreq/{scaling_governor, scaling_max_freq,
cpuinfo_max_freq} in kHz. devfreq (Documentation/ABI/testing/sysfs-class-devfreq):
/sys/class/devfreq/<device>/{governor, min_freq, max_freq} in Hz. thermal
(Documentation/driver-api/thermal/sysfs-api.rst): /sys/class/thermal/thermal_zoneN/{type, temp,
trip_point_K_type, trip_point_K_temp}, millidegrees C.
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


def make_cpufreq(root, core, *, governor="performance", max_khz=2035200, hardware_max_khz=2035200):
    """Give core N of a fake root (the tree under root/sys) a cpufreq policy directory."""
    cpufreq = Path(root) / "sys" / "devices" / "system" / "cpu" / f"cpu{core}" / "cpufreq"
    cpufreq.mkdir(parents=True, exist_ok=True)
    (cpufreq / "scaling_governor").write_text(f"{governor}\n")
    (cpufreq / "scaling_max_freq").write_text(f"{max_khz}\n")
    (cpufreq / "cpuinfo_max_freq").write_text(f"{hardware_max_khz}\n")


def make_devfreq(root, name, *, min_hz, max_hz, governor="nvhost_podgov"):
    """Add a devfreq device (a Jetson GPU is named like 17000000.gp10b) to a fake root."""
    device = Path(root) / "sys" / "class" / "devfreq" / name
    device.mkdir(parents=True, exist_ok=True)
    (device / "governor").write_text(f"{governor}\n")
    (device / "min_freq").write_text(f"{min_hz}\n")
    (device / "max_freq").write_text(f"{max_hz}\n")


def make_thermal_zone(root, index, zone_type, temp_mc, trips):
    """Add thermal_zoneN with its trip points [(type, millidegrees), ...] to a fake root."""
    zone = Path(root) / "sys" / "class" / "thermal" / f"thermal_zone{index}"
    zone.mkdir(parents=True, exist_ok=True)
    (zone / "type").write_text(f"{zone_type}\n")
    (zone / "temp").write_text(f"{temp_mc}\n")
    for k, (trip_type, trip_mc) in enumerate(trips):
        (zone / f"trip_point_{k}_type").write_text(f"{trip_type}\n")
        (zone / f"trip_point_{k}_temp").write_text(f"{trip_mc}\n")
