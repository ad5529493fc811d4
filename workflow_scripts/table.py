"""Rule table: the per-configuration table from all runs of one hardware configuration."""
from edgebench import logs
from edgebench.analysis.table import build_table, write_csv

logs.setup(snakemake.log[0])
write_csv(build_table(snakemake.input.run_json), snakemake.output[0])
