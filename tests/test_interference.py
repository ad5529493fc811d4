"""A run on a core kept busy by another process comes out `contended`: real runs through the
board entry point, a real busy loop pinned to the same core, /proc/stat and the run's own CPU time."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
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
    meter.add(meter.stop())
    assert meter.own_s > 0 and meter.busy_s > 0


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    return prepare_tiny_demo(tmp_path_factory.mktemp("interference"), seed=7)


BUSY_LOOP = "import os; os.sched_setaffinity(0, {0})\nwhile True: pass"  # another process on core 0
REMEASURING = "measuring it again"  # the runner's log line when it discards a contended epoch


def start_run(prepared, name, *, epochs=2, remeasure=1):
    """Start one DenseNet-121 run on core 0 (epochs of about a second: long enough for clock-tick
    counting to tell 5 % apart); return (the process, its run.json, its log)."""
    work = prepared.parent / name
    document = run_document("pytorch", "densenet121", prepared, work, epochs=epochs)
    document["measurement"]["remeasure_contended"] = remeasure
    spec = write_spec(document, work.parent / f"{name}.json")
    process = subprocess.Popen([board_python("pytorch"), "-m", "edgebench.train.main", str(spec)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=board_environment())
    return process, work / "run.json", Path(document["log"])


def train(prepared, name, **options):
    process, run_json, _ = start_run(prepared, name, **options)
    assert process.wait(timeout=600) == 0
    return run_json


def epochs_of(run_json):
    return pd.read_csv(run_json.parent / "epochs.csv")


def test_a_run_beside_a_busy_loop_on_its_core_is_contended_and_not_ranked(prepared):
    quiet = train(prepared, "quiet")
    busy = subprocess.Popen([sys.executable, "-c", BUSY_LOOP])
    try:
        disturbed = train(prepared, "disturbed", remeasure=1)
    finally:
        busy.kill()
        busy.wait()
    quiet_i, disturbed_i = (json.loads(p.read_text())["interference"] for p in (quiet, disturbed))
    assert disturbed_i["contended"] and disturbed_i["interference_pct"] > 20, disturbed_i
    assert quiet_i["interference_pct"] < disturbed_i["interference_pct"]
    # Every epoch was measured twice (once again, the configured number), and the repeat, from the
    # checkpoint before it, trained exactly the steps the quiet run trained.
    assert disturbed_i["remeasured_epochs"] == 2 and quiet_i["remeasured_epochs"] == 0
    assert epochs_of(disturbed)["remeasured"].tolist() == [1, 1]
    assert (epochs_of(disturbed)["interference_pct"] > 5).all()
    columns = ["train_loss", "train_acc", "val_loss", "val_acc", "val_top5"]
    assert epochs_of(disturbed)[columns].equals(epochs_of(quiet)[columns])
    table = build_table([str(disturbed)])
    assert table.loc[0, "status"].startswith("contended: 1 of 1 run(s), up to ")
    assert table.loc[0, "interference_pct"] == pytest.approx(disturbed_i["interference_pct"])


def test_an_epoch_disturbed_once_is_measured_again_and_the_run_accepted(prepared):
    busy = subprocess.Popen([sys.executable, "-c", BUSY_LOOP])
    process, run_json, log = start_run(prepared, "disturbed_once", epochs=1, remeasure=2)
    try:
        deadline = time.monotonic() + 300
        while REMEASURING not in (log.read_text() if log.exists() else ""):
            assert process.poll() is None and time.monotonic() < deadline, "the run never re-measured"
            time.sleep(0.05)
    finally:
        busy.kill()  # the disturbance ends: the repeat is quiet
        busy.wait()
    assert process.wait(timeout=600) == 0
    interference = json.loads(run_json.read_text())["interference"]
    assert not interference["contended"] and interference["remeasured_epochs"] == 1, interference
    epoch = epochs_of(run_json).iloc[0]
    assert epoch["remeasured"] == 1 and epoch["interference_pct"] < 5
    assert json.loads(run_json.read_text())["status"] == "done"
