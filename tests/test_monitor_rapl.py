"""RAPL reader against a fake /sys/class/powercap tree (this machine exposes no RAPL), and the
energy of a training window from its counters, across a wrap-around, against the known truth."""

import json
import os
import time
from datetime import datetime, timezone

import pandas as pd
import pytest

from edgebench.monitor.energy import energy_summary
from edgebench.monitor.host import HostSampler, parse_host_log
from edgebench.monitor.power import add_total_power
from edgebench.monitor.rapl import RaplReader
from fakes.sysfs import make_rapl_zone, set_energy

MAX_RANGE = 262_143_328_850  # a real package's max_energy_range_uj: the counter runs 0..MAX_RANGE
T0 = pd.Timestamp("2026-11-26T12:00:00+00:00")


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
    domains = ["core", "package_0_dram", "package_0", "package_1_dram", "package_1"]
    # the MMIO copy of package-0 is not read twice
    assert sorted(reader.columns) == sorted([f"power_rapl_{d}_mw" for d in domains]
                                            + [f"energy_rapl_{d}_uj" for d in domains])


def test_power_between_reads_in_milliwatts(two_socket_tree):
    clock = Clock()
    reader = RaplReader(two_socket_tree, clock=clock)
    first = reader.read()
    assert set(first) == set(reader.columns)
    # No interval yet, so no power; the counters are there from the first read.
    assert all(first[c] is None for c in reader.columns if c.startswith("power_"))
    assert first["energy_rapl_package_0_uj"] == 1_000_000 and first["energy_rapl_package_1_dram_uj"] == 20_000
    clock.now += 2.0
    set_energy(two_socket_tree, "intel-rapl:0", 1_000_000 + 30_000_000)  # 30 J in 2 s = 15 W
    set_energy(two_socket_tree, "intel-rapl:0:1", 10_000 + 4_000_000)  # 4 J in 2 s = 2 W
    power = reader.read()
    assert power["power_rapl_package_0_mw"] == pytest.approx(15_000.0)
    assert power["power_rapl_package_0_dram_mw"] == pytest.approx(2_000.0)
    assert power["power_rapl_package_1_mw"] == pytest.approx(0.0)
    assert power["energy_rapl_package_0_uj"] == 31_000_000  # the counter as sysfs gives it, before any wrap


def test_counter_wrap_around(tmp_path):
    root = tmp_path / "powercap"
    make_rapl_zone(root, "intel-rapl:0", "package-0", energy_uj=MAX_RANGE - 999_999, max_range_uj=MAX_RANGE)
    clock = Clock()
    reader = RaplReader(root, clock=clock)
    assert reader.read()["energy_rapl_package_0_uj"] == MAX_RANGE - 999_999
    clock.now += 1.0
    # Wrapped: 999,999 uJ up to MAX_RANGE, 1 uJ on to 0, then 4 J: 5 J in 1 s.
    set_energy(root, "intel-rapl:0", 4_000_000)
    read = reader.read()
    assert read["power_rapl_package_0_mw"] == 5_000.0
    assert read["energy_rapl_package_0_uj"] == MAX_RANGE + 1 + 4_000_000  # unwrapped: it keeps rising
    clock.now += 1.0
    set_energy(root, "intel-rapl:0", 6_000_000)  # no wrap: 2 J in 1 s
    read = reader.read()
    assert read["power_rapl_package_0_mw"] == 2_000.0 and read["energy_rapl_package_0_uj"] == MAX_RANGE + 1 + 6_000_000


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
    assert power["energy_rapl_package_1_uj"] is None  # absent, not a made-up counter


def test_real_host_never_raises():
    reader = RaplReader()  # this machine's own /sys/class/powercap, whatever it holds
    assert isinstance(reader.available(), bool)
    assert isinstance(reader.read(), dict)


# --- energy over a training window from the counters ---------------------------------------


def exact_energy_j(edges, watts, a, b):
    """Return the energy (J) over [a, b] of a power that is watts[k] during (edges[k], edges[k + 1]]."""
    return sum(w * max(0.0, min(b, hi) - max(a, lo)) for lo, hi, w in zip(edges[:-1], edges[1:], watts))


def test_window_energy_from_counters_across_a_wrap_equals_the_truth(tmp_path):
    # One sample a second for 20 s. The package draws 5 W, then 40 W from t = 10 s; DRAM 1.5 W.
    # Its counter starts 30 J below the top of its range, so it wraps at t = 6..7 s, inside
    # the window [2.25 s, 16.5 s], whose ends fall between samples.
    root = tmp_path / "powercap"
    make_rapl_zone(root, "intel-rapl:0", "package-0", energy_uj=MAX_RANGE - 30_000_000, max_range_uj=MAX_RANGE)
    make_rapl_zone(root, "intel-rapl:0:0", "dram", energy_uj=7_000)
    clock = Clock()
    reader = RaplReader(root, clock=clock)
    package_w = [5.0] * 10 + [40.0] * 10
    raw = {"intel-rapl:0": MAX_RANGE - 30_000_000, "intel-rapl:0:0": 7_000}
    rows = [{"timestamp": T0.isoformat(), **reader.read()}]
    for k, watts in enumerate(package_w, 1):
        for zone, uj in (("intel-rapl:0", watts * 1e6), ("intel-rapl:0:0", 1.5e6)):
            raw[zone] = (raw[zone] + int(uj)) % (MAX_RANGE + 1)  # what the hardware counter shows
            set_energy(root, zone, raw[zone])
        clock.now += 1.0
        rows.append({"timestamp": (T0 + pd.Timedelta(seconds=k)).isoformat(), **reader.read()})
    assert raw["intel-rapl:0"] < MAX_RANGE - 30_000_000  # it did wrap
    hw = add_total_power(pd.DataFrame(rows), "host")
    assert hw.attrs["power_total"]["energy_columns"] == ["energy_rapl_package_0_uj", "energy_rapl_dram_uj"]

    a, b = 2.25, 16.5
    truth_j = exact_energy_j(range(21), [p + 1.5 for p in package_w], a, b)
    result = energy_summary(hw, T0 + pd.Timedelta(seconds=a), T0 + pd.Timedelta(seconds=b), interval_s=1.0)
    assert result["method"] == "counter" and result["coverage"] == pytest.approx(1.0)
    assert result["energy_wh_integrated"] * 3600 == pytest.approx(truth_j, rel=1e-12)
    # The interval means taken as instantaneous samples (the old way) put the step half an
    # interval late: 17.5 J short of 320.125 J.
    by_power = energy_summary(hw.drop(columns="energy_total_uj"), T0 + pd.Timedelta(seconds=a),
                              T0 + pd.Timedelta(seconds=b))
    assert by_power["method"] == "trapezoid"
    assert truth_j == pytest.approx(320.125)
    assert by_power["energy_wh_integrated"] * 3600 == pytest.approx(truth_j - 17.5)


def wait_for_sample_after(log, stamp, timeout_s=20.0):
    """Wait until the host sampler's log holds a sample stamped after stamp (an ISO string)."""
    deadline = time.monotonic() + timeout_s
    while True:
        lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
        if any(pd.Timestamp(s["timestamp"]) > pd.Timestamp(stamp) for s in lines):
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"no sample after {stamp} within {timeout_s} s")
        time.sleep(0.02)


def now():
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


def test_the_real_sampler_integrates_a_window_with_a_wrap_exactly(tmp_path):
    # The host sampler as a real process on a fake powercap tree. The test moves the counters
    # only while the window is open and waits for a sample between moves, so the energy of the
    # window is exactly what it added, whatever the timing: 1.5 J, then 0.5 J to the top of
    # the range, 1 uJ over it to 0 and 3 J on (the wrap), plus 2 J of DRAM.
    root = tmp_path / "powercap"
    make_rapl_zone(root, "intel-rapl:0", "package-0", energy_uj=MAX_RANGE - 2_000_000, max_range_uj=MAX_RANGE)
    make_rapl_zone(root, "intel-rapl:0:0", "dram", energy_uj=0)
    log = tmp_path / "hw.log"
    with HostSampler(log, interval_s=0.1, powercap_root=root):
        start = now()
        wait_for_sample_after(log, start)
        for zone, value in (("intel-rapl:0", MAX_RANGE - 500_000), ("intel-rapl:0", 3_000_000),
                            ("intel-rapl:0:0", 2_000_000)):
            set_energy(root, zone, value)
            wait_for_sample_after(log, now())
        end = now()
    truth_uj = 1_500_000 + 500_000 + 1 + 3_000_000 + 2_000_000
    hw, skipped = parse_host_log(log)
    hw = add_total_power(hw, "host")
    result = energy_summary(hw, start, end, interval_s=0.1)
    assert skipped == 0 and result["method"] == "counter"
    assert result["energy_wh_integrated"] * 3.6e9 == pytest.approx(truth_uj, rel=1e-9)
    assert result["coverage"] == pytest.approx(1.0)  # the last sample, taken at the stop, is after the end
