"""Rule run_figure: CPU, memory and power traces of one run, epochs marked."""
from edgebench import logs
from edgebench.analysis.figures import run_traces, save

logs.setup(snakemake.log[0])
save(run_traces(snakemake.input.hw_csv, snakemake.input.epochs), snakemake.output.png, snakemake.output.pdf)
