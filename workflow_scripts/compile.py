"""Rule compile: compilation (Table 5.18), energy (Table 5.20, long and wide) and completion (Table 5.5)."""
from pathlib import Path

from edgebench import logs
from edgebench.analysis.compile import OUTPUTS, compile_tables, render_markdown
from edgebench.analysis.ranking import read_config_table
from edgebench.atomic import write_csv_atomic, write_text_atomic

logs.setup(snakemake.log[0])
compiled = compile_tables({Path(p).stem: read_config_table(p) for p in snakemake.input.tables})
markdown = render_markdown(compiled)
for name in OUTPUTS:
    write_csv_atomic(compiled[name], snakemake.output[name])
    write_text_atomic(snakemake.output[f"{name}_md"], markdown[name] + "\n")
