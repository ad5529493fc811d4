"""TegrastatsRunner against tests/fakes/tegrastats, a real subprocess that replays recorded
tegrastats lines at the requested interval and buffers its output as tegrastats' C stdio does
(by the line on a terminal, in blocks into a pipe): spawning, stamping on arrival, stopping
(also on a crash, also when this process dies hard), restart markers and the parse into hw.csv
run for real."""

import os
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest

from edgebench.monitor.tegrastats import TegrastatsRunner, cli, parse_log

FAKES = Path(__file__).parent / "fakes"


@pytest.fixture(autouse=True)
def fake_tegrastats_on_path(monkeypatch):
    monkeypatch.setenv("PATH", f"{FAKES}{os.pathsep}{os.environ['PATH']}")
    for name in ("FAKE_TEGRASTATS_LINES", "FAKE_TEGRASTATS_PARTIAL", "FAKE_TEGRASTATS_STDERR"):
        monkeypatch.delenv(name, raising=False)


def wait_for(predicate, timeout_s=15.0):
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for the fake tegrastats")
        time.sleep(0.02)


def test_lines_are_stamped_on_arrival_at_the_requested_interval(tmp_path):
    log = tmp_path / "hw.log"
    with TegrastatsRunner(log, interval_ms=100) as runner:
        wait_for(lambda: runner.lines_written >= 6)
    text = log.read_text().splitlines()
    assert len(text) >= 6
    for line in text:
        stamp, raw = line.split(" ", 1)
        assert datetime.fromisoformat(stamp).utcoffset().total_seconds() == 0  # our UTC stamp
        assert raw.startswith("RAM ")  # then the raw line, unchanged
    df, skipped = parse_log(log, board="tx2")
    assert skipped == 0 and len(df) == len(text)
    times = pd.to_datetime(df["timestamp"], format="ISO8601")
    gaps = times.diff().dt.total_seconds().dropna()
    assert (gaps > 0).all()
    # The fake sleeps 100 ms between lines: the stamps show it (generous bounds on a busy CI).
    assert 0.05 < gaps.median() < 0.5
    assert df["power_total_mw"].isin([3140, 1840, 14025]).all()


def stamp_gaps(log) -> list:
    """Return the seconds between the arrival stamps of a hw.log's lines."""
    stamps = [datetime.fromisoformat(line.split(" ", 1)[0]) for line in log.read_text().splitlines()
              if line[:1].isdigit()]
    return [(b - a).total_seconds() for a, b in zip(stamps, stamps[1:])]


def test_a_block_buffering_tegrastats_is_still_stamped_line_by_line(tmp_path, monkeypatch):
    lines, interval = 6, 0.15
    monkeypatch.setenv("FAKE_TEGRASTATS_LINES", str(lines))
    # Control: read through a pipe, the fake's lines all come at its exit, as tegrastats' would.
    fake = subprocess.Popen([str(FAKES / "tegrastats"), "--interval", str(int(interval * 1000))],
                            stdout=subprocess.PIPE, text=True)
    arrivals = [time.monotonic() for _ in fake.stdout]
    fake.wait()
    assert len(arrivals) == lines and arrivals[-1] - arrivals[0] < interval / 3
    # The runner reads it through a terminal: every line stamped as printed, an interval apart.
    log = tmp_path / "hw.log"
    runner = TegrastatsRunner(log, interval_ms=int(interval * 1000)).start()
    wait_for(lambda: runner.process.poll() is not None)
    assert runner.stop() == 0 and runner.lines_written == lines
    gaps = stamp_gaps(log)
    assert len(gaps) == lines - 1
    assert min(gaps) > interval / 3  # none bunched with the one before
    assert abs(sorted(gaps)[len(gaps) // 2] - interval) < interval / 3
    df, skipped = parse_log(log, board="tx2")
    assert len(df) == lines and skipped == 0  # the raw lines came through the terminal unchanged


def test_tegrastats_ends_when_this_process_dies_hard(tmp_path):
    # A training process killed with SIGKILL (the OOM killer) runs no cleanup: tegrastats must
    # still end, hung up when the terminal's other end goes with the process.
    log = tmp_path / "hw.log"
    code = ("import sys, time\n"
            "from edgebench.monitor.tegrastats import TegrastatsRunner\n"
            "runner = TegrastatsRunner(sys.argv[1], interval_ms=50).start()\n"
            "print(runner.process.pid, flush=True)\n"
            "time.sleep(60)\n")
    training = subprocess.Popen([sys.executable, "-c", code, str(log)], stdout=subprocess.PIPE, text=True,
                                cwd=Path(__file__).parents[1], env=os.environ)
    tegrastats_pid = int(training.stdout.readline())
    wait_for(lambda: log.exists() and log.read_text().count("\n") >= 2)
    training.send_signal(signal.SIGKILL)
    training.wait()
    try:
        wait_for(lambda: not running(tegrastats_pid), timeout_s=5.0)
    finally:
        if running(tegrastats_pid):
            os.kill(tegrastats_pid, signal.SIGKILL)  # no orphan left by a failing test either


def running(pid: int) -> bool:
    """Return whether a process exists and is not a zombie waiting to be reaped."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


def test_tegrastats_is_stopped_when_the_training_raises(tmp_path):
    log = tmp_path / "hw.log"
    with pytest.raises(RuntimeError, match="training crashed"):
        with TegrastatsRunner(log, interval_ms=50) as runner:
            wait_for(lambda: runner.lines_written >= 2)
            process = runner.process
            raise RuntimeError("training crashed")
    assert process.poll() is not None  # no orphan tegrastats left behind
    assert runner.process is None
    df, skipped = parse_log(log)
    assert len(df) >= 2 and skipped == 0


def test_restart_appends_a_marker_and_keeps_earlier_samples(tmp_path):
    log = tmp_path / "hw.log"
    for _ in range(2):
        with TegrastatsRunner(log, interval_ms=50) as runner:
            wait_for(lambda: runner.lines_written >= 2)
    lines = log.read_text().splitlines()
    markers = [line for line in lines if line.startswith("# restart ")]
    assert len(markers) == 1
    datetime.fromisoformat(markers[0].split()[-1])
    df, skipped = parse_log(log)
    assert skipped == 0 and len(df) == len(lines) - 1


def test_output_cut_off_and_stderr_are_kept_as_comments(tmp_path, monkeypatch):
    monkeypatch.setenv("FAKE_TEGRASTATS_LINES", "2")
    monkeypatch.setenv("FAKE_TEGRASTATS_PARTIAL", "RAM 2020/7852MB (lfb 11")
    monkeypatch.setenv("FAKE_TEGRASTATS_STDERR", "NvPModel: warning")
    log = tmp_path / "hw.log"
    runner = TegrastatsRunner(log, interval_ms=20).start()
    wait_for(lambda: runner.process.poll() is not None)
    assert runner.stop() == 0
    text = log.read_text()
    assert "# partial " in text and text.rstrip().endswith("RAM 2020/7852MB (lfb 11")
    assert "# stderr " in text and "NvPModel: warning" in text
    df, skipped = parse_log(log)
    assert len(df) == 2 and skipped == 0


def test_missing_binary_is_a_clear_error(tmp_path):
    runner = TegrastatsRunner(tmp_path / "hw.log", binary="tegrastats-not-installed")
    with pytest.raises(FileNotFoundError, match="tegrastats binary 'tegrastats-not-installed' not found"):
        runner.start()
    assert not (tmp_path / "hw.log").exists()


def test_recorded_log_to_hw_csv(tmp_path, capsys):
    log = tmp_path / "hw.log"
    with TegrastatsRunner(log, interval_ms=50) as runner:
        wait_for(lambda: runner.lines_written >= 3)
    out = tmp_path / "hw.csv"
    assert cli([str(log), "-o", str(out), "--board", "tx2"]) == 0
    hw = pd.read_csv(out)
    assert len(hw) == runner.lines_written
    assert {"timestamp", "ram_used_mb", "cpu0_load_pct", "power_vdd_in_mw", "power_total_mw"} <= set(hw.columns)
