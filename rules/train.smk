# One measured training run per (framework, model, hardware configuration, repetition).
from edgebench.hwconfig import load_profile


def train_inputs(wildcards):
    """Return the run's prepared data and the code whose edits must retrain it."""
    size = wc.input_size(config, wildcards.model)
    return {
        "data": expand(list(PREPARED.values()), size=size),
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
    # would refuse those cores. A profile whose cores are `all` leaves it to the cluster (-1).
    groups = load_profile(config["device_profile"])["cores"].values()
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


rule train:
    input:
        unpack(train_inputs),
    output:
        epochs=RUN_DIR + "/epochs.csv",
        train_log=RUN_DIR + "/train.log",
        val_log=RUN_DIR + "/validation.log",
        hw_log=RUN_DIR + "/hw.log",
        hw_csv=RUN_DIR + "/hw.csv",
        run_json=RUN_DIR + "/run.json",
    params:
        training=config["training"],
        input_size=lambda wildcards: wc.input_size(config, wildcards.model),
        hwconfig=lambda wildcards: config["hwconfigs"][wildcards.hwcfg],
        device_profile=config["device_profile"],
        monitor=config["monitor"],
        measurement=config["measurement"],
        cpu_mode=config["cpu_mode"],
        state_dir=STATE_DIR,
        lock_dir="results/state",
    threads: measured_run_threads
    resources:
        **MEASURED_RESOURCES,
    retries: config["measurement"]["retries"]
    log:
        "results/logs/train/{framework}/{model}/{hwcfg}/rep{rep}.log",
    script:
        "../workflow_scripts/train.py"
