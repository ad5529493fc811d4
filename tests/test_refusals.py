"""Runs that cannot happen: refused before training with the config key and the reason, or, where
only the node can tell (a cluster), recorded as results. Real Snakemake, real interpreters."""

import json
import subprocess
import sys

import pandas as pd
import pytest

from edgebench.interpreters import board_environment
from tests.conftest import TINY, Workflow, board_python

pytestmark = pytest.mark.e2e

LENET = {**TINY, "models": ["lenet"]}


@pytest.fixture(scope="module")
def workflow(checkout, tmp_path_factory) -> Workflow:
    return Workflow(checkout, tmp_path_factory.mktemp("refusals"), LENET)


def test_a_missing_interpreter_is_refused_with_its_key(workflow):
    workflow.write_config("missing.yaml", {**LENET, "interpreters": {**LENET["interpreters"],
                                                                     "mxnet": "/nonexistent/bin/python"}})
    result = workflow.run("-n", configfile="missing.yaml", check=False)
    assert result.returncode != 0
    assert "interpreters.mxnet: /nonexistent/bin/python does not exist" in result.stdout + result.stderr


def test_an_interpreter_without_its_framework_is_refused_with_its_key(workflow):
    # PyTorch's environment has no MXNet: named as MXNet's interpreter, it is refused before training.
    pytorch_python = board_python("pytorch")
    workflow.write_config("wrong.yaml", {**LENET, "interpreters": {"pytorch": pytorch_python, "mxnet": pytorch_python}})
    result = workflow.run("-n", configfile="wrong.yaml", check=False)
    assert result.returncode != 0
    out = result.stdout + result.stderr
    assert f"interpreters.mxnet: {pytorch_python} cannot import mxnet: ModuleNotFoundError" in out


@pytest.fixture(scope="module")
def on_nodes(workflow):
    """A run of configurations this host cannot do, with the checks left to the node (as on a cluster)."""
    pytorch_python = board_python("pytorch")
    config = {**LENET, "host_checks": "node",
              "interpreters": {"pytorch": pytorch_python, "mxnet": pytorch_python},  # MXNet will not import
              "run_hwconfigs": ["cpu_cfg1", "gpu_cfg1"]}
    workflow.write_config("nodes.yaml", config)
    workflow.run(configfile="nodes.yaml")
    return workflow


def read_run(workflow, framework, hwcfg):
    return json.loads((workflow.workdir / f"results/runs/{framework}/lenet/{hwcfg}/rep0/run.json").read_text())


def test_setup_fails_loudly_when_a_framework_does_not_import_in_its_environment():
    # `make setup` ends with this check: an environment that cannot import its framework stops it.
    result = subprocess.run([sys.executable, "-m", "edgebench.interpreters", "--require",
                             f"pytorch={board_python('pytorch')}", f"mxnet={board_python('pytorch')}"],
                            capture_output=True, text=True)
    assert result.returncode == 1
    assert "mxnet: " in result.stdout and "NOT USABLE: ModuleNotFoundError: No module named 'mxnet'" in result.stdout
    assert "setup failed: mxnet cannot be imported in its environment" in result.stdout
    ok = subprocess.run([sys.executable, "-m", "edgebench.interpreters", "--require",
                         f"mxnet={board_python('mxnet')}"], capture_output=True, text=True)
    assert ok.returncode == 0 and "mxnet 1.9.1" in ok.stdout


def test_a_framework_that_does_not_import_is_a_recorded_refusal(on_nodes):
    summary = read_run(on_nodes, "mxnet", "cpu_cfg1")
    assert summary["status"] == "refused"
    assert summary["reason"].startswith(f"mxnet does not import in {board_python('pytorch')}: ModuleNotFoundError")
    assert summary["epochs_done"] == 0 and summary["total_time_s"] == 0
    table = pd.read_csv(on_nodes.workdir / "results/tables/cpu_cfg1.csv").set_index("framework")
    assert table.loc["pytorch", "status"] == "done"
    assert table.loc["mxnet", "status"].startswith("refused: mxnet does not import")


def test_a_gpu_configuration_on_a_node_without_gpu_is_a_recorded_refusal(on_nodes):
    for framework in ("pytorch", "mxnet"):
        summary = read_run(on_nodes, framework, "gpu_cfg1")
        assert summary["status"] == "refused"
        assert "hwconfigs.gpu_cfg1.gpu: true, but this host has no usable NVIDIA GPU" in summary["reason"]
    table = pd.read_csv(on_nodes.workdir / "results/tables/gpu_cfg1.csv")
    assert table["status"].str.startswith("refused: hwconfigs.gpu_cfg1.gpu").all() and (table["runs"] == 0).all()


def test_status_and_rerun_treat_refusals_as_results(on_nodes):
    out = subprocess.run([sys.executable, "-m", "edgebench", "status", "--json", "--configfile", "nodes.yaml"],
                         cwd=on_nodes.workdir, env=on_nodes.env, check=True, capture_output=True, text=True).stdout
    states = {(s["framework"], s["hwcfg"]): s["state"] for s in json.loads(out)}
    assert states == {("pytorch", "cpu_cfg1"): "done", ("mxnet", "cpu_cfg1"): "refused",
                      ("pytorch", "gpu_cfg1"): "refused", ("mxnet", "gpu_cfg1"): "refused"}
    assert "Nothing to be done" in on_nodes.run("-n", configfile="nodes.yaml").stdout


def test_check_says_per_configuration_and_framework_what_can_run(workflow):
    pytorch_python = board_python("pytorch")
    workflow.write_config("check.yaml", {**LENET, "interpreters": {"pytorch": pytorch_python, "mxnet": pytorch_python}})
    result = subprocess.run([sys.executable, "-m", "edgebench", "check", "--json", "--configfile", "check.yaml"],
                            cwd=workflow.workdir, env=workflow.env, capture_output=True, text=True)
    assert result.returncode == 1  # a targeted configuration cannot run in one framework
    report = json.loads(result.stdout)
    verdicts = {(r["hwcfg"], r["framework"]): r for r in report["runs"]}
    assert verdicts["cpu_cfg1", "pytorch"]["runnable"] and verdicts["cpu_cfg1", "pytorch"]["targeted"]
    assert "cannot import mxnet" in verdicts["cpu_cfg1", "mxnet"]["reason"]
    assert "no usable NVIDIA GPU" in verdicts["gpu_cfg1", "pytorch"]["reason"]
    assert set(report["board"]["power_sensors"]) == {"tegrastats", "ina_rails", "rapl", "nvml"}


def test_a_slurm_dry_run_lists_what_only_the_boards_can_run(checkout, tmp_path_factory):
    # The submit host has no GPU; the boards do. The dry run must plan their runs, not refuse them.
    workflow = Workflow(checkout, tmp_path_factory.mktemp("submit_host"), {**LENET, "run_hwconfigs": ["gpu_cfg1"]})
    result = workflow.run("-n", "--profile", str(workflow.checkout / "profiles" / "slurm"))
    out = result.stdout + result.stderr
    assert "no usable NVIDIA GPU" not in out
    # Group jobs (the profile's dataset and report groups) print nested rules: read the wildcards only.
    planned = {line.split("wildcards:", 1)[1].strip() for line in out.splitlines() if "wildcards: framework=" in line}
    assert planned == {f"framework={fw}, model=lenet, hwcfg=gpu_cfg1, rep=0" for fw in ("pytorch", "mxnet")}, out[-3000:]


def test_a_node_without_the_interpreter_records_a_refusal(workflow):
    config = {**LENET, "host_checks": "node", "frameworks": ["mxnet"],
              "interpreters": {**LENET["interpreters"], "mxnet": "/nonexistent/bin/python"},
              "hwconfigs": {**LENET["hwconfigs"], "other_node": {"cores": ["core0"]}}, "run_hwconfigs": ["other_node"]}
    workflow.write_config("no_python.yaml", config)
    workflow.run("results/tables/other_node.csv", configfile="no_python.yaml")
    summary = read_run(workflow, "mxnet", "other_node")
    assert summary["status"] == "refused"
    assert summary["reason"].startswith("interpreters.mxnet: /nonexistent/bin/python does not exist")
    assert summary["interpreter"] == {"executable": "/nonexistent/bin/python"}


@pytest.mark.parametrize("framework", ["pytorch", "mxnet"])
def test_a_framework_without_cuda_refuses_a_gpu_configuration(framework):
    # What a Jetson's CPU-only MXNet meets on a board that has a GPU: the run's own check,
    # in the framework's own interpreter (this host has no GPU, so neither build has CUDA here).
    code = f"""
import types
from edgebench.hwconfig import HardwareConfig
from edgebench.train.runner import framework_backend
from edgebench.train.spec import RunRefused
spec = types.SimpleNamespace(framework={framework!r}, hwconfig=HardwareConfig("gpu_cfg1", ("core0",), (0,), True))
try:
    framework_backend(spec)
except RunRefused as refusal:
    print("refused:", refusal)
"""
    out = subprocess.run([board_python(framework), "-c", code], check=True, capture_output=True, text=True,
                         env=board_environment()).stdout
    assert out.startswith(f"refused: hwconfigs.gpu_cfg1.gpu: {framework} has no CUDA here")
