"""The real workflow end to end: Snakemake subprocess, demo data, both frameworks, real training."""

import importlib.util
import json
import subprocess

import pandas as pd
import pytest

from edgebench.analysis.table import COLUMNS
from edgebench.hwconfig.resolve import host_has_gpu
from tests.conftest import TINY, Workflow

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def demo(checkout, tmp_path_factory) -> Workflow:
    workflow = Workflow(checkout, tmp_path_factory.mktemp("demo"), TINY)
    workflow.first_run = workflow.run("--verbose")
    return workflow


def test_table_has_one_row_per_framework_and_model(demo):
    table = pd.read_csv(demo.workdir / "results/tables/cpu_cfg1.csv")
    assert list(table.columns)[:len(COLUMNS)] == COLUMNS
    assert sorted(zip(table["framework"], table["model"])) == sorted(
        (fw, m) for fw in TINY["frameworks"] for m in TINY["models"])
    assert (table["status"] == "done").all() and (table["runs"] == 1).all()
    assert table["val_acc"].between(0, 1).all() and table["top5_acc"].between(0, 1).all()
    assert (table["total_time_s"] > 0).all() and (table["epoch_time_s"] > 0).all()
    assert table["avg_power_w"].isna().all()  # this host has no power sensor: empty, not invented
    # One FLOP count for both frameworks, against the GEMM peak measured on core 0 of this host.
    peak = json.loads((demo.workdir / "results/peak/cpu_cfg1.json").read_text())
    assert peak["gflops_per_s"] > 0 and peak["cores"] == [0]
    assert (table["peak_gflops_per_s"] == peak["gflops_per_s"]).all()
    assert table["achieved_gflops_per_s"].gt(0).all() and table["peak_fraction"].between(0, 1, inclusive="neither").all()
    assert table.groupby("model")["training_flops_per_sample"].nunique().eq(1).all()
    assert table["target_status"].notna().all()


def test_decoding_traps_went_through_the_real_dataset_stage(demo):
    # TINY's subset picks all four of the demo's bad inputs: each is decoded to RGB or skipped and listed.
    report = json.loads((demo.workdir / "results/dataset/64/report.json").read_text())
    assert report["skipped_count"] == 1 and report["skipped"][0]["path"].endswith("n01443537_5.JPEG")
    assert report["source_modes"].get("CMYK") == 1 and report["source_modes"].get("L") == 1
    assert report["source_formats"].get("PNG") == 1
    manifest = pd.read_csv(demo.workdir / "results/dataset/manifest.csv")
    assert report["splits"]["train"]["written"] == (manifest["split"] == "train").sum() - 1


def test_each_run_has_its_files_and_provenance(demo):
    for fw in TINY["frameworks"]:
        for model in TINY["models"]:
            run = demo.workdir / f"results/runs/{fw}/{model}/cpu_cfg1/rep0"
            epochs = pd.read_csv(run / "epochs.csv")
            assert list(epochs["epoch"]) == [0]
            assert (epochs["epoch_seconds"] > 0).all() and (epochs[["train_seconds", "val_seconds"]] > 0).all().all()
            assert epochs["epoch_seconds"].tolist() == pytest.approx(
                (epochs["train_seconds"] + epochs["val_seconds"]).tolist(), abs=1e-9)
            assert epochs[["train_acc", "val_acc", "train_top5", "val_top5"]].stack().between(0, 1).all()
            summary = json.loads((run / "run.json").read_text())
            assert summary["status"] == "done"
            assert summary["provenance"]["affinity"] == [0]  # cpu_cfg1 = core 0 of the demo board
            assert summary["provenance"]["threads_env"]["OMP_NUM_THREADS"] == "1"
            assert summary["energy"]["energy_wh"] is None and summary["energy"]["reason"]
            # This machine has no cpufreq, devfreq or thermal zones: nothing to judge, said so.
            assert summary["provenance"]["clocks"] == {"cpu": {}, "gpu": None, "thermal": {}, "warnings": []}
            assert summary["throttling"]["throttled"] is None and summary["throttling"]["reason"]
            assert epochs["remeasured"].between(0, 2).all() and epochs["interference_pct"].notna().all()
            log = (run / "train.log").read_text()
            assert log.startswith("Epoch 0. Loss: ") and log.splitlines()[2].startswith("Epoch 0 time cost: ")
            assert len(log.splitlines()) == 3  # the thesis's three lines per epoch, nothing else
            assert (run / "validation.log").read_text().startswith("Epoch 0 validation: err-top1=")
            hw = pd.read_csv(run / "hw.csv")
            assert len(hw) >= 1 and "cpu0_load_pct" in hw.columns
            assert (demo.workdir / f"results/figures/runs/{fw}_{model}_cpu_cfg1_rep0.png").stat().st_size > 0
    assert (demo.workdir / "results/figures/cpu_cfg1_summary.png").stat().st_size > 0
    assert (demo.workdir / "results/figures/cpu_cfg1_to_target.png").stat().st_size > 0
    assert not (demo.workdir / "results/state").exists() or not any((demo.workdir / "results/state").rglob("*.csv"))


def test_each_framework_trained_in_its_own_interpreter(demo):
    versions = {}
    for fw, python in TINY["interpreters"].items():
        out = subprocess.run([python, "-c", "import platform, numpy; print(platform.python_version(), numpy.__version__)"],
                             check=True, capture_output=True, text=True).stdout.split()
        versions[fw] = {"python": out[0], "numpy": out[1]}
        for model in TINY["models"]:
            provenance = json.loads((demo.workdir / f"results/runs/{fw}/{model}/cpu_cfg1/rep0/run.json").read_text())[
                "provenance"]
            assert provenance["interpreter"]["executable"] == python
            assert provenance["python"] == versions[fw]["python"] and provenance["numpy"] == versions[fw]["numpy"]
            assert provenance["device"]["device"] == "cpu"
    # MXNet holds its own environment at numpy < 2; nothing else is held back with it.
    assert versions["mxnet"]["numpy"].startswith("1.") and versions["pytorch"]["numpy"].startswith("2.")


def test_the_workflow_environment_has_no_framework():
    # Snakemake's side plans and analyses; it never imports, nor even has, a framework.
    assert importlib.util.find_spec("torch") is None and importlib.util.find_spec("mxnet") is None
    assert importlib.util.find_spec("snakemake") is not None


def test_the_scheduler_plans_when_jobs_end_not_on_a_clock(demo):
    # With Snakemake's default rate limiter the rounds multiply with time while measured runs
    # wait for each other (edgebench/scheduling.py): hundreds in this run. Without it, about
    # one round per finished job.
    log = demo.first_run.stdout + demo.first_run.stderr
    jobs = log.count("Finished jobid")
    rounds = log.count("Ready jobs")
    assert jobs >= 10 and rounds <= 2 * jobs + 5, (jobs, rounds)


def test_nothing_left_after_a_finished_run(demo):
    result = demo.run("-n")
    assert "Nothing to be done" in result.stdout + result.stderr


def test_changing_epochs_lists_the_training_runs_again(demo):
    demo.write_config("more_epochs.yaml", {**TINY, "training": {"epochs": 2}})
    out = demo.run("-n", configfile="more_epochs.yaml").stdout
    assert runs_planned(out) == {f"{fw}/{m}" for fw in TINY["frameworks"] for m in TINY["models"]}


def jobs_planned(dry_run_output: str) -> set[str]:
    """Return the rule names a dry run would execute."""
    return {line.split("rule ", 1)[1].rstrip(":") for line in dry_run_output.splitlines() if line.startswith("rule ")}


def runs_planned(dry_run_output: str) -> set[str]:
    """Return framework/model of every training job in a dry run, from its wildcards line."""
    runs, in_train = set(), False
    for line in dry_run_output.splitlines():
        if line.startswith("rule "):
            in_train = line == "rule train:"
        elif in_train and line.strip().startswith("wildcards:"):
            values = dict(item.split("=") for item in line.split(":", 1)[1].strip().split(", "))
            runs.add(f"{values['framework']}/{values['model']}")
    return runs


def edit(path, line):
    """Append a line to a source file (a real content change, as a user's edit is)."""
    original = path.read_text()
    path.write_text(original + line)
    return original


def test_editing_analysis_code_reruns_analysis_only(demo):
    table_code = demo.checkout / "edgebench" / "analysis" / "table.py"
    original = edit(table_code, "# an edit\n")
    try:
        planned = jobs_planned(demo.run("-n").stdout)
    finally:
        table_code.write_text(original)
    assert "table" in planned and "config_figure" in planned
    assert "train" not in planned and "prepare" not in planned


def test_editing_one_model_retrains_only_that_model(demo):
    lenet = demo.checkout / "edgebench" / "models" / "torch" / "lenet.py"
    original = edit(lenet, "# an edit\n")
    try:
        out = demo.run("-n").stdout
    finally:
        lenet.write_text(original)
    assert runs_planned(out) == {"pytorch/lenet"}


def test_measured_runs_never_overlap(demo):
    # --cores 2 would allow two jobs at once; the measure resource and lock serialise training.
    spans = []
    for fw in TINY["frameworks"]:
        for model in TINY["models"]:
            summary = json.loads((demo.workdir / f"results/runs/{fw}/{model}/cpu_cfg1/rep0/run.json").read_text())
            for attempt in summary["attempts"]:
                spans.append((pd.Timestamp(attempt["started_at"]), pd.Timestamp(attempt["ended_at"])))
    spans.sort()
    assert len(spans) == 4
    for (_, end), (start, _) in zip(spans, spans[1:]):
        assert end <= start


@pytest.mark.skipif(host_has_gpu(), reason="this host has a GPU")
def test_gpu_config_on_a_host_without_gpu_is_refused(demo):
    result = demo.run("-n", "results/tables/gpu_cfg1.csv", check=False)
    assert result.returncode != 0
    assert "hwconfigs.gpu_cfg1.gpu: true, but this host has no usable NVIDIA GPU" in result.stdout + result.stderr
