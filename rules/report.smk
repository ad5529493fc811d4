# Figures (plotnine, PNG and PDF): per-run traces, per-configuration summaries and learning
# curves, and the comparisons across configurations. PNGs are marked for `snakemake --report`.
# Input functions and the per-run figure paths: rules/common.smk.

FIGURE_CODE = package_files("analysis/figures.py")


# One job draws every run of a configuration: a job per run would spend most of its time
# starting Python and importing plotnine.
rule run_figures:
    input:
        hw_csv=run_files_of("hw_csv"),
        epochs=run_files_of("epochs"),
        code=FIGURE_CODE,
    output:
        png=[report(path, caption="../report/run_traces.rst", category="Hardware traces", subcategory="{hwcfg}")
             for path in run_figure_outputs("png")],
        pdf=run_figure_outputs("pdf"),
    log:
        "results/logs/figures/{hwcfg}_runs.log",
    script:
        "../workflow_scripts/figure.py"


rule config_figure:
    input:
        table=paths.TABLE,
        code=FIGURE_CODE,
    output:
        png=report("results/figures/{hwcfg}_summary.png", caption="../report/config_summary.rst",
                   category="Per configuration", subcategory="{hwcfg}"),
        pdf="results/figures/{hwcfg}_summary.pdf",
    log:
        "results/logs/figures/{hwcfg}_summary.log",
    script:
        "../workflow_scripts/figure.py"


rule to_target_figure:
    input:
        table=paths.TABLE,
        code=FIGURE_CODE,
    output:
        png=report("results/figures/{hwcfg}_to_target.png", caption="../report/to_target.rst",
                   category="Per configuration", subcategory="{hwcfg}"),
        pdf="results/figures/{hwcfg}_to_target.pdf",
    log:
        "results/logs/figures/{hwcfg}_to_target.log",
    script:
        "../workflow_scripts/figure.py"


rule learning_figure:
    input:
        epochs=run_files_of("epochs"),
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
