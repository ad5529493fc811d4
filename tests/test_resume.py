"""A real power cut: kill -9 the Snakemake process group mid-run, rerun the same plain command."""

import json
import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest

from edgebench.train.checkpoint import load_checkpoint
from tests.conftest import TINY, Workflow

pytestmark = pytest.mark.e2e

RUN = "results/runs/pytorch/alexnet/cpu_cfg1/rep0"
STATE = "results/state/pytorch/alexnet/cpu_cfg1/rep0"
CONFIG = {**TINY, "frameworks": ["pytorch"], "models": ["lenet", "alexnet"], "training": {"epochs": 4}}


def wait_for_checkpoint(workflow: Workflow, process, epochs: int, timeout_s: float = 600):
    """Return the checkpoint once it holds `epochs` epochs (the run is then in epoch `epochs`)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        checkpoint = load_checkpoint(workflow.workdir / STATE)
        if checkpoint and len(checkpoint["epochs"]) >= epochs:
            return checkpoint
        assert process.poll() is None, f"snakemake ended early:\n{process.stdout.read()[-4000:]}"
        time.sleep(0.05)
    raise AssertionError("no checkpoint in time")


@pytest.fixture(scope="module")
def cut_and_resumed(checkout, tmp_path_factory):
    workflow = Workflow(checkout, tmp_path_factory.mktemp("powercut"), CONFIG)
    workflow.run("results/runs/pytorch/lenet/cpu_cfg1/rep0/run.json")  # one run finished before the cut
    process = subprocess.Popen(workflow.command(), cwd=workflow.workdir, env=workflow.env, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        checkpoint = wait_for_checkpoint(workflow, process, 2)
        os.killpg(process.pid, signal.SIGKILL)  # the whole group: snakemake, the job, its monitor
    finally:
        process.wait()
    killed_state = {
        "checkpoint": load_checkpoint(workflow.workdir / STATE),
        "outputs": sorted(p.name for p in (workflow.workdir / RUN).glob("*")) if (workflow.workdir / RUN).exists() else [],
        "status": json.loads(subprocess.run(
            [sys.executable, "-m", "edgebench", "status", "--json", "--configfile", "config.yaml"],
            cwd=workflow.workdir, env=workflow.env, check=True, capture_output=True, text=True).stdout),
    }
    assert len(checkpoint["epochs"]) == 2
    resumed = workflow.run()  # the same plain command: no --rerun-incomplete, no --unlock
    return workflow, killed_state, resumed


def test_kill_left_a_checkpoint_and_no_outputs(cut_and_resumed):
    _, killed, _ = cut_and_resumed
    # Killed in epoch 2 (0-based): two epochs checkpointed, the declared outputs not yet there.
    assert [row["epoch"] for row in killed["checkpoint"]["epochs"]] == [0, 1]
    assert killed["outputs"] == []


def test_status_after_the_cut_lists_states_and_a_finite_estimate(cut_and_resumed):
    _, killed, _ = cut_and_resumed
    by_model = {s["model"]: s for s in killed["status"]}
    assert by_model["lenet"]["state"] == "done" and by_model["lenet"]["remaining_s"] == 0
    alexnet = by_model["alexnet"]
    assert alexnet["state"] == "partial" and alexnet["epochs_done"] == 2 and alexnet["epochs"] == 4
    # Two epochs left, estimated from the two measured ones of this very run.
    assert alexnet["remaining_s"] == pytest.approx(2 * sum(alexnet["epoch_times"]) / 2)
    assert alexnet["basis"] == "measured, same model and configuration"


def test_rerun_resumes_at_epoch_2_with_the_checkpointed_weights(cut_and_resumed):
    workflow, killed, _ = cut_and_resumed
    log = (workflow.workdir / "results/logs/train/pytorch/alexnet/cpu_cfg1/rep0.log").read_text()
    assert "resuming at epoch 2 from the checkpoint" in log
    digest = killed["checkpoint"]["weights_sha256"]
    # The runner recomputes the digest from the loaded model and refuses a mismatch.
    assert f"resumed from checkpoint after epoch 1: weights sha256 {digest}" in log
    # Snakemake starts the job's log afresh; the resumed attempt trained epochs 2 and 3 only.
    assert "epoch 2 train batch" in log and "epoch 3 train batch" in log
    assert "epoch 0 train batch" not in log and "epoch 1 train batch" not in log


def test_each_epoch_exactly_once_and_times_exclude_downtime(cut_and_resumed):
    workflow, killed, _ = cut_and_resumed
    epochs = pd.read_csv(workflow.workdir / RUN / "epochs.csv")
    assert list(epochs["epoch"]) == [0, 1, 2, 3]
    kept = pd.DataFrame(killed["checkpoint"]["epochs"])
    assert epochs.loc[:1, "train_loss"].tolist() == kept["train_loss"].tolist()  # epochs 0-1 not redone
    summary = json.loads((workflow.workdir / RUN / "run.json").read_text())
    assert summary["status"] == "done" and summary["restarts"] == 1
    assert [a["resumed_at_epoch"] for a in summary["attempts"]] == [0, 2]
    assert summary["total_time_s"] == pytest.approx(epochs["epoch_seconds"].sum())
    assert summary["downtime_s"] >= 0
    train_log = (workflow.workdir / RUN / "train.log").read_text()
    assert [line.split(".")[0] for line in train_log.splitlines() if ". Loss:" in line] == [
        "Epoch 0", "Epoch 1", "Epoch 2", "Epoch 3"]
    hw_log = (workflow.workdir / RUN / "hw.log").read_text()
    assert hw_log.count("# host sampler start") == 2  # the monitor log continues across the restart


def test_table_is_complete_and_state_is_cleaned(cut_and_resumed):
    workflow, _, _ = cut_and_resumed
    table = pd.read_csv(workflow.workdir / "results/tables/cpu_cfg1.csv")
    assert len(table) == 2 and (table["status"] == "done").all() and (table["runs"] == 1).all()
    assert not (workflow.workdir / STATE / "checkpoint.pkl").exists()
    assert "Nothing to be done" in workflow.run("-n").stdout
