# edgebench: CNN training benchmarks on edge boards. See README.md and DESIGN.md.
# This file only validates the config, includes the rule families and defines `all`.
import os

from snakemake.utils import min_version, validate

min_version("9.0")

configfile: os.path.join(workflow.basedir, "config.yaml")

validate(config, "schemas/config.schema.yaml")

report: "report/workflow.rst"

from edgebench import workflow_config as wc

wc.check(config, host=False)  # host checks happen per targeted configuration (rules/metrics.smk)


include: "rules/common.smk"
include: "rules/dataset.smk"
include: "rules/train.smk"
include: "rules/efficiency.smk"
include: "rules/metrics.smk"
include: "rules/report.smk"


rule all:
    input:
        expand("results/tables/{hwcfg}.csv", hwcfg=config["run_hwconfigs"]),
        expand("results/tables/ranking_{hwcfg}.csv", hwcfg=config["run_hwconfigs"]),
        expand("results/tables/{name}.csv", name=COMPILED),
        expand("results/figures/{hwcfg}_{kind}.png", hwcfg=config["run_hwconfigs"], kind=["summary", "learning", "to_target"]),
        "results/figures/comparison.png",
        "results/figures/energy.png",
        run_figures(config["run_hwconfigs"]),
