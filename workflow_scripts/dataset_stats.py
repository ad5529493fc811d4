"""Rule dataset_stats: file-size statistics of the dataset tree."""
from edgebench import logs
from edgebench.data.scan import write_stats

logs.setup(snakemake.log[0])
write_stats(snakemake.input.root, snakemake.output[0])
