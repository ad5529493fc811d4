# Paths and lookups shared by the rule families, and the scheduler setting they all run under.
from pathlib import Path

import edgebench
from edgebench import models
from edgebench.scheduling import drop_local_rate_limit

PACKAGE = Path(edgebench.__file__).parent
DATASET = config["dataset"]
RUN_DIR = "results/runs/{framework}/{model}/{hwcfg}/rep{rep}"
STATE_DIR = "results/state/{framework}/{model}/{hwcfg}/rep{rep}"


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
