"""The real workflow on a real Slurm: a private single-node cluster on localhost (munge, slurmctld,
slurmd from Debian's packages) runs a tiny demo matrix through `--profile profiles/slurm`.

Checked against the cluster's own record (slurmctld keeps finished jobs for MinJobAge, since
there is no accounting) and against a local run of the same matrix, started alongside.
Skipped with the reason where Slurm cannot be installed or started, except in CI (CI=true),
where that fails: .ci/install-slurm provides the packages there.
"""

import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from edgebench.analysis.table import COLUMNS
from slurm_cluster import SlurmCluster, make_root, unavailable_reason
from tests.conftest import REPO, SNAKEMAKE
from tests.conftest import TINY as CONFTEST_TINY

pytestmark = pytest.mark.slurm

FEATURE = "edgebench_demo"  # the node feature measured runs must be constrained to
SNAKEMAKE_TIMEOUT_S = 420  # a hung status poll must not hang CI: the run is killed after this

# The end-to-end tests' tiny demo, one model: enough to see every stage run as a Slurm job.
TINY = {**CONFTEST_TINY, "models": ["lenet"], "hwconfigs": {"cpu_cfg1": {"cores": ["core0"]}},
        "slurm": {"constraint": FEATURE}}

# The Snakemake that executes a job prints "localrule NAME:" and its outputs (locally, and inside
# a Slurm job's step; the job's outer Snakemake prints "rule NAME:" for the same job).
EXECUTED = re.compile(r"^localrule (\w+):\n(?:    (?!output:).*\n)*?    output: (.*)$", re.MULTILINE)
SUBMITTED = re.compile(r"has been submitted with SLURM jobid (\d+) \(log: (.*?)\)")


def unavailable(reason: str):
    """Skip with the reason printed; in CI, where Slurm is installed on purpose, fail instead."""
    print(f"Slurm test not run: {reason}")
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true but Slurm cannot run: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def cluster():
    """Yield a running private Slurm cluster; stop its daemons by pid afterwards, pass or fail."""
    reason = unavailable_reason()
    if reason:
        unavailable(reason)
    slurm = SlurmCluster(make_root(), features=FEATURE)
    try:
        slurm.start()
    except Exception as error:  # any failure to come up is a reason, not a crash
        slurm.stop()
        shutil.rmtree(slurm.root, ignore_errors=True)
        unavailable(f"the private Slurm did not start: {error}")
    yield slurm
    killed = slurm.stop()
    shutil.rmtree(slurm.root, ignore_errors=True)
    assert not killed, f"daemons that ignored SIGTERM and were killed: {killed}"


def snakemake_command(workdir: Path, *args: str) -> list[str]:
    """Return a snakemake call on the repository's workflow in workdir, killed if it hangs."""
    return ["timeout", "-s", "KILL", str(SNAKEMAKE_TIMEOUT_S), str(SNAKEMAKE),
            "--snakefile", str(REPO / "Snakefile"), "--directory", str(workdir),
            "--configfile", str(workdir / "config.yaml"), *args]


def finished(name: str, process: subprocess.Popen, log: Path) -> str:
    """Wait for a snakemake run; return its output, or fail with its tail."""
    process.wait()
    out = log.read_text(errors="replace")
    if process.returncode != 0:
        why = "killed by timeout" if process.returncode in (137, -9) else f"exit {process.returncode}"
        raise AssertionError(f"{name} snakemake run failed ({why}):\n{out[-6000:]}")
    return out


@pytest.fixture(scope="module")
def runs(cluster, tmp_path_factory):
    """Run the tiny matrix through Slurm and, alongside it, locally; return both workdirs and logs."""
    slurm_dir = tmp_path_factory.mktemp("slurm_run")
    local_dir = tmp_path_factory.mktemp("local_run")
    for workdir in (slurm_dir, local_dir):
        (workdir / "config.yaml").write_text(yaml.safe_dump(TINY))
    env = {**cluster.env, "PYTHONPATH": str(REPO)}  # jobs inherit it (--export=ALL)
    started = time.monotonic()
    # One after the other, never alongside: the local run's training on core 0 would disturb the
    # Slurm run's (--exclusive keeps other Slurm jobs off a node, not processes outside Slurm),
    # and the interference check rightly marks such a run contended.
    local_log = local_dir / "snakemake.out"
    with local_log.open("w") as out:
        local = subprocess.Popen(snakemake_command(local_dir, "--cores", "2"), cwd=local_dir,
                                 env=env, stdout=out, stderr=subprocess.STDOUT)
    local_out = finished("local", local, local_log)
    slurm_log = slurm_dir / "snakemake.out"
    with slurm_log.open("w") as out:
        remote = subprocess.Popen(
            snakemake_command(
                slurm_dir, "--profile", str(REPO / "profiles" / "slurm"),
                # Fast polling for a test (slurm.md); the cluster's MinJobAge (600 s) allows it.
                "--slurm-init-seconds-before-status-checks", "2", "--seconds-between-status-checks", "2",
                # No accounts on the private cluster, and the Slurm logs are the evidence checked.
                "--slurm-no-account", "--slurm-keep-successful-logs"),
            cwd=slurm_dir, env=env, stdout=out, stderr=subprocess.STDOUT)
    slurm_out = finished("Slurm", remote, slurm_log)
    print(f"Slurm + local runs of the tiny matrix took {time.monotonic() - started:.0f} s")
    return {"slurm_dir": slurm_dir, "local_dir": local_dir, "slurm_out": slurm_out,
            "local_out": local_out, "jobs": cluster.jobs()}


def executed(text: str) -> set[tuple[str, str]]:
    """Return the (rule, outputs) of the jobs a Snakemake log shows executing (not just submitting)."""
    return {(rule, outputs.strip()) for rule, outputs in EXECUTED.findall(text)}


def test_every_job_ran_as_a_completed_slurm_job(runs):
    submitted = dict(SUBMITTED.findall(runs["slurm_out"]))
    assert submitted, "the executor plugin reported no sbatch submission"
    jobs = {job["JobId"]: job for job in runs["jobs"]}
    assert set(submitted) == set(jobs), "slurmctld knows other jobs than the ones submitted"
    for job_id, job in jobs.items():
        assert (job["JobState"], job["ExitCode"]) == ("COMPLETED", "0:0"), f"Slurm job {job_id}: {job}"
    ran_in_slurm = [executed(Path(jobs[job_id]["StdOut"]).read_text()) for job_id in jobs]
    ran_in_slurm_all = set().union(*ran_in_slurm)
    assert sum(map(len, ran_in_slurm)) == len(ran_in_slurm_all), "a job ran in two Slurm jobs"
    ran_locally = executed(runs["local_out"])
    assert {rule for rule, _ in ran_locally} >= {"demo_data", "prepare", "train", "table", "run_figures"}
    assert ran_in_slurm_all == ran_locally


def test_measured_runs_got_an_exclusive_node_of_their_kind(runs):
    # Measured jobs: the training runs and the configuration's GEMM peak (rules/efficiency.smk).
    measured = [job for job in runs["jobs"] if job["Comment"].startswith(("rule_train", "rule_peak"))]
    assert len(measured) == len(TINY["frameworks"]) * len(TINY["models"]) + len(TINY["run_hwconfigs"])
    for job in measured:
        assert job["Features"] == FEATURE  # slurm.constraint from config.yaml
        assert job["OverSubscribe"] == "NO"  # --exclusive
        assert job["NumCPUs"] == "2"  # every core of the demo board (core0, core1)
    others = [job for job in runs["jobs"] if job not in measured]
    assert others and all(job["OverSubscribe"] == "OK" for job in others)


def test_outputs_match_the_local_run_in_form(runs):
    slurm_dir, local_dir = runs["slurm_dir"], runs["local_dir"]

    def files(root: Path) -> set[str]:
        return {str(p.relative_to(root)) for p in (root / "results").rglob("*") if p.is_file()}

    assert files(slurm_dir) == files(local_dir)
    slurm_table = pd.read_csv(slurm_dir / "results/tables/cpu_cfg1.csv")
    local_table = pd.read_csv(local_dir / "results/tables/cpu_cfg1.csv")
    assert list(slurm_table.columns) == list(local_table.columns)
    assert list(local_table.columns)[:len(COLUMNS)] == COLUMNS
    expected_rows = sorted((fw, m) for fw in TINY["frameworks"] for m in TINY["models"])
    assert sorted(zip(slurm_table["framework"], slurm_table["model"])) == expected_rows
    assert sorted(zip(local_table["framework"], local_table["model"])) == expected_rows
    assert (slurm_table["status"] == "done").all()
    for fw in TINY["frameworks"]:
        for model in TINY["models"]:
            run = f"results/runs/{fw}/{model}/cpu_cfg1/rep0"
            for name in ("epochs.csv", "hw.csv"):
                slurm_csv = pd.read_csv(slurm_dir / run / name)
                assert list(slurm_csv.columns) == list(pd.read_csv(local_dir / run / name).columns)
                assert len(slurm_csv) >= 1


def test_same_seed_gives_the_same_training_numbers_under_slurm(runs):
    # The job step must not change what is computed: same data order, weights, thread count.
    columns = ["framework", "model", "loss", "val_acc", "top5_acc"]
    slurm_table = pd.read_csv(runs["slurm_dir"] / "results/tables/cpu_cfg1.csv")[columns]
    local_table = pd.read_csv(runs["local_dir"] / "results/tables/cpu_cfg1.csv")[columns]
    pd.testing.assert_frame_equal(slurm_table.sort_values(columns[:2]).reset_index(drop=True),
                                  local_table.sort_values(columns[:2]).reset_index(drop=True))


def test_a_constraint_no_node_has_is_refused(cluster):
    # What keeps a TX2 configuration off a board of another kind: Slurm refuses the job outright.
    result = cluster.run("sbatch", "--parsable", "--constraint", "tx2", "--wrap", "true", check=False)
    assert result.returncode != 0
    assert "Invalid feature specification" in result.stderr


def test_per_configuration_placement_overrides_the_default(tmp_path):
    # A dry run plans the Slurm jobs without submitting them: no cluster needed.
    config = {**TINY, "hwconfigs": {"cpu_cfg1": {"cores": ["core0"]}, "cpu_cfg2": {"cores": ["core1"]}},
              "run_hwconfigs": ["cpu_cfg1", "cpu_cfg2"],
              "slurm": {"partition": "jetson", "constraint": "tx2",
                        "hwconfigs": {"cpu_cfg2": {"constraint": "tx2&gpu_ok"}}}}
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    result = subprocess.run(snakemake_command(tmp_path, "-n", "--profile", str(REPO / "profiles" / "slurm")),
                            cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(REPO)},
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    trains = re.findall(r"^rule train:\n(?:    .*\n)*?    wildcards: (.*)\n(?:    .*\n)*?    resources: (.*)$",
                        result.stdout, re.MULTILINE)
    placement = {wildcards.split("hwcfg=")[1].split(",")[0]: resources for wildcards, resources in trains}
    assert set(placement) == {"cpu_cfg1", "cpu_cfg2"}
    assert "slurm_partition=jetson" in placement["cpu_cfg1"] and "constraint=tx2," in placement["cpu_cfg1"]
    assert "slurm_partition=jetson" in placement["cpu_cfg2"] and "constraint=tx2&gpu_ok" in placement["cpu_cfg2"]
    assert all("slurm_extra=--exclusive" in r and "measure=0" in r for r in placement.values())
