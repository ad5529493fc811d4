"""Rules *_figure: draw one figure (chosen by the rule's name) and save it as PNG and PDF."""
from edgebench import logs
from edgebench.analysis import figures

logs.setup(snakemake.log[0])
i, w = snakemake.input, snakemake.wildcards
draw = {
    "run_figure": lambda: figures.run_traces(i.hw_csv, i.epochs),
    "config_figure": lambda: figures.config_summary(i.table, w.hwcfg),
    "learning_figure": lambda: figures.learning_curves(i.epochs, w.hwcfg),
    "comparison_figure": lambda: figures.framework_comparison(i.compilation),
    "energy_figure": lambda: figures.energy_summary(i.energy),
}[snakemake.rule]
figures.save(draw(), snakemake.output.png, snakemake.output.pdf)
