"""`edgebench meter-check`: idle and two loads measured with the module's source (direct rails on a
fake TX2 tree) and a wall meter (a real HTTP server whose reading grows by 2 W per busy loop the
check really runs), through the real command line."""

import json
import subprocess
import sys
from pathlib import Path

import psutil
import pytest
import yaml

from edgebench.monitor.metercheck import BUSY, fit_line
from tests.fakes.plug import FakePlug
from tests.fakes.sysfs import make_jetson_rails

EDGEBENCH = Path(sys.executable).with_name("edgebench")
IDLE_W, PER_LOOP_W = 5.0, 2.0


def busy_loops() -> int:
    """Return how many of meter-check's busy loops run now (the fake plug's "physics")."""
    count = 0
    for process in psutil.process_iter(["cmdline"]):
        cmdline = process.info["cmdline"] or []
        if len(cmdline) == 3 and cmdline[1] == "-c" and cmdline[2] == BUSY:
            count += 1
    return count


def overlay(tmp_path, external: dict, root=None) -> Path:
    config = {"board": "demo", "monitor": {"external": external}}
    if root is not None:
        config["monitor"]["rails"] = {"enabled": True, "rate_hz": 20, "sysfs_root": str(root)}
    path = tmp_path / "meter.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def meter_check(*args):
    return subprocess.run([str(EDGEBENCH), "meter-check", *map(str, args)], capture_output=True, text=True, timeout=120)


def test_the_check_measures_idle_and_two_loads_and_reports_the_offset(tmp_path):
    make_jetson_rails(tmp_path / "sysfs", "tx2", "jp4")  # the module: VDD_IN 3133 mW throughout
    with FakePlug(watts=lambda: IDLE_W + PER_LOOP_W * busy_loops()) as plug:
        config = overlay(tmp_path, {"type": "http-json", "url": f"{plug.url}/custom", "field": "meter.watts",
                                    "interval_s": 0.2}, root=tmp_path / "sysfs")
        done = meter_check("--configfile", config, "--seconds", 1.2, "--settle", 0.4, "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    cores = len(psutil.Process().cpu_affinity())
    half = max(1, cores // 2)
    assert [len(p["busy_cores"]) for p in result["phases"]] == [0, half, cores]
    assert result["module_source"] == "rails" and result["wall_lost_readings"] == 0
    for phase, loops in zip(result["phases"], (0, half, cores)):
        assert phase["module_w"] == pytest.approx(3.133)
        assert phase["wall_w"] == pytest.approx(IDLE_W + PER_LOOP_W * loops)
        assert phase["offset_w"] == pytest.approx(phase["wall_w"] - 3.133)
    assert result["offset_w"] == pytest.approx(sum(p["offset_w"] for p in result["phases"]) / 3)
    assert result["fit"] is None  # the module's power did not move: no slope to tell


def test_the_text_report_and_a_meter_that_does_not_answer(tmp_path):
    config = overlay(tmp_path, {"type": "command", "command": f"{sys.executable} -c 'print(\"n/a\")'"})
    done = meter_check("--configfile", config, "--seconds", 0.2)
    assert done.returncode == 2
    assert done.stderr.startswith("meter-check: monitor.external.command: ") and "is not a reading in W" in done.stderr
    config = overlay(tmp_path, {"type": None})
    done = meter_check("--configfile", config)
    assert done.returncode == 2 and "monitor.external.type: not set" in done.stderr


def test_the_line_through_the_phases():
    fit = fit_line([(3.0, 5.5), (5.0, 7.9), (7.0, 10.3)])  # wall = 1.2 x module + 1.9
    assert fit["slope"] == pytest.approx(1.2) and fit["intercept_w"] == pytest.approx(1.9)
    assert fit_line([(3.0, 5.0), (None, 6.0)]) is None
