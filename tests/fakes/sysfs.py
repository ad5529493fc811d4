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

INA3221 / INA238 power monitors, as edgebench/monitor/rails.py reads them. Every I2C device is a
directory `sys/devices/.../<bus>-<addr>` holding `name`, reached through the links
`sys/bus/i2c/devices/<bus>-<addr>` and `sys/bus/i2c/drivers/<driver>/<bus>-<addr>` (Linux
Documentation/i2c/instantiating-devices.rst, ABI sysfs-bus-i2c; the parent path differs per SoC,
e.g. 3160000.i2c/i2c-0 on TX2, c240000.i2c/i2c-1 on Orin, and is never read here). Then:

- hwmon INA3221 (JetPack 5, 6, 7; Documentation/hwmon/ina3221.rst): name `ina3221`,
  `hwmon/hwmon<M>/` with `name`, `in[123]_label`, `in[123]_enable`, `in[123]_input` (bus mV),
  `curr[123]_input` (mA), `curr[123]_crit`, `curr[123]_max` (mA), `shunt[123]_resistor` (uOhm),
  `in[456]_input` (shunt uV), `in7_input` and `in7_label` ("sum of shunt voltages"), `samples`,
  `update_interval` (ms). A channel without a device-tree label has no `in<N>_label`. jetson_stats
  jtop/core/power.py (rbonghi/jetson_stats) finds them the same way (`/sys/bus/i2c/devices/*/name`,
  `hwmon/hwmon*/in*_label`; skips labels with NC and channel 7).
- hwmon INA238 (Thor's VIN; Documentation/hwmon/ina238.rst): name `ina238`, `hwmon/hwmon<M>/` with
  `in0_input` (shunt mV), `in1_input` (bus mV), `curr1_input` (mA), `power1_input` (uW),
  `temp1_input` (m degC), and `label` (Documentation/ABI/testing/sysfs-class-hwmon: the chip's
  label from the device tree). Thor's INA238 bus and address are not documented publicly:
  "1-0044" is a placeholder (nothing reads the address).
- iio INA3221 (JetPack 4, NVIDIA's ina3221x driver; docs/rails.md section 3; jtop
  power.py's `rail_name_` branch): name `ina3221x`, `iio:device<N>/` with `name`,
  `rail_name_<K>`, `in_power<K>_input` (mW), `in_voltage<K>_input` (mV), `in_current<K>_input`
  (mA), `crit_current_limit_<K>`, `warn_current_limit_<K>` (mA), `running_mode`.

Per board and JetPack (JETSON_RAILS below), the chips, addresses and labels come from docs/rails.md
section 2 and these public sources: TX2 JP4 0-0040 (VDD_SYS_GPU, VDD_SYS_SOC,
VDD_4V0_WIFI) and 0-0041 (VDD_IN, VDD_SYS_CPU, VDD_SYS_DDR), `/sys/bus/i2c/drivers/ina3221x/
0-0041/iio:device1/in_power0_input` = VDD_IN (docs/rails.md 2.2); Nano JP4 6-0040/iio:device0
POM_5V_IN, POM_5V_GPU, POM_5V_CPU (docs/rails.md 2.3, jetson_stats#131; rverdile/nano-temp-monitor
power.py); Xavier NX JP4 7-0040/iio:device0 VDD_IN, VDD_CPU_GPU_CV, VDD_SOC and JP5
`/sys/bus/i2c/devices/7-0040/hwmon/hwmon5` (public Jetson logging scripts; forum t/200883); AGX
Xavier JP4 1-0040/iio:device0 GPU, CPU, SOC and 1-0041/iio:device1 CV, VDDRQ, SYS5V
(oscarferraz/ICASSP23 jetson_inference_xavier/.../power_loop.sh; DG-09840-001 section 5.6.2); Orin
NX / Orin Nano JP5, JP6 1-0040 VDD_IN, VDD_CPU_GPU_CV, VDD_SOC (Linux DT tegra234-p3767, NVIDIA's
`i2c@c240000 { ina3221@40 { compatible = "ti,ina3221"` overlay); AGX Orin JP5 1-0040 VDD_GPU_SOC,
VDD_CPU_CV, VIN_SYS_5V0 and 1-0041 NC, VDDQ_VDD2_1V8AO, NC (jtop power.py, skipping NC; the second
chip is absent from some JP6 builds, docs/rails.md 2.7); Thor JP7 INA3221 VDD_GPU,
VDD_CPU_SOC_MSS, VIN_SYS_5V0 and INA238 VIN (docs/rails.md 2.8, forum t/366461). The readings are
made up, each rail's share plausible (the input above the sum of its branches).
"""

import os
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


# --- INA3221 / INA238 power monitors (see the module docstring for the layouts' sources) ---


def _i2c_device(root, bus_addr: str, name: str, driver: str) -> Path:
    """Return a new I2C device directory, linked from sys/bus/i2c/devices and its driver's directory."""
    root = Path(root)
    bus = bus_addr.split("-")[0]
    device = root / "sys" / "devices" / "platform" / f"soc-i2c{bus}" / f"i2c-{bus}" / bus_addr
    device.mkdir(parents=True)
    (device / "name").write_text(f"{name}\n")
    (device / "modalias").write_text(f"i2c:{name}\n")
    driver_dir = root / "sys" / "bus" / "i2c" / "drivers" / driver
    for links in (root / "sys" / "bus" / "i2c" / "devices", driver_dir):
        links.mkdir(parents=True, exist_ok=True)
        (links / bus_addr).symlink_to(os.path.relpath(device, links))
    for control in ("bind", "unbind", "uevent"):  # a driver directory holds these beside its devices
        (driver_dir / control).touch()
    return device


def make_ina3221_hwmon(root, bus_addr: str, hwmon: int, channels: dict, *, samples=4, update_interval_ms=8) -> Path:
    """Add a hwmon INA3221 (JetPack 5+): channels {N: (label, bus mV, mA)}, N in 1..3; return its hwmon dir."""
    device = _i2c_device(root, bus_addr, "ina3221", "ina3221")
    path = device / "hwmon" / f"hwmon{hwmon}"
    path.mkdir(parents=True)
    (path / "name").write_text("ina3221\n")
    shunt_uv = {}
    for n in (1, 2, 3):
        label, mv, ma = channels.get(n, (None, 0, 0))
        if label is not None:
            (path / f"in{n}_label").write_text(f"{label}\n")
        (path / f"in{n}_enable").write_text("1\n" if label is not None else "0\n")
        (path / f"in{n}_input").write_text(f"{mv}\n")
        (path / f"curr{n}_input").write_text(f"{ma}\n")
        (path / f"curr{n}_crit").write_text("32760\n")
        (path / f"curr{n}_max").write_text("32760\n")
        (path / f"shunt{n}_resistor").write_text("5000\n")
        shunt_uv[n] = ma * 5  # 5 mOhm shunts: uV = mA x 5
        (path / f"in{n + 3}_input").write_text(f"{shunt_uv[n]}\n")
    (path / "in7_label").write_text("sum of shunt voltages\n")
    (path / "in7_input").write_text(f"{sum(shunt_uv.values())}\n")
    (path / "samples").write_text(f"{samples}\n")
    (path / "update_interval").write_text(f"{update_interval_ms}\n")
    return path


def make_ina238_hwmon(root, bus_addr: str, hwmon: int, label: str, mv: int, ma: int) -> Path:
    """Add a hwmon INA238 with its chip label (Thor's VIN); return its hwmon dir."""
    device = _i2c_device(root, bus_addr, "ina238", "ina238")
    path = device / "hwmon" / f"hwmon{hwmon}"
    path.mkdir(parents=True)
    (path / "name").write_text("ina238\n")
    if label is not None:
        (path / "label").write_text(f"{label}\n")
    (path / "in0_input").write_text(f"{ma * 2 // 1000}\n")  # shunt mV across 2 mOhm
    (path / "in1_input").write_text(f"{mv}\n")
    (path / "curr1_input").write_text(f"{ma}\n")
    (path / "power1_input").write_text(f"{mv * ma}\n")  # mV x mA = uW
    (path / "temp1_input").write_text("41250\n")
    return path


def make_ina3221x_iio(root, bus_addr: str, iio: int, rails: dict, *, directory: str | None = None) -> Path:
    """Add a JetPack 4 iio INA3221: rails {K: (rail name, mV, mA)}, K in 0..2; return its iio dir.

    directory: the iio directory's name, `iio:device<iio>` by default (L4T R28: `iio_device`).
    """
    device = _i2c_device(root, bus_addr, "ina3221x", "ina3221x")
    path = device / (directory or f"iio:device{iio}")
    path.mkdir(parents=True)
    (path / "name").write_text("ina3221x\n")
    (path / "running_mode").write_text("1\n")
    for k, (name, mv, ma) in rails.items():
        (path / f"rail_name_{k}").write_text(f"{name}\n")
        (path / f"in_voltage{k}_input").write_text(f"{mv}\n")
        (path / f"in_current{k}_input").write_text(f"{ma}\n")
        (path / f"in_power{k}_input").write_text(f"{mv * ma // 1000}\n")  # the driver's mW
        (path / f"crit_current_limit_{k}").write_text("3000\n")
        (path / f"warn_current_limit_{k}").write_text("2000\n")
    return path


# (board, JetPack) -> chips: ("iio" | "ina3221" | "ina238", <bus>-<addr>, index, {channel: (label, mV, mA)}).
# Sources per row: the module docstring. Readings: the input rail above the sum of its branches.
JETSON_RAILS = {
    ("tx2", "jp4"): [("iio", "0-0040", 0, {0: ("VDD_SYS_GPU", 19152, 31), 1: ("VDD_SYS_SOC", 19152, 40),
                                           2: ("VDD_4V0_WIFI", 19152, 3)}),
                     ("iio", "0-0041", 1, {0: ("VDD_IN", 19104, 164), 1: ("VDD_SYS_CPU", 19144, 22),
                                           2: ("VDD_SYS_DDR", 4808, 123)})],
    ("nano", "jp4"): [("iio", "6-0040", 0, {0: ("POM_5V_IN", 5072, 600), 1: ("POM_5V_GPU", 5064, 24),
                                            2: ("POM_5V_CPU", 5064, 120)})],
    ("xavier_nx", "jp4"): [("iio", "7-0040", 0, {0: ("VDD_IN", 5040, 780), 1: ("VDD_CPU_GPU_CV", 5040, 150),
                                                 2: ("VDD_SOC", 5040, 230)})],
    ("agx_xavier", "jp4"): [("iio", "1-0040", 0, {0: ("GPU", 19136, 8), 1: ("CPU", 19136, 40), 2: ("SOC", 19136, 60)}),
                            ("iio", "1-0041", 1, {0: ("CV", 19136, 0), 1: ("VDDRQ", 19136, 20),
                                                  2: ("SYS5V", 4984, 420)})],
    ("xavier_nx", "jp5"): [("ina3221", "7-0040", 5, {1: ("VDD_IN", 5040, 780), 2: ("VDD_CPU_GPU_CV", 5040, 150),
                                                     3: ("VDD_SOC", 5040, 230)})],
    ("orin_nx", "jp5"): [("ina3221", "1-0040", 1, {1: ("VDD_IN", 5048, 1260), 2: ("VDD_CPU_GPU_CV", 5048, 310),
                                                   3: ("VDD_SOC", 5048, 250)})],
    ("orin_nano", "jp6"): [("ina3221", "1-0040", 1, {1: ("VDD_IN", 5040, 960), 2: ("VDD_CPU_GPU_CV", 5040, 200),
                                                     3: ("VDD_SOC", 5040, 220)})],
    ("agx_orin", "jp5"): [("ina3221", "1-0040", 1, {1: ("VDD_GPU_SOC", 19152, 160), 2: ("VDD_CPU_CV", 19152, 60),
                                                    3: ("VIN_SYS_5V0", 5000, 640)}),
                          ("ina3221", "1-0041", 2, {1: ("NC", 0, 0), 2: ("VDDQ_VDD2_1V8AO", 1800, 100), 3: ("NC", 0, 0)})],
    ("agx_orin", "jp6"): [("ina3221", "1-0040", 1, {1: ("VDD_GPU_SOC", 19152, 160), 2: ("VDD_CPU_CV", 19152, 60),
                                                    3: ("VIN_SYS_5V0", 5000, 640)})],
    ("thor", "jp7"): [("ina3221", "1-0040", 1, {1: ("VDD_GPU", 19200, 0), 2: ("VDD_CPU_SOC_MSS", 19200, 288),
                                                3: ("VIN_SYS_5V0", 5000, 1008)}),
                      ("ina238", "1-0044", 2, {1: ("VIN", 19200, 875)})],
}


def make_jetson_rails(root, board: str, jetpack: str) -> list:
    """Build the power monitors of a board on a JetPack (JETSON_RAILS) under root; return their directories."""
    made = []
    for kind, bus_addr, index, channels in JETSON_RAILS[(board, jetpack)]:
        if kind == "iio":
            made.append(make_ina3221x_iio(root, bus_addr, index, channels))
        elif kind == "ina3221":
            made.append(make_ina3221_hwmon(root, bus_addr, index, channels))
        else:
            (label, mv, ma), = channels.values()
            made.append(make_ina238_hwmon(root, bus_addr, index, label, mv, ma))
    return made


def expected_rail_mw(board: str, jetpack: str) -> dict:
    """Return {rail: mW} as the chips of JETSON_RAILS report them (NC channels left out)."""
    expected = {}
    for kind, _, _, channels in JETSON_RAILS[(board, jetpack)]:
        for label, mv, ma in channels.values():
            if label != "NC":
                # iio reports the driver's whole mW; hwmon INA3221 gives mV and mA; INA238 uW.
                expected[label] = mv * ma // 1000 if kind == "iio" else mv * ma / 1000
    return expected


def rewrite_in_place(path, value) -> None:
    """Give a fake sysfs file a new value as a reader holding it open sees it: same inode, never empty.

    A sampler keeps its files open and re-reads them (as sysfs is read): a replaced file would
    keep the old text for it, a truncated one would read empty for an instant. The text is
    padded to the old length with spaces, which int() ignores.
    """
    with open(path, "r+b") as handle:
        old = handle.read()
        new = f"{value}".encode()
        new = new.ljust(len(old) - 1) + b"\n" if len(new) < len(old) else new + b"\n"
        handle.seek(0)
        handle.write(new)


def set_ina3221_reading(hwmon_dir, channel: int, mv: int, ma: int) -> None:
    """Change a hwmon INA3221 channel's bus voltage and current, as the chip's next conversion would."""
    rewrite_in_place(Path(hwmon_dir) / f"in{channel}_input", mv)
    rewrite_in_place(Path(hwmon_dir) / f"curr{channel}_input", ma)
