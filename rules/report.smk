# Figures (plotnine, PNG and PDF): per-run traces and per-configuration summaries.


def run_figures(hwcfgs):
    """Return the per-run trace figures of the given configurations."""
    return [
        f"results/figures/runs/{framework}_{model}_{hwcfg}_rep{rep}.png"
        for hwcfg in hwcfgs
        for framework in config["frameworks"]
        for model in config["models"]
        for rep in range(config["repetitions"])
    ]


rule run_figure:
    input:
        hw_csv=RUN_DIR + "/hw.csv",
        epochs=RUN_DIR + "/epochs.csv",
        code=package_files("analysis/figures.py"),
    output:
        png="results/figures/runs/{framework}_{model}_{hwcfg}_rep{rep}.png",
        pdf="results/figures/runs/{framework}_{model}_{hwcfg}_rep{rep}.pdf",
    log:
        "results/logs/figures/{framework}_{model}_{hwcfg}_rep{rep}.log",
    script:
        "../workflow_scripts/run_figure.py"


rule config_figure:
    input:
        table="results/tables/{hwcfg}.csv",
        code=package_files("analysis/figures.py"),
    output:
        png="results/figures/{hwcfg}_summary.png",
        pdf="results/figures/{hwcfg}_summary.pdf",
    log:
        "results/logs/figures/{hwcfg}_summary.log",
    script:
        "../workflow_scripts/config_figure.py"
