"""Throttling and clock state: limits read from a fake sysfs root laid out as the kernel's
(tests/fakes/sysfs.py cites the layouts), samples from real recorded TX2 tegrastats lines
(tests/fakes/tegrastats_samples.jsonl) parsed by edgebench's own parser. This machine has no
cpufreq, devfreq or thermal zones, so a real run here must say that nothing could be checked."""

import json
from pathlib import Path

import pandas as pd
import pytest

from edgebench.analysis.ranking import rank_table, read_config_table
from edgebench.analysis.table import build_table
from edgebench.atomic import write_csv_atomic
from edgebench.hwconfig.clocks import read_limits, sensor_name
from edgebench.monitor.tegrastats import parse_line
from edgebench.train.throttle import throttle_report
from tests.fakes.sysfs import make_cpufreq, make_devfreq, make_thermal_zone
from tests.test_table import make_run

SAMPLES = [json.loads(line) for line in (Path(__file__).parent / "fakes" / "tegrastats_samples.jsonl").open()]
# Two real TX2 lines: one under a training load (every core at 2034-2035 MHz, GPU 71 % at 1300 MHz,
# GPU@51C), one idle with cores 1 and 2 at 345 MHz.
LOADED = next(s["line"] for s in SAMPLES if "CPU [55%@2035,14%@2034" in s["line"])
IDLE = next(s["line"] for s in SAMPLES if "CPU [4%@2035,4%@345,4%@345" in s["line"])
EPOCH = pd.DataFrame([{"started_at": "2026-01-01T00:00:00+00:00", "ended_at": "2026-01-01T00:00:10+00:00"}])


def trace(*lines, outside=None):
    """Return hw.csv rows of the lines, stamped 1 s apart inside EPOCH (and one line after it, if given)."""
    rows = [{**parse_line(line), "timestamp": f"2026-01-01T00:00:0{i + 1}+00:00"} for i, line in enumerate(lines)]
    if outside:
        rows.append({**parse_line(outside), "timestamp": "2026-01-01T00:00:30+00:00"})
    return pd.DataFrame(rows)


@pytest.fixture
def tx2(tmp_path):
    """A TX2's clocks and zones: 2035.2 MHz cores, the GP10B GPU up to 1300.5 MHz, GPU-therm."""
    for core in range(6):
        make_cpufreq(tmp_path, core, governor="schedutil" if core == 1 else "performance")
    make_devfreq(tmp_path, "17000000.gp10b", min_hz=114750000, max_hz=1300500000)
    make_thermal_zone(tmp_path, 0, "GPU-therm", 41000, [("active", 20000), ("passive", 50000), ("critical", 101000)])
    make_thermal_zone(tmp_path, 1, "Tboard_tegra", 37000, [("critical", 107000)])
    make_thermal_zone(tmp_path, 2, "thermal-fan-est", 46000, [("active", 51000)])  # a fan trip: no throttling
    return tmp_path


def test_limits_and_warnings_come_from_the_fake_tree(tx2):
    limits = read_limits([0, 1], gpu=True, root=tx2)
    assert limits["cpu"] == {"0": {"governor": "performance", "max_mhz": 2035.2, "hardware_max_mhz": 2035.2},
                             "1": {"governor": "schedutil", "max_mhz": 2035.2, "hardware_max_mhz": 2035.2}}
    assert limits["gpu"] == {"device": "17000000.gp10b", "governor": "nvhost_podgov", "min_mhz": 114.75,
                             "max_mhz": 1300.5}
    # The gentlest throttling trip of each zone; a fan-only zone has none.
    assert limits["thermal"] == {"gpu": {"zone": "GPU-therm", "trip_type": "passive", "trip_c": 50.0},
                                 "tboard": {"zone": "Tboard_tegra", "trip_type": "critical", "trip_c": 107.0}}
    assert limits["warnings"] == [
        "CPU governor is not `performance` (cpu1: schedutil): clocks may vary during the run",
        "GPU clock is not locked (17000000.gp10b: 115-1300 MHz, governor nvhost_podgov); `sudo jetson_clocks` locks it"]
    assert read_limits([0], gpu=False, root=tx2)["warnings"] == []  # core 0 is on `performance`; no GPU run


def test_zone_types_map_to_the_names_tegrastats_prints():
    assert [sensor_name(t) for t in ("CPU-therm", "Tboard_tegra", "PMIC-Die", "thermal-fan-est", "tj-thermal",
                                     "soc0-thermal")] == ["cpu", "tboard", "pmic", "thermal", "tj", "soc0"]


def test_a_loaded_board_at_its_clocks_is_not_throttled(tx2):
    limits = read_limits(range(6), gpu=True, root=tx2)
    limits["thermal"]["gpu"]["trip_c"] = 96.0
    report = throttle_report(trace(LOADED, LOADED), EPOCH, limits, range(6), gpu=True)
    assert report["throttled"] is False, report
    assert report["lowest_mhz"] == {**{f"cpu{i}": pytest.approx(2034 if i in (1, 2) else 2035) for i in range(6)},
                                    "gpu": 1300}
    assert set(report["checked"]) == {*(f"cpu{i}" for i in range(6)), "gpu", "temp_gpu_c", "temp_tboard_c"}


def test_a_core_below_its_ceiling_and_a_zone_at_its_trip_are_flagged(tx2):
    limits = read_limits([0, 1, 3], gpu=True, root=tx2)
    report = throttle_report(trace(LOADED, IDLE), EPOCH, limits, [0, 1, 3], gpu=True)
    assert report["throttled"] is True
    # The idle line prints the GPU's load without a clock: its 1300 MHz under load is all there is.
    assert report["lowest_mhz"]["gpu"] == 1300
    assert report["findings"] == ["cpu1 ran down to 345 MHz, 17% of its 2035 MHz ceiling",
                                  "gpu reached 51.0 C, its passive trip point (50.0 C, zone GPU-therm)"]


def test_samples_outside_the_epochs_do_not_count(tx2):
    limits = {**read_limits([1], gpu=False, root=tx2), "thermal": {}}  # clocks only
    assert throttle_report(trace(LOADED, outside=IDLE), EPOCH, limits, [1], gpu=False)["throttled"] is False
    assert throttle_report(trace(LOADED, IDLE), EPOCH, limits, [1], gpu=False)["throttled"] is True


def test_without_limits_nothing_is_claimed(tmp_path):
    report = throttle_report(trace(LOADED), EPOCH, read_limits([0], gpu=True, root=tmp_path), [0], gpu=True)
    assert report["throttled"] is None and report["checked"] == [] and "no cpufreq" in report["reason"]


def test_a_throttled_run_is_said_so_in_its_table_and_not_ranked(tx2, tmp_path):
    limits = read_limits([1], gpu=False, root=tx2)
    runs = []
    for framework, line in (("pytorch", IDLE), ("mxnet", LOADED)):
        run_json = make_run(tmp_path, framework, "lenet", 0, [1.0], [1.0], [0.5], [0.9])
        summary = json.loads(run_json.read_text())
        summary["throttling"] = throttle_report(trace(line), EPOCH, {**limits, "thermal": {}}, [1], gpu=False)
        run_json.write_text(json.dumps(summary))
        runs.append(run_json)
    out = tmp_path / "cpu_cfg1.csv"
    write_csv_atomic(build_table(runs), out)
    table = pd.read_csv(out).set_index("framework")
    assert table.loc["pytorch", "status"] == ("throttled: 1 of 1 run(s); "
                                              "cpu1 ran down to 345 MHz, 17% of its 2035 MHz ceiling")
    assert table.loc["mxnet", "status"] == "done"
    assert table.loc["pytorch", "throttled"] and not table.loc["mxnet", "throttled"]
    assert (rank_table(read_config_table(out))["best_framework"] == "").all()
