"""Rule config_figure: time, accuracy and energy per model and framework of one configuration."""
from edgebench import logs
from edgebench.analysis.figures import config_summary, save

logs.setup(snakemake.log[0])
save(config_summary(snakemake.input.table, snakemake.wildcards.hwcfg), snakemake.output.png, snakemake.output.pdf)
