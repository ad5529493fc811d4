"""A run on a core kept busy by another process comes out `contended`: real runs through the
board entry point, a real busy loop pinned to the same core, /proc/stat and the run's own CPU time."""

import json
import os
import subprocess
import sys

import pytest

from edgebench.analysis.table import build_table
from edgebench.interpreters import board_environment
from edgebench.train.interference import InterferenceMeter, cores_busy_seconds
from edgebench.train.spec import write_spec
from tests.conftest import board_python, prepare_tiny_demo, run_document

pytestmark = pytest.mark.skipif(0 not in os.sched_getaffinity(0), reason="needs core 0")


def test_busy_seconds_follow_proc_stat(tmp_path):
    stat = tmp_path / "stat"
    stat.write_text("cpu  10 0 0 0 0 0 0 0 0 0\ncpu0 100 5 20 900 7 1 2 3 0 0\ncpu1 50 0 0 50 0 0 0 0 0 0\n")
    ticks = os.sysconf("SC_CLK_TCK")
    assert cores_busy_seconds([0], str(stat)) == pytest.approx((100 + 5 + 20 + 1 + 2 + 3) / ticks)  # not idle, iowait
    assert cores_busy_seconds([0, 1], str(stat)) == pytest.approx(181 / ticks)


def test_a_quiet_window_is_mostly_our_own():
    meter = InterferenceMeter(sorted(os.sched_getaffinity(0)))
    meter.start()
    sum(i * i for i in range(3_000_000))  # our own work
    meter.stop()
    assert meter.own_s > 0 and meter.busy_s > 0


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    return prepare_tiny_demo(tmp_path_factory.mktemp("interference"), seed=7)


def train(prepared, name, epochs=2):
    # DenseNet-121: epochs of about a second, long enough for clock-tick counting to tell 5 % apart.
    work = prepared.parent / name
    spec = write_spec(run_document("pytorch", "densenet121", prepared, work, epochs=epochs),
                      work.parent / f"{name}.json")
    subprocess.run([board_python("pytorch"), "-m", "edgebench.train.main", str(spec)], check=True,
                   capture_output=True, env=board_environment(), timeout=600)
    return work / "run.json"


def test_a_run_beside_a_busy_loop_on_its_core_is_contended_and_not_ranked(prepared):
    quiet = train(prepared, "quiet")
    busy = subprocess.Popen([sys.executable, "-c", "import os; os.sched_setaffinity(0, {0})\nwhile True: pass"])
    try:
        disturbed = train(prepared, "disturbed")
    finally:
        busy.kill()
        busy.wait()
    quiet_i, disturbed_i = (json.loads(p.read_text())["interference"] for p in (quiet, disturbed))
    assert disturbed_i["contended"] and disturbed_i["interference_pct"] > 20, disturbed_i
    assert quiet_i["interference_pct"] < disturbed_i["interference_pct"]
    table = build_table([str(disturbed)])
    assert table.loc[0, "status"].startswith("contended: 1 of 1 run(s), up to ")
    assert table.loc[0, "interference_pct"] == pytest.approx(disturbed_i["interference_pct"])
