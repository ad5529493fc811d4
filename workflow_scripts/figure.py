"""Rules *_figure(s): draw the figure(s) a rule names and save each as PNG and PDF."""
from edgebench import logs
from edgebench.analysis import figures

logs.setup(snakemake.log[0])
i, w, out = snakemake.input, snakemake.wildcards, snakemake.output
if snakemake.rule == "run_figures":  # one figure per run, in the order runs_of() lists them
    for hw_csv, epochs, png, pdf in zip(i.hw_csv, i.epochs, out.png, out.pdf):
        figures.save(figures.run_traces(hw_csv, epochs), png, pdf)
else:
    draw = {
        "config_figure": lambda: figures.config_summary(i.table, w.hwcfg),
        "to_target_figure": lambda: figures.to_target(i.table, w.hwcfg),
        "learning_figure": lambda: figures.learning_curves(i.epochs, w.hwcfg),
        "comparison_figure": lambda: figures.framework_comparison(i.compilation),
        "energy_figure": lambda: figures.energy_summary(i.energy),
    }[snakemake.rule]
    figures.save(draw(), out.png, out.pdf)
