# Paths and lookups shared by the rule families, and the scheduler setting they all run under.
from pathlib import Path

import edgebench
from edgebench import models
from edgebench.scheduling import drop_local_rate_limit

PACKAGE = Path(edgebench.__file__).parent
DATASET = config["dataset"]
RUN_DIR = "results/runs/{framework}/{model}/{hwcfg}/rep{rep}"
STATE_DIR = "results/state/{framework}/{model}/{hwcfg}/rep{rep}"


# Whether this Snakemake process checks the host: yes where it runs the training itself. On a
# cluster the submit host is not the board (no GPU, other cores): each run checks its node and
# records a refusal instead (edgebench/train/runner.py). A dry run cannot tell which executor
# was meant, hence the config key, which the Slurm profile sets.
def host_checks_here():
    """Return whether this process refuses, when building the DAG, what this host cannot run."""
    # Evaluated in input functions: only then is the executor known (a real cluster run is not local).
    return config["host_checks"] == "here" and workflow.local_exec and workflow.is_main_process


def measured_run_threads(wildcards):
    """Return the cores a measured run claims from Snakemake: all of them in a local run.

    Nothing else then starts beside it (a table or figure job on a measured core would make the
    run contended: edgebench/train/interference.py); on a cluster, --exclusive does that.
    """
    return workflow.cores if workflow.local_exec and isinstance(workflow.cores, int) else 1


onstart:
    # Snakemake's rate limiter would make it re-plan many times a second beside measured runs.
    drop_local_rate_limit(workflow)


def package_files(*patterns):
    """Return the package's source files matching the patterns (declared as inputs so edits rerun)."""
    return sorted(str(p) for pattern in patterns for p in PACKAGE.glob(pattern))


def runs_of(hwcfg):
    """Return the run directories of one hardware configuration, every framework x model x rep."""
    return expand(
        RUN_DIR,
        framework=config["frameworks"],
        model=config["models"],
        hwcfg=hwcfg,
        rep=range(config["repetitions"]),
    )


wildcard_constraints:
    framework="|".join(config["frameworks"]),
    model="|".join(config["models"]),
    hwcfg="|".join(config["hwconfigs"]),
    rep=r"\d+",
    size=r"\d+",
