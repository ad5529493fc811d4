"""Where the workflow's files live, relative to its working directory: one template per kind.

The rules (rules/*.smk) declare their inputs and outputs from these templates, and
`edgebench status` finds the same files through them, so a path is written once. Templates
hold Snakemake wildcards ({framework}, {model}, {hwcfg}, {rep}, {size}); `str.format` fills
them the way Snakemake does. Board side too (the runner names its files): Python 3.8+.
"""

from __future__ import annotations

RESULTS = "results"

# One training run: its published outputs, and its private state (checkpoint, spec, attempts).
RUN_DIR = f"{RESULTS}/runs/{{framework}}/{{model}}/{{hwcfg}}/rep{{rep}}"
STATE_DIR = f"{RESULTS}/state/{{framework}}/{{model}}/{{hwcfg}}/rep{{rep}}"
# What a run publishes, by output name; run.json comes last: it is published last and marks
# the run as complete.
RUN_FILES = {"epochs": "epochs.csv", "train_log": "train.log", "val_log": "validation.log", "hw_log": "hw.log",
             "hw_csv": "hw.csv", "run_json": "run.json"}
TRAIN_LOG = f"{RESULTS}/logs/train/{{framework}}/{{model}}/{{hwcfg}}/rep{{rep}}.log"

# Shared by every run on a host: the measurement lock, and the durable records of what a run
# changed on the board (cores offline, power mode) so that a killed run's changes are undone.
HOST_STATE_DIR = f"{RESULTS}/state"

# The dataset stage.
DATASET_DIR = f"{RESULTS}/dataset"
STATS = f"{DATASET_DIR}/stats.json"
MANIFEST = f"{DATASET_DIR}/manifest.csv"
SUBSET_REPORT = f"{DATASET_DIR}/subset_report.json"
PREPARED_DIR = f"{DATASET_DIR}/{{size}}"
# The prepared arrays of one input size, by output name (the file's stem).
PREPARED = {name.split(".")[0]: f"{PREPARED_DIR}/{name}"
            for name in ("train_x.npy", "train_y.npy", "val_x.npy", "val_y.npy", "classes.json", "report.json")}

# What the tables divide by (rules/efficiency.smk): FLOPs per model, the GEMM peak per configuration.
FLOPS = f"{RESULTS}/flops.json"
PEAK = f"{RESULTS}/peak/{{hwcfg}}.json"

# One configuration's table: what `snakemake ... results/tables/cpu_cfg1.csv` and `edgebench
# status` are asked for. (The other tables and the figures are named in their rules only.)
TABLE = f"{RESULTS}/tables/{{hwcfg}}.csv"


def run_dir(framework: str, model: str, hwcfg: str, rep: int) -> str:
    """Return one run's output directory."""
    return RUN_DIR.format(framework=framework, model=model, hwcfg=hwcfg, rep=rep)


def state_dir(framework: str, model: str, hwcfg: str, rep: int) -> str:
    """Return one run's state directory (checkpoint, spec, attempts)."""
    return STATE_DIR.format(framework=framework, model=model, hwcfg=hwcfg, rep=rep)
