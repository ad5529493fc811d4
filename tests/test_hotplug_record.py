"""Cores a killed run left offline are put back: a real kill -9 of a run inside the hotplug
context, on a fake /sys/devices/system/cpu tree laid out as the kernel's (Documentation/
core-api/cpu_hotplug.rst: cpuN/online, "0" or "1"; cpu0 without one on many boards)."""

import json
import os
import signal
import subprocess
import sys
import warnings

import pytest
import yaml

from edgebench.hwconfig.hotplug import HotplugCores, recover_stale
from fakes.sysfs import core_states, make_cpu_tree
from tests.conftest import REPO, TINY

CHILD = """
import sys, time
from edgebench.hwconfig.hotplug import HotplugCores
with HotplugCores({0, 1}, sys.argv[1], record=sys.argv[2]):
    print("inside", flush=True)
    time.sleep(120)
"""


@pytest.fixture
def killed_inside(tmp_path):
    """Return (cpu tree, record, states before) after a real kill -9 of a run with cores offline."""
    cpus = make_cpu_tree(tmp_path / "cpu", 6, offline={4})
    before = core_states(cpus)
    record = tmp_path / "state" / ".hotplug-board.json"
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(cpus), str(record)], stdout=subprocess.PIPE, text=True,
                             env={**os.environ, "PYTHONPATH": str(REPO)})
    try:
        assert child.stdout.readline().strip() == "inside"
        child.send_signal(signal.SIGKILL)
    finally:
        child.wait()
    return cpus, record, before


def test_the_kill_left_cores_offline_and_a_record_of_them(killed_inside):
    cpus, record, _ = killed_inside
    assert core_states(cpus) == {1: "1", 2: "0", 3: "0", 4: "0", 5: "0"}
    assert json.loads(record.read_text())["restore"] == {"2": "1", "3": "1", "5": "1"}  # core 4 was off already


def test_recovery_puts_back_exactly_the_previous_states(killed_inside):
    cpus, record, before = killed_inside
    said = recover_stale(record)
    assert core_states(cpus) == before and not record.exists()
    assert len(said) == 1 and "died with cores changed" in said[0] and "cpu2=1, cpu3=1, cpu5=1" in said[0]
    assert recover_stale(record) == []  # nothing left to do


def test_the_next_run_restores_first_then_restores_its_own(killed_inside):
    cpus, record, before = killed_inside
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        with HotplugCores({0, 1, 2}, cpus, record=record):
            assert core_states(cpus) == {1: "1", 2: "1", 3: "0", 4: "0", 5: "0"}
            assert json.loads(record.read_text())["restore"] == {"3": "1", "5": "1"}  # the true originals
    assert core_states(cpus) == before and not record.exists()
    assert any("died with cores changed" in str(w.message) for w in seen)


def test_a_live_runs_record_is_left_alone(tmp_path):
    cpus = make_cpu_tree(tmp_path / "cpu", 4)
    record = tmp_path / ".hotplug-board.json"
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(cpus), str(record)], stdout=subprocess.PIPE, text=True,
                             env={**os.environ, "PYTHONPATH": str(REPO)})
    try:
        assert child.stdout.readline().strip() == "inside"
        assert recover_stale(record) == [] and core_states(cpus) == {1: "1", 2: "0", 3: "0"}
    finally:
        child.send_signal(signal.SIGINT)  # KeyboardInterrupt: the with block restores and drops the record
        child.wait()
    assert core_states(cpus) == {1: "1", 2: "1", 3: "1"} and not record.exists()


def test_status_finds_the_record_restores_and_says_so(killed_inside, tmp_path):
    cpus, record, before = killed_inside
    workdir = tmp_path / "work"
    (workdir / "results" / "state").mkdir(parents=True)
    import socket

    record.rename(workdir / "results" / "state" / f".hotplug-{socket.gethostname()}.json")
    (workdir / "config.yaml").write_text(yaml.safe_dump(TINY))
    result = subprocess.run([sys.executable, "-m", "edgebench", "status", "--configfile", "config.yaml"], cwd=workdir,
                            capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert result.returncode == 0, result.stderr
    assert "died with cores changed; restored from" in result.stderr
    assert core_states(cpus) == before
