"""Rule subset: choose the class-balanced subset and write its manifest and report."""
from edgebench import logs
from edgebench.data.subset import write_subset

logs.setup(snakemake.log[0])
write_subset(snakemake.input.root, snakemake.input.stats, snakemake.output.manifest,
             snakemake.output.report, **snakemake.params.subset)
