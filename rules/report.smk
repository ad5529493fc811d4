# Figures (plotnine, PNG and PDF): per-run traces, per-configuration summaries and learning
# curves, and the comparisons across configurations. PNGs are marked for `snakemake --report`.


def run_figures(hwcfgs):
    """Return the per-run trace figures of the given configurations."""
    return [
        f"results/figures/runs/{framework}_{model}_{hwcfg}_rep{rep}.png"
        for hwcfg in hwcfgs
        for framework in config["frameworks"]
        for model in config["models"]
        for rep in range(config["repetitions"])
    ]


FIGURE_CODE = package_files("analysis/figures.py")


rule run_figure:
    input:
        hw_csv=RUN_DIR + "/hw.csv",
        epochs=RUN_DIR + "/epochs.csv",
        code=FIGURE_CODE,
    output:
        png=report("results/figures/runs/{framework}_{model}_{hwcfg}_rep{rep}.png", caption="../report/run_traces.rst",
                   category="Hardware traces", subcategory="{hwcfg}"),
        pdf="results/figures/runs/{framework}_{model}_{hwcfg}_rep{rep}.pdf",
    log:
        "results/logs/figures/{framework}_{model}_{hwcfg}_rep{rep}.log",
    script:
        "../workflow_scripts/figure.py"


rule config_figure:
    input:
        table="results/tables/{hwcfg}.csv",
        code=FIGURE_CODE,
    output:
        png=report("results/figures/{hwcfg}_summary.png", caption="../report/config_summary.rst",
                   category="Per configuration", subcategory="{hwcfg}"),
        pdf="results/figures/{hwcfg}_summary.pdf",
    log:
        "results/logs/figures/{hwcfg}_summary.log",
    script:
        "../workflow_scripts/figure.py"


rule learning_figure:
    input:
        epochs=lambda wildcards: [f"{run}/epochs.csv" for run in runs_of(wildcards.hwcfg)],
        code=FIGURE_CODE,
    output:
        png=report("results/figures/{hwcfg}_learning.png", caption="../report/learning.rst",
                   category="Per configuration", subcategory="{hwcfg}"),
        pdf="results/figures/{hwcfg}_learning.pdf",
    log:
        "results/logs/figures/{hwcfg}_learning.log",
    script:
        "../workflow_scripts/figure.py"


rule comparison_figure:
    input:
        compilation="results/tables/compilation.csv",
        code=FIGURE_CODE,
    output:
        png=report("results/figures/comparison.png", caption="../report/comparison.rst",
                   category="Across configurations"),
        pdf="results/figures/comparison.pdf",
    log:
        "results/logs/figures/comparison.log",
    script:
        "../workflow_scripts/figure.py"


rule energy_figure:
    input:
        energy="results/tables/energy.csv",
        code=FIGURE_CODE,
    output:
        png=report("results/figures/energy.png", caption="../report/energy_figure.rst",
                   category="Across configurations"),
        pdf="results/figures/energy.pdf",
    log:
        "results/logs/figures/energy.log",
    script:
        "../workflow_scripts/figure.py"
