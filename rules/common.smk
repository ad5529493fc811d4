# The lookups and input functions the rule families share, and the scheduler setting they all
# run under. Functions live here and rules in the other files (`snakemake --lint` asks for that);
# every path template comes from edgebench/paths.py, which `edgebench status` reads too.
from pathlib import Path

import edgebench
from edgebench import models, paths, workflow_config
from edgebench.hwconfig import load_board
from edgebench.scheduling import drop_local_rate_limit

PACKAGE = Path(edgebench.__file__).parent
DATASET = config["dataset"]


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


def input_size(wildcards):
    """Return the input side in pixels of the wildcards' model."""
    return workflow_config.input_size(config, wildcards.model)


def runs_of(hwcfg):
    """Return the run directories of one hardware configuration, every framework x model x rep."""
    return expand(
        paths.RUN_DIR,
        framework=config["frameworks"],
        model=config["models"],
        hwcfg=hwcfg,
        rep=range(config["repetitions"]),
    )


def run_files_of(name):
    """Return an input function: one file (a paths.RUN_FILES name) of every run of the wildcards' configuration."""
    return lambda wildcards: [f"{run}/{paths.RUN_FILES[name]}" for run in runs_of(wildcards.hwcfg)]


def hwconfig_of(wildcards):
    """Return the configuration's config entry (cores unresolved: the board resolves them)."""
    return config["hwconfigs"][wildcards.hwcfg]


# --- training (rules/train.smk) ---------------------------------------------------------------


def train_inputs(wildcards):
    """Return the run's prepared data and the code whose edits must retrain it."""
    return {
        "data": expand(list(paths.PREPARED.values()), size=input_size(wildcards)),
        # Model and training code are inputs so that editing them reruns the affected runs
        # (Snakemake compares their checksums); analysis code is not, so editing it never retrains.
        "code": sorted(
            set(map(str, models.source_files(wildcards.framework, wildcards.model)))
            | set(package_files("train/*.py", "data/loader.py"))
        ),
    }


def slurm_placement(wildcards, key):
    """Return the Slurm partition or node constraint of a configuration's runs (None: cluster default)."""
    slurm = config["slurm"]
    return slurm["hwconfigs"].get(wildcards.hwcfg, {}).get(key, slurm.get(key))


def board_cpus(wildcards):
    """Return the CPUs a measured run's job step asks Slurm for: every core of the board."""
    # The runner pins the run to the configuration's cores itself; the step must own all of the
    # board's cores, or a cluster that confines steps to their CPUs (task/affinity, cgroups)
    # would refuse those cores. A board whose cores are `all` leaves it to the cluster (-1).
    groups = load_board(config["board"])["cores"].values()
    if any(members == "all" for members in groups):
        return -1
    return len({int(core) for members in groups for core in members})


# Measured jobs (runs, the GEMM peak) are exclusive: the default profile caps measure at 1 per
# host; on Slurm (profiles/slurm) each gets a whole node of the configuration's kind instead.
MEASURED_RESOURCES = dict(
    measure=1,
    slurm_partition=lambda wildcards: slurm_placement(wildcards, "partition"),
    constraint=lambda wildcards: slurm_placement(wildcards, "constraint"),
    slurm_extra="--exclusive",
    cpus_per_task=board_cpus,
)


# --- tables (rules/metrics.smk) ---------------------------------------------------------------


def table_inputs(wildcards):
    """Return the runs a configuration table summarises, refusing configs this host cannot run."""
    if host_checks_here():
        workflow_config.runnable_config(config, wildcards.hwcfg)
    return {
        "epochs": run_files_of("epochs")(wildcards),
        "run_json": run_files_of("run_json")(wildcards),
        "flops": paths.FLOPS,
        "peak": paths.PEAK.format(hwcfg=wildcards.hwcfg),
        "code": package_files("analysis/table.py", "analysis/stats.py", "analysis/markdown.py", "analysis/targets.py",
                              "analysis/efficiency.py"),
    }


# --- figures (rules/report.smk) ---------------------------------------------------------------

RUN_FIGURE = "results/figures/runs/{framework}_{model}_{hwcfg}_rep{rep}.{ext}"


def run_figures(hwcfgs):
    """Return the per-run trace figures (PNG) of the given configurations."""
    return expand(RUN_FIGURE, framework=config["frameworks"], model=config["models"], hwcfg=hwcfgs,
                  rep=range(config["repetitions"]), ext="png")


def run_figure_outputs(ext):
    """Return the per-run figure paths of one configuration ({hwcfg} left as the wildcard)."""
    return expand(RUN_FIGURE, framework=config["frameworks"], model=config["models"], hwcfg="{hwcfg}",
                  rep=range(config["repetitions"]), ext=ext)


wildcard_constraints:
    framework="|".join(config["frameworks"]),
    model="|".join(config["models"]),
    hwcfg="|".join(config["hwconfigs"]),
    rep=r"\d+",
    size=r"\d+",
