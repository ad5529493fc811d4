"""The real workflow end to end: Snakemake subprocess, demo data, both frameworks, real training."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from edgebench.analysis.table import COLUMNS
from edgebench.hwconfig.resolve import host_has_gpu

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = Path(sys.executable).with_name("snakemake")

TINY = {
    "device_profile": "demo",
    "dataset": {
        "source": "demo",
        "root": "data/demo_imagenet",
        "demo": {"seed": 1, "train_per_class": 10, "val_per_class": 4, "distractor_classes": 2},
        "subset": {"classes": "thesis10", "train_per_class": 8, "val_per_class": 4},
    },
    "frameworks": ["pytorch", "mxnet"],
    "models": ["lenet", "alexnet"],
    "input_size": {"default": 64},
    "training": {"epochs": 1},
    "hwconfigs": {"cpu_cfg1": {"cores": ["core0"]}, "gpu_cfg1": {"cores": ["core0"], "gpu": True}},
    "run_hwconfigs": ["cpu_cfg1"],
}


def snakemake(workdir: Path, *args, check=True, configfile="config.yaml") -> subprocess.CompletedProcess:
    """Run the real snakemake CLI on the repository's Snakefile in workdir."""
    command = [str(SNAKEMAKE), "--snakefile", str(REPO / "Snakefile"), "--directory", str(workdir),
               "--configfile", str(workdir / configfile), "--cores", "2", *args]
    result = subprocess.run(command, capture_output=True, text=True, cwd=workdir,
                            env={**os.environ, "PYTHONPATH": str(REPO)})
    if check and result.returncode != 0:
        raise AssertionError(f"snakemake failed ({result.returncode}):\n{result.stdout[-4000:]}\n{result.stderr[-6000:]}")
    return result


@pytest.fixture(scope="module")
def finished_demo(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("demo")
    (workdir / "config.yaml").write_text(yaml.safe_dump(TINY))
    snakemake(workdir)
    return workdir


def test_table_has_one_row_per_framework_and_model(finished_demo):
    table = pd.read_csv(finished_demo / "results/tables/cpu_cfg1.csv")
    assert list(table.columns) == COLUMNS
    assert sorted(zip(table["framework"], table["model"])) == sorted(
        (fw, m) for fw in TINY["frameworks"] for m in TINY["models"])
    assert (table["status"] == "done").all() and (table["runs"] == 1).all()
    assert table["val_acc"].between(0, 1).all() and table["top5_acc"].between(0, 1).all()
    assert (table["total_time_s"] > 0).all() and (table["epoch_time_s"] > 0).all()
    assert table["avg_power_w"].isna().all()  # this host has no power sensor: empty, not invented


def test_each_run_has_its_files_and_provenance(finished_demo):
    for fw in TINY["frameworks"]:
        for model in TINY["models"]:
            run = finished_demo / f"results/runs/{fw}/{model}/cpu_cfg1/rep0"
            epochs = pd.read_csv(run / "epochs.csv")
            assert list(epochs["epoch"]) == [0]
            assert (epochs["epoch_seconds"] > 0).all()
            assert epochs[["train_acc", "val_acc", "train_top5", "val_top5"]].stack().between(0, 1).all()
            summary = json.loads((run / "run.json").read_text())
            assert summary["status"] == "done"
            assert summary["provenance"]["affinity"] == [0]  # cpu_cfg1 = core 0 in the demo profile
            assert summary["provenance"]["threads_env"]["OMP_NUM_THREADS"] == "1"
            assert summary["energy"]["energy_wh"] is None and summary["energy"]["reason"]
            log = (run / "train.log").read_text()
            assert log.startswith("Epoch 0. Loss: ") and "Epoch 0 time cost: " in log
            hw = pd.read_csv(run / "hw.csv")
            assert len(hw) >= 1 and "cpu0_load_pct" in hw.columns
            assert (finished_demo / f"results/figures/runs/{fw}_{model}_cpu_cfg1_rep0.png").stat().st_size > 0
    assert (finished_demo / "results/figures/cpu_cfg1_summary.png").stat().st_size > 0
    assert not (finished_demo / "results/state").exists() or not any((finished_demo / "results/state").rglob("*.csv"))


def test_nothing_left_after_a_finished_run(finished_demo):
    result = snakemake(finished_demo, "-n")
    assert "Nothing to be done" in result.stdout + result.stderr


def test_changing_epochs_lists_the_training_runs_again(finished_demo):
    (finished_demo / "more_epochs.yaml").write_text(yaml.safe_dump({**TINY, "training": {"epochs": 2}}))
    result = snakemake(finished_demo, "-n", configfile="more_epochs.yaml")
    out = result.stdout + result.stderr
    assert "train" in out and "Nothing to be done" not in out
    for fw in TINY["frameworks"]:
        for model in TINY["models"]:
            assert f"results/runs/{fw}/{model}/cpu_cfg1/rep0/epochs.csv" in out


def test_editing_analysis_code_does_not_retrain(finished_demo):
    # Touching analysis code makes its outputs older than an input: only analysis jobs rerun.
    table_code = REPO / "edgebench" / "analysis" / "table.py"
    stat = table_code.stat()
    try:
        os.utime(table_code, None)
        out = snakemake(finished_demo, "-n").stdout
        assert "rule table:" in out or "table" in out
        assert "rule train:" not in out
    finally:
        os.utime(table_code, (stat.st_atime, stat.st_mtime))


@pytest.mark.skipif(host_has_gpu(), reason="this host has a GPU")
def test_gpu_config_on_a_host_without_gpu_is_refused(finished_demo):
    result = snakemake(finished_demo, "-n", "results/tables/gpu_cfg1.csv", check=False)
    assert result.returncode != 0
    assert "hwconfigs.gpu_cfg1.gpu: true, but this host has no usable NVIDIA GPU" in result.stdout + result.stderr
