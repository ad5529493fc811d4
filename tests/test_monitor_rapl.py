"""RAPL reader against a fake /sys/class/powercap tree (this machine exposes no RAPL)."""

import os

import pytest

from edgebench.monitor.rapl import RaplReader
from fakes.sysfs import make_rapl_zone, set_energy


class Clock:
    """A settable monotonic clock, so power = energy / time is exact."""

    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


@pytest.fixture
def two_socket_tree(tmp_path):
    root = tmp_path / "powercap"
    (root / "intel-rapl").mkdir(parents=True)  # the control type: no counter
    (root / "intel-rapl" / "enabled").write_text("1\n")
    make_rapl_zone(root, "intel-rapl:0", "package-0", energy_uj=1_000_000)
    make_rapl_zone(root, "intel-rapl:0:0", "core", energy_uj=500_000)
    make_rapl_zone(root, "intel-rapl:0:1", "dram", energy_uj=10_000)
    make_rapl_zone(root, "intel-rapl:1", "package-1", energy_uj=2_000_000)
    make_rapl_zone(root, "intel-rapl:1:0", "dram", energy_uj=20_000)
    make_rapl_zone(root, "intel-rapl-mmio:0", "package-0", energy_uj=1_000_000)
    return root


def test_zones_and_column_names(two_socket_tree):
    reader = RaplReader(two_socket_tree, clock=Clock())
    assert reader.available()
    assert sorted(reader.columns) == [
        "power_rapl_core_mw", "power_rapl_package_0_dram_mw", "power_rapl_package_0_mw",
        "power_rapl_package_1_dram_mw", "power_rapl_package_1_mw",
    ]  # the MMIO copy of package-0 is not read twice


def test_power_between_reads_in_milliwatts(two_socket_tree):
    clock = Clock()
    reader = RaplReader(two_socket_tree, clock=clock)
    first = reader.read()
    assert set(first) == set(reader.columns) and all(v is None for v in first.values())
    clock.now += 2.0
    set_energy(two_socket_tree, "intel-rapl:0", 1_000_000 + 30_000_000)  # 30 J in 2 s = 15 W
    set_energy(two_socket_tree, "intel-rapl:0:1", 10_000 + 4_000_000)  # 4 J in 2 s = 2 W
    power = reader.read()
    assert power["power_rapl_package_0_mw"] == pytest.approx(15_000.0)
    assert power["power_rapl_package_0_dram_mw"] == pytest.approx(2_000.0)
    assert power["power_rapl_package_1_mw"] == pytest.approx(0.0)


def test_counter_wrap_around(tmp_path):
    root = tmp_path / "powercap"
    max_range = 262_143_328_850
    make_rapl_zone(root, "intel-rapl:0", "package-0", energy_uj=max_range - 1_000_000, max_range_uj=max_range)
    clock = Clock()
    reader = RaplReader(root, clock=clock)
    reader.read()
    clock.now += 1.0
    set_energy(root, "intel-rapl:0", 4_000_000)  # wrapped: 1 J before the top, 4 J after it
    assert reader.read()["power_rapl_package_0_mw"] == pytest.approx(5_000.0)


def test_missing_tree_and_empty_tree(tmp_path):
    reader = RaplReader(tmp_path / "nope")
    assert not reader.available() and "does not exist" in reader.unavailable_reason
    assert reader.read() == {}
    (tmp_path / "empty").mkdir()
    reader = RaplReader(tmp_path / "empty")
    assert not reader.available() and "no RAPL zones" in reader.unavailable_reason


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_root_only_counters_are_reported(tmp_path):
    root = tmp_path / "powercap"
    zone = make_rapl_zone(root, "intel-rapl:0", "package-0")
    (zone / "energy_uj").chmod(0o000)
    reader = RaplReader(root)
    assert not reader.available() and "root-only" in reader.unavailable_reason


def test_an_unreadable_counter_gives_none_not_a_crash(two_socket_tree):
    clock = Clock()
    reader = RaplReader(two_socket_tree, clock=clock)
    reader.read()
    (two_socket_tree / "intel-rapl:1" / "energy_uj").write_text("garbage\n")
    clock.now += 1.0
    power = reader.read()
    assert power["power_rapl_package_1_mw"] is None and power["power_rapl_package_0_mw"] == 0.0


def test_real_host_never_raises():
    reader = RaplReader()  # this machine's own /sys/class/powercap, whatever it holds
    assert isinstance(reader.available(), bool)
    assert isinstance(reader.read(), dict)
