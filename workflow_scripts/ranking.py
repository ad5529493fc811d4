"""Rule ranking: which framework is better per feature and model in one configuration (Table 5.7 form)."""
from edgebench import logs
from edgebench.analysis.ranking import rank_table, ranking_markdown, read_config_table
from edgebench.atomic import write_csv_atomic, write_text_atomic

logs.setup(snakemake.log[0])
ranking = rank_table(read_config_table(snakemake.input.table))
write_csv_atomic(ranking, snakemake.output.csv)
write_text_atomic(snakemake.output.md, ranking_markdown(ranking) + "\n")
