# edgebench: CNN training benchmarks on edge boards. See README.md and docs/design.md.
# This file only loads and checks the config, includes the rule families and defines `all`.
import os

from snakemake.utils import min_version

min_version("9.0")

configfile: os.path.join(workflow.basedir, "config.yaml")

from edgebench import paths, workflow_config

# Validated and completed exactly as `edgebench status` and `edgebench check` load it.
workflow_config.prepare(config)
# Host checks happen per targeted configuration (rules/common.smk, table_inputs).
workflow_config.check(config, host=False)

report: "report/workflow.rst"


include: "rules/common.smk"
include: "rules/dataset.smk"
include: "rules/train.smk"
include: "rules/efficiency.smk"
include: "rules/metrics.smk"
include: "rules/report.smk"


rule all:
    input:
        expand(paths.TABLE, hwcfg=config["run_hwconfigs"]),
        expand("results/tables/ranking_{hwcfg}.csv", hwcfg=config["run_hwconfigs"]),
        expand("results/tables/{name}.csv", name=COMPILED),
        expand("results/figures/{hwcfg}_{kind}.png", hwcfg=config["run_hwconfigs"], kind=["summary", "learning", "to_target"]),
        "results/figures/comparison.png",
        "results/figures/energy.png",
        run_figures(config["run_hwconfigs"]),
