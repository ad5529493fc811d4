"""Rule table: the per-configuration table from all runs of one hardware configuration."""
import json

from edgebench import logs
from edgebench.analysis.table import build_table, table_markdown
from edgebench.atomic import write_csv_atomic, write_text_atomic

logs.setup(snakemake.log[0])
i = snakemake.input
table = build_table(i.run_json, targets=snakemake.params.targets, flops=json.loads(open(i.flops).read()),
                    peak=json.loads(open(i.peak).read()))
write_csv_atomic(table, snakemake.output.csv)
# The Markdown rendering is for reading: the contract's columns (the CSV has the extras too),
# with the power cells of partial power traces marked and the reason below.
write_text_atomic(snakemake.output.md, table_markdown(table) + "\n")
