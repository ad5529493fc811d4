"""Rule table: the per-configuration table from all runs of one hardware configuration."""
from edgebench import logs
from edgebench.analysis.table import build_table
from edgebench.atomic import write_csv_atomic

logs.setup(snakemake.log[0])
write_csv_atomic(build_table(snakemake.input.run_json), snakemake.output[0])
