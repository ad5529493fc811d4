"""The direct rail sampler (monitor.rails) on fake sysfs trees laid out as each JetPack lays out its
INA3221 / INA238 monitors (tests/fakes/sysfs.py cites the layouts' sources); the sampler runs for
real as a child process."""

import time

import pandas as pd
import pytest

from edgebench.hwconfig import load_board
from edgebench.monitor import MonitorRefused, check_monitor
from edgebench.monitor.power import add_total_power
from edgebench.monitor.rails import RailsSampler, find_channels, parse_rails_log
from tests.fakes.sysfs import (JETSON_RAILS, expected_rail_mw, make_ina238_hwmon, make_ina3221_hwmon,
                               make_ina3221x_iio, make_jetson_rails, rewrite_in_place, set_ina3221_reading)

LAYOUTS = sorted(JETSON_RAILS)


@pytest.mark.parametrize("board, jetpack", LAYOUTS, ids=[f"{b}-{j}" for b, j in LAYOUTS])
def test_every_jetpack_layout_gives_the_boards_rails_in_milliwatts(tmp_path, board, jetpack):
    make_jetson_rails(tmp_path, board, jetpack)
    channels, found = find_channels(tmp_path)
    readings = {c.rail: c.read_mw() for c in channels}
    assert readings == pytest.approx(expected_rail_mw(board, jetpack))
    power = load_board(board)["power"]
    # The board description names this source's rails: what a board shows is among them, its total always.
    assert set(readings) <= set(power["sysfs_rails"])
    assert set(power["total_rails"]) <= set(readings)
    total = add_total_power(pd.DataFrame([{c.column: v for c, v in zip(channels, readings.values())}]), board)
    assert total["power_total_mw"].iloc[0] == pytest.approx(sum(readings[r] for r in power["total_rails"]))
    assert {c["driver"] for c in found["chips"]} == {"ina3221x" if jetpack == "jp4" else "ina3221"} | (
        {"ina238"} if board == "thor" else set())


def test_the_totals_by_hand():
    # mV x mA / 1000 (hwmon INA3221), the driver's mW (iio), uW / 1000 (INA238), summed as the profiles say.
    assert expected_rail_mw("tx2", "jp4")["VDD_IN"] == 19104 * 164 // 1000 == 3133
    assert expected_rail_mw("orin_nx", "jp5")["VDD_IN"] == 5048 * 1260 / 1000 == 6360.48
    assert expected_rail_mw("thor", "jp7")["VIN"] == 16800.0


def test_not_connected_sum_and_disabled_channels_are_skipped(tmp_path):
    hwmon = make_ina3221_hwmon(tmp_path, "1-0041", 2, {1: ("NC", 0, 0), 2: ("VDD_SYNC", 1800, 10), 3: ("VDD_X", 5000, 5)})
    rewrite_in_place(hwmon / "in3_enable", 0)
    channels, found = find_channels(tmp_path)
    # NC (a word) and channel 7 ("sum of shunt voltages") are not rails; a label merely holding
    # the letters NC is one. A disabled channel is left out and said so.
    assert [c.rail for c in channels] == ["VDD_SYNC"]
    assert any("'NC', not connected" in note for note in found["notes"])
    assert any("in3_enable = 0" in note for note in found["notes"])


def test_an_ina238_without_a_label_is_reported_not_guessed(tmp_path):
    make_ina238_hwmon(tmp_path, "1-0044", 3, None, 19200, 875)
    channels, found = find_channels(tmp_path)
    assert channels == [] and "without a label" in found["notes"][0]


def test_jetpack_3_names_the_iio_directory_iio_device(tmp_path):
    make_ina3221x_iio(tmp_path, "0-0041", 1, {0: ("VDD_IN", 19104, 164)}, directory="iio_device")
    channels, _ = find_channels(tmp_path)
    assert [(c.rail, c.read_mw()) for c in channels] == [("VDD_IN", 3133.0)]


def test_no_monitors_is_said_not_invented(tmp_path):
    channels, found = find_channels(tmp_path)
    assert channels == [] and found["notes"] == [
        f"no INA3221 / INA238 under {tmp_path}/sys/bus/i2c/devices or {tmp_path}/sys/bus/i2c/drivers/ina3221x"]


def test_the_sampler_samples_at_its_rate_with_both_clocks_and_sees_changes(tmp_path):
    (hwmon,) = make_jetson_rails(tmp_path, "orin_nx", "jp5")
    log = tmp_path / "hw.rails.log"
    with RailsSampler(log, rate_hz=50, root=tmp_path):
        time.sleep(0.6)
        set_ina3221_reading(hwmon, 1, 5048, 2000)  # VDD_IN rises: 10096 mW
        changed = pd.Timestamp.now(tz="UTC")
        time.sleep(0.6)
        rewrite_in_place(hwmon / "curr2_input", "garbage")  # a read that fails: empty, never 0
        broken = pd.Timestamp.now(tz="UTC")
        time.sleep(0.3)
    hw, skipped, found = parse_rails_log(log)
    assert skipped == 0 and found["rate_hz"] == 50 and found["rails"] == ["VDD_IN", "VDD_CPU_GPU_CV", "VDD_SOC"]
    assert list(hw.columns) == ["timestamp", "monotonic_s", "power_vdd_in_mw", "power_vdd_cpu_gpu_cv_mw",
                                "power_vdd_soc_mw"]
    gaps = hw["monotonic_s"].diff().dropna()
    assert (gaps > 0).all() and 0.015 < gaps.median() < 0.03  # 50 Hz on CLOCK_MONOTONIC
    assert len(hw) >= 40  # ~75 expected; generous for a loaded machine
    stamps = pd.to_datetime(hw["timestamp"], format="ISO8601")
    assert str(stamps.dt.tz) == "UTC" and stamps.is_monotonic_increasing
    before = stamps < changed - pd.Timedelta(seconds=0.05)
    after = (stamps > changed + pd.Timedelta(seconds=0.05)) & (stamps < broken)
    assert (hw.loc[before, "power_vdd_in_mw"] == 6360.48).all()
    assert (hw.loc[after, "power_vdd_in_mw"] == 10096.0).all() and after.sum() >= 10
    late = stamps > broken + pd.Timedelta(seconds=0.05)
    assert hw.loc[late, "power_vdd_cpu_gpu_cv_mw"].isna().all() and hw.loc[late, "power_vdd_in_mw"].notna().all()


def test_cut_lines_and_restarts_are_read_as_the_sampler_wrote_them(tmp_path):
    log = tmp_path / "hw.rails.log"
    log.write_text(
        '# rails sampler start 2026-01-01T00:00:00+00:00 {"rails": ["VDD_IN"], "rate_hz": 10}\n'
        "# columns timestamp,monotonic_s,power_vdd_in_mw\n"
        "2026-01-01T00:00:00.100000+00:00,10.1,5000.0\n"
        "2026-01-01T00:00:00.200000+00:00,10.2,\n"  # a failed read: empty
        "2026-01-01T00:00:00.300000+00:00,10.3,50"  # cut by a kill -9 ...
        '# rails sampler start 2026-01-01T00:01:00+00:00 {"rails": ["VDD_IN", "VDD_SOC"], "rate_hz": 20}\n'
        "# columns timestamp,monotonic_s,power_vdd_in_mw,power_vdd_soc_mw\n"  # ... the restart found another rail
        "2026-01-01T00:01:00.000000+00:00,70.0,5100.0,900.0\n"
        "2026-01-01T00:01:00.050000+00:00,70.05,5200.0\n"  # a field short
        "# missed_ticks 2 2026-01-01T00:01:00.100000+00:00\n"
        "2026-01-01T00:01:00.200000+00:00,70.2,5300.0,910.0")  # the last line, not ended: cut
    hw, skipped, found = parse_rails_log(log)
    assert skipped == 3 and found["rate_hz"] == 20
    assert hw["power_vdd_in_mw"].tolist()[:1] == [5000.0] and pd.isna(hw["power_vdd_in_mw"].iloc[1])
    assert hw["power_vdd_in_mw"].iloc[2] == 5100.0 and hw["power_vdd_soc_mw"].iloc[2] == 900.0
    assert len(hw) == 3 and pd.isna(hw["power_vdd_soc_mw"].iloc[0])


def test_auto_runs_where_the_profile_names_rails_and_the_board_has_them(tmp_path):
    tx2 = load_board("tx2")
    rails = {"enabled": "auto", "rate_hz": 10, "sysfs_root": str(tmp_path)}
    # No monitors yet: auto stays off, saying why; `true` refuses the run, naming the key.
    plan = check_monitor(tx2, {"rails": rails})
    assert plan.names == ["tegrastats"] and "no INA3221 / INA238 under" in plan.reasons["rails"]
    with pytest.raises(MonitorRefused, match=r"^monitor\.rails\.enabled: true, but no INA3221 / INA238 under"):
        check_monitor(tx2, {"rails": {**rails, "enabled": True}})
    # A board description naming no sysfs_rails (the demo host) leaves auto off even where rails exist.
    make_jetson_rails(tmp_path, "tx2", "jp4")
    assert check_monitor(tx2, {"rails": rails}).names == ["tegrastats", "rails"]
    demo = check_monitor(load_board("demo"), {"rails": rails})
    assert demo.names == ["host"] and "names no sysfs_rails" in demo.reasons["rails"]
    assert check_monitor(tx2, {"rails": {**rails, "enabled": False}}).names == ["tegrastats"]


def test_rails_without_the_profiles_total_are_not_the_power_source(tmp_path):
    # A Nano's rails on a board whose description wants TX2's VDD_IN: auto declines, true refuses.
    make_jetson_rails(tmp_path, "nano", "jp4")
    rails = {"enabled": "auto", "rate_hz": 10, "sysfs_root": str(tmp_path)}
    plan = check_monitor(load_board("tx2"), {"rails": rails})
    assert plan.names == ["tegrastats"] and "lack the total rails of board description 'tx2' (VDD_IN)" in plan.reasons["rails"]
    with pytest.raises(MonitorRefused, match="monitor.rails.enabled: true, but the rails found"):
        check_monitor(load_board("tx2"), {"rails": {**rails, "enabled": True}})


@pytest.mark.parametrize("module", ["edgebench.monitor.rails", "edgebench.monitor.wall"])
def test_the_sampler_processes_do_not_import_pandas(module):
    # They share the board with the measured run, at up to 100 Hz: they should stay small.
    import subprocess
    import sys

    probe = (f"import runpy, sys; sys.argv = ['x', '--help']\n"
             f"try:\n    runpy.run_module({module!r}, run_name='__main__')\nexcept SystemExit:\n    pass\n"
             "print('pandas' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert result.stdout.strip().splitlines()[-1] == "False"
