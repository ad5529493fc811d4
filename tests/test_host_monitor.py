"""The psutil host sampler, run for real as a child process."""

import subprocess
import sys
import time

import pandas as pd

from edgebench.monitor.host import HostSampler, parse_host_log
from edgebench.timestamps import utc_now
from edgebench.hwconfig.resolve import host_cores


def test_sampler_writes_contract_columns(tmp_path):
    log = tmp_path / "hw.log"
    with HostSampler(log, interval_s=0.2):
        time.sleep(2.0)
    hw, skipped = parse_host_log(log)
    assert skipped == 0
    assert len(hw) >= 3  # ~10 expected; generous for a loaded machine and interpreter start-up
    for column in ("timestamp", "ram_used_mb", "ram_total_mb", "swap_used_mb", "swap_total_mb"):
        assert column in hw.columns
    n_cores = len(host_cores())
    assert all(f"cpu{i}_load_pct" in hw.columns for i in range(n_cores))
    # The first sample, taken at the start, has no interval to measure loads over: empty, not 0.
    assert hw["cpu0_load_pct"].iloc[1:].between(0, 100).all() and pd.isna(hw["cpu0_load_pct"].iloc[0])
    assert (hw["ram_used_mb"] > 0).all() and (hw["ram_used_mb"] <= hw["ram_total_mb"]).all()
    assert not any(c.startswith("power_") for c in hw.columns)  # no sensor here: absent, not zero
    stamps = hw["timestamp"].map(lambda s: s.endswith("+00:00"))
    assert stamps.all()


def test_restart_appends_and_truncated_line_is_counted(tmp_path):
    log = tmp_path / "hw.log"
    with HostSampler(log, interval_s=0.2):
        time.sleep(1.0)
    first, _ = parse_host_log(log)
    with open(log, "a") as fh:
        fh.write('{"timestamp": "2026-01-01T00:00:00+00:00", "ram_us')  # a kill -9 mid-write
        fh.write("\n")
    with HostSampler(log, interval_s=0.2):
        time.sleep(1.0)
    hw, skipped = parse_host_log(log)
    assert skipped == 1
    assert len(hw) > len(first)
    assert log.read_text().count("# host sampler start") == 2


def test_stop_does_not_wait_for_the_next_sample(tmp_path):
    # With a 60 s interval, a sampler that slept through SIGTERM would hold stop() until its
    # 10 s grace ran out and it was killed.
    log = tmp_path / "hw.log"
    sampler = HostSampler(log, interval_s=60)
    sampler.start()
    began = time.monotonic()
    sampler.stop()
    assert time.monotonic() - began < 5
    assert log.read_text().startswith("# host sampler start")


def test_the_trace_spans_from_before_start_returns_to_after_stop_is_called(tmp_path):
    # What a training window between start() and stop() needs to be covered to its ends, even
    # where the interval (60 s here) is longer than the window: a sample at once, one at the stop.
    log = tmp_path / "hw.log"
    sampler = HostSampler(log, interval_s=60)
    sampler.start()
    opened = utc_now()
    time.sleep(0.2)
    closed = utc_now()
    sampler.stop()
    hw, _ = parse_host_log(log)
    stamps = pd.to_datetime(hw["timestamp"], format="ISO8601")
    assert len(hw) == 2
    assert stamps.iloc[0] < pd.Timestamp(opened) and stamps.iloc[1] > pd.Timestamp(closed)


def test_sampler_process_does_not_import_pandas(tmp_path):
    # The sampler shares the board with the measured run: it should stay small.
    probe = ("import runpy, sys; sys.argv = ['host', '--help']\n"
             "try:\n    runpy.run_module('edgebench.monitor.host', run_name='__main__')\n"
             "except SystemExit:\n    pass\nprint('pandas' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert result.stdout.strip().splitlines()[-1] == "False"
