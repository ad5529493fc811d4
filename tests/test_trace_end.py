"""The power trace reaches past the last epoch's end, so that epoch's energy is covered to its end.

The runner keeps the monitor on for trailing_wait_s after training. tegrastats prints on its own
clock: run for real here (tests/fakes/tegrastats, a real subprocess printing at the interval), it
must have printed a line after the end by the time the wait is over. The host sampler samples
when stopped (tests/test_host_monitor.py), so it needs no wait.
"""

import os
import time
from pathlib import Path

import pandas as pd

from edgebench.hwconfig import load_board
from edgebench.monitor import trailing_wait_s
from edgebench.monitor.tegrastats import TegrastatsRunner, parse_log
from edgebench.timestamps import utc_now

FAKES = Path(__file__).parent / "fakes"


def test_tegrastats_prints_after_the_end_within_the_wait(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", f"{FAKES}{os.pathsep}{os.environ['PATH']}")
    for name in ("FAKE_TEGRASTATS_LINES", "FAKE_TEGRASTATS_PARTIAL", "FAKE_TEGRASTATS_STDERR"):
        monkeypatch.delenv(name, raising=False)
    board, interval_s = load_board("tx2"), 1.0
    log = tmp_path / "hw.log"
    with TegrastatsRunner(log, interval_ms=round(interval_s * 1000)) as runner:
        deadline = time.monotonic() + 15
        while runner.lines_written < 1 and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.3)  # the end falls between two lines, as it does in a run
        end = utc_now()
        time.sleep(trailing_wait_s(board, interval_s))
    hw, _ = parse_log(log, board=board)
    assert pd.to_datetime(hw["timestamp"], format="ISO8601").max() > pd.Timestamp(end)


def test_the_host_sampler_needs_no_wait():
    assert trailing_wait_s(load_board("host"), 1.0) == 0.0
